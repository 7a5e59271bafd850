"""The README's examples run as written (each Python block as its own script)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(section):
    """The ```python blocks of the README section whose heading is ``section``."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


@pytest.mark.slow
def test_bigger_than_memory_examples_run(tmp_path):
    pytest.importorskip("distributed", reason="the Dask example needs fastgmm[dask]")
    blocks = python_blocks("Bigger than memory / on a cluster")
    assert len(blocks) == 2
    # Separate scripts: Dask's worker processes re-import the script that starts them.
    for number, block in enumerate(blocks):
        script = tmp_path / f"example_{number}.py"
        script.write_text(block, encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
    labels = np.load(tmp_path / "labels.npy")
    assert labels.shape == (1_000_000,) and set(np.unique(labels)) == set(range(8))


def test_bayesian_mixture_example_runs(tmp_path):
    (block,) = python_blocks("The Bayesian mixture")
    script = tmp_path / "bayesian.py"
    script.write_text(block, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    best, weights = completed.stdout.split("\n", 1)
    assert best.strip() == "3"
    weights = np.array(weights.replace("[", " ").replace("]", " ").split(), dtype=float)
    assert len(weights) == 10 and np.sum(weights >= 0.01) == 3
