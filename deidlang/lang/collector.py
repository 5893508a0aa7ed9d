"""The cyclic garbage collector, paused while a recipe is parsed and checked.

A parse makes thousands of small objects (deid's 900-line default recipe: about 4,500
nodes and spans) that stay alive until the caller lets go of the tree, and none of them
is part of a reference cycle. With the collector running, every 700 of them start a
collection that walks them all again, and now and then a full collection walks every
object of the process: a fifth of the time of a parse and check, spent finding no
garbage. :func:`paused` turns the collector off for the duration of a ``with`` block
and back on after it (objects are still freed by reference counting as usual; garbage
in cycles made meanwhile is collected after the block). It does nothing when the
collector is already off, so blocks nest, and a caller that turned the collector off
keeps it off.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

__all__ = ["paused"]


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Turn the cyclic collector off inside the block (when it is on), back on after it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
