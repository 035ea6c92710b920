"""Numbers in the standard library: little-endian arrays and dot products."""

from __future__ import annotations

import math
import operator
import sys
from array import array

_sumprod = getattr(math, "sumprod", None)


def little_endian(values: array) -> array:
    """`values` read from a file (the index's binary numbers are little-endian) in this machine's order."""
    if sys.byteorder == "big":
        values.byteswap()
    return values


def dot(a, b) -> float:
    if _sumprod is not None:  # Python 3.12+: the fastest in Pyodide
        return _sumprod(a, b)
    return sum(map(operator.mul, a, b))
