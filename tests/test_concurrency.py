"""fastgmm inside other programs: fork after a fit, several Python threads fitting at
once, joblib's process and thread backends, Dask's process scheduler, and the
choice of Numba's threading layer (fastgmm/_threads.py).

Every case runs as a script in a fresh process with a timeout, so that a crash
(Numba's OpenMP layer kills a forked child) or a hang (a pool waiting for that
child forever) fails the test instead of the test run.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import fastgmm
from fastgmm import _threads

import _references as ref

TIMEOUT_SECONDS = 240

# Data and fits shared by the scripts: blobs whose seed picks the data set.
PRELUDE = """
import sys
import warnings

import numpy as np

{before_import}
import numba
import fastgmm

warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits: expected

def blobs(seed, n_samples=6000, n_features=3, n_components=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=5.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    return centers[labels] + rng.normal(size=(n_samples, n_features))

def fitted(seed):
    # Complete data runs on fastgmm's own worker threads; data with NaN runs the
    # missing-value kernels on Numba's threading layer: both, every time.
    X = blobs(seed)
    model = fastgmm.GaussianMixture(3, covariance_type="full", max_iter=20,
                                    random_state=seed).fit(X)
    X_missing = X.copy()
    X_missing[::7, 0] = np.nan
    with_nan = fastgmm.GaussianMixture(3, covariance_type="full", max_iter=5,
                                       random_state=seed, missing_values="marginalize")
    with_nan.fit(X_missing)
    return (model.means_, model.predict_proba(X), model.score(X),
            with_nan.means_, with_nan.score_samples(X_missing))

def same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second))
"""

# Numba's TBB check refused: what a machine without TBB gives.
_WITHOUT_TBB = """
from numba.np.ufunc import parallel as numba_parallel

def _no_tbb():
    raise ImportError("TBB hidden by the test")

numba_parallel._check_tbb_version_compatible = _no_tbb
"""

PIP_TBB = any(os.path.exists(path) for path in _threads.tbb_library_candidates())

# name: (extra environment, code run before importing fastgmm, the layer expected)
LAYERS = {
    "fastgmm's choice": ({}, "", "tbb" if PIP_TBB else "workqueue"),
    "fastgmm's choice without TBB": ({}, _WITHOUT_TBB, "workqueue"),
    "user's workqueue": ({"NUMBA_THREADING_LAYER": "workqueue"}, "", "workqueue"),
}


def run_script(body, layer="fastgmm's choice", timeout=TIMEOUT_SECONDS):
    """Run PRELUDE + ``body`` in a new process group with a layer of ``LAYERS`` (or an
    ``(environment, code before import, _)`` tuple); its stdout, or a test failure."""
    environ, before_import, _ = LAYERS[layer] if isinstance(layer, str) else layer
    code = PRELUDE.format(before_import=before_import) + textwrap.dedent(body)
    env = {
        key: value for key, value in os.environ.items() if key not in _threads.USER_LAYER_VARIABLES
    }
    env.update(environ)
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the script and any child it left
        out, err = process.communicate()
        pytest.fail(f"script hung for {timeout} s\nstdout:\n{out}\nstderr:\n{err[-3000:]}")
    assert process.returncode == 0, f"exit code {process.returncode}\n{out}\n{err[-3000:]}"
    return out


@pytest.mark.parametrize("layer", list(LAYERS))
def test_fork_pool_fits_after_the_parent_fitted(layer):
    out = run_script(
        """
        import multiprocessing

        if __name__ == "__main__":
            parent = [fitted(seed) for seed in range(4)]  # the parent runs the kernels first
            with multiprocessing.get_context("fork").Pool(2) as pool:
                children = pool.map(fitted, range(4))
            assert all(same(a, b) for a, b in zip(parent, children))
            print(numba.threading_layer())
    """,
        layer,
    )
    assert out.split() == [LAYERS[layer][2]]


@pytest.mark.parametrize("layer", list(LAYERS))
def test_four_threads_fitting_at_once_equal_the_same_fits_in_turn(layer):
    out = run_script(
        """
        import threading
        from concurrent.futures import ThreadPoolExecutor

        in_turn = [fitted(seed) for seed in range(8)]
        start = threading.Barrier(4)

        def fitted_together(seed):
            if seed < 4:
                start.wait()  # the first four start their fits at the same moment
            return fitted(seed)

        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(fitted_together, range(8)))
        assert all(same(a, b) for a, b in zip(in_turn, together))
        print(numba.threading_layer())
    """,
        layer,
    )
    assert out.split() == [LAYERS[layer][2]]


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_joblib_cross_val_score_with_two_jobs(backend):
    pytest.importorskip("sklearn")
    out = run_script(f"""
        from joblib import parallel_backend
        from sklearn.model_selection import cross_val_score

        X = blobs(0)
        model = fastgmm.GaussianMixture(3, max_iter=20, random_state=0)
        serial = cross_val_score(model, X, cv=4, n_jobs=1)
        fitted(1)  # kernels have run in this process before the workers start
        with parallel_backend({backend!r}, n_jobs=2):
            parallel = cross_val_score(model, X, cv=4, n_jobs=2)
        np.testing.assert_allclose(parallel, serial, rtol=1e-12)
        print(len(parallel))
    """)
    assert out.split() == ["4"]


def test_dask_processes_scheduler():
    pytest.importorskip("dask.array")
    out = run_script("""
        import dask
        import dask.array as da

        if __name__ == "__main__":
            X = blobs(0, n_samples=20_000)
            X_dask = da.from_array(X, chunks=(5_000, 3))
            fits = {}
            for scheduler in ("synchronous", "processes"):
                with dask.config.set(scheduler=scheduler, num_workers=2):
                    model = fastgmm.GaussianMixture(3, max_iter=20, random_state=0).fit(X_dask)
                fits[scheduler] = (model.means_, model.covariances_, model.lower_bound_)
            for a, b in zip(fits["synchronous"], fits["processes"]):
                np.testing.assert_allclose(a, b, rtol=1e-12)
            print("ok")
    """)
    assert out.split() == ["ok"]


@pytest.mark.parametrize("chosen", ["workqueue", "omp", "tbb"])
def test_a_layer_the_user_chose_is_kept(chosen):
    """Set in the environment, or in numba.config before importing fastgmm; a pip-installed
    TBB is found for a user's 'tbb' too."""
    if chosen == "tbb" and not PIP_TBB:
        pytest.skip("no pip-installed TBB here (the [test] extra installs one)")
    for layer in (
        ({"NUMBA_THREADING_LAYER": chosen}, "", chosen),
        ({}, f"import numba\nnumba.config.THREADING_LAYER = {chosen!r}", chosen),
    ):
        out = run_script("fitted(0)\nprint(numba.threading_layer())", layer)
        assert out.split() == [chosen]


def test_user_chose_layer():
    assert not _threads.user_chose_layer({}, "default")
    assert not _threads.user_chose_layer({"NUMBA_THREADING_LAYER": ""}, "DEFAULT")
    assert _threads.user_chose_layer({"NUMBA_THREADING_LAYER": "omp"}, "default")
    assert _threads.user_chose_layer(
        {"NUMBA_THREADING_LAYER_PRIORITY": "omp tbb workqueue"}, "default"
    )
    assert _threads.user_chose_layer({}, "workqueue")


def test_tbb_library_candidates_are_in_the_environments_lib_folder():
    candidates = _threads.tbb_library_candidates(["/opt/env", "/opt/env", "/home/u/.local"])
    if sys.platform in ("linux", "darwin"):
        assert candidates == [
            os.path.join("/opt/env", "lib", os.path.basename(candidates[0])),
            os.path.join("/home/u/.local", "lib", os.path.basename(candidates[0])),
        ]
    else:
        assert candidates == []


@pytest.mark.skipif(
    _threads._chosen_layer is None, reason="the test run chose its own Numba threading layer"
)
def test_this_process_runs_fastgmms_layer():
    X = ref.make_blobs(5000, 2, 2)
    X[::5, 1] = np.nan  # only the missing-value kernels run on Numba's layer
    fastgmm.fit(X, 2, random_state=0, missing_values="marginalize")
    assert numba.threading_layer() == LAYERS["fastgmm's choice"][2]


def test_a_fit_without_missing_values_starts_no_numba_threads():
    out = run_script("""
        from numba.np.ufunc import parallel as numba_parallel

        X = blobs(0, n_samples=50_000)
        for covariance_type in ("full", "tied", "diag", "spherical"):
            model = fastgmm.GaussianMixture(3, covariance_type=covariance_type, max_iter=5,
                                            random_state=0).fit(X)
            model.predict_proba(X), model.score_samples(X)
        print(bool(numba_parallel._is_initialized))
    """)
    assert out.split() == ["False"]


def record_ranges(calls):
    """A stand-in kernel for run_chunks: records (tag, first_chunk, stop_chunk)."""

    def kernel(tag, first_chunk, stop_chunk):
        calls.append((tag, first_chunk, stop_chunk))

    return kernel


@pytest.mark.parametrize("threads", [1, 3, 8])
@pytest.mark.parametrize("n_chunks", [1, 2, 7, 64])
def test_run_chunks_gives_every_chunk_to_exactly_one_share(monkeypatch, threads, n_chunks):
    monkeypatch.setattr(_threads, "n_threads", lambda: threads)
    calls = []
    _threads.run_chunks(record_ranges(calls), n_chunks, "tag")
    # One call on one thread; else SHARES_PER_THREAD shares a thread, at most one a chunk.
    expected_calls = 1 if threads == 1 else min(_threads.SHARES_PER_THREAD * threads, n_chunks)
    assert len(calls) == expected_calls
    covered = sorted(chunk for _, first, stop in calls for chunk in range(first, stop))
    assert covered == list(range(n_chunks))
    assert all(tag == "tag" and first < stop for tag, first, stop in calls)


def test_run_chunks_reraises_a_shares_error_after_every_other_share_ran(monkeypatch):
    monkeypatch.setattr(_threads, "n_threads", lambda: 2)
    finished = []

    def kernel(first_chunk, stop_chunk):
        if first_chunk == 4:
            raise FloatingPointError("from a share")
        finished.append(first_chunk)

    with pytest.raises(FloatingPointError, match="from a share"):
        _threads.run_chunks(kernel, 8)  # 8 shares of one chunk, 2 threads
    assert sorted(finished) == [0, 1, 2, 3, 5, 6, 7]
