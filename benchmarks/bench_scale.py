"""asv: the scale paths (benchmarks/README.md), a Dask array on a LocalCluster and a
memory-mapped file, and mini-batch EM against batch EM on a memory-mapped file.

Set FASTGMM_BENCH_QUICK=1 for tiny sizes (CI smoke runs).
"""

import os

import numpy as np

from .workloads import (
    ONLINE_SEPARATIONS,
    dask_data,
    fit_seconds,
    local_cluster,
    make_data,
    memmap_fit_rss_anon,
    online_fit,
    online_workload,
    scale_workload,
    seconds_per_iteration,
    warm_up,
    warm_up_online,
    write_data_file,
    write_online_file,
)


class DaskIteration:
    """Seconds per EM iteration, 2M x 16 x 8 'full': a Dask array in 8 row chunks on a
    LocalCluster of 2 single-threaded worker processes, against the same data in memory."""

    params = (["dask", "in-memory"],)
    param_names = ["data"]
    timeout = 600
    unit = "seconds"

    def setup(self, data):
        n_samples, n_features, n_components, covariance_type, dtype = scale_workload("DASK")
        X = make_data(n_samples, n_features, n_components, np.dtype(dtype))
        warm_up(X, n_components, covariance_type)
        self.cluster = self.client = None
        if data == "dask":
            self.cluster, self.client = local_cluster()
            X = dask_data(X)
            fit_seconds("fastgmm", X, n_components, covariance_type, max_iter=1)  # workers' JIT
        self.args = (X, n_components, covariance_type)

    def teardown(self, data):
        if self.cluster is not None:
            self.client.close()
            self.cluster.close()

    def track_seconds_per_iteration(self, data):
        return seconds_per_iteration("fastgmm", *self.args)

    track_seconds_per_iteration.unit = "seconds"


class MemmapFit:
    """A 10M x 16 float32 .npy file fitted memory-mapped (K=8, 'full'): seconds per EM
    iteration, and the peak anonymous memory of a fit as a fraction of the data (target:
    under 0.1)."""

    timeout = 900

    def setup_cache(self):
        n_samples, n_features, n_components, _, dtype = scale_workload("MEMMAP")
        path = os.path.abspath("memmap-workload.npy")
        write_data_file(path, n_samples, n_features, n_components, np.dtype(dtype))
        return path

    def setup(self, path):
        _, _, n_components, covariance_type, _ = scale_workload("MEMMAP")
        self.X = np.load(path, mmap_mode="r")
        self.args = (self.X, n_components, covariance_type)
        warm_up(*self.args)

    def track_seconds_per_iteration(self, path):
        return seconds_per_iteration("fastgmm", *self.args)

    track_seconds_per_iteration.unit = "seconds"

    def track_rss_anon_growth_over_data(self, path):
        return memmap_fit_rss_anon(path, *self.args[1:]) / self.X.nbytes

    track_rss_anon_growth_over_data.unit = "fraction"


class _OnlineWorkload:
    """The mini-batch EM workload (benchmarks/README.md, "Mini-batch EM"): a 10M x 16
    float32 .npy file per data set, components far apart ('separated') and overlapping,
    fitted memory-mapped with K=16 'full'. One ``setup_cache`` for both subclasses (asv keys
    it on this definition): the files, and batch EM's score on each."""

    timeout = 1800

    def setup_cache(self):
        _, _, n_components, covariance_type, _, batch_size = online_workload()
        cache = {}
        for data in ONLINE_SEPARATIONS:
            path = os.path.abspath(f"online-{data}.npy")
            write_online_file(path, data)
            X = np.load(path, mmap_mode="r")
            _, model = online_fit("batch EM", X, n_components, covariance_type, batch_size)
            cache[data] = (path, model.score(X))
        return cache

    def setup(self, cache, data, fit):
        _, _, n_components, covariance_type, _, batch_size = online_workload()
        path, self.batch_score = cache[data]
        self.X = np.load(path, mmap_mode="r")
        self.args = (self.X, n_components, covariance_type, batch_size)
        warm_up_online(*self.args)


class OnlineFit(_OnlineWorkload):
    """Seconds of batch EM to convergence (default options), of mini-batch EM
    (``batch_size=100_000``, 2 passes, from the same start) and of one pass of
    ``partial_fit`` in calls of 10,000 rows. Target: mini-batch EM at most 0.75x batch EM's
    seconds on 'separated', less on 'overlapping'."""

    params = (list(ONLINE_SEPARATIONS), ["batch EM", "mini-batch EM", "partial_fit"])
    param_names = ["data", "fit"]

    def track_seconds(self, cache, data, fit):
        return online_fit(fit, *self.args)[0]

    track_seconds.unit = "seconds"


class OnlineScoreGap(_OnlineWorkload):
    """The score (mean log-likelihood) on the file of mini-batch EM after 2 passes and of
    one pass of ``partial_fit``, minus batch EM's converged score. Target: at least -1e-3."""

    params = (list(ONLINE_SEPARATIONS), ["mini-batch EM", "partial_fit"])
    param_names = ["data", "fit"]

    def track_score_gap(self, cache, data, fit):
        _, model = online_fit(fit, *self.args)
        return model.score(self.X) - self.batch_score

    track_score_gap.unit = "mean log-likelihood"
