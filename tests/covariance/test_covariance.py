"""Per-covariance-type mathematics: M-step, precision factors, parameter counts."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm.covariance import COVARIANCE_TYPES, ILL_DEFINED_COVARIANCE, n_parameters
from fastgmm.data.statistics import statistics_from_responsibilities

import _references as ref

TYPES = list(COVARIANCE_TYPES)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_m_step_from_responsibilities_matches_the_textbook(covariance_type):
    rng = np.random.default_rng(0)
    X = ref.make_blobs(300, 3, 2, seed=1)
    resp = rng.dirichlet(np.ones(4), size=300)
    covariance = COVARIANCE_TYPES[covariance_type]
    # Any reference point gives the same answer: here a deliberately poor one.
    reference = np.full((4, 3), 7.0)
    statistics = statistics_from_responsibilities(
        covariance, X, [(0, resp[:100]), (100, resp[100:])], reference
    )
    weights, means, covariances = covariance.m_step(statistics, reg_covar=1e-4)
    expected = ref.m_step(X, resp, covariance_type, reg_covar=1e-4)
    for got, want in zip((weights, means, covariances), expected):
        assert_allclose(got, want, rtol=1e-11)


def test_empty_component_gets_mean_zero_and_reg_covar():
    # sklearn's convention (nk = 0 + 10 eps): mean 0, covariance reg_covar * I.
    X = ref.make_blobs(50, 2, 1)
    resp = np.zeros((50, 2))
    resp[:, 0] = 1.0
    covariance = COVARIANCE_TYPES["full"]
    statistics = statistics_from_responsibilities(covariance, X, [(0, resp)], np.ones((2, 2)))
    _, means, covariances = covariance.m_step(statistics, reg_covar=1e-3)
    assert_allclose(means[1], 0.0, atol=1e-12)
    assert_allclose(covariances[1], 1e-3 * np.eye(2), atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_precision_factors_round_trip(covariance_type):
    rng = np.random.default_rng(2)
    covariance = COVARIANCE_TYPES[covariance_type]
    _, _, covariances = ref.random_parameters(rng, covariance_type, 3, 4)
    prec_chol = covariance.precisions_cholesky(covariances)
    precisions = covariance.precisions(prec_chol)
    assert_allclose(precisions, ref.precisions(covariances, covariance_type), rtol=1e-10)
    assert_allclose(
        covariance.precisions_cholesky_from_precisions(precisions),
        prec_chol,
        rtol=1e-10,
        atol=1e-12,
    )
    assert_allclose(covariance.covariances_from_precisions(precisions), covariances, rtol=1e-10)
    if prec_chol.ndim >= 2 and covariance_type in ("full", "tied"):
        assert_allclose(np.tril(prec_chol, -1), 0.0)  # upper-triangular, as sklearn


def test_singular_covariance_raises_sklearns_message():
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        COVARIANCE_TYPES["full"].precisions_cholesky(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        COVARIANCE_TYPES["diag"].precisions_cholesky(np.array([[1.0, 0.0]]))
    assert "reg_covar" in ILL_DEFINED_COVARIANCE


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("n_components, n_features", [(1, 1), (3, 2), (5, 7)])
def test_parameter_count(covariance_type, n_components, n_features):
    assert n_parameters(
        COVARIANCE_TYPES[covariance_type], n_components, n_features
    ) == ref.n_parameters(covariance_type, n_components, n_features)


def test_serial_cholesky_matches_scipy_and_flags_non_positive_definite():
    from scipy import linalg

    from fastgmm._kernels.linalg import precisions_cholesky

    rng = np.random.default_rng(5)
    _, _, covariances = ref.random_parameters(rng, "full", 4, 6)
    out = np.empty_like(covariances)
    failed = np.ones(4, dtype=np.bool_)
    assert precisions_cholesky(covariances, out, failed) == 0
    assert not failed.any()
    for cov, got in zip(covariances, out):
        expected = linalg.solve_triangular(
            linalg.cholesky(cov, lower=True), np.eye(6), lower=True
        ).T
        assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    covariances[2, 3, 3] = -1.0
    assert precisions_cholesky(covariances, out, failed) == 1
    assert failed.tolist() == [False, False, True, False]
    assert not out[2].any()
    covariances[1, 0, 0] = np.nan
    assert precisions_cholesky(covariances, out, failed) == 2
    assert failed.tolist() == [False, True, True, False]


def test_every_type_fulfils_the_covariance_type_contract():
    from fastgmm.covariance import CovarianceType

    assert list(COVARIANCE_TYPES) == ["full", "tied", "diag", "spherical"]
    for name, covariance in COVARIANCE_TYPES.items():
        assert isinstance(covariance, CovarianceType) and covariance.name == name
        assert callable(covariance.kernels.run_pass)

    class Incomplete(CovarianceType):  # a new type that forgot most of the contract
        name = "incomplete"

        @staticmethod
        def sum_sq_shape(n_components, n_features):
            return (n_components,)

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
