"""Warnings and errors raised by fastgmm.

fastgmm never imports scikit-learn, so these are its own classes.  Once the
program has imported scikit-learn, the ones that scikit-learn also has
(``NotFittedError``, ``ConvergenceWarning``, ``InvalidParameterError``) are
raised as a subclass of both fastgmm's and scikit-learn's class of that name
(see :func:`sklearn_compatible`), so that ``except`` clauses and warning
filters written for scikit-learn catch them too.
"""

import importlib
import sys

# fastgmm class name: the scikit-learn module that defines the class of the same name.
_SKLEARN_HOMES = {
    "NotFittedError": "sklearn.exceptions",
    "ConvergenceWarning": "sklearn.exceptions",
    "InvalidParameterError": "sklearn.utils._param_validation",
}
_twins: dict[type, type] = {}


def sklearn_compatible(cls):
    """``cls``, or a subclass of it and of scikit-learn's class of the same name.

    The subclass is used only once the program has imported scikit-learn
    (never imported here): for a warning, pass it as the category so that a
    filter on scikit-learn's class matches.  Exceptions need no call: their
    constructor returns an instance of it (see ``_SklearnCompatible``).
    """
    twin = _twins.get(cls)
    if twin is not None:
        return twin
    if (
        "sklearn" not in sys.modules
        or cls.__name__ not in _SKLEARN_HOMES
        or cls.__module__ != __name__  # a user's subclass
        or "_fastgmm_class" in cls.__dict__  # a twin already
    ):
        return cls
    try:
        theirs = getattr(importlib.import_module(_SKLEARN_HOMES[cls.__name__]), cls.__name__)
    except (ImportError, AttributeError):  # an old or partly imported scikit-learn
        return cls
    twin = type(
        cls.__name__,
        (cls, theirs),
        {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "_fastgmm_class": cls,
        },
    )
    _twins[cls] = twin
    return twin


class _SklearnCompatible:
    """Mixin: instances are made as ``sklearn_compatible(cls)``, and pickle as ``cls``
    (the receiving process, with or without scikit-learn, makes its own)."""

    _fastgmm_class = None

    def __new__(cls, *args, **kwargs):
        return super().__new__(sklearn_compatible(cls), *args, **kwargs)

    def __reduce__(self):
        cls = type(self)
        return (cls.__dict__.get("_fastgmm_class") or cls, self.args, self.__dict__ or None)


class ConvergenceWarning(_SklearnCompatible, UserWarning):
    """EM stopped at ``max_iter`` before the lower bound changed by less than ``tol``."""


class DegenerateComponentWarning(UserWarning):
    """EM met components that collapsed or emptied out and repaired them
    (``on_degenerate='reseed'``); the fitted model counts them in ``n_degenerate_``."""


class NotFittedError(_SklearnCompatible, ValueError, AttributeError):
    """A fitted-model method was called before ``fit`` (as sklearn's, both a
    ValueError and an AttributeError)."""


class InvalidParameterError(_SklearnCompatible, ValueError, TypeError):
    """A constructor or ``fit`` option has the wrong type or value (as sklearn's,
    both a ValueError and a TypeError)."""
