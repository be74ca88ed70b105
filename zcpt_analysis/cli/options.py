"""Option parsing shared by several ``zcpt`` subcommands."""
from __future__ import annotations

import json
from typing import Any

from ..errors import ZcptError


def key_values(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["C=8", "mode=train"]`` -> ``{"C": 8, "mode": "train"}`` (values parsed as JSON when possible)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ZcptError(f"{what} must look like KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
