"""Files of the first release (before record schema 1), read and converted in this one module.

:func:`record_from_legacy` reads a first-release Zero-Cost-PT search, NASWOT record, random-baseline
list or training ``result.json`` as a current record; :func:`migrate` (``zcpt results migrate SRC
--out STORE``) converts a folder of them -- plus operation-score cache entries -- into a results
store (training runs with their ``checkpoint.pt`` and ``log.csv``, so a partial run resumes). Not
convertible, reported with the command that recomputes them: DARTS / DARTS-PT records (the first
release did not record the supernet's shape) and iterative-score entries.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import DamagedFileError, ZcptError
from ..files import read_json
from ..searches.supernet_training import DartsConfig
from ..train import saved_config
from .records import NaswotRecord, RandomRecord, Record, ScoresRecord, SearchRecord, TrainRecord
from .specs import NaswotSpec, RandomSpec, ScoresSpec, SearchSpec, TrainSpec
from .store import ResultStore

RENAMED = {"compat": "supernet_mode"}
"""Settings the first release named differently."""


def _settings(cls: type, config: Mapping[str, Any]) -> Any:
    """``cls`` from a first-release config: renamed keys mapped, keys it no longer has dropped."""
    values = {RENAMED.get(k, k): v for k, v in config.items()}
    return cls(**{k: v for k, v in values.items() if k in cls.model_fields})


def _selection(obj: Any) -> Any:
    """A selection of the first release (``validation_total`` instead of ``score``)."""
    if not obj:
        return None
    obj = dict(obj)
    if "score" not in obj and "validation_total" in obj:
        obj["score"] = obj.pop("validation_total")
    return obj


def _search(obj: Mapping[str, Any]) -> SearchRecord:
    validation = obj.get("validation") or {}
    timing = {"search": float(sum(it.get("seconds", 0) for it in obj.get("iterations", []))),
              "validation": float(validation.get("seconds", 0.0))}
    return SearchRecord(spec=_settings(SearchSpec, obj["config"]), status=obj.get("status", "complete"),
                        environment=dict(obj.get("environment") or {}), timing=timing, created="",
                        iterations=obj.get("iterations", []), candidates=obj.get("candidates", []),
                        validation_batches=validation.get("batches_done", 0), selected=_selection(obj.get("selected")),
                        data=obj.get("data") or {}, proxy=obj.get("proxy") or {}, engine=obj.get("engine") or {})


def _naswot(obj: Mapping[str, Any]) -> NaswotRecord:
    config = {k: v for k, v in obj["config"].items() if k != "bench" or v is not None}
    summary = obj.get("scores_summary") or {}
    return NaswotRecord(spec=_settings(NaswotSpec, config), environment=dict(obj.get("environment") or {}),
                        timing={"scoring": float(obj.get("seconds", 0.0))}, created="",
                        selected=_selection(obj.get("selected")), scored=int(summary.get("n", 0)),
                        nan_scores=int(summary.get("nan", 0)))


def _random(obj: Sequence[Mapping[str, Any]]) -> RandomRecord:
    """The first release wrote a JSON list, one entry per random architecture."""
    seeds = [int(r["config"]["seed"]) for r in obj]
    space = obj[0]["config"].get("space", "nb201") if obj else "nb201"
    spec = RandomSpec(space=space, runs=max(len(seeds), 1), seed=min(seeds) if seeds else 0)
    return RandomRecord(spec=spec, created="", picks=[{**_selection(r["selected"]), "seed": s}
                                                      for r, s in zip(obj, seeds)])


def _train(obj: Mapping[str, Any]) -> TrainRecord:
    """A ``result.json`` of the first release (``config`` + ``genotype``)."""
    config = saved_config(obj["config"])
    done = int(obj.get("epochs_completed", 0))
    seconds = float(sum(r.get("epoch_seconds", 0.0) for r in obj.get("history", [])))
    return TrainRecord(spec=TrainSpec(genotype=json.dumps(obj["genotype"]), config=config),
                       status="complete" if done >= config.epochs else "running",
                       environment={k: obj[k] for k in ("device", "torch", "python") if k in obj},
                       timing={"training": seconds}, created="",
                       **{k: obj[k] for k in ("genotype", "network", "params", "data", "epochs_completed",
                                              "final_test_acc", "best_test_acc", "history") if k in obj})


def record_from_legacy(obj: Any, where: str = "record") -> Record:
    """A first-release file as a current record; anything else is a
    :class:`~zcpt_analysis.errors.DamagedFileError` saying what it holds."""
    try:
        if isinstance(obj, list):
            if obj and all(isinstance(r, dict) and r.get("kind") == "random-baseline" for r in obj):
                return _random(obj)
            raise DamagedFileError(f"{where} holds a JSON list, not a result record")
        if not isinstance(obj, dict):
            raise DamagedFileError(f"{where} holds a JSON {type(obj).__name__}, not a result record")
        kind = obj.get("kind")
        if kind == "zcpt-search":
            return _search(obj)
        if kind == "naswot-baseline":
            return _naswot(obj)
        if "genotype" in obj and "config" in obj and "epochs_completed" in obj:
            return _train(obj)
        if obj.get("method") in ("darts", "darts (alpha fixed)", "darts-pt", "darts-pt (fix alpha)") or \
                kind == "operation-scores" or "rows" in obj:
            raise DamagedFileError(f"{where} is a first-release {obj.get('method') or 'score'} file; convert its "
                                   "folder with `zcpt results migrate FOLDER --out STORE`")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ZcptError):
            raise
        raise DamagedFileError(f"{where} is not a valid result record ({type(exc).__name__}: {exc})") from exc
    raise DamagedFileError(f"{where} is not a result record (no 'kind' / 'schema' this toolkit knows)")


# ============================================================================= migration
@dataclass
class MigrationReport:
    converted: list[tuple[str, str]] = field(default_factory=list)  # (source, record)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why)


def _scores(obj: dict[str, Any]) -> ScoresRecord:
    """A first-release score-cache entry (``{"key", "config", "rows", ...}``) as a record."""
    cfg = obj["config"]
    if cfg.get("kind") != "operation-scores":
        raise ZcptError("not an operation-score entry (iterative entries are not convertible: recompute them with "
                        "`zcpt scores --iterative ...`)")
    data = cfg.get("data") or {}
    values: dict[str, Any] = {"method": cfg["method"], "space": cfg.get("space", "nb201")}
    if "seed" in cfg:
        values.update(seed=cfg["seed"], supernet_options=cfg.get("supernet") or {},
                      supernet_mode=cfg.get("supernet_mode", "fast"), dataset=data.get("dataset", "cifar10"),
                      data_source=data.get("source", "sample"), data_root=data.get("root"))
    if "proxy" in cfg:
        values.update(proxy=cfg["proxy"], proxy_options=cfg.get("proxy_options") or {},
                      proxy_batch_size=cfg.get("batch_size"))
    if "darts" in cfg:
        values["darts"] = DartsConfig.from_json(cfg["darts"])
        for key in ("disc_epochs", "darts_alpha_epoch"):
            if key in cfg:
                values[key] = cfg[key]
    if "avg_acc_over" in cfg:
        values["avg_acc_over"] = cfg["avg_acc_over"]
    return ScoresRecord(spec=ScoresSpec(**values), timing={"scoring": float(obj.get("seconds") or 0.0)},
                        created=obj.get("created", ""), rows=list(obj["rows"]), columns=list(obj.get("columns") or []))


def convert(path: Path) -> Record:
    """The record of one first-release file (clear error if it cannot be converted)."""
    obj = read_json(path)
    if isinstance(obj, dict) and "rows" in obj and "config" in obj:
        return _scores(obj)
    if isinstance(obj, dict) and obj.get("method") in ("darts", "darts (alpha fixed)", "darts-pt",
                                                       "darts-pt (fix alpha)"):
        raise ZcptError("a first-release DARTS / DARTS-PT record does not say the supernet's shape; recompute it "
                        "with `zcpt darts ...` / `zcpt darts-pt ...` (the trained supernet cannot be reused)")
    return record_from_legacy(obj, where=str(path))


def migrate(source: str | Path, store: ResultStore) -> MigrationReport:
    """Convert every first-release record below ``source`` into ``store`` (existing records of the
    same spec are kept); returns what was converted and what was skipped, and why."""
    source = Path(source)
    if not source.exists():
        raise ZcptError(f"{source} does not exist")
    report = MigrationReport()
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*.json") if p.name != "run.json"
                                                      and not p.name.startswith("naswot-scores-"))
    for path in files:
        try:
            obj = read_json(path)
            if isinstance(obj, dict) and "schema" in obj:
                report.already.append(str(path))
                continue
            record = convert(path)
        except ZcptError as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        target = store.path_for(record.spec)
        if target.exists():
            report.already.append(str(path))
            continue
        if isinstance(record, TrainRecord):
            target.parent.mkdir(parents=True, exist_ok=True)
            for name in ("checkpoint.pt", "log.csv"):
                if (path.parent / name).exists():
                    shutil.copy2(path.parent / name, target.parent / name)
        store.save(record)
        report.converted.append((str(path), str(target)))
    return report
