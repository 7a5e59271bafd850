"""The estimators and the plain fitting functions: what a user fits with.

``GaussianMixture`` (``gaussian_mixture.py``) and ``BayesianGaussianMixture``
(``bayesian_mixture.py``) follow scikit-learn's estimator protocol: constructor
parameters, fitted attributes ending in ``_``, ``fit``/``predict``/``score``...;
what they share (scoring, sampling, imputation, saving) is ``base.MixtureBase``.
``fit`` and ``fit_stream`` (``functions.py``) fit without an estimator object and
return a ``GaussianMixtureResult``.

This layer is thin: a fit checks its inputs once (``fastgmm.em.options.FitRequest``),
hands the source and the options to the loops of ``fastgmm.em`` and sets the fitted
attributes from the run it gets back.  A new model is a new module here (its
estimator, registered with ``fastgmm.io.register`` so that it can be saved), over
loops and statistics of the layers below.
"""

from .bayesian_mixture import BayesianGaussianMixture
from .functions import GaussianMixtureResult, fit, fit_stream
from .gaussian_mixture import GaussianMixture

__all__ = [
    "BayesianGaussianMixture",
    "GaussianMixture",
    "GaussianMixtureResult",
    "fit",
    "fit_stream",
]
