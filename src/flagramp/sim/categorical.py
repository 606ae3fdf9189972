"""Drawing categories from uniforms, fast for the few categories a model has."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def choose(cumulative: FloatArray, u: FloatArray) -> IntArray:
    """The category each uniform falls in, by a cumulative distribution.

    Equal to `searchsorted(cumulative, u, side="right")` clipped to the last
    category; a few categories are counted by comparison, which beats numpy's
    binary search per element by several times.
    """
    last = cumulative.shape[0] - 1
    if last < 16:
        found = np.zeros(u.shape[0], dtype=np.int64)
        for edge in cumulative[:-1].tolist():
            found += u >= edge
        return found
    found = np.searchsorted(cumulative, u, side="right")
    return np.asarray(np.minimum(found, last), dtype=np.int64)
