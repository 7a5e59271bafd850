"""Numba's on-disk cache of fastgmm's kernels, keyed on the sources of all of them.

Numba keys a cached kernel on its own source file only (modification time and
size), so a kernel whose helper in another file changed (``_kernels/_common.py``,
``_math.py``, ``_options.py``, ``full.py``'s scatter update used by ``tied.py``)
would load its old compiled code.  At import, fastgmm hashes every
``fastgmm/_kernels/*.py`` file and compares the hash with the one recorded in
each folder that holds the kernels' cache; where they differ (a helper was
edited, fastgmm was upgraded), it deletes the cached kernels in that folder
before any kernel runs, and records the new hash.  Unchanged sources keep their
cache: a new process loads the kernels instead of compiling them.  ``warmup``
compiles every kernel ahead of time.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

from numba.core.registry import CPUDispatcher

KERNEL_SOURCES = Path(__file__).parent / "_kernels"
# Every module of _kernels/: the files whose hash keys the cache (``kernel_sources_digest``).
KERNEL_MODULES = tuple(
    importlib.import_module(f"{__package__}._kernels.{path.stem}")
    for path in sorted(KERNEL_SOURCES.glob("*.py"))
    if path.stem != "__init__"
)
STAMP_NAME = "fastgmm-kernels.sha256"
CACHE_SUFFIXES = (".nbi", ".nbc")  # Numba's index and data files


def kernel_sources_digest(folder=KERNEL_SOURCES):
    """SHA-256 of the names and contents of every ``.py`` file in ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def kernel_dispatchers(modules=KERNEL_MODULES):
    """The cached Numba functions defined in ``modules``."""
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, CPUDispatcher)
        and value.py_func.__module__ == module.__name__
        and value.stats.cache_path is not None
    ]


def cache_folders():
    """The folders that hold the kernels' cache (where Numba's locator put them)."""
    return sorted({Path(kernel.stats.cache_path) for kernel in kernel_dispatchers()})


def clear(folder):
    """Delete Numba's cache files in ``folder``; returns how many were deleted."""
    deleted = 0
    for path in folder.iterdir():
        if path.suffix in CACHE_SUFFIXES:
            try:
                path.unlink()
                deleted += 1
            except FileNotFoundError:  # another process cleared it first
                pass
    return deleted


def refresh():
    """Clear every kernel cache folder whose recorded sources hash is not the current one.

    Called when fastgmm is imported, before any kernel runs.  A folder that
    cannot be written is left alone (Numba cannot cache there either).
    """
    digest = kernel_sources_digest()
    for folder in cache_folders():
        stamp = folder / STAMP_NAME
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:  # no stamp yet
            pass
        try:
            clear(folder)
            temporary = stamp.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(digest)
            os.replace(temporary, stamp)  # atomic: a reader sees the old or the new hash
        except OSError:
            pass


def warmup(
    covariance_types: list[str] | None = None,
    dtypes: tuple[str, ...] = ("float64", "float32"),
    missing_values: bool = False,
) -> dict[tuple[str, str], float]:
    """Compile (or load) every kernel a fit and its scoring use, ahead of time.

    For each covariance type and dtype, on writable and on read-only data (a
    memory-mapped file is read-only: Numba compiles it separately), a tiny
    k-means-started fit and each scoring method run once, so that later
    processes load every kernel from the cache.  ``missing_values=True`` also
    compiles the kernels of data with NaN (``missing_values='marginalize'``:
    fits, scoring and ``impute``), which roughly doubles the time.  Returns the
    seconds each (type, dtype) took, in order.
    """
    import time
    import warnings

    import numpy as np

    from .models import GaussianMixture

    covariance_types = list(covariance_types or ("full", "tied", "diag", "spherical"))
    rng = np.random.default_rng(0)
    base = np.vstack([rng.normal(loc, 1.0, size=(200, 2)) for loc in (-4.0, 0.0, 4.0)])
    seconds = {}
    for covariance_type in covariance_types:
        for dtype in dtypes:
            start = time.perf_counter()
            for read_only in (False, True):
                X = base.astype(dtype)
                X.setflags(write=not read_only)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # max_iter=2 on purpose
                    model = GaussianMixture(
                        3, covariance_type=covariance_type, max_iter=2, random_state=0
                    ).fit(X, sample_weight=np.ones(len(X)))
                    GaussianMixture(
                        3, covariance_type=covariance_type, max_iter=2, random_state=0
                    ).fit(X)
                model.predict_proba(X)
                model.predict(X)
                model.score(X)
                if missing_values:
                    _warm_missing_values(X, covariance_type)
            seconds[(covariance_type, np.dtype(dtype).name)] = time.perf_counter() - start
    return seconds


def _warm_missing_values(X, covariance_type):
    """The kernels of data with NaN: a marginalising fit of ``X`` with some values
    removed (in ``X``'s dtype and writability), its scoring and ``impute``."""
    import warnings

    import numpy as np

    from .models import GaussianMixture

    with_nan = X.copy()
    with_nan[::7, 0] = np.nan
    with_nan[1::5, 1] = np.nan
    with_nan.setflags(write=X.flags.writeable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 on purpose
        model = GaussianMixture(
            3,
            covariance_type=covariance_type,
            max_iter=2,
            random_state=0,
            missing_values="marginalize",
        ).fit(with_nan)
    model.predict_proba(with_nan)
    model.score(with_nan)
    model.impute(with_nan)
