"""Type aliases of the public API (imported for annotations only: never at run time)."""

import os
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

# A data matrix: anything numpy reads as a 2-D array (a pandas DataFrame too), the path
# of a .npy file, or a Dask array (which fastgmm never imports: an array-like here).
Data = ArrayLike | str | os.PathLike[str]
CovarianceType = Literal["full", "tied", "diag", "spherical", "factor", "ppca"]
InitParams = Literal["kmeans", "k-means++", "random", "random_from_data"]
OnDegenerate = Literal["reseed", "raise"]
MissingValues = Literal["raise", "marginalize"]
Persist = bool | Literal["auto"]
RandomState = int | np.random.RandomState | None
SampleWeight = ArrayLike | float | None
