"""Command-line interface: fit, use and inspect Gaussian mixtures from data files.

Data files are ``.npy`` (memory-mapped: bigger than memory works), ``.csv``/``.tsv``
(numbers; a first row that is not numbers is a header of feature names) or ``.parquet``
(needs pyarrow).  A mistake in the command line, a file or an option's value ends the
program with status 2 and one line on standard error, ``fastgmm: error: ...``.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from . import arguments, commands
from .arguments import DATA_HELP, DTYPE_NAMES, MODEL_HELP, OUT_HELP, component_counts
from .commands import DEMO_COVARIANCES, DEMO_MEANS, DEMO_WEIGHTS, demo_data

__all__ = [
    "COMMANDS",
    "DATA_HELP",
    "DEMO_COVARIANCES",
    "DEMO_MEANS",
    "DEMO_WEIGHTS",
    "DTYPE_NAMES",
    "MODEL_HELP",
    "OUT_HELP",
    "build_parser",
    "component_counts",
    "demo_data",
    "main",
]

PROG = "fastgmm"
DESCRIPTION = (
    "Fit, apply and inspect Gaussian mixture models from data files: .npy (memory-mapped, "
    "so bigger than memory works), .csv/.tsv (numbers; a first row that is not numbers is a "
    "header of feature names) or .parquet (needs pyarrow). Errors end the command with "
    "status 2 and one line on stderr."
)
# Errors that come from what the user gave (the command line, a file, an option's value):
# reported in one line, status 2. Bad input makes fastgmm raise ValueError or TypeError;
# files, OSError; a missing optional package, ImportError (raised by files.optional_import).
USER_ERRORS = (ValueError, TypeError, OSError, ImportError)
USER_ERROR_STATUS = 2


# name: (what it runs, its arguments, one line of help)
COMMANDS = {
    "demo": (
        commands.demo,
        arguments.demo_arguments,
        "fit a 3-component 2-D mixture on built-in data",
    ),
    "fit": (
        commands.fit,
        arguments.fit_arguments,
        "fit a Gaussian mixture to a data file and save the model",
    ),
    "predict": (
        commands.predict,
        arguments.predict_arguments,
        "component labels (or probabilities) of data rows",
    ),
    "score": (
        commands.score,
        arguments.score_arguments,
        "mean log-likelihood, BIC and AIC of data under a model",
    ),
    "select": (
        commands.select,
        arguments.select_arguments,
        "choose the number of components by BIC or AIC",
    ),
    "info": (commands.info, arguments.info_arguments, "describe a saved model"),
    "sample": (commands.sample, arguments.sample_arguments, "draw points from a saved model"),
    "plot": (
        commands.plot,
        arguments.plot_arguments,
        "draw a model's components (over data) into an image",
    ),
    "cache": (
        commands.cache,
        arguments.cache_arguments,
        "show or clear Numba's cache of the kernels",
    ),
    "warmup": (commands.warmup, arguments.warmup_arguments, "compile every kernel ahead of time"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with command-line mistakes reported as one line (``fastgmm: error: ...``)."""

    def error(self, message):
        _fail(f"{message} (see '{self.prog} --help')")


def build_parser():
    """The ``fastgmm`` argument parser, with one subcommand per entry of ``COMMANDS``."""
    parser = _Parser(prog=PROG, description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, add_arguments, help_line) in COMMANDS.items():
        command = commands.add_parser(name, help=help_line, description=run.__doc__)
        add_arguments(command)
        command.set_defaults(run=run)
    return parser


# -- running a command ------------------------------------------------------------------------


def _one_line(text):
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _fail(message):
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    raise SystemExit(USER_ERROR_STATUS)


def _describe(error):
    """An exception as the user should read it (an OSError as 'path: reason')."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        return f"{where}: {error.strerror}" if where else error.strerror
    return str(error) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def main(argv=None):
    """Run the ``fastgmm`` command line (``argv``: the arguments, default ``sys.argv[1:]``).

    Returns 0 on success; a user error (a bad option, a missing or unreadable file, data
    the model cannot take) prints one line to stderr and raises ``SystemExit(2)``.
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # restored on exit
            return args.run(args)
    except USER_ERRORS as error:
        _fail(_describe(error))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
