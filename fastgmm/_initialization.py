"""Initial parameters of an EM run, with scikit-learn's semantics.

'random' and 'random_from_data' draw from the ``RandomState`` exactly as
sklearn does, so the same ``random_state`` gives the same start as sklearn.
'kmeans' and 'k-means++' use fastgmm's own Numba k-means (``_kmeans.py``).
"""

import numpy as np

from ._covariance import RESP_SUM_EPS, m_step
from ._kmeans import kmeans, kmeans_plusplus_indices
from ._sources import statistics_of_labels
from ._statistics import (
    INIT_CHUNK_ROWS,
    feature_moments,
    statistics_from_responsibilities,
    statistics_of_points,
)


def _random_resp_statistics(covariance, X, n_components, random_state, sample_weight):
    # One uniform(N, K) draw made in row chunks consumes the stream identically.
    def chunks():
        for start in range(0, X.shape[0], INIT_CHUNK_ROWS):
            n_rows = min(INIT_CHUNK_ROWS, X.shape[0] - start)
            resp = random_state.uniform(size=(n_rows, n_components))
            resp /= resp.sum(axis=1)[:, None]
            yield start, resp

    mean = feature_moments(X, sample_weight)[0]
    reference = np.repeat(mean[None], n_components, axis=0)
    return statistics_from_responsibilities(covariance, X, chunks(), reference, sample_weight)


def _random_from_data_statistics(covariance, X, n_components, random_state, sample_weight):
    # With weights, rows are drawn in proportion to them (never one of weight 0).
    p = None if sample_weight is None else sample_weight / sample_weight.sum()
    indices = random_state.choice(X.shape[0], size=n_components, replace=False, p=p)
    return statistics_of_points(covariance, X, indices, sample_weight)


def _kmeans_plusplus_statistics(covariance, X, n_components, random_state, sample_weight):
    indices = kmeans_plusplus_indices(X, n_components, random_state, sample_weight)
    return statistics_of_points(covariance, X, indices, sample_weight)


def _kmeans_statistics(covariance, X, n_components, random_state, sample_weight):
    labels, centres = kmeans(X, n_components, random_state, sample_weight)
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
    """
    if weights_init is None or means_init is None or precisions_init is None:
        statistics = INITIAL_STATISTICS[init_params](
            covariance, X, n_components, random_state, sample_weight
        )
        _, means, covariances = m_step(covariance, statistics, reg_covar)
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
