"""asv: the rival libraries (scikit-learn, scipy) on the workloads of ``bench_em.py``.

Kept apart from fastgmm's own benchmarks so that comparing two fastgmm commits can leave
them out (``asv continuous --bench '^bench_(em|scale)'``, benchmarks/README.md): their
timings move 2-4x between runs on a shared machine whatever fastgmm does.  Each class
reuses the fastgmm benchmark of the same name with the rivals as its parameter (the
module is imported, not its classes, so asv finds each benchmark once).
"""

from . import bench_em
from .workloads import seconds_per_iteration, workload_arguments


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


class WholeFit(bench_em.WholeFit):
    params = (bench_em.WholeFit.params[0], ["sklearn"])


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
