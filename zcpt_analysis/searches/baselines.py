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

import random
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..bench.benchmark import BenchField
from ..data import DataFields, ImageSet, MinibatchSampler
from ..errors import ZcptError
from ..files import read_json, update_json
from ..options import Result, Settings, Seed, opt
from ..proxies import get_proxy
from ..runtime import derive_seed, resolve_device
from ..setting_checks import ProxyName, check_benchmark_space, check_dataset, check_run_options
from ..spaces import get_space
from ..spaces.nb201 import NUM_ARCHS
from .op_selection import select
from .results import Selection
from .zcpt import arch_seed, make_scorer


# ============================================================================= random architectures
class RandomSettings(BenchField, Settings):
    """Table 4's Random row: ``runs`` uniformly random architectures (seeds ``seed .. seed+runs-1``),
    looked up in NAS-Bench-201."""

    space: str = opt("nb201", "--space", help="search space with a benchmark (nb201)")
    runs: int = opt(4, "--runs", help="random architectures (one per run)", ge=1)
    seed: Seed = opt(0, "--seed", help="first run's seed")

    @field_validator("space")
    @classmethod
    def _space(cls, space: str) -> str:
        return check_benchmark_space(space, "the random baseline")


class RandomPick(Selection):
    """One random architecture and the seed that drew it."""

    seed: int


def random_baseline(settings: RandomSettings, bench: Any) -> list[RandomPick]:
    """One uniformly random architecture per run (seeds ``seed .. seed + runs - 1``), with its
    benchmark results."""
    sp = get_space(settings.space)
    picks = []
    for s in range(settings.seed, settings.seed + settings.runs):
        arch = sp.random_arch(random.Random(derive_seed(s, 8)))
        picks.append(RandomPick(arch=sp.to_json(arch), benchmark=bench.summary(arch), seed=s))
    return picks


# ============================================================================= NASWOT
class NaswotSettings(BenchField, DataFields):
    """One NASWOT run (Mellor et al. 2021): sample ``n_samples`` architectures with ``seed``, score
    each standalone network on one fixed minibatch (``score_seed``), keep the best.

    ``proxy_options=None`` means the proxy's NASWOT options (``{"mode": "train"}`` for nwot: the
    original NASWOT code scores in train mode; see ``ProxySpec.naswot_options``).
    """

    space: str = opt("nb201", "--space", help="search space (NASWOT needs a benchmark: nb201)")
    proxy: ProxyName = opt("nwot", "--proxy", help="zero-cost proxy")
    n_samples: int = opt(1000, "--n-samples", help="architectures sampled per run", ge=1)
    batch_size: int = opt(128, "--batch-size", help="size of the one minibatch every network is scored on", ge=1)
    seed: Seed = opt(0, "--seed", help="run seed (which architectures are sampled)")
    score_seed: Seed = opt(0, "--score-seed", help="seed of the fixed minibatch and of the network inits")
    proxy_options: Optional[dict[str, Any]] = opt(None, "--proxy-option", validate_default=True,
                                                  help="proxy option, e.g. mode=eval")
    network_options: dict[str, Any] = opt(None, "--network-option", factory=dict,
                                          help="standalone network option, e.g. C=8")

    @field_validator("space")
    @classmethod
    def _space(cls, space: str) -> str:
        return check_benchmark_space(space, "NASWOT")

    @field_validator("n_samples")
    @classmethod
    def _at_most_the_space(cls, n_samples: int) -> int:
        if n_samples > NUM_ARCHS:
            raise ZcptError(f"n_samples must be at most {NUM_ARCHS:,} (the architectures of nb201), got "
                            f"{n_samples:,}")
        return n_samples

    @field_validator("proxy_options")
    @classmethod
    def _naswot_options(cls, options: Optional[dict[str, Any]], info: ValidationInfo) -> Optional[dict[str, Any]]:
        if options is None and "proxy" in info.data:
            return dict(get_proxy(info.data["proxy"]).naswot_options)
        return options

    @model_validator(mode="after")
    def _check_with_space(self) -> "NaswotSettings":
        check_dataset(self.space, self.dataset)
        check_run_options(self.space, self.proxy, self.proxy_options, self.batch_size, "batch_size",
                          network_options=self.network_options)
        return self


class NaswotResult(Result):
    """One NASWOT run: the best-scored of the sampled architectures, how many were scored and how
    many scores were NaN; ``timing`` holds the seconds of the scoring."""

    selected: Optional[Selection] = None
    scored: int = 0
    nan_scores: int = 0
    timing: dict[str, float] = Field(default_factory=dict)


class NaswotScoreTable:
    """Cached proxy scores of standalone networks on one fixed minibatch (shared by every NASWOT run
    of the same setting, whatever its seed and sample count), persisted atomically to ``path``."""

    def __init__(self, settings: NaswotSettings, path: Path | None = None, identity: Any = None,
                 images: ImageSet | None = None):
        self.spec, self.path, self.images = settings, path, images
        self.scores: dict[str, float] = {}
        self.identity = identity
        if self.path is not None and self.path.exists():
            stored = read_json(self.path)
            if stored.get("identity") != self.identity:
                raise ZcptError(f"{self.path} was scored with a different configuration; remove it or use another --out")
            self.scores = {k: float(v) for k, v in stored["scores"].items()}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.space = get_space(settings.space)
        self.device = resolve_device(settings.device)
        if get_proxy(settings.proxy).relative:
            raise ZcptError(f"NASWOT caches one score per architecture; {settings.proxy!r} only ranks a set of "
                            "networks. Use one of its component proxies (e.g. --proxy nwot)")
        self.scorer, _ = make_scorer(settings.proxy, settings.proxy_options)

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
        """Write the scores, merged with those another run of the same setting saved meanwhile
        (under the file's lock: two runs at once both keep their work; a score depends only on the
        architecture and the setting, so both runs computed the same value)."""
        if self.path is None:
            return

        def merge(stored: Any) -> dict[str, Any]:
            if isinstance(stored, dict) and stored.get("identity") == self.identity:
                self.scores = {**{k: float(v) for k, v in (stored.get("scores") or {}).items()}, **self.scores}
            return {"kind": "naswot-score-table", "identity": self.identity, "scores": self.scores}

        update_json(self.path, merge)


def naswot_run(table: NaswotScoreTable, seed: int, bench: Any = None, progress: bool = True) -> NaswotResult:
    """One NASWOT run of ``table``'s setting: sample ``n_samples`` distinct architectures with
    ``seed``, keep the best-scored (higher is better)."""
    sp = table.space
    rng = random.Random(derive_seed(seed, 7))
    sampled: dict[str, Any] = {}
    while len(sampled) < table.spec.n_samples:
        arch = sp.random_arch(rng)
        sampled.setdefault(sp.to_json(arch), arch)
    started = time.perf_counter()
    scores = table.score(list(sampled.values()), progress=progress)
    best = select(scores, maximize=True, what=f"NASWOT run {seed}")
    selected = Selection(arch=best, score=scores[best])
    if bench is not None and sp.has_benchmark:
        selected.benchmark = bench.summary(best)
    return NaswotResult(selected=selected, scored=len(scores), nan_scores=int(np.isnan(list(scores.values())).sum()),
                        timing={"scoring": round(time.perf_counter() - started, 3)})
