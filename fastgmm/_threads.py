"""``n_jobs``: how many Numba threads a call may use, restored afterwards even on error."""

import numbers
from contextlib import contextmanager

import numba

from .exceptions import InvalidParameterError


def check_n_jobs(n_jobs):
    """Validate ``n_jobs`` (None, or a non-zero int); return it unchanged."""
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
                               or n_jobs == 0):
        raise InvalidParameterError(
            f"The 'n_jobs' parameter must be None or a non-zero int, got {n_jobs!r}.")
    return n_jobs


def resolve_n_jobs(n_jobs):
    """Number of threads for ``n_jobs``, joblib's convention, capped by Numba's pool.

    None: the current Numba setting; -1: all of the pool (NUMBA_NUM_THREADS);
    -2: all but one, ...; a positive int: that many, at most the pool.
    """
    pool = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return numba.get_num_threads()
    if n_jobs < 0:
        return max(1, pool + 1 + int(n_jobs))
    return min(int(n_jobs), pool)


@contextmanager
def thread_limit(n_jobs):
    """Run the body with ``resolve_n_jobs(n_jobs)`` Numba threads (this Python thread only)."""
    if n_jobs is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(resolve_n_jobs(n_jobs))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
