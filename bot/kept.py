"""The last results of a pure computation, kept for the next time they are asked for.

`functools.lru_cache` on a bound method ties the object into a reference cycle (object →
cache → bound method → object), and a class-level `lru_cache` on a method keeps every
instance alive. After a reload of the knowledge base, the old dialogue and its indexes must be
freed as soon as the new ones replace them: the reload freezes what exists into the GC's
permanent generation, where a cycle is never collected. `Kept` holds keys and values only; the
computation is passed at each call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """At most `size` results, the least recently used one dropped first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[K, V] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        items = self._items
        if key in items:
            value = items.pop(key)  # put back last: the most recently used
        else:
            value = compute()
            if len(items) >= self._size:
                del items[next(iter(items))]
        items[key] = value
        return value

    def __len__(self) -> int:
        return len(self._items)
