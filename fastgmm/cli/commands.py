"""Command-line interface: fit, use and inspect Gaussian mixtures from data files.

Data files are ``.npy`` (memory-mapped: bigger than memory works), ``.csv``/``.tsv``
(numbers; a first row that is not numbers is a header of feature names) or ``.parquet``
(needs pyarrow).  A mistake in the command line, a file or an option's value ends the
program with status 2 and one line on standard error, ``fastgmm: error: ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

from . import _files
from ._validation import COVARIANCE_TYPE_NAMES, INIT_PARAMS_NAMES
from .gaussian_mixture import GaussianMixture

PROG = "fastgmm"
DESCRIPTION = (
    "Fit, apply and inspect Gaussian mixture models from data files: .npy (memory-mapped, "
    "so bigger than memory works), .csv/.tsv (numbers; a first row that is not numbers is a "
    "header of feature names) or .parquet (needs pyarrow). Errors end the command with "
    "status 2 and one line on stderr."
)
DTYPE_NAMES = ("float32", "float64")
# Errors that come from what the user gave (the command line, a file, an option's value):
# reported in one line, status 2. Bad input makes fastgmm raise ValueError or TypeError;
# files, OSError; a missing optional package, ImportError (raised by _files.optional_import).
USER_ERRORS = (ValueError, TypeError, OSError, ImportError)
USER_ERROR_STATUS = 2

# -- fastgmm demo -----------------------------------------------------------------------------

# The classic EM tutorial's mixture: three well-separated 2-D Gaussians.
DEMO_WEIGHTS = np.array([0.3, 0.5, 0.2])
DEMO_MEANS = np.array([[0.0, 0.0], [6.0, 2.0], [2.0, 7.0]])
DEMO_COVARIANCES = np.array(
    [
        [[1.0, 0.5], [0.5, 1.0]],
        [[1.5, -0.4], [-0.4, 0.8]],
        [[0.6, 0.0], [0.0, 1.2]],
    ]
)


def demo_data(n_samples, seed=0):
    """``n_samples`` points of the demo mixture (fixed seed) and their true components."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(DEMO_WEIGHTS), size=n_samples, p=DEMO_WEIGHTS)
    noise = rng.standard_normal((n_samples, 2))
    factors = np.linalg.cholesky(DEMO_COVARIANCES)
    X = DEMO_MEANS[labels] + np.einsum("nij,nj->ni", factors[labels], noise)
    return X, labels


def _format(array):
    return np.array2string(
        np.asarray(array), precision=4, suppress_small=True, separator=", "
    ).replace("\n", "")


def _print_component(label, weight, mean, covariance):
    print(f"{label}: weight {weight:.4f}  mean {_format(mean)}  covariance {_format(covariance)}")


def _print_fit(title, X, model, seconds):
    order = np.argsort(model.means_[:, 0])  # a stable order to compare with the truth
    print(f"\n== {title}: {X.shape[0]:,} points, {X.shape[1]} features ==")
    print(
        f"fitted in {seconds:.3f} s wall time, {model.n_iter_} iterations, "
        f"converged: {model.converged_}, lower bound (mean log-likelihood): "
        f"{model.lower_bound_:.6f}"
    )
    for rank, k in enumerate(order):
        _print_component(
            f"component {rank}", model.weights_[k], model.means_[k], model.covariances_[k]
        )


def demo(args):
    """Fit the tutorial mixture on 1,000 points, then on a 1,000,000-point sample."""
    print("True mixture (components ordered by the first coordinate of their mean):")
    for rank, k in enumerate(np.argsort(DEMO_MEANS[:, 0])):
        _print_component(f"component {rank}", DEMO_WEIGHTS[k], DEMO_MEANS[k], DEMO_COVARIANCES[k])
    for title, n_samples in (("tutorial data", 1_000), ("large sample", args.large)):
        X, _ = demo_data(n_samples, seed=args.seed)
        model = GaussianMixture(3, covariance_type="full", random_state=args.seed)
        start = time.perf_counter()
        model.fit(X)
        _print_fit(title, X, model, time.perf_counter() - start)
    print("\n(the first fit includes Numba compilation when the kernel cache is cold)")
    return 0


def _demo_arguments(parser):
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="size of the large sample (default 1,000,000)"
    )


# -- fastgmm cache, fastgmm warmup --------------------------------------------------------------


def cache(args):
    """Show or empty Numba's on-disk cache of fastgmm's kernels."""
    from . import _cache

    folders = _cache.cache_folders()
    if args.action == "clear":
        deleted = sum(_cache.clear(folder) for folder in folders)
        print(f"deleted {deleted} cached kernel file(s) in {len(folders)} folder(s)")
        return 0
    print(f"kernel sources hash: {_cache.kernel_sources_digest()}")
    for folder in folders:
        files = [path for path in folder.iterdir() if path.suffix in _cache.CACHE_SUFFIXES]
        print(f"{folder}: {len(files)} file(s), {sum(p.stat().st_size for p in files):,} bytes")
    return 0


def _cache_arguments(parser):
    parser.add_argument("action", choices=["info", "clear"])


def warmup(args):
    """Compile every kernel now (e.g. in a Docker build or a CI step), so that later
    processes load them from Numba's cache."""
    from . import _cache

    total = 0.0
    for (covariance_type, dtype), seconds in _cache.warmup(
        args.covariance_types, args.dtypes, args.missing_values
    ).items():
        total += seconds
        print(f"{covariance_type:<10} {dtype:<8} {seconds:7.2f} s")
    print(f"total {total:.1f} s; the kernels are cached in:")
    for folder in _cache.cache_folders():
        print(f"  {folder}")
    return 0


def _warmup_arguments(parser):
    parser.add_argument(
        "--covariance-types",
        nargs="+",
        choices=COVARIANCE_TYPE_NAMES,
        default=None,
        help="default: all four",
    )
    parser.add_argument("--dtypes", nargs="+", choices=DTYPE_NAMES, default=list(DTYPE_NAMES))
    parser.add_argument(
        "--missing-values",
        action="store_true",
        help="also the kernels of data with NaN (missing_values='marginalize'; about twice "
        "the time)",
    )


# -- helpers of the commands on models and data ---------------------------------------------------


def _progress_option(estimator_class):
    """``{'progress': True}`` when stderr is a terminal and the estimator shows progress."""
    if "progress" in estimator_class().get_params():
        return {"progress": sys.stderr.isatty()}
    return {}


def _fit_options(args):
    """The estimator options of ``fit`` and ``select`` from the command line."""
    options = {
        "init_params": args.init_params,
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "random_state": args.random_state,
    }
    return {**options, **_progress_option(GaussianMixture)}


def _load_model(path, estimator=True):
    """The model saved at ``path``; with ``estimator``, a ValueError unless it can predict
    (a ``GaussianMixtureResult`` of ``fastgmm.fit`` holds the parameters only)."""
    from ._persistence import load

    model = load(path)
    if estimator and not hasattr(model, "predict"):
        raise ValueError(
            f"MODEL {path!r} holds a {type(model).__name__}, which has no predict, score or "
            "sample; save a GaussianMixture (as 'fastgmm fit' does) for this command."
        )
    return model


def _save_model(model, path):
    # Progress is shown on this terminal; the saved model gets the default (no progress).
    if model.get_params().get("progress"):
        model.set_params(progress=False)
    model.save(path)
    print(f"saved the model to {path}", file=sys.stderr)


def _column_names(model):
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _fitted(model, name):
    """A fitted attribute: ``name_`` of an estimator, ``name`` of a GaussianMixtureResult."""
    return getattr(model, f"{name}_") if hasattr(model, f"{name}_") else getattr(model, name)


def _model_summary(model):
    """What ``fastgmm info`` shows, as a dict of JSON values."""
    means = _fitted(model, "means")
    return {
        "class": type(model).__name__,
        # The estimators keep the layout of the fit even if covariance_type is set anew.
        "covariance_type": getattr(model, "_fitted_covariance_type", model.covariance_type),
        "n_components": int(means.shape[0]),
        "n_features": int(means.shape[1]),
        "dtype": str(means.dtype),
        "converged": bool(_fitted(model, "converged")),
        "n_iter": int(_fitted(model, "n_iter")),
        "lower_bound": float(_fitted(model, "lower_bound")),
        "feature_names": _column_names(model),
        "weights": [float(w) for w in _fitted(model, "weights")],
    }


def _open_plotting(path):
    """``fastgmm.plotting`` drawing into files (matplotlib's Agg backend), once ``path`` is
    known to be an image file that matplotlib can write (checked before any work is done).

    Raises an ImportError saying to install matplotlib when it is missing.
    """
    matplotlib = _files.optional_import("matplotlib", "Plotting")
    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    _files.check_output(
        path, [f".{name}" for name in FigureCanvasBase.get_supported_filetypes()], "plot"
    )
    from . import plotting

    return plotting


def _save_plot(axes, path):
    """Save the figure of ``axes`` (one Axes or an array of them) to ``path`` and close it."""
    import matplotlib.pyplot as plt

    figure = np.ravel(np.asarray(axes, dtype=object))[0].figure
    try:
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)
    print(f"saved the plot to {path}", file=sys.stderr)


# -- fastgmm fit, predict, score, select ----------------------------------------------------------


def fit(args):
    """Fit a Gaussian mixture to DATA by EM and save it to MODEL."""
    _files.check_output(args.output, (), "MODEL", inputs=[args.data])
    data = _files.read_data(args.data, args.dtype)
    model = GaussianMixture(
        args.n_components, covariance_type=args.covariance_type, **_fit_options(args)
    )
    start = time.perf_counter()
    model.fit(data.for_estimator())
    seconds = time.perf_counter() - start
    _save_model(model, args.output)
    print(
        f"{model!r}: {data.array.shape[0]:,} rows, {data.array.shape[1]} features, "
        f"{model.n_iter_} iterations in {seconds:.2f} s, "
        f"converged: {model.converged_}, lower bound {model.lower_bound_:.6g}"
    )
    return 0


def predict(args):
    """Write the most probable component of every row of DATA (or, with --proba, the
    probability of every component) to OUT."""
    _files.check_output(args.output, inputs=[args.model, args.data])
    model = _load_model(args.model)
    data = _files.read_data(args.data)
    n_samples = data.array.shape[0]
    if args.proba:
        n_components = model.weights_.shape[0]
        columns = [f"component_{k}" for k in range(n_components)]
        with _files.output_array(
            args.output, (n_samples, n_components), np.float64, columns
        ) as out:
            model.predict_proba(data.for_estimator(), out=out)
    else:
        with _files.output_array(args.output, (n_samples,), np.int64, ["component"]) as out:
            model.predict(data.for_estimator(), out=out)
    what = "probabilities" if args.proba else "labels"
    print(f"wrote the {what} of {n_samples:,} rows to {args.output}", file=sys.stderr)
    return 0


def score(args):
    """Print the mean log-likelihood of DATA under MODEL, and the model's BIC and AIC on it."""
    model = _load_model(args.model)
    data = _files.read_data(args.data)
    X = data.for_estimator()
    result = {
        "mean_log_likelihood": float(model.score(X)),
        # BayesianGaussianMixture has no BIC/AIC (no point estimate to count parameters of).
        "bic": float(model.bic(X)) if hasattr(model, "bic") else None,
        "aic": float(model.aic(X)) if hasattr(model, "aic") else None,
        "n_samples": int(data.array.shape[0]),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"mean log-likelihood: {result['mean_log_likelihood']:.10g}")
    for name in ("bic", "aic"):
        value = result[name]
        print(f"{name.upper()}: {'n/a' if value is None else f'{value:.10g}'}")
    print(f"rows: {result['n_samples']:,}")
    return 0


def select(args):
    """Fit one mixture per number of components (and covariance type) and keep the one
    with the best criterion; print the table of candidates."""
    from .model_selection import select_n_components

    if args.output is not None:
        _files.check_output(args.output, (), "MODEL", inputs=[args.data])
    if args.plot is not None:
        plotting = _open_plotting(args.plot)  # before fitting: fail early
    data = _files.read_data(args.data, args.dtype)
    selection = select_n_components(
        data.for_estimator(),
        args.n_components,
        covariance_types=args.covariance_types,
        criterion=args.criterion,
        **_fit_options(args),
    )
    print(selection)
    best = selection.best
    print(f"best by {args.criterion}: {best.n_components} components, {best.covariance_type}")
    if args.plot is not None:
        _save_plot(plotting.plot_selection(selection), args.plot)
    if args.output is not None:
        model = selection.best_model
        if data.feature_names is not None and not hasattr(model, "feature_names_in_"):
            # select_n_components validates X once, which drops the names; give the best
            # model the names that its fit on this table would have recorded.
            model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
        _save_model(model, args.output)
    return 0


# -- fastgmm info, sample, plot -------------------------------------------------------------------


def info(args):
    """Describe the model saved in MODEL."""
    summary = _model_summary(_load_model(args.model, estimator=False))
    if args.json:
        print(json.dumps(summary))
        return 0
    width = max(map(len, summary))
    for key, value in summary.items():
        if key == "weights":
            value = _format(np.asarray(value))
        elif key == "feature_names" and value is not None:
            value = ", ".join(value)
        print(f"{key + ':':<{width + 1}} {value}")
    return 0


def sample(args):
    """Draw N points from MODEL and write them to OUT."""
    _files.check_output(args.output, inputs=[args.model])
    model = _load_model(args.model)
    if args.random_state is not None:
        model.set_params(random_state=args.random_state)
    X, _ = model.sample(args.n_samples)
    _files.write_array(args.output, X, _column_names(model))
    print(f"wrote {len(X):,} points to {args.output}", file=sys.stderr)
    return 0


def plot(args):
    """Draw MODEL's components as ellipses (over DATA, if given) into FILE."""
    plotting = _open_plotting(args.output)
    model = _load_model(args.model, estimator=False)
    X = None if args.data is None else _files.read_data(args.data).array
    _save_plot(plotting.plot_mixture(model, X, dims=args.dims), args.output)
    return 0


# -- command-line arguments -------------------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def component_counts(text):
    """``--n-components`` of ``select``: "1-8" (a range, both ends included), "2,4,8",
    or both ("1-4,8"), as a sorted list of distinct positive ints."""
    counts = set()
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            first = last = 0
        if first < 1 or last < first:
            raise argparse.ArgumentTypeError(
                f"expected positive integers as a range '1-8' or a list '2,4,8', got {text!r}"
            )
        counts.update(range(first, last + 1))
    return sorted(counts)


def _choices(allowed):
    """A comma-separated list of some of ``allowed``."""

    def parse(text):
        items = [item.strip() for item in text.split(",")]
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}: choose from {', '.join(allowed)}"
            )
        return list(dict.fromkeys(items))

    return parse


def _feature_pair(text):
    try:
        pair = tuple(int(item) for item in text.split(","))
    except ValueError:
        pair = ()
    if len(pair) != 2:
        raise argparse.ArgumentTypeError(f"expected two feature indices as '0,1', got {text!r}")
    return pair


DATA_HELP = "data file: .npy (memory-mapped), .csv/.tsv (numbers, optional header) or .parquet"
OUT_HELP = "output file: .npy, .csv or .tsv"
MODEL_HELP = "model file (written by 'fastgmm fit' or GaussianMixture.save)"


def _estimator_arguments(parser):
    """The options that ``fit`` and ``select`` pass to every estimator."""
    parser.add_argument(
        "--init-params", choices=INIT_PARAMS_NAMES, default="kmeans", help="(default: kmeans)"
    )
    parser.add_argument(
        "--n-init", type=_positive_int, default=1, help="initialisations, the best kept (default 1)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=100, help="EM iterations at most (default 100)"
    )
    parser.add_argument(
        "--tol", type=float, default=1e-3, help="stop when the lower bound changes less (1e-3)"
    )
    parser.add_argument("--random-state", type=int, default=None, help="seed (default: random)")
    parser.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default=None,
        help="fit in this precision (default: float32 for float32 .npy data, else float64; "
        "converting a .npy file reads it into memory)",
    )


def _fit_arguments(parser):
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--n-components", "-k", type=_positive_int, required=True, metavar="K")
    parser.add_argument(
        "--covariance-type", choices=COVARIANCE_TYPE_NAMES, default="full", help="(default: full)"
    )
    _estimator_arguments(parser)
    parser.add_argument(
        "--output", "-o", required=True, metavar="MODEL", help="model file to write"
    )


def _predict_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--output", "-o", required=True, metavar="OUT", help=OUT_HELP)
    parser.add_argument(
        "--proba",
        action="store_true",
        help="write the probability of every component (one column each) instead of the label",
    )


def _score_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def _select_arguments(parser):
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument(
        "--n-components",
        "-k",
        type=component_counts,
        default=list(range(1, 9)),
        metavar="RANGE",
        help="candidate numbers of components: '1-8' (default), '2,4,8' or '1-4,8'",
    )
    parser.add_argument(
        "--covariance-types",
        type=_choices(COVARIANCE_TYPE_NAMES),
        default=["full"],
        metavar="TYPES",
        help=f"comma-separated, of {', '.join(COVARIANCE_TYPE_NAMES)} (default: full)",
    )
    parser.add_argument(
        "--criterion",
        choices=("bic", "aic", "lower_bound"),
        default="bic",
        help="lowest BIC/AIC or highest lower bound wins (default: bic)",
    )
    _estimator_arguments(parser)
    parser.add_argument(
        "--plot", metavar="FILE", help="draw the criteria into FILE (.png, .pdf, .svg)"
    )
    parser.add_argument("--output", "-o", metavar="MODEL", help="save the best model to MODEL")


def _info_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def _sample_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument(
        "-n", "--n-samples", type=_positive_int, required=True, metavar="N", help="points to draw"
    )
    parser.add_argument("--output", "-o", required=True, metavar="OUT", help=OUT_HELP)
    parser.add_argument(
        "--random-state", type=int, default=None, help="seed (default: the model's random_state)"
    )


def _plot_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("data", metavar="DATA", nargs="?", help=f"points to draw; {DATA_HELP}")
    parser.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="image file (.png, .pdf, .svg)"
    )
    parser.add_argument(
        "--dims",
        type=_feature_pair,
        default=(0, 1),
        metavar="I,J",
        help="features drawn (default 0,1)",
    )


# name: (what it runs, its arguments, one line of help)
COMMANDS = {
    "demo": (demo, _demo_arguments, "fit a 3-component 2-D mixture on built-in data"),
    "fit": (fit, _fit_arguments, "fit a Gaussian mixture to a data file and save the model"),
    "predict": (predict, _predict_arguments, "component labels (or probabilities) of data rows"),
    "score": (score, _score_arguments, "mean log-likelihood, BIC and AIC of data under a model"),
    "select": (select, _select_arguments, "choose the number of components by BIC or AIC"),
    "info": (info, _info_arguments, "describe a saved model"),
    "sample": (sample, _sample_arguments, "draw points from a saved model"),
    "plot": (plot, _plot_arguments, "draw a model's components (over data) into an image"),
    "cache": (cache, _cache_arguments, "show or clear Numba's cache of the kernels"),
    "warmup": (warmup, _warmup_arguments, "compile every kernel ahead of time"),
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


if __name__ == "__main__":
    raise SystemExit(main())
