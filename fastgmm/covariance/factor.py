"""Mixtures of factor analysers (and of probabilistic PCA): the kernels' arguments and the
M-step from their statistics (``_kernels/factor.py``, whose docstring gives the layouts).

Component k's covariance is Sigma_k = W_k W_k^T + Psi_k with W_k a D x q loading matrix,
stored transposed as ``loadings[k]`` (q, D) like scikit-learn's
``FactorAnalysis.components_``, and ``noise_variance[k]`` = diag(Psi_k) (D,), or sigma_k^2
(a number per component) for probabilistic PCA.  The work is O(K (D q^2 + q^3)) here and
O(N K D q) in the kernel; no D x D matrix is formed.

The covariance types 'factor' and 'ppca' are instances of ``FactorCovariance`` (one per
number of factors), made by ``covariance.covariance_type``.
"""

import numpy as np

from .._kernels import factor as factor_kernels
from .base import RESP_SUM_EPS, CovarianceType, copy_per_component
from .base import kernel_arguments as base_kernel_arguments
from .full import FullCovariance

# float32 log-densities take the residual form (``_kernels/factor.py``) for a component whose
# W^T Psi^-1 W has an eigenvalue above this: the Woodbury difference's relative error,
# about 2 eps (1 + lambda), would pass 1.2e-5.
RESIDUAL_FORM_EIGENVALUE = 100.0

# The least squared length of a starting loading column, relative to the noise variance.
START_LOADING_FLOOR = 1e-3

UNSUPPORTED = (
    "{what} is not implemented for the covariance types 'factor' and 'ppca' yet; use "
    "another covariance_type."
)


def _noise_matrix(noise_variance, n_features):
    """(K, D) noise variances from (K, D), or from (K,) for isotropic noise."""
    noise = np.asarray(noise_variance, dtype=np.float64)
    return noise if noise.ndim == 2 else np.repeat(noise[:, None], n_features, axis=1)


def latent_posterior(loadings, noise_variance):
    """Per component, the Cholesky factor L_k of M_k = I_q + W_k^T Psi_k^-1 W_k (K, q, q),
    lower-triangular; the latent factors' posterior covariance given a row is M_k^-1."""
    loadings = np.asarray(loadings, dtype=np.float64)
    n_factors = loadings.shape[1]
    noise = _noise_matrix(noise_variance, loadings.shape[2])
    scaled = loadings / noise[:, None, :]  # W^T Psi^-1, (K, q, D)
    M = np.eye(n_factors) + np.einsum("kja,kma->kjm", scaled, loadings)
    return np.linalg.cholesky(M)


def kernel_factors(loadings, noise_variance):
    """``kernel_factors[k]`` (3q + 2, D) for ``_kernels.factor.run_pass``: with L_k from
    :func:`latent_posterior`, it stacks A_k = L_k^-1 W_k^T Psi_k^-1 (q rows), Psi_k^-1/2
    (a row), L_k^-T (q rows, q columns), W_k^T Psi_k^-1/2 (q rows), and a row whose first
    value says whether float32 data take the residual form (the largest eigenvalue of
    W_k^T Psi_k^-1 W_k = M_k - I above ``RESIDUAL_FORM_EIGENVALUE``); float64."""
    loadings = np.asarray(loadings, dtype=np.float64)
    n_components, n_factors, n_features = loadings.shape
    if n_factors > n_features:
        raise ValueError(f"n_factors={n_factors} must be at most n_features={n_features}")
    noise = _noise_matrix(noise_variance, n_features)
    lower = latent_posterior(loadings, noise)
    factors = np.zeros((n_components, 3 * n_factors + 2, n_features))
    for k in range(n_components):
        lower_inverse = np.linalg.inv(lower[k])
        factors[k, :n_factors] = lower_inverse @ (loadings[k] / noise[k])
        factors[k, n_factors] = 1.0 / np.sqrt(noise[k])
        factors[k, n_factors + 1 : 2 * n_factors + 1, :n_factors] = lower_inverse.T
        factors[k, 2 * n_factors + 1 : 3 * n_factors + 1] = loadings[k] / np.sqrt(noise[k])
        largest = np.linalg.eigvalsh(lower[k] @ lower[k].T)[-1] - 1.0
        factors[k, 3 * n_factors + 1, 0] = float(largest > RESIDUAL_FORM_EIGENVALUE)
    return factors


def kernel_arguments(log_weights, means, loadings, noise_variance, dtype):
    """``(kernel_means, kernel_factors, log_const)`` for ``_kernels.factor.run_pass`` on data
    of ``dtype``, with log_const_k = log pi_k - (D log(2 pi) + log det Psi_k + 2 log det
    L_k) / 2 (the determinant lemma): what ``covariance.kernel_arguments`` gives for the
    packed parameters, from loadings and noise variances."""
    covariance = FactorCovariance(np.shape(loadings)[1], np.ndim(noise_variance) == 1)
    return base_kernel_arguments(
        covariance,
        np.asarray(log_weights, dtype=np.float64),
        np.asarray(means, dtype=np.float64),
        kernel_factors(loadings, noise_variance),
        dtype,
    )


def statistics_shape(n_components, n_features, n_factors):
    """The shape of one chunk's ``sum_sq`` slot (``_kernels/factor.py``)."""
    return (n_components, n_features + n_factors, n_factors + 2)


def m_step(resp_sum, sum_sq, reference, isotropic, reg_covar):
    """The M-step of Ghahramani & Hinton (1996), per component, from the kernel's statistics.

    ``resp_sum`` (K,) and ``sum_sq`` (K, D + q, q + 2) were taken about ``reference`` (the
    kernel's means).  In coordinates d = x - reference, with the mean as a last column of
    the loadings (W~ = [W  mu - reference], z~ = [z; 1]):

        W~_k = (sum_i q_ik d_i E[z~]^T) (sum_i q_ik E[z~ z~^T])^-1,
        Psi_k = diag(sum_i q_ik d_i d_i^T - W~_k sum_i q_ik E[z~] d_i^T) / N_k + reg_covar,

    or, with ``isotropic`` noise (PPCA), sigma_k^2 the mean of that diagonal.  The residual
    is a regression's, so the reference does not matter.  W~_k maximises the expected
    complete-data log-likelihood whatever Psi_k, and Psi_k then maximises it given W~_k,
    so the step is a full M-step.

    Returns float64 ``(weights, means, loadings, noise_variance)``, the noise as (K, D), or
    (K,) when ``isotropic``.  Components need N_k > 0 and a non-singular second moment.
    """
    n_components = len(resp_sum)
    n_factors = sum_sq.shape[2] - 2
    n_features = sum_sq.shape[1] - n_factors
    nk = resp_sum + RESP_SUM_EPS
    new_means = np.empty((n_components, n_features))
    new_loadings = np.empty((n_components, n_factors, n_features))
    new_noise = np.empty((n_components, n_features))
    for k in range(n_components):
        cross = sum_sq[k, :n_features, : n_factors + 1]  # sum q d E[z~]^T
        second_moment = np.empty((n_factors + 1, n_factors + 1))  # sum q E[z~ z~^T]
        second_moment[:n_factors] = sum_sq[k, n_features:, : n_factors + 1]
        second_moment[n_factors, :n_factors] = sum_sq[k, n_features:, n_factors]
        second_moment[n_factors, n_factors] = resp_sum[k]
        augmented = np.linalg.solve(second_moment, cross.T).T  # second_moment is symmetric
        residual = sum_sq[k, :n_features, n_factors + 1] - np.einsum("ab,ab->a", augmented, cross)
        new_loadings[k] = augmented[:, :n_factors].T
        new_means[k] = reference[k] + augmented[:, n_factors]
        new_noise[k] = residual / nk[k]
    if isotropic:
        new_noise = new_noise.mean(axis=1)
    return nk / nk.sum(), new_means, new_loadings, new_noise + reg_covar


class FactorCovariance(CovarianceType):
    """Mixtures of factor analysers ('factor') or of probabilistic PCA ('ppca'), with
    ``n_factors`` latent factors per component.

    The EM loops carry the parameters packed, so that every other part of the spine
    (sources, restarts, repairs) handles them as it handles the other types':

    - ``covariances`` (K, q + 1, D): rows 0 .. q-1 the loadings W_k^T, row q the noise
      variances diag(Psi_k) (sigma_k^2 repeated for 'ppca');
    - ``precisions_cholesky`` (K, 3q + 2, D): the kernel's factors (``kernel_factors``),
      a factorisation of the precision that is not triangular: Sigma_k^-1 =
      Psi_k^-1 - A_k^T A_k, and its "log det" is -log det Sigma_k / 2 as for U_k.

    The estimators show them as ``loadings_`` and ``noise_variance_``, and build the
    dense ``covariances_`` and ``precisions_cholesky_`` only when asked.
    """

    kernels = factor_kernels
    missing_kernels = None  # no missing-value kernel yet (em/options.py says so)

    def __init__(self, n_factors, isotropic):
        self.n_factors = int(n_factors)
        self.isotropic = bool(isotropic)
        self.name = "ppca" if isotropic else "factor"

    def __repr__(self):
        return f"FactorCovariance(n_factors={self.n_factors}, isotropic={self.isotropic})"

    def __eq__(self, other):
        return isinstance(other, FactorCovariance) and (self.n_factors, self.isotropic) == (
            other.n_factors,
            other.isotropic,
        )

    def __hash__(self):
        return hash((self.name, self.n_factors))

    # -- packing --------------------------------------------------------------------------
    def pack(self, loadings, noise_variance):
        """The loops' ``covariances`` (K, q + 1, D) from loadings (K, q, D) and noise."""
        loadings = np.asarray(loadings, dtype=np.float64)
        noise = _noise_matrix(noise_variance, loadings.shape[2])
        return np.concatenate([loadings, noise[:, None, :]], axis=1)

    def unpack(self, covariances):
        """``(loadings, noise_variance)`` of packed ``covariances``: noise (K, D), or (K,)
        for 'ppca'."""
        noise = covariances[:, self.n_factors]
        return covariances[:, : self.n_factors], noise[:, 0] if self.isotropic else noise

    @staticmethod
    def dense_covariances(covariances):
        """Sigma_k = W_k W_k^T + Psi_k (K, D, D) of packed ``covariances``."""
        loadings, noise = covariances[:, :-1], covariances[:, -1]
        dense = np.einsum("kja,kjb->kab", loadings, loadings)
        diagonal = np.einsum("kaa->ka", dense)
        diagonal += noise
        return dense

    def fitted_arrays(self, covariances, precisions_cholesky):
        """``loadings_`` (K, q, D) and ``noise_variance_`` ((K, D), or (K,) for 'ppca')."""
        loadings, noise = self.unpack(covariances)
        return {"loadings_": loadings, "noise_variance_": noise}

    def loop_parameters(self, fitted):
        covariances = self.pack(fitted("loadings_"), fitted("noise_variance_"))
        return covariances, self.precisions_cholesky(covariances)

    def dense_arrays(self, covariances):
        """scikit-learn's 'full' ``covariances_``, ``precisions_`` and
        ``precisions_cholesky_`` (K, D, D each) of packed ``covariances``."""
        dense = self.dense_covariances(covariances)
        return FullCovariance().fitted_arrays(dense, FullCovariance().precisions_cholesky(dense))

    # -- sufficient statistics and the M-step ---------------------------------------------
    def sum_sq_shape(self, n_components, n_features):
        return statistics_shape(n_components, n_features, self.n_factors)

    def m_step(self, statistics, reg_covar):
        """Ghahramani & Hinton's M-step (:func:`m_step`): ``(weights, means, covariances)``
        with the covariances packed."""
        weights, means, loadings, noise = m_step(
            statistics.resp_sum,
            statistics.sum_sq,
            statistics.reference,
            self.isotropic,
            reg_covar,
        )
        return weights, means, self.pack(loadings, noise)

    def initialisation_type(self):
        # k-means' clusters (or the other starts' responsibilities) give full covariances,
        # and a PCA of each gives the factors (``from_initial_covariances``).
        return FullCovariance()

    def from_initial_covariances(self, covariances, reg_covar):
        """Per component, the factor model nearest a full covariance S (Tipping & Bishop's
        maximum-likelihood PPCA): W = U_q (Lambda_q - sigma^2 I)^1/2 from S's q leading
        eigenpairs, sigma^2 the mean of the other eigenvalues; for 'factor', Psi =
        diag(S - W W^T), which is at least sigma^2 (plus the ``reg_covar`` on S) where S
        has q eigenvalues above sigma^2 (1 + ``START_LOADING_FLOOR``)."""
        n_components, n_features = covariances.shape[:2]
        q = self.n_factors
        loadings = np.empty((n_components, q, n_features))
        noise = np.empty((n_components, n_features))
        for k in range(n_components):
            eigenvalues, eigenvectors = np.linalg.eigh(covariances[k])
            eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
            rest = eigenvalues[q:]
            sigma2 = rest.mean() if rest.size else reg_covar
            # Zero loadings are a fixed point of EM (the factors' posterior means are then
            # 0, and so are the next loadings): a start from single points
            # ('random_from_data', 'k-means++': S = reg_covar I) gets small ones instead.
            floor = START_LOADING_FLOOR * sigma2
            scale = np.sqrt(np.maximum(eigenvalues[:q] - sigma2, floor))
            loadings[k] = (eigenvectors[:, :q] * scale).T
            if self.isotropic:
                noise[k] = sigma2
            else:
                noise[k] = np.diagonal(covariances[k]) - np.sum(loadings[k] ** 2, axis=0)
        return self.pack(loadings, noise)

    # Not used: the initial statistics are 'full' ones (``initialisation_type``), and
    # ``m_step`` replaces the generic M-step that calls ``covariances``.
    def add_second_moment(self, sum_sq, k, diff, resp_k):
        raise NotImplementedError("factor statistics come from the kernel only")

    def covariances(self, resp_sum, sum_diff, sum_sq, shift, nk, reg_covar):
        raise NotImplementedError("the factor M-step is FactorCovariance.m_step")

    def moved_sum_sq(self, counts, sum_diff, sum_sq, delta):
        """``sum_sq`` about c - delta instead of c: with d' = d + delta, sum q d' z^T =
        sum q d z^T + delta (sum q z)^T, sum q d' = sum q d + N delta and sum q d'^2 =
        sum q d^2 + 2 delta sum q d + N delta^2; the factors' moments do not move."""
        q, n_features = self.n_factors, delta.shape[1]
        moved = sum_sq.copy()
        first = sum_sq[:, :n_features, q]
        latent_sum = sum_sq[:, n_features:, q]
        moved[:, :n_features, :q] += delta[:, :, None] * latent_sum[:, None, :]
        moved[:, :n_features, q] += counts * delta
        moved[:, :n_features, q + 1] += 2.0 * delta * first + counts * delta * delta
        return moved

    def model_sum_sq(self, weights, covariances, reg_covar):
        """What a mixture expects of its own data per unit weight, about its means:
        sum q d z^T = pi_k W_k (E[d z^T] = Sigma beta^T = W), sum q E[z z^T] = pi_k I,
        sum q d^2 = pi_k diag(Sigma_k - reg_covar I), the first moments zero."""
        q = self.n_factors
        n_components, _, n_features = covariances.shape
        loadings, noise = covariances[:, :q], covariances[:, q]
        expected = np.zeros(self.sum_sq_shape(n_components, n_features))
        expected[:, :n_features, :q] = np.swapaxes(loadings, 1, 2)
        expected[:, :n_features, q + 1] = np.sum(loadings**2, axis=1) + noise - reg_covar
        expected[:, n_features:, :q] = np.eye(q)
        return weights[:, None, None] * expected

    def mahalanobis_sum(self, resp_sum, sum_diff, sum_sq, shift, kernel_precisions):
        raise NotImplementedError(UNSUPPORTED.format(what="The variational mixture"))

    # -- factors and derived quantities ---------------------------------------------------
    def factorise(self, covariances):
        """``(kernel_factors, failed)``: a component fails if a noise variance is not
        positive or a loading is not finite (its factors left zero)."""
        loadings, noise = covariances[:, : self.n_factors], covariances[:, self.n_factors]
        failed = ~(
            np.all(noise > 0.0, axis=1)
            & np.all(np.isfinite(noise), axis=1)
            & np.all(np.isfinite(loadings), axis=(1, 2))
        )
        factors = np.zeros((covariances.shape[0], 3 * self.n_factors + 2, covariances.shape[2]))
        good = ~failed
        if good.any():
            factors[good] = kernel_factors(loadings[good], noise[good])
        return factors, failed

    def precisions(self, precisions_cholesky):
        """Dense Sigma_k^-1 = Psi_k^-1 - A_k^T A_k (Woodbury) from the kernel's factors."""
        q = self.n_factors
        scaled = precisions_cholesky[:, :q]
        dense = -np.einsum("kja,kjb->kab", scaled, scaled)
        diagonal = np.einsum("kaa->ka", dense)
        diagonal += precisions_cholesky[:, q] ** 2
        return dense

    def precisions_cholesky_from_precisions(self, precisions):
        raise NotImplementedError(UNSUPPORTED.format(what="precisions_init"))

    covariances_from_precisions = precisions_cholesky_from_precisions

    def log_det_cholesky(self, precisions_cholesky, n_features):
        """-log det Sigma_k / 2 = log det Psi_k^-1/2 + log det L_k^-T (determinant lemma)."""
        q = self.n_factors
        inverse_lower_t = precisions_cholesky[:, q + 1 : 2 * q + 1, :q]
        return np.log(precisions_cholesky[:, q]).sum(axis=1) + np.log(
            np.diagonal(inverse_lower_t, axis1=1, axis2=2)
        ).sum(axis=1)

    @staticmethod
    def kernel_precisions(precisions_cholesky, n_components, n_features):
        return precisions_cholesky

    def identity_precisions_cholesky(self, n_components, n_features):
        identity = self.pack(
            np.zeros((n_components, self.n_factors, n_features)), np.ones(n_components)
        )
        return self.factorise(identity)[0]

    def n_covariance_parameters(self, n_components, n_features):
        """Per component D q - q (q - 1) / 2 for the loadings (defined up to a rotation of
        the factors) and D noise variances, or one for 'ppca'."""
        q = self.n_factors
        noise = 1 if self.isotropic else n_features
        return n_components * (n_features * q - q * (q - 1) / 2.0 + noise)

    def sample(self, rng, means, covariances, counts):
        """x = mu_k + W_k z + Psi_k^1/2 e, z and e standard normal."""
        q = self.n_factors
        blocks = []
        for mu, packed, n in zip(means, covariances, counts):
            latent = rng.standard_normal(size=(int(n), q))
            noise = rng.standard_normal(size=(int(n), means.shape[1]))
            blocks.append(mu + latent @ packed[:q] + noise * np.sqrt(packed[q]))
        return blocks

    # -- repairs of degenerate components -------------------------------------------------
    def add_to_diagonal(self, covariances, components, amount):
        covariances = covariances.copy()
        covariances[components, self.n_factors] += amount
        return covariances

    @staticmethod
    def spread(covariances):
        """trace(Sigma_k) / D."""
        return (np.sum(covariances[:, :-1] ** 2, axis=(1, 2)) + covariances[:, -1].sum(axis=1)) / (
            covariances.shape[2]
        )

    def principal_axis(self, covariances, k, n_features):
        # Rare (a component emptied out): the dense D x D eigenproblem is affordable.
        return FullCovariance.principal_axis(
            self.dense_covariances(covariances[k : k + 1]), 0, n_features
        )

    copy_component = staticmethod(copy_per_component)
