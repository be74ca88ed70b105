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
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import ImageSet, MinibatchSampler, load_images
from ..errors import ZcptError
from ..results import atomic_write_json, read_json
from ..runtime import derive_seed, resolve_device
from ..spaces import get_space
from .op_selection import select
from .zcpt import arch_seed, environment, make_scorer


def random_baseline(bench, runs: int = 4, seed: int = 0, space: str = "nb201") -> list[dict[str, Any]]:
    """One uniformly random architecture per run (runs ``seed .. seed+runs-1``), with benchmark results."""
    sp = get_space(space)
    records = []
    for s in range(seed, seed + runs):
        arch = sp.random_arch(random.Random(derive_seed(s, 8)))
        records.append({"kind": "random-baseline", "config": {"space": space, "seed": s},
                        "selected": {"arch": sp.to_json(arch), "benchmark": bench.summary(arch)}})
    return records


@dataclass
class NaswotConfig:
    """Configuration of the NASWOT baseline (recorded in every result)."""

    proxy: str = "nwot"
    n_samples: int = 1000
    batch_size: int = 128
    score_seed: int = 0
    dataset: str = "cifar10"
    data_source: str = "auto"
    data_root: str | None = None
    device: str = "auto"
    proxy_options: dict[str, Any] | None = None
    space: str = "nb201"
    bench: str | None = None
    network_options: dict[str, Any] = field(default_factory=dict)

    def effective_proxy_options(self) -> dict[str, Any]:
        if self.proxy_options is not None:
            return dict(self.proxy_options)
        return {"mode": "train"} if self.proxy == "nwot" else {}

    def score_table_name(self) -> str:
        opts = "-".join(f"{k}={v}" for k, v in sorted({**self.effective_proxy_options(),
                                                       **{f"net.{k}": v for k, v in self.network_options.items()}}.items()))
        return (f"naswot-scores-{self.space}-{self.proxy}{'-' + opts if opts else ''}-b{self.batch_size}-"
                f"{self.dataset}-s{self.score_seed}.json")


@dataclass
class NaswotScoreTable:
    """Cached proxy scores of standalone networks (one fixed minibatch), persisted atomically."""

    config: NaswotConfig
    path: Path | None
    scores: dict[str, float] = field(default_factory=dict)
    images: ImageSet | None = None

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            stored = read_json(self.path)
            if stored.get("config") != self._config_json():
                raise ZcptError(f"{self.path} was scored with a different configuration; remove it or use another --out")
            self.scores = {k: float(v) for k, v in stored["scores"].items()}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.space = get_space(self.config.space)
        self.device = resolve_device(self.config.device)
        self.scorer, _ = make_scorer(self.config.proxy, self.config.effective_proxy_options())

    def _config_json(self) -> dict[str, Any]:
        cfg = dataclasses.asdict(self.config)
        for key in ("device", "n_samples", "bench"):  # do not change the scores
            cfg.pop(key)
        if not cfg["network_options"]:  # the paper's network sizes (tables written before this option)
            cfg.pop("network_options")
        cfg["proxy_options"] = self.config.effective_proxy_options()
        return cfg

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._batch is None:
            if self.images is None:
                self.images = load_images(self.config.dataset, self.config.data_source, self.config.data_root)
            sampler = MinibatchSampler(self.images, self.config.batch_size, seed=derive_seed(self.config.score_seed, 9),
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
            for k, arch in enumerate(tqdm(missing, desc=f"NASWOT {self.config.proxy} scores", disable=not progress)):
                net = self.space.network(self.space.parse(arch), num_classes=num_classes,
                                         seed=arch_seed(self.config.score_seed, arch),
                                         **self.config.network_options).to(self.device)
                self.scores[arch] = float(self.scorer(net, inputs, targets))
                if (k + 1) % save_every == 0:
                    self.save()
            self.save()
        return {self.space.to_json(a): self.scores[self.space.to_json(a)] for a in archs}

    def save(self) -> None:
        if self.path is not None:
            atomic_write_json(self.path, {"kind": "naswot-score-table", "config": self._config_json(),
                                          "scores": self.scores})


def naswot_run(table: NaswotScoreTable, seed: int, bench=None, progress: bool = True) -> dict[str, Any]:
    """One NASWOT run: sample ``n_samples`` distinct architectures with ``seed``, keep the best-scored."""
    cfg = table.config
    sp = table.space
    rng = random.Random(derive_seed(seed, 7))
    sampled: dict[str, Any] = {}
    while len(sampled) < cfg.n_samples:
        arch = sp.random_arch(rng)
        sampled.setdefault(sp.to_json(arch), arch)
    started = time.perf_counter()
    scores = table.score(list(sampled.values()), progress=progress)
    best = select(scores, maximize=True, what=f"NASWOT run {seed}")
    record: dict[str, Any] = {"kind": "naswot-baseline", "config": dict(dataclasses.asdict(cfg), seed=seed,
                                                                          proxy_options=cfg.effective_proxy_options()),
                              "environment": environment(table.device), "seconds": round(time.perf_counter() - started, 3),
                              "selected": {"arch": best, "score": scores[best]},
                              "scores_summary": {"n": len(scores), "nan": int(np.isnan(list(scores.values())).sum())}}
    if bench is not None and sp.has_benchmark:
        record["selected"]["benchmark"] = bench.summary(best)
    return record
