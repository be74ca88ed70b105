"""Convert a folder of first-release result files into records of a :class:`~.store.ResultStore`.

Converted (``zcpt results migrate SRC --out STORE``): Zero-Cost-PT search records, NASWOT records,
random-baseline lists, operation-score cache entries (``scores/<method>-<hash>.json``) and training
runs (``result.json``, with their ``checkpoint.pt`` and ``log.csv`` copied so a partial run
resumes). Not convertible, reported with the command that recomputes them: DARTS / DARTS-PT
records (the first release did not record the supernet's shape) and iterative-score entries.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ZcptError
from ..files import read_json
from .records import Record, ScoresRecord, TrainRecord, record_from_json
from .specs import ScoresSpec
from .store import ResultStore


@dataclass
class MigrationReport:
    converted: list[tuple[str, str]] = field(default_factory=list)  # (source, record)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, why)


def _legacy_scores(obj: dict[str, Any]) -> ScoresRecord:
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
        from ..searches.darts import DartsConfig

        values["darts"] = DartsConfig.from_json(cfg["darts"])
        for key in ("disc_epochs", "darts_alpha_epoch"):
            if key in cfg:
                values[key] = cfg[key]
    if "avg_acc_over" in cfg:
        values["avg_acc_over"] = cfg["avg_acc_over"]
    spec = ScoresSpec(**values)
    return ScoresRecord(spec=spec, timing={"scoring": float(obj.get("seconds") or 0.0)}, created=obj.get("created", ""),
                        rows=list(obj["rows"]), columns=list(obj.get("columns") or []))


def convert(path: Path) -> Record:
    """The record of one first-release file (clear error if it cannot be converted)."""
    obj = read_json(path)
    if isinstance(obj, dict) and "rows" in obj and "config" in obj:
        return _legacy_scores(obj)
    if isinstance(obj, dict) and obj.get("method") in ("darts", "darts (alpha fixed)", "darts-pt",
                                                       "darts-pt (fix alpha)"):
        raise ZcptError("a first-release DARTS / DARTS-PT record does not say the supernet's shape; recompute it "
                        "with `zcpt darts ...` / `zcpt darts-pt ...` (the trained supernet cannot be reused)")
    return record_from_json(obj, where=str(path))


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
