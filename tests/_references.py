"""Slow, obviously-right reference implementations that the tests compare fastgmm with.

Everything here is plain numpy/scipy on the dense (N x K) responsibility
matrix, written for clarity, in float64.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def make_blobs(
    n_samples, n_features, n_components, seed=0, scale=5.0, dtype=np.float64, return_centers=False
):
    """The benchmarks' data (benchmarks/README.md): blobs, unit noise around random centres."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=scale, size=(n_components, n_features))
    X = centers[rng.integers(n_components, size=n_samples)] + rng.normal(
        size=(n_samples, n_features)
    )
    return (X.astype(dtype), centers) if return_centers else X.astype(dtype)


def dense_covariances(covariances, covariance_type, n_components, n_features):
    """Covariances in any layout as a (K, D, D) stack of matrices."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([np.eye(n_features) * c for c in covariances])


def weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x_i | mu_k, Sigma_k) via scipy.stats.multivariate_normal."""
    n_components, n_features = np.shape(means)
    dense = dense_covariances(covariances, covariance_type, n_components, n_features)
    X = np.asarray(X, dtype=np.float64)
    return np.stack(
        [
            np.log(weights[k]) + multivariate_normal(means[k], dense[k]).logpdf(X).reshape(-1)
            for k in range(n_components)
        ],
        axis=1,
    )


def score_samples(X, weights, means, covariances, covariance_type):
    """log p(x_i) of the mixture."""
    return logsumexp(weighted_log_prob(X, weights, means, covariances, covariance_type), axis=1)


def responsibilities(X, weights, means, covariances, covariance_type):
    log_prob = weighted_log_prob(X, weights, means, covariances, covariance_type)
    return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))


def m_step(X, resp, covariance_type, reg_covar):
    """Textbook M-step (Bishop 9.24-9.27) with sklearn's 10 eps added to N_k."""
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    full = np.stack(
        [
            sum(resp[i, k] * np.outer(X[i] - means[k], X[i] - means[k]) for i in range(n_samples))
            / nk[k]
            for k in range(len(nk))
        ]
    )
    eye = np.eye(n_features)
    covariances = {
        "full": lambda: full + reg_covar * eye,
        "tied": lambda: (full * nk[:, None, None]).sum(axis=0) / nk.sum() + reg_covar * eye,
        "diag": lambda: np.einsum("kii->ki", full) + reg_covar,
        "spherical": lambda: np.einsum("kii->ki", full).mean(axis=1) + reg_covar,
    }[covariance_type]()
    return nk / nk.sum(), means, covariances


def em_step(X, weights, means, covariances, covariance_type, reg_covar):
    """One EM iteration: returns (log-likelihood of the given parameters, new parameters)."""
    log_likelihood = score_samples(X, weights, means, covariances, covariance_type).sum()
    resp = responsibilities(X, weights, means, covariances, covariance_type)
    return log_likelihood, m_step(X, resp, covariance_type, reg_covar)


def precisions(covariances, covariance_type):
    """Inverse covariances in the same layout."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / np.asarray(covariances)


def n_parameters(covariance_type, n_components, n_features):
    """Free parameters, counted directly: K-1 weights, K*D means, and the covariances."""
    per_covariance = {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
    return (n_components - 1) + n_components * n_features + per_covariance


def random_parameters(rng, covariance_type, n_components, n_features, means=None):
    """Well-conditioned random parameters (float64) in sklearn's layouts.

    ``means`` (e.g. the true centres plus noise) replaces the random means.
    """
    weights = rng.dirichlet(np.full(n_components, 5.0))
    if means is None:
        means = rng.normal(scale=3.0, size=(n_components, n_features))

    def spd():
        A = rng.normal(size=(n_features, n_features))
        return A @ A.T / n_features + np.eye(n_features)

    covariances = {
        "full": lambda: np.stack([spd() for _ in range(n_components)]),
        "tied": spd,
        "diag": lambda: rng.uniform(0.5, 2.0, size=(n_components, n_features)),
        "spherical": lambda: rng.uniform(0.5, 2.0, size=n_components),
    }[covariance_type]()
    return weights, means, covariances


def initial_parameters(covariance_type, n_components, n_features, seed, centers=None):
    """A random start; near ``centers`` when given.

    Comparisons over several iterations start near the solution: EM from a
    poor start can amplify rounding differences by orders of magnitude per
    iteration (sklearn's diag/spherical formulas cancel more than ours), which
    would test chaos, not correctness.
    """
    rng = np.random.default_rng(seed)
    means = None if centers is None else centers + rng.normal(scale=0.5, size=centers.shape)
    weights, means, covariances = random_parameters(
        rng, covariance_type, n_components, n_features, means=means
    )
    return dict(
        weights_init=weights,
        means_init=means,
        precisions_init=precisions(covariances, covariance_type),
    )


# Incomplete data (NaN = missing at random): one EM step on the observed values.
# Row by row, on the observed sub-vector of each row, with the Gaussian
# conditioning formulas written out; see the docstring of missing_data_em_step.


def conditional_gaussian(mean, covariance, x, observed):
    """Mean and covariance of ``x[~observed]`` given ``x[observed]`` when x ~ N(mean, covariance).

    mean_m + S_mo S_oo^-1 (x_o - mean_o) and S_mm - S_mo S_oo^-1 S_om; with nothing
    observed, the marginal (mean_m, S_mm).
    """
    mean = np.asarray(mean, dtype=np.float64)
    covariance = np.asarray(covariance, dtype=np.float64)
    o, m = np.flatnonzero(observed), np.flatnonzero(~np.asarray(observed))
    if len(o) == 0:
        return mean[m], covariance[np.ix_(m, m)]
    gain = np.linalg.solve(covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]).T  # S_mo S_oo^-1
    conditional_mean = mean[m] + gain @ (np.asarray(x, dtype=np.float64)[o] - mean[o])
    conditional_covariance = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return conditional_mean, conditional_covariance


def observed_weighted_log_prob(x, weights, means, dense):
    """log pi_k + log N(x_o | mu_k,o, Sigma_k,oo) for one row ``x`` (NaN = missing);
    ``dense`` is the (K, D, D) stack of covariances.  With nothing observed, log pi_k."""
    observed = ~np.isnan(x)
    o = np.flatnonzero(observed)
    log_prob = np.log(np.asarray(weights, dtype=np.float64)).copy()
    if len(o):
        for k in range(len(log_prob)):
            log_prob[k] += multivariate_normal(means[k][o], dense[k][np.ix_(o, o)]).logpdf(x[o])
    return log_prob


def _incomplete_rows(X, means, covariances, covariance_type):
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    n_components, n_features = means.shape
    return X, means, dense_covariances(covariances, covariance_type, n_components, n_features)


def marginal_log_prob(X, weights, means, covariances, covariance_type):
    """log p(x_i,o) of the mixture: the density of each row's observed values (0 for a row
    with nothing observed)."""
    X, means, dense = _incomplete_rows(X, means, covariances, covariance_type)
    return np.array(
        [
            logsumexp(observed_weighted_log_prob(x, weights, means, dense))
            if (~np.isnan(x)).any()
            else 0.0
            for x in X
        ]
    )


def marginal_responsibilities(X, weights, means, covariances, covariance_type):
    """p(k | x_i,o); the weights for a row with nothing observed."""
    X, means, dense = _incomplete_rows(X, means, covariances, covariance_type)
    rows = []
    for x in X:
        log_prob = observed_weighted_log_prob(x, weights, means, dense)
        rows.append(np.exp(log_prob - logsumexp(log_prob)))
    return np.array(rows)


def conditional_expectation(X, weights, means, covariances, covariance_type):
    """X with every NaN replaced by E[x_m | x_o] = sum_k p(k | x_o) E[x_m | x_o, k]."""
    X, means, dense = _incomplete_rows(X, means, covariances, covariance_type)
    resp = marginal_responsibilities(X, weights, means, covariances, covariance_type)
    imputed = X.copy()
    for i, x in enumerate(X):
        observed = ~np.isnan(x)
        if observed.all():
            continue
        imputed[i, ~observed] = sum(
            resp[i, k] * conditional_gaussian(means[k], dense[k], x, observed)[0]
            for k in range(len(means))
        )
    return imputed


def missing_data_em_step(
    X,
    weights,
    means,
    covariances,
    covariance_type,
    reg_covar=1e-6,
    sample_weight=None,
    component_labels=None,
):
    """One EM iteration on data with NaN (missing at random).

    Returns ``(log_likelihood, weights, means, covariances)``: the weighted
    log-likelihood of the observed values under the *given* parameters, summed
    over the rows (a row with nothing observed adds nothing), and the parameters
    after the M-step, in sklearn's layouts.

    E-step: r_ik = pi_k N(x_o | mu_k,o, S_k,oo) / sum_j (...), on each row's
    observed features o (missing m).  A row labelled y (``component_labels[i] >= 0``;
    -1 = unlabelled) has r_ik = [k == y] and adds log(pi_y N(x_o | y)) instead of
    log p(x_o).

    M-step, 'full' and 'tied' (Ghahramani & Jordan 1994): the expected sufficient
    statistics, with x_m replaced by E[x_m | x_o, k] and the conditional covariance
    C_ik (zero outside the (m, m) block) added to each outer product.
    'diag' and 'spherical': each feature's mean and variance from the rows that
    observe it (their own counts n_kj), the exact maximiser of the expected
    complete-data log-likelihood with the components as the only latent variables.
    N_k + 10 eps as sklearn, everywhere a count divides.
    """
    X, means, dense = _incomplete_rows(X, means, covariances, covariance_type)
    n_samples, n_features = X.shape
    n_components = len(means)
    eps10 = 10 * np.finfo(np.float64).eps
    if sample_weight is None:
        sample_weight = np.ones(n_samples)
    sample_weight = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), (n_samples,))
    if component_labels is None:
        component_labels = np.full(n_samples, -1)

    # E-step.
    log_likelihood = 0.0
    resp = np.zeros((n_samples, n_components))
    for i, x in enumerate(X):
        if np.isnan(x).all():
            continue
        log_prob = observed_weighted_log_prob(x, weights, means, dense)
        label = component_labels[i]
        if label >= 0:
            resp[i, label] = 1.0
            log_likelihood += sample_weight[i] * log_prob[label]
        else:
            log_norm = logsumexp(log_prob)
            resp[i] = np.exp(log_prob - log_norm)
            log_likelihood += sample_weight[i] * log_norm
    weighted_resp = sample_weight[:, None] * resp
    nk = weighted_resp.sum(axis=0) + eps10
    new_weights = nk / nk.sum()

    # M-step.
    if covariance_type in ("full", "tied"):
        completed = np.zeros((n_samples, n_components, n_features))  # xhat_ik
        correction = np.zeros((n_samples, n_components, n_features, n_features))  # C_ik
        for i, x in enumerate(X):
            observed = ~np.isnan(x)
            m = np.flatnonzero(~observed)
            for k in range(n_components):
                conditional_mean, conditional_covariance = conditional_gaussian(
                    means[k], dense[k], x, observed
                )
                completed[i, k] = x
                completed[i, k, m] = conditional_mean
                correction[i, k][np.ix_(m, m)] = conditional_covariance
        new_means = np.stack(
            [
                sum(weighted_resp[i, k] * completed[i, k] for i in range(n_samples)) / nk[k]
                for k in range(n_components)
            ]
        )
        scatter = np.zeros((n_components, n_features, n_features))
        for k in range(n_components):
            for i in range(n_samples):
                d = completed[i, k] - new_means[k]
                scatter[k] += weighted_resp[i, k] * (np.outer(d, d) + correction[i, k])
        eye = np.eye(n_features)
        if covariance_type == "full":
            new_covariances = scatter / nk[:, None, None] + reg_covar * eye
        else:
            new_covariances = scatter.sum(axis=0) / nk.sum() + reg_covar * eye
        return log_likelihood, new_weights, new_means, new_covariances

    observed = ~np.isnan(X)
    values = np.where(observed, X, 0.0)
    counts = weighted_resp.T @ observed + eps10  # n_kj + 10 eps
    new_means = weighted_resp.T @ values / counts
    squares = np.zeros((n_components, n_features))
    for k in range(n_components):
        for j in range(n_features):
            rows = observed[:, j]
            squares[k, j] = np.sum(weighted_resp[rows, k] * (X[rows, j] - new_means[k, j]) ** 2)
    if covariance_type == "diag":
        new_covariances = squares / counts + reg_covar
    else:
        new_covariances = squares.sum(axis=1) / counts.sum(axis=1) + reg_covar
    return log_likelihood, new_weights, new_means, new_covariances


def variational_missing_step(model, X, sample_weight=None):
    """One variational iteration of ``BayesianGaussianMixture`` on data with NaN, from the
    posterior held by ``model`` (scikit-learn's estimator, e.g. fastgmm's ``to_sklearn()``).

    Returns ``(model, log_rho)``: the model with the posterior after the M-step (and its
    priors) and ``lower_bound_`` set; ``log_rho``, the E-step's log rho_ik (N x K).  A
    row with nothing observed has the constant terms alone (the density of no observed
    value is 1) and is left out of the M-step and the bound, as it tells nothing.

    Missing values are latent variables, q(z, x_m) q(pi, mu, Lambda) (Bishop 10.2 with
    x_m beside z).  With C_k = ``model.covariances_`` = (nu_k W_k)^-1 (dense), the E-step
    is scikit-learn's ``_estimate_weighted_log_prob`` with the observed features' marginal
    density in place of the full one:

        log rho_ik = E[log pi_k] + log N(x_o | m_k,o, C_k,oo) - D/2 log nu_k
                     + 1/2 (D log 2 + sum_d digamma((nu_k - d) / 2) - D / beta_k),

    since the integral over x_m of exp(E[log N(x | mu_k, Lambda_k)]) is that of
    N(x | m_k, C_k) up to the factors that make the complete-data formula.  q(x_m | k)
    is N(x_m | x_o) of N(m_k, C_k): mean xhat_ik, covariance Chat_ik.  The M-step feeds
    scikit-learn's own updates (``_estimate_weights``, ``_estimate_means``,
    ``_estimate_precisions``) with the expected statistics of ``_estimate_gaussian_
    parameters``: N_k = sum_i w_i r_ik + 10 eps, x_k = sum_i w_i r_ik xhat_ik / N_k,
    S_k = sum_i w_i r_ik [(xhat_ik - x_k)(...)^T + Chat_ik] / N_k + reg_covar (pooled
    for 'tied', the diagonal for 'diag', its mean for 'spherical').  The bound:
    scikit-learn's without its -sum r log r, which is replaced by the entropy of
    q(z, x_m): -sum_ik w_i r_ik (log r_ik - |m_i|/2 (1 + log 2 pi) - 1/2 log det Chat_ik).
    """
    from scipy.special import digamma

    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    covariance_type = model.covariance_type
    n_components = model.means_.shape[0]
    weight = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    dense = dense_covariances(model.covariances_, covariance_type, n_components, n_features)
    dof = np.broadcast_to(np.asarray(model.degrees_of_freedom_, dtype=float), (n_components,))
    log_lambda = n_features * np.log(2.0) + np.array(
        [np.sum(digamma(0.5 * (nu - np.arange(n_features)))) for nu in dof]
    )
    constant = (
        model._estimate_log_weights()
        - 0.5 * n_features * np.log(dof)
        + 0.5 * (log_lambda - n_features / model.mean_precision_)
    )
    log_rho = np.empty((n_samples, n_components))
    resp = np.zeros((n_samples, n_components))
    filled = np.zeros((n_samples, n_components, n_features))  # xhat_ik
    corrections = np.zeros((n_samples, n_components, n_features, n_features))  # Chat_ik
    entropy = 0.0
    for i, x in enumerate(X):
        observed = ~np.isnan(x)
        if not observed.any():
            log_rho[i] = constant
            continue
        o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
        for k in range(n_components):
            log_rho[i, k] = constant[k] + multivariate_normal(
                model.means_[k][o], dense[k][np.ix_(o, o)]
            ).logpdf(x[o])
            mean_m, covariance_m = conditional_gaussian(model.means_[k], dense[k], x, observed)
            filled[i, k] = x
            filled[i, k, m] = mean_m
            corrections[i, k][np.ix_(m, m)] = covariance_m
        resp[i] = np.exp(log_rho[i] - logsumexp(log_rho[i]))
        for k in range(n_components):
            m = np.flatnonzero(~observed)
            x_entropy = (
                0.5 * len(m) * (1.0 + np.log(2.0 * np.pi))
                + 0.5 * np.linalg.slogdet(corrections[i, k][np.ix_(m, m)])[1]
                if len(m)
                else 0.0
            )
            r = resp[i, k]
            entropy -= weight[i] * r * ((np.log(r) if r > 0 else 0.0) - x_entropy)
    weighted_resp = weight[:, None] * resp
    nk = weighted_resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    xk = np.einsum("ik,ikd->kd", weighted_resp, filled) / nk[:, None]
    centred = filled - xk[None]
    scatter = np.einsum("ik,ikd,ike->kde", weighted_resp, centred, centred) + np.einsum(
        "ik,ikde->kde", weighted_resp, corrections
    )
    eye = np.eye(n_features)
    sk = {
        "full": lambda: scatter / nk[:, None, None] + model.reg_covar * eye,
        "tied": lambda: scatter.sum(axis=0) / nk.sum() + model.reg_covar * eye,
        "diag": lambda: np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + model.reg_covar,
        "spherical": lambda: (
            (np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None]).mean(1) + model.reg_covar
        ),
    }[covariance_type]()
    model._estimate_weights(nk)
    model._estimate_means(nk, xk)
    model._estimate_precisions(nk, xk, sk)
    # scikit-learn's bound with log_resp = 0 leaves out its -sum r log r.
    no_entropy = model._compute_lower_bound(np.zeros((1, n_components)), None)
    model.lower_bound_ = float(np.squeeze(no_entropy) + entropy)
    return model, log_rho


# Mixtures of factor analysers, for the covariance types 'factor' and 'ppca' (being built;
# tests/covariance/test_factor.py checks these references themselves).  Component k's covariance is
# Sigma_k = W_k W_k^T + Psi_k, with the D x q loading matrix W_k stored transposed, as the
# rows of ``loadings[k]`` (K, q, D), like scikit-learn's ``FactorAnalysis.components_``;
# ``noise_variance`` is diag(Psi_k) as (K, D) for factor analysis, or sigma_k^2 as (K,) for
# probabilistic PCA (Psi_k = sigma_k^2 I).


def _noise_matrix(noise_variance, n_features):
    """(K, D) noise variances from (K, D) or, isotropic, (K,)."""
    noise = np.asarray(noise_variance, dtype=np.float64)
    return noise if noise.ndim == 2 else np.repeat(noise[:, None], n_features, axis=1)


def factor_covariances(loadings, noise_variance):
    """Sigma_k = W_k W_k^T + Psi_k as a (K, D, D) stack, assembled densely."""
    loadings = np.asarray(loadings, dtype=np.float64)
    noise = _noise_matrix(noise_variance, loadings.shape[2])
    return np.einsum("kja,kjb->kab", loadings, loadings) + np.stack([np.diag(p) for p in noise])


def factor_log_prob(X, weights, means, loadings, noise_variance):
    """log pi_k + log N(x_i | mu_k, W_k W_k^T + Psi_k) with q x q factorisations only.

    Woodbury: Sigma^-1 = Psi^-1 - Psi^-1 W M^-1 W^T Psi^-1 with M = I_q + W^T Psi^-1 W;
    the determinant lemma: log det Sigma = log det Psi + log det M.
    """
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    noise = _noise_matrix(noise_variance, n_features)
    out = np.empty((len(X), len(weights)))
    for k, (loading_t, psi) in enumerate(zip(np.asarray(loadings, dtype=np.float64), noise)):
        W = loading_t.T
        M = np.eye(W.shape[1]) + W.T @ (W / psi[:, None])
        d = X - means[k]
        scaled = d / psi  # Psi^-1 (x - mu)
        projected = scaled @ W  # W^T Psi^-1 (x - mu), one row per data row
        quadratic = np.einsum("ia,ia->i", d, scaled) - np.einsum(
            "ij,ij->i", projected, np.linalg.solve(M, projected.T).T
        )
        log_det = np.log(psi).sum() + np.linalg.slogdet(M)[1]
        out[:, k] = np.log(weights[k]) - 0.5 * (
            n_features * np.log(2 * np.pi) + log_det + quadratic
        )
    return out


def factor_em_step(X, weights, means, loadings, noise_variance, reg_covar=0.0, resp=None):
    """One EM iteration of a mixture of factor analysers (isotropic noise, PPCA, when
    ``noise_variance`` has shape (K,)).

    Returns ``(log_likelihood, (weights, means, loadings, noise_variance))``: the data's
    log-likelihood under the given parameters and the parameters after the step.

    E-step (Ghahramani & Hinton 1996): responsibilities h_ik, and for component k the
    latent factors' posterior given x_i: with beta_k = M_k^-1 W_k^T Psi_k^-1,
    E[z | x_i, k] = beta_k (x_i - mu_k) and E[z z^T | x_i, k] = M_k^-1 + E[z] E[z]^T.
    M-step, with the mean as a last column of the loadings (W~ = [W mu], z~ = [z; 1]):
        W~_k = (sum_i h_ik x_i E[z~]^T) (sum_i h_ik E[z~ z~^T])^-1,
        Psi_k = diag(sum_i h_ik x_i x_i^T - W~_k sum_i h_ik E[z~] x_i^T) / N_k + reg_covar,
    for PPCA the mean of that diagonal instead (sigma_k^2 I), and pi_k = N_k / N.  W~_k
    maximises the expected complete-data log-likelihood whatever Psi_k is, and Psi_k then
    maximises it given W~_k, so the step is a full M-step and the likelihood cannot fall.
    ``resp`` (N x K), where given, replaces the E-step's responsibilities (e.g. the one-hot
    responsibilities of hard assignments).
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    isotropic = np.ndim(noise_variance) == 1
    noise = _noise_matrix(noise_variance, n_features)
    log_prob = factor_log_prob(X, weights, means, loadings, noise_variance)
    log_norm = logsumexp(log_prob, axis=1)
    if resp is None:
        resp = np.exp(log_prob - log_norm[:, None])
    new_means, new_loadings, new_noise = [], [], []
    for k, (loading_t, psi) in enumerate(zip(np.asarray(loadings, dtype=np.float64), noise)):
        W = loading_t.T
        n_factors = W.shape[1]
        M_inverse = np.linalg.inv(np.eye(n_factors) + W.T @ (W / psi[:, None]))
        beta = M_inverse @ (W.T / psi)
        z = (X - means[k]) @ beta.T  # E[z | x_i, k], one row per data row
        z_tilde = np.hstack([z, np.ones((n_samples, 1))])
        h = resp[:, k]
        second = np.einsum("i,ia,ib->ab", h, z_tilde, z_tilde)
        second[:n_factors, :n_factors] += h.sum() * M_inverse
        cross = np.einsum("i,ia,ib->ab", h, X, z_tilde)  # sum_i h x_i E[z~]^T
        augmented = np.linalg.solve(second.T, cross.T).T  # [W mu]
        residual = np.einsum("i,ia->a", h, X * X) - np.einsum("ab,ab->a", augmented, cross)
        psi_new = residual / h.sum()
        if isotropic:
            psi_new = np.full(n_features, psi_new.mean())
        new_loadings.append(augmented[:, :n_factors].T)
        new_means.append(augmented[:, n_factors])
        new_noise.append(psi_new + reg_covar)
    nk = resp.sum(axis=0)
    new_noise = np.array(new_noise)
    return log_norm.sum(), (
        nk / n_samples,
        np.array(new_means),
        np.array(new_loadings),
        new_noise[:, 0] if isotropic else new_noise,
    )


def random_factor_parameters(rng, n_components, n_features, n_factors, isotropic=False):
    """Random ``(weights, means, loadings, noise_variance)`` of a mixture of factor analysers
    (loadings of order 1, noise variances in [0.2, 0.6])."""
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    loadings = rng.normal(size=(n_components, n_factors, n_features))
    shape = n_components if isotropic else (n_components, n_features)
    return weights, means, loadings, rng.uniform(0.2, 0.6, size=shape)


def sample_factor_mixture(rng, n_samples, weights, means, loadings, noise_variance):
    """Rows drawn from the mixture: x = mu_k + W_k z + e, z ~ N(0, I_q), e ~ N(0, Psi_k)."""
    loadings = np.asarray(loadings, dtype=np.float64)
    n_components, n_factors, n_features = loadings.shape
    noise = _noise_matrix(noise_variance, n_features)
    labels = rng.choice(n_components, size=n_samples, p=weights)
    z = rng.normal(size=(n_samples, n_factors))
    X = means[labels] + np.einsum("ij,ija->ia", z, loadings[labels])
    return X + rng.normal(size=X.shape) * np.sqrt(noise[labels])
