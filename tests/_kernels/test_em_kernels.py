"""The fused E-step/statistics and scoring kernels against the slow references."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm._kernels._common import NEGLIGIBLE_RESP, negligible_resp
from fastgmm.covariance import COVARIANCE_TYPES
from fastgmm.data.sources import ArraySource, score_rows, statistics_of_labels
from fastgmm.data.statistics import statistics_from_responsibilities

import _references as ref

TYPES = list(COVARIANCE_TYPES)


def setup_problem(
    covariance_type, n_samples=3000, n_features=4, n_components=3, seed=0, dtype=np.float64
):
    rng = np.random.default_rng(seed)
    X = ref.make_blobs(n_samples, n_features, n_components, seed=seed, scale=2.0, dtype=dtype)
    weights, means, covariances = ref.random_parameters(
        rng, covariance_type, n_components, n_features
    )
    covariance = COVARIANCE_TYPES[covariance_type]
    return X, covariance, weights, means, covariances, covariance.precisions_cholesky(covariances)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_em_step_matches_the_reference(covariance_type, dtype, rtol):
    X, covariance, weights, means, covariances, prec_chol = setup_problem(
        covariance_type, dtype=dtype
    )
    source = ArraySource(X, covariance, len(weights))
    statistics = source.statistics(np.log(weights), means, prec_chol)
    new_weights, new_means, new_covariances = covariance.m_step(statistics, reg_covar=1e-6)

    expected_ll, (exp_weights, exp_means, exp_covariances) = ref.em_step(
        X.astype(np.float64), weights, means, covariances, covariance_type, reg_covar=1e-6
    )
    assert statistics.log_likelihood == pytest.approx(expected_ll, rel=rtol)
    assert_allclose(statistics.resp_sum, exp_weights * len(X), rtol=rtol)
    assert_allclose(new_weights, exp_weights, rtol=rtol)
    assert_allclose(new_means, exp_means, rtol=rtol, atol=rtol)
    assert_allclose(new_covariances, exp_covariances, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_score_rows_matches_scipy(covariance_type, dtype, rtol):
    X, covariance, weights, means, covariances, prec_chol = setup_problem(
        covariance_type, n_samples=1000, dtype=dtype, seed=1
    )
    log_prob, resp, labels = score_rows(
        covariance, X, np.log(weights), means, prec_chol, log_prob_norm=True, resp=True, labels=True
    )
    X64 = X.astype(np.float64)
    assert_allclose(
        log_prob, ref.score_samples(X64, weights, means, covariances, covariance_type), rtol=rtol
    )
    expected_resp = ref.responsibilities(X64, weights, means, covariances, covariance_type)
    assert_allclose(resp, expected_resp, atol=10 * rtol)
    assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    confident = expected_resp.max(axis=1) > 0.99
    assert_array_equal(labels[confident], expected_resp.argmax(axis=1)[confident])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_statistics_of_labels_match_the_one_hot_reference(covariance_type, dtype, rtol, weighted):
    # The k-means start's first M-step runs in the EM kernel; the numpy path over dense
    # one-hot responsibilities is the reference (float64 arithmetic throughout).
    X, covariance, weights, means, *_ = setup_problem(covariance_type, 5000, dtype=dtype, seed=2)
    rng = np.random.default_rng(3)
    labels = rng.integers(len(weights), size=len(X))
    labels[labels == 1] = 0  # an empty component gets zero statistics
    sample_weight = rng.uniform(0.0, 3.0, size=len(X)) if weighted else None
    reference = means + rng.normal(size=means.shape)
    statistics = statistics_of_labels(covariance, X, labels, reference, sample_weight)
    one_hot = np.eye(len(weights))[labels]
    expected = statistics_from_responsibilities(
        covariance,
        X.astype(np.float64),
        [(0, one_hot)],
        covariance.moments_reference(reference.astype(dtype)),
        sample_weight,
    )
    assert np.isnan(statistics.log_likelihood)
    assert statistics.total_weight == expected.total_weight
    assert statistics.resp_sum[1] == 0.0
    assert_allclose(statistics.resp_sum, expected.resp_sum, rtol=1e-12)
    assert_allclose(statistics.reference, expected.reference)
    scale = np.abs(expected.sum_sq).max()
    assert_allclose(statistics.sum_diff, expected.sum_diff, rtol=rtol, atol=rtol * scale)
    assert_allclose(statistics.sum_sq, expected.sum_sq, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_statistics_do_not_depend_on_the_chunk_grid(covariance_type):
    # More, smaller chunks add the same numbers in another order: rounding only.
    X, covariance, weights, means, covariances, prec_chol = setup_problem(covariance_type, 20_000)
    source = ArraySource(X, covariance, len(weights))
    assert source.n_chunks > 1
    many = source.statistics(np.log(weights), means, prec_chol)
    one = ArraySource(X, covariance, len(weights), n_chunks=1).statistics(
        np.log(weights), means, prec_chol
    )
    assert_allclose(many.resp_sum, one.resp_sum, rtol=1e-12)
    assert_allclose(many.sum_diff, one.sum_diff, rtol=1e-9, atol=1e-9 * np.abs(one.sum_diff).max())
    assert_allclose(many.sum_sq, one.sum_sq, rtol=1e-11)
    assert many.log_likelihood == pytest.approx(one.log_likelihood, rel=1e-12)


def test_rows_no_component_can_explain_get_minus_inf_not_nan():
    from fastgmm._kernels._common import STATISTICS, e_step_block

    log_prob = np.array([[-np.inf, -1.0, np.nan], [-np.inf, -2.0, 0.0]])
    row_stats = np.empty((4, 3))
    no_output = np.empty(0)
    no_labels = np.empty(0, dtype=np.int64)
    total = e_step_block(
        STATISTICS, log_prob, 0, 3, row_stats, no_output, no_labels, no_output,
        np.empty((0, 0)), no_labels,
    )  # fmt: skip
    assert row_stats[0, 0] == -np.inf and np.all(log_prob[:, 0] == 0.0)
    expected = np.logaddexp(-1.0, -2.0)
    assert row_stats[0, 1] == pytest.approx(expected, rel=1e-15)
    assert_allclose(log_prob[:, 1], np.exp([-1.0 - expected, -2.0 - expected]), rtol=1e-15)
    assert np.isnan(row_stats[0, 2]) and np.isnan(log_prob[0, 2])  # NaN is never hidden
    assert np.isnan(total)


def test_centred_statistics_keep_far_offset_data_accurate():
    # Data 1e8 away from the origin: raw second moments would cancel catastrophically.
    X, covariance, weights, means, covariances, prec_chol = setup_problem("full", 4000)
    offset = 1e8
    source = ArraySource(X + offset, covariance, len(weights))
    statistics = source.statistics(np.log(weights), means + offset, prec_chol)
    _, new_means, new_covariances = covariance.m_step(statistics, reg_covar=1e-6)
    _, (_, exp_means, exp_covariances) = ref.em_step(X, weights, means, covariances, "full", 1e-6)
    assert_allclose(new_means - offset, exp_means, atol=1e-6)
    assert_allclose(new_covariances, exp_covariances, rtol=1e-6)


SCRIPT = textwrap.dedent("""
    import hashlib, warnings
    import numpy as np
    import fastgmm
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(4, 5))
    X = centers[rng.integers(4, size=30_000)] + rng.normal(size=(30_000, 5))
    digest = hashlib.sha256()
    for covariance_type in ("full", "tied", "diag", "spherical"):
        for init_params in ("kmeans", "k-means++", "random"):
            model = fastgmm.GaussianMixture(4, covariance_type=covariance_type, max_iter=5,
                                            init_params=init_params, random_state=0).fit(X)
            for array in (model.weights_, model.means_, model.covariances_,
                          np.float64(model.lower_bound_), model.predict_proba(X[:2000])):
                digest.update(np.ascontiguousarray(array).tobytes())
    weights = rng.integers(0, 3, size=30_000).astype(float)  # weighted k-means and EM
    model = fastgmm.GaussianMixture(4, max_iter=5, random_state=0).fit(X, sample_weight=weights)
    digest.update(np.ascontiguousarray(model.means_).tobytes())
    print(digest.hexdigest())
""")


@pytest.mark.slow  # compiles the kernels afresh in two processes
def test_results_are_bitwise_identical_on_one_and_two_threads(tmp_path):
    # All runs load the kernels from one fresh cache, filled by the first run:
    # a process that compiles them itself can differ in the last bits (see
    # user guide, "Reproducibility"), which is not what this test is about.
    digests = []
    for threads in ("2", "1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, NUMBA_CACHE_DIR=str(tmp_path))
        completed = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
        )
        assert completed.returncode == 0, completed.stderr
        digests.append(completed.stdout.strip())
    assert digests[1] == digests[2]


# Centres 40 apart: most q_ik underflow past the negligible bound, so the accumulation
# gathers the few rows that count.  6 apart: about 900 of the 20,000 q_ik lie between 1e-45
# and 1.2e-38, where float32 has only subnormal numbers, and are left out in float32.
@pytest.mark.parametrize("scale", [40.0, 6.0])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_separated_clusters_with_negligible_responsibilities_match_the_reference(
    covariance_type, dtype, rtol, scale
):
    X, centers = ref.make_blobs(4000, 6, 5, seed=3, scale=scale, return_centers=True)
    X = X.astype(dtype)
    rng = np.random.default_rng(3)
    weights, _, covariances = ref.random_parameters(rng, covariance_type, 5, 6)
    covariance = COVARIANCE_TYPES[covariance_type]
    means = centers + 0.1
    statistics = ArraySource(X, covariance, 5).statistics(
        np.log(weights), means, covariance.precisions_cholesky(covariances)
    )
    got = covariance.m_step(statistics, reg_covar=1e-6)
    expected_ll, expected = ref.em_step(
        X.astype(np.float64), weights, means, covariances, covariance_type, 1e-6
    )
    assert statistics.log_likelihood == pytest.approx(expected_ll, rel=rtol)
    for actual, desired in zip(got, expected):
        assert_allclose(actual, desired, rtol=rtol, atol=rtol)


def test_the_negligible_bound_of_float32_data_is_its_smallest_normal_number():
    # Below it a float32 responsibility would be subnormal (slow on x86); float64 keeps 1e-40.
    assert negligible_resp(np.empty(1, np.float64)) == NEGLIGIBLE_RESP == 1e-40
    assert negligible_resp(np.empty(1, np.float32)) == np.finfo(np.float32).tiny
