"""Exception types of the toolkit.

Every error a user can trigger with bad input derives from :class:`ZcptError`, so the CLI can
print its message (which always says what was wrong and what would be valid) without a traceback.
"""
from __future__ import annotations

from typing import Any, Iterable

MESSAGE_VALUE_LIMIT = 80
"""How many characters of a bad value an error message quotes (a message stays one short line)."""


def short_repr(value: Any, limit: int = MESSAGE_VALUE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said (``'aaaa...' (3000000
    characters)``), so that no bad value makes an error message long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _plural(noun: str) -> str:
    """English plural of the last word of ``noun`` ("proxy" -> "proxies", "dataset" -> "datasets")."""
    if noun.endswith("y") and not noun.endswith(("ay", "ey", "oy", "uy")):
        return noun[:-1] + "ies"
    return noun if noun.endswith("s") else noun + "s"


class ZcptError(Exception):
    """Base class for user-facing errors of zcpt-analysis."""


class InvalidArchError(ZcptError, ValueError):
    """An architecture string, op-index tuple or edge/op name is malformed."""


class UnknownNameError(ZcptError, KeyError):
    """A name (dataset, op, proxy, space, ordering, ...) is not one of the valid choices."""

    def __init__(self, kind: str, name: object, valid: Iterable[object]):
        self.kind, self.name, self.valid = kind, name, tuple(valid)
        super().__init__(f"unknown {kind} {short_repr(name)}; valid {_plural(kind)}: {', '.join(map(str, self.valid))}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class MissingFileError(ZcptError, FileNotFoundError):
    """A benchmark file or dataset is missing; the message says where to get it."""


class DataUnavailableError(ZcptError, RuntimeError):
    """Data cannot be obtained (offline, too few distinct images for a batch, ...)."""


class DamagedFileError(ZcptError, ValueError):
    """A file the toolkit wrote or reads is damaged (cut short, empty, not what it should hold)."""


class StateError(ZcptError, RuntimeError):
    """An operation is not valid in the current supernet / search state."""
