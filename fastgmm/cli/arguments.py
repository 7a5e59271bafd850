"""The command line's arguments: value parsers and each command's options."""

import argparse

from ..covariance import COVARIANCE_TYPE_NAMES, COVARIANCE_TYPES
from ..em.options import INIT_PARAMS_NAMES

DTYPE_NAMES = ("float32", "float64")


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


def demo_arguments(parser):
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="size of the large sample (default 1,000,000)"
    )


def cache_arguments(parser):
    parser.add_argument("action", choices=["info", "clear"])


def warmup_arguments(parser):
    parser.add_argument(
        "--covariance-types",
        nargs="+",
        choices=tuple(COVARIANCE_TYPES),  # the factor types' kernels need a number of factors
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
        "--n-factors",
        type=_positive_int,
        default=None,
        metavar="Q",
        help="latent factors per component, for the covariance types factor and ppca",
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default=None,
        help="fit in this precision (default: float32 for float32 .npy data, else float64; "
        "converting a .npy file reads it into memory)",
    )


def fit_arguments(parser):
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--n-components", "-k", type=_positive_int, required=True, metavar="K")
    parser.add_argument(
        "--covariance-type", choices=COVARIANCE_TYPE_NAMES, default="full", help="(default: full)"
    )
    _estimator_arguments(parser)
    parser.add_argument(
        "--output", "-o", required=True, metavar="MODEL", help="model file to write"
    )


def predict_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--output", "-o", required=True, metavar="OUT", help=OUT_HELP)
    parser.add_argument(
        "--proba",
        action="store_true",
        help="write the probability of every component (one column each) instead of the label",
    )


def score_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def select_arguments(parser):
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


def info_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def sample_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument(
        "-n", "--n-samples", type=_positive_int, required=True, metavar="N", help="points to draw"
    )
    parser.add_argument("--output", "-o", required=True, metavar="OUT", help=OUT_HELP)
    parser.add_argument(
        "--random-state", type=int, default=None, help="seed (default: the model's random_state)"
    )


def plot_arguments(parser):
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
