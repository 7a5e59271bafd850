"""
Missing values recovered
========================

With ``missing_values="marginalize"``, :class:`fastgmm.GaussianMixture` fits data that hold
NaN without filling anything in first: each row counts through the marginal density of the
values it has. :meth:`~fastgmm.GaussianMixture.impute` then fills each NaN with its
conditional mean given the row's observed values, under the fitted mixture.

Filling each NaN with its column's mean instead puts every filled value at one point,
between the clusters. Here the observed feature says which cluster a row comes from, and
each cluster's correlation says where its missing value lies.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

rng = np.random.default_rng(0)
centers = np.array([[0.0, 0.0], [5.0, 7.0], [10.0, 1.0]])
truth = rng.integers(3, size=3000)
X = centers[truth] + rng.normal(size=(3000, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])

# 30% of the rows lose their second feature.
missing = np.zeros(X.shape, dtype=bool)
missing[:, 1] = rng.random(3000) < 0.3
X_missing = np.where(missing, np.nan, X)

model = fastgmm.GaussianMixture(3, missing_values="marginalize", random_state=0).fit(X_missing)
imputed = model.impute(X_missing)
column_filled = np.where(missing, np.nanmean(X_missing, axis=0), X_missing)

rows = missing[:, 1]
for name, filled in [("conditional mean", imputed), ("column mean", column_filled)]:
    error = np.abs(filled[rows, 1] - X[rows, 1]).mean()
    print(f"{name:>16}: mean absolute error {error:.2f}")

# %%
# Left: the removed values against their column-mean fill (a flat line); right: against
# the fitted mixture's conditional means, which follow each cluster's correlation.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
for ax, filled, title in [
    (axes[0], column_filled, "filled with the column mean"),
    (axes[1], imputed, "imputed by the fitted mixture"),
]:
    ax.scatter(X[~rows, 0], X[~rows, 1], s=2, color="0.8", label="complete rows")
    ax.scatter(X[rows, 0], X[rows, 1], s=3, color="C0", alpha=0.5, label="removed values")
    ax.scatter(filled[rows, 0], filled[rows, 1], s=3, color="C3", label="filled in")
    ax.set_title(title)
    ax.set_xlabel("feature 0 (observed)")
axes[0].set_ylabel("feature 1")
axes[0].legend(loc="upper left", markerscale=4)
fig.tight_layout()
plt.show()
