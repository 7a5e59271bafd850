"""
Ellipses of a fitted mixture, for each covariance type
======================================================

The same three elongated clusters fitted with the four classic covariance types.
:func:`fastgmm.plotting.plot_mixture` draws each component as its 1, 2 and 3
standard-deviation ellipses over the data. 'full' gives each component its own
orientation; 'tied' shares one covariance; 'diag' keeps the ellipses aligned with the
axes; 'spherical' makes them circles.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm
from fastgmm.plotting import plot_mixture

rng = np.random.default_rng(0)
means = np.array([[0.0, 0.0], [6.0, 3.0], [1.0, 7.0]])
covariances = np.array(
    [[[4.0, 2.5], [2.5, 2.0]], [[1.0, -0.6], [-0.6, 1.0]], [[3.0, 0.0], [0.0, 0.3]]]
)
labels = rng.integers(3, size=1500)
X = means[labels] + np.einsum(
    "nij,nj->ni", np.linalg.cholesky(covariances)[labels], rng.standard_normal((1500, 2))
)

# %%
# One fit per covariance type, from the same k-means start. The BIC (lower is better)
# says which model the data support.

fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True, sharey=True)
for ax, covariance_type in zip(axes.flat, ["full", "tied", "diag", "spherical"]):
    model = fastgmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    plot_mixture(model, X, ax=ax)
    ax.set_title(f"'{covariance_type}': BIC {model.bic(X):.0f}")
    print(f"{covariance_type:>9}: BIC {model.bic(X):8.1f}, {model.n_iter_} iterations")
fig.tight_layout()
plt.show()
