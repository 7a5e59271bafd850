"""Out-of-core data: memory-mapped arrays and .npy paths fit and score as in-memory arrays do."""

import os
import shutil

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import GaussianMixture
from fastgmm.covariance import COVARIANCE_TYPES as COVARIANCE_TYPES_TABLE
from fastgmm.data import make_source, sources
from fastgmm.data.sources import row_sample

import _references as ref
import workloads  # benchmarks/workloads.py: data files and memory samplers
from _helpers import COVARIANCE_TYPES, FITTED, fit_quietly


def save_npy(tmp_path, X, name="X.npy"):
    path = tmp_path / name
    np.save(path, X)
    return path


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memory_mapped_fit_equals_in_memory_fit(tmp_path, covariance_type, dtype):
    X, centers = ref.make_blobs(6000, 3, 3, seed=1, dtype=dtype, return_centers=True)
    path = save_npy(tmp_path, X)
    start = ref.initial_parameters(covariance_type, 3, 3, seed=2, centers=centers)
    options = dict(covariance_type=covariance_type, max_iter=8, tol=0, **start)
    in_memory = fit_quietly(X, 3, **options)
    # The same kernel over the same chunk grid, compiled for read-only data
    # (which may vectorise sums differently): equal up to the dtype's rounding.
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for data in (np.load(path, mmap_mode="r"), path, str(path)):
        mapped = fit_quietly(data, 3, **options)
        for name in FITTED:
            assert_allclose(getattr(mapped, name), getattr(in_memory, name), rtol=rtol)
        assert mapped.lower_bounds_ == pytest.approx(in_memory.lower_bounds_, rel=rtol)


def test_memory_mapped_fit_initialises_on_a_reproducible_row_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", 500)
    X = ref.make_blobs(5000, 2, 3, seed=3)
    mapped = np.load(save_npy(tmp_path, X), mmap_mode="r")
    first = fit_quietly(mapped, 3, random_state=0)
    again = fit_quietly(mapped, 3, random_state=0)
    for name in FITTED:
        assert_array_equal(getattr(first, name), getattr(again, name))
    # In memory the same seed initialises on all rows: another start, same clusters.
    in_memory = fit_quietly(X, 3, random_state=0)
    assert not np.array_equal(first.lower_bounds_, in_memory.lower_bounds_)
    order = np.argsort(first.means_[:, 0]), np.argsort(in_memory.means_[:, 0])
    assert_allclose(first.means_[order[0]], in_memory.means_[order[1]], atol=1e-3)


def test_wide_data_start_from_samples_and_chunks_of_bounded_bytes(monkeypatch):
    # A k-means start copies its seeding sample and makes chunked temporaries: for wide
    # data both are bounded in bytes, not rows (a 200k x 256 start added 390 MB before).
    from fastgmm.data import statistics
    from fastgmm.em import kmeans

    assert sources.init_sample_size(10, 16) == 100_000  # narrow data: as before
    assert sources.init_sample_size(10, 256) == 16_384  # 32 MiB of float64
    assert sources.init_sample_size(500, 256) == 50_000  # but 100 rows per component
    assert statistics.chunk_rows_for(16) == 65536 and statistics.chunk_rows_for(256) == 4096
    monkeypatch.setattr(sources, "INIT_SAMPLE_BYTES", 8 * 40 * 300)
    sizes = []
    row_sample_of = kmeans.row_sample
    monkeypatch.setattr(
        kmeans, "row_sample", lambda n, size, rng: sizes.append(size) or row_sample_of(n, size, rng)
    )
    X = ref.make_blobs(2000, 40, 3, seed=5)
    labels, _ = kmeans.kmeans(X, 3, np.random.RandomState(0))
    assert sizes == [300] and np.bincount(labels).min() > 500


def test_row_sample_draws_distinct_sorted_rows_from_every_stratum():
    rng = np.random.RandomState(0)
    indices = row_sample(1003, 100, rng)
    assert indices.shape == (100,)
    assert np.all(np.diff(indices) > 0) and indices[0] >= 0 and indices[-1] < 1003
    strata = (np.arange(101) * 1003) // 100
    assert np.all((indices >= strata[:-1]) & (indices < strata[1:]))
    assert_array_equal(indices, row_sample(1003, 100, np.random.RandomState(0)))
    assert row_sample(100, 100, rng) is None


def test_predictions_are_written_into_output_memory_maps(tmp_path):
    X = ref.make_blobs(3000, 2, 3, seed=4)
    model = fit_quietly(X, 3, random_state=0)
    path = save_npy(tmp_path, X)
    outputs = {
        "predict": ("int64", (3000,)),
        "score_samples": ("float64", (3000,)),
        "predict_proba": ("float64", (3000, 3)),
    }
    for method, (dtype, shape) in outputs.items():
        out = np.lib.format.open_memmap(tmp_path / f"{method}.npy", "w+", dtype, shape)
        result = getattr(model, method)(path, out=out)
        assert result is out
        out.flush()
        assert_array_equal(np.load(tmp_path / f"{method}.npy"), getattr(model, method)(X))


@pytest.mark.parametrize(
    "out",
    [
        np.empty(10, dtype=np.int64),
        np.empty(3000, dtype=np.int32),
        np.empty((3000, 1), dtype=np.int64),
        [0] * 3000,
    ],
)
def test_unusable_out_is_rejected(out):
    X = ref.make_blobs(3000, 2, 2, seed=5)
    model = fit_quietly(X, 2, random_state=0)
    with pytest.raises(ValueError, match="out must be a writeable C-contiguous int64 array"):
        model.predict(X, out=out)


def test_read_only_out_is_rejected():
    X = ref.make_blobs(300, 2, 2, seed=5)
    model = fit_quietly(X, 2, random_state=0)
    out = np.empty(300)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        model.score_samples(X, out=out)


@pytest.mark.parametrize(
    "stored, problem",
    [
        (np.arange(40, dtype=np.int16).reshape(20, 2), "dtype int16"),
        (np.asfortranarray(np.ones((20, 2))), "dtype float64 in non-C order"),
    ],
)
def test_memory_mapped_data_that_would_be_copied_is_rejected(tmp_path, stored, problem):
    path = save_npy(tmp_path, stored)
    with pytest.raises(ValueError, match=f"memory-mapped with {problem}"):
        GaussianMixture(2).fit(path)


def test_non_finite_memory_mapped_rows_are_reported(tmp_path):
    X = ref.make_blobs(200_000, 2, 2, seed=6)
    X[150_001, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"NaN or infinity in 1 of 200000 rows \(first at row 150001\)"
    ):
        GaussianMixture(2).fit(save_npy(tmp_path, X))


def test_paths_that_are_not_npy_files_are_rejected(tmp_path):
    np.savez(tmp_path / "data.npz", X=np.ones((10, 2)))
    with pytest.raises(ValueError, match="is an .npz archive"):
        GaussianMixture(2).fit(tmp_path / "data.npz")
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="is not a readable .npy file"):
        GaussianMixture(2).fit(tmp_path / "data.csv")
    with pytest.raises(FileNotFoundError):
        GaussianMixture(2).fit(tmp_path / "missing.npy")


def test_fit_function_and_scores_on_a_path(tmp_path):
    X = ref.make_blobs(4000, 2, 2, seed=7)
    path = save_npy(tmp_path, X)
    result = fastgmm.fit(path, 2, random_state=0)
    model = GaussianMixture(2, random_state=0).fit(X)
    assert_allclose(result.means, model.means_, rtol=1e-12)
    assert result.log_likelihood == pytest.approx(model.score(X) * 4000, rel=1e-12)
    assert model.bic(path) == pytest.approx(model.bic(X), rel=1e-12)


# -- the memory bound: fitting a 10M x 16 float32 file --------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="RssAnon is read from Linux's /proc/self/status"
)
def test_fitting_a_memory_mapped_file_keeps_anonymous_memory_under_a_tenth_of_the_data(tmp_path):
    n_samples, n_features, n_components = 10_000_000, 16, 8
    if shutil.disk_usage(tmp_path).free < 3 * n_samples * n_features * 4:
        pytest.skip("needs ~2 GB of free disk for a 640 MB data file")
    path = tmp_path / "big.npy"
    workloads.write_data_file(path, n_samples, n_features, n_components, np.float32)
    # In a fresh process, every buffer of 64 kB or more mapped afresh (see workloads.py).
    growth = workloads.memmap_fit_rss_anon(
        path, n_components, "full", init_params="kmeans", max_iter=2
    )
    data_bytes = n_samples * n_features * 4
    assert 0 < growth < 0.1 * data_bytes, (growth, data_bytes)


def test_every_source_implements_the_source_protocol():
    from fastgmm.data.dask_source import DaskSource

    methods = [
        name
        for name, value in vars(sources.Source).items()
        if callable(value) and not name.startswith("_")
    ]
    assert {"statistics", "score_rows", "total_log_likelihood", "prepare_fit"} <= set(methods)
    for source_class in (sources.ArraySource, DaskSource):
        assert all(callable(getattr(source_class, name, None)) for name in methods), source_class
    source = make_source(ref.make_blobs(100, 2, 2), COVARIANCE_TYPES_TABLE["full"], 2)
    assert isinstance(source, sources.ArraySource)
    assert source.n_samples == 100 and source.total_weight == 100.0
