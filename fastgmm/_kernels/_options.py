"""Compilation options shared by every Numba kernel, chosen in one place.

Kernels are compiled lazily: the validation layer only ever hands them
C-contiguous float32 or float64 data and float64 parameters (cast to the
data's dtype where the log-density work happens), so each kernel has a small
fixed set of specialisations (float32/float64, and read-only data such as a
read-only memory map as a separate one), and ``cache=True`` keeps them on disk.

Numba keys a cached kernel on its own source file only; ``fastgmm/_cache.py``
also keys the whole cache on a hash of every file in this folder, so editing a
helper here (this module, ``_common.py``, ``_math.py``, ``full.py``'s scatter
update used by ``tied.py``) recompiles the kernels that use it.
"""

# Only flags that keep NaN/inf semantics: no "nnan"/"ninf", so NaN checks and
# -inf log-probabilities behave (docs/design.md section 3; umap#1228).
FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

NJIT_OPTIONS = dict(
    cache=True,
    nogil=True,
    error_model="numpy",
    fastmath=set(FASTMATH_FLAGS),
)

PARALLEL_NJIT_OPTIONS = dict(NJIT_OPTIONS, parallel=True)

# Rows processed together inside a chunk: the block's data, its (rows x K)
# log-probabilities and the per-component accumulators stay in cache.
BLOCK_ROWS = 256
