"""Warnings and errors raised by fastgmm (defined here: fastgmm never imports scikit-learn)."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the lower bound changed by less than ``tol``."""


class DegenerateComponentWarning(UserWarning):
    """EM met components that collapsed or emptied out and repaired them
    (``on_degenerate='reseed'``); the fitted model counts them in ``n_degenerate_``."""


class NotFittedError(ValueError, AttributeError):
    """A fitted-model method was called before ``fit`` (as sklearn's, both a
    ValueError and an AttributeError)."""


class InvalidParameterError(ValueError, TypeError):
    """A constructor or ``fit`` option has the wrong type or value (as sklearn's,
    both a ValueError and a TypeError)."""
