"""One registry type for everything looked up by name: proxies, search spaces, scoring methods,
edge orderings (timm's ``_registry.py`` pattern).

A registry maps a lower-case name to an item (anything with a ``name`` attribute). Adding an item
is one call, ``REGISTRY.register(item)``, next to its definition; looking one up by an unknown name raises :class:`~zcpt_analysis.errors.UnknownNameError`
listing the valid names. Iteration order is registration order.
"""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Items of one kind by name (``kind`` names them in error messages, e.g. ``"proxy"``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        """Add ``item`` under ``item.name`` (which must be new); returns the item."""
        name = str(getattr(item, "name")).strip().lower()
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str | T) -> T:
        """The item called ``name`` (an item passes through); unknown names raise a clear error."""
        if not isinstance(name, str):
            if any(name is item for item in self._items.values()):
                return name
            raise UnknownNameError(self.kind, name, self.names())
        key = name.strip().lower()
        if key not in self._items:
            raise UnknownNameError(self.kind, name, self.names())
        return self._items[key]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
