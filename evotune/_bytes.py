"""Memory sizes as people write them: ``2GB``, ``512MiB``, ``1.5 GB`` or a number of bytes.

It imports nothing of evotune but the error class, so the settings and the
backends can both use it.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np

from evotune._validation import InvalidParameterError

__all__ = ["parse_bytes"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BYTES = re.compile(
    r"^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE
)


def parse_bytes(name: str, value: Any) -> int | None:
    """A memory size in bytes: an int, or a string such as ``"2GB"`` (10**9
    bytes each), ``"512MiB"`` (2**20 each) or ``"1.5 GB"``, as Dask writes them.

    Examples
    --------
    >>> parse_bytes("worker_memory_limit", "2GB"), parse_bytes("worker_memory_limit", "1KiB")
    (2000000000, 1024)
    """
    if value is None:
        return None
    found = None
    if isinstance(value, str):
        found = _BYTES.match(value)
    elif (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and float(value) >= 1
        and float(value).is_integer()
    ):
        return int(float(value))
    if found is not None and (found.group(2) or not found.group(3)):
        unit = found.group(2).lower()
        base = 2 ** (10 * "kmgt".index(unit) + 10) if found.group(3) and unit else _UNITS[unit]
        size = int(float(found.group(1)) * base)
        if size >= 1:
            return size
    raise InvalidParameterError(
        f"{name!r} must be a number of bytes >= 1 (an int, or a string such as '2GB', "
        f"'512MiB' or '1.5 GB') or None, got {value!r}"
    )
