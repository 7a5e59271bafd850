"""The README's examples run as written (each Python block as its own script)."""

import os
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


def run_blocks(section, tmp_path, n_blocks):
    """Run each ```python block of ``section`` as its own script in ``tmp_path``."""
    blocks = python_blocks(section)
    assert len(blocks) == n_blocks
    for number, block in enumerate(blocks):
        script = tmp_path / f"example_{number}.py"
        script.write_text(block, encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
        assert completed.returncode == 0, completed.stderr[-3000:]


def test_saving_and_sklearn_examples_run(tmp_path):
    pytest.importorskip("sklearn", reason="the example converts to scikit-learn's estimators")
    run_blocks("Saving, loading and scikit-learn", tmp_path, 2)
    assert (tmp_path / "model.npz").exists()


def test_progress_example_runs(tmp_path):
    run_blocks("Progress, callbacks and the lower-bound history", tmp_path, 1)


def test_missing_values_example_runs(tmp_path):
    run_blocks("Missing values and partly labelled rows", tmp_path, 1)


def test_online_example_runs(tmp_path):
    run_blocks("Mini-batch and streaming EM", tmp_path, 1)


@pytest.mark.slow
def test_plots_example_runs(tmp_path):
    pytest.importorskip("matplotlib", reason="fastgmm.plotting needs matplotlib")
    run_blocks("Plots", tmp_path, 1)


def test_factor_analysers_example_prints_what_the_readme_shows(tmp_path):
    pytest.importorskip("sklearn", reason="the example reads scikit-learn's digits")
    text = README.read_text(encoding="utf-8")
    section = text.split("### Wide data: mixtures of factor analysers\n", 1)[1]
    (block,) = python_blocks("Wide data: mixtures of factor analysers")
    # The printed block: a fence of its own, after the Python block's.
    shown = re.findall(r"^```\n([^\n`][^`]*?)^```$", section.split("\n### ", 1)[0], re.S | re.M)[0]
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout == shown
