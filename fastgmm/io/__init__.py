"""Saving fitted models to one file without pickle, loading them back, and converting them to
and from scikit-learn's estimators.

``model.save(path)`` writes a fitted :class:`~fastgmm.GaussianMixture`,
:class:`~fastgmm.BayesianGaussianMixture` or :class:`~fastgmm.GaussianMixtureResult`
to one ``.npz`` file (numpy's zip archive of ``.npy`` arrays) that holds only numbers
and text; :func:`load` reads it back.  Loading never unpickles or runs anything
(``numpy.load(path, allow_pickle=False)`` and ``json``), and checks the whole file
before it builds the model: a damaged, truncated or edited file raises a ``ValueError``
that names what is wrong, a missing one a ``FileNotFoundError``.  A loaded model
predicts bitwise the same as the saved one.

``model.to_sklearn()`` and ``GaussianMixture.from_sklearn(estimator)`` (also
``BayesianGaussianMixture.from_sklearn``) convert fitted models to and from
scikit-learn's estimators; scikit-learn is imported only by these two.

The modules: ``write`` (``save``), ``read`` (``load``), ``checks`` (what loading
checks), ``sklearn`` (the conversions), ``format`` (the names and pieces they share)
and ``registry`` (the model classes by name: ``fastgmm.models`` registers them, so
this layer never imports the estimators; it reads their state and sets their
attributes).

Notes
-----
**The file.**  Any program that reads ``.npz`` files can read it, e.g.
``numpy.load(path, allow_pickle=False)``.  It is written exactly at ``path`` (no
``.npz`` suffix is added) and holds these entries:

``metadata``
    UTF-8 JSON text (strict JSON: no ``NaN`` or ``Infinity`` tokens), stored as a
    1-D ``uint8`` array (a unicode string array is read too).  A JSON object with:

    - ``format``: ``"fastgmm-mixture"``; ``format_version``: 1 (an int);
      ``fastgmm_version``: the version that wrote the file (informative);
    - ``class``: ``"GaussianMixture"``, ``"BayesianGaussianMixture"`` or
      ``"GaussianMixtureResult"``;
    - ``covariance_type`` (of the fitted arrays), ``dtype`` (``"float32"`` or
      ``"float64"``: of the fitted arrays, the dtype of the data the model was fitted
      on), ``n_components`` (K), ``n_features_in_`` (D);
    - ``converged_``, ``n_iter_``, ``lower_bound_``, ``n_degenerate_``;
    - estimators only: ``feature_names_in_`` (a list of str, or null);
      ``parameters``: the constructor parameters that JSON can hold (None, bools,
      numbers, strings, lists of them; numpy arrays as nested lists, listed in
      ``array_parameters`` and loaded back as arrays); ``parameters_not_stored``:
      the names of the others (a ``callback`` function, a ``RandomState`` instance as
      ``random_state``), which a loaded model has at their defaults;
    - ``BayesianGaussianMixture`` only: ``weight_concentration_prior_type`` (of the
      fitted posterior), ``weight_concentration_prior_``, ``mean_precision_prior_``,
      ``degrees_of_freedom_prior_``, ``full_lower_bound_``;
    - ``GaussianMixtureResult`` only: ``log_likelihood``.

    A float that is not finite is written as the string ``"nan"``, ``"inf"`` or
    ``"-inf"`` (``lower_bound_`` is ``"-inf"`` after ``max_iter=0``,
    ``full_lower_bound_`` often ``"nan"``).

``weights_`` (K,), ``means_`` (K, D), ``covariances_``, ``precisions_``, ``precisions_cholesky_``
    In ``dtype``, in scikit-learn's layouts: (K, D, D) for 'full', (D, D) for 'tied',
    (K, D) for 'diag', (K,) for 'spherical'.  A ``GaussianMixtureResult``'s
    ``weights``, ``means``, ... are stored under these names too (``precisions_``
    computed from its factors, for other readers).
``weights_``, ``means_``, ``loadings_`` (K, q, D), ``noise_variance_`` ((K, D), or (K,) for 'ppca')
    Instead of the three dense arrays, for the factor types 'factor' and 'ppca' (whose
    metadata adds ``n_factors``, q, at most D); a ``GaussianMixtureResult``'s
    ``loadings`` and ``noise_variance`` under these names.  The dense arrays are
    computed from them on loading, as after a fit.  Loading checks that every noise
    variance is positive.
``lower_bounds_`` (n,), float64
    The lower bound of every iteration of the best run (n <= ``n_iter_``).

``BayesianGaussianMixture`` adds, all float64: ``weight_concentration_`` ((2, K) for the
Dirichlet process, the pair of scikit-learn's tuple; (K,) otherwise),
``mean_precision_`` (K,), ``degrees_of_freedom_`` ((K,); () for 'tied'), ``mean_prior_``
(D,), ``covariance_prior_`` ((D, D) for 'full' and 'tied', (D,) for 'diag', () for
'spherical'), and ``posterior_means``, ``posterior_covariances``,
``posterior_precisions_cholesky``: the float64 posterior the model scores with
(``means_`` and the others are these in ``dtype``, so they differ from them only after a
float32 fit).

**What loading checks.**  The format name and version; the class; every metadata field
and every array present, nothing else present, each with its type, dtype and shape for
the class, covariance type, K and D; all values finite; weights non-negative and summing
to 1 (within 1e-8 in float64, 2e-6 in float32; or to less than 1 when ``n_iter_`` is 0,
as scikit-learn's initial weights after ``max_iter=0`` may); the precision factors
upper-triangular with a positive diagonal (so every precision is positive definite), the
covariances and precisions symmetric and positive definite up to the rounding of
``dtype``, and the three consistent with each other; for the Bayesian mixture, positive
concentrations and mean precisions, degrees of freedom above D - 1, positive prior
scalars and a positive semi-definite covariance prior (the default one is the data's
covariance, singular for a constant feature), weights that are the posterior's expected
weights, and public arrays that are the posterior's in ``dtype``; and the parameters,
through the estimator's own validation.

**Version policy.**  ``format_version`` changes whenever an entry or field is added,
removed, or changes meaning.  Every fastgmm reads every format version up to its own
(``tests/io/fixtures/`` keeps files of each version, and the tests load them), and refuses newer
versions with a message that says which fastgmm wrote the file.
"""

from .read import load
from .registry import register
from .sklearn import from_sklearn, to_sklearn
from .write import save

__all__ = ["from_sklearn", "load", "register", "save", "to_sklearn"]
