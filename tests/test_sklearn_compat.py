"""fastgmm works inside scikit-learn (clone, Pipeline, GridSearchCV) without importing it."""

import subprocess
import sys

import pytest

from fastgmm import GaussianMixture

import _references as ref

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


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
    assert pipeline.score(X) == pytest.approx(
        pipeline[-1].score(pipeline[0].transform(X)))
    search = GridSearchCV(GaussianMixture(random_state=0),
                          {"n_components": [1, 2, 3], "covariance_type": ["full", "spherical"]},
                          cv=3)
    search.fit(X)
    assert search.best_params_["n_components"] == 3
    assert isinstance(search.best_estimator_, GaussianMixture)
