"""Choosing the number of components (and covariance type) by an information criterion."""

from __future__ import annotations

import numbers
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from .data import validation
from .em.options import COVARIANCE_TYPE_NAMES
from .exceptions import InvalidParameterError
from .models import GaussianMixture

if TYPE_CHECKING:
    from ._typing import CovarianceType, Data, SampleWeight

# criterion: (what to compare, whether lower is better)
CRITERIA = {
    "bic": ("bic", True),
    "aic": ("aic", True),
    "lower_bound": ("lower_bound", False),
}


@dataclass(frozen=True)
class Candidate:
    """One fitted candidate: its settings, criteria and cost.

    ``bic`` and ``aic`` are on the fitted data (weighted if weights were
    given); ``lower_bound`` is the fit's ``lower_bound_``; ``seconds`` the
    wall time of its ``fit``.
    """

    n_components: int
    covariance_type: str
    bic: float
    aic: float
    lower_bound: float
    n_iter: int
    converged: bool
    seconds: float


@dataclass(frozen=True)
class ModelSelection:
    """What :func:`select_n_components` returns.

    Attributes
    ----------
    criterion : str
    candidates : tuple of Candidate
        In the order they were fitted (covariance types outer, components inner).
    best : Candidate
    best_model : GaussianMixture
        The fitted estimator of ``best``.
    """

    criterion: str
    candidates: tuple[Candidate, ...]
    best: Candidate
    best_model: GaussianMixture

    def records(self) -> list[dict[str, Any]]:
        """The table as a list of dicts (e.g. for ``pandas.DataFrame``)."""
        return [asdict(candidate) for candidate in self.candidates]

    def __str__(self) -> str:
        header = (
            f"{'components':>10}  {'covariance':<10}  {'BIC':>14}  {'AIC':>14}  "
            f"{'lower bound':>12}  {'iter':>4}  {'seconds':>8}"
        )
        lines = [header]
        for c in self.candidates:
            mark = "  <- best" if c is self.best else ""
            lines.append(
                f"{c.n_components:>10}  {c.covariance_type:<10}  {c.bic:>14.6g}  "
                f"{c.aic:>14.6g}  {c.lower_bound:>12.6g}  {c.n_iter:>4}  "
                f"{c.seconds:>8.3f}{mark}"
            )
        return "\n".join(lines)


def select_n_components(
    X: Data,
    n_components: Iterable[int] = range(1, 9),
    *,
    covariance_types: Iterable[CovarianceType] = ("full",),
    criterion: Literal["bic", "aic", "lower_bound"] = "bic",
    sample_weight: SampleWeight = None,
    **options: Any,
) -> ModelSelection:
    """Fit one mixture per (covariance type, number of components) and keep the best.

    The classic recipe (Bishop 2006, section 10.2.4's comparison of model
    sizes): a criterion that trades fit against parameter count picks the
    number of components; BIC is consistent, AIC prefers larger models, the
    lower bound alone always grows with ``n_components`` and is offered for
    comparison.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 9)
    covariance_types : iterable of {'full', 'tied', 'diag', 'spherical'}, default=('full',)
    criterion : {'bic', 'aic', 'lower_bound'}, default='bic'
        Lowest BIC / AIC, or highest lower bound, wins (ties: the first fitted).
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to every ``fit`` and to ``bic``/``aic``.
    **options
        Any other :class:`GaussianMixture` parameter (``random_state``,
        ``n_init``, ``tol``, ...), the same for every candidate.

    Returns
    -------
    ModelSelection
        The table of candidates, the best one and its fitted estimator.

    Examples
    --------
    >>> selection = fastgmm.select_n_components(X, range(1, 7), random_state=0)
    >>> print(selection)
    >>> model = selection.best_model
    """
    sizes, types = _check_candidates(
        n_components, covariance_types, criterion, tuple(CRITERIA), options
    )
    marginalize = options.get("missing_values", "raise") == "marginalize"
    X = validation.check_data(X, min_samples=2, allow_nan=marginalize)
    attribute, lower_is_better = CRITERIA[criterion]
    candidates, best, best_model = [], None, None
    for covariance_type in types:
        for size in sizes:
            model = GaussianMixture(size, covariance_type=covariance_type, **options)
            start = time.perf_counter()
            model.fit(X, sample_weight=sample_weight)
            seconds = time.perf_counter() - start
            candidate = Candidate(
                n_components=size,
                covariance_type=covariance_type,
                bic=model.bic(X, sample_weight=sample_weight),
                aic=model.aic(X, sample_weight=sample_weight),
                lower_bound=model.lower_bound_,
                n_iter=model.n_iter_,
                converged=model.converged_,
                seconds=seconds,
            )
            candidates.append(candidate)
            value = getattr(candidate, attribute)
            if best is None or (
                value < getattr(best, attribute)
                if lower_is_better
                else value > getattr(best, attribute)
            ):
                best, best_model = candidate, model
    return ModelSelection(criterion, tuple(candidates), best, best_model)


def _check_candidates(n_components, covariance_types, criterion, criteria, options):
    """``select_n_components``'s candidates: ``(sizes, covariance types)`` as lists."""
    validation.check_choice(criterion, "criterion", criteria)
    try:
        sizes = list(n_components)
    except TypeError:
        sizes = [n_components]
    if not sizes or any(
        isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in sizes
    ):
        raise InvalidParameterError(
            f"'n_components' must be a non-empty iterable of ints >= 1, got {n_components!r}."
        )
    types = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    if not types or any(t not in COVARIANCE_TYPE_NAMES for t in types):
        raise InvalidParameterError(
            f"'covariance_types' must name some of "
            f"{', '.join(map(repr, COVARIANCE_TYPE_NAMES))}; got {covariance_types!r}."
        )
    for name in ("n_components", "covariance_type"):
        if name in options:
            raise InvalidParameterError(
                f"Give {name!r} to select_n_components as the candidates to try, not as an option."
            )
    return [int(n) for n in sizes], types
