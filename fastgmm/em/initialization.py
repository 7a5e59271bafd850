"""Initial parameters of an EM run, with scikit-learn's semantics.

'random' and 'random_from_data' draw from the ``RandomState`` exactly as
sklearn does, so the same ``random_state`` gives the same start as sklearn.
'kmeans' and 'k-means++' use fastgmm's own Numba k-means (``em/kmeans.py``).

Partly labelled rows (``component_labels``, -1 for an unlabelled row) have
one-hot responsibilities in every initialisation; without labels (or with every
row -1) each initialisation is exactly the unlabelled one.
"""

import numpy as np

from ..covariance import RESP_SUM_EPS
from ..data.sources import statistics_of_labels
from ..data.statistics import (
    INIT_CHUNK_ROWS,
    feature_moments,
    statistics_from_responsibilities,
    statistics_of_points,
)
from .kmeans import free_row_weights, has_fixed_labels, kmeans, kmeans_plusplus_indices


def _random_resp_statistics(
    covariance, X, n_components, random_state, sample_weight, component_labels
):
    # One uniform(N, K) draw made in row chunks consumes the stream identically;
    # labelled rows' draws are then replaced by their one-hot responsibilities.
    def chunks():
        for start in range(0, X.shape[0], INIT_CHUNK_ROWS):
            n_rows = min(INIT_CHUNK_ROWS, X.shape[0] - start)
            resp = random_state.uniform(size=(n_rows, n_components))
            resp /= resp.sum(axis=1)[:, None]
            if component_labels is not None:
                labels = component_labels[start : start + n_rows]
                rows = np.flatnonzero(labels >= 0)
                resp[rows] = 0.0
                resp[rows, labels[rows]] = 1.0
            yield start, resp

    mean = feature_moments(X, sample_weight)[0]
    reference = np.repeat(mean[None], n_components, axis=0)
    return statistics_from_responsibilities(covariance, X, chunks(), reference, sample_weight)


def _labelled_seeds(component_labels, n_components, random_state, sample_weight):
    """``(components, rows)``: each component whose labelled rows have positive total
    weight, in increasing order, and one of those rows drawn from ``random_state``
    (uniformly, or in proportion to ``sample_weight``)."""
    order = np.argsort(component_labels, kind="stable")
    bounds = np.searchsorted(component_labels[order], np.arange(n_components + 1))
    components, rows = [], []
    for k in range(n_components):
        candidates = order[bounds[k] : bounds[k + 1]]
        if candidates.shape[0] == 0:
            continue
        if sample_weight is None:
            pick = random_state.randint(candidates.shape[0])
        else:
            cumulative = np.cumsum(sample_weight[candidates])
            if cumulative[-1] <= 0:
                continue  # only rows of weight 0: seeded like an unlabelled component
            target = random_state.uniform() * cumulative[-1]
            # side='right': the row drawn has positive weight.
            pick = min(int(np.searchsorted(cumulative, target, side="right")), len(cumulative) - 1)
        components.append(k)
        rows.append(candidates[pick])
    return np.array(components, dtype=np.int64), np.array(rows, dtype=np.int64)


def _labelled_seed_points(
    X, n_components, random_state, sample_weight, component_labels, draw_free
):
    """Seed rows when some rows are labelled: a labelled component's seed is one of its
    labelled rows (``_labelled_seeds``); ``draw_free(n_free, weights, fixed_rows)`` draws
    the other components' seeds, in proportion to ``weights``: the unlabelled rows'
    weights, or where fewer unlabelled rows than free components weigh more than 0,
    every row's but the labelled seeds'."""
    components, rows = _labelled_seeds(component_labels, n_components, random_state, sample_weight)
    free = np.setdiff1d(np.arange(n_components), components)
    indices = np.empty(n_components, dtype=np.int64)
    indices[components] = rows
    if free.shape[0]:
        weights = free_row_weights(component_labels, sample_weight)
        if np.count_nonzero(weights) < free.shape[0]:
            weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight.copy()
            weights[rows] = 0.0
        indices[free] = draw_free(free.shape[0], weights, rows)
    return indices


def _random_from_data_statistics(
    covariance, X, n_components, random_state, sample_weight, component_labels
):
    # With weights, rows are drawn in proportion to them (never one of weight 0).
    if component_labels is None:
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        indices = random_state.choice(X.shape[0], size=n_components, replace=False, p=p)
    else:
        indices = _labelled_seed_points(
            X,
            n_components,
            random_state,
            sample_weight,
            component_labels,
            lambda n_free, weights, _: random_state.choice(
                X.shape[0], size=n_free, replace=False, p=weights / weights.sum()
            ),
        )
    return statistics_of_points(covariance, X, indices, sample_weight)


def _kmeans_plusplus_statistics(
    covariance, X, n_components, random_state, sample_weight, component_labels
):
    if component_labels is None:
        indices = kmeans_plusplus_indices(X, n_components, random_state, sample_weight)
    else:
        indices = _labelled_seed_points(
            X,
            n_components,
            random_state,
            sample_weight,
            component_labels,
            lambda n_free, weights, rows: kmeans_plusplus_indices(
                X, n_free, random_state, weights, X[rows].astype(np.float64)
            ),
        )
    return statistics_of_points(covariance, X, indices, sample_weight)


def _kmeans_statistics(covariance, X, n_components, random_state, sample_weight, component_labels):
    labels, centres = kmeans(X, n_components, random_state, sample_weight, component_labels)
    return statistics_of_labels(covariance, X, labels, centres, sample_weight)


INITIAL_STATISTICS = {
    "kmeans": _kmeans_statistics,
    "k-means++": _kmeans_plusplus_statistics,
    "random": _random_resp_statistics,
    "random_from_data": _random_from_data_statistics,
}


def initial_parameters(
    covariance,
    X,
    n_components,
    init_params,
    reg_covar,
    random_state,
    factorise,
    sample_weight=None,
    weights_init=None,
    means_init=None,
    precisions_init=None,
    component_labels=None,
):
    """Return float64 ``(weights, means, covariances, precisions_cholesky)``.

    As sklearn: the responsibilities of ``init_params`` give every parameter
    the user did not provide (weights as N_k / N, with ``sample_weight`` the
    weighted N_k over the total weight); when all three are given,
    no responsibilities are computed and the random state is not used.
    Unlike sklearn, ``covariances`` always matches the precisions in use
    (the inverse of ``precisions_init`` when that is given).  ``factorise``
    maps covariances to ``(covariances, precisions_cholesky)`` (and mends or
    rejects those that are not positive definite: ``ComponentRepair.factorise``).

    ``component_labels`` (None, or int64 with one entry per row of ``X``: -1, or the
    component the row belongs to) fixes the labelled rows' responsibilities to one-hot:

    - 'kmeans': k-means with the labelled rows fixed in their clusters
      (``kmeans(..., fixed_labels=...)``: a labelled cluster starts at the mean of
      its labelled rows, the others are k-means++ seeds among the unlabelled rows);
    - 'random': the same draws as without labels, the labelled rows' replaced by
      one-hot rows;
    - 'k-means++' and 'random_from_data' (one seed row per component): a component
      whose labelled rows weigh more than 0 is seeded at one of them, drawn
      uniformly (in proportion to ``sample_weight`` with weights); the other
      components are seeded as without labels among the unlabelled rows (all rows
      but the labelled seeds where too few are unlabelled), for 'k-means++' with
      the squared distances taken to every seed, the labelled ones included.

    A component whose labelled rows all weigh 0 is initialised like an unlabelled one.
    None, or every entry -1, gives exactly the unlabelled initialisation.
    """
    if component_labels is not None:
        component_labels = np.ascontiguousarray(component_labels, dtype=np.int64)
        if component_labels.shape != (X.shape[0],):
            raise ValueError(
                f"component_labels.shape == {component_labels.shape}, expected ({X.shape[0]},)"
            )
        if not has_fixed_labels(component_labels):
            component_labels = None
    if weights_init is None or means_init is None or precisions_init is None:
        # The factor types start from 'full' statistics (``initialisation_type``).
        start = covariance.initialisation_type()
        statistics = INITIAL_STATISTICS[init_params](
            start, X, n_components, random_state, sample_weight, component_labels
        )
        _, means, covariances = start.m_step(statistics, reg_covar)
        covariances = covariance.from_initial_covariances(covariances, reg_covar)
        weights = (statistics.resp_sum + RESP_SUM_EPS) / statistics.total_weight
    if weights_init is not None:
        weights = np.array(weights_init, dtype=np.float64)
    if means_init is not None:
        means = np.array(means_init, dtype=np.float64)
    if precisions_init is None:
        covariances, precisions_cholesky = factorise(covariances)
    else:
        precisions_cholesky = covariance.precisions_cholesky_from_precisions(precisions_init)
        covariances = covariance.covariances_from_precisions(precisions_init)
    return weights, means, covariances, precisions_cholesky
