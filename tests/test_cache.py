"""Numba's cache of the kernels follows their sources (fastgmm/_cache.py), and the CLI shows
or clears it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastgmm
from fastgmm import _cache
from fastgmm.cli import main

# A 'diag' score (one compiled pass), the number of kernels it loaded from the cache.
SCORE = """
import sys
import numpy as np
import fastgmm
from fastgmm._kernels import diag

X = np.random.default_rng(0).normal(size=(300, 2))
model = fastgmm.GaussianMixture(2, covariance_type="diag", init_params="random", max_iter=0,
                                random_state=0).fit(X)
assert fastgmm.__file__.startswith(sys.argv[1]), fastgmm.__file__  # the copy
print(model.score_samples(X[:3]).tolist(), sum(diag.run_pass.stats.cache_hits.values()))
"""

# A helper in another file than the kernel that calls it: Numba alone would keep the kernel's
# old compiled code after this edit.
HELPER = Path("_kernels") / "_common.py"
HELPER_LINE = "out_log_prob_norm[start + i] = log_prob_norm[i]"


def run_copy(package_parent):
    # cwd too: ``python -c`` puts the working directory (a checkout's fastgmm) first.
    out = subprocess.run(
        [sys.executable, "-c", SCORE, str(package_parent)],
        capture_output=True,
        text=True,
        cwd=package_parent,
        env={**os.environ, "PYTHONPATH": str(package_parent)},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    scores, hits = out.stdout.rsplit("]", 1)
    return [float(v) for v in scores.strip("[ ").split(",")], int(hits)


@pytest.mark.slow
def test_editing_a_kernel_helper_recompiles_the_kernels_that_use_it(tmp_path):
    package = tmp_path / "fastgmm"
    shutil.copytree(
        Path(fastgmm.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    before, hits = run_copy(tmp_path)  # compiles, and caches
    assert hits == 0
    again, hits = run_copy(tmp_path)  # unchanged sources: loaded from the cache
    assert again == before and hits > 0

    helper = package / HELPER
    source = helper.read_text()
    assert HELPER_LINE in source, "the test's edit no longer applies: update HELPER_LINE"
    helper.write_text(source.replace(HELPER_LINE, HELPER_LINE + " + 1.0"))
    after, hits = run_copy(tmp_path)  # the kernel file itself did not change
    assert hits == 0
    assert after == pytest.approx([value + 1.0 for value in before], abs=1e-12)


def test_refresh_clears_only_a_folder_whose_hash_changed(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    for name in ("full.statistics-1.py311.nbi", "full.statistics-1.py311.1.nbc", "keep.pyc"):
        (folder / name).write_text("x")
    monkeypatch.setattr(_cache, "cache_folders", lambda: [folder])
    monkeypatch.setattr(_cache, "kernel_sources_digest", lambda: "new")
    (folder / _cache.STAMP_NAME).write_text("new")
    _cache.refresh()
    assert len(list(folder.iterdir())) == 4  # the hash matched: nothing deleted
    (folder / _cache.STAMP_NAME).write_text("old")
    _cache.refresh()
    assert sorted(p.name for p in folder.iterdir()) == [_cache.STAMP_NAME, "keep.pyc"]
    assert (folder / _cache.STAMP_NAME).read_text() == "new"


def test_digest_covers_every_kernel_source(tmp_path):
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(name)
    digest = _cache.kernel_sources_digest(tmp_path)
    (tmp_path / "b.py").write_text("changed")
    assert _cache.kernel_sources_digest(tmp_path) != digest
    assert _cache.kernel_sources_digest() == _cache.kernel_sources_digest()


def test_every_cached_kernel_is_found():
    names = {kernel.py_func.__qualname__ for kernel in _cache.kernel_dispatchers()}
    assert {"run_pass", "e_step_block", "statistics_full", "precisions_cholesky"} <= names
    assert _cache.cache_folders()


def test_cli_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"kernel sources hash: {_cache.kernel_sources_digest()}" in out
    assert str(_cache.cache_folders()[0]) in out
    # Clearing the real cache would make every later subprocess test recompile: a stand-in.
    for name in ("diag.score-97.py311.nbi", "diag.score-97.py311.1.nbc", "diag.cpython-311.pyc"):
        (tmp_path / name).write_text("x")
    monkeypatch.setattr(_cache, "cache_folders", lambda: [tmp_path])
    assert main(["cache", "clear"]) == 0
    assert "deleted 2 cached kernel file(s) in 1 folder(s)" in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == ["diag.cpython-311.pyc"]


# Every fit and scoring path a user meets, on writable and on memory-mapped data.
ALL_PATHS = """
import warnings
import numpy as np
import fastgmm
from fastgmm import _cache

warnings.simplefilter("ignore")
rng = np.random.default_rng(1)
for dtype in ("float64", "float32"):
    X = rng.normal(size=(3000, 3)).astype(dtype)
    np.save("X.npy", X)
    for data in (X, np.load("X.npy", mmap_mode="r")):
        for covariance_type in ("full", "tied", "diag", "spherical"):
            for estimator in (fastgmm.GaussianMixture, fastgmm.BayesianGaussianMixture):
                model = estimator(4, covariance_type=covariance_type, max_iter=3,
                                  random_state=0).fit(data)
                model.predict_proba(data), model.score_samples(data), model.predict(data)
misses = sum(sum(kernel.stats.cache_misses.values()) for kernel in _cache.kernel_dispatchers())
print(misses)
"""


def warm_up_then_run(tmp_path, warmup_arguments, script):
    """``fastgmm warmup <warmup_arguments>`` into an empty Numba cache, then ``script`` in a
    new process on that cache; returns both outputs (each run must succeed)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    outputs = []
    for command in (["-m", "fastgmm", "warmup", *warmup_arguments], ["-c", script]):
        completed = subprocess.run(
            [sys.executable, *command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=900,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        outputs.append(completed.stdout)
    return outputs


@pytest.mark.slow
def test_warmup_compiles_every_kernel_a_fit_uses(tmp_path):
    warm, later = warm_up_then_run(tmp_path, [], ALL_PATHS)
    assert str(tmp_path / "cache") in warm and "spherical  float32" in warm
    assert later.split() == ["0"]  # nothing compiled after the warm-up


# The paths of data with NaN ('full', float64), on writable and on memory-mapped data.
MISSING_VALUE_PATHS = """
import warnings
import numpy as np
import fastgmm
from fastgmm import _cache

warnings.simplefilter("ignore")
X = np.random.default_rng(1).normal(size=(3000, 3))
X[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
np.save("X.npy", X)
for data in (X, np.load("X.npy", mmap_mode="r")):
    for estimator in (fastgmm.GaussianMixture, fastgmm.BayesianGaussianMixture):
        model = estimator(4, max_iter=3, random_state=0, missing_values="marginalize").fit(data)
        model.predict_proba(data), model.score_samples(data), model.predict(data)
        model.impute(data), model.impute(data, method="sample", random_state=0)
misses = sum(sum(kernel.stats.cache_misses.values()) for kernel in _cache.kernel_dispatchers())
print(misses)
"""


@pytest.mark.slow
def test_warmup_with_missing_values_compiles_their_kernels(tmp_path):
    arguments = ["--covariance-types", "full", "--dtypes", "float64", "--missing-values"]
    _, later = warm_up_then_run(tmp_path, arguments, MISSING_VALUE_PATHS)
    assert later.split() == ["0"]  # nothing compiled after the warm-up
