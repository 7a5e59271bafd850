"""Dask arrays: EM as one kernel task per row chunk and a tree of additions.

Each EM iteration builds a small graph: one task per row chunk runs the
covariance type's fused ``statistics`` kernel on that chunk (through an
``ArraySource``, exactly as an in-memory fit does) and returns the chunk's
``SufficientStatistics``; they are added in chunk order by a tree of tasks
(``TREE_FAN_IN`` children each: ``sum`` of delayed values would be a linear
chain, thousands of tasks deep), and only the
total (K x D x D numbers) reaches the client, which runs the M-step.  Chunk
order and tree shape depend only on the chunking, so the result does not
depend on the scheduler or on the number of workers and threads.  The graph
runs on any scheduler: synchronous, threads, or a ``dask.distributed`` cluster.

Traps avoided:

- dask is imported only once a Dask array is seen
  (``validation.is_dask_array`` reads ``sys.modules``): fastgmm imports
  without it.
- A Dask nanny limits BLAS threads, not Numba's (dask/distributed#9075): a
  task runs its kernel with as many Numba threads as its worker has Dask
  threads (or ``n_jobs``); tasks on several threads of one worker launch
  their kernels through ``_threads.launch`` like every other fastgmm call.
- The data is persisted once, when it fits in the cluster's memory, so the
  iterations do not recompute (or re-read) it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from .._threads import resolve_n_jobs, thread_limit
from . import validation
from .sources import (
    SCORE_OUTPUTS,
    ArraySource,
    check_observed_features,
    fill_missing,
    initialisation_rows,
    score_rows,
)
from .statistics import with_variances

# persist='auto' keeps the data in the cluster's memory when it takes at most
# this fraction of it (all workers' memory limits, or this machine's available
# memory for the local schedulers).
PERSIST_MEMORY_FRACTION = 0.5


def worker_threads(n_jobs):
    """Numba threads for a task: ``n_jobs``'s, else its distributed worker's thread count."""
    if n_jobs is not None:
        return resolve_n_jobs(n_jobs)
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not running on a distributed worker
        return None
    return worker.state.nthreads


def kernel_slot(n_jobs):
    """A context in which a task runs its kernel with ``worker_threads(n_jobs)`` Numba threads."""
    return thread_limit(worker_threads(n_jobs))


def _chunk_statistics(
    block, sample_weight, labels, marginalize, covariance, n_components, n_jobs, parameters
):
    """The statistics of one row chunk (a Dask task)."""
    source = ArraySource(
        np.ascontiguousarray(block),
        covariance,
        n_components,
        sample_weight,
        component_labels=labels,
        marginalize=marginalize,
    )
    with kernel_slot(n_jobs):
        return source.statistics(*parameters)


# Partial statistics added by one task of the reduction tree: few levels (each
# level costs a round of transfers between workers), never a linear chain.
TREE_FAN_IN = 8


def _sum_in_order(*values):
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def tree_sum(values, fan_in=TREE_FAN_IN):
    """Delayed sum of delayed ``values``: groups of ``fan_in`` added in order, level by level."""
    import dask

    add = dask.delayed(_sum_in_order, pure=True)
    while len(values) > 1:
        values = [add(*values[i : i + fan_in]) for i in range(0, len(values), fan_in)]
    return values[0]


class DaskSource:
    """A Dask array (validated by ``check_dask_data``) and optional weights: a ``Source``.

    Made by ``fastgmm.data.make_source``; ``sample_weight`` may be anything
    ``check_sample_weight`` takes, or a Dask vector.
    """

    def __init__(
        self,
        X,
        covariance,
        n_components,
        sample_weight=None,
        n_jobs=None,
        component_labels=None,
        marginalize=False,
    ):
        self.X = X
        self.covariance = covariance
        self.n_components = n_components
        self.n_jobs = n_jobs
        self.sample_weight, self.total_weight = validation.check_dask_sample_weight(
            sample_weight, X, n_components
        )
        self.component_labels = component_labels  # numpy (checked), or None
        self.marginalize = marginalize
        self.has_missing = False  # found by prepare_fit
        self._feature_moments = None

    def prepare_fit(self, persist):
        """Persist the data for the passes of a fit, then check its values once (and with
        ``marginalize``, find the missing values and the weight of the rows without any
        observed value, which the total weight leaves out).

        ``persist``: True, False or 'auto' (persist when the data take at most
        ``PERSIST_MEMORY_FRACTION`` of the memory available to the scheduler).
        """
        if persist == "auto":
            persist = self.X.nbytes <= PERSIST_MEMORY_FRACTION * _memory_available()
        if persist:
            self.X = self.X.persist()
        validation.check_dask_finite(self.X, allow_nan=self.marginalize)
        if self.marginalize:
            import dask
            import dask.array as da

            missing = da.isnan(self.X)
            empty = missing.all(axis=1)
            observed = ~missing
            if self.sample_weight is not None:
                empty = empty * self.sample_weight
                observed = observed * self.sample_weight[:, None]
            n_missing, empty_weight, observed_weight = dask.compute(
                missing.sum(), empty.sum(), observed.sum(axis=0)
            )
            self.has_missing = bool(n_missing)
            if self.has_missing:
                check_observed_features(observed_weight)
                self.total_weight -= float(empty_weight)

    def _label_blocks(self):
        if self.component_labels is None:
            return [None] * self.X.numblocks[0]
        bounds = np.cumsum((0,) + self.X.chunks[0])
        return [self.component_labels[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def dtype(self):
        return self.X.dtype

    def _weight_blocks(self):
        if self.sample_weight is None:
            return [None] * self.X.numblocks[0]
        return list(self.sample_weight.to_delayed().ravel())

    def statistics(self, log_weights, means, precisions_cholesky):
        """One EM pass: a kernel task per chunk, a tree of additions, one small result."""
        import dask

        parameters = dask.delayed((log_weights, means, precisions_cholesky), traverse=False)
        task = dask.delayed(_chunk_statistics, pure=True)
        parts = [
            task(
                block,
                weight,
                labels,
                self.has_missing,
                self.covariance,
                self.n_components,
                self.n_jobs,
                parameters,
            )
            for block, weight, labels in zip(
                self.X.to_delayed().ravel(), self._weight_blocks(), self._label_blocks()
            )
        ]
        (statistics,) = dask.compute(tree_sum(parts))
        return statistics

    def feature_moments(self):
        """Per-feature (weighted) mean and variance, float64 (one Dask computation), of the
        observed values when some are missing."""
        if self._feature_moments is None:
            import dask
            import dask.array as da

            X = self.X
            weights = 1.0 if self.sample_weight is None else self.sample_weight[:, None]
            if self.has_missing:
                weights = weights * ~da.isnan(X)
                X = da.where(da.isnan(X), 0.0, X)
            total = (weights * da.ones_like(X, dtype=np.float64)).sum(axis=0)
            mean = (weights * X).sum(axis=0, dtype=np.float64) / total
            variance = (weights * (X - mean) ** 2).sum(axis=0) / total
            self._feature_moments = tuple(
                np.asarray(a, dtype=np.float64) for a in dask.compute(mean, variance)
            )
        return self._feature_moments

    def feature_covariance(self):
        """(Weighted) covariance matrix of the features over the total weight (computed now;
        with missing values as ``ArraySource.feature_covariance``)."""
        import dask
        import dask.array as da

        mean, variance = self.feature_moments()
        centred = self.X - mean
        if self.has_missing:  # as ArraySource.feature_covariance
            centred = da.where(da.isnan(centred), 0.0, centred)
        weighted = centred if self.sample_weight is None else centred * self.sample_weight[:, None]
        (scatter,) = dask.compute(weighted.T @ centred)
        covariance = np.asarray(scatter, dtype=np.float64) / self.total_weight
        return with_variances(covariance, variance) if self.has_missing else covariance

    def minibatches(self, batch_size, random_state):
        """One pass in a random order: the row chunks in a random order, each computed and
        cut into in-memory ``ArraySource`` batches of ``batch_size`` of its rows, drawn in a
        random order (``ArraySource.minibatches``); with ``batch_size >= n_samples``, this
        source itself."""
        import dask

        if batch_size >= self.n_samples:
            yield self
            return
        blocks = self.X.to_delayed().ravel()
        weights, labels = self._weight_blocks(), self._label_blocks()
        for b in random_state.permutation(len(blocks)):
            block, weight = dask.compute(blocks[b], weights[b])
            chunk = ArraySource(
                np.ascontiguousarray(block),
                self.covariance,
                self.n_components,
                None if weight is None else np.asarray(weight, dtype=np.float64),
                component_labels=labels[b],
                marginalize=self.has_missing,
            )
            yield from chunk.minibatches(batch_size, random_state)

    def initialisation_data(self, random_state, n_components):
        """A row sample (``row_sample``), or all rows if there are few, as numpy arrays:
        ``(X, sample_weight, component_labels)``, X's missing values filled with their
        features' observed means."""
        import dask

        X, weights, labels = self.X, self.sample_weight, self.component_labels
        indices = initialisation_rows(
            self.n_samples, self.X.shape[1], n_components, labels, random_state
        )
        if indices is not None:
            X = X[indices]
            weights = None if weights is None else weights[indices]
            labels = None if labels is None else labels[indices]
        X, weights = dask.compute(X, weights)
        X = np.ascontiguousarray(X)
        if self.has_missing:
            X = fill_missing(X, self.feature_moments()[0])
        return X, weights, labels

    def total_log_likelihood(self, log_weights, means, precisions_cholesky):
        """``sum_i w_i log p(x_i)`` under the given parameters (computed now)."""
        import dask.array as da

        log_prob = self.score_rows(log_weights, means, precisions_cholesky, "log_prob_norm")
        if self.sample_weight is not None:
            log_prob = self.sample_weight * da.where(self.sample_weight > 0, log_prob, 0.0)
        return float(log_prob.sum().compute())

    def score_rows(self, log_weights, means, precisions_cholesky, output, out=None):
        """``output`` of ``SCORE_OUTPUTS`` as a lazy Dask array chunked as X's rows.

        A chunk holding NaN or infinity makes the computation raise ValueError.
        """
        if out is not None:
            raise ValueError(
                "out cannot be used with Dask input: the result is a lazy Dask array "
                "(write it with its store/to_zarr/to_npy_stack methods)."
            )
        dtype, per_component = SCORE_OUTPUTS[output]
        if per_component:
            layout = dict(chunks=(self.X.chunks[0], (means.shape[0],)))
        else:
            layout = dict(drop_axis=1)
        meta = np.empty((0,) * (1 + per_component), dtype=dtype)
        return self.X.map_blocks(
            _score_block,
            self.covariance,
            log_weights,
            means,
            precisions_cholesky,
            self.n_jobs,
            output,
            self.marginalize,
            dtype=dtype,
            meta=meta,
            **layout,
        )


def _memory_available():
    """Bytes of memory the current scheduler can hold data in (0 if unknown)."""
    client = _active_client()
    if client is not None:
        info = client.scheduler_info()
        # Older versions of distributed have no total; newer ones may list only some workers.
        return info.get("total_memory") or sum(
            worker.get("memory_limit") or 0 for worker in info["workers"].values()
        )
    try:
        import psutil  # a dependency of dask.distributed, not of dask

        return psutil.virtual_memory().available
    except ImportError:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 0


def _active_client():
    """The ``distributed.Client`` that Dask computes on by default now, or None."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    import dask.base

    client = getattr(dask.base.get_scheduler(), "__self__", None)
    return client if isinstance(client, distributed.Client) else None


def _score_block(
    block, covariance, log_weights, means, precisions_cholesky, n_jobs, output, marginalize
):
    """One output of ``score_rows`` for one chunk (a Dask task); checks the chunk's values
    (NaN are missing values with ``marginalize``)."""
    block = validation.check_data(block, allow_nan=marginalize)
    with kernel_slot(n_jobs):
        (result,) = score_rows(
            covariance,
            block,
            log_weights,
            means,
            precisions_cholesky,
            marginalize=marginalize and bool(np.isnan(block).any()),
            **{output: True},
        )
    return result


def dask_array_from_npy(path: str | os.PathLike[str], rows_per_chunk: int = 1_000_000) -> Any:
    """A Dask array of a ``.npy`` file, each row chunk read from the file by its own task.

    Only the path goes into the graph (wrapping ``np.load(path, mmap_mode='r')``
    in ``da.from_array`` would put the whole array there), so every worker
    must see the file at the same path (a shared or copied file system).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` file.
    rows_per_chunk : int, default=1_000_000
        Rows of each chunk (the last one may have fewer).

    Returns
    -------
    dask.array.Array
        Of the file's shape and dtype, chunked in whole rows.
    """
    import dask
    import dask.array as da

    rows_per_chunk = validation.check_positive_int(rows_per_chunk, "rows_per_chunk")
    path = os.path.abspath(os.fspath(path))
    header = validation.open_npy(path, name="path")
    n_samples, row_shape, dtype = header.shape[0], header.shape[1:], header.dtype
    del header
    read = dask.delayed(_read_rows, pure=True)
    chunks = [
        da.from_delayed(
            read(path, start, min(start + rows_per_chunk, n_samples)),
            shape=(min(rows_per_chunk, n_samples - start),) + row_shape,
            dtype=dtype,
        )
        for start in range(0, n_samples, rows_per_chunk)
    ]
    return da.concatenate(chunks, axis=0)


def _read_rows(path, start, stop):
    """Rows ``start:stop`` of a .npy file, read into memory (a Dask task)."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])
