"""Degenerate components: what EM does when a component collapses or empties out.

Two things break EM on real data (sklearn raises or silently keeps junk):

- a covariance that is not positive definite after ``reg_covar`` (a component
  collapsed onto one point or a few duplicates, a constant feature with
  ``reg_covar=0``, rounding at extreme scales).  It is *regularised more*: a
  floor of ``VARIANCE_FLOOR`` times the data's mean feature variance is added
  to its diagonal (ten times more at each retry), its mean and weight kept;
- a component that *empties out* (its responsibilities sum to less than
  ``EMPTY_RESP_SUM`` of one row: its mean and covariance carry no
  information).  It is *reseeded* by splitting the widest component (largest
  weight x mean variance) along its principal axis: the two halves share its
  weight and covariance, their means lie one standard deviation either side
  (the split move of split-and-merge EM, Ueda et al. 2000).

Each repair counts one event and is reported by a ``DegenerateComponentWarning``
after the fit.  ``on_degenerate='raise'`` keeps sklearn's behaviour instead:
ValueError on a collapsed covariance, empty components left as they are.
"""

import numpy as np

from ..covariance import ILL_DEFINED_COVARIANCE

EMPTY_RESP_SUM = 1e-8
VARIANCE_FLOOR = 1e-6
MAX_RETRIES = 16


class ComponentRepair:
    """Applies the repairs above for one fit and counts them."""

    def __init__(self, source, covariance, on_degenerate):
        self.source = source
        self.covariance = covariance
        self.strict = on_degenerate == "raise"
        self.n_events = 0

    def factorise(self, covariances):
        """Return ``(covariances, precisions_cholesky)``, regularising collapsed covariances."""
        factors, failed = self.covariance.factorise(covariances)
        if not failed.any():
            return covariances, factors
        if self.strict:
            raise ValueError(ILL_DEFINED_COVARIANCE)
        self.n_events += int(failed.sum())
        # Each failed block ends up with the smallest floor * 10^j that works.
        added, amount = 0.0, self._variance_floor()
        for _ in range(MAX_RETRIES):
            covariances = self.covariance.add_to_diagonal(covariances, failed, amount - added)
            factors, failed = self.covariance.factorise(covariances)
            if not failed.any():
                return covariances, factors
            added, amount = amount, amount * 10.0
        raise ValueError(ILL_DEFINED_COVARIANCE)  # only for non-finite covariances

    def reseed_empty(self, resp_sum, weights, means, covariances, precisions_cholesky):
        """Split a wide component in two to replace each one with ``resp_sum`` ~ 0.

        Returns the (possibly new) ``(weights, means, covariances, precisions_cholesky)``.
        """
        empty = resp_sum < EMPTY_RESP_SUM * resp_sum.sum() / self.source.n_samples
        if self.strict or not empty.any():
            return weights, means, covariances, precisions_cholesky
        self.n_events += int(empty.sum())
        weights, means = weights.copy(), means.copy()
        n_features = means.shape[1]
        for k in np.flatnonzero(empty):
            spread = np.broadcast_to(self.covariance.spread(covariances), weights.shape)
            donor = int(np.argmax(np.where(empty, -np.inf, weights * spread)))
            variance, direction = self.covariance.principal_axis(covariances, donor, n_features)
            offset = np.sqrt(variance) * direction
            means[k], means[donor] = means[donor] + offset, means[donor] - offset
            weights[k] = weights[donor] = weights[donor] / 2.0
            covariances = self.covariance.copy_component(covariances, donor, k)
            empty[k] = False
        covariances, precisions_cholesky = self.factorise(covariances)
        return weights, means, covariances, precisions_cholesky

    def _variance_floor(self):
        mean, variances = self.source.feature_moments()
        scale = float(variances.mean())
        if not scale > 0.0:  # all rows identical: use the size of the values instead
            scale = max(1.0, float(np.abs(mean).max()) ** 2)
        return VARIANCE_FLOOR * scale
