"""select_n_components: the table, the choice, and its checks."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastgmm
from fastgmm import GaussianMixture, InvalidParameterError
from fastgmm.cli import demo_data


@pytest.fixture(scope="module")
def tutorial():
    X, _ = demo_data(1000)
    return X, fastgmm.select_n_components(
        X, range(1, 7), covariance_types=("full", "diag"), random_state=0
    )


def test_bic_finds_the_three_tutorial_components(tutorial):
    X, selection = tutorial
    assert (selection.best.n_components, selection.best.covariance_type) == (3, "full")
    assert len(selection.candidates) == 12
    assert selection.best.bic == min(c.bic for c in selection.candidates)
    assert selection.best_model.n_components == 3
    assert "<- best" in str(selection) and len(str(selection).splitlines()) == 13
    assert selection.records()[0]["n_components"] == 1


def test_table_matches_separate_fits(tutorial):
    X, selection = tutorial
    for candidate in selection.candidates[::5]:
        model = GaussianMixture(
            candidate.n_components, covariance_type=candidate.covariance_type, random_state=0
        ).fit(X)
        assert_allclose(
            [candidate.bic, candidate.aic, candidate.lower_bound],
            [model.bic(X), model.aic(X), model.lower_bound_],
            rtol=1e-12,
        )
        assert candidate.n_iter == model.n_iter_ and candidate.seconds > 0


def test_other_criteria_pick_their_optimum():
    X, _ = demo_data(500, seed=1)
    by_aic = fastgmm.select_n_components(X, [1, 2, 3, 4], criterion="aic", random_state=0)
    assert by_aic.best.aic == min(c.aic for c in by_aic.candidates)
    by_bound = fastgmm.select_n_components(X, [1, 2, 3], criterion="lower_bound", random_state=0)
    assert by_bound.best.lower_bound == max(c.lower_bound for c in by_bound.candidates)


def test_sample_weight_reaches_every_fit():
    X, _ = demo_data(300)
    weights = np.random.default_rng(0).integers(1, 4, size=300)
    selection = fastgmm.select_n_components(X, [2, 3], sample_weight=weights, random_state=0)
    model = GaussianMixture(2, random_state=0).fit(X, sample_weight=weights)
    assert_allclose(selection.candidates[0].bic, model.bic(X, sample_weight=weights), rtol=1e-12)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(criterion="likelihood"), "'bic', 'aic', 'lower_bound'"),
        (dict(n_components=[]), "non-empty iterable"),
        (dict(n_components=[0, 2]), "ints >= 1"),
        (dict(covariance_types=("full", "banana")), "'covariance_types'"),
        (dict(covariance_type="full"), "not as an option"),
    ],
)
def test_bad_arguments(arguments, message):
    X, _ = demo_data(50)
    with pytest.raises(InvalidParameterError, match=message):
        fastgmm.select_n_components(X, **arguments)
