"""Plots of fitted mixtures, model selections and convergence (needs matplotlib).

Install with ``pip install "fastgmm[plot]"``.  matplotlib is imported only
here, and ``import fastgmm`` never imports this module:
``import fastgmm.plotting`` does.

- :func:`plot_mixture`: each component as ellipses at 1, 2 and 3 standard
  deviations over the data (a scatter for small data, a density image for
  large data: 10 million points plot in about a second);
- :func:`plot_selection`: BIC, AIC and the lower bound of the candidates of
  :func:`fastgmm.select_n_components`, the best one marked;
- :func:`plot_convergence`: the lower bound after every iteration of a fit.

Every function takes an optional matplotlib ``Axes`` to draw into (a new
figure otherwise) and returns the ``Axes`` it drew on (``plot_selection``:
two, its criteria's and its lower bound's).  The models may be
fastgmm's estimators, the result of :func:`fastgmm.fit`, or any object with
scikit-learn's fitted attributes (scikit-learn's ``GaussianMixture`` and
``BayesianGaussianMixture`` among them).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator

from .covariance import COVARIANCE_TYPES, FACTOR_TYPES
from .exceptions import NotFittedError

if TYPE_CHECKING:
    from .model_selection import ModelSelection

__all__ = ["SCATTER_MAX_POINTS", "plot_convergence", "plot_mixture", "plot_selection"]

SCATTER_MAX_POINTS = 5_000
"""``plot_mixture`` draws up to this many points as a scatter, more as a density image."""

# The density image: bins per axis, and rows binned at a time (bounds the temporary arrays
# to a few tens of MB whatever the size of X, which may be memory-mapped).
_DENSITY_BINS = 256
_CHUNK_ROWS = 1 << 20

_STANDARD_DEVIATIONS = (1, 2, 3)
_LINE_WIDTHS = {1: 2.0, 2: 1.5, 3: 1.0}


# -- reading a fitted model -------------------------------------------------------------------


def _mixture_parameters(model):
    """``(weights, means, covariances, covariance_type, feature_names)`` of a fitted mixture.

    Reads scikit-learn's fitted attributes (``weights_``, ``means_``,
    ``covariances_``; fastgmm's estimators, scikit-learn's mixtures) or those of
    :class:`fastgmm.GaussianMixtureResult` (``weights``, ``means``, ``covariances``).
    """
    if hasattr(model, "means_"):
        names = ("weights_", "means_", "covariances_")
        # fastgmm's estimators keep the layout of the fit even if covariance_type is set anew.
        covariance_type = getattr(model, "_fitted_covariance_type", None)
    elif hasattr(model, "means") and hasattr(model, "covariances"):
        names = ("weights", "means", "covariances")
        covariance_type = None
    elif hasattr(model, "fit"):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before plotting it."
        )
    else:
        raise TypeError(
            "model must be a fitted mixture (GaussianMixture, BayesianGaussianMixture, the "
            "result of fastgmm.fit, or an object with weights_, means_, covariances_ and "
            f"covariance_type), got {type(model).__name__}."
        )
    missing = [name for name in (*names, "covariance_type") if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"model ({type(model).__name__}) has no {', '.join(missing)}: it is not a fitted "
            "Gaussian mixture."
        )
    if covariance_type is None:
        covariance_type = model.covariance_type
    if covariance_type in FACTOR_TYPES:  # their covariances_ (computed when read) are 'full'
        covariance_type = "full"
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"model's covariance_type must be one of {', '.join(map(repr, COVARIANCE_TYPES))}, "
            f"got {covariance_type!r}."
        )
    weights, means, covariances = (
        np.asarray(getattr(model, name), dtype=np.float64) for name in names
    )
    if means.ndim != 2 or weights.shape != (means.shape[0],):
        raise ValueError(
            f"model's means must have shape (n_components, n_features) and its weights shape "
            f"(n_components,); got {means.shape} and {weights.shape}."
        )
    n_components, n_features = means.shape
    expected = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
    if covariances.shape != expected:
        raise ValueError(
            f"model's {covariance_type!r} covariances must have shape {expected}, got "
            f"{covariances.shape}."
        )
    feature_names = getattr(model, "feature_names_in_", None)
    return weights, means, covariances, covariance_type, feature_names


def _marginal_covariances(covariances, covariance_type, n_components, dims):
    """The (n_components, 2, 2) covariances of the two features ``dims``, for any layout."""
    pair = np.ix_(dims, dims)
    if covariance_type == "full":
        return np.stack([covariances[k][pair] for k in range(n_components)])
    if covariance_type == "tied":
        return np.repeat(covariances[pair][None], n_components, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(covariances[k, list(dims)]) for k in range(n_components)])
    return covariances[:, None, None] * np.eye(2)  # spherical


def _ellipse_axes(covariance):
    """``(width, height, angle)`` of the 1-standard-deviation ellipse of a 2 x 2 covariance.

    The width lies along the eigenvector of the largest eigenvalue (angle in
    degrees from the x axis); width and height are twice the square roots of
    the eigenvalues.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues, 0.0, None)  # rounding can leave -1e-17
    major = eigenvectors[:, 1]
    angle = np.degrees(np.arctan2(major[1], major[0]))
    return 2.0 * np.sqrt(eigenvalues[1]), 2.0 * np.sqrt(eigenvalues[0]), angle


def _check_dims(dims, n_features):
    """``dims`` as a tuple of two different feature indices in [0, n_features)."""
    try:
        pair = tuple(dims)
    except TypeError:
        pair = None
    if (
        pair is None
        or len(pair) != 2
        or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in pair)
    ):
        raise TypeError(f"dims must be a pair of feature indices (ints), got {dims!r}.")
    pair = (int(pair[0]), int(pair[1]))
    if n_features < 2:
        raise ValueError(f"plot_mixture draws two features; this model has {n_features} feature.")
    if any(d < 0 or d >= n_features for d in pair):
        raise ValueError(
            f"dims {pair} is out of range: the model has {n_features} features, so each "
            f"index must be in [0, {n_features - 1}]."
        )
    if pair[0] == pair[1]:
        raise ValueError(f"dims must name two different features, got {pair}.")
    return pair


def _check_data(X, n_features, model_name):
    """``X`` as a 2-D array (memory-mapped arrays are kept, not read) with ``n_features``."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the {model_name} was fitted on {n_features} "
            "features."
        )
    if X.shape[0] == 0:
        raise ValueError("X has no rows to plot.")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise TypeError(f"X must hold numbers, got dtype {X.dtype}.")
    return X


def _chunks(X, dims):
    """The columns ``dims`` of ``X``, ``_CHUNK_ROWS`` rows at a time, as float64."""
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        block = X[start : start + _CHUNK_ROWS]
        yield block[:, dims[0]].astype(np.float64), block[:, dims[1]].astype(np.float64)


def _density(X, dims, bins=_DENSITY_BINS):
    """Counts of the points in a ``bins`` x ``bins`` grid over their range, and the range.

    Two passes over the rows in chunks (range, then counts), so the
    temporaries stay small for any number of rows.  Returns ``(counts, extent)``,
    ``counts[j, i]`` the points in x bin i, y bin j; ``extent`` (x0, x1, y0, y1).
    """
    low = np.full(2, np.inf)
    high = np.full(2, -np.inf)
    for x, y in _chunks(X, dims):
        low = np.minimum(low, (x.min(), y.min()))
        high = np.maximum(high, (x.max(), y.max()))
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(f"X contains NaN or infinity in the plotted features {dims}.")
    flat = high == low  # one value: a bin of width 1 around it
    low, high = np.where(flat, low - 0.5, low), np.where(flat, high + 0.5, high)
    scale = bins / (high - low)
    counts = np.zeros(bins * bins, dtype=np.int64)
    for x, y in _chunks(X, dims):
        # The maximum lands in bin `bins` (and rounding can put a point one bin out): clip.
        i = np.clip(((x - low[0]) * scale[0]).astype(np.int64), 0, bins - 1)
        j = np.clip(((y - low[1]) * scale[1]).astype(np.int64), 0, bins - 1)
        counts += np.bincount(j * bins + i, minlength=bins * bins)
    return counts.reshape(bins, bins), (low[0], high[0], low[1], high[1])


def _new_axes():
    _, ax = plt.subplots()
    return ax


def _feature_label(feature_names, d):
    return f"feature {d}" if feature_names is None else str(feature_names[d])


# -- the plots --------------------------------------------------------------------------------


def plot_mixture(
    model: Any,
    X: Any = None,
    *,
    dims: tuple[int, int] = (0, 1),
    ax: Axes | None = None,
) -> Axes:
    """Draw a fitted mixture's components as ellipses over the data.

    Each component k is drawn as three ellipses centred at its mean, at 1, 2
    and 3 standard deviations (the contours of its Gaussian at Mahalanobis
    distance 1, 2 and 3), in colour ``"C{k}"``; their opacity grows with the
    component's weight.  For more than two features, ``dims`` picks the two
    drawn, and the ellipses are those of the components' marginal
    distributions on them.

    Parameters
    ----------
    model : fitted mixture
        :class:`fastgmm.GaussianMixture`, :class:`fastgmm.BayesianGaussianMixture`,
        the :class:`fastgmm.GaussianMixtureResult` of :func:`fastgmm.fit`, or
        any object with scikit-learn's fitted attributes ``weights_``,
        ``means_``, ``covariances_`` and ``covariance_type`` (scikit-learn's
        mixtures), for every covariance type.
    X : array-like of shape (n_samples, n_features), default=None
        Data to draw under the ellipses (none if None). Up to
        ``SCATTER_MAX_POINTS`` (5,000) rows are drawn as a scatter; more as a
        density image: the counts of points in a 256 x 256 grid over the
        data's range, on a logarithmic colour scale (empty bins blank),
        computed a million rows at a time, so that 10 million rows take about
        a second and a memory-mapped array is never read whole. The image is
        ``ax.images[-1]`` (for a colour bar, ``fig.colorbar(ax.images[-1])``).
    dims : pair of int, default=(0, 1)
        The two features drawn (x axis, y axis), different and in
        ``[0, n_features)``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes if None.

    Returns
    -------
    ax : matplotlib Axes
        The ellipses are ``ax.patches`` (``matplotlib.patches.Ellipse``), three
        per component in the order of the components (1, 2, 3 standard
        deviations); the first of each three is labelled
        ``"component k (weight w)"`` for ``ax.legend()``.

    Raises
    ------
    NotFittedError
        If ``model`` is an estimator that is not fitted.
    ValueError
        If ``dims`` is out of range or names one feature twice, or ``X`` does
        not have the model's number of features.
    """
    weights, means, covariances, covariance_type, feature_names = _mixture_parameters(model)
    n_components, n_features = means.shape
    dims = _check_dims(dims, n_features)
    if X is not None:
        X = _check_data(X, n_features, type(model).__name__)
    if ax is None:
        ax = _new_axes()

    if X is not None:
        if X.shape[0] <= SCATTER_MAX_POINTS:
            data = np.asarray(X[:, list(dims)], dtype=np.float64)
            ax.scatter(data[:, 0], data[:, 1], s=4, color="0.35", alpha=0.5, linewidths=0, zorder=1)
        else:
            counts, extent = _density(X, dims)
            ax.imshow(
                np.ma.masked_equal(counts, 0),
                extent=extent,
                origin="lower",
                aspect="auto",
                interpolation="nearest",
                cmap="Greys",
                norm=LogNorm(vmin=1, vmax=max(int(counts.max()), 2)),
                zorder=0,
            )

    marginals = _marginal_covariances(covariances, covariance_type, n_components, dims)
    largest = weights.max() if weights.max() > 0 else 1.0
    for k in range(n_components):
        width, height, angle = _ellipse_axes(marginals[k])
        alpha = 0.3 + 0.7 * max(weights[k], 0.0) / largest
        centre = (means[k, dims[0]], means[k, dims[1]])
        for n in _STANDARD_DEVIATIONS:
            ax.add_patch(
                Ellipse(
                    centre,
                    n * width,
                    n * height,
                    angle=angle,
                    fill=False,
                    edgecolor=f"C{k % 10}",
                    linewidth=_LINE_WIDTHS[n],
                    alpha=alpha,
                    zorder=3,
                    label=f"component {k} (weight {weights[k]:.3g})" if n == 1 else None,
                )
            )
    ax.plot(means[:, dims[0]], means[:, dims[1]], "k+", markersize=8, zorder=4, label="_means")
    ax.set_xlabel(_feature_label(feature_names, dims[0]))
    ax.set_ylabel(_feature_label(feature_names, dims[1]))
    ax.autoscale_view()
    return ax


_QUANTITIES: tuple[tuple[str, str, Any], ...] = (
    # attribute, label, line style
    ("bic", "BIC", "-"),
    ("aic", "AIC", "--"),
    ("lower_bound", "lower bound", ":"),
)


def _selection_axes(ax):
    """``(criteria Axes, lower-bound Axes)`` for ``plot_selection``'s ``ax`` argument."""
    if ax is None:
        _, pair = plt.subplots(1, 2, figsize=(11, 4.5))
        return pair[0], pair[1]
    if isinstance(ax, Axes):
        return ax, ax.twinx()
    try:
        pair = tuple(np.ravel(np.asarray(ax, dtype=object)))
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(a, Axes) for a in pair):
        raise TypeError(
            f"ax must be None, one matplotlib Axes or a pair of them, got {type(ax).__name__}."
        )
    return pair


def plot_selection(selection: ModelSelection, ax: Any = None) -> np.ndarray:
    """Draw BIC, AIC and the lower bound of every candidate against ``n_components``.

    BIC (solid) and AIC (dashed), lower is better, share one Axes; the lower
    bound (dotted; mean log-likelihood per sample, higher is better) is on
    another scale (BIC and AIC are about ``-2 * n_samples`` times it) and gets
    its own. Colours tell the covariance types apart. The best candidate is
    marked by a star on the curve of the selection's criterion.

    Parameters
    ----------
    selection : ModelSelection
        What :func:`fastgmm.select_n_components` returns.
    ax : matplotlib Axes or pair of Axes, default=None
        Where to draw. None: a new figure with two Axes side by side (BIC and
        AIC left, the lower bound right). One Axes: BIC and AIC on it, the
        lower bound on a second y axis on the right (``ax.twinx()``). A pair:
        BIC and AIC on the first, the lower bound on the second.

    Returns
    -------
    axes : ndarray of shape (2,) of matplotlib Axes
        The Axes of BIC and AIC, then that of the lower bound (the twin of
        ``ax`` when one Axes was given). Each line is labelled
        ``"<quantity>, <covariance type>"`` (e.g. ``"BIC, full"``), the best
        candidate's star ``"best by <criterion>: ..."``.
    """
    candidates = getattr(selection, "candidates", None)
    best = getattr(selection, "best", None)
    criterion = getattr(selection, "criterion", None)
    if candidates is None or best is None or criterion is None:
        raise TypeError(
            "selection must be the ModelSelection that fastgmm.select_n_components returns, "
            f"got {type(selection).__name__}."
        )
    candidates = list(candidates)
    if not candidates:
        raise ValueError("selection has no candidates to plot.")
    labels = {attribute: label for attribute, label, _ in _QUANTITIES}
    if criterion not in labels:
        raise ValueError(
            f"selection's criterion must be one of {', '.join(map(repr, labels))}, "
            f"got {criterion!r}."
        )
    twin = isinstance(ax, Axes)
    criteria_ax, bound_ax = _selection_axes(ax)

    types = list(dict.fromkeys(c.covariance_type for c in candidates))
    for index, covariance_type in enumerate(types):
        rows = sorted(
            (c for c in candidates if c.covariance_type == covariance_type),
            key=lambda c: c.n_components,
        )
        sizes = [c.n_components for c in rows]
        for attribute, label, style in _QUANTITIES:
            target = bound_ax if attribute == "lower_bound" else criteria_ax
            target.plot(
                sizes,
                [getattr(c, attribute) for c in rows],
                linestyle=style,
                marker="o",
                markersize=3,
                color=f"C{index % 10}",
                label=f"{label}, {covariance_type}",
            )
    star = (bound_ax if criterion == "lower_bound" else criteria_ax).plot(
        [best.n_components],
        [getattr(best, criterion)],
        linestyle="none",
        marker="*",
        markersize=16,
        markerfacecolor="gold",
        markeredgecolor="black",
        zorder=5,
        label=(
            f"best by {labels[criterion]}: {best.n_components} components, {best.covariance_type}"
        ),
    )[0]

    sizes = sorted({c.n_components for c in candidates})
    for target in (criteria_ax, bound_ax):
        target.set_xlabel("n_components")
        if len(sizes) <= 20:
            target.set_xticks(sizes)
        else:
            target.xaxis.set_major_locator(MaxNLocator(integer=True))
    criteria_ax.set_ylabel("BIC, AIC (lower is better)")
    bound_ax.set_ylabel("lower bound (higher is better)")
    # One legend: a colour per covariance type, a line style per quantity, the star.
    handles = [Line2D([], [], color=f"C{i % 10}", label=t) for i, t in enumerate(types)]
    handles += [
        Line2D([], [], color="0.3", linestyle=style, label=label) for _, label, style in _QUANTITIES
    ]
    # Twin Axes: the legend goes on the twin, drawn last, so that no line crosses it.
    (bound_ax if twin else criteria_ax).legend(
        handles=[*handles, star], fontsize="small", loc="best"
    )
    return np.array([criteria_ax, bound_ax], dtype=object)


def plot_convergence(model: Any, ax: Axes | None = None) -> Axes:
    """Draw the lower bound after every iteration of a fit.

    Parameters
    ----------
    model : fitted mixture
        An estimator with ``lower_bounds_`` (the lower bound at every
        iteration of the best run: fastgmm's ``GaussianMixture`` and
        ``BayesianGaussianMixture``, scikit-learn's from version 1.7), or the
        :class:`fastgmm.GaussianMixtureResult` of :func:`fastgmm.fit`
        (``lower_bounds``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's Axes if None.

    Returns
    -------
    ax : matplotlib Axes
        Its one line (``ax.lines[0]``) has the iterations 1, 2, ... as x and
        the lower bounds as y.

    Raises
    ------
    NotFittedError
        If ``model`` is an estimator that is not fitted.
    ValueError
        If ``model`` is fitted but does not record the lower bound per
        iteration.
    """
    if hasattr(model, "lower_bounds_"):
        bounds = model.lower_bounds_
    elif hasattr(model, "lower_bounds"):
        bounds = model.lower_bounds
    elif hasattr(model, "fit") and not hasattr(model, "means_"):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before plotting it."
        )
    else:
        raise ValueError(
            f"{type(model).__name__} does not record the lower bound per iteration (no "
            "lower_bounds_ attribute); plot_convergence needs it."
        )
    bounds = np.asarray(bounds, dtype=np.float64).ravel()
    if bounds.size == 0:
        raise ValueError("The model's lower_bounds_ is empty: no iteration to plot.")
    if ax is None:
        ax = _new_axes()
    iterations = np.arange(1, bounds.size + 1)
    ax.plot(iterations, bounds, marker="o", markersize=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("lower bound")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax
