"""Typed result records: one dataclass per experiment kind, with ``to_json`` / ``from_json`` and a
schema version. Every run function returns one; callers read attributes
(``record.selected.benchmark["cifar10"].error``), not nested dict keys.

JSON layout (schema 1): ``{"kind", "schema", "status", "spec": {...}, "environment": {...}, ...}``
plus the kind's own fields. Records written before schema 1 (the first release's ``zcpt search``,
``zcpt baseline``, ``zcpt darts``/``darts-pt``, ``zcpt scores`` and ``zcpt train`` files) are read by
:func:`record_from_json` too (``legacy`` readers below); ``zcpt results migrate`` rewrites a folder
of them in the current layout.

Test errors are in % (100 - NAS-Bench-201 200-epoch test accuracy); ``BenchResult.error`` is the
seed-mean error, ``trial_errors`` the per-training-trial errors.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..errors import DamagedFileError, ZcptError
from ..registry import Registry
from .specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, RandomSpec, RunSpec, ScoresSpec, SearchSpec,
                    TrainSpec)

SCHEMA_VERSION = 1
STATUSES: tuple[str, ...] = ("running", "searching", "validating", "complete")


def now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ============================================================================= pieces
@dataclass(frozen=True)
class BenchResult:
    """NAS-Bench-201 results of one architecture on one dataset (200 epochs, %)."""

    index: int
    trials: tuple[float, ...]
    mean: float
    error: float
    trial_errors: tuple[float, ...]
    rank: int
    percentile: float
    num_archs: int

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "BenchResult":
        trials = tuple(float(t) for t in obj.get("trials", ()))
        mean = float(obj["mean"]) if "mean" in obj else 100.0 - float(obj["error"])
        return cls(int(obj.get("index", -1)), trials, mean, float(obj.get("error", 100.0 - mean)),
                   tuple(float(t) for t in obj.get("trial_errors", [100.0 - t for t in trials])),
                   int(obj.get("rank", 0)), float(obj.get("percentile", math.nan)), int(obj.get("num_archs", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "trials": list(self.trials), "mean": self.mean, "error": self.error,
                "trial_errors": list(self.trial_errors), "rank": self.rank, "percentile": self.percentile,
                "num_archs": self.num_archs}


Benchmark = dict[str, BenchResult]


def bench_from_json(obj: Optional[Mapping[str, Any]]) -> Benchmark:
    return {d: BenchResult.from_json(v) for d, v in (obj or {}).items()}


def bench_to_json(bench: Mapping[str, BenchResult]) -> dict[str, Any]:
    return {d: b.to_json() for d, b in bench.items()}


@dataclass
class Selection:
    """A selected architecture with its NAS-Bench-201 results (empty outside NB201)."""

    arch: Any
    benchmark: Benchmark = field(default_factory=dict)
    score: Optional[float] = None
    """The score that selected it (validation total, NASWOT proxy score), where there is one."""
    iterations: list[int] = field(default_factory=list)

    def error(self, dataset: str = "cifar10") -> float:
        return self.benchmark[dataset].error

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "benchmark": bench_to_json(self.benchmark), "score": self.score,
                "iterations": list(self.iterations)}

    @classmethod
    def from_json(cls, obj: Optional[Mapping[str, Any]]) -> Optional["Selection"]:
        if not obj:
            return None
        score = obj.get("score", obj.get("validation_total"))
        return cls(obj["arch"], bench_from_json(obj.get("benchmark")), None if score is None else float(score),
                   list(obj.get("iterations", [])))


def error_statistics(selections: Iterable[Optional[Selection]]) -> dict[str, dict[str, float]]:
    """Mean ± std (population std, ddof=0) over runs of the selected architectures' seed-mean test
    error, per dataset (runs without a benchmark result are left out).

    This is the paper's convention: Table 3 reports Zero-Cost-PT(synflow) on CIFAR-10 as 6.24 ±
    0.00 although that architecture's three training trials differ (93.74 / 93.56 / 93.98), so the
    std is over runs, not trials. ``n`` is the number of runs.
    """
    sels = [s for s in selections if s is not None and s.benchmark]
    datasets: list[str] = []
    for s in sels:
        datasets += [d for d in s.benchmark if d not in datasets]
    stats = {}
    for d in datasets:
        arr = np.asarray([s.benchmark[d].error for s in sels if d in s.benchmark], dtype=float)
        stats[d] = {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}
    return stats


# ============================================================================= base
RECORDS: Registry[type] = Registry("record kind")


@dataclass
class Record:
    """What every record has: its spec, status, environment and timing (seconds per stage)."""

    KIND: ClassVar[str] = ""
    SPEC: ClassVar[type] = RunSpec

    spec: RunSpec
    status: str = "complete"
    environment: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    created: str = field(default_factory=now)

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
        out = {"kind": self.KIND, "schema": SCHEMA_VERSION, "status": self.status, "spec": self.spec.to_json(),
               "environment": self.environment, "timing": self.timing, "created": self.created}
        out.update(self._body())
        return out

    def _body(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Record":
        spec = cls.SPEC.from_json(obj["spec"])
        base = dict(spec=spec, status=obj.get("status", "complete"), environment=dict(obj.get("environment") or {}),
                    timing={k: float(v) for k, v in (obj.get("timing") or {}).items() if v is not None},
                    created=obj.get("created", ""))
        return cls(**base, **cls._body_from_json(obj))

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {}

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


# ============================================================================= Zero-Cost-PT
@dataclass
class Iteration:
    """One search iteration: its decisions (``steps``, see :class:`~..searches.orderings.Step`),
    topology trace (DARTS spaces) and the candidate architecture it yields."""

    iteration: int
    alpha_seed: int
    steps: list[Any]
    arch: Any
    evaluations: int
    seconds: float
    topology: Optional[dict[str, Any]] = None

    def to_json(self) -> dict[str, Any]:
        out = {"iteration": self.iteration, "alpha_seed": self.alpha_seed, "steps": [s.to_json() for s in self.steps],
               "arch": self.arch, "evaluations": self.evaluations, "seconds": self.seconds}
        if self.topology is not None:
            out["topology"] = self.topology
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Iteration":
        from ..searches.orderings import Step

        return cls(int(obj["iteration"]), int(obj["alpha_seed"]), [Step.from_json(s) for s in obj["steps"]],
                   obj["arch"], int(obj["evaluations"]), float(obj["seconds"]), obj.get("topology"))


@dataclass
class Candidate:
    """A distinct candidate of the validation stage: its validation scores (one per minibatch)."""

    arch: Any
    iterations: list[int]
    scores: list[float] = field(default_factory=list)
    total: Optional[float] = None
    benchmark: Benchmark = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "iterations": self.iterations, "scores": self.scores, "total": self.total,
                "benchmark": bench_to_json(self.benchmark)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "Candidate":
        return cls(obj["arch"], list(obj.get("iterations", [])), [float(s) for s in obj.get("scores", [])],
                   None if obj.get("total") is None else float(obj["total"]), bench_from_json(obj.get("benchmark")))


@_register
@dataclass
class SearchRecord(Record):
    """A Zero-Cost-PT search: iterations, candidates with validation scores, the selection.

    ``status``: ``searching`` (stage 1 under way), ``validating`` (stage 2), ``complete``.
    ``validation_batches`` counts the validation minibatches scored so far (resume point).
    """

    KIND: ClassVar[str] = "zcpt-search"
    SPEC: ClassVar[type] = SearchSpec

    iterations: list[Iteration] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    validation_batches: int = 0
    selected: Optional[Selection] = None
    data: dict[str, Any] = field(default_factory=dict)
    proxy: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)
    benchmark_error: Optional[str] = None

    def selections(self) -> list[Selection]:
        return [self.selected] if self.selected is not None else []

    def _body(self) -> dict[str, Any]:
        return {"iterations": [it.to_json() for it in self.iterations],
                "candidates": [c.to_json() for c in self.candidates], "validation_batches": self.validation_batches,
                "selected": self.selected.to_json() if self.selected else None, "data": self.data,
                "proxy": self.proxy, "engine": self.engine, "benchmark_error": self.benchmark_error}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"iterations": [Iteration.from_json(i) for i in obj.get("iterations", [])],
                "candidates": [Candidate.from_json(c) for c in obj.get("candidates", [])],
                "validation_batches": int(obj.get("validation_batches", 0)),
                "selected": Selection.from_json(obj.get("selected")), "data": dict(obj.get("data") or {}),
                "proxy": dict(obj.get("proxy") or {}), "engine": dict(obj.get("engine") or {}),
                "benchmark_error": obj.get("benchmark_error")}

    @classmethod
    def from_legacy(cls, obj: Mapping[str, Any]) -> "SearchRecord":
        """A record written by the first release (``config`` instead of ``spec``)."""
        spec = SearchSpec.from_json(obj["config"], strict=False)
        validation = obj.get("validation") or {}
        timing = {"search": float(sum(it.get("seconds", 0) for it in obj.get("iterations", []))),
                  "validation": float(validation.get("seconds", 0.0))}
        body = cls._body_from_json({**obj, "validation_batches": validation.get("batches_done", 0)})
        return cls(spec=spec, status=obj.get("status", "complete"), environment=dict(obj.get("environment") or {}),
                   timing=timing, created="", **body)

    def summary_row(self) -> dict[str, Any]:
        row = super().summary_row()
        row["distinct candidates"] = len(self.candidates)
        return row


# ============================================================================= baselines
@_register
@dataclass
class NaswotRecord(Record):
    """One NASWOT run: the best-scored of ``n_samples`` sampled architectures."""

    KIND: ClassVar[str] = "naswot"
    SPEC: ClassVar[type] = NaswotSpec

    selected: Optional[Selection] = None
    scored: int = 0
    nan_scores: int = 0

    def selections(self) -> list[Selection]:
        return [self.selected] if self.selected is not None else []

    def _body(self) -> dict[str, Any]:
        return {"selected": self.selected.to_json() if self.selected else None, "scored": self.scored,
                "nan_scores": self.nan_scores}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"selected": Selection.from_json(obj.get("selected")), "scored": int(obj.get("scored", 0)),
                "nan_scores": int(obj.get("nan_scores", 0))}

    @classmethod
    def from_legacy(cls, obj: Mapping[str, Any]) -> "NaswotRecord":
        cfg = dict(obj["config"])
        spec = NaswotSpec.from_json({k: v for k, v in cfg.items() if k != "bench" or v is not None}, strict=False)
        summary = obj.get("scores_summary") or {}
        return cls(spec=spec, environment=dict(obj.get("environment") or {}),
                   timing={"scoring": float(obj.get("seconds", 0.0))}, created="",
                   selected=Selection.from_json(obj.get("selected")), scored=int(summary.get("n", 0)),
                   nan_scores=int(summary.get("nan", 0)))


@_register
@dataclass
class RandomRecord(Record):
    """Random architectures (one per run seed) with their benchmark results."""

    KIND: ClassVar[str] = "random-baseline"
    SPEC: ClassVar[type] = RandomSpec

    picks: list[Selection] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    def selections(self) -> list[Selection]:
        return list(self.picks)

    def _body(self) -> dict[str, Any]:
        return {"picks": [dict(p.to_json(), seed=s) for p, s in zip(self.picks, self.seeds)]}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        picks = obj.get("picks", [])
        return {"picks": [Selection.from_json(p) for p in picks], "seeds": [int(p["seed"]) for p in picks]}

    @classmethod
    def from_legacy(cls, obj: Sequence[Mapping[str, Any]]) -> "RandomRecord":
        """The first release wrote a JSON list, one entry per random architecture."""
        seeds = [int(r["config"]["seed"]) for r in obj]
        space = obj[0]["config"].get("space", "nb201") if obj else "nb201"
        spec = RandomSpec(space=space, runs=max(len(seeds), 1), seed=min(seeds) if seeds else 0)
        return cls(spec=spec, created="", picks=[Selection.from_json(r["selected"]) for r in obj], seeds=seeds)


# ============================================================================= DARTS / DARTS-PT
@_register
@dataclass
class DartsRecord(Record):
    """DARTS on a space: the argmax-alpha architecture of the trained supernet."""

    KIND: ClassVar[str] = "darts"
    SPEC: ClassVar[type] = DartsSpec

    arch: Any = None
    benchmark: Benchmark = field(default_factory=dict)
    final_valid_acc: Optional[float] = None
    epochs_done: int = 0

    def selections(self) -> list[Selection]:
        return [Selection(self.arch, self.benchmark)] if self.arch is not None else []

    def _body(self) -> dict[str, Any]:
        return {"arch": self.arch, "benchmark": bench_to_json(self.benchmark), "final_valid_acc": self.final_valid_acc,
                "epochs_done": self.epochs_done}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"arch": obj.get("arch"), "benchmark": bench_from_json(obj.get("benchmark")),
                "final_valid_acc": obj.get("final_valid_acc"), "epochs_done": int(obj.get("epochs_done", 0))}


@_register
@dataclass
class DartsPTRecord(Record):
    """DARTS-PT: the projected architecture, every decision and the fine-tuning history."""

    KIND: ClassVar[str] = "darts-pt"
    SPEC: ClassVar[type] = DartsPTSpec

    arch: Any = None
    benchmark: Benchmark = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    finetune_valid_acc: list[float] = field(default_factory=list)
    finetune_train_acc: list[float] = field(default_factory=list)

    def selections(self) -> list[Selection]:
        return [Selection(self.arch, self.benchmark)] if self.arch is not None else []

    def _body(self) -> dict[str, Any]:
        return {"arch": self.arch, "benchmark": bench_to_json(self.benchmark), "decisions": self.decisions,
                "finetune_valid_acc": self.finetune_valid_acc, "finetune_train_acc": self.finetune_train_acc}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"arch": obj.get("arch"), "benchmark": bench_from_json(obj.get("benchmark")),
                "decisions": list(obj.get("decisions", [])), "finetune_valid_acc": list(obj.get("finetune_valid_acc", [])),
                "finetune_train_acc": list(obj.get("finetune_train_acc", []))}


# ============================================================================= operation scores
@dataclass
class _TableRecord(Record):
    """A record holding a tidy table (rows of dicts)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def table(self):
        """The rows as a :class:`pandas.DataFrame` (columns in their stored order)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns or None)

    def _body(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"rows": list(obj.get("rows", [])), "columns": list(obj.get("columns", []))}

    @classmethod
    def of_table(cls, spec: RunSpec, table, seconds: float, environment: Optional[dict] = None) -> "_TableRecord":
        return cls(spec=spec, environment=environment or {}, timing={"scoring": round(seconds, 3)},
                   rows=table.to_dict(orient="records"), columns=list(table.columns))


@_register
@dataclass
class ScoresRecord(_TableRecord):
    """Iteration-0 operation scores of one method (columns of :func:`~..scoring.score_operations`)."""

    KIND: ClassVar[str] = "op-scores"
    SPEC: ClassVar[type] = ScoresSpec


@_register
@dataclass
class IterativeRecord(_TableRecord):
    """The iterative setting's scores (a ``trajectory`` column per method)."""

    KIND: ClassVar[str] = "iterative-scores"
    SPEC: ClassVar[type] = IterativeSpec


# ============================================================================= training
@_register
@dataclass
class TrainRecord(Record):
    """A final training of one genotype: per-epoch history and the final test accuracy (%)."""

    KIND: ClassVar[str] = "train"
    SPEC: ClassVar[type] = TrainSpec

    genotype: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    params: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    epochs_completed: int = 0
    final_test_acc: Optional[float] = None
    best_test_acc: Optional[float] = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def params_millions(self) -> float:
        return self.params / 1e6

    @property
    def error(self) -> Optional[float]:
        """Final test error (%), the number the DARTS tables report."""
        return None if self.final_test_acc is None else 100.0 - self.final_test_acc

    def _body(self) -> dict[str, Any]:
        return {"genotype": self.genotype, "network": self.network, "params": self.params,
                "params_millions": self.params_millions, "data": self.data, "epochs_completed": self.epochs_completed,
                "final_test_acc": self.final_test_acc, "best_test_acc": self.best_test_acc, "history": self.history}

    @classmethod
    def _body_from_json(cls, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {k: obj.get(k, d) for k, d in (("genotype", {}), ("network", {}), ("params", 0), ("data", {}),
                                              ("epochs_completed", 0), ("final_test_acc", None),
                                              ("best_test_acc", None), ("history", []))}

    @classmethod
    def from_legacy(cls, obj: Mapping[str, Any]) -> "TrainRecord":
        """A ``result.json`` of the first release (``config`` + ``genotype``)."""
        import json as _json

        from ..train import config_from_dict

        cfg = dict(obj["config"])
        if "lr_min" in cfg:
            cfg["learning_rate_min"] = cfg.pop("lr_min")
        for key in ("progress",):
            cfg.pop(key, None)
        config = config_from_dict(cfg)
        spec = TrainSpec(genotype=_json.dumps(obj["genotype"]), config=config)
        done = int(obj.get("epochs_completed", 0))
        body = cls._body_from_json(obj)
        seconds = float(sum(r.get("epoch_seconds", 0.0) for r in obj.get("history", [])))
        return cls(spec=spec, status="complete" if done >= config.epochs else "running",
                   environment={k: obj[k] for k in ("device", "torch", "python") if k in obj},
                   timing={"training": seconds}, created="", **body)

    def summary_row(self) -> dict[str, Any]:
        row = super().summary_row()
        row.update({"params (M)": round(self.params_millions, 3), "epochs completed": self.epochs_completed,
                    "test error": self.error})
        return row


# ============================================================================= reading
def record_class(kind: str) -> type:
    return RECORDS.get(kind)


def record_from_json(obj: Any, where: str = "record") -> Record:
    """A typed record from its JSON (current schema or a first-release file); a file that is no
    record raises :class:`~zcpt_analysis.errors.DamagedFileError` saying what it holds."""
    try:
        if isinstance(obj, list):
            if obj and all(isinstance(r, dict) and r.get("kind") == "random-baseline" for r in obj):
                return RandomRecord.from_legacy(obj)
            raise DamagedFileError(f"{where} holds a JSON list, not a result record")
        if not isinstance(obj, dict):
            raise DamagedFileError(f"{where} holds a JSON {type(obj).__name__}, not a result record")
        if "schema" in obj:
            if int(obj["schema"]) > SCHEMA_VERSION:
                raise ZcptError(f"{where} has record schema {obj['schema']}; this zcpt-analysis reads up to "
                                f"{SCHEMA_VERSION} (upgrade the package)")
            return record_class(obj.get("kind", "")).from_json(obj)
        kind = obj.get("kind")
        if kind == "zcpt-search":
            return SearchRecord.from_legacy(obj)
        if kind == "naswot-baseline":
            return NaswotRecord.from_legacy(obj)
        if "genotype" in obj and "config" in obj and "epochs_completed" in obj:
            return TrainRecord.from_legacy(obj)
        if obj.get("method") in ("darts", "darts (alpha fixed)", "darts-pt", "darts-pt (fix alpha)") or \
                obj.get("kind") == "operation-scores" or "rows" in obj:
            raise DamagedFileError(f"{where} is a first-release {obj.get('method') or 'score'} file; convert its "
                                   "folder with `zcpt results migrate FOLDER --out STORE`")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ZcptError):
            raise
        raise DamagedFileError(f"{where} is not a valid result record ({type(exc).__name__}: {exc})") from exc
    raise DamagedFileError(f"{where} is not a result record (no 'kind' / 'schema' this toolkit knows)")


__all__ = ["BenchResult", "Selection", "Record", "SearchRecord", "Iteration", "Candidate", "NaswotRecord",
           "RandomRecord", "DartsRecord", "DartsPTRecord", "ScoresRecord", "IterativeRecord", "TrainRecord",
           "record_from_json", "error_statistics", "SCHEMA_VERSION"]
