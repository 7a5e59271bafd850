"""Where one pass of the complete-data kernel spends its time, stage by stage, on 1 thread.

    python benchmarks/stages.py [W1 W3 ...] [--dtype float32] [--repeats 7]
    python benchmarks/stages.py --factor [--dtype float32]

For each workload (benchmarks/README.md) with a 'full', 'diag' or 'spherical' kernel, the
parameters of a short fit (10 EM iterations from ``random_from_data``) are handed to a copy
of the kernel's statistics pass (``run_pass``'s block loop, calling the kernel's own block
functions) that stops after a given stage of each 256-row block.  Each stage's time is the
pass stopped after it less the pass stopped before it, so every stage works on the real
blocks and their real responsibilities:

- ``transpose``: reading the rows, transposed to features x rows (``_common.transpose_block``);
- ``log-densities``: the K weighted log-densities (``_log_prob_block``);
- ``E-step``: responsibilities and log p(x) (``_common.e_step_block``);
- ``moments``: zeroth, first and second moments (``_accumulate_block``);
- ``run_pass``: the kernel's own pass as fitting runs it, on 1 thread (about the sum).

Times are the minimum of ``--repeats`` runs, JIT warm, in milliseconds.  A stage's time is
a difference of two such minimums, so a stage much smaller than the ones before it is
within the machine's noise (time such a stage on its own before drawing conclusions).

``--factor`` times instead one pass of the mixtures-of-factor-analysers kernel
(``_kernels/factor.py``) against the 'full' kernel evaluating the same mixture on the same
data (200,000 x 256, K = 10, q = 8: the planned workload W5).

With ``W1`` the script also times a row-at-a-time body for D = 2 and K = 3, every
component unrolled and every sum in a register (``_w1_row_body``), the layout tried for
small D against the kernels' component-major blocks.  It computes the same statistics as
``run_pass`` (checked here to 1e-9) and measures 2.4x slower on the development machine of
benchmarks/README.md, so the kernels keep their blocks.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastgmm import GaussianMixture  # noqa: E402
from fastgmm._kernels import _common, diag, full  # noqa: E402
from fastgmm._kernels import factor as factor_kernels  # noqa: E402
from fastgmm._kernels._math import exp_nonpositive, log_positive  # noqa: E402
from fastgmm._kernels._options import BLOCK_ROWS, NJIT_OPTIONS  # noqa: E402
from fastgmm.covariance import COVARIANCE_TYPES, factor, kernel_arguments  # noqa: E402

import workloads  # noqa: E402

_OPTIONS = dict(NJIT_OPTIONS, cache=False)
_EMPTY_FLOAT = np.empty(0)
_EMPTY_LABELS = np.empty(0, dtype=np.int64)
_EMPTY_RESP = np.empty((0, 0))
KERNELS = {"full": full, "diag": diag, "spherical": diag}
STAGES = ("transpose", "log-densities", "E-step", "moments")


@njit(**_OPTIONS)
def _e_step(log_prob, start, n_rows, row_stats, empty_float, empty_labels, empty_resp):
    return _common.e_step_block(
        _common.STATISTICS,
        log_prob,
        start,
        n_rows,
        row_stats,
        empty_float,
        empty_labels,
        empty_float,
        empty_resp,
        empty_labels,
    )


@njit(**_OPTIONS)
def _full_pass(n_stages, X, means, precisions, log_const, accumulators, empty):
    """``full.run_pass`` (statistics, one chunk), stopped after ``n_stages`` stages per block."""
    x_t, diff_t, weighted, y, mahalanobis, log_prob, row_stats, rows = _common.block_workspace(
        X, means.shape[0]
    )
    resp_sum, sum_diff, sum_sq = accumulators
    total = 0.0
    for start in range(0, X.shape[0], BLOCK_ROWS):
        n_rows = min(BLOCK_ROWS, X.shape[0] - start)
        _common.transpose_block(X, start, n_rows, x_t)
        if n_stages >= 2:
            full._log_prob_block(
                x_t, n_rows, means, precisions, log_const, diff_t, y[0], y[1], mahalanobis, log_prob
            )
        if n_stages >= 3:
            total += _e_step(log_prob, start, n_rows, row_stats, *empty)
        if n_stages >= 4:
            full._accumulate_block(
                x_t, n_rows, means, log_prob, diff_t, weighted, rows, resp_sum, sum_diff, sum_sq
            )
    return total


@njit(**_OPTIONS)
def _diag_pass(n_stages, X, means, precisions, log_const, accumulators, empty):
    """``diag.run_pass`` (statistics, one chunk), stopped after ``n_stages`` stages per block."""
    x_t, _, _, _, mahalanobis, log_prob, row_stats, rows = _common.block_workspace(
        X, means.shape[0]
    )
    resp_sum, sum_diff, sum_sq = accumulators
    total = 0.0
    for start in range(0, X.shape[0], BLOCK_ROWS):
        n_rows = min(BLOCK_ROWS, X.shape[0] - start)
        _common.transpose_block(X, start, n_rows, x_t)
        if n_stages >= 2:
            diag._log_prob_block(x_t, n_rows, means, precisions, log_const, mahalanobis, log_prob)
        if n_stages >= 3:
            total += _e_step(log_prob, start, n_rows, row_stats, *empty)
        if n_stages >= 4:
            diag._accumulate_block(x_t, n_rows, means, log_prob, rows, resp_sum, sum_diff, sum_sq)
    return total


_STAGED_PASSES = {full: _full_pass, diag: _diag_pass}


@njit(**_OPTIONS)
def _w1_row_body(X, means, precisions, log_const):
    """One statistics pass for D = 2, K = 3, a row at a time: returns
    (log-likelihood, resp_sum (3), sum_diff (3 x 2), sum_sq's lower triangles (3 x 3))."""
    m00, m01, m10, m11, m20, m21 = (
        means[0, 0], means[0, 1], means[1, 0], means[1, 1], means[2, 0], means[2, 1]
    )  # fmt: skip
    a0, b0, c0 = precisions[0, 0, 0], precisions[0, 1, 0], precisions[0, 1, 1]
    a1, b1, c1 = precisions[1, 0, 0], precisions[1, 1, 0], precisions[1, 1, 1]
    a2, b2, c2 = precisions[2, 0, 0], precisions[2, 1, 0], precisions[2, 1, 1]
    k0, k1, k2 = log_const[0], log_const[1], log_const[2]
    total = s0 = s1 = s2 = 0.0
    f00 = f01 = f10 = f11 = f20 = f21 = 0.0
    q000 = q010 = q011 = q100 = q110 = q111 = q200 = q210 = q211 = 0.0
    for i in range(X.shape[0]):
        x0, x1 = X[i, 0], X[i, 1]
        d00, d01, d10, d11, d20, d21 = x0 - m00, x1 - m01, x0 - m10, x1 - m11, x0 - m20, x1 - m21
        y, z = a0 * d00, b0 * d00 + c0 * d01
        l0 = k0 - 0.5 * (y * y + z * z)
        y, z = a1 * d10, b1 * d10 + c1 * d11
        l1 = k1 - 0.5 * (y * y + z * z)
        y, z = a2 * d20, b2 * d20 + c2 * d21
        l2 = k2 - 0.5 * (y * y + z * z)
        m = max(l0, max(l1, l2))
        e0, e1, e2 = exp_nonpositive(l0 - m), exp_nonpositive(l1 - m), exp_nonpositive(l2 - m)
        s = e0 + e1 + e2
        total += m + log_positive(s)
        inverse = 1.0 / s
        r0, r1, r2 = e0 * inverse, e1 * inverse, e2 * inverse
        s0 += r0
        s1 += r1
        s2 += r2
        w, v = r0 * d00, r0 * d01
        f00, f01 = f00 + w, f01 + v
        q000, q010, q011 = q000 + w * d00, q010 + v * d00, q011 + v * d01
        w, v = r1 * d10, r1 * d11
        f10, f11 = f10 + w, f11 + v
        q100, q110, q111 = q100 + w * d10, q110 + v * d10, q111 + v * d11
        w, v = r2 * d20, r2 * d21
        f20, f21 = f20 + w, f21 + v
        q200, q210, q211 = q200 + w * d20, q210 + v * d20, q211 + v * d21
    resp_sum = np.array([s0, s1, s2])
    sum_diff = np.array([[f00, f01], [f10, f11], [f20, f21]])
    lower = np.array([[q000, q010, q011], [q100, q110, q111], [q200, q210, q211]])
    return total, resp_sum, sum_diff, lower


def _best_ms(run, repeats):
    run()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def _kernel_inputs(name, dtype):
    n_samples, n_features, n_components, covariance_type = workloads.workload(name)
    X = workloads.make_data(n_samples, n_features, n_components, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            init_params="random_from_data",
            max_iter=10,
            random_state=0,
        ).fit(X)
    covariance = COVARIANCE_TYPES[covariance_type]
    means, precisions, log_const = kernel_arguments(
        covariance, np.log(model.weights_), model.means_, model.precisions_cholesky_, X.dtype
    )
    return X, covariance_type, means, precisions, log_const


def _run_pass(kernel, X, means, precisions, log_const):
    n_components, n_features = means.shape
    sum_sq_shape = (1, n_components, n_features, n_features)
    if kernel is diag:
        sum_sq_shape = (1, n_components, n_features)
    slots = (
        np.zeros((1, n_components)),
        np.zeros((1, n_components, n_features)),
        np.zeros(sum_sq_shape),
        np.zeros(1),
    )
    kernel.run_pass(
        _common.STATISTICS, X, _EMPTY_FLOAT, _EMPTY_LABELS, means, precisions, log_const, 1,
        *slots, _EMPTY_FLOAT, _EMPTY_RESP, _EMPTY_LABELS, 0, 1,
    )  # fmt: skip
    return slots


def stage_times(name, dtype, repeats):
    """Milliseconds per stage of one statistics pass over workload ``name``'s data, 1 thread."""
    X, covariance_type, means, precisions, log_const = _kernel_inputs(name, dtype)
    kernel = KERNELS[covariance_type]
    staged_pass = _STAGED_PASSES[kernel]
    slots = _run_pass(kernel, X, means, precisions, log_const)
    accumulators = tuple(np.zeros_like(slot[0]) for slot in slots[:3])
    empty = (_EMPTY_FLOAT, _EMPTY_LABELS, _EMPTY_RESP)
    log_likelihood = staged_pass(len(STAGES), X, means, precisions, log_const, accumulators, empty)
    rtol = 1e-9 if X.dtype == np.float64 else 1e-5  # the copy computes what run_pass does
    np.testing.assert_allclose(log_likelihood, slots[3][0], rtol=rtol)
    np.testing.assert_allclose(accumulators[0], slots[0][0], rtol=rtol)
    times, before = {}, 0.0
    for n_stages, stage in enumerate(STAGES, start=1):
        upto = _best_ms(
            lambda n_stages=n_stages: staged_pass(
                n_stages, X, means, precisions, log_const, accumulators, empty
            ),
            repeats,
        )
        times[stage], before = upto - before, upto
    times["run_pass"] = _best_ms(
        lambda: _run_pass(kernel, X, means, precisions, log_const), repeats
    )
    if name == "W1":
        total, resp_sum, sum_diff, lower = _w1_row_body(X, means, precisions, log_const)
        resp_sum_k, sum_diff_k, sum_sq_k, log_likelihood_k = slots
        rtol = 1e-9 if X.dtype == np.float64 else 1e-3
        np.testing.assert_allclose(resp_sum, resp_sum_k[0], rtol=rtol)
        np.testing.assert_allclose(sum_diff, sum_diff_k[0], rtol=rtol, atol=rtol * X.shape[0])
        np.testing.assert_allclose(total, log_likelihood_k[0], rtol=rtol)
        rows_lower, columns_lower = np.tril_indices(2)
        np.testing.assert_allclose(
            lower, sum_sq_k[0][:, rows_lower, columns_lower], rtol=rtol, atol=rtol * X.shape[0]
        )
        times["row-at-a-time body"] = _best_ms(
            lambda: _w1_row_body(X, means, precisions, log_const), repeats
        )
    return times


# Data shaped like the workload W5 of mixtures of factor analysers (``workloads.py``):
# (n_samples, n_features, n_components, n_factors); tiny with FASTGMM_BENCH_QUICK.
FACTOR_SHAPE = (200_000, 256, 10, 8)
QUICK_FACTOR_SHAPE = (3_000, 20, 4, 3)


def factor_against_full(dtype, repeats):
    """Milliseconds of one statistics pass, 1 thread, of the factor-analyser kernel and of
    the 'full' kernel evaluating the same mixture (its covariances W W^T + Psi assembled) on
    the same blobs; and the two passes' log-likelihoods, which must agree."""
    n_samples, n_features, n_components, n_factors = (
        QUICK_FACTOR_SHAPE if workloads.QUICK else FACTOR_SHAPE
    )
    X = workloads.make_data(n_samples, n_features, n_components, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(
            n_components, covariance_type="diag", max_iter=3, random_state=0
        ).fit(X)
    rng = np.random.default_rng(0)
    loadings = rng.normal(scale=0.3, size=(n_components, n_factors, n_features))
    log_weights = np.log(model.weights_)
    means, factors, log_const = factor.kernel_arguments(
        log_weights, model.means_, loadings, model.covariances_, X.dtype
    )
    slots = (
        np.zeros((1, n_components)),
        np.zeros((1, n_components, n_features)),
        np.zeros((1, *factor.statistics_shape(n_components, n_features, n_factors))),
        np.zeros(1),
    )

    def run_factor():
        factor_kernels.run_pass(
            _common.STATISTICS, X, _EMPTY_FLOAT, _EMPTY_LABELS, means, factors, log_const, 1,
            *slots, _EMPTY_FLOAT, _EMPTY_RESP, _EMPTY_LABELS, 0, 1,
        )  # fmt: skip

    covariances = np.einsum("kja,kjb->kab", loadings, loadings) + np.stack(
        [np.diag(variances) for variances in model.covariances_]
    )
    full_type = COVARIANCE_TYPES["full"]
    full_arguments = kernel_arguments(
        full_type, log_weights, model.means_, full_type.precisions_cholesky(covariances), X.dtype
    )
    times = {
        "factor pass": _best_ms(run_factor, repeats),
        "full pass": _best_ms(lambda: _run_pass(full, X, *full_arguments), repeats),
    }
    log_likelihoods = (slots[3][0], _run_pass(full, X, *full_arguments)[3][0])
    return times, log_likelihoods


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = [name for name, spec in workloads.WORKLOADS.items() if spec[3] in KERNELS]
    parser.add_argument("workloads", nargs="*", help=f"any of {names} (default: all)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--factor", action="store_true", help="the factor-analyser pass against 'full' instead"
    )
    args = parser.parse_args(argv)
    if args.factor:
        times, _ = factor_against_full(np.dtype(args.dtype), args.repeats)
        shape = QUICK_FACTOR_SHAPE if workloads.QUICK else FACTOR_SHAPE
        print(
            f"N, D, K, q = {shape}, {args.dtype}, 1 thread, min of {args.repeats}: "
            + ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in times.items())
            + f"; full / factor = {times['full pass'] / times['factor pass']:.1f}"
        )
        return
    unknown = sorted(set(args.workloads) - set(names))
    if unknown:
        parser.error(f"unknown workloads {unknown}: choose from {names}")
    print(f"ms per pass, 1 thread, {args.dtype}, min of {args.repeats}", flush=True)
    for name in args.workloads or names:
        times = stage_times(name, np.dtype(args.dtype), args.repeats)
        print(f"{name:<14}" + "  ".join(f"{stage} {ms:.2f}" for stage, ms in times.items()))


if __name__ == "__main__":
    main()
