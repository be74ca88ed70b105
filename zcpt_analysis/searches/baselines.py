"""Baselines of Table 4 on NAS-Bench-201: random architectures and NASWOT.

* **Random**: a uniformly sampled architecture per run, evaluated by benchmark lookup (Table 4's
  "Random" row: the spread of the whole space, not a search that picks the best of many).
* **NASWOT** (Mellor et al. 2021): sample ``n_samples`` architectures (1000 in the paper),
  score each standalone network with a zero-cost proxy on one minibatch, keep the highest score.
  As in the NASWOT paper's released score tables, every architecture is scored once on one fixed
  minibatch with a fixed init (seeded by ``score_seed`` and the architecture) and the runs sample
  from those scores; the scores are cached on disk, so further runs only score new architectures.
  nwot defaults to ``mode="train"`` (batch statistics), as in the original NASWOT code.
"""
from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import ImageSet, MinibatchSampler
from ..errors import ZcptError
from ..files import atomic_write_json, read_json
from ..runs.records import NaswotRecord, RandomRecord, Selection, bench_from_json, now
from ..runs.specs import NaswotSpec, RandomSpec
from ..runtime import derive_seed, resolve_device
from ..spaces import get_space
from .op_selection import select
from .zcpt import arch_seed, environment, make_scorer


def random_baseline(spec: RandomSpec, bench: Any) -> RandomRecord:
    """One uniformly random architecture per run (seeds ``spec.seed .. spec.seed + spec.runs - 1``),
    with its benchmark results."""
    sp = get_space(spec.space)
    seeds = list(range(spec.seed, spec.seed + spec.runs))
    picks = []
    for s in seeds:
        arch = sp.random_arch(random.Random(derive_seed(s, 8)))
        picks.append(Selection(sp.to_json(arch), bench_from_json(bench.summary(arch))))
    return RandomRecord(spec=spec, created=now(), picks=picks, seeds=seeds)


def run_random(spec: RandomSpec, store: Any = None, bench: Any = None) -> RandomRecord:
    """:func:`random_baseline`, saved into ``store`` if given."""
    record = random_baseline(spec, bench if bench is not None else spec.load_bench())
    if store is not None:
        store.save(record)
    return record


class NaswotScoreTable:
    """Cached proxy scores of standalone networks on one fixed minibatch (shared by every NASWOT run
    of the same setting, whatever its seed and sample count), persisted atomically to ``path``."""

    def __init__(self, spec: NaswotSpec, path: Path | None = None, images: ImageSet | None = None):
        self.spec, self.path, self.images = spec, path, images
        self.scores: dict[str, float] = {}
        self.identity = spec.score_table_identity()
        if self.path is not None and self.path.exists():
            stored = read_json(self.path)
            if stored.get("identity") != self.identity:
                raise ZcptError(f"{self.path} was scored with a different configuration; remove it or use another --out")
            self.scores = {k: float(v) for k, v in stored["scores"].items()}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.space = get_space(spec.space)
        self.device = resolve_device(spec.device)
        from ..proxies import get_proxy

        if get_proxy(spec.proxy).relative:
            raise ZcptError(f"NASWOT caches one score per architecture; {spec.proxy!r} only ranks a set of networks. "
                            "Use one of its component proxies (e.g. --proxy nwot)")
        self.scorer, _ = make_scorer(spec.proxy, spec.proxy_options)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._batch is None:
            if self.images is None:
                self.images = self.spec.load_images()
            sampler = MinibatchSampler(self.images, self.spec.batch_size, seed=derive_seed(self.spec.score_seed, 9),
                                       device=self.device)
            self._batch = sampler.sample()
        return self._batch

    def score(self, archs: list[Any], progress: bool = True, save_every: int = 25) -> dict[str, float]:
        """Scores of ``archs`` (computing and caching the missing ones)."""
        from tqdm.auto import tqdm

        missing = [a for a in dict.fromkeys(self.space.to_json(a) for a in archs) if a not in self.scores]
        if missing:
            inputs, targets = self.batch()
            num_classes = self.images.num_classes if self.images is not None else 10
            for k, arch in enumerate(tqdm(missing, desc=f"NASWOT {self.spec.proxy} scores", disable=not progress)):
                net = self.space.network(self.space.parse(arch), num_classes=num_classes,
                                         seed=arch_seed(self.spec.score_seed, arch),
                                         **self.spec.network_options).to(self.device)
                self.scores[arch] = float(self.scorer(net, inputs, targets))
                if (k + 1) % save_every == 0:
                    self.save()
            self.save()
        return {self.space.to_json(a): self.scores[self.space.to_json(a)] for a in archs}

    def save(self) -> None:
        if self.path is not None:
            atomic_write_json(self.path, {"kind": "naswot-score-table", "identity": self.identity,
                                          "scores": self.scores})


def naswot_run(table: NaswotScoreTable, seed: int, bench: Any = None, progress: bool = True) -> NaswotRecord:
    """One NASWOT run of ``table``'s setting: sample ``n_samples`` distinct architectures with
    ``seed``, keep the best-scored."""
    spec = dataclasses.replace(table.spec, seed=seed)
    sp = table.space
    rng = random.Random(derive_seed(seed, 7))
    sampled: dict[str, Any] = {}
    while len(sampled) < spec.n_samples:
        arch = sp.random_arch(rng)
        sampled.setdefault(sp.to_json(arch), arch)
    started = time.perf_counter()
    scores = table.score(list(sampled.values()), progress=progress)
    best = select(scores, maximize=True, what=f"NASWOT run {seed}")
    selected = Selection(best, score=scores[best])
    if bench is not None and sp.has_benchmark:
        selected.benchmark = bench_from_json(bench.summary(best))
    return NaswotRecord(spec=spec, environment=environment(table.device), created=now(),
                        timing={"scoring": round(time.perf_counter() - started, 3)}, selected=selected,
                        scored=len(scores), nan_scores=int(np.isnan(list(scores.values())).sum()))


_TABLES: dict[tuple[str, str], NaswotScoreTable] = {}


def run_naswot(spec: NaswotSpec, store: Any = None, progress: bool = False, bench: Any = None,
               images: ImageSet | None = None) -> NaswotRecord:
    """One NASWOT run, its per-architecture scores cached next to its record in ``store`` (and,
    within this process, shared by the runs of the same setting)."""
    path = store.root / spec.score_table_name() if store is not None else None
    key = (str(path), json.dumps(spec.score_table_identity(), sort_keys=True))
    table = _TABLES.get(key) if path is not None else None
    if table is None:
        table = NaswotScoreTable(spec, path, images=images)
        if path is not None:
            _TABLES[key] = table
    if bench is None and get_space(spec.space).has_benchmark:
        bench = spec.load_bench()
    record = naswot_run(table, spec.seed, bench=bench, progress=progress)
    if store is not None:
        store.save(record)
    return record
