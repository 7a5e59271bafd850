"""
An out-of-core fit with progress
================================

A ``.npy`` file on disk is fitted by streaming its rows through the kernels: give
:class:`fastgmm.GaussianMixture` its path (or ``np.load(path, mmap_mode="r")``) and nothing
with a row count in its size is allocated. ``progress=True`` reports the fit on stderr, and
a ``callback`` receives an :class:`fastgmm.IterationInfo` after every iteration.

The file here is small (800,000 x 8 float32 values, 26 MB) so that the example runs in a
few seconds; the same code fits files bigger than memory.
"""

import contextlib
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

directory = tempfile.TemporaryDirectory()
path = Path(directory.name) / "data.npy"

# Written block by block, as a file bigger than memory would be.
n_samples, n_features, n_components = 800_000, 8, 6
rng = np.random.default_rng(0)
centers = rng.normal(scale=1.2, size=(n_components, n_features))  # overlapping
X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_samples, n_features))
for start in range(0, n_samples, 200_000):
    labels = rng.integers(n_components, size=200_000)
    X[start : start + 200_000] = centers[labels] + rng.normal(size=(200_000, n_features))
X.flush()
del X

# %%
# The fit. Its progress lines go to stderr; here they are sent to stdout so that this
# page shows them.

history = []
model = fastgmm.GaussianMixture(
    n_components,
    n_init=2,
    tol=1e-5,  # finer than the default 1e-3, to follow the fit further
    progress=True,
    callback=history.append,
    random_state=0,
)
with contextlib.redirect_stderr(sys.stdout):
    model.fit(path)

# %%
# Labels can be written into another memory-mapped file, block by block.

labels = np.lib.format.open_memmap(
    Path(directory.name) / "labels.npy", mode="w+", dtype=np.int64, shape=(n_samples,)
)
model.predict(path, out=labels)
print("rows per component:", np.bincount(labels, minlength=n_components))

# %%
# The lower bound after every iteration of both initialisations (k-means starts from two
# seeds), from the callback.

fig, ax = plt.subplots(figsize=(7, 4))
for init in sorted({info.init for info in history}):
    run = [info for info in history if info.init == init]
    ax.plot([i.n_iter for i in run], [i.lower_bound for i in run], "o-", label=f"init {init}")
ax.set_xlabel("iteration")
ax.set_ylabel("lower bound (mean log-likelihood)")
ax.legend()
fig.tight_layout()
plt.show()

del labels
directory.cleanup()
