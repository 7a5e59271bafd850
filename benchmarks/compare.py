"""Print fastgmm against scikit-learn on the benchmark workloads, with their targets.

    python benchmarks/compare.py [--repeats 3] [--workloads W1 W2 ...] [--quick] [--no-extras]
                                 [--scale-only] [--bayesian-only] [--start-only]
                                 [--missing-only] [--online-only] [--factor-only]
                                 [--json PATH]

Rows (medians over ``--repeats`` runs unless said otherwise, every ratio from numbers measured in
this one process, fastgmm's JIT warmed up first):

- seconds per EM iteration, sklearn and fastgmm (float64), W1-W4 and the W2
  shape with 'tied' and 'spherical' covariances (minimum of ``--repeats``; with ``--json PATH``
  these rows are also written to PATH, which the documentation's speed example plots);
- whole default fits to convergence (k-means start) of W2, W4 and W2-tied, each library,
  with fastgmm's start (the same fit with ``max_iter=0``: initialisation and fixed costs) in
  seconds and in the mean cost of the fit's own EM iterations (minimum of ``--repeats``);
- first calls: a new process importing fastgmm and fitting 2,000 x 3 rows, with an empty
  Numba cache (the default path, then the first ``predict``, also timed alone; every
  covariance type in both dtypes, each fit followed by its ``predict``) and a warm one
  (import and fit);
- fastgmm float32 against fastgmm float64 (W2, W4);
- fastgmm on 1 thread against all threads (W2);
- ``predict_proba`` and ``score_samples`` on W2's data, sklearn and fastgmm
  with the same parameters;
- fastgmm's seconds per W2 iteration with ``missing_values='marginalize'`` on data with 10% of
  the values missing and with 1% of the rows missing one value, against the complete data
  (minimum of ``--repeats``, the three measured in turn in each repeat);
- W5 (``--factor-only``): fastgmm's seconds per iteration of ``covariance_type='factor'``
  (q = 8 factors) and of 'full' on the same 200k x 256 data, K = 10, float64 and float32
  (minimum of ``--repeats``), with the factor fit's multiple of the machine's limit and,
  in float64, scikit-learn's 'full' against the factor fit, and the peak memory a default
  factor fit (k-means start) adds over its float64 data, in a fresh process;
- the peak memory a W2 fit adds over its data, each library in a fresh process;
- for the EM-iteration and float32 rows, the machine's limit (``roofline.py``: max of
  the data's bytes over the streaming bandwidth and the unavoidable flops over the matmul
  peak, both measured in this run) and fastgmm's time as a multiple of it;
- the scale paths: seconds per iteration of a 2M x 16 x 8 Dask array in 8
  chunks on a LocalCluster of 2 worker processes against the same data in
  memory, and of a 10M x 16 float32 memory-mapped file against the same data
  in memory, with the peak anonymous memory of the memory-mapped fit;
- mini-batch EM (``--online-only``): a 10M x 16 float32 memory-mapped file, K=16 'full',
  with components far apart and overlapping: batch EM to convergence (default options),
  mini-batch EM (``batch_size=100_000``) after 1 and 2 passes from the same start, and one
  pass of ``partial_fit`` in calls of 10,000 rows, with their scores on the file, their
  distance to batch EM's and their times over batch EM's.

Workloads, method and targets: benchmarks/README.md.  Run it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset (see there).
"""

import argparse
import os
import platform
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roofline  # noqa: E402
import workloads  # noqa: E402

ITERATION_TARGETS = {
    "W1": 50.0,
    "W2": 30.0,
    "W3": 20.0,
    "W4": 8.0,
    "W2-tied": 20.0,
    "W2-spherical": 20.0,
}
FLOAT32_TARGET = 1.8  # float32 speed-up over float64
THREADS_TARGET = 1.8  # all threads over one, on W2
PREDICT_TARGET = 10.0  # predict_proba / score_samples over sklearn
BAYESIAN_TARGETS = {"W2": 20.0, "W3": 10.0}  # BayesianGaussianMixture over scikit-learn's
WHOLE_FIT_TARGETS = {"W2": 30.0, "W4": 8.0, "W2-tied": 20.0}  # default fits over sklearn's
START_TARGET_ITERATIONS = 3.0  # fastgmm's start (and fixed costs) in its own EM iterations
FIRST_CALL_TARGETS = {"cold default": 5.0, "cold all types": 20.0, "cached": 0.8}  # seconds
MEMORY_TARGET_MB = 64.0  # peak memory of a W2 fit over the data
RSS_ANON_TARGET = 0.1  # peak anonymous memory of a memory-mapped fit over the data
FACTOR_TARGETS = {"over full": 10.0, "x limit": 3.0}  # W5: 'factor' against 'full', the limit
MISSING_TARGETS = {"10% values": 3.0, "1% rows": 1.2}  # s/iter over the complete data's, at most


def _minimum(repeats, function, *args):
    """Minimum of ``repeats`` calls of ``function(*args)``."""
    return float(min(function(*args) for _ in range(repeats)))


def _median(repeats, function, *args):
    """Median of ``repeats`` calls of ``function(*args)``."""
    return float(np.median([function(*args) for _ in range(repeats)]))


def _row(label, slow, fast, ratio, target, unit="s", suffix=""):
    met = "yes" if ratio >= target else "no"
    print(
        f"{label:<40}{slow:>12.4f}{unit:<2}{fast:>12.4f}{unit:<2}{ratio:>8.1f}x"
        f"{target:>7.1f}x  {met:<4}{suffix}",
        flush=True,
    )


_PEAKS = {}  # dtype: matmul flop/s, measured once per run


def _limit(X, n_components, covariance_type):
    """``(seconds, bound)``: the machine's limit for one iteration on ``X`` (roofline.py)."""
    if X.dtype not in _PEAKS:
        _PEAKS[X.dtype] = roofline.matmul_peak(X.dtype)
    return roofline.iteration_limit(X, n_components, covariance_type, peak=_PEAKS[X.dtype])


def _limit_text(limit, bound, seconds):
    """' limit  x-limit bound' for fastgmm's ``seconds`` per iteration."""
    return f"{limit:>10.5f}s{seconds / limit:>8.1f}x {bound}"


def _limit_columns(X, n_components, covariance_type, seconds):
    """' limit  x-limit bound' for fastgmm's ``seconds`` per iteration on ``X`` (roofline.py)."""
    return _limit_text(*_limit(X, n_components, covariance_type), seconds)


_LIMIT_HEADER = f"{'limit':>11}{'x-limit':>9} bound"


def iteration_rows(names, repeats):
    """Print the EM-iteration rows; return them as dicts (what --json writes)."""
    records = []
    print(
        f"{'EM iteration (float64)':<40}{'sklearn':>14}{'fastgmm':>14}{'ratio':>9}"
        f"{'target':>8}  met {_LIMIT_HEADER}"
    )
    for name in names:
        n_samples, n_features, n_components, covariance_type = workloads.workload(name)
        X = workloads.make_data(n_samples, n_features, n_components)
        workloads.warm_up(X, n_components, covariance_type)
        args = (X, n_components, covariance_type)
        ours = _minimum(repeats, workloads.seconds_per_iteration, "fastgmm", *args)
        theirs = _minimum(repeats, workloads.seconds_per_iteration, "sklearn", *args)
        label = f"{name} N={n_samples} D={n_features} K={n_components} {covariance_type}"
        limit_seconds, bound = _limit(X, n_components, covariance_type)
        suffix = _limit_text(limit_seconds, bound, ours)
        _row(label, theirs, ours, theirs / ours, ITERATION_TARGETS[name], suffix=suffix)
        records.append(
            {
                "workload": name,
                "n_samples": n_samples,
                "n_features": n_features,
                "n_components": n_components,
                "covariance_type": covariance_type,
                "sklearn_seconds": theirs,
                "fastgmm_seconds": ours,
                "limit_seconds": limit_seconds,
                "bound": bound,
                "target": ITERATION_TARGETS[name],
            }
        )
    return records


def whole_fit_rows(names, repeats):
    """Default fits to convergence (k-means start): total seconds of each library, and
    fastgmm's start (with the fixed costs) in seconds and in its own EM iterations."""
    print(
        f"{'whole default fit (float64)':<40}{'sklearn':>14}{'fastgmm':>14}{'ratio':>9}"
        f"{'target':>8}  met  fastgmm: start   = iterations  (target)  EM"
    )
    for name in names:
        X, n_components, covariance_type = workloads.workload_arguments(name)
        workloads.warm_up(X, n_components, covariance_type, init_params="kmeans")
        fits = {
            rival: min(
                (
                    workloads.whole_fit(rival, X, n_components, covariance_type)
                    for _ in range(repeats)
                ),
                key=lambda fit: fit["total"],
            )
            for rival in ("fastgmm", "sklearn")
        }
        ours, theirs = fits["fastgmm"], fits["sklearn"]
        start_iterations = ours["start"] / ours["iteration"]
        met = "yes" if start_iterations <= START_TARGET_ITERATIONS else "no"
        suffix = (
            f"{ours['start']:>10.3f}s = {start_iterations:>5.1f} it. "
            f"(<={START_TARGET_ITERATIONS:.0f} {met:<3}) "
            f"{ours['total'] - ours['start']:.3f}s, {ours['n_iter']} it. "
            f"(sklearn {theirs['n_iter']} it.)"
        )
        _row(
            f"{name} default options",
            theirs["total"],
            ours["total"],
            theirs["total"] / ours["total"],
            WHOLE_FIT_TARGETS[name],
            suffix=suffix,
        )


def first_call_rows(repeats):
    """New processes importing fastgmm and fitting 2,000 x 3 (``workloads.first_calls``): cold
    cache, default path, fit and the first predict; cold cache, every type in both dtypes,
    fit and predict (the predicts' seconds also alone); warm cache, import and fit."""
    import tempfile

    print(f"{'first call (new process, 2,000 x 3)':<40}{'seconds':>14}{'target':>22}  met")
    cases = {  # label: covariance types, dtypes, cache filled first, predict, target's key
        "empty cache, full float64, fit+predict": (
            ("full",),
            ("float64",),
            False,
            True,
            "cold default",
        ),
        "empty cache, 4 types x 2 dtypes, f+p": (
            ("full", "tied", "diag", "spherical"),
            ("float64", "float32"),
            False,
            True,
            "cold all types",
        ),
        "warm cache, import + fit": (("full",), ("float64",), True, False, "cached"),
    }
    for label, (types, dtypes, cached, predict, target_key) in cases.items():
        runs = []
        for _ in range(repeats if cached else 1):  # a cold compile is slow and steady
            with tempfile.TemporaryDirectory() as cache_dir:
                if cached:
                    workloads.first_calls(cache_dir, types, dtypes)
                runs.append(workloads.first_calls(cache_dir, types, dtypes, predict))
        best = min(runs, key=lambda run: run["process"])
        seconds, target = best["process"], FIRST_CALL_TARGETS[target_key]
        met = "yes" if seconds <= target else "no"
        print(f"{label:<40}{seconds:>12.3f}s {'<=' + str(target):>20}s  {met}", flush=True)
        if predict:  # the first predict after each fit, on a row of its own
            print(f"{'  of which the first predicts':<40}{best['predict']:>12.3f}s", flush=True)


def float32_rows(repeats):
    print(
        f"{'float32 vs float64 (fastgmm)':<40}{'float64':>14}{'float32':>14}{'':>26}"
        f"{_LIMIT_HEADER} (float32)"
    )
    for name in ("W2", "W4"):
        n_samples, n_features, n_components, covariance_type = workloads.workload(name)
        seconds = {}
        for dtype in (np.float64, np.float32):
            X = workloads.make_data(n_samples, n_features, n_components, dtype)
            workloads.warm_up(X, n_components, covariance_type)
            seconds[dtype] = _median(
                repeats,
                workloads.seconds_per_iteration,
                "fastgmm",
                X,
                n_components,
                covariance_type,
            )
        _row(
            f"{name} s/iter",
            seconds[np.float64],
            seconds[np.float32],
            seconds[np.float64] / seconds[np.float32],
            FLOAT32_TARGET,
            suffix=_limit_columns(X, n_components, covariance_type, seconds[np.float32]),
        )


def factor_rows(repeats):
    """W5: seconds per iteration (minimum of ``repeats``) of covariance_type='factor' and of
    'full' on the same data, float64 and float32, with the factor fit's multiple of the
    machine's limit; in float64 also scikit-learn's 'full' (it has no factor model)."""
    n_samples, n_features, n_components, n_factors = workloads.factor_workload()
    print(
        f"{'W5 s/iter (fastgmm) N=' + str(n_samples) + ' D=' + str(n_features):<40}"
        f"{'full':>14}{'factor':>14}{'ratio':>9}{'target':>8}  met {_LIMIT_HEADER}"
    )
    options = {"n_factors": n_factors}
    for dtype in (np.float64, np.float32):
        X = workloads.make_data(n_samples, n_features, n_components, dtype)
        seconds = {}
        for covariance_type in ("full", "factor"):
            typed = options if covariance_type == "factor" else None
            workloads.warm_up(X, n_components, covariance_type, options=typed)
            seconds[covariance_type] = _minimum(
                repeats,
                workloads.seconds_per_iteration,
                "fastgmm",
                X,
                n_components,
                covariance_type,
                "GaussianMixture",
                typed,
            )
        if X.dtype not in _PEAKS:
            _PEAKS[X.dtype] = roofline.matmul_peak(X.dtype)
        limit, bound = roofline.iteration_limit(
            X, n_components, "factor", peak=_PEAKS[X.dtype], n_factors=n_factors
        )
        _row(
            f"W5 K={n_components} q={n_factors} {np.dtype(dtype).name}",
            seconds["full"],
            seconds["factor"],
            seconds["full"] / seconds["factor"],
            FACTOR_TARGETS["over full"],
            suffix=f"{limit:>10.5f}s{seconds['factor'] / limit:>8.1f}x {bound}",
        )
        if dtype == np.float64:
            sklearn_full = _minimum(
                repeats, workloads.seconds_per_iteration, "sklearn", X, n_components, "full"
            )
            _row(
                "  the same, scikit-learn's 'full'",
                sklearn_full,
                seconds["factor"],
                sklearn_full / seconds["factor"],
                FACTOR_TARGETS["over full"],
            )
    if workloads.QUICK:
        return  # the memory row always uses the full-size W5
    megabytes = workloads.peak_factor_fit_memory() / 2**20
    met = "yes" if megabytes <= MEMORY_TARGET_MB else "no"
    print(
        f"{'W5 default fit, peak over the data':<40}{'':>14}{megabytes:>12.1f}MB"
        f"{'':>9}{'<=' + str(int(MEMORY_TARGET_MB)):>7}MB {met}",
        flush=True,
    )


def thread_rows(repeats):
    import numba

    n_threads = numba.get_num_threads()
    print(f"{'threads (fastgmm)':<40}{'1 thread':>14}{f'{n_threads} threads':>14}")
    n_samples, n_features, n_components, covariance_type = workloads.workload("W2")
    X = workloads.make_data(n_samples, n_features, n_components)
    workloads.warm_up(X, n_components, covariance_type)
    seconds = {
        t: _median(
            repeats, workloads.seconds_per_iteration_on_threads, X, n_components, covariance_type, t
        )
        for t in (1, n_threads)
    }
    _row(
        "W2 s/iter", seconds[1], seconds[n_threads], seconds[1] / seconds[n_threads], THREADS_TARGET
    )


def predict_rows(repeats):
    print(f"{'scoring W2 data (same parameters)':<40}{'sklearn':>14}{'fastgmm':>14}")
    n_samples, n_features, n_components, covariance_type = workloads.workload("W2")
    X = workloads.make_data(n_samples, n_features, n_components)
    models = {
        rival: workloads.fitted_model(rival, X, n_components, covariance_type)
        for rival in ("sklearn", "fastgmm")
    }
    for method in ("predict_proba", "score_samples"):
        seconds = {
            rival: _median(repeats, workloads.method_seconds, model, method, X)
            for rival, model in models.items()
        }
        _row(
            method,
            seconds["sklearn"],
            seconds["fastgmm"],
            seconds["sklearn"] / seconds["fastgmm"],
            PREDICT_TARGET,
        )


def missing_rows(repeats):
    """fastgmm's seconds per W2 iteration with ``missing_values='marginalize'``: the complete
    data and each of ``workloads.MISSING_PATTERNS``, measured in turn within each repeat (the
    machine's noise hits them alike), minimum of ``repeats``; lower ratios are better."""
    X, n_components, covariance_type = workloads.workload_arguments("W2")
    data = {"complete": X}
    data.update((pattern, workloads.with_missing(X, pattern)) for pattern in MISSING_TARGETS)
    options = {"missing_values": "marginalize"}
    for X_pattern in data.values():
        workloads.warm_up(X_pattern, n_components, covariance_type, options=options)
    times = {pattern: [] for pattern in data}
    for _ in range(repeats):
        for pattern, X_pattern in data.items():
            times[pattern].append(
                workloads.seconds_per_iteration(
                    "fastgmm", X_pattern, n_components, covariance_type, options=options
                )
            )
    seconds = {pattern: min(values) for pattern, values in times.items()}
    n_samples, n_features = X.shape
    print(
        f"{'missing values, W2 s/iter (fastgmm)':<40}{'complete':>14}{'missing':>14}"
        f"{'ratio':>9}{'target':>8}  met"
    )
    for pattern, target in MISSING_TARGETS.items():
        ratio = seconds[pattern] / seconds["complete"]
        met = "yes" if ratio <= target else "no"
        label = f"{pattern} N={n_samples} D={n_features} K={n_components}"
        print(
            f"{label:<40}{seconds['complete']:>12.4f}s {seconds[pattern]:>12.4f}s "
            f"{ratio:>8.2f}x{'<=' + format(target, '.1f'):>7}x  {met}",
            flush=True,
        )


def bayesian_rows(repeats, memory=True):
    """BayesianGaussianMixture against scikit-learn's: s/iter on the W2 and W3 shapes, and
    the peak memory of a W2-shaped fit."""
    print(
        f"{'BayesianGaussianMixture s/iter':<40}{'sklearn':>14}{'fastgmm':>14}{'ratio':>9}"
        f"{'target':>8}  met"
    )
    model = "BayesianGaussianMixture"
    for name in ("W2", "W3"):
        n_samples, n_features, n_components, covariance_type = workloads.workload(name)
        X = workloads.make_data(n_samples, n_features, n_components)
        workloads.warm_up(X, n_components, covariance_type, model=model)
        args = (X, n_components, covariance_type, model)
        ours = _median(repeats, workloads.seconds_per_iteration, "fastgmm", *args)
        theirs = _median(repeats, workloads.seconds_per_iteration, "sklearn", *args)
        label = f"{name} shape, {covariance_type}"
        _row(label, theirs, ours, theirs / ours, BAYESIAN_TARGETS[name])
    if memory:
        memory_rows(model, "W2-shaped fit (+MB)")


def memory_rows(model="GaussianMixture", label="W2 (+MB)"):
    """The peak memory a W2 fit of ``model`` adds over its data, each rival in a new process."""
    if model == "GaussianMixture":
        print(
            f"{'peak memory over the data, W2 fit':<40}{'sklearn':>14}{'fastgmm':>14}"
            f"{'':>9}{'target':>8}  met"
        )
    megabytes = {
        rival: workloads.peak_fit_memory(rival, "W2", model=model) / 2**20
        for rival in ("sklearn", "fastgmm")
    }
    met = "yes" if megabytes["fastgmm"] <= MEMORY_TARGET_MB else "no"
    print(
        f"{label:<40}{megabytes['sklearn']:>12.1f}MB{megabytes['fastgmm']:>12.1f}MB"
        f"{'':>9}{'<=' + str(int(MEMORY_TARGET_MB)):>7}MB {met}",
        flush=True,
    )


def dask_rows(repeats):
    n_samples, n_features, n_components, covariance_type, dtype = workloads.scale_workload("DASK")
    X = workloads.make_data(n_samples, n_features, n_components, np.dtype(dtype))
    workloads.warm_up(X, n_components, covariance_type)
    cluster, client = workloads.local_cluster()
    try:
        X_dask = workloads.dask_data(X)
        workloads.fit_seconds("fastgmm", X_dask, n_components, covariance_type, max_iter=1)
        seconds = {
            name: _median(
                repeats,
                workloads.seconds_per_iteration,
                "fastgmm",
                data,
                n_components,
                covariance_type,
            )
            for name, data in (("in-memory", X), ("dask", X_dask))
        }
    finally:
        client.close()
        cluster.close()
    print(
        f"{'Dask, LocalCluster 2 processes x 1 thread':<40}{'in memory':>14}{'Dask':>14}"
        f"{'overhead':>13}"
    )
    label = f"N={n_samples} D={n_features} K={n_components}, {workloads.DASK_CHUNKS} chunks"
    print(
        f"{label:<40}{seconds['in-memory']:>12.4f}s {seconds['dask']:>12.4f}s "
        f"{seconds['dask'] - seconds['in-memory']:>+10.4f}s/iter",
        flush=True,
    )


def memmap_rows(repeats):
    n_samples, n_features, n_components, covariance_type, dtype = workloads.scale_workload("MEMMAP")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.npy")
        workloads.write_data_file(path, n_samples, n_features, n_components, np.dtype(dtype))
        growth = workloads.memmap_fit_rss_anon(path, n_components, covariance_type)
        seconds = {}
        for name, mmap_mode in (("memory-mapped", "r"), ("in-memory", None)):
            X = np.load(path, mmap_mode=mmap_mode)
            workloads.warm_up(X, n_components, covariance_type)
            seconds[name] = _median(
                repeats,
                workloads.seconds_per_iteration,
                "fastgmm",
                X,
                n_components,
                covariance_type,
            )
    print(f"{'memory-mapped .npy file (fastgmm)':<40}{'in memory':>14}{'mapped':>14}")
    label = f"N={n_samples} D={n_features} K={n_components} {dtype} s/iter"
    print(
        f"{label:<40}{seconds['in-memory']:>12.4f}s {seconds['memory-mapped']:>12.4f}s", flush=True
    )
    fraction = growth / X.nbytes
    met = "yes" if fraction <= RSS_ANON_TARGET else "no"
    print(
        f"{'peak RssAnon of the fit over the data':<40}{X.nbytes / 2**20:>12.1f}MB"
        f"{growth / 2**20:>12.1f}MB{fraction:>8.3f}x{'<=' + str(RSS_ANON_TARGET):>7}x"
        f"  {met}",
        flush=True,
    )


def _passes(n):
    return f"{n} pass" + ("" if n == 1 else "es")


def online_rows(repeats):
    """Mini-batch (stepwise) EM against batch EM on a memory-mapped float32 file, for each
    data set of ``workloads.ONLINE_SEPARATIONS``: batch EM with the default options to
    convergence (seconds T, score L*), mini-batch EM after 1 and after 2 passes (each its own
    fit from the same start), and one pass of ``partial_fit``; every score is ``model.score``
    on the whole file, every time the median of ``repeats`` (the fits measured in turn within
    each repeat). Mini-batch EM's time to L* - 1e-3 is that of the fewest passes that reach
    it; target: at most 2 passes and 0.75 T. The speed-up on overlapping components against
    separated ones is printed last."""
    print(
        f"{'mini-batch EM, memory-mapped file':<44}{'seconds':>12}{'score':>12}{'- L*':>11}"
        f"{'x T':>8}{'target':>12}  met"
    )
    speed_ups = {}
    with tempfile.TemporaryDirectory() as folder:
        for data in workloads.ONLINE_SEPARATIONS:
            path = os.path.join(folder, f"{data}.npy")
            workloads.write_online_file(path, data)
            speed_ups[data] = _online_data_set_rows(data, path, repeats)
            os.remove(path)
    if None not in speed_ups.values():
        tol = workloads.ONLINE_TOLERANCE
        print(
            f"mini-batch EM's speed-up to L* - {tol:g}: {speed_ups['overlapping']:.2f}x on "
            f"overlapping components, {speed_ups['separated']:.2f}x on separated ones "
            f"({speed_ups['overlapping'] / speed_ups['separated']:.1f} times the gain)",
            flush=True,
        )


def _online_data_set_rows(data, path, repeats):
    """``online_rows`` of one data set (its file at ``path``); returns mini-batch EM's
    speed-up T / (its time to L* - 1e-3), or None if 2 passes do not reach it."""
    n_samples, n_features, n_components, covariance_type, dtype, batch_size = (
        workloads.online_workload()
    )
    tol, passes = workloads.ONLINE_TOLERANCE, range(1, workloads.ONLINE_MAX_PASSES + 1)
    X = np.load(path, mmap_mode="r")
    args = (X, n_components, covariance_type, batch_size)
    workloads.warm_up_online(*args)
    fits = {"batch EM": ("batch EM", None)}
    fits.update((n, ("mini-batch EM", n)) for n in passes)
    fits["partial_fit"] = ("partial_fit", None)
    times, models = {name: [] for name in fits}, {}
    for _ in range(repeats):
        for name, (fit, n_passes) in fits.items():
            seconds, models[name] = workloads.online_fit(fit, *args, passes=n_passes)
            times[name].append(seconds)
    seconds = {name: float(np.median(values)) for name, values in times.items()}
    scores = {name: model.score(X) for name, model in models.items()}
    batch, best, T = models["batch EM"], scores["batch EM"], seconds["batch EM"]
    # Batch EM's lower_bounds_[i] is the score after i iterations (0: the start).
    within = next(
        (i for i, value in enumerate(batch.lower_bounds_) if value >= best - tol),
        batch.n_iter_,
    )
    separation = workloads.ONLINE_SEPARATIONS[data]
    print(
        f"{data}: N={n_samples} D={n_features} K={n_components} {covariance_type} {dtype}, "
        f"centres' scale {separation:g}, batch_size={batch_size}",
        flush=True,
    )
    print(
        f"  {f'batch EM to convergence ({batch.n_iter_} it.)':<42}{T:>11.4f}s{best:>12.5f}"
        f"{'(L*)':>11}{1.0:>7.2f}x   within {tol:g} of L* after {within} it.",
        flush=True,
    )

    def line(label, name, suffix=""):
        print(
            f"  {label:<42}{seconds[name]:>11.4f}s{scores[name]:>12.5f}"
            f"{scores[name] - best:>+11.1e}{seconds[name] / T:>7.2f}x{suffix}",
            flush=True,
        )

    for n in passes:
        line(f"mini-batch EM, {_passes(n)}", n)
    reached = next((n for n in passes if scores[n] >= best - tol), None)
    speed_up = None
    if reached is None:
        label = f"not at L* - {tol:g} in {_passes(passes[-1])}"
        print(f"  {label:<42}{'':>43}{'x T<=0.75':>12}  no", flush=True)
    else:
        ratio = seconds[reached] / T
        speed_up = 1.0 / ratio
        met = "yes" if ratio <= 0.75 else "no"
        label = f"mini-batch EM to L* - {tol:g}: {_passes(reached)}"
        print(
            f"  {label:<42}{seconds[reached]:>11.4f}s{'':>23}{ratio:>7.2f}x{'x T<=0.75':>12}"
            f"  {met}   speed-up {speed_up:.2f}x",
            flush=True,
        )
    met = "yes" if scores["partial_fit"] >= best - tol else "no"
    line(
        f"partial_fit, {workloads.PARTIAL_FIT_ROWS} rows a call, 1 pass",
        "partial_fit",
        f"{'-L*>=-' + format(tol, 'g'):>12}  {met}",
    )
    return speed_up


# The options that print one group of rows only (none of them the EM-iteration rows).
ONLY_OPTIONS = (
    "scale_only",
    "bayesian_only",
    "start_only",
    "missing_only",
    "factor_only",
    "online_only",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", default=list(workloads.WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--no-extras", action="store_true", help="only the EM-iteration rows")
    parser.add_argument(
        "--scale-only", action="store_true", help="only the Dask and memory-mapped rows"
    )
    parser.add_argument(
        "--bayesian-only", action="store_true", help="only the BayesianGaussianMixture rows"
    )
    parser.add_argument(
        "--start-only",
        action="store_true",
        help="only the whole-fit (start and EM) and first-call rows",
    )
    parser.add_argument(
        "--missing-only", action="store_true", help="only the missing-values (W2) rows"
    )
    parser.add_argument(
        "--factor-only",
        action="store_true",
        help="only the W5 rows (mixtures of factor analysers against 'full')",
    )
    parser.add_argument(
        "--online-only",
        action="store_true",
        help="only the mini-batch EM rows (batch EM, mini-batch EM, partial_fit)",
    )
    parser.add_argument(
        "--json",
        metavar="PATH",
        help="also write the EM-iteration rows (seconds, the machine's limit) to PATH as JSON",
    )
    args = parser.parse_args(argv)
    only = [name for name in ONLY_OPTIONS if getattr(args, name)]
    if args.json and only:
        parser.error(
            f"--json writes the EM-iteration rows, which --{only[0].replace('_', '-')} leaves out"
        )
    if args.quick:
        workloads.QUICK = True

    import numba
    import sklearn

    import fastgmm  # noqa: F401  (before Numba starts its threads: fastgmm picks the layer)

    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, numba threads "
        f"{numba.get_num_threads()}; numpy {np.__version__}, numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    print(f"machine: {machine}")
    if args.bayesian_only:
        bayesian_rows(args.repeats, memory=not args.quick)
        return
    if args.start_only:
        whole_fit_rows(list(WHOLE_FIT_TARGETS), args.repeats)
        first_call_rows(args.repeats)
        return
    if args.missing_only:
        missing_rows(args.repeats)
        return
    if args.online_only:
        online_rows(args.repeats)
        return
    if args.factor_only:
        factor_rows(args.repeats)
        return
    records = []
    if not args.scale_only:
        records = iteration_rows(args.workloads, args.repeats)
    if not (args.no_extras or args.scale_only):
        whole_fit_rows(list(WHOLE_FIT_TARGETS), args.repeats)
        first_call_rows(args.repeats)
        float32_rows(args.repeats)
        thread_rows(args.repeats)
        predict_rows(args.repeats)
        missing_rows(args.repeats)
        factor_rows(args.repeats)
        if not args.quick:  # the memory rows always use the full-size W2
            memory_rows()
        bayesian_rows(args.repeats, memory=not args.quick)
    if not args.no_extras:
        dask_rows(args.repeats)
        memmap_rows(args.repeats)
    if not (args.no_extras or args.scale_only):
        online_rows(args.repeats)
    print(f"Numba threading layer: {numba.threading_layer()}")
    if _PEAKS:
        peaks = ", ".join(f"{np.dtype(t).name} {p / 1e9:.0f}" for t, p in _PEAKS.items())
        print(
            f"matmul peak (GFLOP/s), measured in this run: {peaks}; bandwidth measured per "
            "workload on its own array (benchmarks/roofline.py)"
        )
    if args.json:
        _write_json(args.json, records, machine, repeats=args.repeats)


def _write_json(path, records, machine, repeats):
    """The EM-iteration ``records`` of this run, with the machine and the date, as JSON at
    ``path``."""
    import datetime
    import json

    document = {
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "repeats": repeats,
        "statistic": "minimum",
        "iterations": records,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()
