"""Zero-Cost-PT search: Algorithm 1 (NAS-Bench-201) and Algorithm 2 (DARTS spaces, with topology).

Stage 1 -- N search iterations, all from the same untrained supernet ``A_0`` (its weights never
change; only alpha is re-drawn between iterations, as the published code does). Each iteration
discretizes every edge in the chosen :mod:`ordering <zcpt_analysis.searches.orderings>` with zc-pt
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

import contextlib
import platform
import random
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..data import ImageSet, MinibatchSampler, search_split
from ..errors import ZcptError
from ..proxies.ensemble import comparable
from ..runs.records import Candidate, Iteration, SearchRecord, Selection, bench_from_json, now
from ..runs.specs import SearchSpec
from ..runtime import derive_seed, resolve_device
from ..spaces import get_space
from ..spaces.base import SearchSpace
from ..supernet import Supernet
from .fast_gradients import GradientPerturbations, not_batchable
from .fast_nwot import FastNwotPerturbations
from .op_selection import Scorer, edge_scores, select_candidate
from .orderings import EdgeScores, Step, iter_discretize


def arch_seed(seed: int, arch_json: Any) -> int:
    """Init seed of a candidate's standalone network: depends on the run seed and the architecture."""
    return derive_seed(seed, 5, zlib.crc32(str(arch_json).encode()))


def make_scorer(proxy: str, options: dict[str, Any] | None = None) -> tuple[Scorer, dict[str, Any]]:
    """A higher-is-better scorer ``f(net, x, y)`` for a registered proxy, and the proxy's metadata."""
    from ..proxies import get_proxy

    from ..proxies.registry import check_options

    spec = get_proxy(proxy)
    opts = dict(options or {})
    check_options(spec.name, opts)  # unknown options / bad values: one clear error before any work
    sign = 1.0 if spec.higher_is_better else -1.0

    def scorer(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        return sign * float(spec.fn(net, inputs, targets, **opts))

    def relative_scorer(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> Any:
        return spec.fn(net, inputs, targets, **opts)  # component scores: ranked per comparison set

    if spec.relative:
        from ..proxies.ensemble import parse_components

        parse_components(opts.get("proxies"))  # unknown components / options: an error before any work
    return (relative_scorer if spec.relative else scorer), {"name": spec.name,
                                                            "higher_is_better": spec.higher_is_better}


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
    (through ``batched`` -- all perturbations of an edge in stacked passes -- when given), under
    ``precision`` (a context manager, e.g. bf16 autocast)."""

    def __init__(self, supernet: Supernet, scorer: Scorer, sampler: MinibatchSampler,
                 batched: FastNwotPerturbations | GradientPerturbations | None = None, channels_last: bool = False,
                 precision: Callable[[], Any] = contextlib.nullcontext):
        self.supernet, self.scorer, self.sampler = supernet, scorer, sampler
        self.batched, self.channels_last, self.precision = batched, channels_last, precision
        self.evaluations = 0

    def __call__(self, edges: list[int]) -> EdgeScores:
        inputs, targets = self.sampler.sample()
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with self.precision():
            if self.batched is not None:
                out = {e: self.batched.scores(e, inputs, targets) for e in edges}
            else:
                out = {e: edge_scores("zc-pt", self.supernet, e, self.scorer, inputs, targets) for e in edges}
        self.evaluations += sum(len(s) for s in out.values())
        return out


def _progress(iterable=None, **kwargs):
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


class ZeroCostPT:
    """One Zero-Cost-PT run, resumable from its record in a results store.

    >>> run = ZeroCostPT(SearchSpec(N=2, V=3, batch_size=64), store="runs")   # doctest: +SKIP
    >>> record = run.run()                                                     # doctest: +SKIP

    ``store`` (a :class:`~zcpt_analysis.runs.store.ResultStore` or its folder) receives the record
    after every search iteration and validation minibatch; a partial record there is resumed.
    ``images`` / ``bench``: preloaded inputs (they must be what the spec names).
    """

    def __init__(self, spec: SearchSpec, store: Any = None, progress: bool = True, images: ImageSet | None = None,
                 force: bool = False, bench: Any = None):
        from ..runs.store import as_store

        self.spec = spec
        self.space: SearchSpace = get_space(spec.space)
        self.device = resolve_device(spec.device)
        self.progress = progress
        self.store = as_store(store)
        self._images = images
        self._bench = bench
        self.record = self._load_or_new(force)
        self.scorer, self.record.proxy = make_scorer(spec.proxy, self._proxy_options())
        self._supernet: Supernet | None = None
        self._batched: FastNwotPerturbations | GradientPerturbations | None = None
        self._pool: ImageSet | None = None
        self.record.engine = {"search": self.engine(), "channels_last": self.channels_last}

    @property
    def path(self) -> Path | None:
        return self.store.path_for(self.spec) if self.store is not None else None

    # ------------------------------------------------------------------ setup
    def _proxy_options(self) -> dict[str, Any]:
        opts = dict(self.spec.proxy_options)
        if self.spec.compat in ("published", "block-input") and self.spec.proxy == "nwot":
            opts.setdefault("hooks", "published")
        return opts

    def _load_or_new(self, force: bool) -> SearchRecord:
        if self.store is not None and not force:
            found = self.store.load(self.spec)
            if found is not None:
                return found  # type: ignore[return-value]
        return SearchRecord(spec=self.spec, status="searching", environment=environment(self.device), created=now())

    def _save(self) -> None:
        if self.store is not None:
            self.store.save(self.record)

    @property
    def images(self) -> ImageSet:
        if self._images is None:
            self._images = self.spec.load_images(train=True)
        return self._images

    @property
    def pool(self) -> ImageSet:
        """The search split the proxy minibatches come from."""
        if self._pool is None:
            portion = self.spec.train_portion
            if portion is None:
                portion = 1.0 if self.images.source.startswith(("sample:", "png:", "synthetic:")) else 0.5
            self._pool = search_split(self.images, portion)[0]
            self.record.data = {"source": self.images.source, "train_portion": portion, "pool_size": len(self._pool),
                                "num_classes": self.images.num_classes}
        return self._pool

    @property
    def supernet(self) -> Supernet:
        if self._supernet is None:
            spec = self.spec
            sn = self.space.supernet(num_classes=self.pool.num_classes, seed=spec.seed, **spec.supernet_options)
            sn.mode = spec.compat
            self._supernet = sn.to(self.device)
            if self.channels_last:
                self._supernet.to(memory_format=torch.channels_last)
        return self._supernet

    @property
    def channels_last(self) -> bool:
        """NHWC convolutions: by default on CPU for forward-only proxies (gradient proxies run NCHW,
        where torch 2.14.1's backward is known to be reliable)."""
        cl = self.spec.channels_last
        if cl is None:
            from ..proxies import get_proxy

            return self.device.type == "cpu" and not get_proxy(self.spec.proxy).needs_gradients
        return bool(cl)

    def precision(self):
        """The context every search and validation forward runs in: bf16 autocast for
        ``precision="bf16"`` (approximate), else nothing."""
        if self.spec.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _batched_unavailable(self) -> str | None:
        """Why the batched engine cannot score this search (``None``: it can)."""
        opts = self._proxy_options()
        if self.spec.proxy == "nwot":
            if opts.get("mode", "eval") != "eval" or opts.get("chunk_size") or not set(opts) <= {"mode", "hooks",
                                                                                                 "device"}:
                return "batched nwot needs eval mode without chunking"
            return None
        reason = not_batchable(self.spec.proxy, opts, self.spec.compat)
        if reason is None and self._supernet is not None and any("noise" in c for c in self._supernet.candidates):
            reason = "the supernet has noise ops, which draw different noise for stacked copies"
        return reason

    AUTO_BATCHED: tuple[str, ...] = ("nwot", "synflow")
    """Proxies whose batched engine pays on CPU (measured: nwot several-fold, synflow 1.1x; snip,
    grad_norm, fisher and jacob_cov 0.9-1.1x -- nothing is shared between perturbations after the
    first cell -- so ``auto`` keeps one call per perturbation for them; ``--engine batched`` gives
    the same scores)."""

    def engine(self) -> str:
        """The engine the search uses: ``batched`` (all perturbations of an edge in stacked passes,
        scores equal to one call per perturbation: nwot in eval mode, snip, grad_norm, fisher,
        jacob_cov, synflow) or ``simple`` (one call per perturbation, any proxy). ``auto``: batched
        where it applies and pays (:attr:`AUTO_BATCHED`)."""
        reason = self._batched_unavailable()
        if self.spec.engine == "batched" and reason:
            raise ZcptError(f"engine 'batched' is not available here: {reason}; use --engine simple or auto")
        if self.spec.engine == "auto" and self.spec.proxy not in self.AUTO_BATCHED:
            return "simple"
        return "batched" if reason is None and self.spec.engine != "simple" else "simple"

    def _edge_evaluator(self, seed: int) -> ZcPtEdgeEvaluator:
        batched = None
        self.supernet  # built first: the engine choice looks at its ops
        engine = self.engine()
        self.record.engine = {"search": engine, "channels_last": self.channels_last}
        if engine == "batched":
            if self._batched is None:
                if self.spec.proxy == "nwot":
                    self._batched = FastNwotPerturbations(self.supernet,
                                                          hooks=self._proxy_options().get("hooks", "relu"),
                                                          semantics=self.spec.compat)
                else:
                    self._batched = GradientPerturbations(self.supernet, self.spec.proxy, self._proxy_options())
            batched = self._batched
        return ZcPtEdgeEvaluator(self.supernet, self.scorer, self._sampler(seed), batched=batched,
                                 channels_last=self.channels_last, precision=self.precision)

    def _sampler(self, seed: int, pool: ImageSet | None = None) -> MinibatchSampler:
        return MinibatchSampler(pool if pool is not None else self.pool, self.spec.batch_size, seed=seed,
                                device=self.device)

    # ------------------------------------------------------------------ stage 1
    def iteration_steps(self, i: int) -> Iterator[Step]:
        """Search iteration ``i`` (0-based) from A_0, one zc-pt decision per ``next()``.

        Resets the supernet to A_0 with the iteration's alpha, and leaves it discretized as far as
        the generator got (a step-through widget pauses between decisions).
        """
        spec = self.spec
        sn = self.supernet
        sn.reset()
        sn.redraw_alpha(self.alpha_seed(i))
        torch.manual_seed(derive_seed(spec.seed, 6, i))  # for ops that draw noise (S4)
        self._evaluator = self._edge_evaluator(derive_seed(spec.seed, 2, i))
        self._rng = random.Random(derive_seed(spec.seed, 3, i))
        yield from iter_discretize(spec.order, sn, self._evaluator, self._rng, spec.published_once_order)

    def alpha_seed(self, i: int) -> int:
        """Seed of alpha in iteration ``i`` (iteration 0 keeps the supernet's own alpha)."""
        return self.spec.seed if i == 0 else derive_seed(self.spec.seed, 1, i)

    def finish_iteration(self, i: int, steps: list[Step], started: float) -> Iteration:
        """Topology selection (spaces that have it) and the record entry of a completed iteration."""
        sn = self.supernet
        topology = None
        if sn.topology_groups():
            from .topology import select_topology

            topology = select_topology(sn, self.scorer, self._evaluator.sampler.sample, self._rng,
                                       method=self.spec.topology)
        return Iteration(i, self.alpha_seed(i), list(steps), self.space.to_json(sn.derive()),
                         self._evaluator.evaluations, round(time.perf_counter() - started, 3), topology)

    def search_iteration(self, i: int, on_step: Callable[[Step], None] | None = None) -> Iteration:
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
        done = len(self.record.iterations)
        if done >= self.spec.N:
            return
        bar = _progress(total=self.spec.N, initial=done, desc="search iterations", disable=not self.progress)
        for i in range(done, self.spec.N):
            edges_bar = _progress(total=self.supernet.num_edges, desc=f"  iteration {i + 1} edges", leave=False,
                                  disable=not self.progress)
            entry = self.search_iteration(i, on_step=lambda step: edges_bar.update(1))
            edges_bar.close()
            self.record.iterations.append(entry)
            self.record.timing["search"] = round(sum(it.seconds for it in self.record.iterations), 3)
            self._save()
            bar.update(1)
            bar.set_postfix_str(str(entry.arch)[:60])
        bar.close()

    # ------------------------------------------------------------------ stage 2
    def candidates(self) -> list[Candidate]:
        """Distinct candidate architectures in order of first discovery, with their iterations."""
        return distinct_candidates(self.record.iterations)

    def validate(self) -> None:
        """Stage 2 (resumes after the last scored minibatch)."""
        spec, rec = self.spec, self.record
        if not rec.candidates:
            rec.candidates = self.candidates()
        cands = rec.candidates
        done = rec.validation_batches
        if done < spec.V:
            rec.status = "validating"
            memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
            nets = [self.space.network(self.space.parse(c.arch), num_classes=self.pool.num_classes,
                                       seed=arch_seed(spec.seed, c.arch), **spec.network_options).to(
                self.device, memory_format=memory_format) for c in cands]
            sampler = self._sampler(derive_seed(spec.seed, 4))
            for _ in range(done):  # replay the minibatches already used so the stream continues identically
                sampler.sample()
            started = time.perf_counter()
            bar = _progress(total=spec.V, initial=done, desc="validation minibatches", disable=not self.progress)
            for j in range(done, spec.V):
                inputs, targets = sampler.sample()
                inputs = inputs.contiguous(memory_format=memory_format)
                with self.precision():
                    batch_scores = comparable([self.scorer(net, inputs, targets) for net in nets])
                for cand, score in zip(cands, batch_scores):
                    cand.scores.append(score)
                rec.validation_batches = j + 1
                rec.timing["validation"] = round(rec.timing.get("validation", 0.0) + time.perf_counter() - started, 3)
                started = time.perf_counter()
                self._save()
                bar.update(1)
            bar.close()
        best, totals = select_candidate([c.scores for c in cands], spec.V)
        for c, total in zip(cands, totals):
            c.total = total
        winner = cands[best]
        rec.selected = Selection(winner.arch, score=winner.total, iterations=list(winner.iterations))

    # ------------------------------------------------------------------ benchmark
    def attach_benchmark(self) -> None:
        """Add NAS-Bench-201 results of the selected architecture and every candidate, if available."""
        if not self.space.has_benchmark:
            return
        bench = self._bench
        if bench is None:
            from ..bench import load_benchmark

            try:
                bench = load_benchmark(self.spec.bench)
            except ZcptError as exc:
                self.record.benchmark_error = str(exc)
                return
        assert self.record.selected is not None
        self.record.selected.benchmark = bench_from_json(bench.summary(self.record.selected.arch))
        for cand in self.record.candidates:
            cand.benchmark = bench_from_json(bench.summary(cand.arch, datasets=("cifar10",)))

    def run(self) -> SearchRecord:
        """Both stages (resuming where the record stops) and the benchmark lookup; returns the record."""
        if self.record.complete:
            return self.record
        self.search()
        self.validate()
        self.attach_benchmark()
        self.record.status = "complete"
        self._save()
        return self.record


def distinct_candidates(iterations: list[Iteration], N: int | None = None) -> list[Candidate]:
    """The distinct architectures of the first ``N`` iterations (default: all), in order of first
    discovery (the order the validation stage scores them and breaks ties in)."""
    found: dict[str, Candidate] = {}
    for it in iterations[:N]:
        key = str(it.arch)
        found.setdefault(key, Candidate(it.arch, []))
        found[key].iterations.append(it.iteration)
    return list(found.values())


def run_zcpt(spec: SearchSpec, store: Any = None, progress: bool = True, images: ImageSet | None = None,
             force: bool = False) -> SearchRecord:
    """Run (or resume from ``store``) one Zero-Cost-PT search and return its record."""
    return ZeroCostPT(spec, store=store, progress=progress, images=images, force=force).run()
