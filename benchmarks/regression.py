"""Is this tree's fastgmm slower than another commit's?  fastgmm against fastgmm only.

    python benchmarks/regression.py [--base main] [--workloads W2 W4 ...] [--repeats 3]
                                    [--factor 1.15] [--quick]

The base commit's ``fastgmm/`` is exported (``git archive``) to a temporary folder; then, in
alternating new processes (base, head, base, head, ...: machine load drifts, and each side
sees the same drift), each side times every workload with the same code of this tree's
``workloads.py``: seconds per EM iteration (float64) and the whole default fit (k-means
start, to convergence).  Each side has its own Numba cache, filled by a first, untimed
process.  The table shows the minimum over ``--repeats`` processes per side and the ratio
head / base; a ratio above ``--factor`` is flagged and makes the exit status 1.  The rival
libraries never run, so their noise cannot pass for a fastgmm regression.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(HERE)

_TIMINGS = """
import json, sys
sys.path.insert(0, {benchmarks!r})
import fastgmm
import workloads
workloads.QUICK = {quick!r}
assert fastgmm.__file__.startswith({tree!r}), fastgmm.__file__
seconds = {{}}
for name in {names!r}:
    X, n_components, covariance_type = workloads.workload_arguments(name)
    workloads.warm_up(X, n_components, covariance_type, init_params="kmeans")
    workloads.warm_up(X, n_components, covariance_type)
    seconds[name + " s/iter"] = workloads.seconds_per_iteration(
        "fastgmm", X, n_components, covariance_type
    )
    seconds[name + " default fit"] = workloads.whole_fit(
        "fastgmm", X, n_components, covariance_type
    )["total"]
print(json.dumps(seconds))
"""


def export(ref, folder):
    """Write the ``fastgmm/`` package of commit ``ref`` under ``folder``."""
    archive = subprocess.run(
        ["git", "-C", REPOSITORY, "archive", ref, "fastgmm"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)


def timings(tree, cache_dir, names, quick, cwd):
    """One new process's seconds, with ``tree``'s fastgmm first on the path, run in ``cwd``
    (not the checkout: '' on sys.path would find the checkout's fastgmm first)."""
    script = _TIMINGS.format(benchmarks=HERE, tree=tree, names=list(names), quick=quick)
    environment = dict(os.environ, PYTHONPATH=tree, NUMBA_CACHE_DIR=cache_dir)
    completed = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, cwd=cwd
    )
    if completed.returncode != 0:
        raise SystemExit(f"timing {tree} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git ref to compare with (main)")
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3", "W4", "W2-tied"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factor", type=float, default=1.15, help="flag head/base above this")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        base_tree = os.path.join(folder, "base")
        os.mkdir(base_tree)
        export(args.base, base_tree)
        sides = {"base": base_tree, "head": REPOSITORY}
        caches = {side: os.path.join(folder, f"cache-{side}") for side in sides}
        for side, tree in sides.items():  # compile into each side's cache, untimed
            timings(tree, caches[side], args.workloads, args.quick, folder)
        runs = {side: [] for side in sides}
        for _ in range(args.repeats):
            for side, tree in sides.items():
                runs[side].append(timings(tree, caches[side], args.workloads, args.quick, folder))
    print(f"fastgmm, this tree (head) against {args.base} (base): minimum of {args.repeats}")
    print(f"{'':<24}{'base':>12}{'head':>12}{'head/base':>12}")
    slower = []
    for key in runs["base"][0]:
        base = min(run[key] for run in runs["base"])
        head = min(run[key] for run in runs["head"])
        flag = "  SLOWER" if head > args.factor * base else ""
        if flag:
            slower.append(key)
        print(f"{key:<24}{base:>11.4f}s{head:>11.4f}s{head / base:>11.2f}x{flag}")
    if slower:
        print(f"slower than {args.base} by more than {args.factor}x: {', '.join(slower)}")
        return 1
    print(f"no row slower than {args.base} by more than {args.factor}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
