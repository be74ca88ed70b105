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
import random
import time
import zlib
from typing import Any, Callable, Iterator, Literal, Optional

import torch
from torch import nn

from pydantic import AliasChoices, Field, field_validator, model_validator

from ..bench.benchmark import BenchField
from ..data import DataFields, ImageSet, MinibatchSampler, search_split
from ..errors import ZcptError
from ..options import Result, Seed, opt
from ..proxies import get_proxy
from ..proxies.ensemble import comparable
from ..runtime import derive_seed, resolve_device
from ..setting_checks import ProxyName, SpaceBatchSize, SpaceName, check_dataset, check_run_options
from ..spaces import get_space
from ..spaces.base import SearchSpace
from ..supernet import SUPERNET_MODES, Supernet
from .fast_gradients import GradientPerturbations, not_batchable
from .fast_nwot import FastNwotPerturbations
from .op_selection import Scorer, edge_scores, select_candidate
from .orderings import EdgeScores, Step, check_ordering, iter_discretize
from .results import Candidate, Iteration, Selection, distinct_candidates


ENGINES: tuple[str, ...] = ("auto", "batched", "simple")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
TOPOLOGY_METHODS: tuple[str, ...] = ("algorithm2", "iterative")


class SearchSettings(BenchField, DataFields):
    """One Zero-Cost-PT search (Algorithm 1 on NAS-Bench-201, Algorithm 2 on the DARTS spaces).

    ``train_portion=None`` means 0.5 (DARTS-PT's search split) for full datasets and 1.0 for the
    small shared samples. ``supernet_options`` / ``network_options`` go to the space's supernet /
    standalone-network builders (e.g. ``{"C": 4, "N": 1}``; default: the paper's sizes).
    ``supernet_mode="block-input"`` runs the supernet and nwot as the published NB201 code does
    (every op runs, a weight-0 op zeroes its input inside, nwot hooks every module whose type name
    contains ``ReLU``): the paper's setting; ``"published"`` is the first release's approximation
    of it (weight-0 ops zeroed before the call). ``engine`` and ``channels_last`` change speed, not
    results (not part of the identity).
    """

    space: SpaceName = opt("nb201", "--space", help="search space (nb201, darts, darts-s1 .. darts-s4)")
    proxy: ProxyName = opt("nwot", "--proxy", help="zero-cost proxy (see `zcpt proxies list`)")
    order: str = opt("random", "--order", help="edge discretization ordering (fixed, random, global-op-iter, "
                     "global-op-once, global-edge-iter, global-edge-once)")
    N: int = opt(10, "-N", help="search iterations", ge=1)
    V: int = opt(100, "-V", help="validation minibatches", ge=1)
    batch_size: SpaceBatchSize = opt(None, "--batch-size", help="proxy minibatch (default: the space's, 256 for "
                                    "nb201, 64 for the DARTS spaces)", ge=1, validate_default=True)
    seed: Seed = opt(0, "--seed", help="search seed")
    train_portion: Optional[float] = opt(None, "--train-portion", gt=0, le=1,
                                         help="share of the training images used for proxy inputs (default 0.5 for "
                                              "full datasets, 1.0 for the small samples)")
    supernet_mode: Literal[SUPERNET_MODES] = opt(  # type: ignore[valid-type]
        "fast", "--supernet-mode", help="block-input: run the supernet and nwot hooks as the published NB201 code "
        "does (the paper's setting); published: the first release's approximation of it",
        validation_alias=AliasChoices("supernet_mode", "compat"))  # records written before round 3 say "compat"
    proxy_options: dict[str, Any] = opt(None, "--proxy-option", factory=dict, help="proxy option, e.g. mode=train")
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict, help="supernet option, e.g. C=8")
    network_options: dict[str, Any] = opt(None, "--network-option", factory=dict,
                                          help="option of the validation stage's standalone networks, e.g. C=8")
    topology: Literal[TOPOLOGY_METHODS] = opt(  # type: ignore[valid-type]
        "algorithm2", "--topology",
        help="DARTS topology selection (Algorithm 2, or the published code's iterative removal)")
    published_once_order: bool = opt(False, "--published-once-order",
                                     help="global-*-once: discretize in the published code's order (reverse "
                                          "canonical, see searches/orderings.py) instead of section 4.2's ranking")
    engine: Literal[ENGINES] = opt(  # type: ignore[valid-type]
        "auto", "--engine", identity=False,
        help="batched: all perturbations of an edge in one forward (nwot, eval mode); simple: one forward per "
             "perturbation (any proxy); auto: batched when it applies")
    channels_last: Optional[bool] = opt(None, "--channels-last", identity=False,
                                        help="NHWC convolutions (default: on CPU for forward-only proxies)")
    precision: Literal[PRECISIONS] = opt(  # type: ignore[valid-type]
        "fp32", "--precision", help="bf16: bfloat16 autocast forwards (approximate, changes results; see README's "
        "speed section for its measured effect)")

    @field_validator("order")
    @classmethod
    def _order(cls, order: str) -> str:
        return check_ordering(order)

    @model_validator(mode="after")
    def _check_with_space(self) -> "SearchSettings":
        check_dataset(self.space, self.dataset)
        check_run_options(self.space, self.proxy, self.proxy_options, self.batch_size, "batch_size",
                          self.supernet_options, self.network_options)
        return self


def arch_seed(seed: int, arch_json: Any) -> int:
    """Init seed of a candidate's standalone network: depends on the run seed and the architecture."""
    return derive_seed(seed, 5, zlib.crc32(str(arch_json).encode()))


def make_scorer(proxy: str, options: dict[str, Any] | None = None) -> tuple[Scorer, dict[str, Any]]:
    """A higher-is-better scorer ``f(net, x, y)`` for a registered proxy, and the proxy's metadata."""
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


class SearchResult(Result):
    """The state and result of one search (what its record stores besides the settings):
    ``status`` is ``searching`` (stage 1 under way), ``validating`` (stage 2) or ``complete``;
    ``validation_batches`` counts the validation minibatches scored so far (the resume point);
    ``timing`` holds seconds per stage."""

    status: str = "searching"
    iterations: list[Iteration] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    validation_batches: int = 0
    selected: Optional[Selection] = None
    data: dict[str, Any] = Field(default_factory=dict)
    proxy: dict[str, Any] = Field(default_factory=dict)
    engine: dict[str, Any] = Field(default_factory=dict)
    benchmark_error: Optional[str] = None
    timing: dict[str, float] = Field(default_factory=dict)


class ZeroCostPT:
    """One Zero-Cost-PT search, resumable from a :class:`SearchResult` it was interrupted in.

    >>> result = ZeroCostPT(SearchSettings(N=2, V=3, batch_size=64)).run()   # doctest: +SKIP

    ``result`` is filled in (a new :class:`SearchResult` by default; a partial one is resumed where
    it stops) and passed to ``checkpoint`` after every search iteration and validation minibatch
    (the results layer saves it there). ``images`` / ``bench``: preloaded inputs (they must be what
    the settings name).
    """

    def __init__(self, settings: SearchSettings, progress: bool = True, images: ImageSet | None = None,
                 bench: Any = None, result: SearchResult | None = None,
                 checkpoint: Callable[[SearchResult], None] | None = None):
        self.settings = settings
        self.space: SearchSpace = get_space(settings.space)
        self.device = resolve_device(settings.device)
        self.progress = progress
        self._images = images
        self._bench = bench
        self.result = result if result is not None else SearchResult()
        self._checkpoint = checkpoint
        self.scorer, self.result.proxy = make_scorer(settings.proxy, self._proxy_options())
        self._supernet: Supernet | None = None
        self._batched: FastNwotPerturbations | GradientPerturbations | None = None
        self._pool: ImageSet | None = None
        self.result.engine = {"search": self.engine(), "channels_last": self.channels_last}

    # ------------------------------------------------------------------ setup
    def _proxy_options(self) -> dict[str, Any]:
        opts = dict(self.settings.proxy_options)
        if self.settings.supernet_mode in ("published", "block-input"):
            for key, value in get_proxy(self.settings.proxy).published_zcpt_options.items():
                opts.setdefault(key, value)
        return opts

    def _save(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint(self.result)

    @property
    def images(self) -> ImageSet:
        if self._images is None:
            self._images = self.settings.load_images(train=True)
        return self._images

    @property
    def pool(self) -> ImageSet:
        """The search split the proxy minibatches come from."""
        if self._pool is None:
            portion = self.settings.train_portion
            if portion is None:
                portion = 1.0 if self.images.source.startswith(("sample:", "png:", "synthetic:")) else 0.5
            self._pool = search_split(self.images, portion)[0]
            self.result.data = {"source": self.images.source, "train_portion": portion, "pool_size": len(self._pool),
                                "num_classes": self.images.num_classes}
        return self._pool

    @property
    def supernet(self) -> Supernet:
        if self._supernet is None:
            spec = self.settings
            sn = self.space.supernet(num_classes=self.pool.num_classes, seed=spec.seed, **spec.supernet_options)
            sn.supernet_mode = spec.supernet_mode
            self._supernet = sn.to(self.device)
            if self.channels_last:
                self._supernet.to(memory_format=torch.channels_last)
        return self._supernet

    @property
    def channels_last(self) -> bool:
        """NHWC convolutions: by default on CPU for forward-only proxies (gradient proxies run NCHW,
        where torch 2.14.1's backward is known to be reliable)."""
        cl = self.settings.channels_last
        if cl is None:
            return self.device.type == "cpu" and not get_proxy(self.settings.proxy).needs_gradients
        return bool(cl)

    def precision(self):
        """The context every search and validation forward runs in: bf16 autocast for
        ``precision="bf16"`` (approximate), else nothing."""
        if self.settings.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _batched_unavailable(self) -> str | None:
        """Why the batched engine cannot score this search (``None``: it can)."""
        opts = self._proxy_options()
        proxy = get_proxy(self.settings.proxy)
        if proxy.batched_engine == "fast_nwot":
            if opts.get("mode", "eval") != "eval" or opts.get("chunk_size") or not set(opts) <= proxy.batched_options:
                return f"batched {proxy.name} needs eval mode without chunking"
            return None
        reason = not_batchable(self.settings.proxy, opts, self.settings.supernet_mode)
        if reason is None and self._supernet is not None and any("noise" in c for c in self._supernet.candidates):
            reason = "the supernet has noise ops, which draw different noise for stacked copies"
        return reason

    def engine(self) -> str:
        """The engine the search uses: ``batched`` (all perturbations of an edge in stacked passes,
        scores equal to one call per perturbation: nwot in eval mode, snip, grad_norm, fisher,
        jacob_cov, synflow) or ``simple`` (one call per perturbation, any proxy). ``auto``: batched
        where it applies and pays (``ProxySpec.auto_batched``: measured, nwot several-fold and
        synflow 1.1x faster on CPU; snip, grad_norm, fisher and jacob_cov 0.9-1.1x -- nothing is
        shared between perturbations after the first cell -- so ``auto`` keeps one call per
        perturbation for them; ``--engine batched`` gives the same scores)."""
        reason = self._batched_unavailable()
        if self.settings.engine == "batched" and reason:
            raise ZcptError(f"engine 'batched' is not available here: {reason}; use --engine simple or auto")
        if self.settings.engine == "auto" and not get_proxy(self.settings.proxy).auto_batched:
            return "simple"
        return "batched" if reason is None and self.settings.engine != "simple" else "simple"

    def _edge_evaluator(self, seed: int) -> ZcPtEdgeEvaluator:
        batched = None
        self.supernet  # built first: the engine choice looks at its ops
        engine = self.engine()
        self.result.engine = {"search": engine, "channels_last": self.channels_last}
        if engine == "batched":
            if self._batched is None:
                if get_proxy(self.settings.proxy).batched_engine == "fast_nwot":
                    self._batched = FastNwotPerturbations(self.supernet,
                                                          hooks=self._proxy_options().get("hooks", "relu"),
                                                          supernet_mode=self.settings.supernet_mode)
                else:
                    self._batched = GradientPerturbations(self.supernet, self.settings.proxy, self._proxy_options())
            batched = self._batched
        return ZcPtEdgeEvaluator(self.supernet, self.scorer, self._sampler(seed), batched=batched,
                                 channels_last=self.channels_last, precision=self.precision)

    def _sampler(self, seed: int, pool: ImageSet | None = None) -> MinibatchSampler:
        return MinibatchSampler(pool if pool is not None else self.pool, self.settings.batch_size, seed=seed,
                                device=self.device)

    # ------------------------------------------------------------------ stage 1
    def iteration_steps(self, i: int) -> Iterator[Step]:
        """Search iteration ``i`` (0-based) from A_0, one zc-pt decision per ``next()``.

        Resets the supernet to A_0 with the iteration's alpha, and leaves it discretized as far as
        the generator got (a step-through widget pauses between decisions).
        """
        spec = self.settings
        sn = self.supernet
        sn.reset()
        sn.redraw_alpha(self.alpha_seed(i))
        torch.manual_seed(derive_seed(spec.seed, 6, i))  # for ops that draw noise (S4)
        self._evaluator = self._edge_evaluator(derive_seed(spec.seed, 2, i))
        self._rng = random.Random(derive_seed(spec.seed, 3, i))
        yield from iter_discretize(spec.order, sn, self._evaluator, self._rng, spec.published_once_order)

    def alpha_seed(self, i: int) -> int:
        """Seed of alpha in iteration ``i`` (iteration 0 keeps the supernet's own alpha)."""
        return self.settings.seed if i == 0 else derive_seed(self.settings.seed, 1, i)

    def finish_iteration(self, i: int, steps: list[Step], started: float) -> Iteration:
        """Topology selection (spaces that have it) and the record entry of a completed iteration."""
        sn = self.supernet
        topology = None
        if sn.topology_groups():
            from .topology import select_topology

            topology = select_topology(sn, self.scorer, self._evaluator.sampler.sample, self._rng,
                                       method=self.settings.topology)
        return Iteration(iteration=i, alpha_seed=self.alpha_seed(i), steps=list(steps),
                         arch=self.space.to_json(sn.derive()), evaluations=self._evaluator.evaluations,
                         seconds=round(time.perf_counter() - started, 3), topology=topology)

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
        done = len(self.result.iterations)
        if done >= self.settings.N:
            return
        bar = _progress(total=self.settings.N, initial=done, desc="search iterations", disable=not self.progress)
        for i in range(done, self.settings.N):
            edges_bar = _progress(total=self.supernet.num_edges, desc=f"  iteration {i + 1} edges", leave=False,
                                  disable=not self.progress)
            entry = self.search_iteration(i, on_step=lambda step: edges_bar.update(1))
            edges_bar.close()
            self.result.iterations.append(entry)
            self.result.timing["search"] = round(sum(it.seconds for it in self.result.iterations), 3)
            self._save()
            bar.update(1)
            bar.set_postfix_str(str(entry.arch)[:60])
        bar.close()

    # ------------------------------------------------------------------ stage 2
    def candidates(self) -> list[Candidate]:
        """Distinct candidate architectures in order of first discovery, with their iterations."""
        return distinct_candidates(self.result.iterations)

    def validate(self) -> None:
        """Stage 2 (resumes after the last scored minibatch)."""
        spec, rec = self.settings, self.result
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
        rec.selected = Selection(arch=winner.arch, score=winner.total, iterations=list(winner.iterations))

    # ------------------------------------------------------------------ benchmark
    def attach_benchmark(self) -> None:
        """Add NAS-Bench-201 results of the selected architecture and every candidate, if available."""
        if not self.space.has_benchmark:
            return
        bench = self._bench
        if bench is None:
            from ..bench import load_benchmark

            try:
                bench = load_benchmark(self.settings.bench)
            except ZcptError as exc:
                self.result.benchmark_error = str(exc)
                return
        assert self.result.selected is not None
        self.result.selected.benchmark = bench.summary(self.result.selected.arch)
        for cand in self.result.candidates:
            cand.benchmark = bench.summary(cand.arch, datasets=("cifar10",))

    def run(self) -> SearchResult:
        """Both stages (resuming where the result stops) and the benchmark lookup."""
        if self.result.status == "complete":
            return self.result
        self.search()
        self.validate()
        self.attach_benchmark()
        self.result.status = "complete"
        self._save()
        return self.result
