"""
A stream whose clusters drift
=============================

:meth:`fastgmm.GaussianMixture.partial_fit` updates a mixture one batch at a time
(stepwise EM). Its step size is ``(t + learning_offset) ** -learning_decay``:
``learning_decay`` near 0.5 forgets old batches fast and follows data that move, 1 averages
every batch seen, which suits data that do not change.

Here two clusters drift apart over 200 batches of 500 rows, and we follow the fitted means.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

rng = np.random.default_rng(0)
n_batches, batch_rows = 200, 500


def batch(t):
    """Rows of batch t: two clusters of standard deviation 0.5 at +-(1 + 3 t / n)."""
    position = 1.0 + 3.0 * t / n_batches
    signs = rng.choice([-1.0, 1.0], size=batch_rows)
    return (signs * position + rng.normal(scale=0.5, size=batch_rows))[:, None]


models = {
    decay: fastgmm.GaussianMixture(2, learning_decay=decay, random_state=0) for decay in (0.51, 1.0)
}
tracked = {decay: [] for decay in models}
for t in range(n_batches):
    rows = batch(t)
    for decay, model in models.items():
        model.partial_fit(rows)
        tracked[decay].append(np.sort(model.means_[:, 0]))

for decay, means in tracked.items():
    print(f"learning_decay={decay}: last means {np.round(means[-1], 2)} (truth -4 and 4)")

# %%
# With ``learning_decay=0.51`` the means follow the clusters; with 1.0 they lag ever
# further behind, still weighted by the first batches.

fig, ax = plt.subplots(figsize=(7, 4))
steps = np.arange(n_batches)
truth = 1.0 + 3.0 * steps / n_batches
ax.plot(steps, truth, "k--", label="true centres")
ax.plot(steps, -truth, "k--")
for (decay, means), color in zip(tracked.items(), ["C0", "C1"]):
    means = np.array(means)
    ax.plot(steps, means[:, 0], color=color, label=f"learning_decay={decay}")
    ax.plot(steps, means[:, 1], color=color)
ax.set_xlabel("batch")
ax.set_ylabel("fitted means")
ax.legend()
fig.tight_layout()
plt.show()
