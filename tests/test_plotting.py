"""fastgmm.plotting: ellipses where the components are, the selection and convergence curves,
large data as a density image, and the errors."""

import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="fastgmm.plotting needs matplotlib (fastgmm[plot])")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

import fastgmm  # noqa: E402
from fastgmm import BayesianGaussianMixture, GaussianMixture, NotFittedError  # noqa: E402
from fastgmm.cli import demo_data  # noqa: E402
from fastgmm.plotting import (  # noqa: E402
    SCATTER_MAX_POINTS,
    plot_convergence,
    plot_mixture,
    plot_selection,
)

from _helpers import COVARIANCE_TYPES, fit_quietly  # noqa: E402

X_DEMO, _ = demo_data(600)


def make_4d(n_samples=800, seed=0):
    """Three components in 4-D with different, correlated covariances."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, -3.0, 2.0, 8.0], [-5.0, 4.0, 9.0, -2.0]])
    labels = rng.integers(0, 3, n_samples)
    factors = np.tril(rng.normal(scale=0.6, size=(3, 4, 4))) + np.eye(4)
    noise = rng.standard_normal((n_samples, 4))
    return means[labels] + np.einsum("nij,nj->ni", factors[labels], noise)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def marginal(model, k, dims):
    """Component k's 2 x 2 covariance of features ``dims``, from the full matrix sklearn-style."""
    cov, n_features = model.covariances_, model.means_.shape[1]
    full = {
        "full": lambda: cov[k],
        "tied": lambda: cov,
        "diag": lambda: np.diag(cov[k]),
        "spherical": lambda: cov[k] * np.eye(n_features),
    }[model.covariance_type]()
    return full[np.ix_(dims, dims)]


def check_ellipses(ax, model, dims):
    """Three ellipses per component at its mean, with the marginal covariance's axes."""
    drawn = ellipses(ax)
    assert len(drawn) == 3 * model.n_components
    for k in range(model.n_components):
        eigenvalues, eigenvectors = np.linalg.eigh(marginal(model, k, dims))
        for n, ellipse in zip((1, 2, 3), drawn[3 * k : 3 * k + 3]):
            np.testing.assert_allclose(ellipse.center, model.means_[k, list(dims)], rtol=1e-12)
            np.testing.assert_allclose(
                (ellipse.width, ellipse.height), 2 * n * np.sqrt(eigenvalues[::-1]), rtol=1e-10
            )
            # The width runs along the major eigenvector (angle defined up to 180 degrees).
            direction = np.array(
                [np.cos(np.radians(ellipse.angle)), np.sin(np.radians(ellipse.angle))]
            )
            assert abs(direction @ eigenvectors[:, 1]) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_ellipses_at_the_means_with_the_covariance_axes(covariance_type):
    model = fit_quietly(X_DEMO, 3, covariance_type=covariance_type, random_state=0)
    ax = plot_mixture(model, X_DEMO)
    check_ellipses(ax, model, (0, 1))
    assert len(ax.collections) == 1  # 600 points: a scatter
    np.testing.assert_allclose(ax.collections[0].get_offsets(), X_DEMO)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dims", [(1, 3), (3, 0)])
def test_dims_pick_two_features_of_4d_data(covariance_type, dims):
    X = make_4d()
    model = fit_quietly(X, 3, covariance_type=covariance_type, random_state=0)
    ax = plot_mixture(model, X, dims=dims)
    check_ellipses(ax, model, dims)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), X[:, list(dims)])
    assert (ax.get_xlabel(), ax.get_ylabel()) == (f"feature {dims[0]}", f"feature {dims[1]}")


def test_ellipse_angle_of_a_known_covariance():
    # Covariance [[4, 0], [0, 1]] rotated by 30 degrees: axes 2 x 2 and 2 x 1, angle 30.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rotation = np.array([[c, -s], [s, c]])
    covariance = rotation @ np.diag([4.0, 1.0]) @ rotation.T
    model = SimpleNamespace(
        weights_=np.array([1.0]),
        means_=np.array([[1.0, -2.0]]),
        covariances_=covariance[None],
        covariance_type="full",
    )
    first = ellipses(plot_mixture(model))[0]
    assert (first.width, first.height) == (pytest.approx(4.0), pytest.approx(2.0))
    assert first.angle % 180 == pytest.approx(30.0)
    assert first.center == (1.0, -2.0)


@pytest.mark.parametrize("covariance_type", ["factor", "ppca"])
def test_a_factor_model_has_the_ellipses_of_its_full_covariances(covariance_type):
    X = make_4d()
    model = fit_quietly(X, 3, covariance_type=covariance_type, n_factors=1, random_state=0)
    as_full = SimpleNamespace(
        n_components=3, means_=model.means_, covariances_=model.covariances_, covariance_type="full"
    )
    check_ellipses(plot_mixture(model, X, dims=(1, 3)), as_full, (1, 3))
    result = fastgmm.fit(X, 3, covariance_type=covariance_type, n_factors=1, random_state=0)
    check_ellipses(plot_mixture(result, X, dims=(1, 3)), as_full, (1, 3))


def test_bayesian_mixture_and_fit_result():
    bayesian = fit_quietly(X_DEMO, 4, estimator=BayesianGaussianMixture, random_state=0)
    check_ellipses(plot_mixture(bayesian), bayesian, (0, 1))

    result = fastgmm.fit(X_DEMO, 3, covariance_type="diag", random_state=0)
    ax = plot_mixture(result, X_DEMO)
    as_estimator = SimpleNamespace(
        n_components=3,
        means_=result.means,
        covariances_=result.covariances,
        covariance_type=result.covariance_type,
    )
    check_ellipses(ax, as_estimator, (0, 1))


def test_scikit_learn_mixture():
    mixture = pytest.importorskip("sklearn.mixture", reason="scikit-learn is optional")
    model = fit_quietly(X_DEMO, 3, estimator=mixture.GaussianMixture, random_state=0)
    check_ellipses(plot_mixture(model, X_DEMO), model, (0, 1))


def test_refitted_type_is_read_from_the_fit():
    model = fit_quietly(X_DEMO, 3, covariance_type="diag", random_state=0)
    model.covariance_type = "full"  # set anew after the fit: covariances_ is still 'diag'
    ax = plot_mixture(model)
    model.covariance_type = "diag"
    check_ellipses(ax, model, (0, 1))


def test_ellipse_opacity_grows_with_the_weight():
    model = fit_quietly(X_DEMO, 3, random_state=0)
    alphas = [e.get_alpha() for e in ellipses(plot_mixture(model))[::3]]
    assert np.argsort(alphas).tolist() == np.argsort(model.weights_).tolist()
    assert max(alphas) == pytest.approx(1.0)


def test_large_data_is_a_density_image():
    X, _ = demo_data(SCATTER_MAX_POINTS + 1)
    model = fit_quietly(X, 3, random_state=0)
    ax = plot_mixture(model, X)
    assert len(ax.collections) == 0 and len(ax.images) == 1
    counts = ax.images[0].get_array()
    assert counts.sum() == SCATTER_MAX_POINTS + 1  # every point in one bin
    x0, x1, y0, y1 = ax.images[0].get_extent()
    assert (x0, x1, y0, y1) == (X[:, 0].min(), X[:, 0].max(), X[:, 1].min(), X[:, 1].max())
    # Its bins are numpy's histogram2d's over the same range (counts[j, i]: y bin j, x bin i).
    reference, _, _ = np.histogram2d(
        X[:, 0], X[:, 1], bins=counts.shape[0], range=[(x0, x1), (y0, y1)]
    )
    np.testing.assert_array_equal(counts.filled(0), reference.T)
    check_ellipses(ax, model, (0, 1))


def test_ten_million_points_in_seconds():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000_000, 2), dtype=np.float32)
    model = SimpleNamespace(
        weights_=np.array([1.0]),
        means_=np.zeros((1, 2)),
        covariances_=np.ones(1),
        covariance_type="spherical",
    )
    start = time.perf_counter()
    ax = plot_mixture(model, X)
    ax.figure.canvas.draw()
    seconds = time.perf_counter() - start
    assert seconds < 10, f"plot_mixture took {seconds:.1f} s on 10M points"
    assert ax.images[0].get_array().sum() == 10_000_000


def test_selection_plot():
    selection = fastgmm.select_n_components(
        X_DEMO, [4, 1, 2, 3], covariance_types=("full", "spherical"), random_state=0
    )
    axes = plot_selection(selection)
    assert axes.shape == (2,)
    criteria_ax, bound_ax = axes
    lines = {line.get_label(): line for line in (*criteria_ax.lines, *bound_ax.lines)}
    for covariance_type in ("full", "spherical"):
        rows = sorted(
            (c for c in selection.candidates if c.covariance_type == covariance_type),
            key=lambda c: c.n_components,
        )
        for quantity, attribute in (("BIC", "bic"), ("AIC", "aic"), ("lower bound", "lower_bound")):
            line = lines[f"{quantity}, {covariance_type}"]
            assert line.axes is (bound_ax if attribute == "lower_bound" else criteria_ax)
            assert list(line.get_xdata()) == [1, 2, 3, 4]
            np.testing.assert_array_equal(line.get_ydata(), [getattr(c, attribute) for c in rows])
    (star,) = [line for label, line in lines.items() if label.startswith("best by BIC")]
    assert star.axes is criteria_ax
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (
        selection.best.n_components,
        selection.best.bic,
    )
    assert f"{selection.best.n_components} components, {selection.best.covariance_type}" in (
        star.get_label()
    )


def test_selection_by_lower_bound_on_one_given_axes():
    selection = fastgmm.select_n_components(
        X_DEMO, range(1, 4), criterion="lower_bound", random_state=0
    )
    _, ax = plt.subplots()
    criteria_ax, bound_ax = plot_selection(selection, ax=ax)
    assert criteria_ax is ax and bound_ax is not ax
    assert bound_ax.get_shared_x_axes().joined(ax, bound_ax)  # the twin on the right
    (star,) = [line for line in bound_ax.lines if line.get_label().startswith("best by")]
    assert (
        star.get_ydata()[0]
        == selection.best.lower_bound
        == max(c.lower_bound for c in selection.candidates)
    )


def test_selection_on_a_given_pair_of_axes():
    selection = fastgmm.select_n_components(X_DEMO, range(1, 3), random_state=0)
    _, pair = plt.subplots(2, 1)
    axes = plot_selection(selection, ax=pair)
    assert axes[0] is pair[0] and axes[1] is pair[1]
    assert len(pair[0].lines) == 3 and len(pair[1].lines) == 1  # BIC, AIC, star | lower bound


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
def test_convergence_plot_of_a_fitted_model(estimator):
    model = fit_quietly(X_DEMO, 3, estimator=estimator, init_params="random", random_state=1)
    assert len(model.lower_bounds_) == model.n_iter_ > 2
    (line,) = plot_convergence(model).lines
    np.testing.assert_array_equal(line.get_ydata(), model.lower_bounds_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, model.n_iter_ + 1))


def test_convergence_plot_of_a_fit_result_and_a_stand_in():
    result = fastgmm.fit(X_DEMO, 3, init_params="random", random_state=1)
    (line,) = plot_convergence(result).lines
    np.testing.assert_array_equal(line.get_ydata(), result.lower_bounds)

    _, ax = plt.subplots()
    stand_in = SimpleNamespace(lower_bounds_=[-5.0, -4.0, -3.5, -3.4])
    assert plot_convergence(stand_in, ax=ax) is ax
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), stand_in.lower_bounds_)


def test_unfitted_models():
    for plot in (plot_mixture, plot_convergence):
        for model in (GaussianMixture(2), BayesianGaussianMixture(2)):
            with pytest.raises(NotFittedError, match="not fitted yet"):
                plot(model)


def test_a_model_without_lower_bounds():
    fitted = SimpleNamespace(means_=np.zeros((1, 2)), fit=None)
    with pytest.raises(ValueError, match="lower_bounds_"):
        plot_convergence(fitted)
    with pytest.raises(ValueError, match="empty"):
        plot_convergence(SimpleNamespace(lower_bounds_=[]))


@pytest.mark.parametrize(
    ("dims", "error", "message"),
    [
        ((0, 4), ValueError, r"out of range.*4 features"),
        ((-1, 2), ValueError, "out of range"),
        ((2, 2), ValueError, "two different features"),
        ((0,), TypeError, "pair of feature indices"),
        ((0.0, 1), TypeError, "pair of feature indices"),
        (1, TypeError, "pair of feature indices"),
    ],
)
def test_bad_dims(dims, error, message):
    model = fit_quietly(make_4d(200), 2, covariance_type="diag", random_state=0)
    with pytest.raises(error, match=message):
        plot_mixture(model, dims=dims)


def test_bad_data():
    model = fit_quietly(X_DEMO, 2, random_state=0)
    with pytest.raises(
        ValueError, match="X has 3 features, but the GaussianMixture was fitted on 2"
    ):
        plot_mixture(model, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="2-D"):
        plot_mixture(model, np.zeros(10))
    with pytest.raises(ValueError, match="no rows"):
        plot_mixture(model, np.zeros((0, 2)))
    big = np.zeros((SCATTER_MAX_POINTS + 1, 2))
    big[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        plot_mixture(model, big)
    one_feature = fit_quietly(X_DEMO[:, :1], 2, random_state=0)
    with pytest.raises(ValueError, match="1 feature"):
        plot_mixture(one_feature)


def test_not_a_mixture():
    with pytest.raises(TypeError, match="fitted mixture"):
        plot_mixture(object())
    with pytest.raises(TypeError, match="covariances_"):
        plot_mixture(SimpleNamespace(weights_=np.ones(1), means_=np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r"'diag' covariances must have shape \(1, 2\)"):
        plot_mixture(
            SimpleNamespace(
                weights_=np.ones(1),
                means_=np.zeros((1, 2)),
                covariances_=np.ones(2),
                covariance_type="diag",
            )
        )
    with pytest.raises(TypeError, match="ModelSelection"):
        plot_selection(object())


def test_import_fastgmm_does_not_import_matplotlib():
    code = (
        "import sys, fastgmm; print('matplotlib' in sys.modules, 'fastgmm.plotting' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
