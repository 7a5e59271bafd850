"""asv: EM throughput of fastgmm against scikit-learn (rivals are a parameter).

Set FASTGMM_BENCH_QUICK=1 for tiny sizes (CI smoke runs).
"""

import numpy as np

from .roofline import iteration_limit
from .workloads import (
    MODELS,
    QUICK,
    fit_seconds,
    fitted_model,
    make_data,
    seconds_per_iteration,
    seconds_per_iteration_on_threads,
    warm_up,
    workload,
)


class EMIteration:
    """Seconds per EM iteration on the workloads (benchmarks/README.md), float64 and float32."""

    params = (
        ["W1", "W2", "W3", "W4", "W2-tied", "W2-spherical"],
        ["float64", "float32"],
        ["fastgmm", "sklearn"],
    )
    param_names = ["workload", "dtype", "rival"]
    timeout = 600
    unit = "seconds"

    def setup(self, name, dtype, rival):
        if dtype == "float32" and rival == "sklearn":
            # float32 targets compare fastgmm with itself; sklearn's float32 EM
            # also fails on W4 from this start (ill-defined covariance, sklearn #30382).
            raise NotImplementedError("float32 is compared fastgmm against fastgmm float64")
        n_samples, n_features, n_components, covariance_type = workload(name)
        self.args = (
            make_data(n_samples, n_features, n_components, np.dtype(dtype)),
            n_components,
            covariance_type,
        )
        if rival == "fastgmm":
            warm_up(*self.args)

    def track_seconds_per_iteration(self, name, dtype, rival):
        return seconds_per_iteration(rival, *self.args)

    track_seconds_per_iteration.unit = "seconds"


class Roofline:
    """fastgmm's seconds per EM iteration as a multiple of the machine's limit for it
    (``roofline.py``: bandwidth and matmul peak measured in the same benchmark)."""

    params = (["W1", "W2", "W3", "W4", "W2-tied", "W2-spherical"], ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 600

    def setup(self, name, dtype):
        n_samples, n_features, n_components, covariance_type = workload(name)
        self.args = (
            make_data(n_samples, n_features, n_components, np.dtype(dtype)),
            n_components,
            covariance_type,
        )
        warm_up(*self.args)

    def track_multiple_of_limit(self, name, dtype):
        seconds = seconds_per_iteration("fastgmm", *self.args)
        limit, _ = iteration_limit(*self.args)
        return seconds / limit

    track_multiple_of_limit.unit = "x limit"


class BayesianIteration:
    """Seconds per iteration of BayesianGaussianMixture on the W2 and W3 shapes."""

    params = (["W2", "W3"], ["fastgmm", "sklearn"])
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

    params = (["fastgmm", "sklearn", "scipy"],)
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

    params = (["fastgmm", "sklearn"],)
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


class PeakMemory:
    """Peak memory of a 3-iteration W2(-shaped) fit of each model (the data, ~128 MB, is in
    the baseline of both rivals)."""

    params = (["fastgmm", "sklearn"], list(MODELS))
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

    params = (["fastgmm", "sklearn"],)
    param_names = ["rival"]

    def setup(self, rival):
        from fastgmm.cli import demo_data

        from .workloads import estimator_class

        self.X, _ = demo_data(1000)
        self.estimator = estimator_class(rival)
        self.time_fit(rival)  # JIT

    def time_fit(self, rival):
        self.estimator(3, random_state=0).fit(self.X)


_FIRST_FIT = """
import numpy as np, fastgmm
X = np.random.default_rng(0).normal(size=(2000, 3))
fastgmm.GaussianMixture(3, covariance_type={covariance_type!r}, random_state=0).fit(X)
"""


class FirstFit:
    """Wall time of a new process's first fit (kmeans init + EM), cold and cached kernels."""

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
            self._run(covariance_type)

    def teardown(self, covariance_type, cache):
        import shutil

        if hasattr(self, "cache_dir"):  # setup may have skipped this case
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def _run(self, covariance_type):
        import os
        import subprocess
        import sys

        env = dict(os.environ, NUMBA_CACHE_DIR=self.cache_dir)
        subprocess.run(
            [sys.executable, "-c", _FIRST_FIT.format(covariance_type=covariance_type)],
            env=env,
            check=True,
        )

    def time_first_fit(self, covariance_type, cache):
        self._run(covariance_type)
