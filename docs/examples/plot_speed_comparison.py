"""
Speed against scikit-learn and against the machine's limit
==========================================================

This example plots what the benchmarks measured; it does not time anything itself. The
numbers come from ``data/compare.json``, written by the repository's benchmark script::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/compare.py --no-extras --repeats 3 --json docs/examples/data/compare.json

It measures seconds per EM iteration on the benchmark workloads, as
(t(max_iter=7) - t(max_iter=2)) / 5 from the same start, for scikit-learn and fastgmm in one
process, JIT warmed up, keeping the minimum of the repeats. The machine's limit for one
iteration is the larger of the data's bytes over the measured streaming bandwidth and the
unavoidable flops over the measured matrix-multiply peak: no implementation can beat it.
See :doc:`/guide/performance` for the method and the targets.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    here = Path(__file__).resolve().parent
except NameError:  # run cell by cell (sphinx-gallery, a notebook): the working directory
    here = Path.cwd()
results = json.loads((here / "data" / "compare.json").read_text(encoding="utf-8"))
rows = results["iterations"]
print(f"measured {results['date']} on {results['machine']}")
print(f"{'workload':<40}{'sklearn':>10}{'fastgmm':>10}{'limit':>10}{'speed-up':>10}{'x limit':>9}")
for row in rows:
    shape = (
        f"{row['workload']} {row['n_samples']:,} x {row['n_features']}, "
        f"K={row['n_components']} {row['covariance_type']}"
    )
    print(
        f"{shape:<40}{row['sklearn_seconds']:>9.4f}s{row['fastgmm_seconds']:>9.4f}s"
        f"{row['limit_seconds']:>9.5f}s"
        f"{row['sklearn_seconds'] / row['fastgmm_seconds']:>9.1f}x"
        f"{row['fastgmm_seconds'] / row['limit_seconds']:>8.1f}x"
    )

# %%
# Seconds per iteration on a logarithmic scale: scikit-learn, fastgmm and the limit.
# The label over each workload's bars is fastgmm's speed-up over scikit-learn, and its target.

names = [row["workload"] for row in rows]
seconds = {
    "scikit-learn": [row["sklearn_seconds"] for row in rows],
    "fastgmm": [row["fastgmm_seconds"] for row in rows],
    "machine's limit": [row["limit_seconds"] for row in rows],
}
positions = np.arange(len(rows))
fig, ax = plt.subplots(figsize=(9, 4.5))
for offset, (label, values) in zip((-0.27, 0.0, 0.27), seconds.items()):
    ax.bar(positions + offset, values, width=0.27, label=label)
for position, row in zip(positions, rows):
    speed_up = row["sklearn_seconds"] / row["fastgmm_seconds"]
    ax.annotate(
        f"{speed_up:.0f}x\n(target {row['target']:.0f}x)",
        (position - 0.13, row["sklearn_seconds"]),
        ha="center",
        va="bottom",
        fontsize=8,
    )
ax.set_yscale("log")
ax.set_xticks(positions, names)
ax.set_ylabel("seconds per EM iteration")
ax.set_ylim(top=max(seconds["scikit-learn"]) * 10)
ax.legend(loc="upper left", ncols=3)
fig.tight_layout()
plt.show()
