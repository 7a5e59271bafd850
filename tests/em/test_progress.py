"""progress=True (the line on stderr), callback= (called after every iteration, may stop the
fit) and lower_bounds_ (every iteration's lower bound), for both estimators and fastgmm.fit."""

import math
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import BayesianGaussianMixture, ConvergenceWarning, GaussianMixture
from fastgmm.em import progress as em_progress
from fastgmm.em.progress import IterationInfo, ProgressLine

import _references as ref
from _helpers import fit_quietly

X = ref.make_blobs(400, 2, 3, seed=5)


class Estimator:
    """``fit`` through an estimator class or through ``fastgmm.fit``, with the outcome read
    the same way (``lower_bounds``, ``lower_bound``, ``n_iter``, ``converged``, ``means``)."""

    def __init__(self, kind):
        self.kind = kind

    def fit(self, X, n_components, **options):
        if self.kind == "fit":
            result = fastgmm.fit(X, n_components, **options)
            return dict(
                lower_bounds=list(result.lower_bounds),
                lower_bound=result.lower_bound,
                n_iter=result.n_iter,
                converged=result.converged,
                means=result.means,
            )
        cls = GaussianMixture if self.kind == "GaussianMixture" else BayesianGaussianMixture
        model = cls(n_components, **options).fit(X)
        assert isinstance(model.lower_bounds_, list)  # scikit-learn's type
        return dict(
            lower_bounds=model.lower_bounds_,
            lower_bound=model.lower_bound_,
            n_iter=model.n_iter_,
            converged=model.converged_,
            means=model.means_,
        )


KINDS = ["GaussianMixture", "BayesianGaussianMixture", "fit"]


@pytest.fixture(params=KINDS)
def estimator(request):
    return Estimator(request.param)


# -- callback and lower_bounds_ --------------------------------------------------------------


def test_callback_sees_every_iteration_in_order_with_the_recorded_lower_bounds(estimator):
    seen = []
    fitted = estimator.fit(X, 3, tol=1e-8, max_iter=300, random_state=0, callback=seen.append)
    assert fitted["converged"] and fitted["n_iter"] > 2
    assert all(isinstance(info, IterationInfo) for info in seen)
    assert [info.n_iter for info in seen] == list(range(1, fitted["n_iter"] + 1))
    assert {info.init for info in seen} == {0}
    bounds = [info.lower_bound for info in seen]
    assert bounds == fitted["lower_bounds"]  # exactly the values the loop computed
    assert fitted["lower_bounds"][-1] == fitted["lower_bound"]
    assert seen[0].change == math.inf
    assert [info.change for info in seen[1:]] == list(np.diff(bounds))
    assert [info.converged for info in seen] == [False] * (len(seen) - 1) + [True]
    assert abs(seen[-1].change) < 1e-8
    elapsed = [info.elapsed_seconds for info in seen]
    assert elapsed[0] > 0 and elapsed == sorted(elapsed)


def test_with_restarts_the_callback_sees_every_run_and_lower_bounds_is_the_best_ones():
    seen = []
    model = GaussianMixture(
        3, n_init=3, init_params="random", tol=1e-6, random_state=2, callback=seen.append
    ).fit(X)
    assert [info.init for info in seen] == sorted(info.init for info in seen)
    runs = [[i for i in seen if i.init == init] for init in range(3)]
    for run in runs:
        assert [i.n_iter for i in run] == list(range(1, len(run) + 1))
    finals = [run[-1].lower_bound for run in runs]
    best = finals.index(max(finals))  # the first of the highest, as scikit-learn
    assert model.lower_bounds_ == [i.lower_bound for i in runs[best]]
    assert model.lower_bound_ == model.lower_bounds_[-1] == max(finals)
    assert model.n_iter_ == len(runs[best])


@pytest.mark.parametrize("kind", KINDS)
def test_returning_true_stops_at_that_iteration_without_a_warning(kind):
    estimator = Estimator(kind)
    seen = []

    def stop_at_three(info):
        seen.append(info.n_iter)
        return info.n_iter == 3

    options = dict(tol=0.0, random_state=0)  # tol=0: never converges by itself
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stop asked for is no ConvergenceWarning
        stopped = estimator.fit(X, 3, max_iter=50, callback=stop_at_three, **options)
    assert seen == [1, 2, 3]
    assert stopped["n_iter"] == 3 and not stopped["converged"]
    assert len(stopped["lower_bounds"]) == 3
    assert stopped["lower_bounds"][-1] == stopped["lower_bound"]
    # The parameters of that iteration: those of a fit that ran 3 iterations (which warns).
    with pytest.warns(ConvergenceWarning):
        three = estimator.fit(X, 3, max_iter=3, **options)
    assert_array_equal(stopped["means"], three["means"])
    assert stopped["lower_bounds"] == three["lower_bounds"]


@pytest.mark.parametrize("stop_at", [1, 4])
def test_a_stop_ends_all_restarts_and_keeps_the_best_run_so_far(stop_at):
    seen = []

    def stop_in_the_second_run(info):
        seen.append(info)
        return info.init == 1 and info.n_iter == stop_at

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GaussianMixture(
            3,
            n_init=4,
            tol=0.0,
            max_iter=4,
            init_params="random",
            random_state=1,
            callback=stop_in_the_second_run,
        ).fit(X)
    assert [(i.init, i.n_iter) for i in seen] == [(0, n) for n in range(1, 5)] + [
        (1, n) for n in range(1, stop_at + 1)
    ]
    runs = [[i.lower_bound for i in seen if i.init == init] for init in (0, 1)]
    kept = runs[1] if runs[1][-1] > runs[0][-1] else runs[0]  # scikit-learn's rule
    assert model.lower_bounds_ == kept and model.n_iter_ == len(kept)
    assert not model.converged_


def test_an_exception_in_the_callback_propagates(estimator, capfd, monkeypatch):
    class Budget(Exception):
        pass

    def callback(info):
        if info.n_iter == 2:
            raise Budget("out of time")

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(em_progress, "TERMINAL_INTERVAL", math.inf)
    with pytest.raises(Budget, match="out of time"):
        estimator.fit(X, 3, tol=0.0, random_state=0, callback=callback, progress=True)
    err = capfd.readouterr().err
    assert err.startswith("\rfastgmm: init 1/1 (kmeans)") and "initialising" in err
    assert err.endswith("initialising\n")  # the open line is ended before the traceback


def test_no_callback_call_and_no_lower_bound_with_max_iter_zero(estimator):
    seen = []
    fitted = estimator.fit(X, 3, max_iter=0, random_state=0, callback=seen.append)
    assert seen == [] and fitted["lower_bounds"] == [] and fitted["n_iter"] == 0


def test_warm_start_changes_are_from_the_previous_fit():
    model = fit_quietly(X, 3, tol=0.0, max_iter=4, random_state=0, warm_start=True)
    previous = model.lower_bound_
    seen = []
    model.set_params(callback=seen.append)
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    assert [i.n_iter for i in seen] == [1, 2, 3, 4] and {i.init for i in seen} == {0}
    assert seen[0].change == seen[0].lower_bound - previous
    assert model.lower_bounds_ == [i.lower_bound for i in seen]


def test_select_n_components_forwards_progress_and_callback(capsys):
    seen = []
    selection = fastgmm.select_n_components(
        X, [2, 3], random_state=0, progress=True, callback=seen.append
    )
    assert len(seen) == sum(c.n_iter for c in selection.candidates)
    err = capsys.readouterr().err
    assert "2 'full' components" in err and "3 'full' components" in err
    assert err.count("fastgmm: converged, n_iter") == 2


# -- the progress line ---------------------------------------------------------------------


def progress_lines(err):
    assert "\r" not in err and err.endswith("\n")
    return err.splitlines()


@pytest.mark.parametrize("kind", ["GaussianMixture", "BayesianGaussianMixture"])
def test_progress_off_a_terminal_writes_throttled_lines(kind, capfd, monkeypatch):
    cls = GaussianMixture if kind == "GaussianMixture" else BayesianGaussianMixture
    monkeypatch.setattr(em_progress, "LOG_INTERVAL", math.inf)  # only what is always shown
    model = cls(3, n_init=2, tol=1e-6, random_state=0, progress=True).fit(X)
    captured = capfd.readouterr()
    assert captured.out == ""  # stderr only; verbose's stdout is untouched
    lines = progress_lines(captured.err)
    assert len(lines) == 5, lines  # per init: the start and its last iteration; the summary
    assert lines[0] == "fastgmm: init 1/2 (kmeans), 3 'full' components: initialising"
    assert lines[2].startswith("fastgmm: init 2/2 (kmeans), 3 'full' components")
    assert lines[1].startswith("fastgmm: init 1/2 (kmeans) iter ") and lines[1].endswith(
        ", converged"
    )
    assert " ms/iter, " in lines[1] or " s/iter, " in lines[1]
    summary = f"fastgmm: converged, n_iter {model.n_iter_}, best of 2 inits: init "
    assert lines[4].startswith(summary) and lines[4].endswith(" s")
    kept = int(lines[4][len(summary)])  # from 1
    assert f"iter {model.n_iter_}/100 lower bound {model.lower_bound_:.8g} " in lines[2 * kept - 1]


def test_progress_off_a_terminal_every_iteration_when_not_throttled(capfd, monkeypatch):
    monkeypatch.setattr(em_progress, "LOG_INTERVAL", 0.0)
    with pytest.warns(ConvergenceWarning):
        model = GaussianMixture(3, max_iter=6, tol=0.0, random_state=0, progress=True).fit(X)
    lines = progress_lines(capfd.readouterr().err)
    iterations = [line for line in lines if " iter " in line]
    assert len(iterations) == 6
    for n, (line, bound) in enumerate(zip(iterations, model.lower_bounds_), start=1):
        assert f"iter {n}/6 lower bound {bound:.8g} change " in line
    assert iterations[0].split(" change ")[1].startswith("+inf")
    assert iterations[-1].endswith(", max_iter reached")
    assert lines[-1].startswith("fastgmm: did not converge, n_iter 6, ")


def test_progress_on_a_terminal_rewrites_one_line_per_init(capfd, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(em_progress, "TERMINAL_INTERVAL", 0.0)
    monkeypatch.setenv("COLUMNS", "500")
    fastgmm.fit(
        X,
        3,
        n_init=2,
        tol=0.0,
        max_iter=5,
        random_state=0,
        progress=True,
        callback=lambda info: info.init == 1 and info.n_iter == 4,
    )
    err = capfd.readouterr().err
    lines = err.split("\n")
    assert lines[-1] == "" and len(lines) == 4  # two inits, the summary, each ended once
    first, second, summary = lines[:3]
    updates = first.split("\r")
    assert updates[0] == "" and len(updates) == 1 + 1 + 5  # 'initialising', 5 iterations
    assert updates[1].startswith("fastgmm: init 1/2 (kmeans), 3 'full' components: init")
    for n, update in enumerate(updates[2:], start=1):
        assert update.startswith(f"fastgmm: init 1/2 (kmeans) iter {n}/5 lower bound ")
    assert updates[-1].endswith(", max_iter reached")
    last = second.split("\r")[-1]
    assert last.startswith("fastgmm: init 2/2 (kmeans) iter 4/5 ")
    assert last.endswith(", stopped by callback")
    assert summary.startswith("\rfastgmm: stopped by callback, n_iter ")


def test_on_a_terminal_the_line_is_cut_to_its_width(capfd, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "40")
    line = ProgressLine("3 'full' components", 1, 100)
    line.init_begins(0, "kmeans")
    line.iteration_ends(100, -1.5, 1e-3, 0.001, "max_iter reached")
    updates = capfd.readouterr().err.split("\r")[1:]
    assert [len(update.rstrip("\n")) for update in updates] == [39, 39]
    assert updates[1] == "fastgmm: init 1/1 (kmeans) iter 100/100\n"


def test_a_shorter_update_blanks_the_rest_of_the_line(capfd, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(em_progress, "TERMINAL_INTERVAL", 0.0)
    monkeypatch.setenv("COLUMNS", "200")
    line = ProgressLine("a description long enough to be longer than an update", 1, 10)
    line.init_begins(0, "kmeans")
    line.iteration_ends(1, -1.5, math.inf, 0.001)
    line.init_ends()
    first, second = capfd.readouterr().err.split("\r")[1:]
    assert len(second.rstrip("\n")) == len(first) and second.rstrip("\n").endswith(" ")
    assert second.endswith("\n")


def test_progress_off_writes_nothing(capfd):
    GaussianMixture(3, random_state=0).fit(X)
    BayesianGaussianMixture(3, random_state=0).fit(X)
    assert capfd.readouterr().err == ""


def test_progress_is_safe_without_a_stderr(monkeypatch):
    monkeypatch.setattr(sys, "stderr", None)  # pythonw, some services
    model = GaussianMixture(3, random_state=0, progress=True).fit(X)
    assert model.converged_


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "options, message",
    [
        (dict(progress="yes"), "'progress' parameter must be a bool, got 'yes'"),
        (dict(progress=1), "'progress' parameter must be a bool, got 1"),
        (dict(callback=3), "'callback' parameter must be None or a callable .* got 3 of type int"),
        (dict(callback="print"), "got 'print' of type str"),
    ],
)
def test_bad_progress_and_callback_values_raise(kind, options, message):
    with pytest.raises(fastgmm.InvalidParameterError, match=message) as raised:
        Estimator(kind).fit(X, 3, **options)
    assert isinstance(raised.value, TypeError)  # and a ValueError, as scikit-learn's


def test_the_parameters_are_constructor_parameters():
    def callback(info):
        return False

    for cls in (GaussianMixture, BayesianGaussianMixture):
        model = cls(3, progress=True, callback=callback)
        params = model.get_params()
        assert params["progress"] is True and params["callback"] is callback
        assert "progress=True" in repr(model) and "callback=" in repr(model)
        assert "progress" not in repr(cls(3)) and "callback" not in repr(cls(3))
        assert model.set_params(progress=False).progress is False
