"""The public API is typed (PEP 561): a ``py.typed`` marker, and signatures mypy checks."""

import importlib.resources
import subprocess
import sys
import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is a test dependency ([test] extra)")

GOOD = """
import numpy as np
import fastgmm
from fastgmm import GaussianMixture

X = np.zeros((10, 2))
model: GaussianMixture = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
score: float = model.score(X) + model.bic(X, sample_weight=np.ones(10))
samples, labels = model.sample(5)
result: fastgmm.GaussianMixtureResult = fastgmm.fit("data.npy", 3, init_params="k-means++")
bound: float = result.lower_bound
selection = fastgmm.select_n_components(X, range(1, 4), covariance_types=["full", "tied"])
best: fastgmm.GaussianMixture = selection.best_model
"""

BAD = """
import numpy as np
import fastgmm

fastgmm.fit(np.zeros((10, 2)), "3")
fastgmm.GaussianMixture(2, covariance_type="fulll")
fastgmm.select_n_components(np.zeros((10, 2)), criterion="likelihood")
bound: str = fastgmm.fit(np.zeros((10, 2))).lower_bound
"""


def run_mypy(tmp_path, code, monkeypatch):
    """mypy on a user's file, run from the file's folder (as a user would: fastgmm comes from
    the environment, not from a checkout in the working directory)."""
    path = tmp_path / "user_code.py"
    path.write_text(textwrap.dedent(code))
    monkeypatch.chdir(tmp_path)
    stdout, stderr, status = mypy_api.run(
        [
            str(path),
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-executable",
            sys.executable,
            "--no-error-summary",
        ]
    )
    return stdout + stderr, status


def test_py_typed_marker_ships_with_the_package():
    assert importlib.resources.files("fastgmm").joinpath("py.typed").is_file()


def test_mypy_accepts_correct_use(tmp_path, monkeypatch):
    output, status = run_mypy(tmp_path, GOOD, monkeypatch)
    assert status == 0, output


def test_mypy_flags_wrong_arguments(tmp_path, monkeypatch):
    output, status = run_mypy(tmp_path, BAD, monkeypatch)
    assert status == 1
    flagged = sorted(
        {int(line.split(":")[1]) for line in output.splitlines() if ": error:" in line}
    )
    assert flagged == [5, 6, 7, 8], output


def test_annotations_cost_nothing_at_import():
    code = "import sys, fastgmm; print('fastgmm._typing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
