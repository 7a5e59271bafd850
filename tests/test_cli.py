"""``fastgmm demo``: the README's first command."""

import subprocess
import sys

from fastgmm.cli import main


def test_demo_prints_the_fitted_mixture(capsys):
    assert main(["demo", "--large", "20000"]) == 0
    out = capsys.readouterr().out
    assert "tutorial data: 1,000 points" in out and "large sample: 20,000 points" in out
    assert out.count("converged: True") == 2
    assert "lower bound" in out and "iterations" in out and "wall time" in out


def test_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "fastgmm", "demo", "--large", "5000"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "component 2: weight" in out
