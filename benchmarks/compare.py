"""Print fastgmm's seconds per EM iteration against scikit-learn's on DESIGN.md's workloads.

    python benchmarks/compare.py [--repeats 3] [--workloads W1 W2 ...] [--quick]

For each workload: sklearn s/iter, fastgmm s/iter (float64), their ratio
(medians over ``--repeats`` runs, both measured in this process, fastgmm's JIT
warmed up first) and the target.  (float32 and peak-memory rows belong to the
speed issue and are not here yet; the asv suite times float32.)
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (DESIGN.md section 4).
"""

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

TARGETS = {"W1": 50.0, "W2": 30.0, "W3": 20.0, "W4": 8.0}


def median_seconds(rival, X, n_components, covariance_type, repeats):
    return float(np.median([workloads.seconds_per_iteration(rival, X, n_components, covariance_type)
                            for _ in range(repeats)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", default=list(workloads.WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        workloads.QUICK = True

    import numba
    import sklearn

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, numba threads "
          f"{numba.get_num_threads()}; numpy {np.__version__}, numba {numba.__version__}, "
          f"scikit-learn {sklearn.__version__}")
    header = f"{'workload':<28}{'sklearn s/it':>13}{'fastgmm s/it':>14}{'ratio':>8}{'target':>8}  met"
    print(header)
    for name in args.workloads:
        n_samples, n_features, n_components, covariance_type = workloads.workload(name)
        X = workloads.make_data(n_samples, n_features, n_components)
        workloads.warm_up(X, n_components, covariance_type)
        ours = median_seconds("fastgmm", X, n_components, covariance_type, args.repeats)
        theirs = median_seconds("sklearn", X, n_components, covariance_type, args.repeats)
        ratio = theirs / ours
        label = f"{name} N={n_samples} D={n_features} K={n_components} {covariance_type}"
        target = TARGETS[name]
        print(f"{label:<28}{theirs:>13.4f}{ours:>14.4f}{ratio:>7.1f}x{target:>7.0f}x  "
              f"{'yes' if ratio >= target else 'no'}", flush=True)


if __name__ == "__main__":
    main()
