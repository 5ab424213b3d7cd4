"""Attributes: an ordered, immutable name -> value map (Pacemaker's nvpair sets).

Rules: names are unique (the first value wins when a CIB repeats a name, as
Pacemaker's unpacking does); every change returns a new object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Attributes:
    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, pairs: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> Attributes:
        source = pairs.items() if isinstance(pairs, Mapping) else pairs
        seen: dict[str, str] = {}
        for name, value in source:
            seen.setdefault(name, value)
        return cls(tuple(seen.items()))

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.items:
            if key == name:
                return value
        return default

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def names(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.items)

    def set(self, name: str, value: str) -> Attributes:
        if name in self:
            return Attributes(tuple((k, value if k == name else v) for k, v in self.items))
        return Attributes((*self.items, (name, value)))

    def without(self, name: str) -> Attributes:
        return Attributes(tuple((k, v) for k, v in self.items if k != name))

    def merged(self, other: Attributes) -> Attributes:
        """Self updated with other's values (other wins)."""
        result = self
        for name, value in other.items:
            result = result.set(name, value)
        return result

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)
