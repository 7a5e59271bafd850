"""Command-line interface: ``fastgmm demo``, ``fastgmm cache info|clear``, ``fastgmm warmup``."""

import argparse
import time

import numpy as np

from .gaussian_mixture import GaussianMixture

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


def warmup(args):
    """Compile every kernel now (e.g. in a Docker build or a CI step), so that later
    processes load them from Numba's cache."""
    from . import _cache

    total = 0.0
    for (covariance_type, dtype), seconds in _cache.warmup(
        args.covariance_types, args.dtypes
    ).items():
        total += seconds
        print(f"{covariance_type:<10} {dtype:<8} {seconds:7.2f} s")
    print(f"total {total:.1f} s; the kernels are cached in:")
    for folder in _cache.cache_folders():
        print(f"  {folder}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastgmm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="fit a 3-component 2-D mixture on built-in data")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo_parser.add_argument(
        "--large", type=int, default=1_000_000, help="size of the large sample (default 1,000,000)"
    )
    demo_parser.set_defaults(run=demo)
    cache_parser = commands.add_parser("cache", help="show or clear Numba's cache of the kernels")
    cache_parser.add_argument("action", choices=["info", "clear"])
    cache_parser.set_defaults(run=cache)
    warmup_parser = commands.add_parser(
        "warmup", help="compile every kernel ahead of time (later processes load them)"
    )
    warmup_parser.add_argument(
        "--covariance-types",
        nargs="+",
        choices=["full", "tied", "diag", "spherical"],
        default=None,
        help="default: all four",
    )
    warmup_parser.add_argument(
        "--dtypes", nargs="+", choices=["float64", "float32"], default=["float64", "float32"]
    )
    warmup_parser.set_defaults(run=warmup)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
