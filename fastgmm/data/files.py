"""Data files for the command line (``fastgmm.cli``): reading ``.npy``, ``.csv``/``.tsv`` and
``.parquet`` data, and writing ``.npy``/``.csv``/``.tsv`` results.

Readers return a :class:`Table` (the rows and, when the file names its columns, the feature
names).  A ``.npy`` file is memory-mapped, never read here: fastgmm streams its rows, so it
may be bigger than memory; text and Parquet files are read into memory.  Problems with a file
raise a ``ValueError`` (``FileNotFoundError`` for a missing one) whose message names the file
and, for text files, the line; a missing optional package (pyarrow) raises an ``ImportError``
that says what to install.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import itertools
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import validation

# The delimiter of each text format, by file extension.
DELIMITERS = {".csv": ",", ".tsv": "\t"}
DATA_EXTENSIONS = (".npy", ".csv", ".tsv", ".parquet")
OUTPUT_EXTENSIONS = (".npy", ".csv", ".tsv")
# printf formats that write every value back exactly (shortest digits that round-trip).
_TEXT_FORMATS = {"f": {4: "%.9g", 8: "%.17g"}, "i": "%d", "u": "%d", "b": "%d"}


def extension(path: str | os.PathLike, allowed: Sequence[str], what: str) -> str:
    """The lower-case extension of ``path``, or a ValueError if it is not in ``allowed``."""
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise ValueError(
            f"{what} {os.fspath(path)!r}: unknown file type {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(allowed)}."
        )
    return suffix


def optional_import(module: str, purpose: str, package: str | None = None):
    """Import the optional ``module``, or raise an ImportError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{purpose} needs {package or module}, which is not installed "
            f"(pip install {package or module})."
        ) from None


@dataclass(frozen=True)
class Table:
    """Rows read from a data file.

    Attributes
    ----------
    array : ndarray of shape (n_samples, n_features)
        Memory-mapped for ``.npy`` files, in memory otherwise.
    feature_names : tuple of str or None
        The column names (a text file's header, a Parquet schema); None for ``.npy``
        files and text files without a header.
    """

    array: np.ndarray
    feature_names: tuple[str, ...] | None = None

    def for_estimator(self):
        """What to pass to ``fit``/``predict``: the array, or with feature names an
        object that the estimators read them from (a ``columns`` attribute, as a pandas
        DataFrame has) and convert with ``np.asarray``."""
        if self.feature_names is None:
            return self.array
        return _NamedColumns(self.array, self.feature_names)


class _NamedColumns:
    """An in-memory array with column names, as fastgmm's estimators read them."""

    def __init__(self, array, names):
        self._array = array
        self.columns = list(names)
        self.shape = array.shape

    def __array__(self, dtype=None, copy=None):
        if dtype is None or np.dtype(dtype) == self._array.dtype:
            return self._array.copy() if copy else self._array
        return self._array.astype(dtype)


def read_data(path: str | os.PathLike, dtype: str | None = None) -> Table:
    """Read the data file ``path`` by its extension (``.npy``, ``.csv``, ``.tsv``, ``.parquet``).

    Parameters
    ----------
    path : str or path-like
    dtype : {'float32', 'float64'} or None, default=None
        Convert the values to this dtype; None keeps a ``.npy`` file's dtype and reads
        text and Parquet files as float64.  Converting a ``.npy`` file reads it into
        memory.

    Returns
    -------
    Table
    """
    suffix = extension(path, DATA_EXTENSIONS, "DATA")
    if not os.path.exists(path):  # one message for every format
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    if suffix == ".npy":
        array = validation.open_npy(path, name="DATA")
        if dtype is not None and array.dtype != dtype:
            array = np.asarray(array, dtype=dtype)
        return Table(array)
    if suffix == ".parquet":
        return read_parquet(path, dtype)
    return read_text(path, DELIMITERS[suffix], dtype)


def _parses_as_numbers(fields: Sequence[str]) -> bool:
    try:
        for field in fields:
            float(field)
    except ValueError:
        return False
    return True


def read_text(path: str | os.PathLike, delimiter: str = ",", dtype: str | None = None) -> Table:
    """Read a delimited text file of numbers, with an optional header row.

    The first non-blank line is a header (giving the feature names) when one of its
    fields does not parse as a number.  Blank lines are skipped; fields may be quoted.

    Raises
    ------
    ValueError
        If the file has no data rows, a field that is not a number, or a row with
        another number of fields than the first (the message gives the line number).
    """
    with open(path, newline="", encoding="utf-8-sig") as file:
        first = next(csv.reader(_non_blank(file), delimiter=delimiter), None)
    if first is None:
        raise ValueError(f"DATA {os.fspath(path)!r} is empty.")
    has_header = not _parses_as_numbers(first)
    names = tuple(name.strip() for name in first) if has_header else None
    with warnings.catch_warnings():
        # A header without rows: numpy warns, we raise below.
        warnings.filterwarnings("ignore", "loadtxt: input contained no data", UserWarning)
        try:
            array = np.loadtxt(
                path,
                dtype=dtype or np.float64,
                delimiter=delimiter,
                comments=None,
                skiprows=_header_lines(path) if has_header else 0,
                ndmin=2,
                quotechar='"',
                encoding="utf-8-sig",
            )
        except ValueError:
            # numpy's message counts rows in its own way; find the bad line ourselves.
            raise ValueError(_first_bad_line(path, delimiter, len(first), has_header)) from None
    if array.shape[0] == 0:
        raise ValueError(f"DATA {os.fspath(path)!r} has a header but no data rows.")
    if names is not None and len(names) != array.shape[1]:  # loadtxt checked the rows
        raise ValueError(
            f"DATA {os.fspath(path)!r}: the header names {len(names)} columns but the rows "
            f"have {array.shape[1]}."
        )
    return Table(array, names)


def _non_blank(lines):
    return (line for line in lines if line.strip())


def _header_lines(path):
    """Lines up to and including the first non-blank one (the header)."""
    with open(path, encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            if line.strip():
                return number
    return 0


def _first_bad_line(path, delimiter, n_columns, has_header):
    """The message for the first line of a text file that is not a row of ``n_columns``
    numbers (only called once ``np.loadtxt`` has found one)."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file, delimiter=delimiter)
        skip = 1 if has_header else 0
        for row in itertools.islice(
            (row for row in rows if any(f.strip() for f in row)), skip, None
        ):
            line = rows.line_num
            if len(row) != n_columns:
                return (
                    f"DATA {os.fspath(path)!r}, line {line}: {len(row)} values, but the "
                    f"{'header' if has_header else 'first row'} has {n_columns}."
                )
            for column, field in enumerate(row, start=1):
                if not _parses_as_numbers([field]):
                    return (
                        f"DATA {os.fspath(path)!r}, line {line}, column {column}: "
                        f"{field!r} is not a number."
                    )
    return f"DATA {os.fspath(path)!r} could not be read as a table of numbers."


def read_parquet(path: str | os.PathLike, dtype: str | None = None) -> Table:
    """Read the numeric columns of a Parquet file (needs pyarrow); feature names from
    its schema.  A column that is not numeric, or holds nulls, is a ValueError."""
    parquet = optional_import("pyarrow.parquet", "Reading .parquet files", "pyarrow")
    pyarrow = optional_import("pyarrow", "Reading .parquet files")
    try:
        table = parquet.read_table(path)
    except pyarrow.ArrowException as exc:
        raise ValueError(
            f"DATA {os.fspath(path)!r} is not a readable Parquet file ({exc})."
        ) from None
    if table.num_columns == 0 or table.num_rows == 0:
        raise ValueError(
            f"DATA {os.fspath(path)!r} has no {'columns' if table.num_columns == 0 else 'rows'}."
        )
    array = np.empty((table.num_rows, table.num_columns), dtype=dtype or np.float64)
    for index, (name, column) in enumerate(zip(table.column_names, table.columns)):
        kind = column.type
        if not (
            pyarrow.types.is_integer(kind)
            or pyarrow.types.is_floating(kind)
            or pyarrow.types.is_boolean(kind)
        ):
            raise ValueError(
                f"DATA {os.fspath(path)!r}: column {name!r} holds {kind}, not numbers."
            )
        if column.null_count:
            raise ValueError(
                f"DATA {os.fspath(path)!r}: column {name!r} has {column.null_count} missing "
                "value(s); remove or impute them first."
            )
        array[:, index] = column.to_numpy()
    return Table(array, tuple(str(name) for name in table.column_names))


def check_output(
    path: str | os.PathLike,
    allowed: Sequence[str] = OUTPUT_EXTENSIONS,
    what: str = "OUT",
    inputs: Sequence[str | os.PathLike | None] = (),
) -> str:
    """Check before any work is done that ``path`` can be written: a known extension (any
    if ``allowed`` is empty), an existing folder, and none of the files in ``inputs``
    (writing a memory-mapped input would destroy it while it is read).  Returns the
    lower-case extension."""
    suffix = extension(path, allowed, what) if allowed else Path(path).suffix.lower()
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileNotFoundError(2, "No such directory", os.fspath(folder))
    if Path(path).is_dir():
        raise IsADirectoryError(21, "Is a directory", os.fspath(path))
    if Path(path).exists() and any(
        source is not None and Path(source).exists() and Path(path).samefile(source)
        for source in inputs
    ):
        raise ValueError(f"{what} {os.fspath(path)!r} is also an input file; write elsewhere.")
    return suffix


@contextlib.contextmanager
def output_array(
    path: str | os.PathLike,
    shape: tuple[int, ...],
    dtype,
    columns: Sequence[str] | None = None,
) -> Iterator[np.ndarray]:
    """An array of ``shape`` and ``dtype`` to fill, written to ``path`` at the end.

    For ``.npy`` it is the memory-mapped file itself (a result bigger than memory
    works: pass it as ``out=`` to ``predict``); for ``.csv``/``.tsv`` an array in memory,
    written with a header line of ``columns`` (if given).  If the block raises, nothing
    is left at ``path``.
    """
    suffix = check_output(path)
    array: np.ndarray
    if suffix == ".npy":
        array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    else:
        array = np.empty(shape, dtype=dtype)
    try:
        yield array
        if isinstance(array, np.memmap):
            array.flush()
        else:
            write_text(path, array, DELIMITERS[suffix], columns)
    except BaseException:
        del array
        with contextlib.suppress(OSError):
            os.remove(path)
        raise


def write_array(path: str | os.PathLike, array, columns: Sequence[str] | None = None) -> None:
    """Write ``array`` (1-D or 2-D) to ``path`` by its extension (``.npy``, ``.csv``, ``.tsv``)."""
    array = np.asarray(array)
    with output_array(path, array.shape, array.dtype, columns) as out:
        out[...] = array


def write_text(path, array, delimiter=",", columns=None):
    """Write a 1-D or 2-D array as delimited text, one row a line, every value exactly."""
    kind = array.dtype.kind
    fmt = _TEXT_FORMATS[kind][array.dtype.itemsize] if kind == "f" else _TEXT_FORMATS[kind]
    header = delimiter.join(columns) if columns is not None else ""
    np.savetxt(path, array, fmt=fmt, delimiter=delimiter, header=header, comments="")
