"""asv: the scale paths (benchmarks/README.md), a Dask array on a LocalCluster and a
memory-mapped file.

Set FASTGMM_BENCH_QUICK=1 for tiny sizes (CI smoke runs).
"""

import os

import numpy as np

from .workloads import (
    dask_data,
    fit_seconds,
    local_cluster,
    make_data,
    memmap_fit_rss_anon,
    scale_workload,
    seconds_per_iteration,
    warm_up,
    write_data_file,
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
