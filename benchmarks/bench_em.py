"""asv: fastgmm's own throughput, memory and first-call time on the workloads.

Only fastgmm runs here, so that ``asv continuous`` between two commits flags fastgmm's
regressions and never the rivals' timing noise; scikit-learn's and scipy's timings of the
same workloads are in ``bench_rivals.py``.  Set FASTGMM_BENCH_QUICK=1 for tiny sizes
(CI smoke runs).
"""

import numpy as np

from .roofline import iteration_limit
from .workloads import (
    MISSING_PATTERNS,
    MODELS,
    QUICK,
    default_fit_seconds,
    factor_workload,
    first_fit_seconds,
    fit_seconds,
    fitted_model,
    make_data,
    seconds_per_iteration,
    seconds_per_iteration_on_threads,
    warm_up,
    with_missing,
    workload,
    workload_arguments,
)

WORKLOAD_NAMES = ["W1", "W2", "W3", "W4", "W2-tied", "W2-spherical"]


class EMIteration:
    """Seconds per EM iteration on the workloads (benchmarks/README.md), float64 and float32."""

    params = (WORKLOAD_NAMES, ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 600
    unit = "seconds"

    def setup(self, name, dtype):
        self.args = workload_arguments(name, dtype)
        warm_up(*self.args)

    def track_seconds_per_iteration(self, name, dtype):
        return seconds_per_iteration("fastgmm", *self.args)

    track_seconds_per_iteration.unit = "seconds"


class FactorIteration:
    """W5: seconds per EM iteration of covariance_type='factor' (and of 'full' on the same
    data, for the ratio compare.py reports), float64 and float32."""

    params = (["factor", "full"], ["float64", "float32"])
    param_names = ["covariance_type", "dtype"]
    timeout = 900
    unit = "seconds"

    def setup(self, covariance_type, dtype):
        n_samples, n_features, n_components, n_factors = factor_workload()
        X = make_data(n_samples, n_features, n_components, np.dtype(dtype))
        self.options = {"n_factors": n_factors} if covariance_type == "factor" else None
        self.args = (X, n_components, covariance_type)
        warm_up(*self.args, options=self.options)

    def track_seconds_per_iteration(self, covariance_type, dtype):
        return seconds_per_iteration("fastgmm", *self.args, options=self.options)

    track_seconds_per_iteration.unit = "seconds"


class WholeFit:
    """A default fit to convergence (k-means start), and its start alone: the same fit with
    ``max_iter=0`` (initialisation and fixed costs; ``workloads.whole_fit``)."""

    params = (["W2", "W4", "W2-tied"], ["fastgmm"])  # bench_rivals.py: the rivals
    param_names = ["workload", "rival"]
    timeout = 900

    def setup(self, name, rival):
        self.args = workload_arguments(name, "float64")
        if rival == "fastgmm":
            warm_up(*self.args, init_params="kmeans")

    def track_start_seconds(self, name, rival):
        return default_fit_seconds(rival, *self.args, max_iter=0)[0]

    track_start_seconds.unit = "seconds"

    def track_total_seconds(self, name, rival):
        return default_fit_seconds(rival, *self.args)[0]

    track_total_seconds.unit = "seconds"


class Roofline:
    """fastgmm's seconds per EM iteration as a multiple of the machine's limit for it
    (``roofline.py``: bandwidth and matmul peak measured in the same benchmark)."""

    params = (WORKLOAD_NAMES, ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 600

    def setup(self, name, dtype):
        self.args = workload_arguments(name, dtype)
        warm_up(*self.args)

    def track_multiple_of_limit(self, name, dtype):
        seconds = seconds_per_iteration("fastgmm", *self.args)
        limit, _ = iteration_limit(*self.args)
        return seconds / limit

    track_multiple_of_limit.unit = "x limit"


class BayesianIteration:
    """Seconds per iteration of BayesianGaussianMixture on the W2 and W3 shapes."""

    params = (["W2", "W3"], ["fastgmm"])  # bench_rivals.py: the rivals
    param_names = ["workload", "rival"]
    timeout = 600
    unit = "seconds"

    def setup(self, name, rival):
        n_samples, n_features, n_components, covariance_type = workload(name)
        self.args = (
            make_data(n_samples, n_features, n_components),
            n_components,
            covariance_type,
            "BayesianGaussianMixture",
        )
        if rival == "fastgmm":
            warm_up(*self.args[:3], model="BayesianGaussianMixture")

    def track_seconds_per_iteration(self, name, rival):
        return seconds_per_iteration(rival, *self.args)

    track_seconds_per_iteration.unit = "seconds"


class ScoreSamples:
    """Per-row log-likelihood of a fitted W2-shaped model: fastgmm, sklearn and scipy."""

    params = (["fastgmm"],)  # bench_rivals.py: the rivals
    param_names = ["rival"]

    def setup(self, rival):
        from fastgmm import GaussianMixture

        n_samples, n_features, n_components, _ = workload("W2")
        self.X = make_data(n_samples, n_features, n_components)
        self.model = GaussianMixture(n_components, max_iter=3, random_state=0).fit(self.X[:20_000])
        if rival == "sklearn":
            from sklearn.mixture import GaussianMixture as SkGaussianMixture

            sk = SkGaussianMixture(n_components)
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                setattr(sk, name, getattr(self.model, name))
            sk.n_features_in_ = n_features
            self.model = sk
        self.model.score_samples(self.X[:100])  # warm up

    def time_score_samples(self, rival):
        if rival == "scipy":
            from scipy.special import logsumexp
            from scipy.stats import multivariate_normal

            m = self.model
            logsumexp(
                np.stack(
                    [
                        np.log(w) + multivariate_normal(mu, cov).logpdf(self.X)
                        for w, mu, cov in zip(m.weights_, m.means_, m.covariances_)
                    ],
                    axis=1,
                ),
                axis=1,
            )
        else:
            self.model.score_samples(self.X)


class PredictProba:
    """Responsibilities of every W2 row under the same parameters, fastgmm and sklearn."""

    params = (["fastgmm"],)  # bench_rivals.py: the rivals
    param_names = ["rival"]

    def setup(self, rival):
        n_samples, n_features, n_components, covariance_type = workload("W2")
        self.X = make_data(n_samples, n_features, n_components)
        self.model = fitted_model(rival, self.X, n_components, covariance_type)
        self.model.predict_proba(self.X[:100])  # warm up

    def time_predict_proba(self, rival):
        self.model.predict_proba(self.X)


class Threads:
    """fastgmm's seconds per W2 iteration on 1 and 2 Numba threads."""

    params = ([1, 2],)
    param_names = ["threads"]
    timeout = 600
    unit = "seconds"

    def setup(self, threads):
        n_samples, n_features, n_components, covariance_type = workload("W2")
        self.args = (make_data(n_samples, n_features, n_components), n_components, covariance_type)
        warm_up(*self.args)

    def track_seconds_per_iteration(self, threads):
        return seconds_per_iteration_on_threads(*self.args, threads)

    track_seconds_per_iteration.unit = "seconds"


class MissingValues:
    """fastgmm's seconds per W2 iteration with ``missing_values='marginalize'``: the complete
    data (the ordinary path), 10% of the values missing at random and 1% of the rows missing
    one value (``workloads.MISSING_PATTERNS``)."""

    params = (["complete", *MISSING_PATTERNS],)
    param_names = ["pattern"]
    timeout = 600
    unit = "seconds"
    options = {"missing_values": "marginalize"}

    def setup(self, pattern):
        X, n_components, covariance_type = workload_arguments("W2")
        if pattern != "complete":
            X = with_missing(X, pattern)
        self.args = (X, n_components, covariance_type)
        warm_up(*self.args, options=self.options)

    def track_seconds_per_iteration(self, pattern):
        return seconds_per_iteration("fastgmm", *self.args, options=self.options)

    track_seconds_per_iteration.unit = "seconds"


class PeakMemory:
    """Peak memory of a 3-iteration W2(-shaped) fit of each model (the data, ~128 MB, is in
    the baseline of both rivals)."""

    params = (["fastgmm"], list(MODELS))  # bench_rivals.py: the rivals
    param_names = ["rival", "model"]
    timeout = 600

    def setup(self, rival, model):
        n_samples, n_features, n_components, covariance_type = workload("W2")
        self.args = (make_data(n_samples, n_features, n_components), n_components, covariance_type)
        fit_seconds(rival, self.args[0][:4096], *self.args[1:], max_iter=2, model=model)  # JIT

    def peakmem_fit(self, rival, model):
        fit_seconds(rival, *self.args, max_iter=3, model=model)


class TutorialFit:
    """Fit to convergence (default options) on the EM tutorial's 1,000 points."""

    params = (["fastgmm"],)  # bench_rivals.py: the rivals
    param_names = ["rival"]

    def setup(self, rival):
        from fastgmm.cli import demo_data

        from .workloads import estimator_class

        self.X, _ = demo_data(1000)
        self.estimator = estimator_class(rival)
        self.time_fit(rival)  # JIT

    def time_fit(self, rival):
        self.estimator(3, random_state=0).fit(self.X)


class FirstFit:
    """Wall time of a new process that imports fastgmm and fits 2,000 x 3 (k-means start, EM),
    with an empty Numba cache ('cold': every kernel it runs compiles) and a warm one."""

    params = (["full", "tied", "diag", "spherical"], ["cold", "cached"])
    param_names = ["covariance_type", "cache"]
    number = 1
    repeat = 1
    timeout = 300

    def setup(self, covariance_type, cache):
        import tempfile

        if QUICK and covariance_type != "full":
            raise NotImplementedError("quick profile: 'full' only")
        self.cache_dir = tempfile.mkdtemp(prefix="fastgmm-numba-cache-")
        if cache == "cached":
            first_fit_seconds(self.cache_dir, [covariance_type])

    def teardown(self, covariance_type, cache):
        import shutil

        if hasattr(self, "cache_dir"):  # setup may have skipped this case
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def track_first_fit_seconds(self, covariance_type, cache):
        return first_fit_seconds(self.cache_dir, [covariance_type])

    track_first_fit_seconds.unit = "seconds"
