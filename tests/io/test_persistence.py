"""Saving and loading fitted models without pickle (``model.save``, ``fastgmm.load``):
bitwise the same model and predictions for every model, covariance type and dtype; the
file is plain numpy and JSON; every kind of damaged file is refused with a ValueError that
names the problem; the stored files of format version 1 still load. Converting to and from
scikit-learn (``to_sklearn``, ``from_sklearn``)."""

import dataclasses
import functools
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import (
    BayesianGaussianMixture,
    ConvergenceWarning,
    GaussianMixture,
    GaussianMixtureResult,
    NotFittedError,
)

import _references as ref
from _helpers import COVARIANCE_TYPES, fit_quietly

DATA = Path(__file__).parent / "fixtures"
X = ref.make_blobs(200, 3, 3, seed=1)
DTYPES = [np.float64, np.float32]
# name: (estimator, its options)
KINDS = {
    "GaussianMixture": (GaussianMixture, {}),
    "Bayesian, Dirichlet process": (BayesianGaussianMixture, {}),
    "Bayesian, Dirichlet distribution": (
        BayesianGaussianMixture,
        {"weight_concentration_prior_type": "dirichlet_distribution"},
    ),
}


@functools.cache
def fitted(kind, covariance_type="full", dtype=np.float64):
    """A fitted model (shared between tests: never change it)."""
    estimator, options = KINDS[kind]
    return fit_quietly(
        X.astype(dtype),
        3,
        estimator=estimator,
        covariance_type=covariance_type,
        random_state=0,
        max_iter=30,
        **options,
    )


def saved(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    return path


def assert_identical(ours, theirs, name="value"):
    """Equal values of the same types; arrays of the same dtype and shape, NaN equal to NaN."""
    assert type(ours) is type(theirs), f"{name}: {type(ours)} is not {type(theirs)}"
    if isinstance(ours, np.ndarray):
        assert ours.dtype == theirs.dtype, name
        assert_array_equal(ours, theirs, err_msg=name, strict=True)
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), name
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_identical(a, b, f"{name}[{i}]")
    elif dataclasses.is_dataclass(ours):
        for field in dataclasses.fields(ours):
            assert_identical(
                getattr(ours, field.name), getattr(theirs, field.name), f"{name}.{field.name}"
            )
    elif isinstance(ours, float) and np.isnan(ours):
        assert np.isnan(theirs), name
    else:
        assert ours == theirs, name


def assert_same_model(loaded, model):
    """The same class, and every attribute (parameters, fitted ones, private ones) identical."""
    assert type(loaded) is type(model)
    assert sorted(vars(loaded)) == sorted(vars(model))
    for name, value in vars(model).items():
        assert_identical(getattr(loaded, name), value, name)


def assert_same_predictions(loaded, model, X):
    assert_array_equal(loaded.predict(X), model.predict(X), strict=True)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X), strict=True)
    assert_array_equal(loaded.score_samples(X), model.score_samples(X), strict=True)
    assert loaded.score(X) == model.score(X)


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_loaded_model_is_the_saved_one(tmp_path, kind, covariance_type, dtype):
    model = fitted(kind, covariance_type, dtype)
    loaded = fastgmm.load(saved(tmp_path, model))
    assert_same_model(loaded, model)
    assert loaded.means_.dtype == dtype
    Xd = X.astype(dtype)
    assert_same_predictions(loaded, model, Xd)
    assert_array_equal(loaded.sample(7)[0], model.sample(7)[0])  # random_state=0 both
    if kind == "GaussianMixture":
        assert loaded.bic(Xd) == model.bic(Xd) and loaded.aic(Xd) == model.aic(Xd)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_loaded_result_is_the_saved_one(tmp_path, covariance_type, dtype):
    result = fastgmm.fit(X.astype(dtype), 3, covariance_type=covariance_type, random_state=0)
    loaded = fastgmm.load(saved(tmp_path, result))
    assert isinstance(loaded, GaussianMixtureResult)
    assert_identical(loaded, result)
    assert not loaded.means.flags.writeable and not loaded.weights.flags.writeable


@pytest.mark.parametrize("kind", ["GaussianMixture", "Bayesian, Dirichlet process"])
def test_feature_names_are_kept_and_checked(tmp_path, kind):
    pd = pytest.importorskip("pandas")
    names = ["höhe", "weight", "âge (years)"]  # JSON stores them as text, any characters
    estimator, options = KINDS[kind]
    model = fit_quietly(pd.DataFrame(X, columns=names), 3, estimator=estimator, **options)
    loaded = fastgmm.load(saved(tmp_path, model))
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == names
    assert_same_predictions(loaded, model, pd.DataFrame(X, columns=names))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        loaded.predict(pd.DataFrame(X[:, ::-1], columns=names[::-1]))
    unnamed = fitted(kind)
    assert not hasattr(fastgmm.load(saved(tmp_path, unnamed)), "feature_names_in_")


@pytest.mark.parametrize("kind", ["GaussianMixture", "Bayesian, Dirichlet distribution"])
def test_a_loaded_model_continues_with_warm_start_as_the_saved_one(tmp_path, kind):
    estimator, options = KINDS[kind]
    model = fit_quietly(X, 3, estimator=estimator, random_state=0, max_iter=3, **options)
    loaded = fastgmm.load(saved(tmp_path, model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for m in (model, loaded):
            m.set_params(warm_start=True).fit(X)
    assert_same_model(loaded, model)


def test_a_model_before_any_iteration_round_trips(tmp_path):
    """max_iter=0: no lower bound (-inf, stored as the string "-inf") and, as in
    scikit-learn, initial weights from K one-hot rows that sum to K / N."""
    model = GaussianMixture(3, max_iter=0, init_params="random_from_data", random_state=0)
    model.fit(X)
    assert model.lower_bound_ == -np.inf and model.weights_.sum() < 1
    path = saved(tmp_path, model)
    assert contents(path)[0]["lower_bound_"] == "-inf"
    loaded = fastgmm.load(path)
    assert_same_model(loaded, model)
    assert_same_predictions(loaded, model, X)


def test_the_file_is_plain_numpy_and_json(tmp_path):
    model = fitted("Bayesian, Dirichlet process", "tied", np.float32)
    path = saved(tmp_path, model)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    assert all(array.dtype.kind in "uf" for array in entries.values())  # no object arrays
    metadata_bytes = entries.pop("metadata")
    assert metadata_bytes.dtype == np.uint8 and metadata_bytes.ndim == 1

    def strict(token):
        raise AssertionError(f"{token} is not strict JSON")

    metadata = json.loads(metadata_bytes.tobytes().decode("utf-8"), parse_constant=strict)
    assert metadata["format"] == "fastgmm-mixture" and metadata["format_version"] == 1
    assert metadata["fastgmm_version"] == fastgmm.__version__
    assert metadata["class"] == "BayesianGaussianMixture"
    assert (metadata["covariance_type"], metadata["dtype"]) == ("tied", "float32")
    assert (metadata["n_components"], metadata["n_features_in_"]) == (3, 3)
    assert metadata["n_iter_"] == model.n_iter_ and metadata["converged_"] == model.converged_
    assert metadata["lower_bound_"] == model.lower_bound_
    assert metadata["full_lower_bound_"] == "nan"  # only 'full' with the Dirichlet distribution
    assert metadata["weight_concentration_prior_type"] == "dirichlet_process"
    assert metadata["parameters"]["covariance_type"] == "tied"
    assert metadata["parameters"]["random_state"] == 0
    assert metadata["feature_names_in_"] is None
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_array_equal(entries[name], getattr(model, name), strict=True)
    assert entries["degrees_of_freedom_"].shape == ()  # 'tied': one Wishart
    assert entries["weight_concentration_"].shape == (2, 3)  # the Dirichlet process's pair
    assert entries["posterior_means"].dtype == np.float64
    assert_array_equal(entries["lower_bounds_"], model.lower_bounds_)


def test_paths_str_and_pathlib_written_as_given(tmp_path):
    model = fitted("GaussianMixture")
    as_str = str(tmp_path / "model.gmm")  # any name: no .npz suffix is added
    model.save(as_str)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gmm"]
    assert_same_model(fastgmm.load(as_str), model)
    assert_same_model(fastgmm.load(Path(as_str)), model)
    model.save(Path(as_str))  # replaces the file
    assert_same_model(fastgmm.load(as_str), model)
    with pytest.raises(TypeError, match="path must be a str or an os.PathLike"):
        model.save(3)


def test_saving_an_unfitted_model_raises_not_fitted(tmp_path):
    for estimator in (GaussianMixture, BayesianGaussianMixture):
        with pytest.raises(NotFittedError, match="not fitted"):
            estimator(2).save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_loading_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastgmm.load(tmp_path / "absent.npz")


def test_parameters_json_cannot_hold_load_as_their_defaults(tmp_path):
    means_init = fitted("GaussianMixture").means_
    options = dict(random_state=np.random.RandomState(0), means_init=means_init)
    model = fit_quietly(X, 3, weights_init=[0.2, 0.3, 0.5], **options)
    path = saved(tmp_path, model)
    loaded = fastgmm.load(path)
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(archive["metadata"].tobytes())
    assert metadata["parameters_not_stored"] == ["random_state"]
    assert metadata["array_parameters"] == ["means_init"]
    assert loaded.random_state is None
    assert isinstance(loaded.means_init, np.ndarray)
    assert_array_equal(loaded.means_init, means_init)
    assert loaded.weights_init == [0.2, 0.3, 0.5]  # a list stays a list
    assert_same_predictions(loaded, model, X)


def test_a_callback_function_is_not_stored(tmp_path):
    if "callback" not in GaussianMixture._get_param_names():
        pytest.skip("this GaussianMixture has no callback parameter")
    calls = []
    model = fit_quietly(X, 3, random_state=0, callback=calls.append)
    assert calls
    path = saved(tmp_path, model)
    assert contents(path)[0]["parameters_not_stored"] == ["callback"]
    loaded = fastgmm.load(path)
    assert loaded.callback is None
    assert_same_predictions(loaded, model, X)


# -- damaged files ------------------------------------------------------------------------------


def contents(path):
    """``(metadata, arrays)`` of a saved file."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(arrays.pop("metadata").tobytes()), arrays


def rewrite(path, metadata, arrays):
    """Write ``metadata`` (a dict, or the array to store) and ``arrays`` as ``save`` would."""
    if isinstance(metadata, dict):
        metadata = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(path, metadata=metadata, **arrays)


def load_error(path):
    with pytest.raises(ValueError) as error:
        fastgmm.load(path)
    message = str(error.value)
    assert message.startswith(f"Cannot load a fastgmm model from {str(path)!r}: ")
    return message


def test_damaged_bytes_raise_value_error(tmp_path):
    path = saved(tmp_path, fitted("GaussianMixture"))
    good = path.read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "cut short by one byte": good[:-1],
        "random bytes": np.random.default_rng(0).bytes(len(good)),
        "empty": b"",
        "text": b'{"format": "fastgmm-mixture"}',
    }
    for name, content in cases.items():
        path.write_bytes(content)
        message = load_error(path)
        assert "not an .npz archive that numpy reads without pickle" in message, name
    # A changed byte in the compressed data of any entry: the deflate stream or the zip's
    # checksum fails when the entry is read.
    path.write_bytes(good)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    for member in members:
        header = good[member.header_offset : member.header_offset + 30]
        name_length, extra_length = np.frombuffer(header[26:30], dtype="<u2")
        start = member.header_offset + 30 + int(name_length) + int(extra_length)
        # (Not the last byte: its unused padding bits may change without changing the data.)
        for offset in (start, start + member.compress_size // 2):
            damaged = bytearray(good)
            damaged[offset] ^= 0xFF
            path.write_bytes(bytes(damaged))
            with pytest.raises(ValueError, match="Cannot load a fastgmm model"):
                fastgmm.load(path)


def test_a_single_npy_array_is_not_a_model(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, X)
    assert "a single .npy array" in load_error(path)


class Payload:
    """Unpickling this touches a file: loading must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_entries_are_refused_not_run(tmp_path):
    path = saved(tmp_path, fitted("GaussianMixture"))
    metadata, arrays = contents(path)
    marker = tmp_path / "unpickled"
    arrays["weights_"] = np.array([Payload(marker)] * 3, dtype=object)
    rewrite(path, metadata, arrays)  # np.savez pickles object arrays
    message = load_error(path)
    assert "entry 'weights_' cannot be read" in message and "allow_pickle" in message
    assert not marker.exists()
    rewrite(path, np.array([Payload(marker)], dtype=object), arrays)
    assert "entry 'metadata' cannot be read" in load_error(path)
    assert not marker.exists()


def test_metadata_as_a_unicode_string_array_loads(tmp_path):
    model = fitted("GaussianMixture", "diag")
    path = saved(tmp_path, model)
    metadata, arrays = contents(path)
    rewrite(path, np.array(json.dumps(metadata)), arrays)
    assert_same_model(fastgmm.load(path), model)


@pytest.mark.parametrize(
    "stored, expected",
    [
        (np.frombuffer(b'{"format": "fastgmm-mixture",', np.uint8), "is not valid JSON"),
        (np.frombuffer(b'{"lower_bound_": NaN}', np.uint8), "is not valid JSON"),
        (np.frombuffer(b"\xff\xfe{}", np.uint8), "is not UTF-8 text"),
        (np.frombuffer(b"[1, 2]", np.uint8), "must be a JSON object, got list"),
        (np.zeros(3), "must be JSON text stored as a 1-D uint8 array or a unicode string"),
    ],
    ids=["truncated JSON", "NaN token", "not UTF-8", "a list", "floats"],
)
def test_metadata_that_is_not_a_json_object_raises(tmp_path, stored, expected):
    path = saved(tmp_path, fitted("GaussianMixture"))
    _, arrays = contents(path)
    rewrite(path, stored, arrays)
    assert expected in load_error(path)


def test_a_file_without_metadata_raises(tmp_path):
    path = saved(tmp_path, fitted("GaussianMixture"))
    _, arrays = contents(path)
    np.savez(path, **arrays)
    assert "no 'metadata' entry" in load_error(path)


def _set(mapping, name, value):
    mapping[name] = value


def _scaled(name, factor):
    def change(metadata, arrays):
        arrays[name] = (arrays[name] * factor).astype(arrays[name].dtype)

    return change


def _entry(name, index, value):
    def change(metadata, arrays):
        arrays[name][index] = value

    return change


def _negative_weight(metadata, arrays):
    arrays["weights_"][0] -= 2.0
    arrays["weights_"][1] += 2.0


def _negate_component(name, k):
    def change(metadata, arrays):
        arrays[name][k] = -arrays[name][k]

    return change


G, B = "GaussianMixture", "Bayesian, Dirichlet process"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["factor", "ppca"])
def test_a_loaded_factor_model_is_the_saved_one(tmp_path, covariance_type, dtype):
    Xd = X.astype(dtype)
    options = dict(covariance_type=covariance_type, n_factors=2, random_state=0, max_iter=30)
    model = fit_quietly(Xd, 3, **options)
    metadata, arrays = contents(saved(tmp_path, model))
    assert metadata["n_factors"] == 2
    assert sorted(arrays) == ["loadings_", "lower_bounds_", "means_", "noise_variance_", "weights_"]
    loaded = fastgmm.load(tmp_path / "model.npz")
    assert_same_model(loaded, model)  # the dense arrays not yet read by either
    assert_identical(loaded.covariances_, model.covariances_, "covariances_")
    assert_identical(loaded.precisions_cholesky_, model.precisions_cholesky_, "factors")
    assert_same_predictions(loaded, model, Xd)
    assert_array_equal(loaded.sample(7)[0], model.sample(7)[0])
    assert loaded.bic(Xd) == model.bic(Xd)
    result = fastgmm.fit(Xd, 3, **options)
    loaded = fastgmm.load(saved(tmp_path, result))
    assert_identical(loaded, result)


# (change(metadata, arrays), what the message says) of a saved 'factor' model
FACTOR_DAMAGES = {
    "no n_factors": (lambda m, a: m.pop("n_factors"), "lacks the field(s) 'n_factors'"),
    "n_factors above n_features": (
        lambda m, a: _set(m, "n_factors", 4),
        "n_factors (4) is more than its n_features_in_ (3)",
    ),
    "loadings of another shape": (
        lambda m, a: _set(a, "loadings_", a["loadings_"][:, :1]),
        "loadings_ has shape (3, 1, 3), expected (3, 2, 3)",
    ),
    "negative noise": (
        lambda m, a: _entry("noise_variance_", (1, 2), -0.5)(m, a),
        "noise_variance_ has a value that is not positive (-0.5)",
    ),
    "dense arrays of a full model": (
        lambda m, a: _set(a, "covariances_", np.zeros((3, 3, 3))),
        "does not have: 'covariances_'",
    ),
}


@pytest.mark.parametrize("damage", FACTOR_DAMAGES)
def test_a_damaged_factor_model_file_raises_value_error_naming_the_problem(tmp_path, damage):
    change, expected = FACTOR_DAMAGES[damage]
    model = fit_quietly(X, 3, covariance_type="factor", n_factors=2, random_state=0, max_iter=5)
    path = saved(tmp_path, model)
    metadata, arrays = contents(path)
    change(metadata, arrays)
    rewrite(path, metadata, arrays)
    message = load_error(path)
    assert expected in message, message


D = "Bayesian, Dirichlet distribution"
# id: (model kind, covariance type, change(metadata, arrays), what the message says)
DAMAGES = {
    "format name": (G, "full", lambda m, a: _set(m, "format", "numpy"), "not 'fastgmm-mixture'"),
    "newer format version": (
        G,
        "full",
        lambda m, a: m.update(format_version=2, fastgmm_version="9.0"),
        "format version 2, newer than this fastgmm (0.1.0) reads (versions up to 1); it was "
        "written by fastgmm 9.0",
    ),
    "format version 0": (G, "full", lambda m, a: _set(m, "format_version", 0), "format_version 0"),
    "format version text": (
        G,
        "full",
        lambda m, a: _set(m, "format_version", "1"),
        "format_version '1' is not a format version",
    ),
    "no format field": (G, "full", lambda m, a: m.pop("format"), "no 'format' field"),
    "unknown class": (G, "full", lambda m, a: _set(m, "class", "KMeans"), "unknown class 'KMeans'"),
    "missing field": (G, "full", lambda m, a: m.pop("n_iter_"), "lacks the field(s) 'n_iter_'"),
    "extra field": (
        G,
        "full",
        lambda m, a: _set(m, "note", 1),
        "field(s) a GaussianMixture file does not have: 'note'",
    ),
    "converged not a bool": (
        G,
        "full",
        lambda m, a: _set(m, "converged_", "yes"),
        "'converged_' must be true or false",
    ),
    "zero components": (
        G,
        "full",
        lambda m, a: _set(m, "n_components", 0),
        "'n_components' must be an int >= 1",
    ),
    "unknown dtype": (G, "full", lambda m, a: _set(m, "dtype", "float16"), "'dtype' must be one"),
    "other covariance type": (
        G,
        "full",
        lambda m, a: _set(m, "covariance_type", "diag"),
        "covariances_ has shape (3, 3, 3), expected (3, 3) for 'diag' covariances",
    ),
    "NaN lower bound": (
        G,
        "full",
        lambda m, a: _set(m, "lower_bound_", "nan"),
        "'lower_bound_' must be a number or one of '-inf'",
    ),
    "feature names for other features": (
        G,
        "full",
        lambda m, a: _set(m, "feature_names_in_", ["a", "b"]),
        "has 2 names for 3 features",
    ),
    "invalid parameter": (
        G,
        "full",
        lambda m, a: m["parameters"].update(covariance_type="fulll"),
        "its parameters are not valid: The 'covariance_type' parameter",
    ),
    "unknown parameter": (
        G,
        "full",
        lambda m, a: m["parameters"].update(bandwidth=1.0),
        "GaussianMixture has no parameter(s) 'bandwidth'",
    ),
    "invalid array parameter": (
        G,
        "full",
        lambda m, a: m.update(
            parameters={"means_init": [[1.0, 2.0]]}, array_parameters=["means_init"]
        ),
        "its parameters are not valid: The parameter 'means' should have the shape",
    ),
    "missing array": (
        G,
        "full",
        lambda m, a: a.pop("precisions_cholesky_"),
        "the array(s) 'precisions_cholesky_' are missing",
    ),
    "extra array": (
        G,
        "full",
        lambda m, a: _set(a, "labels_", np.zeros(3)),
        "array(s) a GaussianMixture file does not have: 'labels_'",
    ),
    "wrong shape": (
        G,
        "full",
        lambda m, a: _set(a, "means_", a["means_"][:, :2].copy()),
        "means_ has shape (3, 2), expected (3, 3)",
    ),
    "wrong dtype": (
        G,
        "full",
        lambda m, a: _set(a, "weights_", a["weights_"].astype(np.float32)),
        "weights_ has dtype float32, expected float64",
    ),
    "integers": (
        G,
        "diag",
        lambda m, a: _set(a, "lower_bounds_", a["lower_bounds_"].astype(np.int64)),
        "lower_bounds_ has dtype int64, expected float64",
    ),
    "more lower bounds than iterations": (
        G,
        "full",
        lambda m, a: _set(a, "lower_bounds_", np.zeros(m["n_iter_"] + 1)),
        "lower_bounds_ has shape",
    ),
    "NaN in an array": (
        G,
        "full",
        _entry("covariances_", (0, 1, 1), np.nan),
        "covariances_ holds NaN or infinite values",
    ),
    "infinity in an array": (
        G,
        "spherical",
        _entry("means_", (2, 0), np.inf),
        "means_ holds NaN or infinite values",
    ),
    "weights not summing to 1": (G, "full", _scaled("weights_", 0.9), "weights_ sums to"),
    "negative weight": (G, "tied", _negative_weight, "weights_ has a negative value"),
    "precision factor not positive definite": (
        G,
        "full",
        _entry("precisions_cholesky_", (1, 2, 2), -0.5),
        "precisions_cholesky_ of component 1 has a diagonal value that is not > 0: the "
        "precision is not positive definite",
    ),
    "precision factor not triangular": (
        G,
        "full",
        _entry("precisions_cholesky_", (2, 1, 0), 0.5),
        "precisions_cholesky_ of component 2 is not upper-triangular",
    ),
    "tied factor not positive definite": (
        G,
        "tied",
        _entry("precisions_cholesky_", (0, 0), 0.0),
        "precisions_cholesky_ has a diagonal value that is not > 0",
    ),
    "covariance not positive definite": (
        G,
        "full",
        _negate_component("covariances_", 2),
        "covariances_ of component 2 is not positive definite",
    ),
    "precision not positive definite": (
        G,
        "full",
        _negate_component("precisions_", 0),
        "precisions_ of component 0 is not positive definite",
    ),
    "covariance not symmetric": (
        G,
        "full",
        _entry("covariances_", (1, 0, 2), 0.7),
        "covariances_ of component 1 is not symmetric",
    ),
    "precisions disagreeing with the factors": (
        G,
        "full",
        _scaled("precisions_", 1.001),
        "precisions_ of component 0 does not agree with precisions_cholesky_",
    ),
    "covariances not the inverses": (
        G,
        "tied",
        _scaled("covariances_", 1.001),
        "covariances_ is not the inverse of the precision of precisions_cholesky_",
    ),
    "zero variance": (
        G,
        "diag",
        _entry("covariances_", (1, 0), 0.0),
        "covariances_ of component 1 has a value that is not > 0",
    ),
    "diagonal precisions disagreeing": (
        G,
        "spherical",
        _scaled("precisions_", 1.001),
        "precisions_ does not agree with precisions_cholesky_",
    ),
    "degrees of freedom too small": (
        B,
        "diag",
        _entry("degrees_of_freedom_", 1, 1.5),
        "degrees_of_freedom_ has a value that is not > 2",
    ),
    "concentration not positive": (
        D,
        "spherical",
        _entry("weight_concentration_", 0, -1.0),
        "weight_concentration_ has a value that is not > 0",
    ),
    "posterior not the public arrays": (
        B,
        "full",
        _scaled("posterior_means", 1.5),
        "means_ is not posterior_means in float64",
    ),
    "weights not the posterior's": (
        D,
        "full",
        lambda m, a: _set(a, "weights_", a["weights_"][::-1].copy()),
        "weights_ are not the expected weights of weight_concentration_",
    ),
    "prior type for another shape": (
        D,
        "full",
        lambda m, a: _set(m, "weight_concentration_prior_type", "dirichlet_process"),
        "weight_concentration_ has shape (3,), expected (2, 3)",
    ),
    "unknown prior type": (
        B,
        "tied",
        lambda m, a: _set(m, "weight_concentration_prior_type", "beta"),
        "'weight_concentration_prior_type' must be one of",
    ),
    "invalid prior": (
        B,
        "full",
        _scaled("covariance_prior_", -1.0),
        "covariance_prior_ is not positive semi-definite",
    ),
    "posterior factor not the public one": (
        B,
        "spherical",
        _scaled("posterior_precisions_cholesky", 1.5),
        "precisions_cholesky_ is not posterior_precisions_cholesky in float64",
    ),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_model_file_raises_value_error_naming_the_problem(tmp_path, damage):
    kind, covariance_type, change, expected = DAMAGES[damage]
    path = saved(tmp_path, fitted(kind, covariance_type))
    metadata, arrays = contents(path)
    change(metadata, arrays)
    rewrite(path, metadata, arrays)
    message = load_error(path)
    assert expected in message, message


def test_the_float64_posterior_of_a_float32_fit_is_checked_too(tmp_path):
    """An entry below the diagonal that rounds to 0 in float32 passes the public arrays'
    checks, but the posterior the model scores with must be triangular as well."""
    path = saved(tmp_path, fitted("Bayesian, Dirichlet process", "full", np.float32))
    metadata, arrays = contents(path)
    arrays["posterior_precisions_cholesky"][1, 2, 0] = 1e-50
    rewrite(path, metadata, arrays)
    assert "posterior_precisions_cholesky of component 1 is not upper-triangular" in load_error(
        path
    )


def test_a_damaged_result_file_raises(tmp_path):
    path = saved(tmp_path, fastgmm.fit(X, 2, random_state=0))
    metadata, arrays = contents(path)
    rewrite(path, dict(metadata, log_likelihood="big"), arrays)
    assert "'log_likelihood' must be a number or one of '-inf'" in load_error(path)
    rewrite(path, dict(metadata, parameters={}), arrays)
    assert "a GaussianMixtureResult file does not have: 'parameters'" in load_error(path)


# -- the files of earlier format versions ---------------------------------------------------------


@pytest.mark.parametrize("name", ["gaussian_mixture", "bayesian_gaussian_mixture"])
def test_stored_format_1_files_load_and_predict_as_when_saved(name):
    pd = pytest.importorskip("pandas")
    path = DATA / f"{name}_format1.npz"
    assert contents(path)[0]["format_version"] == 1
    model = fastgmm.load(path)
    with np.load(DATA / "expected_format1.npz", allow_pickle=False) as expected:
        if name == "gaussian_mixture":
            assert type(model) is GaussianMixture
            assert list(model.feature_names_in_) == ["height", "weight"]
            rows = pd.DataFrame(expected["X"], columns=["height", "weight"])
        else:
            assert type(model) is BayesianGaussianMixture and model.means_.dtype == np.float32
            rows = expected["X"].astype(np.float32)
        assert_array_equal(model.predict(rows), expected[f"{name}_labels"])
        # Kernels compiled elsewhere may round differently in the last bits.
        assert_allclose(model.predict_proba(rows), expected[f"{name}_proba"], rtol=1e-9, atol=1e-12)
        assert_allclose(model.score_samples(rows), expected[f"{name}_log_prob"], rtol=1e-9)


def test_stored_format_1_result_loads():
    result = fastgmm.load(DATA / "gaussian_mixture_result_format1.npz")
    assert isinstance(result, GaussianMixtureResult) and result.covariance_type == "spherical"
    with np.load(DATA / "expected_format1.npz", allow_pickle=False) as expected:
        for field in ("weights", "means", "covariances", "precisions_cholesky"):
            assert_array_equal(getattr(result, field), expected[f"result_{field}"], strict=True)
        lower_bound, log_likelihood, n_iter, converged = expected["result_scalars"]
    assert (result.lower_bound, result.log_likelihood) == (lower_bound, log_likelihood)
    assert (result.n_iter, result.converged) == (n_iter, converged)
    assert result.lower_bounds[-1] == result.lower_bound


# -- scikit-learn -------------------------------------------------------------------------------


@pytest.fixture
def sklearn_mixture():
    return pytest.importorskip("sklearn.mixture")  # a test dependency ([test] extra)


SKLEARN_ATTRIBUTES = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "n_features_in_",
]
BAYESIAN_ATTRIBUTES = [
    "weight_concentration_prior_",
    "weight_concentration_",
    "mean_precision_prior_",
    "mean_precision_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "degrees_of_freedom_",
    "covariance_prior_",
]


def attributes(model):
    names = SKLEARN_ATTRIBUTES + (BAYESIAN_ATTRIBUTES if hasattr(model, "mean_prior_") else [])
    return {name: getattr(model, name) for name in names}


def assert_predicts_as_sklearn(ours, theirs, X):
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_to_sklearn_and_back(sklearn_mixture, kind, covariance_type):
    model = fitted(kind, covariance_type)
    estimator = model.to_sklearn()
    assert type(estimator) is getattr(sklearn_mixture, type(model).__name__)
    shared = set(estimator.get_params()) & set(model.get_params())
    assert_identical(
        {name: estimator.get_params()[name] for name in shared},
        {name: model.get_params()[name] for name in shared},
    )
    for name, value in attributes(model).items():
        assert_identical(getattr(estimator, name), value, name)
    assert_predicts_as_sklearn(model, estimator, X)
    if kind == "GaussianMixture":
        assert estimator.bic(X) == pytest.approx(model.bic(X), rel=1e-12)
    estimator.means_[0, 0] += 1.0  # a copy: the model is unchanged
    assert estimator.means_[0, 0] != model.means_[0, 0]
    estimator.means_[0, 0] -= 1.0

    back = type(model).from_sklearn(estimator)
    assert type(back) is type(model)
    for name, value in attributes(model).items():
        assert_identical(getattr(back, name), value, name)
    assert back.get_params() == model.get_params()
    assert_same_predictions(back, model, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_from_a_sklearn_fit(tmp_path, sklearn_mixture, kind, covariance_type):
    estimator, options = KINDS[kind]
    theirs = fit_quietly(
        X,
        3,
        estimator=getattr(sklearn_mixture, estimator.__name__),
        covariance_type=covariance_type,
        random_state=0,
        max_iter=30,
        **options,
    )
    ours = estimator.from_sklearn(theirs)
    assert type(ours) is estimator and ours.n_degenerate_ == 0
    assert ours.get_params()["covariance_type"] == covariance_type
    assert_predicts_as_sklearn(ours, theirs, X)
    for name, value in attributes(ours).items():
        assert_allclose(np.ravel(value), np.ravel(getattr(theirs, name)), rtol=0, err_msg=name)
    if estimator is BayesianGaussianMixture:
        assert np.isnan(ours.full_lower_bound_)  # scikit-learn keeps no total weight
    loaded = fastgmm.load(saved(tmp_path, ours))
    assert_same_model(loaded, ours)


def test_from_a_float32_sklearn_fit_keeps_float32(sklearn_mixture):
    X32 = X.astype(np.float32)
    theirs = fit_quietly(X32, 3, estimator=sklearn_mixture.GaussianMixture, random_state=0)
    assert theirs.means_.dtype == np.float32
    ours = GaussianMixture.from_sklearn(theirs)
    assert ours.means_.dtype == np.float32 and ours.precisions_cholesky_.dtype == np.float32
    assert_array_equal(ours.predict(X32), theirs.predict(X32))
    assert_allclose(ours.score_samples(X32), theirs.score_samples(X32), rtol=1e-5)


def test_from_sklearn_feature_names(sklearn_mixture):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    theirs = fit_quietly(frame, 2, estimator=sklearn_mixture.GaussianMixture, random_state=0)
    ours = GaussianMixture.from_sklearn(theirs)
    assert list(ours.feature_names_in_) == ["a", "b", "c"]
    assert_array_equal(ours.predict(frame), theirs.predict(frame))
    assert list(ours.to_sklearn().feature_names_in_) == ["a", "b", "c"]


def test_from_sklearn_refuses_unfitted_other_and_invalid_estimators(sklearn_mixture):
    with pytest.raises(NotFittedError, match="scikit-learn GaussianMixture is not fitted yet"):
        GaussianMixture.from_sklearn(sklearn_mixture.GaussianMixture(2))
    with pytest.raises(TypeError, match="expects a fitted sklearn.mixture.BayesianGaussianMix"):
        BayesianGaussianMixture.from_sklearn(fitted("GaussianMixture").to_sklearn())
    with pytest.raises(TypeError, match="expects a fitted sklearn.mixture.GaussianMixture"):
        GaussianMixture.from_sklearn(fitted("GaussianMixture"))  # fastgmm's own
    theirs = fitted("GaussianMixture").to_sklearn()
    theirs.means_[1, 2] = np.nan
    with pytest.raises(ValueError, match="Cannot convert the scikit-learn GaussianMixture: means_"):
        GaussianMixture.from_sklearn(theirs)
    theirs = fitted("Bayesian, Dirichlet process", "diag").to_sklearn()
    theirs.weights_ = theirs.weights_ * 2
    with pytest.raises(ValueError, match="weights_ sums to"):
        BayesianGaussianMixture.from_sklearn(theirs)


def test_result_to_sklearn(sklearn_mixture):
    result = fastgmm.fit(X, 3, covariance_type="diag", random_state=0)
    estimator = result.to_sklearn()
    assert type(estimator) is sklearn_mixture.GaussianMixture
    assert estimator.covariance_type == "diag" and estimator.n_components == 3
    assert_array_equal(estimator.means_, result.means)
    assert estimator.means_.flags.writeable  # a copy, not the result's read-only array
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    assert_predicts_as_sklearn(model, estimator, X)


def test_to_sklearn_unfitted_raises_not_fitted(sklearn_mixture):
    with pytest.raises(NotFittedError):
        GaussianMixture(2).to_sklearn()


def test_without_sklearn_the_conversions_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails
    with pytest.raises(ImportError, match="to_sklearn needs scikit-learn.*pip install scikit"):
        fitted("GaussianMixture").to_sklearn()
    with pytest.raises(ImportError, match="BayesianGaussianMixture.from_sklearn needs scikit"):
        BayesianGaussianMixture.from_sklearn(None)


def test_saving_and_loading_do_not_import_sklearn(tmp_path):
    code = f"""
import sys
import numpy as np
import fastgmm
X = np.random.default_rng(0).normal(size=(50, 2))
fastgmm.GaussianMixture(2, random_state=0).fit(X).save({str(tmp_path / "m.npz")!r})
fastgmm.load({str(tmp_path / "m.npz")!r}).predict(X)
print('sklearn' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_fastgmm_models_are_saved_and_the_format_names_every_registered_class(tmp_path):
    with pytest.raises(TypeError, match="Expected a fastgmm GaussianMixture, Bayesian"):
        fastgmm.io.save(object(), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert set(fastgmm.io.registry.MODEL_CLASSES) == set(fastgmm.io.format.CLASS_NAMES)

    class Unknown:
        pass

    with pytest.raises(ValueError, match="no class 'Unknown'"):
        fastgmm.io.register(Unknown)
