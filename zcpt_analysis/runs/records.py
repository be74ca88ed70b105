"""Typed result records: a record is the spec that was run plus what its algorithm returned
(``SearchRecord`` = :class:`Record` + :class:`~zcpt_analysis.searches.zcpt.SearchResult`), declared
once on pydantic, with its JSON in both directions. Callers read attributes
(``record.selected.benchmark["cifar10"].error``), not nested dict keys.

JSON layout (schema 1): ``{"kind", "schema", "status", "spec": {...}, "environment": {...},
"timing": {...}, "created", ...}`` plus the fields of the kind's result. Files of the first
release are read by :mod:`.legacy`.

Test errors are in % (100 - NAS-Bench-201 200-epoch test accuracy); ``BenchResult.error`` is the
seed-mean error, ``trial_errors`` the per-training-trial errors.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, ClassVar, Optional

from pydantic import Field, ValidationError

from ..bench.benchmark import BenchResult
from ..errors import DamagedFileError, ZcptError
from ..options import Result
from ..proxy_study import ProxyStudyResult
from ..registry import Registry
from ..searches.baselines import NaswotResult, RandomPick
from ..searches.darts import DartsResult
from ..searches.darts_pt import DartsPTResult
from ..searches.results import Candidate, Iteration, Selection, error_statistics
from ..searches.zcpt import SearchResult
from ..train import TrainResult
from .spec import RunSpec
from .specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, ProxyStudySpec, RandomSpec, ScoresSpec,
                    SearchSpec, TrainSpec)

SCHEMA_VERSION = 1
STATUSES: tuple[str, ...] = ("running", "searching", "validating", "complete")
_HEAD: tuple[str, ...] = ("status", "spec", "environment", "timing", "created")


def now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ============================================================================= base
RECORDS: Registry[type] = Registry("record kind")


class Record(Result):
    """What every record has: its spec, status, environment and timing (seconds per stage)."""

    KIND: ClassVar[str] = ""

    spec: Any
    status: str = "complete"
    environment: dict[str, Any] = Field(default_factory=dict)
    timing: dict[str, float] = Field(default_factory=dict)
    created: str = Field(default_factory=now)

    @classmethod
    def of(cls, spec: RunSpec, result: Result, **fields: Any) -> "Record":
        """The record of ``spec`` holding ``result`` (an algorithm's return value)."""
        return cls(spec=spec, **{**dict(result), **fields})

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def seconds(self) -> float:
        """Total compute time recorded (every stage)."""
        return float(sum(v for v in self.timing.values() if v is not None))

    def selections(self) -> list[Selection]:
        """The runs' selected architectures (one, or several for the random baseline)."""
        return []

    # -- JSON
    def to_json(self) -> dict[str, Any]:
        body = self.model_dump(mode="json")
        return {"kind": self.KIND, "schema": SCHEMA_VERSION, **{k: body.pop(k) for k in _HEAD}, **body}

    def summary_row(self) -> dict[str, Any]:
        """One row of :meth:`ResultStore.table`: kind, status, identity, selection, errors, timing."""
        row: dict[str, Any] = {"kind": self.KIND, "status": self.status, **self.spec.identity()}
        row.pop("kind", None)
        row = {"kind": self.KIND, **row}
        sels = self.selections()
        if len(sels) == 1:
            row["selected"] = str(sels[0].arch)
        stats = error_statistics(sels)
        for d, s in stats.items():
            row[f"{d} error"] = s["mean"]
            if len(sels) > 1:
                row[f"{d} error std"] = s["std"]
        if sels and sels[0].benchmark and len(sels) == 1 and "cifar10" in sels[0].benchmark:
            row["cifar10 rank"] = sels[0].benchmark["cifar10"].rank
        row["seconds"] = round(self.seconds, 3)
        for k, v in self.timing.items():
            row[f"{k} seconds"] = v
        row["created"] = self.created
        return row


def _register(cls: type) -> type:
    cls.name = cls.KIND  # type: ignore[attr-defined]
    RECORDS.register(cls)
    return cls


class _OneSelection:
    """Records whose result has one ``selected`` architecture."""

    def selections(self) -> list[Selection]:
        return [self.selected] if self.selected is not None else []  # type: ignore[attr-defined]


class _OneArch:
    """Records whose result is one ``arch`` with its ``benchmark`` results."""

    def selections(self) -> list[Selection]:
        arch = self.arch  # type: ignore[attr-defined]
        return [Selection(arch=arch, benchmark=self.benchmark)] if arch is not None else []  # type: ignore


# ============================================================================= the kinds
@_register
class SearchRecord(_OneSelection, Record, SearchResult):
    """A Zero-Cost-PT search: iterations, candidates with validation scores, the selection."""

    KIND: ClassVar[str] = "zcpt-search"
    spec: SearchSpec

    def summary_row(self) -> dict[str, Any]:
        row = super().summary_row()
        row["distinct candidates"] = len(self.candidates)
        return row


@_register
class NaswotRecord(_OneSelection, Record, NaswotResult):
    """One NASWOT run: the best-scored of ``n_samples`` sampled architectures."""

    KIND: ClassVar[str] = "naswot"
    spec: NaswotSpec


@_register
class RandomRecord(Record):
    """Random architectures (one per run seed) with their benchmark results."""

    KIND: ClassVar[str] = "random-baseline"
    spec: RandomSpec
    picks: list[RandomPick] = Field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return [p.seed for p in self.picks]

    def selections(self) -> list[Selection]:
        return list(self.picks)


@_register
class DartsRecord(_OneArch, Record, DartsResult):
    """DARTS on a space: the argmax-alpha architecture of the trained supernet."""

    KIND: ClassVar[str] = "darts"
    spec: DartsSpec


@_register
class DartsPTRecord(_OneArch, Record, DartsPTResult):
    """DARTS-PT: the projected architecture, every decision and the fine-tuning history."""

    KIND: ClassVar[str] = "darts-pt"
    spec: DartsPTSpec


class _TableRecord(Record):
    """A record holding a tidy table (rows of dicts)."""

    rows: list[dict[str, Any]] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)

    def table(self):
        """The rows as a :class:`pandas.DataFrame` (columns in their stored order)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns or None)

    @classmethod
    def of_table(cls, spec: RunSpec, table: Any, seconds: float, environment: Optional[dict] = None) -> "_TableRecord":
        return cls(spec=spec, environment=environment or {}, timing={"scoring": round(seconds, 3)},
                   rows=table.to_dict(orient="records"), columns=list(table.columns))


@_register
class ScoresRecord(_TableRecord):
    """Iteration-0 operation scores of one method (columns of :func:`~..scoring.score_operations`)."""

    KIND: ClassVar[str] = "op-scores"
    spec: ScoresSpec


@_register
class IterativeRecord(_TableRecord):
    """The iterative setting's scores (a ``trajectory`` column per method)."""

    KIND: ClassVar[str] = "iterative-scores"
    spec: IterativeSpec


@_register
class TrainRecord(Record, TrainResult):
    """A final training of one genotype: per-epoch history and the final test accuracy (%)."""

    KIND: ClassVar[str] = "train"
    spec: TrainSpec

    def summary_row(self) -> dict[str, Any]:
        row = super().summary_row()
        row.update({"params (M)": round(self.params_millions, 3), "epochs completed": self.epochs_completed,
                    "test error": self.error})
        return row


@_register
class ProxyStudyRecord(Record, ProxyStudyResult):
    """The proxy study's correlations (its scores stream next to the record, see the spec)."""

    KIND: ClassVar[str] = "proxy-study"
    spec: ProxyStudySpec


# ============================================================================= reading
def record_class(kind: str) -> type:
    return RECORDS.get(kind)


def record_from_json(obj: Any, where: str = "record") -> Record:
    """A typed record from its JSON; a file that is no record raises
    :class:`~zcpt_analysis.errors.DamagedFileError` saying what it holds (files of the first release
    are converted by ``zcpt results migrate``, see :mod:`.legacy`)."""
    if not isinstance(obj, dict):
        raise DamagedFileError(f"{where} holds a JSON {type(obj).__name__}, not a result record (a first-release "
                               "file? convert its folder with `zcpt results migrate FOLDER --out STORE`)")
    if "schema" in obj:
        try:
            if int(obj["schema"]) > SCHEMA_VERSION:
                raise ZcptError(f"{where} has record schema {obj['schema']}; this zcpt-analysis reads up to "
                                f"{SCHEMA_VERSION} (upgrade the package)")
            cls = record_class(str(obj.get("kind", "")))
            return cls.model_validate({k: v for k, v in obj.items() if k not in ("kind", "schema")})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            raise DamagedFileError(f"{where} is not a valid result record ({field}: {err['msg']})") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ZcptError):
                raise
            raise DamagedFileError(f"{where} is not a valid result record ({type(exc).__name__}: {exc})") from exc
    raise DamagedFileError(f"{where} is not a result record of this version (no 'schema'; a first-release file? "
                           "convert its folder with `zcpt results migrate FOLDER --out STORE`)")


__all__ = ["BenchResult", "Selection", "Record", "SearchRecord", "Iteration", "Candidate", "NaswotRecord",
           "RandomRecord", "DartsRecord", "DartsPTRecord", "ScoresRecord", "IterativeRecord", "ProxyStudyRecord",
           "TrainRecord", "record_from_json", "error_statistics", "SCHEMA_VERSION"]
