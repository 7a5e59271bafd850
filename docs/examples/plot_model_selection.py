"""
Choosing the number of components: BIC, AIC and the Bayesian bound
===================================================================

Two ways to choose K on the EM tutorial's three 2-D Gaussians
(:func:`fastgmm.cli.demo_data`):

- :func:`fastgmm.select_n_components` fits every candidate and ranks them by BIC or AIC
  (lower is better); :func:`fastgmm.plotting.plot_selection` draws them;
- the variational lower bound of a :class:`fastgmm.BayesianGaussianMixture` with a
  Dirichlet-distribution prior, ``full_lower_bound_``, includes every term that depends on
  the number of components, so fits of different sizes can be compared by it (higher is
  better).
"""

import matplotlib.pyplot as plt

import fastgmm
from fastgmm.cli import demo_data
from fastgmm.plotting import plot_selection

X, _ = demo_data(1000)
candidates = range(1, 8)

selection = fastgmm.select_n_components(
    X, candidates, covariance_types=("full", "diag"), criterion="bic", random_state=0
)
print(selection)

# %%
# Left: BIC (solid) is lowest at three 'full' components, the truth. AIC (dashed)
# penalises parameters less: its lowest value is three 'full' components too, but it is
# nearly flat beyond three, and among 'diag' models it prefers seven, which imitate the
# tilted clusters with more axis-aligned ones. Right: the lower bound (the mean
# log-likelihood) levels off beyond three but keeps creeping up, so it cannot choose K by
# itself.

criteria_ax, bound_ax = plot_selection(selection)
criteria_ax.figure.set_size_inches(10, 4)
criteria_ax.figure.tight_layout()

# %%
# The Bayesian mixture's complete lower bound peaks at the same K.

bounds = []
for k in candidates:
    model = fastgmm.BayesianGaussianMixture(
        k,
        weight_concentration_prior_type="dirichlet_distribution",
        n_init=3,
        max_iter=500,
        random_state=0,
    ).fit(X)
    bounds.append(model.full_lower_bound_)

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(list(candidates), bounds, "o-")
best = list(candidates)[bounds.index(max(bounds))]
ax.axvline(best, color="0.7", linestyle="--")
ax.set_xlabel("n_components")
ax.set_ylabel("full_lower_bound_")
ax.set_title(f"Bayesian mixture: best K = {best}")
fig.tight_layout()
plt.show()
