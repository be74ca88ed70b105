"""Records of a table's run specs: found in a results store, computed on the spot when the preset
says so, or *pending*: "not yet computed" with the exact shell command that computes them."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from ..errors import ZcptError
from ..paths import display
from ..runs.records import Record, error_statistics
from ..runs.specs import RunSpec
from ..runs.store import ResultStore, as_store

NOT_COMPUTED = "not yet computed"
NEEDS_GPU = "needs a GPU (it trains a supernet, which the cpu preset leaves out)"
NOT_TRAINED = "not trained"


def store_of(results_dir: str | Path | ResultStore | None) -> Optional[ResultStore]:
    """The store of a table's ``results_dir`` (None, or papermill's empty ``""``: compute in memory)."""
    return as_store(None if isinstance(results_dir, str) and results_dir == "" else results_dir)


def bench(bench: Any = None) -> Any:
    """``bench``, or the default NAS-Bench-201 benchmark."""
    from ..bench import load_benchmark

    return bench if bench is not None else load_benchmark()


# ============================================================================= commands
@dataclass(frozen=True)
class Pending:
    """A result a notebook could not produce in its preset: what it is, why, and the exact
    command that computes it (run from the working directory)."""

    what: str
    command: str
    reason: str = NOT_COMPUTED

    def to_markdown(self) -> str:
        return f"- **{self.what}**: {self.reason}. Compute it with\n\n  ```\n  {self.command}\n  ```"


MULTI_SEED_KINDS: frozenset[str] = frozenset({"zcpt-search", "naswot", "darts", "darts-pt"})
"""Spec kinds whose command takes ``--seeds`` (one run per seed)."""


def _seed_list(seeds: Sequence[int]) -> str:
    """Seeds for a shell command: ``$(seq a b)`` for a long contiguous range, else the list."""
    seeds = list(seeds)
    if len(seeds) > 8 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"$(seq {seeds[0]} {seeds[-1]})"
    return " ".join(str(s) for s in seeds)


def _without_seed(argv: list[str]) -> tuple[list[str], int]:
    if "--seed" in argv:
        i = argv.index("--seed")
        return argv[:i] + argv[i + 2:], int(argv[i + 1])
    return argv, 0


def commands(specs: Sequence[RunSpec], store: Optional[ResultStore]) -> str:
    """The shell command(s) computing ``specs`` into ``store``: specs that differ only in their seed
    share one command (``--seeds``, or a ``for`` loop for commands without it)."""
    out = ["--out", display(store.root) if store is not None else "runs"]
    groups: dict[tuple[str, ...], list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(tuple(_without_seed(spec.to_argv())[0]), []).append(spec)
    lines = []
    for rest, group in groups.items():
        seeds = [_without_seed(s.to_argv())[1] for s in group]
        if len(group) == 1:
            lines.append(shlex.join(group[0].to_argv() + out))
        elif group[0].KIND in MULTI_SEED_KINDS:
            lines.append(shlex.join(list(rest) + out) + f" --seeds {_seed_list(seeds)}")
        else:
            lines.append(f"for s in {' '.join(map(str, seeds))}; do {shlex.join(list(rest) + out)} --seed \"$s\"; done")
    return "\n  ".join(lines)


# ============================================================================= collecting
@dataclass
class Collected:
    """Records of a list of specs: found in the store or computed, and what is still missing."""

    records: dict[int, Record] = field(default_factory=dict)  # index in ``specs`` -> record
    missing: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def found(self, specs: Sequence[RunSpec]) -> list[Record]:
        return [self.records[i] for i in range(len(specs)) if i in self.records]


def collect(specs: Sequence[RunSpec], store: Optional[ResultStore], compute: bool, progress: bool = False,
            **resources: Any) -> Collected:
    """For each spec: its complete record from ``store``, else (``compute``) the record computed now
    -- saved into ``store`` when there is one -- else it is missing (with the reason)."""
    out = Collected()
    for i, spec in enumerate(specs):
        record, why = None, NOT_COMPUTED
        if store is not None:
            try:
                record = store.find(spec)
                partial = record is None and store.load(spec) is not None
            except ZcptError as exc:
                record, partial, why = None, False, str(exc)
            if partial:
                why = f"{NOT_COMPUTED} (a partial record is in {display(store.root)}: rerun its command to resume)"
        if record is None and compute:
            record = spec.run(store, progress=progress, **resources)
        if record is None:
            out.missing.append(i)
            out.reasons.append(why)
        else:
            out.records[i] = record
    return out


def pending_for(what: str, specs: Sequence[RunSpec], collected: Collected, store: Optional[ResultStore],
                reason: Optional[str] = None) -> Optional[Pending]:
    """The :class:`Pending` entry of the missing specs of ``collected`` (None if nothing is missing)."""
    if not collected.missing:
        return None
    missing = [specs[i] for i in collected.missing]
    why = reason or "; ".join(dict.fromkeys(collected.reasons))
    if not why.startswith(NOT_COMPUTED) and not reason:
        why = f"{NOT_COMPUTED} ({why})"
    return Pending(what, commands(missing, store), why)


@dataclass
class Runs:
    """The records of one table row (one configuration over several seeds) and what is missing."""

    label: str
    specs: list[RunSpec]
    records: list[Record]
    pending: Optional[Pending] = None

    @property
    def complete(self) -> bool:
        return self.pending is None

    @property
    def seeds_done(self) -> list[int]:
        return [r.spec.seed for r in self.records]  # type: ignore[attr-defined]

    def selections(self) -> list[Any]:
        return [s for r in self.records for s in r.selections()]

    def stats(self) -> dict[str, dict[str, float]]:
        """Test error mean ± std per dataset over the available records."""
        return error_statistics(self.selections())

    def data_sources(self) -> str:
        return ", ".join(sorted({str(getattr(r, "data", {}).get("source", "?")) for r in self.records})) or "-"


def runs_of(label: str, specs: Sequence[RunSpec], store: Optional[ResultStore], compute: bool, progress: bool = False,
            reason: Optional[str] = None, **resources: Any) -> Runs:
    """:func:`collect` for one table row, as :class:`Runs` (with its :class:`Pending`, giving
    ``reason`` -- e.g. :data:`NEEDS_GPU` -- instead of the collected one when set)."""
    found = collect(specs, store, compute, progress, **resources)
    missing_seeds = ", ".join(str(getattr(specs[i], "seed", "?")) for i in found.missing)
    pending = pending_for(f"{label} (seed {missing_seeds})", specs, found, store, reason)
    return Runs(label, list(specs), found.found(specs), pending)


def unique(items: Iterable[RunSpec]) -> list[RunSpec]:
    """``items`` without repeats (same record), in order."""
    seen, out = set(), []
    for spec in items:
        key = (spec.KIND, spec.record_name())
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out
