"""The ``fastgmm`` command line: every command on ``.npy`` and ``.csv`` data gives what the
library gives, the data files are read and written as documented, and every user error ends
with status 2 and one line on stderr."""

import importlib.util
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastgmm
from fastgmm import BayesianGaussianMixture, GaussianMixture, cli, select_n_components
from fastgmm.cli import commands, demo_data, main
from fastgmm.data import files as data_files

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
needs_matplotlib = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="plots need matplotlib")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FORMATS = ["npy", "csv"]
OPTIONS = ["--random-state", "0"]


def run(argv, capsys):
    """``main(argv)`` in this process: ``(status, stdout, stderr)``."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_user_error(status, out, err, *fragments):
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastgmm: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


def load(path):
    return fastgmm.load(path)


# -- data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The demo data (300 rows, 2 features) as .npy and as .csv (no header), a fitted
    3-component model of it (made by 'fastgmm fit'), and the folder."""
    folder = tmp_path_factory.mktemp("cli")
    X, _ = demo_data(300, seed=1)
    np.save(folder / "X.npy", X)
    np.savetxt(folder / "X.csv", X, delimiter=",", fmt="%.17g")
    model = folder / "model.fgmm"
    assert main(["fit", str(folder / "X.npy"), "-k", "3", "-o", str(model), *OPTIONS]) == 0
    return {"X": X, "folder": folder, "model": model}


def data_path(files, fmt):
    return files["folder"] / f"X.{fmt}"


def test_npy_data_is_memory_mapped(files):
    table = data_files.read_data(data_path(files, "npy"))
    assert isinstance(table.array, np.memmap) and table.feature_names is None
    np.testing.assert_array_equal(table.array, files["X"])
    assert data_files.read_data(data_path(files, "npy"), "float32").array.dtype == np.float32


def test_text_data_header_quotes_blank_lines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('\ufeff\n"first", second\n1,2\n\n 3 , 4e1\n', encoding="utf-8")
    table = data_files.read_data(path)
    assert table.feature_names == ("first", "second")
    np.testing.assert_array_equal(table.array, [[1, 2], [3, 40]])
    tsv = tmp_path / "d.tsv"
    tsv.write_text("1.5\t2\n3\t-4\n")
    table = data_files.read_data(tsv, dtype="float32")
    assert table.feature_names is None and table.array.dtype == np.float32
    np.testing.assert_array_equal(table.array, [[1.5, 2], [3, -4]])
    one_column = tmp_path / "one.csv"
    one_column.write_text("x\n1\n2\n")
    assert data_files.read_data(one_column).array.shape == (2, 1)


def test_text_output_round_trips_exactly(tmp_path, files):
    X = files["X"]
    for name in ("out.csv", "out.tsv", "out.npy"):
        data_files.write_array(tmp_path / name, X, ["a", "b"])
        table = data_files.read_data(tmp_path / name)
        np.testing.assert_array_equal(table.array, X)
        assert table.feature_names == (None if name.endswith(".npy") else ("a", "b"))


def test_parquet_data(tmp_path, files):
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    X = files["X"]
    path = tmp_path / "X.parquet"
    parquet.write_table(pyarrow.table({"u": X[:, 0], "v": X[:, 1].astype(np.float32)}), path)
    table = data_files.read_data(path)
    assert table.feature_names == ("u", "v")
    np.testing.assert_array_equal(table.array[:, 0], X[:, 0])
    np.testing.assert_array_equal(table.array[:, 1], X[:, 1].astype(np.float32))
    parquet.write_table(pyarrow.table({"u": X[:, 0], "s": ["x"] * len(X)}), path)
    with pytest.raises(ValueError, match="column 's' holds string"):
        data_files.read_data(path)


def test_parquet_without_pyarrow_is_a_user_error(tmp_path, capsys, monkeypatch):
    path = tmp_path / "X.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    status, out, err = run(["fit", path, "-k", "2", "-o", tmp_path / "m"], capsys)
    assert_user_error(status, out, err, "needs pyarrow", "pip install pyarrow")


# -- fit, info --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_fit_saves_the_library_fit(tmp_path, files, fmt, capsys):
    argv = ["fit", data_path(files, fmt), "--n-components", "3", "-o", tmp_path / "m.fgmm"]
    argv += ["--covariance-type", "diag", "--init-params", "k-means++", "--n-init", "2"]
    argv += ["--max-iter", "50", "--tol", "1e-4", *OPTIONS]
    status, out, err = run(argv, capsys)
    assert status == 0 and "converged: True" in out and "300 rows, 2 features" in out
    model = load(tmp_path / "m.fgmm")
    expected = GaussianMixture(
        3,
        covariance_type="diag",
        init_params="k-means++",
        n_init=2,
        max_iter=50,
        tol=1e-4,
        random_state=0,
    ).fit(files["X"])
    assert isinstance(model, GaussianMixture) and model.get_params() == expected.get_params()
    for name in ("weights_", "means_", "covariances_"):
        # A memory-mapped .npy runs the kernels compiled for read-only data, whose vectorised
        # sums may round the last bits otherwise (docs/design.md, "Determinism").
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), rtol=1e-12)
    assert model.lower_bound_ == expected.lower_bound_


def test_fit_a_mixture_of_factor_analysers(tmp_path, files, capsys):
    argv = ["fit", data_path(files, "csv"), "-k", "3", "-o", tmp_path / "m", *OPTIONS]
    argv += ["--covariance-type", "factor", "--n-factors", "1"]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    expected = GaussianMixture(3, covariance_type="factor", n_factors=1, random_state=0)
    model = load(tmp_path / "m")
    np.testing.assert_array_equal(model.loadings_, expected.fit(files["X"]).loadings_)
    labels = tmp_path / "labels.npy"
    status, out, err = run(
        ["predict", tmp_path / "m", data_path(files, "npy"), "-o", labels], capsys
    )
    assert status == 0, err
    np.testing.assert_array_equal(np.load(labels), model.predict(files["X"]))
    argv = ["fit", data_path(files, "csv"), "-k", "3", "-o", tmp_path / "m2"]
    assert_user_error(*run([*argv, "--covariance-type", "ppca"], capsys), "needs n_factors")


def test_fit_streams_npy_files(tmp_path, files, capsys, monkeypatch):
    seen = []
    fit = GaussianMixture.fit
    monkeypatch.setattr(GaussianMixture, "fit", lambda self, X: seen.append(X) or fit(self, X))
    assert run(["fit", data_path(files, "npy"), "-k", "2", "-o", tmp_path / "m"], capsys)[0] == 0
    assert isinstance(seen[0], np.memmap)  # not read into memory by the command line


def test_fit_float32(tmp_path, files, capsys):
    status, _, _ = run(
        ["fit", data_path(files, "csv"), "-k", "2", "--dtype", "float32", "-o", tmp_path / "m"],
        capsys,
    )
    assert status == 0 and load(tmp_path / "m").means_.dtype == np.float32


def test_info(files, capsys):
    model = load(files["model"])
    status, out, _ = run(["info", files["model"], "--json"], capsys)
    summary = json.loads(out)
    assert status == 0 and summary == {
        "class": "GaussianMixture",
        "covariance_type": "full",
        "n_components": 3,
        "n_features": 2,
        "dtype": "float64",
        "converged": bool(model.converged_),
        "n_iter": model.n_iter_,
        "lower_bound": model.lower_bound_,
        "feature_names": None,
        "weights": model.weights_.tolist(),
    }
    status, out, _ = run(["info", files["model"]], capsys)
    fields = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert status == 0 and list(fields) == [f"{key}:" for key in summary]
    assert fields["class:"] == "GaussianMixture" and fields["n_components:"] == "3"
    assert fields["lower_bound:"] == str(model.lower_bound_)
    assert fields["feature_names:"] == "None" and fields["weights:"].startswith("[0.")


def test_csv_header_gives_feature_names(tmp_path, files, capsys):
    path = tmp_path / "named.csv"
    np.savetxt(path, files["X"], delimiter=",", header="height,width", comments="")
    status, _, _ = run(["fit", path, "-k", "2", "-o", tmp_path / "m", *OPTIONS], capsys)
    assert status == 0
    assert list(load(tmp_path / "m").feature_names_in_) == ["height", "width"]
    status, out, _ = run(["info", tmp_path / "m"], capsys)
    assert "feature_names:   height, width" in out
    run(["select", path, "-k", "1-2", "-o", tmp_path / "best", *OPTIONS], capsys)
    assert list(load(tmp_path / "best").feature_names_in_) == ["height", "width"]
    # Sampled rows carry the names, so they can be scored without a warning.
    run(["sample", tmp_path / "m", "-n", "20", "-o", tmp_path / "s.csv"], capsys)
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "height,width"
    status, _, err = run(["score", tmp_path / "m", tmp_path / "s.csv"], capsys)
    assert status == 0 and err == ""
    # Other names are the library's ValueError: a user error.
    path.write_text("height,depth\n1,2\n3,4\n")
    status, out, err = run(["predict", tmp_path / "m", path, "-o", tmp_path / "p.npy"], capsys)
    assert_user_error(status, out, err, "feature names should match", "depth")
    assert not (tmp_path / "p.npy").exists()


def test_library_warnings_are_one_line(tmp_path, files, capsys):
    argv = ["fit", data_path(files, "npy"), "-k", "3", "--max-iter", "1", "-o", tmp_path / "m"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        status, _, err = run([*argv, *OPTIONS], capsys)
    assert status == 0
    assert err.splitlines()[0] == f"fastgmm: warning: {fastgmm.models.base.NOT_CONVERGED}"


def test_progress_is_shown_on_a_terminal_only(tmp_path, files, capsys, monkeypatch):
    argv = ["fit", data_path(files, "npy"), "-k", "2", "-o", tmp_path / "m", *OPTIONS]
    status, _, err = run(argv, capsys)
    assert status == 0 and "fastgmm: init" not in err  # pytest's stderr is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert commands._progress_option(GaussianMixture) == {"progress": True}
    status, out, err = run(argv, capsys)
    assert status == 0 and "fastgmm: init 1/1" in err and "progress" not in out
    assert load(tmp_path / "m").progress is False  # the saved model does not keep it


# -- predict, score, sample -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("out_fmt", ["npy", "csv"])
def test_predict(tmp_path, files, fmt, out_fmt, capsys):
    model, X = load(files["model"]), files["X"]
    labels = tmp_path / f"labels.{out_fmt}"
    assert run(["predict", files["model"], data_path(files, fmt), "-o", labels], capsys)[0] == 0
    np.testing.assert_array_equal(data_files.read_data(labels).array.ravel(), model.predict(X))
    proba = tmp_path / f"proba.{out_fmt}"
    argv = ["predict", files["model"], data_path(files, fmt), "--output", proba, "--proba"]
    assert run(argv, capsys)[0] == 0
    table = data_files.read_data(proba)
    np.testing.assert_allclose(table.array, model.predict_proba(X), rtol=1e-12, atol=1e-300)
    if out_fmt == "csv":
        assert table.feature_names == ("component_0", "component_1", "component_2")


@pytest.mark.parametrize("fmt", FORMATS)
def test_score(files, fmt, capsys):
    model, X = load(files["model"]), files["X"]
    status, out, _ = run(["score", files["model"], data_path(files, fmt), "--json"], capsys)
    assert status == 0 and json.loads(out) == {
        "mean_log_likelihood": model.score(X),
        "bic": model.bic(X),
        "aic": model.aic(X),
        "n_samples": 300,
    }
    status, out, _ = run(["score", files["model"], data_path(files, fmt)], capsys)
    assert f"mean log-likelihood: {model.score(X):.10g}" in out
    assert f"BIC: {model.bic(X):.10g}" in out and f"AIC: {model.aic(X):.10g}" in out


def test_score_bayesian_model_has_no_bic(tmp_path, files, capsys):
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(files["X"])
    model.save(tmp_path / "bgm")
    status, out, _ = run(["score", tmp_path / "bgm", data_path(files, "npy"), "--json"], capsys)
    result = json.loads(out)
    assert result["mean_log_likelihood"] == model.score(files["X"])
    assert result["bic"] is None and result["aic"] is None
    status, out, _ = run(["info", tmp_path / "bgm"], capsys)
    assert status == 0 and out.startswith("class:           BayesianGaussianMixture\n")


def test_result_of_fit_has_info_but_no_predict(tmp_path, files, capsys):
    result = fastgmm.fit(files["X"], 2, covariance_type="tied", random_state=0)
    result.save(tmp_path / "result")
    status, out, _ = run(["info", tmp_path / "result", "--json"], capsys)
    summary = json.loads(out)
    assert status == 0 and summary["class"] == "GaussianMixtureResult"
    assert summary["covariance_type"] == "tied" and summary["n_features"] == 2
    assert summary["weights"] == result.weights.tolist() and summary["n_iter"] == result.n_iter
    status, out, err = run(["score", tmp_path / "result", data_path(files, "npy")], capsys)
    assert_user_error(status, out, err, "holds a GaussianMixtureResult, which has no predict")
    if HAS_MATPLOTLIB:
        assert run(["plot", tmp_path / "result", "-o", tmp_path / "r.png"], capsys)[0] == 0
        assert (tmp_path / "r.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("out_fmt", ["npy", "csv"])
def test_sample(tmp_path, files, out_fmt, capsys):
    out = tmp_path / f"s.{out_fmt}"
    argv = ["sample", files["model"], "-n", "57", "-o", out, "--random-state", "3"]
    assert run(argv, capsys)[0] == 0
    drawn = data_files.read_data(out).array
    model = load(files["model"]).set_params(random_state=3)
    np.testing.assert_array_equal(drawn, model.sample(57)[0])


# -- select, plot -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_select_picks_what_the_library_picks(tmp_path, files, fmt, capsys):
    argv = ["select", data_path(files, fmt), "--n-components", "1-4", "-o", tmp_path / "best"]
    argv += ["--covariance-types", "full,diag", "--criterion", "aic", *OPTIONS]
    status, out, _ = run(argv, capsys)
    expected = select_n_components(
        files["X"], range(1, 5), covariance_types=["full", "diag"], criterion="aic", random_state=0
    )
    assert status == 0 and str(expected).splitlines()[0] in out
    best = expected.best
    assert f"best by aic: {best.n_components} components, {best.covariance_type}" in out
    model = load(tmp_path / "best")
    np.testing.assert_allclose(model.means_, expected.best_model.means_, rtol=1e-12)  # as above


def test_select_component_lists(files, capsys):
    status, out, _ = run(["select", data_path(files, "npy"), "-k", "2,4", *OPTIONS], capsys)
    rows = [line.split()[0] for line in out.splitlines()[1:-1]]
    assert status == 0 and rows == ["2", "4"]
    assert cli.component_counts("1-3,8,2") == [1, 2, 3, 8]


@needs_matplotlib
def test_select_plot(tmp_path, files, capsys):
    plot = tmp_path / "selection.png"
    argv = ["select", data_path(files, "npy"), "-k", "1-3", "--plot", plot, *OPTIONS]
    assert run(argv, capsys)[0] == 0
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


@needs_matplotlib
@pytest.mark.parametrize("fmt", [None, *FORMATS])
def test_plot(tmp_path, files, fmt, capsys):
    image = tmp_path / "mixture.png"
    data = [] if fmt is None else [data_path(files, fmt)]
    assert run(["plot", files["model"], *data, "-o", image, "--dims", "1,0"], capsys)[0] == 0
    assert image.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_without_matplotlib_is_a_user_error(tmp_path, files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = run(["plot", files["model"], "-o", tmp_path / "p.png"], capsys)
    assert_user_error(status, out, err, "needs matplotlib", "pip install matplotlib")


# -- user errors ------------------------------------------------------------------------------


def write(folder, name, text):
    (folder / name).write_text(text)
    return folder / name


USER_ERRORS = {
    "missing data file": (
        lambda f, m: ["fit", f / "nowhere.npy", "-k", "2", "-o", f / "m"],
        "nowhere.npy: No such file or directory",
    ),
    "missing model file": (
        lambda f, m: ["info", f / "no-model"],
        "no-model: No such file or directory",
    ),
    "damaged model file": (
        lambda f, m: ["info", write(f, "bad.fgmm", "not a model")],
        "bad.fgmm",
    ),
    "wrong column count": (
        lambda f, m: ["predict", m, write(f, "three.csv", "1,2,3\n4,5,6\n"), "-o", f / "p.npy"],
        "X has 3 features, but GaussianMixture is expecting 2",
    ),
    "ragged csv": (
        lambda f, m: ["score", m, write(f, "ragged.csv", "1,2\n3,4\n5\n")],
        "line 3: 1 values, but the first row has 2",
    ),
    "non-numeric csv": (
        lambda f, m: ["score", m, write(f, "text.csv", "a,b\n1,2\n3,x\n")],
        "line 3, column 2: 'x' is not a number",
    ),
    "empty csv": (
        lambda f, m: ["score", m, write(f, "empty.csv", "\n")],
        "is empty",
    ),
    "NaN in data": (
        lambda f, m: ["fit", write(f, "nan.csv", "1,2\nnan,4\n5,6\n"), "-k", "1", "-o", f / "m"],
        "NaN or infinity",
    ),
    "unknown data extension": (
        lambda f, m: ["score", m, write(f, "data.txt", "1,2\n")],
        "unknown file type '.txt'",
    ),
    "unknown output extension": (
        lambda f, m: ["sample", m, "-n", "3", "-o", f / "s.xlsx"],
        "unknown file type '.xlsx'",
    ),
    "missing output folder": (
        lambda f, m: ["sample", m, "-n", "3", "-o", f / "no" / "s.npy"],
        "No such directory",
    ),
    "output is an input": (
        lambda f, m: ["predict", m, f / "X.npy", "-o", f / "X.npy"],
        "X.npy' is also an input file",
    ),
    "bad choice": (
        lambda f, m: ["fit", f / "X.npy", "-k", "2", "--covariance-type", "round", "-o", f / "m"],
        "argument --covariance-type: invalid choice: 'round'",
    ),
    "bad integer": (
        lambda f, m: ["sample", m, "-n", "zero", "-o", f / "s.npy"],
        "argument -n/--n-samples: expected a positive integer, got 'zero'",
    ),
    "bad range": (
        lambda f, m: ["select", f / "X.npy", "--n-components", "8-1"],
        "argument --n-components/-k: expected positive integers",
    ),
    "bad library option": (
        lambda f, m: ["fit", f / "X.npy", "-k", "2", "--tol", "-1", "-o", f / "m"],
        "tol",
    ),
    "more components than rows": (
        lambda f, m: ["fit", write(f, "few.csv", "1,2\n3,4\n"), "-k", "5", "-o", f / "m"],
        "n_components = 5, n_samples = 2",
    ),
    "missing argument": (lambda f, m: ["predict", m], "required: DATA, --output/-o"),
    "no command": (lambda f, m: [], "required: COMMAND"),
}


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_errors(files, case, capsys):
    make_argv, fragment = USER_ERRORS[case]
    status, out, err = run(make_argv(files["folder"], files["model"]), capsys)
    assert_user_error(status, out, err, fragment)


def test_help_of_every_command(capsys):
    for name in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit:
            main([name, "--help"])
        assert exit.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: fastgmm {name}")


# -- in a new process -------------------------------------------------------------------------


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "fastgmm", "select", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "usage: fastgmm select" in result.stdout and "--n-components RANGE" in result.stdout


def test_user_error_in_a_new_process_has_no_traceback(tmp_path):
    bad = write(tmp_path, "bad.csv", "1,2\n3,oops\n")
    result = subprocess.run(
        [sys.executable, "-m", "fastgmm", "fit", bad, "-k", "1", "-o", tmp_path / "m"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr
        == f"fastgmm: error: DATA '{bad}', line 2, column 2: 'oops' is not a number.\n"
    )


def test_demo_prints_the_fitted_mixture(capsys):
    assert main(["demo", "--large", "20000"]) == 0
    out = capsys.readouterr().out
    assert "tutorial data: 1,000 points" in out and "large sample: 20,000 points" in out
    assert out.count("converged: True") == 2
    assert "lower bound" in out and "iterations" in out and "wall time" in out
