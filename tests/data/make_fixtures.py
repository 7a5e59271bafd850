"""Make the saved-model files that tests/test_persistence.py loads to check that files of
every format version still load and predict as when they were written.

Run once per format version, with the fastgmm that introduced it, from the repository root:

    python tests/data/make_fixtures.py

It writes, next to this script, for format version 1 (fastgmm 0.1.0):

- gaussian_mixture_format1.npz: a 'full' GaussianMixture fitted on a DataFrame (feature
  names 'height' and 'weight'), float64;
- bayesian_gaussian_mixture_format1.npz: a 'diag' BayesianGaussianMixture (Dirichlet
  process) fitted on float32 data;
- gaussian_mixture_result_format1.npz: a 'spherical' fastgmm.fit result;
- expected_format1.npz: the rows to score (``X``) and, per model, what it predicted when
  it was saved (``<name>_labels``, ``<name>_proba``, ``<name>_log_prob``; the result's
  fitted arrays as ``result_<field>``).

Never regenerate the files of an existing format version: they are the files that
fastgmm of that version wrote, and the point of the test is that later versions read them.
A new format version gets new files (``*_format2.npz``) beside the old ones.
"""

from pathlib import Path

import numpy as np
import pandas as pd

import fastgmm

HERE = Path(__file__).resolve().parent
VERSION = 1


def data():
    rng = np.random.default_rng(20261125)
    centres = np.array([[170.0, 65.0], [160.0, 55.0], [182.0, 85.0]])
    return np.vstack([rng.normal(centre, [4.0, 5.0], size=(60, 2)) for centre in centres])


def main():
    X = data()
    rows = X[::9]  # 20 rows to score
    expected = {"X": rows}

    frame = pd.DataFrame(X, columns=["height", "weight"])
    gmm = fastgmm.GaussianMixture(3, covariance_type="full", random_state=0, tol=1e-6).fit(frame)
    bgm = fastgmm.BayesianGaussianMixture(
        4, covariance_type="diag", random_state=0, max_iter=500
    ).fit(X.astype(np.float32))
    for name, model, scored in (
        ("gaussian_mixture", gmm, pd.DataFrame(rows, columns=["height", "weight"])),
        ("bayesian_gaussian_mixture", bgm, rows.astype(np.float32)),
    ):
        model.save(HERE / f"{name}_format{VERSION}.npz")
        expected[f"{name}_labels"] = model.predict(scored)
        expected[f"{name}_proba"] = model.predict_proba(scored)
        expected[f"{name}_log_prob"] = model.score_samples(scored)

    result = fastgmm.fit(X, 2, covariance_type="spherical", random_state=0)
    result.save(HERE / f"gaussian_mixture_result_format{VERSION}.npz")
    for field in ("weights", "means", "covariances", "precisions_cholesky"):
        expected[f"result_{field}"] = getattr(result, field)
    expected["result_scalars"] = np.array(
        [result.lower_bound, result.log_likelihood, result.n_iter, result.converged]
    )
    np.savez_compressed(HERE / f"expected_format{VERSION}.npz", **expected)


if __name__ == "__main__":
    main()
