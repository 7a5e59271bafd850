"""What every covariance type shares: the ``CovarianceType`` contract, the helpers of
the dense and the diagonal types, and the constants of the M-step.

Each type's class is in its own module (``full.py``, ``tied.py``, ``diag.py``,
``spherical.py``); the package chooses among them through ``COVARIANCE_TYPES``.
"""

from abc import ABC, abstractmethod
from collections import namedtuple

import numpy as np

from .._kernels import diag as diag_kernels
from .._kernels import linalg, missing_diag

# A type's kernels for data with missing values (``_kernels/missing_*.py``).
MissingKernels = namedtuple("MissingKernels", ["statistics", "score", "impute"])

# sklearn adds 10 * eps to every component's weight sum so that an empty
# component gives mean 0 and covariance reg_covar instead of 0 / 0.
RESP_SUM_EPS = 10 * np.finfo(np.float64).eps

ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


def symmetric_from_lower(lower):
    """Fill the upper triangle of (a stack of) matrices from their lower triangle."""
    strict = np.tril(lower, -1)
    return np.tril(lower) + np.swapaxes(strict, -1, -2)


def scatter_shift(resp_sum, sum_diff, shift):
    """Per component, S1 d^T + d S1^T - N d d^T: what moving the moments to the new means subtracts.

    With z = x - c, d = mu - c:  sum q (x - mu)(x - mu)^T
        = S2 - S1 d^T - d S1^T + N d d^T      (S1 = sum q z, S2 = sum q z z^T).
    Accumulating about c = the previous means keeps S2 free of the
    cancellation of sum q x x^T - N mu mu^T (sklearn #4410, #30382).
    """
    cross = sum_diff[:, :, None] * shift[:, None, :]
    return (
        cross
        + np.swapaxes(cross, 1, 2)
        - resp_sum[:, None, None] * shift[:, :, None] * shift[:, None, :]
    )


def centred_squares(resp, sum_diff, sum_sq, shift):
    """Diagonal of ``scatter_shift``'s scatter: sum q (x - mu)^2 per feature, with ``resp``
    the (K, 1) or per-feature (K, D) sums of q_ik the moments hold."""
    return sum_sq - 2.0 * sum_diff * shift + resp * shift * shift


def factorise_full(covariances):
    """Upper-triangular U_k with U_k U_k^T = inv(covariances[k]), via L_k = chol(covariances[k]).

    Returns ``(factors, failed)``: ``failed[k]`` flags a matrix that is not
    positive definite (its factor is left zero).
    """
    covariances = np.ascontiguousarray(covariances, dtype=np.float64)
    factors = np.empty_like(covariances)
    failed = np.empty(covariances.shape[0], dtype=np.bool_)
    linalg.precisions_cholesky(covariances, factors, failed)
    return factors, failed


def copy_per_component(covariances, source, target):
    """A copy of per-component ``covariances`` with component ``target`` set to ``source``'s."""
    covariances = covariances.copy()
    covariances[target] = covariances[source]
    return covariances


def cholesky_of_precision(precision):
    """Upper-triangular U with U U^T = precision (sklearn #26415: flip, chol, flip)."""
    flipped = np.flip(precision, (0, 1))
    return np.flip(np.linalg.cholesky(flipped), (0, 1))


def log_gaussian_constant(n_features):
    return -0.5 * n_features * np.log(2.0 * np.pi)


def kernel_arguments(covariance, log_weights, means, precisions_cholesky, dtype):
    """The parameter arrays a ``statistics``/``score`` kernel takes, for data of ``dtype``.

    ``log_weights`` is the additive per-component constant (log pi_k in EM).
    Means and precision factors are cast to the data's dtype (the log-density
    work runs in it); the per-component constant stays float64.
    """
    n_components, n_features = means.shape
    log_const = (
        log_weights
        + covariance.log_det_cholesky(precisions_cholesky, n_features)
        + log_gaussian_constant(n_features)
    )
    kernel_precisions = covariance.kernel_precisions(precisions_cholesky, n_components, n_features)
    return (
        np.ascontiguousarray(means, dtype=dtype),
        np.ascontiguousarray(kernel_precisions, dtype=dtype),
        np.ascontiguousarray(log_const, dtype=np.float64),
    )


class CovarianceType(ABC):
    """The contract of a covariance type: one subclass per type, in ``COVARIANCE_TYPES``.

    Every method works on float64 arrays in the type's layout (the table
    above), K components and D features; most are static.  A new type
    implements each abstract method and provides its Numba ``kernels``
    module (with a serial ``run_pass`` kernel over a range of chunks, taking the arguments of
    ``_kernels/full.py``'s); ``docs/design.md`` section 5 lists
    the other places to touch.
    """

    name: str  # the ``covariance_type`` value
    kernels: object  # the module of its ``run_pass`` kernel
    missing_kernels: MissingKernels  # the same for data with NaN, and imputation
    # Whether the M-step divides each feature's moments by its own count (the types with
    # independent features, whose rows with missing values add to observed features only).
    per_feature_counts = False

    # -- sufficient statistics and the M-step -------------------------------------------
    @staticmethod
    @abstractmethod
    def sum_sq_shape(n_components, n_features):
        """Shape of the second-moment statistic ``sum_sq`` (see ``SufficientStatistics``)."""

    @staticmethod
    @abstractmethod
    def add_second_moment(sum_sq, k, diff, resp_k):
        """Add component k's second moment of the rows ``diff`` (x - c_k), weights ``resp_k``."""

    @staticmethod
    @abstractmethod
    def covariances(resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        """The M-step's covariances from moments about c_k, with ``shift`` = mu_k - c_k.

        ``resp_sum`` and ``nk`` (N_k + 10 eps) are (K,), or with ``per_feature_counts``
        (K, 1), or (K, D) when each feature has its own count (missing values).
        """

    @staticmethod
    @abstractmethod
    def moved_sum_sq(counts, sum_diff, sum_sq, delta):
        """``sum_sq`` about c - ``delta`` instead of c: S2 + S1 delta^T + delta S1^T +
        N delta delta^T (its diagonal for the diagonal types), with ``counts`` N (K, 1) or
        per feature (K, D); for stepwise EM (``em.online.moved``)."""

    @staticmethod
    @abstractmethod
    def model_sum_sq(weights, covariances, reg_covar):
        """The second moments per unit weight that a mixture expects of its own data,
        about its means: pi_k (Sigma_k - reg_covar I) (``em.online.model_statistics``), in a
        shape that broadcasts to ``sum_sq_shape``."""

    @staticmethod
    @abstractmethod
    def mahalanobis_sum(resp_sum, sum_diff, sum_sq, shift, kernel_precisions):
        """sum_k sum_i q_ik |(x_i - mu_k) U_k|^2 from moments about c_k (``shift`` = mu_k -
        c_k) and the factors as the kernels read them: the variational bound's entropy."""

    # -- factors and derived quantities -------------------------------------------------
    @staticmethod
    @abstractmethod
    def factorise(covariances):
        """``(precisions_cholesky, failed)``: the factors, and per component (one flag for
        'tied') whether the covariance is not positive definite (its factor left zero)."""

    @staticmethod
    @abstractmethod
    def precisions(precisions_cholesky):
        """Precision matrices (or their diagonals) from the factors."""

    @staticmethod
    @abstractmethod
    def precisions_cholesky_from_precisions(precisions):
        """Factors of given precisions (``precisions_init``)."""

    @staticmethod
    @abstractmethod
    def covariances_from_precisions(precisions):
        """Covariances of given precisions (``precisions_init``)."""

    @staticmethod
    @abstractmethod
    def log_det_cholesky(precisions_cholesky, n_features):
        """log det U_k per component (a scalar for 'tied')."""

    @staticmethod
    @abstractmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        """The factors as the type's kernels read them."""

    @staticmethod
    @abstractmethod
    def identity_precisions_cholesky(n_components, n_features):
        """The factors of unit covariances (placeholders where a kernel reads none)."""

    @staticmethod
    @abstractmethod
    def n_covariance_parameters(n_components, n_features):
        """Free parameters of the covariances (for BIC and AIC)."""

    @staticmethod
    @abstractmethod
    def sample(rng, means, covariances, counts):
        """Per component, ``counts[k]`` draws (scikit-learn's draws, in its order)."""

    # -- repairs of degenerate components (``em/degenerate.py``) ------------------------
    @staticmethod
    @abstractmethod
    def add_to_diagonal(covariances, components, amount):
        """A copy with ``amount`` added to the diagonal of the flagged components."""

    @staticmethod
    @abstractmethod
    def spread(covariances):
        """Mean variance per component (a scalar for 'tied')."""

    @staticmethod
    @abstractmethod
    def principal_axis(covariances, k, n_features):
        """``(variance, direction)`` of component k's widest axis."""

    @staticmethod
    @abstractmethod
    def copy_component(covariances, source, target):
        """A copy with component ``target``'s covariance set to ``source``'s."""

    @staticmethod
    def dense_precisions(precisions_cholesky):
        """The ``precisions`` argument of the missing-value kernels (float64, 3-D)."""
        return np.zeros((1, 1, 1))  # the diagonal types' kernels read none

    # -- shared -------------------------------------------------------------------------
    def m_step(self, statistics, reg_covar):
        """Maximisation step (Bishop 9.24-9.26) from sufficient statistics.

        Returns float64 ``(weights, means, covariances)``, computed as sklearn's
        ``_estimate_gaussian_parameters`` would from the same responsibilities:
        nk = N_k + 10 eps, mu_k = sum_i q_ik x_i / nk, Sigma_k = scatter_k / nk + reg_covar I.
        With missing values, the types of ``per_feature_counts`` divide each feature's
        moments by its own count, N_k less ``statistics.missing_resp``
        (``_kernels/missing_diag.py``).
        """
        resp_sum = statistics.resp_sum
        nk = resp_sum + RESP_SUM_EPS
        feature_resp = resp_sum[:, None]
        if statistics.missing_resp is not None:
            feature_resp = feature_resp - statistics.missing_resp
        feature_nk = feature_resp + RESP_SUM_EPS
        reference = statistics.reference
        means = reference * (feature_resp / feature_nk) + statistics.sum_diff / feature_nk
        shift = means - reference
        counts = (feature_resp, feature_nk) if self.per_feature_counts else (resp_sum, nk)
        covariances = self.covariances(
            counts[0], statistics.sum_diff, statistics.sum_sq, shift, counts[1], reg_covar
        )
        return nk / nk.sum(), means, covariances

    def fitted_arrays(self, covariances, precisions_cholesky):
        """The fitted attributes (name: float64 array) of a model with these parameters (as
        the loops carry them): scikit-learn's three."""
        return {
            "covariances_": covariances,
            "precisions_": self.precisions(precisions_cholesky),
            "precisions_cholesky_": precisions_cholesky,
        }

    def loop_parameters(self, fitted):
        """``(covariances, precisions_cholesky)`` as the loops carry them, float64, from a
        fitted model's attributes (``fitted(name)`` gives each)."""
        return tuple(
            np.asarray(fitted(name), dtype=np.float64)
            for name in ("covariances_", "precisions_cholesky_")
        )

    def initialisation_type(self):
        """The type whose statistics and M-step give the initial covariances: this one."""
        return self

    @staticmethod
    def from_initial_covariances(covariances, reg_covar):
        """This type's covariances from those of ``initialisation_type``: the same."""
        return covariances

    @staticmethod
    def moments_reference(kernel_means):
        """The points c_k the kernel's moments are taken about (float64, K x D)."""
        return kernel_means.astype(np.float64)

    def precisions_cholesky(self, covariances):
        """Precision Cholesky factors; sklearn's ValueError if a covariance is not positive
        definite."""
        factors, failed = self.factorise(covariances)
        if failed.any():
            raise ValueError(ILL_DEFINED_COVARIANCE)
        return factors


class DiagonalPrecisions(CovarianceType):
    """What 'diag' and 'spherical' share: precisions are element-wise."""

    kernels = diag_kernels
    missing_kernels = MissingKernels(
        missing_diag.statistics_diag,
        missing_diag.score_diag,
        missing_diag.impute_diagonal,
    )
    per_feature_counts = True

    @staticmethod
    def sum_sq_shape(n_components, n_features):
        return (n_components, n_features)

    @staticmethod
    def add_second_moment(sum_sq, k, diff, resp_k):
        sum_sq[k] += resp_k @ (diff * diff)

    @staticmethod
    def factorise(covariances):
        positive = covariances > 0.0  # False for NaN too
        factors = 1.0 / np.sqrt(np.where(positive, covariances, 1.0))
        failed = ~positive if positive.ndim == 1 else ~positive.all(axis=1)
        return np.where(positive, factors, 0.0), failed

    @staticmethod
    def add_to_diagonal(covariances, components, amount):
        covariances = covariances.copy()
        covariances[components] += amount
        return covariances

    copy_component = staticmethod(copy_per_component)

    @staticmethod
    def precisions_cholesky_from_precisions(precisions):
        return np.sqrt(precisions)

    @staticmethod
    def covariances_from_precisions(precisions):
        return 1.0 / precisions

    @staticmethod
    def moved_sum_sq(counts, sum_diff, sum_sq, delta):
        return sum_sq + 2.0 * sum_diff * delta + counts * delta * delta

    @staticmethod
    def model_sum_sq(weights, covariances, reg_covar):
        # 'spherical': one variance per component, for every feature (broadcast by the caller).
        variances = covariances if covariances.ndim == 2 else covariances[:, None]
        return weights[:, None] * (variances - reg_covar)

    @staticmethod
    def mahalanobis_sum(resp_sum, sum_diff, sum_sq, shift, kernel_precisions):
        squares = centred_squares(resp_sum[:, None], sum_diff, sum_sq, shift)
        return float(np.sum(np.asarray(kernel_precisions, dtype=np.float64) ** 2 * squares))

    @staticmethod
    def precisions(precisions_cholesky):
        return precisions_cholesky**2

    @staticmethod
    def sample(rng, means, covariances, counts):
        return [
            mu + rng.standard_normal(size=(int(n), means.shape[1])) * np.sqrt(cov)
            for mu, cov, n in zip(means, covariances, counts)
        ]
