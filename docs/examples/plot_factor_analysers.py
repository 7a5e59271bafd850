"""
Mixtures of factor analysers on wide data
=========================================

With many features, a 'full' covariance per component has too many parameters and 'diag'
drops every correlation. ``covariance_type='factor'`` models component k's covariance as
W_k W_k^T + Psi_k: ``n_factors`` latent factors (the loadings W_k) plus a diagonal noise.

On scikit-learn's handwritten digits (8 x 8 pixels: 64 features), fitted on 1,200 images
and scored on the 597 others.
"""

# sphinx_gallery_thumbnail_number = 2

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import fastgmm

X = load_digits().data
rows = np.random.default_rng(0).permutation(len(X))
train, test = X[rows[:1200]], X[rows[1200:]]

scores = {}
for covariance_type, n_factors in [("full", None), ("diag", None), ("ppca", 8), ("factor", 8)]:
    model = fastgmm.GaussianMixture(
        10,
        covariance_type=covariance_type,
        n_factors=n_factors,
        reg_covar=1e-2,
        max_iter=500,
        random_state=0,
    ).fit(train)
    scores[covariance_type] = model.score(test)
    print(f"{covariance_type:>6}: held-out log-likelihood {scores[covariance_type]:7.2f} per image")
factor_model = model  # the last one fitted: 'factor'

# %%
# The held-out log-likelihood per image (higher is better).

fig, ax = plt.subplots(figsize=(6, 3))
positions = np.arange(len(scores))
ax.plot(list(scores.values()), positions, "o", markersize=9)
for position, value in zip(positions, scores.values()):
    ax.annotate(
        f"{value:.1f}", (value, position), xytext=(0, 8), textcoords="offset points", ha="center"
    )
ax.set_yticks(positions, list(scores))
ax.set_ylim(-0.7, len(scores) - 0.3)
ax.set_xlabel("held-out log-likelihood per image (higher is better)")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()

# %%
# Each row: one component's mean image, then its first three loadings (``loadings_`` has
# shape (n_components, n_factors, n_features)): directions in which that component's
# images vary together (defined up to a rotation of the factors, as in factor analysis).

heavy = np.argsort(factor_model.weights_)[::-1][:4]
fig, axes = plt.subplots(len(heavy), 4, figsize=(6, 6))
for row, k in zip(axes, heavy):
    row[0].imshow(factor_model.means_[k].reshape(8, 8), cmap="gray_r")
    row[0].set_ylabel(f"weight {factor_model.weights_[k]:.2f}")
    for j in range(3):
        loading = factor_model.loadings_[k, j].reshape(8, 8)
        limit = np.abs(loading).max()
        row[j + 1].imshow(loading, cmap="RdBu", vmin=-limit, vmax=limit)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_title("mean")
for j in range(3):
    axes[0, j + 1].set_title(f"loading {j + 1}")
fig.tight_layout()
plt.show()
