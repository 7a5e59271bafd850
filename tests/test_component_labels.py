"""Partly labelled rows (``component_labels``): semi-supervised EM.

A labelled row keeps the one-hot responsibility of its label and adds
``w_i log(pi_y N(x_i | y))`` to the log-likelihood; unlabelled rows (-1) are
ordinary EM rows.  One step is compared with the reference
(``_references.missing_data_em_step(..., component_labels=...)``), with and
without missing values; the rest checks what labels are for (component k holds
the rows labelled k, whatever the initialisation; a few labels pick the right
clusters where unlabelled EM does not), the input checks, and that labels go
through every data source and thread count unchanged.
"""

import itertools
import warnings

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal

import fastgmm
from fastgmm import ConvergenceWarning, GaussianMixture
from fastgmm.data import sources

import _references as ref
from _helpers import COVARIANCE_TYPES, FITTED, assert_close

N_COMPONENTS, N_FEATURES = 3, 4
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]


def assert_same_fit(actual, desired):
    """Bitwise the same fitted model."""
    for name in FITTED:
        assert_array_equal(getattr(actual, name), getattr(desired, name), err_msg=name)
    assert actual.lower_bounds_ == desired.lower_bounds_
    assert actual.n_iter_ == desired.n_iter_


def fit_labelled(X, component_labels, sample_weight=None, n_components=N_COMPONENTS, **options):
    """``GaussianMixture(**options).fit(X, sample_weight, component_labels)`` without the
    ConvergenceWarning that ``max_iter=1`` or ``tol=0`` gives on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components, **options).fit(
            X, sample_weight=sample_weight, component_labels=component_labels
        )


def labelled_blobs(n_samples=300, seed=0, dtype=np.float64, fraction_labelled=0.3):
    """Overlapping blobs and labels: ``fraction_labelled`` of the rows labelled, each with
    a random component (a label need not be the row's blob; a wrong label is still a
    label).  Returns ``(X, labels, centers)``."""
    X, centers = ref.make_blobs(
        n_samples, N_FEATURES, N_COMPONENTS, seed=seed, scale=2.0, return_centers=True
    )
    rng = np.random.default_rng(seed + 1)
    labels = np.where(
        rng.random(n_samples) < fraction_labelled, rng.integers(N_COMPONENTS, size=n_samples), -1
    )
    labels[:4] = [0, 1, 2, 0]  # every component has a labelled row
    return X.astype(dtype), labels, centers


def remove_values(X, fraction=0.15, seed=0):
    """X with ``fraction`` of its values NaN (at random); row 3 (labelled in
    ``labelled_blobs``) has nothing observed, so adds nothing to the fit, the label
    included (the reference's semantics)."""
    missing = np.random.default_rng(seed + 2).random(X.shape) < fraction
    missing[3] = True
    X = X.copy()
    X[missing] = np.nan
    return X


def start(covariance_type, centers, seed=1):
    """Initial parameters near ``centers``: ``((weights, means, covariances), fit options)``."""
    rng = np.random.default_rng(seed)
    means = centers + rng.normal(scale=0.5, size=centers.shape)
    parameters = ref.random_parameters(rng, covariance_type, *centers.shape, means=means)
    options = dict(
        covariance_type=covariance_type,
        weights_init=parameters[0],
        means_init=parameters[1],
        precisions_init=ref.precisions(parameters[2], covariance_type),
    )
    return parameters, options


def complete_data_log_likelihood(X, labels, weights, means, covariances, covariance_type):
    """log pi_y + log N(x_i | mu_y, Sigma_y) of every row, written out with scipy."""
    n_components, n_features = np.shape(means)
    dense = ref.dense_covariances(covariances, covariance_type, n_components, n_features)
    return np.array(
        [
            np.log(weights[y]) + multivariate_normal(means[y], dense[y]).logpdf(x)
            for x, y in zip(np.asarray(X, dtype=np.float64), labels)
        ]
    )


# One EM step against the reference.


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_iteration_agrees_with_the_reference(covariance_type, dtype, weighted, missing):
    X, labels, centers = labelled_blobs(dtype=dtype)
    options = dict(max_iter=1, tol=0.0)
    if missing:
        X = remove_values(X)
        options["missing_values"] = "marginalize"
    sample_weight = None
    if weighted:
        sample_weight = np.random.default_rng(2).uniform(0.2, 3.0, len(X))
        sample_weight[1] = 0.0  # labelled, and counts for nothing
    parameters, start_options = start(covariance_type, centers)
    model = fit_labelled(X, labels, sample_weight, **options, **start_options)
    # The reference on the same (float32-rounded) values.
    log_likelihood, *expected = ref.missing_data_em_step(
        X.astype(np.float64),
        *parameters,
        covariance_type,
        reg_covar=1e-6,
        sample_weight=sample_weight,
        component_labels=labels,
    )
    rtol, lower_bound_rtol = (1e-9, 1e-10) if dtype == np.float64 else (1e-4, 1e-5)
    for name, desired in zip(("weights_", "means_", "covariances_"), expected):
        assert getattr(model, name).dtype == dtype, name
        assert_close(getattr(model, name), desired, rtol=rtol)
    # The mean over the rows with something observed.
    weight = np.ones(len(X)) if sample_weight is None else sample_weight
    total_weight = weight[~np.isnan(X).all(axis=1)].sum()
    assert model.lower_bound_ == pytest.approx(log_likelihood / total_weight, rel=lower_bound_rtol)
    assert model.lower_bounds_ == [model.lower_bound_]
    # The labels changed the step: the unlabelled step is another one.
    unlabelled_log_likelihood, *unlabelled = ref.missing_data_em_step(
        X.astype(np.float64), *parameters, covariance_type, 1e-6, sample_weight
    )
    assert not np.allclose(unlabelled[1], expected[1], rtol=1e-3)
    assert unlabelled_log_likelihood > log_likelihood  # log p(x) > log pi_y N(x | y)


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type, missing):
    """Labelled EM maximises sum_labelled w log pi_y N(x | y) + sum_unlabelled w log p(x):
    each iteration raises it, from a random start with a quarter of the rows labelled."""
    X, labels, _ = labelled_blobs(seed=5, fraction_labelled=0.25)
    options = dict(missing_values="marginalize") if missing else {}
    if missing:
        X = remove_values(X, fraction=0.25, seed=5)
    sample_weight = np.random.default_rng(6).uniform(0.2, 3.0, len(X))
    weights, means, covariances = ref.random_parameters(
        np.random.default_rng(7), covariance_type, N_COMPONENTS, N_FEATURES
    )
    model = fit_labelled(
        X,
        labels,
        sample_weight,
        covariance_type=covariance_type,
        max_iter=30,
        tol=0.0,
        weights_init=weights,
        means_init=means,
        precisions_init=ref.precisions(covariances, covariance_type),
        **options,
    )
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 30
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    assert bounds[-1] > bounds[0] + 0.1  # it did climb


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fully_labelled_fit_is_the_class_statistics(covariance_type):
    """With every row labelled the responsibilities never change: one M-step gives the
    per-class weights, means and covariances, and the next iteration's lower bound is the
    complete-data log-likelihood of those (mean over rows of log pi_y N(x_i | y))."""
    X, _, centers = labelled_blobs(n_samples=200, seed=8)
    labels = np.random.default_rng(9).integers(N_COMPONENTS, size=len(X))
    _, options = start(covariance_type, centers)
    model = fit_labelled(X, labels, max_iter=2, tol=0.0, **options)
    expected_weights = np.bincount(labels, minlength=N_COMPONENTS) / len(X)
    assert_allclose(model.weights_, expected_weights, rtol=1e-12)
    expected_means = np.stack([X[labels == k].mean(axis=0) for k in range(N_COMPONENTS)])
    assert_allclose(model.means_, expected_means, rtol=1e-10)
    scatter = np.stack(
        [np.cov(X[labels == k], rowvar=False, bias=True) for k in range(N_COMPONENTS)]
    )
    expected_covariances = {
        "full": lambda: scatter + 1e-6 * np.eye(N_FEATURES),
        "tied": lambda: (
            np.einsum("k,kij->ij", expected_weights, scatter) + 1e-6 * np.eye(N_FEATURES)
        ),
        "diag": lambda: np.einsum("kii->ki", scatter) + 1e-6,
        "spherical": lambda: np.einsum("kii->ki", scatter).mean(axis=1) + 1e-6,
    }[covariance_type]()
    assert_allclose(model.covariances_, expected_covariances, rtol=1e-10)
    # The second E-step ran on the fitted parameters (the M-step after it changed nothing).
    log_likelihood = complete_data_log_likelihood(
        X, labels, model.weights_, model.means_, model.covariances_, covariance_type
    )
    assert model.lower_bound_ == pytest.approx(log_likelihood.mean(), rel=1e-10)
    # The first one on the initial parameters.
    initial = complete_data_log_likelihood(
        X,
        labels,
        options["weights_init"],
        options["means_init"],
        ref.precisions(options["precisions_init"], covariance_type),
        covariance_type,
    )
    assert model.lower_bounds_[0] == pytest.approx(initial.mean(), rel=1e-10)
    # Whatever the initialisation, a fully labelled fit starts from, and stays at, them.
    for init_params in INIT_PARAMS:
        other = fit_labelled(X, labels, covariance_type=covariance_type, init_params=init_params)
        assert other.converged_
        assert_allclose(other.means_, model.means_, rtol=1e-10)
        assert_allclose(other.covariances_, model.covariances_, rtol=1e-10)
        assert other.lower_bound_ == pytest.approx(model.lower_bound_, rel=1e-10)


# What labels are for.


def three_blobs(seed=0, n_per_blob=200):
    """Separated blobs A, B, C (rows in that order) and labels of five rows of each:
    B's labelled 0, C's 1, A's 2 (not the order k-means would find them in)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 6.0]])
    X = np.concatenate([c + rng.normal(size=(n_per_blob, 2)) for c in centers])
    blob = np.repeat(np.arange(3), n_per_blob)
    labels = np.full(len(X), -1)
    for b, component in zip(range(3), (2, 0, 1)):
        labels[rng.choice(np.flatnonzero(blob == b), 5, replace=False)] = component
    return X, blob, labels


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INIT_PARAMS)
def test_component_k_holds_the_rows_labelled_k(init_params, covariance_type):
    """tol=1e-6: from 'random' (every mean near the data's mean) diagonal EM crosses a
    plateau where the default tol=1e-3 stops it with A and B shared by two components."""
    X, blob, labels = three_blobs()
    for random_state in range(2):
        model = fit_labelled(
            X,
            labels,
            n_components=3,
            covariance_type=covariance_type,
            init_params=init_params,
            random_state=random_state,
            tol=1e-6,
        )
        predicted = model.predict(X)
        for b, component in zip(range(3), (2, 0, 1)):
            assert np.mean(predicted[blob == b] == component) > 0.95, (b, random_state)
            assert_allclose(model.means_[component], X[blob == b].mean(axis=0), atol=0.1)
        assert_allclose(model.weights_, 1 / 3, atol=0.02)


def two_parallel_clusters(seed, n_samples=600):
    """Two long parallel clusters 2 apart across their short axis (standard deviations 4
    along x, 0.5 along y): the Bayes accuracy is Phi(2) = 0.977, but k-means and EM from
    most starts split them across the long axis (accuracy near 0.5)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(2, size=n_samples)
    X = np.array([[0.0, -1.0], [0.0, 1.0]])[truth] + rng.normal(size=(n_samples, 2)) * [4.0, 0.5]
    return X, truth


@pytest.mark.parametrize(
    ("covariance_type", "init_params", "seed"),
    [("full", "k-means++", 0), ("tied", "random", 3)],
)
def test_a_few_labels_separate_overlapping_clusters(covariance_type, init_params, seed):
    """Ten labelled rows of each cluster (3% of the rows).  Over seeds 0-5 and all four
    initialisations, full and tied, unlabelled EM's accuracy (best permutation) was 0.50 -
    0.86, the labelled fit's 0.56 - 0.99; for these two cases 0.50 - 0.58 against 0.98 -
    0.99 (a labelled fit can still land in the wrong basin: not every seed gains)."""
    X, truth = two_parallel_clusters(seed)
    labels = np.full(len(X), -1)
    rng = np.random.default_rng(100 + seed)
    for k in range(2):
        labels[rng.choice(np.flatnonzero(truth == k), 10, replace=False)] = k
    options = dict(covariance_type=covariance_type, init_params=init_params, random_state=seed)
    unlabelled = fit_labelled(X, None, n_components=2, **options).predict(X)
    unlabelled_accuracy = max(
        np.mean(np.asarray(order)[unlabelled] == truth)
        for order in itertools.permutations(range(2))
    )
    labelled_accuracy = np.mean(
        fit_labelled(X, labels, n_components=2, **options).predict(X) == truth
    )
    assert labelled_accuracy > 0.95
    assert labelled_accuracy > unlabelled_accuracy + 0.3


# Inputs.


def test_all_unlabelled_is_bitwise_the_unlabelled_fit():
    X, _, _ = labelled_blobs(seed=10)
    for init_params in INIT_PARAMS:
        options = dict(init_params=init_params, random_state=0, max_iter=20)
        plain = fit_labelled(X, None, **options)
        assert_same_fit(fit_labelled(X, np.full(len(X), -1), **options), plain)
        assert_same_fit(fit_labelled(X, [-1] * len(X), **options), plain)
    # With missing values and weights too.
    X = remove_values(X)
    sample_weight = np.random.default_rng(11).uniform(0.2, 3.0, len(X))
    options = dict(random_state=0, max_iter=20, missing_values="marginalize")
    plain = fit_labelled(X, None, sample_weight, **options)
    assert_same_fit(fit_labelled(X, np.full(len(X), -1.0), sample_weight, **options), plain)


def test_labels_as_a_list_int32_or_integral_floats():
    X, labels, _ = labelled_blobs(seed=12)
    options = dict(random_state=0, max_iter=20)
    expected = fit_labelled(X, labels, **options)
    for same in (
        labels.tolist(),
        labels.astype(np.int32),
        labels.astype(np.int8),
        labels.astype(np.float64),
        labels.astype(np.float32),
        tuple(labels.tolist()),
    ):
        assert_same_fit(fit_labelled(X, same, **options), expected)
    # They did something.
    assert not np.array_equal(fit_labelled(X, None, **options).means_, expected.means_)


SHAPE = "must be a 1-D array with one entry per row of X"
RANGE = "must be in \\[-1, 3\\)"
INTEGERS = "must hold integers"


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (lambda labels: labels[:-1], SHAPE),
        (lambda labels: np.append(labels, 0), SHAPE),
        (lambda labels: labels[:, None], SHAPE),
        (lambda labels: np.stack([labels, labels], axis=1), SHAPE),
        (lambda labels: np.int64(0), SHAPE),
        (lambda labels: np.where(labels == 1, N_COMPONENTS, labels), RANGE),
        (lambda labels: np.where(labels == 1, -2, labels), RANGE),
        (lambda labels: np.where(labels == 1, 0.5, labels), INTEGERS),
        (lambda labels: np.where(labels == 1, np.nan, labels), INTEGERS),
        (lambda labels: np.where(labels == 1, np.inf, labels), INTEGERS),
        (lambda labels: np.where(labels == 1, 1e300, labels), RANGE),
        (lambda labels: np.where(labels == 1, -(2.0**63), labels), RANGE),
        (lambda labels: labels.astype(str), INTEGERS),
        (lambda labels: ["a"] * len(labels), INTEGERS),
    ],
    ids=[
        "short",
        "long",
        "column",
        "2-D",
        "scalar",
        "n_components",
        "below -1",
        "fraction",
        "nan",
        "inf",
        "huge float",
        "float -2**63",
        "digit strings",
        "strings",
    ],
)
def test_bad_labels_are_rejected(bad, problem):
    X, labels, _ = labelled_blobs(n_samples=60, seed=13)
    labels = bad(labels)
    with pytest.raises(ValueError, match=f"component_labels {problem}"):
        GaussianMixture(N_COMPONENTS).fit(X, component_labels=labels)
    with pytest.raises(ValueError, match=f"component_labels {problem}"):
        GaussianMixture(N_COMPONENTS).fit_predict(X, component_labels=labels)
    with pytest.raises(ValueError, match=f"component_labels {problem}"):
        fastgmm.fit(X, N_COMPONENTS, component_labels=labels)


def test_fit_predict_and_fit_function_agree_with_fit():
    X, labels, _ = labelled_blobs(seed=14)
    sample_weight = np.random.default_rng(15).uniform(0.2, 3.0, len(X))
    options = dict(covariance_type="diag", random_state=0, max_iter=20, tol=0.0)
    model = fit_labelled(X, labels, sample_weight, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predicted = GaussianMixture(N_COMPONENTS, **options).fit_predict(
            X, sample_weight=sample_weight, component_labels=labels
        )
        result = fastgmm.fit(
            X, N_COMPONENTS, sample_weight=sample_weight, component_labels=labels, **options
        )
    assert_array_equal(predicted, model.predict(X))
    for name in FITTED:
        assert_array_equal(getattr(result, name.rstrip("_")), getattr(model, name))
    assert result.lower_bounds == tuple(model.lower_bounds_)


# Data sources and threads.


def larger_labelled_blobs(n_samples=6000, seed=16):
    """Enough rows for several chunks; a tenth of them labelled with their blob."""
    X, centers = ref.make_blobs(
        n_samples, N_FEATURES, N_COMPONENTS, seed=seed, scale=2.0, return_centers=True
    )
    blob = np.argmin(((X[:, None] - centers[None]) ** 2).sum(axis=-1), axis=1)
    rng = np.random.default_rng(seed + 1)
    labels = np.where(rng.random(n_samples) < 0.1, blob, -1)
    return X, labels, centers


def out_of_memory(X, source, tmp_path):
    """``X`` as a .npy path, a memory map of it, or a Dask array of 1000-row chunks."""
    if source == "dask":
        da = pytest.importorskip("dask.array", reason="Dask is an optional extra (fastgmm[dask])")
        return da.from_array(X, chunks=(1000, X.shape[1]))
    np.save(tmp_path / "X.npy", X)
    return tmp_path / "X.npy" if source == "npy" else np.load(tmp_path / "X.npy", mmap_mode="r")


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("source", ["npy", "memmap", "dask"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_out_of_memory_fit_equals_in_memory_fit(tmp_path, covariance_type, source, missing):
    """The same kernels over the same chunk grid (Dask: chunk statistics added in another
    order), from given parameters and from k-means on all 6000 rows."""
    X, labels, centers = larger_labelled_blobs()
    options = {}
    if missing:
        X = np.where(np.random.default_rng(18).random(X.shape) < 0.1, np.nan, X)
        options["missing_values"] = "marginalize"
    data = out_of_memory(X, source, tmp_path)
    given = start(covariance_type, centers)[1]
    for start_options in (
        dict(tol=0.0, **given),
        dict(covariance_type=covariance_type, random_state=0),
    ):
        in_memory = fit_labelled(X, labels, max_iter=8, **options, **start_options)
        other = fit_labelled(data, labels, max_iter=8, **options, **start_options)
        for name in FITTED:
            assert_close(getattr(other, name), getattr(in_memory, name), rtol=1e-10)
        assert other.lower_bounds_ == pytest.approx(in_memory.lower_bounds_, rel=1e-10)


@pytest.mark.parametrize("source", ["npy", "dask"])
def test_labels_hold_when_initialising_on_a_row_sample(tmp_path, monkeypatch, source):
    """Data not in memory initialises on a row sample (``sources.row_sample``) of
    ``init_sample_size(K)`` rows, here 300 of 3000 (with 1.5 of the 15 labelled rows in it,
    on average); the labelled rows outside it must still seed and hold their components."""
    monkeypatch.setattr(sources, "INIT_SAMPLE_ROWS", 100)
    X, blob, labels = three_blobs(n_per_blob=1000)
    data = out_of_memory(X, source, tmp_path)
    for init_params in INIT_PARAMS:
        for random_state in range(3):
            model = fit_labelled(
                data,
                labels,
                n_components=3,
                init_params=init_params,
                random_state=random_state,
                tol=1e-6,
            )
            predicted = model.predict(X)
            for b, component in zip(range(3), (2, 0, 1)):
                assert np.mean(predicted[blob == b] == component) > 0.95, (
                    init_params,
                    random_state,
                    b,
                )


@pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least 2 Numba threads to compare"
)
@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_and_two_threads_give_bitwise_the_same_fit(covariance_type, missing):
    X, labels, _ = larger_labelled_blobs(n_samples=10_000)
    options = dict(covariance_type=covariance_type, random_state=0, max_iter=10, tol=0.0)
    if missing:
        X = np.where(np.random.default_rng(18).random(X.shape) < 0.1, np.nan, X)
        options["missing_values"] = "marginalize"
    one = fit_labelled(X, labels, n_jobs=1, **options)
    two = fit_labelled(X, labels, n_jobs=2, **options)
    assert_same_fit(two, one)
    assert_array_equal(two.predict_proba(X), one.predict_proba(X))
