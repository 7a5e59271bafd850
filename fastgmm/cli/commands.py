"""The commands of the command line (``fastgmm COMMAND``), one function each."""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from ..data import files
from ..models import GaussianMixture

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
    """Points drawn from the demo mixture: the EM tutorial's three 2-D Gaussians.

    ``fastgmm demo`` fits this mixture; the documentation's examples use it as small,
    known data. Its parameters are ``DEMO_WEIGHTS``, ``DEMO_MEANS`` and
    ``DEMO_COVARIANCES`` in ``fastgmm.cli``.

    Parameters
    ----------
    n_samples : int
        Number of points.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same points.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points, float64.
    labels : ndarray of shape (n_samples,)
        The component each point was drawn from, in ``{0, 1, 2}``.
    """
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


# -- fastgmm cache, fastgmm warmup --------------------------------------------------------------


def cache(args):
    """Show or empty Numba's on-disk cache of fastgmm's kernels."""
    from .. import _cache

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


def warmup(args):
    """Compile every kernel now (e.g. in a Docker build or a CI step), so that later
    processes load them from Numba's cache."""
    from .. import _cache

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
        "n_factors": args.n_factors,
    }
    return {**options, **_progress_option(GaussianMixture)}


def _load_model(path, estimator=True):
    """The model saved at ``path``; with ``estimator``, a ValueError unless it can predict
    (a ``GaussianMixtureResult`` of ``fastgmm.fit`` holds the parameters only)."""
    from ..io import load

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
    matplotlib = files.optional_import("matplotlib", "Plotting")
    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    files.check_output(
        path, [f".{name}" for name in FigureCanvasBase.get_supported_filetypes()], "plot"
    )
    from .. import plotting

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
    files.check_output(args.output, (), "MODEL", inputs=[args.data])
    data = files.read_data(args.data, args.dtype)
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
    files.check_output(args.output, inputs=[args.model, args.data])
    model = _load_model(args.model)
    data = files.read_data(args.data)
    n_samples = data.array.shape[0]
    if args.proba:
        n_components = model.weights_.shape[0]
        columns = [f"component_{k}" for k in range(n_components)]
        with files.output_array(args.output, (n_samples, n_components), np.float64, columns) as out:
            model.predict_proba(data.for_estimator(), out=out)
    else:
        with files.output_array(args.output, (n_samples,), np.int64, ["component"]) as out:
            model.predict(data.for_estimator(), out=out)
    what = "probabilities" if args.proba else "labels"
    print(f"wrote the {what} of {n_samples:,} rows to {args.output}", file=sys.stderr)
    return 0


def score(args):
    """Print the mean log-likelihood of DATA under MODEL, and the model's BIC and AIC on it."""
    model = _load_model(args.model)
    data = files.read_data(args.data)
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
    from ..model_selection import select_n_components

    if args.output is not None:
        files.check_output(args.output, (), "MODEL", inputs=[args.data])
    if args.plot is not None:
        plotting = _open_plotting(args.plot)  # before fitting: fail early
    data = files.read_data(args.data, args.dtype)
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
    files.check_output(args.output, inputs=[args.model])
    model = _load_model(args.model)
    if args.random_state is not None:
        model.set_params(random_state=args.random_state)
    X, _ = model.sample(args.n_samples)
    files.write_array(args.output, X, _column_names(model))
    print(f"wrote {len(X):,} points to {args.output}", file=sys.stderr)
    return 0


def plot(args):
    """Draw MODEL's components as ellipses (over DATA, if given) into FILE."""
    plotting = _open_plotting(args.output)
    model = _load_model(args.model, estimator=False)
    X = None if args.data is None else files.read_data(args.data).array
    _save_plot(plotting.plot_mixture(model, X, dims=args.dims), args.output)
    return 0
