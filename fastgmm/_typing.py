"""Type aliases of the public API (for annotations only: nothing here runs at import)."""

from __future__ import annotations

import os
from typing import Literal, Union

import numpy as np
from numpy.typing import ArrayLike

# A data matrix: anything numpy reads as a 2-D array (a pandas DataFrame too), the path
# of a .npy file, or a Dask array (which fastgmm never imports: an array-like here).
Data = Union[ArrayLike, str, "os.PathLike[str]"]
CovarianceType = Literal["full", "tied", "diag", "spherical"]
InitParams = Literal["kmeans", "k-means++", "random", "random_from_data"]
OnDegenerate = Literal["reseed", "raise"]
Persist = Union[bool, Literal["auto"]]
RandomState = Union[int, np.random.RandomState, None]
SampleWeight = Union[ArrayLike, float, None]
