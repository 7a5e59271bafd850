"""What the mixture estimators share: scikit-learn's estimator protocol, and scoring
through the data's ``Source`` with the fitted model's kernel parameters.

A subclass sets the fitted attributes (``_set_fitted_mixture``) and says which
per-component constants the kernels add to the log-densities
(``_fitted_parameters``): log pi_k for ``GaussianMixture``, the expected log
weights and their companions for ``BayesianGaussianMixture``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .._threads import thread_limit
from ..covariance import FACTOR_TYPES, covariance_type
from ..data import make_source, validation
from ..data.sources import impute_rows
from ..em import options
from ..exceptions import NotFittedError
from ..io import from_sklearn, save, to_sklearn

if TYPE_CHECKING:
    import os

    from numpy.typing import ArrayLike

    from .._typing import Data, RandomState, SampleWeight

_Mixture = TypeVar("_Mixture", bound="MixtureBase")

# scikit-learn's ConvergenceWarning text (its tests match it).
NOT_CONVERGED = (
    "Best performing initialization did not converge. Try different init "
    "parameters, or increase max_iter, tol, or check for degenerate data."
)


# Every fitted attribute that describes the covariances, of any covariance type.
COVARIANCE_ARRAYS = (
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "loadings_",
    "noise_variance_",
)


class DenseFromFactors:
    """A fitted factor model's ``covariances_``, ``precisions_`` or ``precisions_cholesky_``
    in the 'full' layout (n_components, n_features, n_features), computed when first read
    (from ``loadings_`` and ``noise_variance_``) and then kept.

    Only a default: the other covariance types store these attributes on the instance,
    which takes precedence over this (non-data) descriptor.
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, model, owner=None):
        if model is None:
            return self
        if "loadings_" not in vars(model):
            raise AttributeError(f"{type(model).__name__!r} object has no attribute {self.name!r}")
        covariance = model._fitted_covariance()
        covariances, _ = model._loop_parameters()
        for name, array in covariance.dense_arrays(covariances).items():
            vars(model)[name] = array.astype(model.means_.dtype)
        return vars(model)[self.name]


class MixtureBase:
    """Base of fastgmm's mixture estimators (not public)."""

    covariances_ = DenseFromFactors()
    precisions_ = DenseFromFactors()
    precisions_cholesky_ = DenseFromFactors()

    # -- scikit-learn estimator protocol -------------------------------------------------

    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(name for name in signature.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters of this estimator, as a dict."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> MixtureBase:
        """Set constructor parameters; returns ``self``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _is_default(value, defaults[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so scikit-learn is installed when it runs.
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False))

    def fit_predict(self, X: Data, y: Any = None, sample_weight: SampleWeight = None) -> Any:
        """Fit the model and return the component label of every row of ``X``.

        Equal to ``fit(X, sample_weight=sample_weight).predict(X)``.

        Returns
        -------
        labels : ndarray of shape (n_samples,) (a lazy Dask array for Dask input)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _set_fitted_mixture(
        self,
        covariance,
        dtype,
        n_features,
        feature_names,
        weights,
        means,
        covariances,
        precisions_cholesky,
        run,
    ):
        """The attributes every fitted mixture has (float64 arrays stored in ``dtype``)."""
        for name in COVARIANCE_ARRAYS:  # a previous fit's, of another covariance type
            vars(self).pop(name, None)
        self.weights_ = weights.astype(dtype)
        self.means_ = means.astype(dtype)
        for name, array in covariance.fitted_arrays(covariances, precisions_cholesky).items():
            setattr(self, name, array.astype(dtype))
        self.converged_ = run.converged
        self.n_iter_ = run.n_iter
        self.lower_bound_ = float(run.lower_bound)
        self.lower_bounds_ = [float(b) for b in run.lower_bounds]
        self.n_degenerate_ = run.n_degenerate
        self.n_features_in_ = n_features
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        # The layout of the fitted arrays, even if covariance_type is set anew later.
        self._fitted_covariance_type = covariance.name

    def _check_warm_start(self, n_features):
        """ValueError unless the fitted model has this fit's type and shapes (warm_start)."""
        fitted_factors, wanted_factors = self._fitted_and_wanted_factors()
        fitted = (self._fitted_covariance_type, self.means_.shape, *fitted_factors)
        wanted = (self.covariance_type, (self.n_components, n_features), *wanted_factors)
        if fitted != wanted:
            raise ValueError(
                f"warm_start=True continues the previous fit ({fitted[0]!r} covariances, means "
                f"of shape {fitted[1]}), but this fit asks for {wanted[0]!r} covariances and "
                f"means of shape {wanted[1]}. Set warm_start=False to start afresh."
            )

    def _fitted_and_wanted_factors(self):
        """``((fitted n_factors,), (n_factors,))`` for a fitted 'factor' or 'ppca' model, so
        that a continued fit checks its number of factors too; ``((), ())`` otherwise."""
        if self._fitted_covariance_type not in FACTOR_TYPES:
            return (), ()
        return (self.loadings_.shape[1],), (getattr(self, "n_factors", None),)

    # -- fitted model -----------------------------------------------------------------------

    def _fitted_parameters(self):
        """float64 ``(log_weights, means, precisions_cholesky)``, as the sources take them."""
        raise NotImplementedError

    def _fitted_covariance(self):
        """The fitted ``CovarianceType``; NotFittedError before ``fit``."""
        if not hasattr(self, "_fitted_covariance_type"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        name = self._fitted_covariance_type
        return covariance_type(name, self.loadings_.shape[1] if name in FACTOR_TYPES else None)

    def _loop_parameters(self):
        """The fitted ``(covariances, precisions_cholesky)`` as the loops carry them
        (float64; for 'factor' and 'ppca', packed loadings and the kernel's factors)."""
        return self._fitted_covariance().loop_parameters(lambda name: getattr(self, name))

    def _marginalize(self):
        """Whether NaN in the data are missing values (``missing_values='marginalize'``)."""
        missing_values = getattr(self, "missing_values", "raise")
        return options.check_missing_values(missing_values) == "marginalize"

    def _checked_input(self, X, allow_nan=False):
        """The fitted covariance type's table entry, and ``X`` validated (``check_input``)
        for this fitted model's number of features; NotFittedError before ``fit``."""
        covariance = self._fitted_covariance()
        validation.check_feature_names(
            validation.feature_names(X),
            getattr(self, "feature_names_in_", None),
            type(self).__name__,
        )
        X = validation.check_input(X, allow_nan=allow_nan)
        return covariance, validation.check_n_features(X, self.n_features_in_, type(self).__name__)

    def _scoring_source(self, X, sample_weight=None):
        """The ``Source`` of ``X`` checked for this fitted model, and the checked ``n_jobs``."""
        marginalize = self._marginalize()
        covariance, X = self._checked_input(X, allow_nan=marginalize)
        n_jobs = validation.check_n_jobs(self.n_jobs)
        # Scoring needs one row of positive weight, not one per component.
        source = make_source(X, covariance, 1, sample_weight, n_jobs, marginalize=marginalize)
        return source, n_jobs

    def _score_rows(self, X, output, out):
        """One output of ``data.sources.SCORE_OUTPUTS`` for every row, into ``out`` if given."""
        source, n_jobs = self._scoring_source(X)
        with thread_limit(n_jobs):
            return source.score_rows(*self._fitted_parameters(), output, out)

    def score_samples(self, X: Data, out: np.ndarray | None = None) -> Any:
        """Log-likelihood ``log p(x)`` of every row of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), .npy path or Dask array
        out : ndarray of shape (n_samples,), float64, optional
            Where to write the result (for instance a memory-mapped ``.npy``
            file made with ``np.lib.format.open_memmap``); numpy input only.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``out`` if given; a lazy Dask array for Dask input.
        """
        return self._score_rows(X, "log_prob_norm", out)

    def score(self, X: Data, y: Any = None, sample_weight: SampleWeight = None) -> float:
        """Mean log-likelihood per row of ``X`` (higher is better; weighted if asked), a float."""
        log_likelihood, size = self._log_likelihood_and_size(X, sample_weight)
        return log_likelihood / size

    def predict(self, X: Data, out: np.ndarray | None = None) -> Any:
        """Index of the most probable component for every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), .npy path or Dask array
        out : ndarray of shape (n_samples,), int64, optional
            Where to write the result (see ``score_samples``); numpy input only.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``out`` if given; a lazy Dask array for Dask input.
        """
        return self._score_rows(X, "labels", out)

    def predict_proba(self, X: Data, out: np.ndarray | None = None) -> Any:
        """Responsibilities (posterior component probabilities) of every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), .npy path or Dask array
        out : ndarray of shape (n_samples, n_components), float64, optional
            Where to write the result (see ``score_samples``); numpy input only.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components), rows summing to 1
            ``out`` if given; a lazy Dask array for Dask input.
        """
        return self._score_rows(X, "resp", out)

    def _log_likelihood_and_size(self, X, sample_weight):
        """sum_i w_i log p(x_i) and sum_i w_i (all w_i = 1 without ``sample_weight``)."""
        source, n_jobs = self._scoring_source(X, sample_weight)
        with thread_limit(n_jobs):
            return source.total_log_likelihood(*self._fitted_parameters()), source.total_weight

    def impute(
        self, X: ArrayLike, method: str = "mean", random_state: RandomState = None
    ) -> np.ndarray:
        """``X`` with every missing value (NaN) filled in from the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or .npy path
            NaN marks a missing value (whatever ``missing_values`` says).
        method : {'mean', 'sample'}, default='mean'
            'mean': the conditional expectation given the row's observed values,
            ``sum_k p(k | x_o) E[x_m | x_o, k]``. 'sample': a draw from the
            conditional distribution: a component k with probability
            ``p(k | x_o)``, then ``x_m ~ N(E[x_m | x_o, k], Cov[x_m | x_o, k])``.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws of ``method='sample'`` (unused by 'mean').

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            A new array in ``X``'s dtype (float32 or float64); observed values
            are copied unchanged. A row with no observed value gets
            ``sum_k p(k) mu_k`` with the responsibilities ``predict_proba`` gives it
            (``weights_`` for :class:`GaussianMixture`: the mixture's mean), or a
            draw. For the Bayesian mixture, component k is N(m_k, (nu_k W_k)^-1),
            the missing values' variational posterior.
        """
        covariance, X = self._checked_input(X, allow_nan=True)
        method = validation.check_impute_method(method)
        draws = None
        if method == "sample":
            draws = validation.check_random_state(random_state)
        with thread_limit(validation.check_n_jobs(self.n_jobs)):
            return impute_rows(covariance, X, *self._fitted_parameters(), draws)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points from the fitted mixture.

        Uses ``random_state`` the way sklearn does (so a fixed seed draws the
        same points, in the same order: grouped by component).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,), the component of each point
        """
        covariance = self._fitted_covariance()
        n_samples = validation.check_n_samples_to_draw(n_samples)
        rng = validation.check_random_state(self.random_state)
        # The same draws as sklearn, from the same arrays, in the same order.
        counts = rng.multinomial(n_samples, self.weights_)
        blocks = covariance.sample(rng, self.means_, self._loop_parameters()[0], counts)
        labels = np.repeat(np.arange(len(counts)), counts)
        return np.vstack(blocks).astype(np.float64), labels

    # -- saving, loading and scikit-learn -------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to one ``.npz`` file that :func:`fastgmm.load` reads back.

        The file holds only numbers and text (the fitted arrays and a JSON ``metadata``
        entry: format version, fastgmm version, parameters, feature names, ...), never a
        pickle; ``numpy.load(path, allow_pickle=False)`` reads it. The loaded model has
        the same fitted attributes, bit for bit, and predicts bitwise the same (with the
        same compiled kernels). Constructor parameters that JSON cannot hold (a
        ``callback`` function, a ``RandomState`` instance as ``random_state``) are not
        stored: the loaded model has their defaults. The package ``fastgmm.io``
        documents the format.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; written as given (no ``.npz`` suffix is added), replacing
            any file there.

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        """
        save(self, path)

    def to_sklearn(self, as_full: bool = False) -> Any:
        """The fitted scikit-learn estimator of the same name with this model's parameters
        and fitted attributes (copies): its ``predict``, ``predict_proba`` and
        ``score_samples`` agree with this model's to rounding.

        scikit-learn has no mixture of factor analysers: a 'factor' or 'ppca' model is
        converted only with ``as_full=True``, to 'full' covariances (W_k W_k^T + Psi_k,
        the same densities); without it, a ValueError says so.

        fastgmm's own parameters (``n_jobs``, ``persist``, ``on_degenerate``, ...) are left
        out; ``covariance_type`` (and the Bayesian mixture's
        ``weight_concentration_prior_type``) are those of the fit. Needs scikit-learn
        (an ImportError says so if it is missing).

        Returns
        -------
        estimator : sklearn.mixture.GaussianMixture or BayesianGaussianMixture
        """
        return to_sklearn(self, as_full)

    @classmethod
    def from_sklearn(cls: type[_Mixture], estimator: Any) -> _Mixture:
        """This class, with the parameters and fitted attributes of a fitted scikit-learn
        estimator of the same name (copies; checked as :func:`fastgmm.load` checks a file).

        Parameters
        ----------
        estimator : sklearn.mixture.GaussianMixture or BayesianGaussianMixture
            Fitted; of the class of the same name as this one.

        Returns
        -------
        model : GaussianMixture or BayesianGaussianMixture
            Predicts what ``estimator`` predicts, to rounding. ``n_degenerate_`` is 0, and
            a Bayesian mixture's ``full_lower_bound_`` is ``nan`` (it needs the data's
            total weight, which scikit-learn does not keep).

        Raises
        ------
        TypeError
            If ``estimator`` is not an estimator of that class.
        NotFittedError
            If it is not fitted.
        ValueError
            If its fitted attributes are not a valid mixture.
        """
        return from_sklearn(cls, estimator)


def _is_default(value, default):
    if value is default:
        return True
    return (
        type(value) is type(default) and isinstance(value, (str, int, float)) and value == default
    )
