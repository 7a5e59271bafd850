"""asv: the rival libraries (scikit-learn, scipy) on the workloads of ``bench_em.py``.

Kept apart from fastgmm's own benchmarks so that comparing two fastgmm commits can leave
them out (``asv continuous --bench '^bench_(em|scale)'``, benchmarks/README.md): their
timings move 2-4x between runs on a shared machine whatever fastgmm does.  Each class
reuses the fastgmm benchmark of the same name with the rivals as its parameter (the
module is imported, not its classes, so asv finds each benchmark once).
"""

from . import bench_em
from .workloads import seconds_per_iteration, whole_fit, workload_arguments


class EMIteration:
    """scikit-learn's seconds per EM iteration on the workloads, float64 (its float32 EM fails
    on W4 from this start: ill-defined covariance, scikit-learn #30382)."""

    params = (bench_em.WORKLOAD_NAMES,)
    param_names = ["workload"]
    timeout = 600

    def setup(self, name):
        self.args = workload_arguments(name, "float64")

    def track_seconds_per_iteration(self, name):
        return seconds_per_iteration("sklearn", *self.args)

    track_seconds_per_iteration.unit = "seconds"


class WholeFit:
    """scikit-learn's default fit to convergence: start (with fixed costs) and total."""

    params = bench_em.WholeFit.params
    param_names = bench_em.WholeFit.param_names
    timeout = 900

    def setup(self, name):
        self.args = workload_arguments(name, "float64")

    def track_start_seconds(self, name):
        return whole_fit("sklearn", *self.args)["start"]

    track_start_seconds.unit = "seconds"

    def track_total_seconds(self, name):
        return whole_fit("sklearn", *self.args)["total"]

    track_total_seconds.unit = "seconds"


class BayesianIteration(bench_em.BayesianIteration):
    params = (["W2", "W3"], ["sklearn"])


class ScoreSamples(bench_em.ScoreSamples):
    params = (["sklearn", "scipy"],)


class PredictProba(bench_em.PredictProba):
    params = (["sklearn"],)


class PeakMemory(bench_em.PeakMemory):
    params = (["sklearn"], bench_em.PeakMemory.params[1])


class TutorialFit(bench_em.TutorialFit):
    params = (["sklearn"],)
