"""Where a first fit's time goes on an empty Numba cache: the compile seconds of each kernel.

    python benchmarks/compile_times.py [--covariance-types full ...] [--dtypes float64 ...]
                                       [--missing-values] [--json]

A new Python process with an empty ``NUMBA_CACHE_DIR`` imports fastgmm and, for each
covariance type and dtype, runs ``GaussianMixture(3).fit`` on 2,000 x 3 rows (with
``--missing-values``: 10% of them NaN, ``missing_values='marginalize'``) and then the first
``predict``, while ``numba.core.event`` records every "numba:compile" event.  The table
gives each compiled function (by module and name; one row per signature) in the order
it compiled: the phase that compiled it (``fit`` or ``predict``), its own seconds (the
compile less the compiles of the helpers it called for the first time, nested inside
it), and its seconds with those helpers.  The last rows give each phase's wall time,
of which the compiles' own seconds are most.  Cold compiles are slow and steady: one
run is enough.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = """
import json, time
start = time.perf_counter()
import numpy as np
from numba.core import event
import fastgmm
import_seconds = time.perf_counter() - start

X = np.random.default_rng(0).normal(size=(2000, 3))
if {missing_values!r}:
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
options = {{"missing_values": "marginalize"}} if {missing_values!r} else {{}}
events, walls = [], {{"import": import_seconds}}
for dtype in {dtypes!r}:
    for covariance_type in {covariance_types!r}:
        model = fastgmm.GaussianMixture(
            3, covariance_type=covariance_type, random_state=0, **options
        )
        for phase, run in (
            ("fit", lambda: model.fit(X.astype(dtype))),
            ("predict", lambda: model.predict(X.astype(dtype))),
        ):
            with event.install_recorder("numba:compile") as recorder:
                start = time.perf_counter()
                run()
                walls[phase] = walls.get(phase, 0.0) + time.perf_counter() - start
            for stamp, ev in recorder.buffer:
                dispatcher = ev.data["dispatcher"]
                name = dispatcher.py_func.__module__ + "." + dispatcher.py_func.__qualname__
                events.append((stamp, ev.is_start, name, str(ev.data["args"]), phase))
print(json.dumps({{"events": events, "walls": walls}}))
"""


def record(covariance_types, dtypes, missing_values):
    """The compile events and phase wall times of one new process with an empty cache."""
    script = _CHILD.format(
        covariance_types=list(covariance_types), dtypes=list(dtypes), missing_values=missing_values
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-c", script],
            env=dict(os.environ, NUMBA_CACHE_DIR=cache_dir),
            capture_output=True,
            text=True,
            cwd=cache_dir,  # not a checkout: the installed (or PYTHONPATH's) fastgmm
        )
        process_seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"the timed process failed:\n{completed.stderr}")
    result = json.loads(completed.stdout.splitlines()[-1])
    result["walls"]["process"] = process_seconds
    return result


def compile_table(events):
    """``[(name, args, phase, own seconds, seconds with nested compiles)]`` in the order the
    compiles started, from a recording's START and END events (nested, as a stack)."""
    rows, stack = [], []
    for stamp, is_start, name, args, phase in events:
        if is_start:
            stack.append([name, args, phase, stamp, 0.0])
            continue
        name, args, phase, started, nested = stack.pop()
        total = stamp - started
        if stack:
            stack[-1][4] += total
        rows.append((started, name, args, phase, total - nested, total))
    return [row[1:] for row in sorted(rows)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--covariance-types", nargs="+", default=["full"])
    parser.add_argument("--dtypes", nargs="+", default=["float64"])
    parser.add_argument("--missing-values", action="store_true")
    parser.add_argument("--json", action="store_true", help="the rows as JSON")
    args = parser.parse_args(argv)
    result = record(args.covariance_types, args.dtypes, args.missing_values)
    rows = compile_table(result["events"])
    if args.json:
        print(json.dumps({"compiles": rows, "walls": result["walls"]}, indent=1))
        return 0
    print(f"{'compiled function (signature)':<64}{'phase':>8}{'own s':>9}{'with nested':>13}")
    for name, signature, phase, own, total in rows:
        described = f"{name.removeprefix('fastgmm.')} {signature}"[:62]
        print(f"{described:<64}{phase:>8}{own:>9.2f}{total:>13.2f}")
    for phase in ("fit", "predict"):
        own = sum(row[3] for row in rows if row[2] == phase)
        print(f"{'all compiles of the ' + phase:<64}{phase:>8}{own:>9.2f}")
    for label, seconds in result["walls"].items():
        print(f"{'wall time: ' + label:<64}{'':>8}{seconds:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
