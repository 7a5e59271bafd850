"""Workloads of benchmarks/README.md and the per-iteration timing method, shared by
the asv suite (``benchmarks/bench_*.py``) and ``benchmarks/compare.py``; the tests use its
data-file writer and memory samplers too (``tests/data/test_sources.py``).

Seconds per EM iteration = (t(max_iter=7) - t(max_iter=2)) / 5 from the same
initialisation (``init_params='random_from_data'``, ``random_state=0``), so the
initialisation and the fixed costs of a fit drop out.
"""

import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

QUICK = bool(os.environ.get("FASTGMM_BENCH_QUICK"))

# name: (n_samples, n_features, n_components, covariance_type)
WORKLOADS = {
    "W1": (1_000_000, 2, 3, "full"),
    "W2": (1_000_000, 16, 16, "full"),
    "W3": (1_000_000, 16, 16, "diag"),
    "W4": (200_000, 64, 32, "full"),
    "W2-tied": (1_000_000, 16, 16, "tied"),
    "W2-spherical": (1_000_000, 16, 16, "spherical"),
}
QUICK_WORKLOADS = {
    "W1": (20_000, 2, 3, "full"),
    "W2": (5_000, 16, 16, "full"),
    "W3": (5_000, 16, 16, "diag"),
    "W4": (10_000, 64, 32, "full"),
    "W2-tied": (5_000, 16, 16, "tied"),
    "W2-spherical": (5_000, 16, 16, "spherical"),
}

# The wide workload of mixtures of factor analysers: (n_samples, n_features, n_components,
# n_factors), fitted with covariance_type 'factor' (options {"n_factors": q}) and compared
# with 'full' on the same data.
FACTOR_WORKLOAD = (200_000, 256, 10, 8)
QUICK_FACTOR_WORKLOAD = (5_000, 256, 10, 8)

# The scale workloads, fitted out of memory: (n_samples, n_features, n_components,
# covariance_type, dtype).
# DASK runs in DASK_CHUNKS row chunks on a LocalCluster of 2 single-threaded worker
# processes; MEMMAP is fitted from a memory-mapped .npy file.
SCALE_WORKLOADS = {
    "DASK": (2_000_000, 16, 8, "full", "float64"),
    "MEMMAP": (10_000_000, 16, 8, "full", "float32"),
}
QUICK_SCALE_WORKLOADS = {
    "DASK": (20_000, 16, 8, "full", "float64"),
    "MEMMAP": (200_000, 16, 8, "full", "float32"),
}
DASK_CHUNKS = 8

# The mini-batch (stepwise) EM workload: a memory-mapped float32 .npy file fitted by
# batch EM, by mini-batch EM (``batch_size``) and by ``partial_fit`` over its rows, on two
# data sets. (n_samples, n_features, n_components, covariance_type, dtype, batch_size):
# 100 batches a pass at either size.
ONLINE_WORKLOAD = (10_000_000, 16, 16, "full", "float32", 100_000)
QUICK_ONLINE_WORKLOAD = (200_000, 16, 16, "full", "float32", 2_000)
PARTIAL_FIT_ROWS = 10_000  # rows per partial_fit call, one pass over the file
ONLINE_MAX_PASSES = 2  # mini-batch EM is timed after 1 and after 2 passes
# The data sets, by the scale of their centres (``make_data``'s ``separation``; unit noise):
# 5, components far apart (batch EM from the k-means start converges in a few
# iterations); 0.2, components that overlap (centres about 1.1 noise standard deviations
# apart: batch EM needs 12 iterations).
ONLINE_SEPARATIONS = {"separated": 5.0, "overlapping": 0.2}
ONLINE_TOLERANCE = 1e-3  # "reached": a mean log-likelihood at most this below batch EM's


def workload(name):
    return (QUICK_WORKLOADS if QUICK else WORKLOADS)[name]


def factor_workload():
    """W5: ``(n_samples, n_features, n_components, n_factors)`` (tiny with QUICK)."""
    return QUICK_FACTOR_WORKLOAD if QUICK else FACTOR_WORKLOAD


def scale_workload(name):
    return (QUICK_SCALE_WORKLOADS if QUICK else SCALE_WORKLOADS)[name]


def online_workload():
    """``(n_samples, n_features, n_components, covariance_type, dtype, batch_size)`` of the
    mini-batch EM workload (tiny with QUICK)."""
    return QUICK_ONLINE_WORKLOAD if QUICK else ONLINE_WORKLOAD


def make_data(n_samples, n_features, n_components, dtype=np.float64, separation=5.0):
    """Blobs: ``n_components`` centres drawn with standard deviation ``separation`` (5: far
    apart), each row one centre plus unit Gaussian noise, all from seed 0."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=separation, size=(n_components, n_features))
    X = centers[rng.integers(n_components, size=n_samples)] + rng.normal(
        size=(n_samples, n_features)
    )
    return X.astype(dtype)


# The patterns of missing values (``with_missing``): what is missing, and how much.
# "10% values": every value independently NaN with probability 0.1 (on W2: 81.5% of the rows
# incomplete, in about 9,600 distinct patterns); "1% rows": 1% of the rows one NaN each.
MISSING_PATTERNS = {
    "10% values": ("values", 0.1),
    "1% rows": ("rows", 0.01),
}


def with_missing(X, pattern, seed=0):
    """A copy of ``X`` with NaN in the places of ``MISSING_PATTERNS[pattern]``.

    "10% values": each value NaN with probability 0.1, independently; "1% rows": 1% of the
    rows (drawn without replacement) get one NaN each, at a random feature.
    """
    kind, fraction = MISSING_PATTERNS[pattern]
    rng = np.random.default_rng(seed)
    X = np.array(X, copy=True)
    if kind == "values":
        X[rng.random(X.shape) < fraction] = np.nan
    else:
        rows = rng.choice(X.shape[0], size=round(fraction * X.shape[0]), replace=False)
        X[rows, rng.integers(X.shape[1], size=len(rows))] = np.nan
    return X


def workload_arguments(name, dtype="float64"):
    """``(X, n_components, covariance_type)`` of workload ``name`` in ``dtype``."""
    n_samples, n_features, n_components, covariance_type = workload(name)
    X = make_data(n_samples, n_features, n_components, np.dtype(dtype))
    return X, n_components, covariance_type


# The estimators compared: fastgmm's and scikit-learn's class of each name.
MODELS = ("GaussianMixture", "BayesianGaussianMixture")


def estimator_class(rival, model="GaussianMixture"):
    """``rival``'s ('fastgmm' or 'sklearn') class called ``model`` (see MODELS)."""
    import importlib

    return getattr(
        importlib.import_module("fastgmm" if rival == "fastgmm" else "sklearn.mixture"), model
    )


def fit_seconds(
    rival,
    X,
    n_components,
    covariance_type,
    max_iter,
    init_params="random_from_data",
    model="GaussianMixture",
    options=None,
):
    """Wall time of one fit from ``init_params`` with ``tol=0`` and ``max_iter``; ``options``:
    further estimator parameters (e.g. ``{"missing_values": "marginalize"}``)."""
    model = estimator_class(rival, model)(
        n_components=n_components,
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=0.0,
        init_params=init_params,
        random_state=0,
        **(options or {}),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 on purpose
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start


def seconds_per_iteration(
    rival, X, n_components, covariance_type, model="GaussianMixture", options=None
):
    long = fit_seconds(
        rival, X, n_components, covariance_type, max_iter=7, model=model, options=options
    )
    short = fit_seconds(
        rival, X, n_components, covariance_type, max_iter=2, model=model, options=options
    )
    return (long - short) / 5


def default_fit_seconds(rival, X, n_components, covariance_type, max_iter=100):
    """Seconds of one fit with the default options (k-means start, tol 1e-3) but
    ``max_iter``, and the iterations it ran: ``(seconds, n_iter)``."""
    seconds, model = timed_fit(X, n_components, covariance_type, rival, max_iter=max_iter)
    return seconds, model.n_iter_


def whole_fit(rival, X, n_components, covariance_type):
    """A fit with the default options (up to 100 iterations), split in two.

    Returns seconds ``total``, the ``n_iter`` it ran, its ``start`` (the same fit with
    ``max_iter=0``: validation, initialisation and the final E-step) and ``iteration`` =
    (total - start) / n_iter, the mean cost of its own EM iterations (with fastgmm that
    depends on the start: well-separated responsibilities make cheaper iterations).
    """
    start, _ = default_fit_seconds(rival, X, n_components, covariance_type, max_iter=0)
    total, n_iter = default_fit_seconds(rival, X, n_components, covariance_type)
    return {
        "total": total,
        "n_iter": n_iter,
        "start": start,
        "iteration": (total - start) / max(n_iter, 1),
    }


_FIRST_FIT = """
import json, time
import numpy as np, fastgmm
X = np.random.default_rng(0).normal(size=(2000, 3))
predict_seconds = 0.0
for dtype in {dtypes!r}:
    for covariance_type in {covariance_types!r}:
        model = fastgmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0)
        model.fit(X.astype(dtype))
        if {predict!r}:
            start = time.perf_counter()
            model.predict(X.astype(dtype))
            predict_seconds += time.perf_counter() - start
print(json.dumps({{"predict": predict_seconds}}))
"""


def first_calls(cache_dir, covariance_types=("full",), dtypes=("float64",), predict=False):
    """``{"process": s, "predict": s}``: the wall time of a new Python process that imports
    fastgmm and fits 2,000 x 3 rows with the default options, once per covariance type and
    dtype (with ``predict``, each fit followed by the model's first ``predict``, whose
    seconds are ``"predict"``), with Numba's cache in ``cache_dir`` (an empty folder: every
    kernel the calls run compiles)."""
    script = _FIRST_FIT.format(
        covariance_types=list(covariance_types), dtypes=list(dtypes), predict=predict
    )
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ, NUMBA_CACHE_DIR=os.fspath(cache_dir)),
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = json.loads(completed.stdout.splitlines()[-1])
    return {"process": time.perf_counter() - start, "predict": seconds["predict"]}


def first_fit_seconds(cache_dir, covariance_types=("full",), dtypes=("float64",)):
    """``first_calls``'s process time without ``predict``: import and fit only."""
    return first_calls(cache_dir, covariance_types, dtypes)["process"]


def warm_up(
    X,
    n_components,
    covariance_type,
    init_params="random_from_data",
    model="GaussianMixture",
    options=None,
):
    """Compile (or load from cache) fastgmm's kernels for this dtype, type, start and
    ``options`` (with missing values: for the patterns in ``X``'s first 4,096 rows)."""
    fit_seconds(
        "fastgmm",
        X[: min(len(X), 4096)],
        n_components,
        covariance_type,
        max_iter=2,
        init_params=init_params,
        model=model,
        options=options,
    )


def seconds_per_iteration_on_threads(X, n_components, covariance_type, n_threads):
    """fastgmm's seconds per iteration with Numba limited to ``n_threads``."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        return seconds_per_iteration("fastgmm", X, n_components, covariance_type)
    finally:
        numba.set_num_threads(previous)


def fitted_model(rival, X, n_components, covariance_type):
    """A model of ``rival``'s class holding fastgmm's parameters after 2 iterations on 20k rows."""
    from fastgmm import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            max_iter=2,
            init_params="random_from_data",
            random_state=0,
        ).fit(X[:20_000])
    if rival == "fastgmm":
        return model
    other = estimator_class(rival)(n_components, covariance_type=covariance_type)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "n_features_in_"):
        setattr(other, name, getattr(model, name))
    return other


def method_seconds(model, method, X):
    """Wall time of one ``model.<method>(X)`` call (after a warm-up call on 100 rows)."""
    getattr(model, method)(X[:100])
    start = time.perf_counter()
    getattr(model, method)(X)
    return time.perf_counter() - start


_PEAK_MEMORY = """
import sys, warnings
sys.path.insert(0, {here!r})
import workloads
n_samples, n_features, n_components, covariance_type = workloads.WORKLOADS[{name!r}]
X = workloads.make_data(n_samples, n_features, n_components, {dtype!r})
fit = workloads.fit_seconds
fit({rival!r}, X[:4096], n_components, covariance_type, 2, model={model!r})  # imports, JIT
status = workloads.status
baseline = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                                       # reset VmHWM
fit({rival!r}, X, n_components, covariance_type, 3, model={model!r})
print(status("VmHWM") - baseline)
"""


_PEAK_FACTOR_MEMORY = """
import sys, warnings
sys.path.insert(0, {here!r})
import workloads
from fastgmm import GaussianMixture
n_samples, n_features, n_components, n_factors = workloads.factor_workload()
X = workloads.make_data(n_samples, n_features, n_components, {dtype!r})
warnings.simplefilter("ignore")
options = dict(covariance_type="factor", n_factors=n_factors, max_iter=3, random_state=0)
GaussianMixture(n_components, **options).fit(X[:4096])             # imports, JIT
baseline = workloads.status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                                       # reset VmHWM
GaussianMixture(n_components, **options).fit(X)
print(workloads.status("VmHWM") - baseline)
"""


def peak_factor_fit_memory(dtype="float64"):
    """Bytes by which a default W5 fit ('factor', k-means start, 3 iterations) raises the
    peak RSS over the process with its data loaded (as ``peak_fit_memory``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = _PEAK_FACTOR_MEMORY.format(here=here, dtype=dtype)
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return int(completed.stdout.split()[-1])


def peak_fit_memory(rival, name, dtype="float64", model="GaussianMixture"):
    """Bytes by which a fit raises the peak RSS over the process with its data loaded.

    Measured in a fresh process (Linux: /proc/self/status, VmHWM reset through
    /proc/self/clear_refs) on the full-size workload ``name``.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    script = _PEAK_MEMORY.format(here=here, name=name, dtype=dtype, rival=rival, model=model)
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return int(completed.stdout.split()[-1])


def write_data_file(
    path, n_samples, n_features, n_components, dtype, block_rows=1_000_000, separation=5.0
):
    """``make_data``'s kind of blobs (centres' scale ``separation``) as a .npy file, written
    block by block (never whole)."""
    out = np.lib.format.open_memmap(path, "w+", dtype, (n_samples, n_features))
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=separation, size=(n_components, n_features))
    for start in range(0, n_samples, block_rows):
        n_rows = min(block_rows, n_samples - start)
        out[start : start + n_rows] = centers[rng.integers(n_components, size=n_rows)] + rng.normal(
            size=(n_rows, n_features)
        )
    out.flush()
    del out


def write_online_file(path, data):
    """The mini-batch EM workload's .npy file of data set ``data`` (``ONLINE_SEPARATIONS``)."""
    n_samples, n_features, n_components, _, dtype, _ = online_workload()
    write_data_file(
        path,
        n_samples,
        n_features,
        n_components,
        np.dtype(dtype),
        separation=ONLINE_SEPARATIONS[data],
    )


def timed_fit(X, n_components, covariance_type, rival="fastgmm", **options):
    """``(seconds, model)`` of one ``GaussianMixture`` fit of ``rival`` with the default
    options (k-means start, ``tol=1e-3``) but ``options``, ``random_state=0``."""
    model = estimator_class(rival)(
        n_components=n_components, covariance_type=covariance_type, random_state=0, **options
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning is still a timing
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start, model


def partial_fit_pass(X, n_components, covariance_type, rows=PARTIAL_FIT_ROWS):
    """``(seconds, model)`` of one pass of ``partial_fit`` over ``X`` in file order, ``rows``
    rows a call (the first call initialises: k-means start, ``random_state=0``)."""
    from fastgmm import GaussianMixture

    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        for first in range(0, X.shape[0], rows):
            model.partial_fit(X[first : first + rows])
        return time.perf_counter() - start, model


def online_fit(fit, X, n_components, covariance_type, batch_size, passes=None):
    """``(seconds, model)`` of ``fit``: 'batch EM' (to convergence, default options),
    'mini-batch EM' (``batch_size`` rows a batch, ``passes`` passes, default
    ``ONLINE_MAX_PASSES``) or 'partial_fit' (one pass, ``PARTIAL_FIT_ROWS`` rows a call)."""
    passes = ONLINE_MAX_PASSES if passes is None else passes
    if fit == "batch EM":
        return timed_fit(X, n_components, covariance_type)
    if fit == "mini-batch EM":
        return timed_fit(X, n_components, covariance_type, batch_size=batch_size, max_iter=passes)
    if fit == "partial_fit":
        return partial_fit_pass(X, n_components, covariance_type)
    raise ValueError(f"Unknown fit {fit!r}.")


def warm_up_online(X, n_components, covariance_type, batch_size):
    """Compile (or load) the kernels of ``online_fit``'s fits and of ``score`` on ``X``'s
    dtype and memory layout (a memory map is read-only; mini-batches are in-memory copies)."""
    X = X[: min(len(X), 4096)]
    _, model = timed_fit(X, n_components, covariance_type, max_iter=2)
    model.score(X)
    timed_fit(X, n_components, covariance_type, batch_size=min(batch_size, 1024), max_iter=1)
    partial_fit_pass(X, n_components, covariance_type, rows=len(X) // 2)


class PeakRssAnon:
    """Highest RssAnon (Linux /proc/self/status) seen while the body runs, over its start.

    Sampled every 2 ms by a thread: anonymous memory is what a process owns
    (a memory-mapped file's pages are RssFile, the kernel's to evict).
    """

    def __enter__(self):
        self.baseline = self.peak = status("RssAnon")
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, status("RssAnon"))
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.growth = self.peak - self.baseline


def status(field):
    """A memory field of /proc/self/status, in bytes."""
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


_MEMMAP_RSS_ANON = """
import sys
sys.path.insert(0, {here!r})
import numpy as np
import workloads
X = np.load({path!r}, mmap_mode="r")
workloads.warm_up(X, {n_components}, {covariance_type!r}, {init_params!r})
with workloads.PeakRssAnon() as memory:
    workloads.fit_seconds("fastgmm", X, {n_components}, {covariance_type!r}, {max_iter},
                          {init_params!r})
print(memory.growth)
"""


def memmap_fit_rss_anon(
    path, n_components, covariance_type, init_params="random_from_data", max_iter=3
):
    """Bytes by which a fit of the memory-mapped .npy ``path`` raises RssAnon.

    In a fresh process (memory freed earlier in this one could be reused
    unseen), with glibc mapping every allocation of 64 kB or more afresh
    (MALLOC_MMAP_THRESHOLD_), so that no buffer of the fit hides in memory
    freed by the imports and the warm-up.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    script = _MEMMAP_RSS_ANON.format(
        here=here,
        path=os.fspath(path),
        n_components=n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        max_iter=max_iter,
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536"),
    )
    return int(completed.stdout.split()[-1])


def local_cluster():
    """A LocalCluster of 2 worker processes, 1 thread each, on 127.0.0.1 (and its Client)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    return cluster, Client(cluster)


def dask_data(X, n_chunks=DASK_CHUNKS):
    """``X`` as a Dask array of ``n_chunks`` row chunks, persisted on the current scheduler.

    Loaded by the workers from a temporary .npy file (``fastgmm.dask_array_from_npy``),
    the way data bigger than the client's memory would be.
    """
    import tempfile

    from distributed import wait

    from fastgmm import dask_array_from_npy

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.npy")
        np.save(path, X)
        X_dask = dask_array_from_npy(path, rows_per_chunk=-(-X.shape[0] // n_chunks)).persist()
        wait(X_dask)
    return X_dask
