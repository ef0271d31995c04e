"""Python owners of Go objects that live in the extension's handle registry.

Long-lived Go objects (datasets, trainers, models) never cross into Python: Go keeps them in a
registry and Python holds an opaque positive int64 handle. :class:`Handle` owns one such handle
and releases it exactly once: explicitly with :meth:`Handle.close`, at the end of a ``with``
block, or (as a fallback) when the Python object is garbage collected.

A handle is a number that means something only in the process that made it, so handles do not
pickle; :class:`brainvq.Model` pickles by value instead (its checkpoint bytes).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional, Tuple, TypeVar

from brainvq import _binding

__all__ = ["Handle"]

_H = TypeVar("_H", bound="Handle")


class Handle:
    """Owner of one Go registry handle; subclasses add the methods for their kind of object.

    Using a handle after :meth:`close` raises ``ValueError``; closing twice is a no-op.
    """

    __slots__ = ("_h", "_pid", "_lock", "__weakref__")

    def __init__(self, handle: int) -> None:
        handle = int(handle)
        if handle < 1:
            raise ValueError("invalid Go handle %d" % handle)
        self._h: Optional[int] = handle
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @property
    def handle(self) -> int:
        """The raw int64 handle (for passing to the binding); ``ValueError`` once closed."""
        h = self._h
        if h is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return h

    @property
    def closed(self) -> bool:
        """Whether the handle was released."""
        return self._h is None

    def close(self) -> None:
        """Release the Go object now. Idempotent."""
        with self._lock:
            h, self._h = self._h, None
        if h is not None and os.getpid() == self._pid:
            _binding.call(_binding._pb.Release, h)

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Tuple[Any, ...]:
        raise TypeError(
            "cannot pickle %s: it is held by this process's Go runtime (models pickle; save or "
            "rebuild other objects in the new process)" % type(self).__name__
        )

    def __del__(self) -> None:
        # Best effort at interpreter shutdown or in a forked child: never raise from __del__.
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._h is None else "handle=%d" % self._h
        return "<%s %s>" % (type(self).__name__, state)
