"""The fitting engine: the loops that turn a source's statistics into parameters.

- ``options``: a fit's checked options (``FitOptions``) and its entrance
  (``FitRequest.checked``: the data converted and checked once, its source made);
- ``loop``: batch EM over any source (restarts, convergence, mini-batch passes);
- ``variational`` and ``priors``: the variational Bayesian mixture's iteration, bound and
  priors;
- ``online``: stepwise (mini-batch) EM's running statistics;
- ``initialization`` and ``kmeans``: the starting parameters;
- ``degenerate``: repairs of collapsed and empty components; ``progress``: what a fit
  reports as it goes.

The loops never see rows: they ask a ``fastgmm.data`` source for the statistics of the
current parameters and pass them to their covariance type's ``m_step``.  Nothing here imports
``fastgmm.models`` or ``fastgmm.io``.
"""
