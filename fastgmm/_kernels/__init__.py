"""Numba kernels: pure numerical code, no validation and no Python objects.

``full`` serves the 'full' and 'tied' covariance types, ``diag`` serves 'diag'
and 'spherical' (see ``fastgmm._covariance``); ``kmeans`` seeds and runs the
k-means initialisation.
"""
