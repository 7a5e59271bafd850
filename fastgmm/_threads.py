"""How fastgmm's kernels share a process: its own worker threads, Numba's
threading layer, one launch lock for a layer that needs it, and ``n_jobs``.

The kernels for complete data (every covariance type's ``run_pass``, k-means)
are serial, ``nogil`` Numba functions over a range of chunks;
:func:`run_chunks` splits the chunks among the calling thread and fastgmm's
own pool of Python worker threads.  A serial kernel compiles several times
faster than a ``prange`` driver over the same body (docs/design.md section 3),
and a fit that reads no missing value never starts Numba's threading layer.

The kernels for incomplete rows (``missing_*.py``) still ``prange``.  Numba
runs them on one of three threading layers, picked once per process at the
first parallel call:

========== ========================== =========================================
layer      fork-safe                  safe with several Python threads at once
========== ========================== =========================================
tbb        yes                        yes
omp        no with GNU OpenMP (Linux) yes
workqueue  yes                        no: concurrent launches abort the process
========== ========================== =========================================

By default Numba prefers tbb, then omp, so on a Linux machine with libgomp
and no TBB a ``fork`` after a fit kills the child ("fork() called from a
process already using GNU OpenMP").  Unless the user chose a layer
(``NUMBA_THREADING_LAYER``, ``NUMBA_THREADING_LAYER_PRIORITY``, or
``numba.config.THREADING_LAYER`` set before importing fastgmm), importing
fastgmm asks Numba for its 'forksafe' layer: tbb when it can be loaded (a
pip-installed ``tbb``, which Numba does not find on its own, is loaded here
from the environment's ``lib`` folder), else workqueue.  Whatever the layer,
fastgmm calls its parallel kernels through :func:`launch`, which serialises
them with a process-wide lock while the layer is not known to be thread-safe,
so several Python threads can fit at once.  Results never depend on the
layer or the thread count (the kernels' chunk grids depend on the data only).
"""

import ctypes
import os
import queue
import site
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba
from numba.np.ufunc import parallel as _numba_parallel

# The layer fastgmm asks for when the user chose none.
FASTGMM_THREADING_LAYER = "forksafe"
# Environment variables through which a user chooses Numba's layer.
USER_LAYER_VARIABLES = ("NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY")
# Layers on which several Python threads may launch kernels at once.
THREAD_SAFE_LAYERS = frozenset({"tbb", "omp"})
# TBB's runtime library as the ``tbb`` wheel installs it, by platform.
_TBB_LIBRARY_NAMES = {"linux": "libtbb.so.12", "darwin": "libtbb.12.dylib"}

# The layer fastgmm set in numba.config, or None where the user's choice stands.
_chosen_layer = None


def user_chose_layer(environ=os.environ, configured=None):
    """Whether the user picked Numba's threading layer (environment or ``numba.config``)."""
    configured = numba.config.THREADING_LAYER if configured is None else configured
    return (
        any(environ.get(name) for name in USER_LAYER_VARIABLES)
        or str(configured).lower() != "default"
    )


def threading_started():
    """Whether Numba has already loaded its threading layer in this process."""
    return bool(_numba_parallel._is_initialized)


def tbb_library_candidates(prefixes=None):
    """Paths where a pip-installed TBB runtime may lie (``<prefix>/lib``), existing or not."""
    name = _TBB_LIBRARY_NAMES.get(sys.platform)
    if name is None:
        return []
    if prefixes is None:
        prefixes = [sys.prefix, sys.base_prefix, getattr(site, "USER_BASE", None) or ""]
    return [os.path.join(prefix, "lib", name) for prefix in dict.fromkeys(prefixes) if prefix]


def _load_pip_tbb():
    """Load a pip-installed TBB runtime so that Numba's tbb layer finds it; True if loaded.

    Numba opens ``libtbb.so.12`` by name, and the loader does not search the
    environment's ``lib`` folder where the ``tbb`` wheel puts it; once loaded
    here (globally), that open finds it.
    """
    for path in tbb_library_candidates():
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
            return True
    return False


def choose_threading_layer():
    """Ask Numba for its fork-safe layer unless the user chose one or the layer is running.

    Called when fastgmm is imported; cheap (no thread is started).  A
    pip-installed TBB is loaded in any case, so that a layer the user chose
    ('tbb', 'safe', ...) finds it too.
    """
    global _chosen_layer
    if threading_started():
        return
    _load_pip_tbb()  # whoever chooses: a user's 'tbb' needs it found too
    if user_chose_layer():
        return
    numba.config.THREADING_LAYER = FASTGMM_THREADING_LAYER
    _chosen_layer = FASTGMM_THREADING_LAYER


def _reassert_choice():
    # Numba re-reads its NUMBA_* environment variables when they change (at the
    # next compilation), which resets THREADING_LAYER to 'default'.
    if (
        _chosen_layer is not None
        and not threading_started()
        and str(numba.config.THREADING_LAYER).lower() == "default"
    ):
        numba.config.THREADING_LAYER = _chosen_layer


_launch_lock = threading.Lock()
_layer_is_thread_safe = False  # set once the running layer is known to be thread-safe


# run_chunks cuts a pass into this many shares per thread, which threads take in turn.
SHARES_PER_THREAD = 4

_pool = None  # fastgmm's worker threads, started at the first run_chunks on several threads
_pool_lock = threading.Lock()


def _new_lock_in_child():
    # A fork copies the locks in whatever state another thread held them, and the
    # pool without its threads: the child, which has only the forking thread,
    # starts with free locks and starts a pool of its own when it needs one.
    global _launch_lock, _pool, _pool_lock
    _launch_lock = threading.Lock()
    _pool_lock = threading.Lock()
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def launch(kernel, *args):
    """``kernel(*args)`` for a parallel kernel, safe alongside other Python threads.

    On a thread-safe layer (tbb, omp) the kernel runs at once; otherwise (the
    workqueue layer, or before the layer is known) kernel calls from several
    threads take turns through one process-wide lock.
    """
    global _layer_is_thread_safe
    if _layer_is_thread_safe:
        return kernel(*args)
    with _launch_lock:
        if not threading_started():
            # Start the layer now: compiling the kernel may re-read Numba's environment
            # (resetting THREADING_LAYER) and then start the threads itself.
            _reassert_choice()
            numba.get_num_threads()
        result = kernel(*args)
    # After the first launch the layer is known; it never changes afterwards.
    _layer_is_thread_safe = numba.threading_layer() in THREAD_SAFE_LAYERS
    return result


def n_threads():
    """Threads a kernel call from this thread may use: Numba's setting for it.

    That is ``numba.get_num_threads()`` (which :func:`thread_limit` sets) once
    Numba's layer runs, and ``NUMBA_NUM_THREADS`` before: asking would start it.
    """
    if threading_started():
        return numba.get_num_threads()
    return numba.config.NUMBA_NUM_THREADS


def _worker_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            # The calling thread runs one share itself: the pool holds the others.
            workers = max(1, numba.config.NUMBA_NUM_THREADS - 1)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="fastgmm")
        return _pool


def run_chunks(kernel, n_chunks, *args):
    """``kernel(*args, first_chunk, stop_chunk)`` over chunks ``0 .. n_chunks - 1``, on threads.

    The chunks are cut into up to ``SHARES_PER_THREAD`` contiguous shares per
    thread (contiguous: neighbouring chunks write neighbouring accumulator slots,
    and interleaved chunks would put several threads on one cache line); the
    calling thread and :func:`n_threads` - 1 of fastgmm's worker threads each take
    the next share not yet taken until none is left, so a thread slowed by other
    work on the machine takes fewer.  ``kernel`` must release the GIL
    (``nogil=True``) and write each chunk's results to that chunk's own slots, so
    the results do not depend on the number of threads nor on who ran which
    share.  An error raised in any share is raised here, once every thread has
    stopped.
    """
    n_workers = max(1, min(n_threads(), n_chunks))
    if n_workers == 1:
        kernel(*args, 0, n_chunks)
        return
    n_shares = min(n_chunks, SHARES_PER_THREAD * n_workers)
    bounds = [(share * n_chunks) // n_shares for share in range(n_shares + 1)]
    shares = queue.SimpleQueue()
    for share in range(n_shares):
        shares.put(share)

    def take_shares():
        while True:
            try:
                share = shares.get_nowait()
            except queue.Empty:
                return
            kernel(*args, bounds[share], bounds[share + 1])

    pool = _worker_pool()
    futures = [pool.submit(take_shares) for _ in range(n_workers - 1)]
    try:
        take_shares()
    finally:
        for future in futures:
            future.exception()  # wait for every thread, even after an error here
    for future in futures:
        future.result()  # re-raises a worker's error


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
    _reassert_choice()  # numba.get_num_threads() starts the threading layer
    previous = numba.get_num_threads()
    numba.set_num_threads(resolve_n_jobs(n_jobs))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
