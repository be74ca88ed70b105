"""Zero-Cost-PT search: Algorithm 1 (NAS-Bench-201) and Algorithm 2 (DARTS spaces, with topology).

Stage 1 -- N search iterations, all from the same untrained supernet ``A_0`` (its weights never
change; only alpha is re-drawn between iterations, as the published code does). Each iteration
discretizes every edge in the chosen :mod:`ordering <zcpt_analysis.search.orderings>` with zc-pt
(keep the op whose removal lowers the proxy score most); spaces with topology selection (DARTS)
then keep two incoming edges per node. Every iteration yields one candidate architecture.

Stage 2 -- validation: each *distinct* candidate is built as a standalone network (fresh init,
seeded by the architecture) and scored with the same proxy on V minibatches (the j-th minibatch is
shared by all candidates); the candidate with the largest summed score is selected.

Randomness is derived from the run seed with :func:`..runtime.derive_seed` per purpose and
iteration (supernet weights: ``seed``; alpha of iteration i: ``(seed, 1, i)``; minibatches of
iteration i: ``(seed, 2, i)``; edge order of iteration i: ``(seed, 3, i)``; validation minibatches:
``(seed, 4)``), so an interrupted run resumes at its last completed iteration (or validation
minibatch) and gives exactly the result of an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
import platform
import random
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..data import ImageSet, MinibatchSampler, load_images, search_split
from ..errors import ZcptError
from ..results import atomic_write_json, read_json
from ..runtime import derive_seed, resolve_device
from ..spaces import get_space
from ..spaces.base import SearchSpace
from ..supernet import Supernet
from .fast_nwot import FastNwotPerturbations
from .op_selection import Scorer, select, zc_pt_scores
from .orderings import EdgeScores, Step, check_ordering, iter_discretize

RECORD_KIND = "zcpt-search"
COMPAT_MODES = ("fast", "published")
ENGINES = ("auto", "batched", "simple")


@dataclass
class ZcptConfig:
    """Everything that determines a Zero-Cost-PT run (recorded verbatim in the result record).

    ``train_portion=None`` means 0.5 (DARTS-PT's search split) for full datasets and 1.0 for the
    small shared sample (its 400 training images; half would not fill a batch of 256).
    ``supernet_options`` / ``network_options`` are passed to the space's supernet / standalone
    network builders (e.g. ``{"C": 4, "N": 1}`` for tiny test networks; default: the paper's sizes).
    ``compat="published"`` runs the supernet and nwot as the published code does (every op
    computed, weight-0 ops on zeroed inputs, hooks on every module whose type name contains ReLU).
    ``engine``: ``batched`` scores the |O| perturbations of an edge in one forward
    (:mod:`.fast_nwot`, nwot in eval mode only; same scores), ``simple`` runs one forward per
    perturbation through the proxy registry, ``auto`` picks ``batched`` whenever it applies.
    ``channels_last`` (``None`` = on CPU only) runs convolutions in NHWC layout (faster on CPUs).
    """

    space: str = "nb201"
    proxy: str = "nwot"
    order: str = "random"
    N: int = 10
    V: int = 100
    batch_size: int = 256
    seed: int = 0
    dataset: str = "cifar10"
    data_source: str = "auto"
    data_root: str | None = None
    train_portion: float | None = None
    device: str = "auto"
    compat: str = "fast"
    proxy_options: dict[str, Any] = field(default_factory=dict)
    supernet_options: dict[str, Any] = field(default_factory=dict)
    network_options: dict[str, Any] = field(default_factory=dict)
    topology: str = "algorithm2"
    published_once_order: bool = False
    bench: str | None = None
    engine: str = "auto"
    channels_last: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ZcptConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})

    def validate(self) -> None:
        check_ordering(self.order)
        get_space(self.space)
        if self.engine not in ENGINES:
            raise ZcptError(f"unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")
        if self.compat not in COMPAT_MODES:
            raise ZcptError(f"unknown compat mode {self.compat!r}; valid: {', '.join(COMPAT_MODES)}")
        for name in ("N", "V", "batch_size"):
            if getattr(self, name) < 1:
                raise ZcptError(f"{name} must be at least 1, got {getattr(self, name)}")

    def result_name(self) -> str:
        """File name of this run's record."""
        compat = "" if self.compat == "fast" else f"-{self.compat}"
        return (f"zcpt-{self.space}-{self.proxy}-{self.order}-N{self.N}-V{self.V}-b{self.batch_size}-"
                f"{self.dataset}{compat}-s{self.seed}.json")


def arch_seed(seed: int, arch_json: Any) -> int:
    """Init seed of a candidate's standalone network: depends on the run seed and the architecture."""
    return derive_seed(seed, 5, zlib.crc32(str(arch_json).encode()))


def make_scorer(proxy: str, options: dict[str, Any] | None = None) -> tuple[Scorer, dict[str, Any]]:
    """A higher-is-better scorer ``f(net, x, y)`` for a registered proxy, and the proxy's metadata."""
    from ..proxies import get_proxy

    spec = get_proxy(proxy)
    opts = dict(options or {})
    sign = 1.0 if spec.higher_is_better else -1.0

    def scorer(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        return sign * float(spec.fn(net, inputs, targets, **opts))

    return scorer, {"name": spec.name, "higher_is_better": spec.higher_is_better}


def environment(device: torch.device) -> dict[str, Any]:
    """Library versions and device, for the record."""
    env = {"zcpt_analysis": __version__, "python": platform.python_version(), "torch": torch.__version__,
           "numpy": np.__version__, "platform": platform.platform(), "device": str(device),
           "threads": torch.get_num_threads()}
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    return env


class ZcPtEdgeEvaluator:
    """Scores edges for an ordering: one fresh minibatch per call, zc-pt scores of every remaining op
    (through ``batched`` -- all perturbations of an edge in one forward -- when given)."""

    def __init__(self, supernet: Supernet, scorer: Scorer, sampler: MinibatchSampler,
                 batched: FastNwotPerturbations | None = None, channels_last: bool = False):
        self.supernet, self.scorer, self.sampler = supernet, scorer, sampler
        self.batched, self.channels_last = batched, channels_last
        self.evaluations = 0

    def __call__(self, edges: list[int]) -> EdgeScores:
        inputs, targets = self.sampler.sample()
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if self.batched is not None:
            out = {e: self.batched.scores(e, inputs) for e in edges}
        else:
            out = {e: zc_pt_scores(self.supernet, e, self.scorer, inputs, targets) for e in edges}
        self.evaluations += sum(len(s) for s in out.values())
        return out


def _progress(iterable=None, **kwargs):
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


class ZeroCostPT:
    """One Zero-Cost-PT run, resumable from its JSON record.

    >>> run = ZeroCostPT(ZcptConfig(N=2, V=3, batch_size=64), out_dir="runs")   # doctest: +SKIP
    >>> record = run.run()                                                      # doctest: +SKIP
    """

    def __init__(self, config: ZcptConfig, out_dir: str | Path | None = None, progress: bool = True,
                 images: ImageSet | None = None, force: bool = False):
        config.validate()
        self.config = config
        self.space: SearchSpace = get_space(config.space)
        self.device = resolve_device(config.device)
        self.progress = progress
        self.path = Path(out_dir) / config.result_name() if out_dir is not None else None
        self._images = images
        self.record = self._load_or_new(force)
        self.scorer, proxy_meta = make_scorer(config.proxy, self._proxy_options())
        self.record["proxy"] = proxy_meta
        self._supernet: Supernet | None = None
        self._batched: FastNwotPerturbations | None = None
        self._pool: ImageSet | None = None
        self.record["engine"] = {"search": self.engine(), "channels_last": self.channels_last}

    # ------------------------------------------------------------------ setup
    def _proxy_options(self) -> dict[str, Any]:
        opts = dict(self.config.proxy_options)
        if self.config.compat == "published" and self.config.proxy == "nwot":
            opts.setdefault("hooks", "published")
        return opts

    def _load_or_new(self, force: bool) -> dict[str, Any]:
        if self.path is not None and self.path.exists() and not force:
            record = read_json(self.path)
            if record.get("kind") != RECORD_KIND or record.get("config") != self.config.to_json():
                raise ZcptError(f"{self.path} holds a run with a different configuration; use another --out folder "
                                "or --force to start over")
            return record
        return {"kind": RECORD_KIND, "status": "searching", "config": self.config.to_json(),
                "environment": environment(self.device), "iterations": [], "candidates": [],
                "validation": {"batches_done": 0, "seconds": 0.0}, "selected": None}

    def _save(self) -> None:
        if self.path is not None:
            atomic_write_json(self.path, self.record)

    @property
    def images(self) -> ImageSet:
        if self._images is None:
            cfg = self.config
            self._images = load_images(cfg.dataset, cfg.data_source, cfg.data_root, train=True)
        return self._images

    @property
    def pool(self) -> ImageSet:
        """The search split the proxy minibatches come from."""
        if self._pool is None:
            portion = self.config.train_portion
            if portion is None:
                portion = 1.0 if self.images.source.startswith(("sample:", "png:", "synthetic:")) else 0.5
            self._pool = search_split(self.images, portion)[0]
            self.record["data"] = {"source": self.images.source, "train_portion": portion, "pool_size": len(self._pool),
                                   "num_classes": self.images.num_classes}
        return self._pool

    @property
    def supernet(self) -> Supernet:
        if self._supernet is None:
            cfg = self.config
            sn = self.space.supernet(num_classes=self.pool.num_classes, seed=cfg.seed, **cfg.supernet_options)
            sn.mode = cfg.compat
            self._supernet = sn.to(self.device)
            if self.channels_last:
                self._supernet.to(memory_format=torch.channels_last)
        return self._supernet

    @property
    def channels_last(self) -> bool:
        cl = self.config.channels_last
        return self.device.type == "cpu" if cl is None else bool(cl)

    def engine(self) -> str:
        """The engine the search uses: ``batched`` when nwot scores in eval mode, else ``simple``."""
        opts = self._proxy_options()
        applicable = (self.config.proxy == "nwot" and opts.get("mode", "eval") == "eval"
                      and not opts.get("chunk_size") and set(opts) <= {"mode", "hooks", "device"})
        if self.config.engine == "batched" and not applicable:
            raise ZcptError("engine 'batched' needs the nwot proxy in eval mode without chunking; use "
                            "--engine simple or auto")
        return "batched" if applicable and self.config.engine != "simple" else "simple"

    def _edge_evaluator(self, seed: int) -> ZcPtEdgeEvaluator:
        batched = None
        if self.engine() == "batched":
            if self._batched is None:
                self._batched = FastNwotPerturbations(self.supernet, hooks=self._proxy_options().get("hooks", "relu"),
                                                      semantics=self.config.compat)
            batched = self._batched
        return ZcPtEdgeEvaluator(self.supernet, self.scorer, self._sampler(seed), batched=batched,
                                 channels_last=self.channels_last)

    def _sampler(self, seed: int, pool: ImageSet | None = None) -> MinibatchSampler:
        return MinibatchSampler(pool if pool is not None else self.pool, self.config.batch_size, seed=seed,
                                device=self.device)

    # ------------------------------------------------------------------ stage 1
    def iteration_steps(self, i: int) -> Iterator[Step]:
        """Search iteration ``i`` (0-based) from A_0, one zc-pt decision per ``next()``.

        Resets the supernet to A_0 with the iteration's alpha, and leaves it discretized as far as
        the generator got (a step-through widget pauses between decisions).
        """
        cfg = self.config
        sn = self.supernet
        sn.reset()
        sn.redraw_alpha(self.alpha_seed(i))
        torch.manual_seed(derive_seed(cfg.seed, 6, i))  # for ops that draw noise (S4)
        self._evaluator = self._edge_evaluator(derive_seed(cfg.seed, 2, i))
        self._rng = random.Random(derive_seed(cfg.seed, 3, i))
        yield from iter_discretize(cfg.order, sn, self._evaluator, self._rng, cfg.published_once_order)

    def alpha_seed(self, i: int) -> int:
        """Seed of alpha in iteration ``i`` (iteration 0 keeps the supernet's own alpha)."""
        return self.config.seed if i == 0 else derive_seed(self.config.seed, 1, i)

    def finish_iteration(self, i: int, steps: list[Step], started: float) -> dict[str, Any]:
        """Topology selection (spaces that have it) and the record entry of a completed iteration."""
        sn = self.supernet
        entry: dict[str, Any] = {"iteration": i, "alpha_seed": self.alpha_seed(i), "steps": [s.to_json() for s in steps]}
        if sn.topology_groups():
            from .topology import select_topology

            entry["topology"] = select_topology(sn, self.scorer, self._evaluator.sampler.sample, self._rng,
                                                method=self.config.topology)
        arch = sn.derive()
        entry.update({"arch": self.space.to_json(arch), "evaluations": self._evaluator.evaluations,
                      "seconds": round(time.perf_counter() - started, 3)})
        return entry

    def search_iteration(self, i: int, on_step: Callable[[Step], None] | None = None) -> dict[str, Any]:
        """Run search iteration ``i`` (0-based) from A_0 and return its record entry."""
        started = time.perf_counter()
        steps = []
        for step in self.iteration_steps(i):
            steps.append(step)
            if on_step is not None:
                on_step(step)
        return self.finish_iteration(i, steps, started)

    def search(self) -> None:
        """Stage 1 (resumes after the last completed iteration)."""
        done = len(self.record["iterations"])
        if done >= self.config.N:
            return
        bar = _progress(total=self.config.N, initial=done, desc="search iterations", disable=not self.progress)
        for i in range(done, self.config.N):
            edges_bar = _progress(total=self.supernet.num_edges, desc=f"  iteration {i + 1} edges", leave=False,
                                  disable=not self.progress)
            entry = self.search_iteration(i, on_step=lambda step: edges_bar.update(1))
            edges_bar.close()
            self.record["iterations"].append(entry)
            self._save()
            bar.update(1)
            bar.set_postfix_str(str(entry["arch"])[:60])
        bar.close()

    # ------------------------------------------------------------------ stage 2
    def candidates(self) -> list[dict[str, Any]]:
        """Distinct candidate architectures in order of first discovery, with their iterations."""
        found: dict[str, dict[str, Any]] = {}
        for it in self.record["iterations"]:
            key = str(it["arch"])
            found.setdefault(key, {"arch": it["arch"], "iterations": []})["iterations"].append(it["iteration"])
        return list(found.values())

    def validate(self) -> None:
        """Stage 2 (resumes after the last scored minibatch)."""
        cfg = self.config
        if not self.record["candidates"]:
            self.record["candidates"] = [dict(c, scores=[]) for c in self.candidates()]
        cands = self.record["candidates"]
        done = self.record["validation"]["batches_done"]
        if done < cfg.V:
            self.record["status"] = "validating"
            memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
            nets = [self.space.network(self.space.parse(c["arch"]), num_classes=self.pool.num_classes,
                                       seed=arch_seed(cfg.seed, c["arch"]), **cfg.network_options).to(
                self.device, memory_format=memory_format) for c in cands]
            sampler = self._sampler(derive_seed(cfg.seed, 4))
            for _ in range(done):  # replay the minibatches already used so the stream continues identically
                sampler.sample()
            started = time.perf_counter()
            bar = _progress(total=cfg.V, initial=done, desc="validation minibatches", disable=not self.progress)
            for j in range(done, cfg.V):
                inputs, targets = sampler.sample()
                inputs = inputs.contiguous(memory_format=memory_format)
                for cand, net in zip(cands, nets):
                    cand["scores"].append(self.scorer(net, inputs, targets))
                self.record["validation"]["batches_done"] = j + 1
                self.record["validation"]["seconds"] = round(self.record["validation"]["seconds"]
                                                             + time.perf_counter() - started, 3)
                started = time.perf_counter()
                self._save()
                bar.update(1)
            bar.close()
        totals = {str(c["arch"]): float(np.nansum(c["scores"])) if not np.all(np.isnan(c["scores"])) else float("nan")
                  for c in cands}
        for c in cands:
            c["total"] = totals[str(c["arch"])]
        best = select(totals, maximize=True, what="the validation stage")
        winner = next(c for c in cands if str(c["arch"]) == best)
        self.record["selected"] = {"arch": winner["arch"], "validation_total": winner["total"],
                                   "iterations": winner["iterations"]}

    # ------------------------------------------------------------------ benchmark
    def attach_benchmark(self) -> None:
        """Add NAS-Bench-201 results of the selected architecture and every candidate, if available."""
        if not self.space.has_benchmark:
            return
        from ..bench import load_benchmark

        try:
            bench = load_benchmark(self.config.bench)
        except ZcptError as exc:
            self.record["benchmark_error"] = str(exc)
            return
        self.record["selected"]["benchmark"] = bench.summary(self.record["selected"]["arch"])
        for cand in self.record["candidates"]:
            cand["benchmark"] = bench.summary(cand["arch"], datasets=("cifar10",))

    def run(self) -> dict[str, Any]:
        """Both stages (resuming where the record stops) and the benchmark lookup; returns the record."""
        if self.record["status"] == "complete":
            return self.record
        self.search()
        self.validate()
        self.attach_benchmark()
        self.record["status"] = "complete"
        self.record["timing"] = {"search_seconds": round(sum(it["seconds"] for it in self.record["iterations"]), 3),
                                 "validation_seconds": self.record["validation"]["seconds"]}
        self._save()
        return self.record


def run_zcpt(config: ZcptConfig, out_dir: str | Path | None = None, progress: bool = True,
             images: ImageSet | None = None, force: bool = False) -> dict[str, Any]:
    """Run (or resume) one Zero-Cost-PT search and return its record."""
    return ZeroCostPT(config, out_dir=out_dir, progress=progress, images=images, force=force).run()


def error_statistics(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean ± std (population std, ddof=0) of the selected architectures' test error over runs.

    Each run contributes its architecture's seed-mean error (the mean over NAS-Bench-201's training
    trials); the std is taken over runs. This is the paper's convention: Table 3 reports
    Zero-Cost-PT(synflow) on CIFAR-10 as 6.24 ± 0.00 although that architecture's three training
    trials differ (93.74 / 93.56 / 93.98), so the std is not over trials. ``n`` is the number of runs.
    """
    stats: dict[str, dict[str, float]] = {}
    datasets: list[str] = []
    for rec in records:
        for d in (rec.get("selected") or {}).get("benchmark", {}):
            if d not in datasets:
                datasets.append(d)
    for d in datasets:
        arr = np.asarray([rec["selected"]["benchmark"][d]["error"] for rec in records], dtype=float)
        stats[d] = {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}
    return stats
