"""Compilation options shared by every Numba kernel, chosen in one place.

Kernels are compiled lazily: the validation layer only ever hands them
C-contiguous float32 or float64 data and float64 parameters (cast to the
data's dtype where the log-density work happens), so each kernel has a small
fixed set of specialisations (float32/float64, and read-only data such as a
read-only memory map as a separate one), and ``cache=True`` keeps them on disk.

Numba's cache is keyed on each kernel's own source file only: after editing
a helper that kernels in other files call (this module, ``_common.py``,
``_math.py``, ``full.py``'s scatter update used by ``tied.py``), delete ``fastgmm/_kernels/__pycache__`` or the kernels keep
their stale compiled copy.  Installed releases get fresh files, hence a
fresh cache.
"""

# Only flags that keep NaN/inf semantics: no "nnan"/"ninf", so NaN checks and
# -inf log-probabilities behave (see DESIGN.md section 3 and umap#1228).
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
