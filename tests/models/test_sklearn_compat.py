"""fastgmm works inside scikit-learn (clone, Pipeline, GridSearchCV, estimator checks),
speaks its exceptions and feature names, without importing it."""

import os
import pickle
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastgmm
from fastgmm import BayesianGaussianMixture, GaussianMixture

import _references as ref

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

X_SMALL = ref.make_blobs(200, 2, 2, seed=3)


def test_import_does_not_import_sklearn():
    code = "import sys, fastgmm; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clone_and_params():
    model = GaussianMixture(3, covariance_type="diag", reg_covar=1e-4, random_state=1)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert model.set_params(n_components=4) is model and model.n_components == 4
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(bandwidth=1.0)
    assert "covariance_type='diag'" in repr(copy) and "tol" not in repr(copy)


def test_pipeline_and_grid_search_select_the_true_number_of_components():
    X = ref.make_blobs(600, 2, 3, seed=2, scale=6.0)
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
    pipeline.fit(X)
    assert pipeline.score(X) == pytest.approx(pipeline[-1].score(pipeline[0].transform(X)))
    search = GridSearchCV(
        GaussianMixture(random_state=0),
        {"n_components": [1, 2, 3], "covariance_type": ["full", "spherical"]},
        cv=3,
    )
    search.fit(X)
    assert search.best_params_["n_components"] == 3
    assert isinstance(search.best_estimator_, GaussianMixture)


# -- scikit-learn's exception and warning classes ------------------------------------------


def test_errors_and_warnings_are_also_sklearns_once_sklearn_is_imported():
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameter

    with pytest.raises(SklearnNotFittedError) as not_fitted:
        GaussianMixture(2).predict(X_SMALL)
    assert isinstance(not_fitted.value, fastgmm.NotFittedError)
    assert isinstance(not_fitted.value, (ValueError, AttributeError))
    with pytest.raises(SklearnInvalidParameter) as invalid:
        GaussianMixture(0).fit(X_SMALL)
    assert isinstance(invalid.value, fastgmm.InvalidParameterError)
    assert isinstance(invalid.value, (ValueError, TypeError))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=SklearnConvergenceWarning)
        GaussianMixture(2, max_iter=1, random_state=0).fit(X_SMALL)  # silenced, not raised
    with pytest.warns(fastgmm.ConvergenceWarning) as record:
        GaussianMixture(2, max_iter=1, random_state=0).fit(X_SMALL)
    assert issubclass(record[0].category, SklearnConvergenceWarning)


def test_errors_pickle_and_keep_their_message():
    error = fastgmm.NotFittedError("not fitted yet")
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and copy.args == ("not fitted yet",)
    assert isinstance(copy, SklearnNotFittedError)


class UsersError(fastgmm.NotFittedError):
    """A user's subclass: stays itself (no twin) and pickles as itself."""


def test_a_users_subclass_keeps_its_class():
    error = UsersError("mine")
    assert type(error) is UsersError
    assert type(pickle.loads(pickle.dumps(error))) is UsersError


def test_without_sklearn_the_classes_are_fastgmms_own():
    code = """
import pickle, sys, warnings
import numpy as np
import fastgmm
try:
    fastgmm.GaussianMixture(2).predict(np.zeros((3, 2)))
except fastgmm.NotFittedError as error:
    assert type(error) is fastgmm.NotFittedError
    assert type(pickle.loads(pickle.dumps(error))) is fastgmm.NotFittedError
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    fastgmm.GaussianMixture(2, max_iter=1, random_state=0).fit(np.arange(40.0).reshape(20, 2))
assert record[0].category is fastgmm.ConvergenceWarning
print('sklearn' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_weights_init_range_error_uses_sklearns_wording():
    """scikit-learn's test_check_weights matches this text (its two labels are swapped)."""
    weights = np.array([0.5, 1.25])
    expected = re.escape(
        "The parameter 'weights' should be in the range [0, 1], but got max "
        f"value {np.min(weights):.5f}, min value {np.max(weights):.5f}"
    )
    with pytest.raises(ValueError, match=expected):
        GaussianMixture(2, weights_init=weights).fit(X_SMALL)


# -- feature names -------------------------------------------------------------------------


class Columns:
    """A minimal table with a ``columns`` attribute (as pandas and polars DataFrames have)."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values), columns

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


@pytest.mark.parametrize("make_table", ["pandas", "columns attribute"])
def test_feature_names_are_kept_and_checked(make_table):
    if make_table == "pandas":
        pd = pytest.importorskip("pandas")

        def table(values, columns):
            return pd.DataFrame(values, columns=columns)
    else:

        def table(values, columns):
            return Columns(values, list(columns))

    names = ["height", "weight", "age"]
    X = ref.make_blobs(300, 3, 2, seed=4)
    model = GaussianMixture(2, random_state=0).fit(table(X, names))
    assert model.feature_names_in_.dtype == object
    assert list(model.feature_names_in_) == names
    plain = GaussianMixture(2, random_state=0).fit(X)
    assert not hasattr(plain, "feature_names_in_")
    np.testing.assert_array_equal(model.means_, plain.means_)
    np.testing.assert_array_equal(model.predict(table(X, names)), plain.predict(X))

    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.predict(table(X[:, [1, 0, 2]], ["weight", "height", "age"]))
    with pytest.raises(
        ValueError, match="unseen at fit time:\n- size\n.*seen at fit time, yet now missing:\n- age"
    ):
        model.score(table(X, ["height", "weight", "size"]))
    with pytest.warns(
        UserWarning,
        match="X does not have valid feature names, but "
        "GaussianMixture was fitted with feature names",
    ) as w:
        model.predict_proba(X)
    assert w[0].filename == __file__  # attributed to the caller
    with pytest.warns(
        UserWarning,
        match="X has feature names, but GaussianMixture was fitted without feature names",
    ) as w:
        plain.score(table(X, names))
    assert w[0].filename == __file__
    refitted = model.fit(X)  # a fit without names forgets the old ones
    assert not hasattr(refitted, "feature_names_in_")


def test_non_string_and_mixed_feature_names():
    X = ref.make_blobs(100, 2, 2)
    model = GaussianMixture(2, random_state=0).fit(Columns(X, [0, 1]))
    assert not hasattr(model, "feature_names_in_")  # integer names are not feature names
    with pytest.raises(
        TypeError, match="Feature names are only supported if all input features have string names"
    ):
        GaussianMixture(2).fit(Columns(X, ["a", 1]))


# -- scikit-learn's estimator checks -------------------------------------------------------

ESTIMATORS = [GaussianMixture(random_state=0), BayesianGaussianMixture(random_state=0)]

# Check name: why it cannot pass.  Empty: every applicable check passes.
EXPECTED_FAILED_CHECKS = {}


# scikit-learn warns that fastgmm does not derive from its BaseEstimator (fastgmm never imports
# scikit-learn): pyproject.toml's filterwarnings lists that warning as expected.
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    """All of scikit-learn's checks.  One skips itself here: check_array_api_input needs
    SCIPY_ARRAY_API=1 before scipy is imported, so the next test runs it in a new process."""
    check(estimator)


@pytest.mark.parametrize("name", [type(estimator).__name__ for estimator in ESTIMATORS])
def test_sklearn_array_api_check_in_a_process_with_scipy_array_api(name):
    code = f"""
from sklearn.utils.estimator_checks import check_array_api_input
from fastgmm import {name}
check_array_api_input("{name}", {name}(random_state=0),
                      array_namespace="numpy", expect_only_array_outputs=False)
print("passed")
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == "passed"
