"""Pause Python's cyclic garbage collector around one large, allocation-heavy computation.

Reading a big CIB and scheduling it allocate millions of objects that live until the computation ends; each
allocation threshold crossed triggers a collection that walks all of them again (a third of `drover simulate`'s
time on 10,000 primitives). Nothing the computation makes needs collecting before it returns, so collection waits
until then. Rules: the collector's previous state is restored on the way out, also on an exception; nesting is
harmless (an inner pause leaves an outer one in place).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
