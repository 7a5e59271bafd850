"""
Dirichlet-process pruning of superfluous components
===================================================

Offered more components than the data need, maximum-likelihood EM
(:class:`fastgmm.GaussianMixture`) uses all of them: it splits the clusters between them.
A :class:`fastgmm.BayesianGaussianMixture` with a Dirichlet-process prior on the weights
(its default) instead drives the weights of the extra components to almost zero: it
chooses the number of components as it fits.
"""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

import fastgmm
from fastgmm.plotting import plot_mixture

rng = np.random.default_rng(1)
centers = np.array([[0.0, 0.0], [5.0, 0.0], [2.5, 4.0], [8.0, 5.0]])
X = centers[rng.integers(4, size=2000)] + rng.normal(scale=0.8, size=(2000, 2))

# %%
# Twelve components offered, four clusters in the data.

models = {
    "GaussianMixture": fastgmm.GaussianMixture(12, random_state=0).fit(X),
    "BayesianGaussianMixture": fastgmm.BayesianGaussianMixture(
        12, max_iter=1000, random_state=0
    ).fit(X),
}
for name, model in models.items():
    weights = np.sort(model.weights_)[::-1]
    print(f"{name:>24}: {np.sum(weights > 0.01)} weights above 1%: {np.round(weights, 3)}")

# %%
# Top: the weights, sorted. Bottom: the components that hold more than 1% of the weight
# (drawn with :func:`~fastgmm.plotting.plot_mixture`, which takes any object with a fitted
# mixture's attributes).

fig, axes = plt.subplots(2, 2, figsize=(10, 8), gridspec_kw={"height_ratios": [1, 2]})
for column, (name, model) in enumerate(models.items()):
    order = np.argsort(model.weights_)[::-1]
    axes[0, column].bar(range(1, 13), model.weights_[order])
    axes[0, column].set_title(name)
    axes[0, column].set_xlabel("component (sorted by weight)")
    kept = order[model.weights_[order] > 0.01]
    heavy = SimpleNamespace(
        weights_=model.weights_[kept] / model.weights_[kept].sum(),
        means_=model.means_[kept],
        covariances_=model.covariances_[kept],
        covariance_type=model.covariance_type,
    )
    plot_mixture(heavy, X, ax=axes[1, column])
    axes[1, column].set_title(f"{len(kept)} components above 1%")
axes[0, 0].set_ylabel("weight")
fig.tight_layout()
plt.show()
