"""Dask arrays: the same answers as in-memory fits on every scheduler, lazy scoring, bad input.

dask[distributed] is a test dependency (the [test] extra); the module is
skipped, with that reason, only where it is not installed.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import GaussianMixture, InvalidParameterError
from fastgmm.data import dask_source, sources

import _helpers
import _references as ref
from _helpers import COVARIANCE_TYPES, FITTED

da = pytest.importorskip("dask.array", reason="Dask is an optional extra (fastgmm[dask])")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

N_SAMPLES, N_FEATURES, N_COMPONENTS = 6000, 3, 3


def fit_quietly(X, n_components=N_COMPONENTS, **options):
    return _helpers.fit_quietly(X, n_components, **options)


def assert_same_fit(actual, desired, rtol=1e-10):
    """Equal to rounding: the chunks' statistics are added in another order than in memory."""
    for name in FITTED:
        desired_value = getattr(desired, name)
        assert_allclose(
            getattr(actual, name), desired_value, rtol=rtol, atol=rtol * np.abs(desired_value).max()
        )
    assert actual.n_iter_ == desired.n_iter_
    assert actual.lower_bound_ == pytest.approx(desired.lower_bound_, rel=rtol)


@pytest.fixture(scope="module")
def blobs():
    X, centers = ref.make_blobs(N_SAMPLES, N_FEATURES, N_COMPONENTS, seed=11, return_centers=True)
    return X, centers


def fit_options(covariance_type, centers):
    start = ref.initial_parameters(
        covariance_type, N_COMPONENTS, N_FEATURES, seed=12, centers=centers
    )
    return dict(covariance_type=covariance_type, max_iter=6, tol=0, **start)


@pytest.fixture(scope="module")
def cluster_client():
    """A LocalCluster of 2 worker processes (1 thread each) on 127.0.0.1."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_local_cluster_fit_equals_in_memory_fit(blobs, cluster_client, covariance_type):
    X, centers = blobs
    options = fit_options(covariance_type, centers)
    in_memory = fit_quietly(X, **options)  # also compiles the kernels the workers will load
    on_cluster = fit_quietly(da.from_array(X, chunks=(1000, N_FEATURES)), **options)
    assert_same_fit(on_cluster, in_memory)


def test_dask_array_from_npy_reads_chunks_from_the_path(blobs, cluster_client, tmp_path):
    X, centers = blobs
    np.save(tmp_path / "X.npy", X)
    X_dask = fastgmm.dask_array_from_npy(tmp_path / "X.npy", rows_per_chunk=2500)
    assert X_dask.shape == X.shape and X_dask.dtype == X.dtype
    assert X_dask.chunks == ((2500, 2500, 1000), (N_FEATURES,))
    # Only the path is in the graph, not the data (X is 144 kB).
    graph_bytes = len(pickle.dumps(dict(X_dask.__dask_graph__()), protocol=5))
    assert graph_bytes < 20_000, graph_bytes
    options = fit_options("full", centers)
    assert_same_fit(fit_quietly(X_dask, **options), fit_quietly(X, **options))
    with pytest.raises(ValueError, match="rows_per_chunk must be a positive int"):
        fastgmm.dask_array_from_npy(tmp_path / "X.npy", rows_per_chunk=0)


def test_worker_tasks_use_their_workers_thread_count(cluster_client):
    # Dask's nanny does not limit Numba's threads (dask/distributed#9075): we do.
    assert cluster_client.submit(dask_source.worker_threads, None, pure=False).result() == 1
    assert cluster_client.submit(dask_source.worker_threads, 1, pure=False).result() == 1
    assert dask_source.worker_threads(None) is None  # not on a worker


def test_local_cluster_scores_lazily(blobs, cluster_client):
    X, _ = blobs
    model = fit_quietly(X, random_state=0)
    X_dask = da.from_array(X, chunks=(1500, N_FEATURES))
    labels = model.predict(X_dask)
    assert isinstance(labels, da.Array) and labels.chunks == ((1500,) * 4,)
    assert_array_equal(labels.compute(), model.predict(X))
    assert_allclose(model.predict_proba(X_dask).compute(), model.predict_proba(X), rtol=1e-12)
    assert_allclose(model.score_samples(X_dask).compute(), model.score_samples(X), rtol=1e-12)
    assert model.score(X_dask) == pytest.approx(model.score(X), rel=1e-12)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_local_scheduler_fit_equals_in_memory_fit(blobs, scheduler, covariance_type):
    X, centers = blobs
    options = fit_options(covariance_type, centers)
    in_memory = fit_quietly(X, **options)
    with dask.config.set(scheduler=scheduler):
        on_dask = fit_quietly(da.from_array(X, chunks=(700, N_FEATURES)), **options)
    assert_same_fit(on_dask, in_memory)


def test_result_does_not_depend_on_scheduler_or_threads(blobs):
    X, _ = blobs
    X_dask = da.from_array(X, chunks=(1000, N_FEATURES))
    fits = []
    for scheduler, n_jobs in [("synchronous", 1), ("threads", None), ("threads", 2)]:
        with dask.config.set(scheduler=scheduler):
            fits.append(fit_quietly(X_dask, random_state=0, n_jobs=n_jobs))
    for other in fits[1:]:
        for name in FITTED:
            assert_array_equal(getattr(other, name), getattr(fits[0], name))


def test_small_dask_array_initialises_as_in_memory(blobs):
    # Up to INIT_SAMPLE_ROWS rows the initialisation reads all rows, as in memory.
    X, _ = blobs
    with dask.config.set(scheduler="threads"):
        on_dask = fit_quietly(da.from_array(X, chunks=(2000, 1)), random_state=3)
    assert_same_fit(on_dask, fit_quietly(X, random_state=3))


def test_dask_and_memory_map_initialise_on_the_same_row_sample(blobs, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", 800)
    X, _ = blobs
    np.save(tmp_path / "X.npy", X)
    mapped = fit_quietly(
        np.load(tmp_path / "X.npy", mmap_mode="r"), random_state=4, init_params="k-means++"
    )
    with dask.config.set(scheduler="threads"):
        on_dask = fit_quietly(
            da.from_array(X, chunks=(1000, N_FEATURES)), random_state=4, init_params="k-means++"
        )
    assert_same_fit(on_dask, mapped)


def test_sample_weight_as_numpy_or_dask_vector(blobs):
    X, centers = blobs
    weights = np.random.default_rng(5).uniform(0.0, 3.0, size=N_SAMPLES)
    options = fit_options("full", centers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = GaussianMixture(N_COMPONENTS, **options).fit(X, sample_weight=weights)
    X_dask = da.from_array(X, chunks=(1000, N_FEATURES))
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for given in (weights, da.from_array(weights, chunks=2500)):
            on_dask = GaussianMixture(N_COMPONENTS, **options).fit(X_dask, sample_weight=given)
            assert_same_fit(on_dask, in_memory)
            assert on_dask.score(X_dask, sample_weight=given) == pytest.approx(
                in_memory.score(X, sample_weight=weights), rel=1e-12
            )


def test_fit_function_on_dask(blobs):
    X, _ = blobs
    with dask.config.set(scheduler="threads"):
        result = fastgmm.fit(
            da.from_array(X, chunks=(1000, N_FEATURES)), N_COMPONENTS, random_state=0, persist=False
        )
    expected = fastgmm.fit(X, N_COMPONENTS, random_state=0)
    assert_allclose(result.means, expected.means, rtol=1e-10)
    assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)


def test_other_dtypes_and_column_chunks_are_converted(blobs):
    X, _ = blobs
    X16 = X.astype(np.float16)
    with dask.config.set(scheduler="threads"):
        on_dask = fit_quietly(da.from_array(X16, chunks=(1000, 1)), random_state=0)
    assert on_dask.means_.dtype == np.float64
    assert_same_fit(on_dask, fit_quietly(X16, random_state=0))


def test_non_finite_values_are_reported(blobs):
    X = blobs[0].copy()
    X[4321, 2] = np.inf
    X_dask = da.from_array(X, chunks=(1000, N_FEATURES))
    with dask.config.set(scheduler="threads"):
        with pytest.raises(
            ValueError, match=r"NaN or infinity in 1 of 6000 rows \(first at row 4321\)"
        ):
            GaussianMixture(N_COMPONENTS).fit(X_dask)
        model = fit_quietly(blobs[0], random_state=0)
        with pytest.raises(ValueError, match="NaN or infinity"):
            model.predict(X_dask).compute()


def test_unknown_chunk_sizes_are_rejected(blobs):
    X_dask = da.from_array(blobs[0], chunks=(1000, N_FEATURES))
    masked = X_dask[X_dask[:, 0] > 0]
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        GaussianMixture(N_COMPONENTS).fit(masked)


def test_bad_persist_and_out_are_rejected(blobs):
    X_dask = da.from_array(blobs[0], chunks=(1000, N_FEATURES))
    with pytest.raises(InvalidParameterError, match="'persist' parameter"):
        GaussianMixture(N_COMPONENTS, persist="yes").fit(X_dask)
    model = fit_quietly(blobs[0], random_state=0)
    with pytest.raises(ValueError, match="out cannot be used with Dask input"):
        model.predict(X_dask, out=np.empty(N_SAMPLES, dtype=np.int64))


def test_functions_without_dask_support_refuse_dask_arrays(blobs):
    X_dask = da.from_array(blobs[0], chunks=(1000, N_FEATURES))
    with pytest.raises(TypeError, match="is a Dask array"):
        fastgmm.select_n_components(X_dask, [1, 2])


def test_importing_fastgmm_does_not_import_dask():
    code = "import sys, fastgmm; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
