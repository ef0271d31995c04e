"""Checks of plain Python arguments, shared by the modules that take them.

``int(2.7)`` is 2, so converting with ``int()`` would quietly run 2 epochs when asked for 2.7; these
helpers refuse what is not already the type asked for, naming the parameter.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Optional

__all__ = ["int_arg", "float_arg"]


def int_arg(value: Any, name: str, minimum: Optional[int] = None) -> int:
    """``value`` as an int: Python and numpy integers pass, floats, bools and strings do not.

    Raises:
        TypeError: ``value`` is not an integer (the message names ``name``).
        ValueError: it is below ``minimum``.
    """
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, got a bool (%r)" % (name, value))
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(
            "%s must be an integer, got %s %r" % (name, type(value).__name__, value)
        ) from None
    if minimum is not None and n < minimum:
        raise ValueError("%s must be at least %d, got %d" % (name, minimum, n))
    return n


def float_arg(value: Any, name: str) -> float:
    """``value`` as a finite float: ints and floats (numpy's too) pass, bools and strings do not.

    Raises:
        TypeError: ``value`` is not a real number. ValueError: it is NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number, got %s %r" % (name, type(value).__name__, value))
    x = float(value)
    if not math.isfinite(x):
        raise ValueError("%s must be finite, got %r" % (name, value))
    return x
