"""Results store for expensive operation scores, keyed by their full configuration.

Every score table (one method, one ``A_t``) is stored once as JSON under
``<root>/scores/<method>-<key>.json``, where ``key`` is a stable hash of the canonical JSON (sorted
keys, no whitespace) of the configuration that determines the scores: method, space, seed, proxy
and its options, epochs, batch sizes, supernet shape, data source, benchmark source and the library
version (:meth:`ScoringContext.config_for`). DARTS-trained supernets live in
``<root>/darts/<key>/`` (checkpoint + history, resumable). Writes are atomic (temporary file +
rename), so a notebook reading the store never sees half a file.

The default root is ``$ZCPT_CACHE``, else ``runs/cache`` in the project folder (git-ignored).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import pandas as pd

from .datadir import _PROJECT_ROOT
from .errors import ZcptError
from .results import atomic_write_json, read_json
from .scoring import METHOD_NAMES, TABLE_COLUMNS, ScoringContext, StateLike, as_partial, get_method, score_operations

CACHE_ENV_VAR = "ZCPT_CACHE"


def default_cache_dir() -> Path:
    """``$ZCPT_CACHE`` if set, else ``<project>/runs/cache``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    return _PROJECT_ROOT / "runs" / "cache"


def canonical_json(config: Any) -> str:
    """The canonical JSON text of ``config`` (sorted keys, compact separators)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"configuration value of type {type(obj).__name__} cannot be part of a cache key")


def config_hash(config: Any, length: int = 20) -> str:
    """Stable hash of ``config``: SHA-256 of its canonical JSON, first ``length`` hex digits."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:length]


class ScoreCache:
    """A folder of cached score tables and trained supernets (see the module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def path_for(self, config: dict) -> Path:
        name = str(config.get("method", config.get("kind", "entry"))).replace("/", "_")
        return self.root / "scores" / f"{name}-{config_hash(config)}.json"

    def darts_dir(self, config: dict) -> Path:
        return self.root / "darts" / config_hash(config)

    def load(self, config: dict) -> Optional[pd.DataFrame]:
        """The cached table of ``config``, or None. A file whose stored config differs (a hash
        collision or a hand-edited file) is an error, not a silent hit."""
        path = self.path_for(config)
        if not path.exists():
            return None
        obj = read_json(path)
        if canonical_json(obj.get("config")) != canonical_json(config):
            raise ZcptError(f"cache entry {path} holds another configuration; delete it or use another --cache-dir")
        return pd.DataFrame(obj["rows"], columns=obj.get("columns") or list(TABLE_COLUMNS))

    def info(self, config: dict) -> Optional[dict]:
        """Metadata of the cached entry of ``config`` (``key``, ``created``, ``seconds`` it took to
        compute), or None if it is not cached."""
        path = self.path_for(config)
        if not path.exists():
            return None
        obj = read_json(path)
        return {"key": obj.get("key"), "created": obj.get("created"), "seconds": obj.get("seconds"), "path": str(path)}

    def save(self, config: dict, table: pd.DataFrame, seconds: float | None = None) -> Path:
        """Store ``table`` under ``config`` atomically; returns the file."""
        path = self.path_for(config)
        atomic_write_json(path, {"key": config_hash(config), "config": config, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                 "seconds": seconds, "columns": list(table.columns),
                                 "rows": table.to_dict(orient="records")})
        return path

    def entries(self) -> pd.DataFrame:
        """One row per cached score table: method, key, path, created, config (JSON text)."""
        rows = []
        for path in sorted((self.root / "scores").glob("*.json")):
            obj = read_json(path)
            rows.append({"method": obj["config"].get("method"), "key": obj.get("key"), "path": str(path),
                         "created": obj.get("created"), "seconds": obj.get("seconds"),
                         "config": canonical_json(obj["config"])})
        return pd.DataFrame(rows, columns=["method", "key", "path", "created", "seconds", "config"])


def cached_scores(context: ScoringContext, methods: Sequence[str] = METHOD_NAMES, cache: ScoreCache | None = None,
                  A_t: StateLike = None, recompute: bool = False) -> pd.DataFrame:
    """:func:`~zcpt_analysis.scoring.score_operations` with every method's table read from / written
    to ``cache`` (default store). The DARTS-trained supernet the training methods need is trained
    once per configuration into the cache and resumed from there."""
    cache = cache or ScoreCache()
    state = as_partial(A_t, context)
    needs_training = any(get_method(m).network == "trained" for m in methods)
    if needs_training and context.trained is None and context.checkpoint_dir is None:
        context.checkpoint_dir = str(cache.darts_dir(context.darts_run_config()))
    tables = []
    for m in methods:
        config = context.config_for(m, state)
        table = None if recompute else cache.load(config)
        if table is None:
            t0 = time.time()
            table = score_operations(context, [m], state)
            cache.save(config, table, seconds=time.time() - t0)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(TABLE_COLUMNS))


def cached_iterative_scores(context: ScoringContext, methods: Sequence[str] = METHOD_NAMES,
                            cache: ScoreCache | None = None, reference: str = "best-acc", retrain_epochs: int = 5,
                            recompute: bool = False) -> pd.DataFrame:
    """:func:`~zcpt_analysis.analysis.iterative_scores` (A.1.1, Figure A1's data) stored in ``cache``
    under the configurations of all its methods, the reference and the retraining epochs."""
    from .analysis import iterative_scores

    cache = cache or ScoreCache()
    names = [get_method(m).name for m in methods]
    ref = get_method(reference).name
    if any(get_method(m).network == "trained" for m in names) and context.trained is None \
            and context.checkpoint_dir is None:
        context.checkpoint_dir = str(cache.darts_dir(context.darts_run_config()))
    config = {"kind": "iterative-scores", "methods": names, "reference": ref, "retrain_epochs": retrain_epochs,
              "method_configs": [context.config_for(m) for m in dict.fromkeys(names + [ref])]}
    table = None if recompute else cache.load(config)
    if table is None:
        t0 = time.time()
        table = iterative_scores(context, names, reference=ref, retrain_epochs=retrain_epochs)
        cache.save(config, table, seconds=time.time() - t0)
    return table
