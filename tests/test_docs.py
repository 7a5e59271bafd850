"""The documentation: the user guide's examples run as written, and the API reference
lists every public name.

Each ```python block of a guide page (docs/guide/*.md) runs as its own script, with
warnings as errors, in a fresh folder. The gallery (docs/examples/plot_*.py) runs in the
documentation build itself (``python -m sphinx -W -b html docs docs/_build/html``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDE = DOCS / "guide"


def python_blocks(page, folder=GUIDE):
    """The ```python blocks of ``folder/page.md`` (a guide page by default)."""
    text = (folder / f"{page}.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)


def run_block(block, folder, name):
    """Run ``block`` as the script ``folder/name.py``, warnings as errors; its completed
    process."""
    script = folder / f"{name}.py"
    script.write_text(block, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def run_page(page, folder, n_blocks):
    """Run each Python block of ``page`` in ``folder``; their completed processes."""
    blocks = python_blocks(page)
    assert len(blocks) == n_blocks
    return [run_block(block, folder, f"example_{i}") for i, block in enumerate(blocks)]


def test_choosing_a_model_example_runs(tmp_path):
    run_page("choosing_a_model", tmp_path, 1)


def test_missing_values_example_prints_what_its_comments_say(tmp_path):
    (completed,) = run_page("missing_values", tmp_path, 1)
    variances, errors, agreement = completed.stdout.splitlines()[-3:]
    variances = np.array(variances.replace("[", " ").replace("]", " ").split(), dtype=float)
    assert np.all(np.abs(variances - 1) <= 0.15)  # "all about 1"
    assert errors.split() == ["1.2", "2.24"]
    assert agreement == "0.962"


def test_streaming_example_gets_near_batch_em(tmp_path):
    (completed,) = run_page("streaming", tmp_path, 1)
    # batch EM, mini-batch EM, partial_fit, fit_stream: mean log-likelihoods, 4 decimals.
    scores = [float(x) for x in re.findall(r"-?\d+\.\d{4}", completed.stdout)]
    assert len(scores) == 4
    assert max(abs(score - scores[0]) for score in scores) < 0.01


@pytest.mark.slow
def test_plots_example_runs(tmp_path):
    # A million points drawn and a model selection of 28 fits: slow.
    pytest.importorskip("matplotlib", reason="fastgmm.plotting needs matplotlib")
    (block, _) = python_blocks("plots_and_progress")
    run_block(block, tmp_path, "plots")


def test_progress_example_runs(tmp_path):
    (_, block) = python_blocks("plots_and_progress")
    completed = run_block(block, tmp_path, "progress")
    n_iter, n_bounds, last_is_lower_bound = completed.stdout.split()
    assert n_iter == n_bounds and last_is_lower_bound == "True"


def test_estimator_examples_run_in_turn(tmp_path):
    # The function's example uses the estimator example's X: one script, in page order.
    run_block("\n".join(python_blocks("estimator")), tmp_path, "estimator")


def test_home_page_example_runs(tmp_path):
    (block,) = python_blocks("index", DOCS)
    run_block(block, tmp_path, "index")


def test_bayesian_example_prints_three_components(tmp_path):
    (completed,) = run_page("bayesian", tmp_path, 1)
    best, weights = completed.stdout.split("\n", 1)
    assert best.strip() == "3"
    weights = np.array(weights.replace("[", " ").replace("]", " ").split(), dtype=float)
    assert len(weights) == 10 and np.sum(weights >= 0.01) == 3


def test_saving_and_sklearn_examples_run(tmp_path):
    pytest.importorskip("sklearn", reason="the example converts to scikit-learn's estimators")
    run_page("saving", tmp_path, 2)
    assert (tmp_path / "model.npz").exists()


@pytest.mark.slow
def test_out_of_core_examples_run(tmp_path):
    pytest.importorskip("distributed", reason="the Dask example needs fastgmm[dask]")
    # Separate scripts: Dask's worker processes re-import the script that starts them.
    run_page("out_of_core", tmp_path, 2)
    labels = np.load(tmp_path / "labels.npy")
    assert labels.shape == (1_000_000,) and set(np.unique(labels)) == set(range(8))


def test_factor_analysers_example_prints_what_the_page_shows(tmp_path):
    pytest.importorskip("sklearn", reason="the example reads scikit-learn's digits")
    text = (GUIDE / "factor_analysers.md").read_text(encoding="utf-8")
    # The printed output: the plain fence right after the Python block.
    shown = re.findall(r"^```\n([^\n`][^`]*?)^```$", text, re.S | re.M)[0]
    (completed,) = run_page("factor_analysers", tmp_path, 1)
    assert completed.stdout == shown


def test_every_guide_page_is_in_the_guide_index():
    index = (GUIDE / "index.md").read_text(encoding="utf-8")
    listed = set(index.split("```{toctree}", 1)[1].split("```", 1)[0].split())
    pages = {path.stem for path in GUIDE.glob("*.md")} - {"index"}
    assert pages <= listed


def test_every_public_name_has_an_api_entry():
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    entries = set(re.findall(r"^   (\w+)$", api, re.M))
    pytest.importorskip("matplotlib", reason="fastgmm.plotting needs matplotlib")
    import fastgmm
    import fastgmm.plotting

    public = set(fastgmm.__all__) | set(fastgmm.plotting.__all__) | {"demo_data"}
    assert public - entries == set()
    assert entries - public == set()  # and nothing that is not public


def test_every_gallery_example_is_a_plot_script_with_a_title():
    examples = sorted((DOCS / "examples").glob("*.py"))
    assert len(examples) >= 8
    for path in examples:
        assert path.name.startswith("plot_"), path.name
        title = path.read_text(encoding="utf-8").split('"""', 2)[1].strip().splitlines()
        assert len(title) >= 2 and set(title[1]) == {"="}, path.name


def test_every_guide_page_with_python_blocks_has_a_test():
    # A page that gains its first Python block must also gain a test above.
    tested = {
        "choosing_a_model",
        "missing_values",
        "streaming",
        "plots_and_progress",
        "estimator",
        "bayesian",
        "saving",
        "out_of_core",
        "factor_analysers",
    }
    with_blocks = {path.stem for path in GUIDE.glob("*.md") if python_blocks(path.stem)}
    assert with_blocks == tested
