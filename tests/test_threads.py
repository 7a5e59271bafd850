"""n_jobs limits Numba's threads for one call and always restores the previous setting."""

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import GaussianMixture, InvalidParameterError
from fastgmm._threads import resolve_n_jobs, thread_limit

import _references as ref


def test_resolve_n_jobs_follows_joblib_and_caps_at_the_pool():
    pool = numba.config.NUMBA_NUM_THREADS
    assert resolve_n_jobs(None) == numba.get_num_threads()
    assert resolve_n_jobs(-1) == pool
    assert resolve_n_jobs(-pool - 5) == 1
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(pool + 7) == pool


def test_thread_limit_applies_inside_and_restores_on_error():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with thread_limit(1):
            assert numba.get_num_threads() == 1
            raise RuntimeError("boom")
    assert numba.get_num_threads() == before


def test_n_jobs_does_not_change_results_and_is_restored():
    X = ref.make_blobs(20_000, 3, 3, seed=7)
    before = numba.get_num_threads()
    default = GaussianMixture(3, random_state=0).fit(X)
    single = GaussianMixture(3, random_state=0, n_jobs=1).fit(X)
    assert numba.get_num_threads() == before
    assert_array_equal(single.means_, default.means_)
    assert_array_equal(single.predict_proba(X), default.predict_proba(X))
    result = fastgmm.fit(X, 3, random_state=0, n_jobs=-1)
    assert_array_equal(result.means, default.means_)
    with pytest.raises(ValueError, match="ill-defined"):
        GaussianMixture(2, reg_covar=0.0, on_degenerate="raise", n_jobs=1).fit(np.ones((50, 2)))
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("n_jobs", [0, 1.5, True, "2"])
def test_invalid_n_jobs(n_jobs):
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        GaussianMixture(2, n_jobs=n_jobs).fit(ref.make_blobs(50, 2, 2))
