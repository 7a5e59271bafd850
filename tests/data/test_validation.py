"""Bad input gets a clear error naming the problem; awkward valid input works."""

import numpy as np
import pytest

from fastgmm import GaussianMixture, InvalidParameterError, fit

import _references as ref

X_OK = ref.make_blobs(60, 2, 2)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.arange(10.0), "reshape"),
        (np.zeros((3, 4, 2)), "dim 3"),
        (np.zeros((0, 2)), "0 sample"),
        (np.zeros((5, 0)), "0 feature"),
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
        (np.ones((4, 2), dtype=complex), "Complex"),
        ([[1.0, 2.0], [3.0]], "2-D numeric"),
        (np.array([[1, "x"], [2, 3]], dtype=object), "non-numeric"),
        (np.array([[1, None], [2, 3]], dtype=object), "NaN or infinity in 1 of 2 rows"),
        (np.array([[1.0, np.nan], [2.0, 3.0], [np.inf, 1.0]]), "NaN or infinity in 2 of 3 rows"),
        (np.zeros((1, 2)), "minimum of 2"),
    ],
)
def test_bad_data_is_rejected_with_a_clear_message(X, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(1).fit(X)


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(np.zeros((3, 2)))


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(n_components=0), "n_components"),
        (dict(n_components=2.5), "n_components"),
        (dict(tol=-1.0), "tol"),
        (dict(reg_covar=-1e-3), "reg_covar"),
        (dict(max_iter=-1), "max_iter"),
        (dict(n_init=0), "n_init"),
        (dict(covariance_type="banana"), "'full', 'tied', 'diag', 'spherical'"),
        (dict(init_params="banana"), "'kmeans', 'k-means\\+\\+', 'random', 'random_from_data'"),
        (dict(random_state="seed"), "random_state"),
        (dict(tol=float("nan")), "tol"),
        (dict(verbose_interval=0), "verbose_interval"),
        (dict(warm_start="yes"), "warm_start"),
        (dict(on_degenerate="ignore"), "'reseed', 'raise'"),
    ],
)
def test_invalid_parameters(options, message):
    with pytest.raises(InvalidParameterError, match=message):
        GaussianMixture(**{"n_components": 2, **options}).fit(X_OK)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(weights_init=[0.5, 0.6]), "normalized"),
        (dict(weights_init=[1.5, -0.5]), "range"),
        (dict(weights_init=[1.0]), "shape"),
        (dict(means_init=np.zeros((2, 3))), "shape"),
        (dict(precisions_init=np.stack([np.eye(2), -np.eye(2)])), "positive-definite"),
        (
            dict(covariance_type="diag", precisions_init=np.array([[1.0, 1.0], [0.0, 1.0]])),
            "positive",
        ),
    ],
)
def test_invalid_initial_parameters(options, message):
    with pytest.raises(ValueError, match=message):
        fit(X_OK, 2, **options)


def test_awkward_but_valid_input(tmp_path):
    base = GaussianMixture(2, random_state=0).fit(X_OK).means_
    fortran = np.asfortranarray(X_OK)
    strided = np.repeat(X_OK, 2, axis=0)[::2]
    readonly = X_OK.copy()
    readonly.setflags(write=False)
    np.save(tmp_path / "x.npy", X_OK)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    big_endian = X_OK.astype(">f8")
    for X in (fortran, strided, readonly, X_OK.tolist(), mapped, big_endian):
        model = GaussianMixture(2, random_state=0).fit(X)
        np.testing.assert_allclose(model.means_, base)
        np.testing.assert_allclose(model.score_samples(X), model.score_samples(X_OK))
    for X in (X_OK > 0.5, np.round(X_OK * 10).astype(np.int32), X_OK.astype(np.float16)):
        model = GaussianMixture(2, random_state=0).fit(X)
        assert model.means_.dtype == np.float64 and np.all(np.isfinite(model.means_))


def test_bad_data_at_predict_time():
    model = GaussianMixture(2, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="NaN or infinity in 1 of 2 rows"):
        model.predict(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict_proba(np.zeros(2))
    with pytest.raises(ValueError, match="least one sample"):
        model.sample(0)
