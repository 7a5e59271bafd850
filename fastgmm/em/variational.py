"""The variational Bayesian Gaussian mixture on the EM spine (Bishop 10.2), with
scikit-learn's ``BayesianGaussianMixture`` conventions.

The priors: a Dirichlet distribution or a Dirichlet process (stick-breaking,
Beta(1, gamma) sticks) on the weights, and a Gaussian-Wishart on each
component's mean and precision.  The variational posterior has the same
forms; one iteration is

- the E-step: the fused statistics pass of the EM kernels, with the
  per-component constant ``log_weights`` = E[log pi_k] - D/2 log nu_k +
  (E[log det Lambda_k] - D log 2 ... ) / 2 - D / (2 beta_k) (``expected_log_terms``):
  the kernels' log-density through the factor of nu_k W_k is then
  E[log pi_k N(x | mu_k, Lambda_k)] up to constants (Bishop 10.64-10.66);
- the M-step: the posterior hyperparameters from (N_k, means, covariances)
  of the same statistics (Bishop 10.58-10.63, ``update``);
- the bound: scikit-learn's lower bound (``lower_bound``), whose entropy term
  sum_i sum_k r_ik log r_ik comes from the same pass: it equals
  sum_k N_k c_k - 1/2 sum_k sum_i r_ik |y_ik|^2 - sum_i log-sum-exp_i, with
  c_k the kernels' constants and the middle sum from the centred second moments
  (``CovarianceType.mahalanobis_sum``).  No N x K array is needed.

Missing values (``missing_values='marginalize'``) are latent variables of the
posterior, q(z_i, x_i,m) q(pi, mu, Lambda).  Given component k, E[log N(x | mu_k,
Lambda_k)] is -1/2 nu_k (x - m_k)^T W_k (x - m_k) in x_m plus terms free of it, so
q(x_m | k) is the conditional of N(m_k, (nu_k W_k)^-1) given x_o and, integrated
out, leaves the marginal density of x_o: the kernels' missing-value E-step with the
same ``log_weights``.  The M-step takes the expected statistics; the 'full' and
'tied' kernels make them, and ``expected_statistics`` completes the diagonal
types' (their kernels leave missing values out, for EM's per-feature counts).  The
entropy of q(x_m | k), |m|/2 (1 + log 2 pi) - 1/2 log det (nu_k W_k)_mm, belongs in
the bound: with the expected statistics, ``sum_resp_log_resp``'s formula gives
sum r log r less that entropy exactly (the log-determinants cancel against the
marginal densities', and tr(P_mm P_mm^-1) = |m| completes the constant).

scikit-learn's ``lower_bound_`` leaves out the terms that do not change during
a fit but depend on ``n_components`` (prior normalisers and constants), so it
cannot compare fits of different sizes.  ``full_lower_bound`` adds them
(Bishop 10.70-10.77) for the Dirichlet-distribution prior and 'full'
covariances: the one case where scikit-learn's updates are the exact
variational optimum of the model that bound describes (its 'tied' update
counts the shared Wishart K times; 'diag' and 'spherical' use the full
Wishart's normaliser).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from ..covariance import RESP_SUM_EPS, kernel_arguments
from ..data.statistics import SufficientStatistics
from .initialization import INITIAL_STATISTICS
from .loop import Reporter, best_of_restarts, until_converged


@dataclass(frozen=True)
class Posterior:
    """Variational posterior hyperparameters (scikit-learn's fitted attributes).

    ``covariances`` are the Wishart scale matrices' inverses divided by the
    degrees of freedom, and ``precisions_cholesky`` their precision factors, as
    in scikit-learn.
    """

    weight_concentration: object  # (K,), or a pair of (K,) for the Dirichlet process
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: object  # (K,), a float for 'tied'
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass(frozen=True)
class VariationalRun:
    """The outcome of the best run of a variational fit (``stopped``: the callback
    stopped the fit)."""

    posterior: Posterior
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    n_degenerate: int = 0
    stopped: bool = False


# -- the M-step: posterior hyperparameters (Bishop 10.58-10.63) -------------------------


def _wishart_full(nk, xk, sk, priors, mean_precision, n_components):
    degrees_of_freedom = priors.degrees_of_freedom + nk
    diff = xk - priors.mean
    shrink = nk * priors.mean_precision / mean_precision
    scale = (
        priors.covariance
        + nk[:, None, None] * sk
        + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]
    )
    return degrees_of_freedom, scale / degrees_of_freedom[:, None, None]


def _wishart_tied(nk, xk, sk, priors, mean_precision, n_components):
    degrees_of_freedom = priors.degrees_of_freedom + nk.sum() / n_components
    diff = xk - priors.mean
    scale = (
        priors.covariance
        + sk * nk.sum() / n_components
        + priors.mean_precision / n_components * np.dot((nk / mean_precision) * diff.T, diff)
    )
    return degrees_of_freedom, scale / degrees_of_freedom


def _wishart_diag(nk, xk, sk, priors, mean_precision, n_components):
    degrees_of_freedom = priors.degrees_of_freedom + nk
    diff = xk - priors.mean
    scale = priors.covariance + nk[:, None] * (
        sk + (priors.mean_precision / mean_precision)[:, None] * np.square(diff)
    )
    return degrees_of_freedom, scale / degrees_of_freedom[:, None]


def _wishart_spherical(nk, xk, sk, priors, mean_precision, n_components):
    degrees_of_freedom = priors.degrees_of_freedom + nk
    diff = xk - priors.mean
    scale = priors.covariance + nk * (
        sk + priors.mean_precision / mean_precision * np.mean(np.square(diff), 1)
    )
    return degrees_of_freedom, scale / degrees_of_freedom


# covariance_type: the Wishart (or Gamma) posterior of the precisions.
WISHART_UPDATES = {
    "full": _wishart_full,
    "tied": _wishart_tied,
    "diag": _wishart_diag,
    "spherical": _wishart_spherical,
}


def update(covariance, statistics, reg_covar, priors, factorise):
    """The posterior from the statistics of responsibilities (scikit-learn's ``_m_step``)."""
    nk = statistics.resp_sum + RESP_SUM_EPS
    _, xk, sk = covariance.m_step(statistics, reg_covar)
    if priors.prior_type == "dirichlet_process":
        tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))
        weight_concentration = (1.0 + nk, priors.weight_concentration + tail)
    else:
        weight_concentration = priors.weight_concentration + nk
    mean_precision = priors.mean_precision + nk
    means = (priors.mean_precision * priors.mean + nk[:, None] * xk) / mean_precision[:, None]
    degrees_of_freedom, covariances = WISHART_UPDATES[covariance.name](
        nk, xk, sk, priors, mean_precision, len(nk)
    )
    covariances, precisions_cholesky = factorise(covariances)
    return Posterior(
        weight_concentration,
        mean_precision,
        means,
        degrees_of_freedom,
        covariances,
        precisions_cholesky,
    )


def expected_statistics(covariance, statistics, means, precisions_cholesky):
    """The statistics of the complete data expected under q(x_m | k), for the diagonal
    types with missing values (the others' kernels make them; see the module
    docstring): each missing value of feature a, with responsibility mass
    ``missing_resp[k, a]``, adds its mean m_k,a to the first moments and
    (m_k,a - c_k,a)^2 + 1 / (nu_k W_k)_a to the second, about the reference c_k.
    ``means`` and ``precisions_cholesky`` are the posterior's that gave the
    statistics (the E-step's).  Other statistics are returned as they are.
    """
    if statistics.missing_resp is None or not covariance.per_feature_counts:
        return statistics
    n_components, n_features = means.shape
    factors = covariance.kernel_precisions(precisions_cholesky, n_components, n_features)
    shift = means - statistics.reference
    missing_resp = statistics.missing_resp
    return SufficientStatistics(
        resp_sum=statistics.resp_sum,
        sum_diff=statistics.sum_diff + missing_resp * shift,
        sum_sq=statistics.sum_sq + missing_resp * (shift * shift + 1.0 / factors**2),
        reference=statistics.reference,
        log_likelihood=statistics.log_likelihood,
        total_weight=statistics.total_weight,
    )


# -- the E-step's constants (Bishop 10.64-10.66) -----------------------------------------


def expected_log_weights(posterior, prior_type):
    """E[log pi_k] under the posterior (stick-breaking sums for the Dirichlet process)."""
    if prior_type == "dirichlet_process":
        a, b = posterior.weight_concentration
        digamma_sum = digamma(a + b)
        sticks_left = np.cumsum(digamma(b) - digamma_sum)[:-1]
        return digamma(a) - digamma_sum + np.hstack((0, sticks_left))
    concentration = posterior.weight_concentration
    return digamma(concentration) - digamma(np.sum(concentration))


def _log_lambda(degrees_of_freedom, n_features):
    """E[log det Lambda_k] - log det W_k = D log 2 + sum_d digamma((nu_k - d) / 2)."""
    dof = np.asarray(degrees_of_freedom, dtype=np.float64)
    terms = (
        digamma(0.5 * (dof - np.arange(n_features)[:, None]))
        if dof.ndim
        else digamma(0.5 * (dof - np.arange(n_features)))
    )
    return n_features * math.log(2.0) + np.sum(terms, 0)


def expected_log_terms(posterior, prior_type, n_features):
    """The kernels' ``log_weights``: what E[log pi_k N(x | mu_k, Lambda_k)] adds to
    log N(x | m_k, (nu_k W_k)^-1), per component."""
    dof = posterior.degrees_of_freedom
    terms = -0.5 * n_features * np.log(dof) + 0.5 * (
        _log_lambda(dof, n_features) - n_features / posterior.mean_precision
    )
    return expected_log_weights(posterior, prior_type) + terms


def weights(posterior, prior_type):
    """The expected weights (scikit-learn's ``weights_``)."""
    if prior_type == "dirichlet_process":
        a, b = posterior.weight_concentration
        total = a + b
        weights = a / total * np.hstack((1, np.cumprod(b / total)[:-1]))
        return weights / np.sum(weights)
    concentration = posterior.weight_concentration
    return concentration / np.sum(concentration)


# -- the bound ---------------------------------------------------------------------------


def _log_wishart_norm(degrees_of_freedom, log_det_precisions_cholesky, n_features):
    # scikit-learn's, without the log(pi) term.
    dof = np.asarray(degrees_of_freedom, dtype=np.float64)
    return -(
        dof * log_det_precisions_cholesky
        + dof * n_features * 0.5 * math.log(2.0)
        + np.sum(gammaln(0.5 * (dof - np.arange(n_features)[:, None])), 0)
    )


def lower_bound(covariance, posterior, priors, n_features, sum_resp_log_resp):
    """scikit-learn's variational lower bound (``lower_bound_``): constant terms dropped."""
    dof = posterior.degrees_of_freedom
    log_det = covariance.log_det_cholesky(
        posterior.precisions_cholesky, n_features
    ) - 0.5 * n_features * np.log(dof)
    if covariance.name == "tied":
        n_components = len(posterior.mean_precision)
        log_wishart = n_components * float(np.sum(_log_wishart_norm(dof, log_det, n_features)))
    else:
        log_wishart = float(np.sum(_log_wishart_norm(dof, log_det, n_features)))
    if priors.prior_type == "dirichlet_process":
        log_norm_weight = -np.sum(betaln(*posterior.weight_concentration))
    else:
        concentration = posterior.weight_concentration
        log_norm_weight = gammaln(np.sum(concentration)) - np.sum(gammaln(concentration))
    return float(
        -sum_resp_log_resp
        - log_wishart
        - log_norm_weight
        - 0.5 * n_features * np.sum(np.log(posterior.mean_precision))
    )


def sum_resp_log_resp(covariance, statistics, kernel_means, kernel_precisions, log_const):
    """sum_i w_i sum_k r_ik log r_ik of the pass that gave ``statistics`` (see the module
    docstring), from the kernels' own arguments."""
    shift = kernel_means.astype(np.float64) - statistics.reference
    mahalanobis = covariance.mahalanobis_sum(
        statistics.resp_sum, statistics.sum_diff, statistics.sum_sq, shift, kernel_precisions
    )
    return float(statistics.resp_sum @ log_const - 0.5 * mahalanobis - statistics.log_likelihood)


# -- the fit -----------------------------------------------------------------------------


def iterate(
    source,
    covariance,
    priors,
    posterior,
    repair,
    *,
    tol,
    max_iter,
    reg_covar,
    lower_bound_start=-np.inf,
    reporter=None,
):
    """Variational updates from ``posterior`` until |change of the bound| < tol or max_iter."""
    n_features = posterior.means.shape[1]

    def step(posterior):
        log_weights = expected_log_terms(posterior, priors.prior_type, n_features)
        statistics = expected_statistics(
            covariance,
            source.statistics(log_weights, posterior.means, posterior.precisions_cholesky),
            posterior.means,
            posterior.precisions_cholesky,
        )
        entropy = sum_resp_log_resp(
            covariance,
            statistics,
            *kernel_arguments(
                covariance,
                log_weights,
                posterior.means,
                posterior.precisions_cholesky,
                source.dtype,
            ),
        )
        posterior = update(covariance, statistics, reg_covar, priors, repair.factorise)
        return posterior, lower_bound(covariance, posterior, priors, n_features, entropy)

    posterior, bound, lower_bounds, n_iter, converged = until_converged(
        step,
        posterior,
        repair,
        tol=tol,
        max_iter=max_iter,
        lower_bound=lower_bound_start,
        reporter=reporter,
    )
    return VariationalRun(posterior, bound, lower_bounds, n_iter, converged, repair.n_events)


def fit_variational(source, options, priors, random_state, warm_start_from=None):
    """Fit with ``options.n_init`` restarts and keep the run with the highest bound
    (``warm_start_from``: a previous ``VariationalRun`` to continue, in one run)."""
    covariance = options.covariance
    reporter = Reporter(options, warm_start_from is not None)

    def run_once(repair):
        if warm_start_from is None:
            X, sample_weight, _ = source.initialisation_data(random_state, options.n_components)
            statistics = INITIAL_STATISTICS[options.init_params](
                covariance, X, options.n_components, random_state, sample_weight, None
            )
            posterior = update(covariance, statistics, options.reg_covar, priors, repair.factorise)
            start = -np.inf
        else:
            posterior, start = warm_start_from.posterior, warm_start_from.lower_bound
        if options.max_iter == 0:
            return VariationalRun(posterior, -np.inf, [], 0, False, repair.n_events)
        return iterate(
            source,
            covariance,
            priors,
            posterior,
            repair,
            tol=options.tol,
            max_iter=options.max_iter,
            reg_covar=options.reg_covar,
            lower_bound_start=start,
            reporter=reporter,
        )

    return best_of_restarts(source, options, warm_start_from is not None, reporter, run_once)


def full_lower_bound(covariance, posterior, priors, lower_bound_value, total_weight):
    """The complete variational lower bound of a fit with the Dirichlet-distribution prior.

    With q(pi, mu, Lambda) the posterior of the responsibilities r (Bishop
    10.58-10.63), the bound of Bishop 10.70-10.77 collapses to

        -sum r log r + log C(alpha_0) - log C(alpha) + sum_k [log B(W_0, nu_0) - log B(W_k, nu_k)
        + D/2 log(beta_0 / beta_k)] - N D / 2 log(2 pi)

    (C: the Dirichlet normaliser, B: the Wishart normaliser).  scikit-learn's
    bound (``lower_bound_value``) is this without the terms of the prior and the
    constant: they are added here.  ``reg_covar`` moves the posterior off the
    exact optimum by O(reg_covar).
    """
    n_components, n_features = posterior.means.shape
    alpha_0 = priors.weight_concentration
    log_dirichlet_norm_prior = gammaln(n_components * alpha_0) - n_components * gammaln(alpha_0)
    prior_factor, _ = covariance.factorise(_prior_layout(covariance.name, priors.covariance))
    prior_log_det = covariance.log_det_cholesky(prior_factor, n_features)
    log_wishart_prior = float(
        np.sum(_log_wishart_norm(priors.degrees_of_freedom, prior_log_det, n_features))
    )
    return float(
        lower_bound_value
        + log_dirichlet_norm_prior
        + n_components * log_wishart_prior
        + 0.5 * n_features * n_components * math.log(priors.mean_precision)
        - 0.5 * total_weight * n_features * math.log(2.0 * math.pi)
    )


def _prior_layout(covariance_type, covariance_prior):
    """The prior covariance in the type's layout for one component."""
    if covariance_type == "tied":
        return np.asarray(covariance_prior, dtype=np.float64)
    return np.asarray(covariance_prior, dtype=np.float64)[None]
