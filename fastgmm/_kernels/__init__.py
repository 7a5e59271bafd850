"""Numba kernels: pure numerical code, no validation and no Python objects.

- ``full``: one pass (``run_pass``) that computes the E-step fused with the
  statistics, or per-row scores, for 'full' (see ``fastgmm.covariance``);
- ``tied``: the same for 'tied', with the shared factor applied once per row;
- ``diag``: the same for 'diag' and 'spherical';
- ``missing_full``, ``missing_tied``, ``missing_diag``: the same for data with missing
  values (NaN), and imputation (``missing_dense``, ``missing_diag``), on the shared
  ``missing_common`` and, for the dense types, ``missing_dense`` and ``missing_schur``;
- ``kmeans``: k-means++ seeding potentials and Lloyd steps (one ``run_pass``);
- ``linalg``: the serial Cholesky factors of the M-step;
- ``_common``: the chunk grid, block workspace, the pass modes and ``e_step_block``
  (log-sum-exp, responsibilities, labels, scores);
- ``_math``: vectorisable exp and log;  ``_options``: compilation options.
"""
