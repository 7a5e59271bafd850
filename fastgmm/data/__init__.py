"""Where the rows come from: data sources, their checks, data files and statistics.

A *source* (``sources.Source``) is what a fit and the scoring methods need of their data,
whatever holds it: ``sources.ArraySource`` for an array in memory or memory-mapped from
a ``.npy`` file, ``dask_source.DaskSource`` for a Dask array.  Each runs the covariance
type's Numba kernel over its rows and returns additive ``statistics.SufficientStatistics``.
``validation`` converts and checks the user's data (and holds the checks of single
values that the layers above build on); ``files`` reads and writes the command line's
data files.  ``make_source``, below, is the layer's entrance: it checks what belongs to
the rows (weights, labels) once and picks the source.

This layer imports ``fastgmm.covariance`` (the kernels' arguments), ``fastgmm._kernels``
through it, and the ground floor; never ``fastgmm.em`` or anything above.
"""

from .dask_source import DaskSource
from .sources import ArraySource
from .validation import check_component_labels, check_sample_weight, is_dask_array


def make_source(
    X,
    covariance,
    n_components,
    sample_weight=None,
    n_jobs=None,
    component_labels=None,
    marginalize=False,
):
    """The ``Source`` of converted data ``X`` (``validation.check_input``), with
    ``sample_weight`` and ``component_labels`` checked against it.

    Cheap: nothing is read or allocated for the data's size until a method
    needs it (with ``marginalize``, one scan for missing values).  ``n_jobs``
    reaches the workers of a Dask cluster; in this process, callers set the
    thread count (``_threads.thread_limit``).  ``component_labels``: known
    components of rows (-1: unlabelled), or None.  ``marginalize``: NaN in ``X``
    are missing values (``missing_values='marginalize'``).
    """
    component_labels = check_component_labels(component_labels, X.shape[0], n_components)
    if is_dask_array(X):
        return DaskSource(
            X, covariance, n_components, sample_weight, n_jobs, component_labels, marginalize
        )
    sample_weight = check_sample_weight(sample_weight, X.shape[0], n_components)
    return ArraySource(
        X,
        covariance,
        n_components,
        sample_weight,
        component_labels=component_labels,
        marginalize=marginalize,
    )
