"""Cost estimates of run specs, from the timings of complete records with the same ``cost_key()``.

A spec's :meth:`~zcpt_analysis.runs.spec.RunSpec.cost_key` names what its cost depends on
(kind, space, proxy, batch, network sizes, ...); the estimate of a spec is the median over the
stored records with the same key of their seconds, scaled to the spec's own amount of work where
the key leaves it out (a Zero-Cost-PT search: search seconds x N / N_record + validation seconds x
V / V_record). No such record: the estimate is unknown (None), never a guess.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from .records import Record
from .specs import RunSpec


@dataclass(frozen=True)
class Estimate:
    """An estimated duration (seconds of one worker) and the number of records it comes from."""

    seconds: float
    records: int

    def __str__(self) -> str:
        return f"{format_seconds(self.seconds)} (from {self.records} record{'s' if self.records != 1 else ''})"


def format_seconds(seconds: Optional[float]) -> str:
    """``"45 s"``, ``"12 min"``, ``"3.4 h"`` (``"unknown"`` for None)."""
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def scaled_seconds(spec: RunSpec, record: Record) -> float:
    """The seconds ``record`` took, scaled to the work of ``spec`` (same cost key)."""
    if spec.KIND == "zcpt-search":
        rec = record.spec
        search = record.timing.get("search", 0.0) * spec.N / max(1, rec.N)  # type: ignore[attr-defined]
        validation = record.timing.get("validation", 0.0) * spec.V / max(1, rec.V)  # type: ignore[attr-defined]
        return float(search + validation)
    return record.seconds


class CostModel:
    """Estimates from a set of complete records (see the module docstring); :meth:`add` learns
    from records computed later (e.g. during a sweep)."""

    def __init__(self, records: Iterable[Record] = ()):
        self._by_key: dict[tuple, list[Record]] = defaultdict(list)
        for record in records:
            self.add(record)

    @classmethod
    def from_store(cls, store: Any) -> "CostModel":
        """A model of every complete record in ``store`` (a :class:`~.store.ResultStore`)."""
        return cls(store.records(warn=False))

    def add(self, record: Record) -> None:
        if record.complete and record.seconds > 0:
            self._by_key[record.spec.cost_key()].append(record)

    def estimate(self, spec: RunSpec) -> Optional[Estimate]:
        """The estimate for ``spec`` (None when no record has its cost key)."""
        records = self._by_key.get(spec.cost_key())
        if not records:
            return None
        return Estimate(statistics.median(scaled_seconds(spec, r) for r in records), len(records))


__all__ = ["CostModel", "Estimate", "format_seconds", "scaled_seconds"]
