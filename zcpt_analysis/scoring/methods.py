"""The seven operation scoring functions of section 3 behind one interface.

``g(method, A_t, e, o)`` is the strength the scoring method assigns to op ``o`` on edge ``e`` of
the (partially discretized) supernet ``A_t``; the op a method selects is the arg max of ``g`` for
*higher-is-better* methods and the arg min for the perturbation methods (equations 1-7):

==========  ==================================  ==================  ===========================
method      g(A_t, e, o)                        selects             network scored
==========  ==================================  ==================  ===========================
best-acc    max  V*(A), A in A_{t,e,o}          arg max (higher)    none (benchmark)
avg-acc     mean V*(A), A in A_{t,e,o}          arg max (higher)    none (benchmark)
disc-acc    V(A_t + (e,o)) after k epochs       arg max (higher)    DARTS-trained supernet
darts-pt    V(A_t - (e,o))                      arg min (lower)     DARTS-trained supernet
disc-zc     S(A_t + (e,o))                      arg max (higher)    untrained supernet
zc-pt       S(A_t - (e,o))                      arg min (lower)     untrained supernet
darts       softmax(alpha)_{e,o}                arg max (higher)    DARTS-trained supernet
==========  ==================================  ==================  ===========================

Precisely:

* **best-acc**: the maximum, over every NAS-Bench-201 architecture that has ``o`` on ``e`` and is
  consistent with ``A_t`` (same op on every already-discretized edge, no removed op), and over each
  of its training trials, of the **single-trial** CIFAR-10 test accuracy (NAS-Bench-201 ``cifar10``,
  200 epochs, in %). For a dataset without a per-trial table, the maximum seed-mean accuracy.
* **avg-acc**: the **mean**, over the same architectures (each weighted once), of each
  architecture's seed-mean CIFAR-10 test accuracy (200 epochs, %). ``avg_acc_over="trials"``
  averages the pooled trials instead (architectures with more trials weigh more).
* **disc-acc**: discretize ``e`` to ``o`` on a copy of the DARTS-trained supernet, fine-tune it for
  ``disc_epochs`` (paper: 5) epochs (DARTS-PT's fine-tuning: SGD at ``learning_rate / 10``,
  alpha updated), then its validation accuracy (%, BatchNorm running statistics).
* **darts-pt**: validation accuracy (%) of the trained supernet with ``o`` removed from ``e``
  (BatchNorm batch statistics, as DARTS-PT's projection). **Lower is better.**
* **disc-zc**: zero-cost proxy score ``S`` of the untrained supernet with ``e`` discretized to ``o``.
* **zc-pt**: ``S`` of the untrained supernet with ``o`` removed from ``e``. **Lower is better.**
* **darts**: ``softmax(alpha)[e, o]`` of the trained supernet after ``darts_alpha_epoch`` epochs
  (paper: 60; default: the last epoch).

Sign conventions (A.1.2): perturbation scores (darts-pt, zc-pt) are multiplied by -1 before
correlating; every score table carries ``higher_is_better`` and ``for_correlation``
(``score`` if higher is better, else ``-score``), so "larger ``for_correlation`` = stronger op"
holds for all seven methods.

``A_t`` only fixes *which* edges are discretized (and ops removed). The weights come from the
:class:`ScoringContext`: zero-cost methods score its untrained supernet ``A_0``, the training-based
methods its DARTS-trained supernet, the benchmark methods no network at all.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from pydantic import Field, model_validator

from ..bench.benchmark import BenchField
from ..checks import Range, check_range
from ..data import DataFields
from ..errors import InvalidArchError, StateError, ZcptError
from ..evaluation import evaluate
from ..options import Seed, opt
from ..proxies.ensemble import comparable
from ..registry import Registry
from ..runtime import derive_seed
from ..searches.supernet_training import (BilevelTrainer, DartsConfig, DartsRun, FixedBatches, SearchData, copy_supernet,
                                         train_supernet)
from ..searches.op_selection import Scorer, edge_scores
from ..setting_checks import ProxyName, SpaceBatchSize, SpaceName, check_dataset, check_run_options
from ..spaces import get_space
from ..supernet import SUPERNET_MODES, ArchState, Supernet

METHOD_NAMES: tuple[str, ...] = ("best-acc", "avg-acc", "disc-acc", "darts-pt", "disc-zc", "zc-pt", "darts")
AVG_MODES: tuple[str, ...] = ("arch-mean", "trials")
TABLE_COLUMNS: tuple[str, ...] = ("edge", "op", "method", "score", "higher_is_better", "for_correlation",
                                  "edge_index", "iteration")


# ----------------------------------------------------------------------------- benchmark (oracle) data
@dataclass(frozen=True)
class OracleTable:
    """Per-architecture NAS-Bench-201 accuracies as arrays (rows: architectures).

    ``ops[i, j]``: index into ``nb201.OPS`` of architecture i's op on canonical edge j; ``best``:
    max over single trials (seed-mean where the dataset has no trial table); ``mean``: seed-mean;
    ``trial_sum`` / ``trial_count``: for pooled-trial averages.
    """

    dataset: str
    ops: np.ndarray
    best: np.ndarray
    mean: np.ndarray
    trial_sum: np.ndarray
    trial_count: np.ndarray
    per_trial: bool


_ORACLE_CACHE: dict[tuple[int, str], tuple[Any, OracleTable]] = {}


def oracle_table(bench: Any, dataset: str = "cifar10") -> OracleTable:
    """The :class:`OracleTable` of ``bench`` for ``dataset`` (computed once per benchmark)."""
    from ..bench import canonical_dataset
    from ..spaces.nb201 import Arch

    name = canonical_dataset(dataset)
    key = (id(bench), name)
    if key in _ORACLE_CACHE and _ORACLE_CACHE[key][0] is bench:
        return _ORACLE_CACHE[key][1]
    means = bench.mean_table(name)
    ops = np.array([Arch.from_string(s).indices for s in means["arch_str"]], dtype=np.int8)
    mean = means["mean"].to_numpy(dtype=float)
    trials = bench.trials_table(name)
    if len(trials):
        grouped = trials.groupby("index")["test_accuracy"]
        idx = means["index"]
        best = idx.map(grouped.max()).to_numpy(dtype=float)
        tsum = idx.map(grouped.sum()).to_numpy(dtype=float)
        tcount = idx.map(grouped.size()).to_numpy(dtype=float)
        per_trial = True
    else:
        best, tsum, tcount, per_trial = mean.copy(), mean.copy(), np.ones_like(mean), False
    table = OracleTable(name, ops, best, mean, tsum, tcount, per_trial)
    _ORACLE_CACHE[key] = (bench, table)
    return table


def _oracle_scores(ctx: "ScoringContext", state: ArchState, edge: int, ops: Sequence[str], kind: str) -> dict[str, float]:
    from ..spaces import nb201

    if not ctx.get_space().has_benchmark:
        raise ZcptError(f"{kind} needs a tabular benchmark; search space {ctx.settings.space!r} has none (only nb201 does)")
    table = oracle_table(ctx.get_bench(), ctx.bench_dataset)
    try:
        cols = [nb201.EDGES.index(n) for n in state.edge_names]
    except ValueError as exc:
        raise ZcptError(f"edges {state.edge_names} are not NAS-Bench-201 edges") from exc
    mask = np.ones(len(table.ops), dtype=bool)
    for j, col in enumerate(cols):
        if j == edge:
            continue
        allowed = [nb201.OPS.index(o) for o in state.remaining(j)]
        mask &= np.isin(table.ops[:, col], allowed)
    out = {}
    for o in ops:
        sel = mask & (table.ops[:, cols[edge]] == nb201.OPS.index(o))
        if not sel.any():
            out[o] = math.nan
        elif kind == "best-acc":
            out[o] = float(table.best[sel].max())
        elif ctx.settings.avg_acc_over == "trials":
            out[o] = float(table.trial_sum[sel].sum() / table.trial_count[sel].sum())
        else:
            out[o] = float(table.mean[sel].mean())
    return out


# ----------------------------------------------------------------------------- settings and context
class ScoringSettings(BenchField, DataFields):
    """The setting of section 3's operation scores: which supernets (space, shape, execution mode,
    seed), which images, which proxy for the zero-cost methods and which DARTS training for the
    training-based ones. ``proxy_batch_size=None`` means the space's default (256 for nb201)."""

    space: SpaceName = opt("nb201", "--space", help="search space")
    seed: Seed = opt(0, "--seed", help="seed of the supernets (weights, alpha) and of the minibatches")
    proxy: ProxyName = opt("nwot", "--proxy", help="zero-cost proxy of zc-pt / disc-zc")
    proxy_options: dict[str, Any] = opt(None, "--proxy-option", factory=dict, help="proxy option, e.g. mode=train")
    proxy_batch_size: SpaceBatchSize = opt(None, "--proxy-batch-size", ge=1, validate_default=True,
                                          help="zero-cost minibatch (default: the space's, 256 for nb201)")
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict,
                                           help="supernet shape, e.g. C=8 or N=1 (default: the paper's)")
    supernet_mode: Literal[SUPERNET_MODES] = opt(  # type: ignore[valid-type]
        "fast", "--supernet-mode", help="block-input: every op runs, a weight-0 op zeroes its input inside, as the "
        "published NB201 code (with --proxy-option hooks=published: the paper's setting); published: the first "
        "release's approximation (input zeroed before the op)")
    disc_epochs: int = opt(5, "--disc-epochs", help="fine-tuning epochs of disc-acc (paper: 5)", ge=0)
    darts_alpha_epoch: Optional[int] = opt(None, "--darts-alpha-epoch",
                                           help="take the darts score (softmax alpha) after this many epochs "
                                                "(paper: 60; default: the last)")
    avg_acc_over: Literal[AVG_MODES] = opt(  # type: ignore[valid-type]
        "arch-mean", "--avg-acc-over", help="avg-acc: mean of architectures' seed-means, or of all pooled trials")
    darts: DartsConfig = Field(default_factory=DartsConfig)

    @model_validator(mode="after")
    def _check_with_space(self) -> "ScoringSettings":
        if self.darts_alpha_epoch is not None:
            check_range("darts_alpha_epoch", self.darts_alpha_epoch, Range(0, self.darts.epochs), integer=True)
        check_dataset(self.space, self.dataset)
        check_run_options(self.space, self.proxy, self.proxy_options, self.proxy_batch_size, "proxy_batch_size",
                          self.supernet_options)
        return self


@dataclass
class ScoringContext:
    """What the scoring methods work with: their ``settings`` and the runtime resources built
    lazily from them (benchmark, images, networks, scorer), which can also be passed in.

    Networks: ``settings.supernet_options`` (e.g. ``{"C": 16, "N": 5}``, the paper's NB201 supernet)
    shape both the untrained supernet (zero-cost methods; weights and alpha drawn from the seed) and
    the supernet that is DARTS-trained for disc-acc / darts-pt / darts (``settings.darts``;
    checkpoints in ``checkpoint_dir``; pass ``trained`` to reuse a run). Images: ``images`` or the
    settings' dataset; the training methods split them with ``darts.train_portion`` (first part:
    weights, second: alpha and validation accuracy); the zero-cost methods draw
    ``proxy_batch_size`` distinct augmented images per (iteration, edge). ``scorer`` replaces the
    registered proxy (any ``f(net, x, y) -> float``, higher is better).
    """

    settings: ScoringSettings = field(default_factory=ScoringSettings)
    bench: Any = None
    images: Any = None
    scorer: Optional[Scorer] = None
    progress: bool = False
    checkpoint_dir: Optional[str] = None
    trained: Optional[DartsRun] = None
    untrained: Optional[Supernet] = None
    bench_dataset: str = "cifar10"
    proxy_augment: bool = True
    finetune_lr: Optional[float] = None
    pt_bn_mode: str = "train"
    disc_bn_mode: str = "eval"
    device: str = field(init=False)
    _search_data: Optional[SearchData] = field(default=None, repr=False)
    _batches: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from ..runtime import resolve_device

        self.device = str(resolve_device(self.settings.device))

    # -- lazy resources
    def get_space(self):
        return get_space(self.settings.space)

    def get_bench(self):
        if self.bench is None:
            self.bench = self.settings.load_bench()
        return self.bench

    def get_images(self):
        if self.images is None:
            self.images = self.settings.load_images()
        return self.images

    def search_data(self) -> SearchData:
        if self._search_data is None:
            self._search_data = SearchData.from_images(self.get_images(), self.settings.darts.train_portion)
        return self._search_data

    def _new_supernet(self) -> Supernet:
        net = self.get_space().supernet(num_classes=self.get_images().num_classes, seed=self.settings.seed,
                                        **self.settings.supernet_options)
        net.supernet_mode = self.settings.supernet_mode
        return net.to(self.device)

    def untrained_supernet(self) -> Supernet:
        """The untrained supernet ``A_0`` scored by the zero-cost methods."""
        if self.untrained is None:
            self.untrained = self._new_supernet()
        return self.untrained

    def trained_run(self) -> DartsRun:
        """The DARTS-trained supernet (trained on first use; resumed from ``checkpoint_dir``)."""
        if self.trained is None:
            self.trained = train_supernet(self._new_supernet(), self.search_data(), self.settings.darts, seed=self.settings.seed,
                                          device=self.device, out_dir=self.checkpoint_dir, progress=self.progress)
        return self.trained

    def trained_supernet(self) -> Supernet:
        return self.trained_run().supernet

    def darts_alpha(self) -> torch.Tensor:
        """Raw alpha after ``darts_alpha_epoch`` epochs of supernet training (None: the last)."""
        return self.trained_run().alpha_at(self.settings.darts_alpha_epoch)

    def get_scorer(self) -> Scorer:
        """The zero-cost scorer: ``scorer`` if given, else the registered proxy ``proxy``."""
        if self.scorer is not None:
            return self.scorer
        try:
            from ..proxies import get_proxy  # type: ignore[attr-defined]
        except ImportError as exc:
            raise ZcptError(f"zero-cost proxy {self.settings.proxy!r} requested but the proxy registry "
                            "(zcpt_analysis.proxies.get_proxy) is not available; pass a scorer instead") from exc
        proxy = get_proxy(self.settings.proxy)
        options = dict(self.settings.proxy_options)
        return lambda net, x, y: proxy.fn(net, x, y, **options)

    def proxy_batch(self, iteration: int, edge: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatch of the zero-cost scores of ``edge`` at ``iteration`` (fixed per pair: all ops
        of one edge decision share it, and ``g`` reproduces the table's values)."""
        from ..data import MinibatchSampler

        key = (iteration, edge)
        if key not in self._batches:
            sampler = MinibatchSampler(self.get_images(), self.settings.proxy_batch_size,
                                       seed=derive_seed(self.settings.seed, "proxy", iteration, edge),
                                       augment=self.proxy_augment, device=self.device)
            self._batches[key] = sampler.sample()
        return self._batches[key]

    def valid_batches(self) -> FixedBatches:
        """Validation batches of the training-based scores (the second half of the search split)."""
        return FixedBatches(self.search_data().valid, self.settings.darts.batch_size,
                            seed=derive_seed(self.settings.seed, "score-eval"), augment=self.settings.darts.augment,
                            device=self.device, max_images=self.settings.darts.eval_max_images)

    def fork(self, **changes: Any) -> "ScoringContext":
        """A copy sharing the lazily built resources, with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------- methods
EdgeScorer = Callable[[ScoringContext, ArchState, int, Sequence[str]], dict]


@dataclass(frozen=True)
class ScoringMethod:
    """One operation scoring function: ``score_edge(ctx, A_t, e, ops) -> {op: g(A_t, e, op)}``.

    ``higher_is_better``: the method keeps the op with the largest score (else the smallest);
    ``for_correlation`` = ``sign * score``. ``network``: what is scored (``none`` = benchmark only,
    ``untrained``, ``trained``); ``trains``: the score itself trains a network.
    """

    name: str
    formula: str
    higher_is_better: bool
    paradigm: str
    network: str
    trains: bool
    description: str
    score_edge: EdgeScorer

    @property
    def sign(self) -> float:
        return 1.0 if self.higher_is_better else -1.0


def _best_acc(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
    return _oracle_scores(ctx, state, e, ops, "best-acc")


def _avg_acc(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
    return _oracle_scores(ctx, state, e, ops, "avg-acc")


def _zero_cost(kind: str) -> EdgeScorer:
    def score(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
        net = ctx.untrained_supernet()
        scorer = ctx.get_scorer()
        x, y = ctx.proxy_batch(state.t, e)
        with state.applied(net):
            if tuple(ops) == state.remaining(e):  # the whole edge: the op_selection function
                return {o: float(v) for o, v in edge_scores(kind, net, e, scorer, x, y).items()}
            out = {}
            for o in ops:
                cm = net.perturbed(e, o) if kind == "zc-pt" else net.discretized(e, o)
                with cm:
                    out[o] = scorer(net, x, y)
            return comparable(out)  # floats; a set-relative proxy (the ensemble) ranks these ops
    return score


def _darts_pt(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
    net = ctx.trained_supernet()
    batches = ctx.valid_batches()
    out = {}
    with state.applied(net):
        for o in ops:
            with net.perturbed(e, o):
                out[o] = evaluate(net, batches, ctx.pt_bn_mode).accuracy
    return out


def finetune(supernet: Supernet, ctx: ScoringContext, epochs: int, seed: int) -> Supernet:
    """DARTS-PT-style fine-tuning of ``supernet`` in place: ``epochs`` bilevel epochs at the constant
    LR ``finetune_lr`` (default ``learning_rate / 10``), alpha updated per ``ctx.settings.darts.arch_update``
    with a fresh Adam (DARTS-PT continues the supernet's; irrelevant for a few epochs from Adam's
    bias-corrected first steps, but a difference)."""
    lr = ctx.settings.darts.learning_rate / 10 if ctx.finetune_lr is None else ctx.finetune_lr
    trainer = BilevelTrainer(supernet, ctx.search_data(), ctx.settings.darts, seed=seed, device=ctx.device, lr=lr,
                             lr_schedule="constant")
    for _ in range(epochs):
        trainer.train_epoch(progress=False)
    supernet.alpha.requires_grad_(False)
    return supernet


def _disc_acc(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
    base = ctx.trained_supernet()
    batches = ctx.valid_batches()
    out = {}
    for o in ops:
        net = copy_supernet(base)
        state.discretize(e, o).apply(net)
        finetune(net, ctx, ctx.settings.disc_epochs, seed=derive_seed(ctx.settings.seed, "disc-acc", state.t, e))
        out[o] = evaluate(net, batches, ctx.disc_bn_mode).accuracy
        del net
    return out


def _darts(ctx: ScoringContext, state: ArchState, e: int, ops: Sequence[str]) -> dict[str, float]:
    net = ctx.trained_supernet()
    weights = torch.softmax(ctx.darts_alpha().detach().float().cpu(), dim=-1)
    return {o: float(weights[e, net.candidates[e].index(o)]) for o in ops}


METHODS: Registry[ScoringMethod] = Registry("scoring method")
"""The seven scoring methods of section 3, in the paper's order."""
register_method = METHODS.register
get_method = METHODS.get
method_names = METHODS.names


for _m in (
    ScoringMethod("best-acc", "max_{A in A_{t,e,o}} V*(A)", True, "oracle", "none", False,
                  "max single-trial NB201 CIFAR-10 test accuracy (200 epochs) over consistent architectures", _best_acc),
    ScoringMethod("avg-acc", "mean_{A in A_{t,e,o}} V*(A)", True, "oracle", "none", False,
                  "mean over consistent architectures of their seed-mean NB201 CIFAR-10 test accuracy", _avg_acc),
    ScoringMethod("disc-acc", "V(A_t + (e,o)) after k epochs", True, "discretization", "trained", True,
                  "validation accuracy of the trained supernet discretized and fine-tuned for k epochs", _disc_acc),
    ScoringMethod("darts-pt", "V(A_t - (e,o))", False, "perturbation", "trained", False,
                  "validation accuracy of the trained supernet with the op removed (lower = more important)", _darts_pt),
    ScoringMethod("disc-zc", "S(A_t + (e,o))", True, "discretization", "untrained", False,
                  "zero-cost score of the untrained supernet discretized to the op", _zero_cost("disc-zc")),
    ScoringMethod("zc-pt", "S(A_t - (e,o))", False, "perturbation", "untrained", False,
                  "zero-cost score of the untrained supernet with the op removed (lower = more important)",
                  _zero_cost("zc-pt")),
    ScoringMethod("darts", "softmax(alpha)_{e,o}", True, "architecture-weights", "trained", True,
                  "softmax of alpha after DARTS supernet training", _darts),
):
    register_method(_m)


# ----------------------------------------------------------------------------- public interface
StateLike = Any  # Supernet | ArchState | Sequence[Optional[str]] | Mapping[edge, op] | None


def as_state(A_t: StateLike, context: Optional[ScoringContext] = None) -> ArchState:
    """An :class:`~zcpt_analysis.supernet.ArchState` from a supernet, a state, a sequence of chosen
    ops per edge (None = undiscretized) or a mapping ``{edge: op}``; None means ``A_0`` of the
    context's space."""
    if isinstance(A_t, ArchState):
        return A_t
    if isinstance(A_t, Supernet):
        return ArchState.from_supernet(A_t)
    ctx = context or ScoringContext()
    template = _template(ctx)
    state = ArchState.initial(template)
    if A_t is None:
        return state
    if isinstance(A_t, Mapping):
        items = list(A_t.items())
    else:
        seq = list(A_t)
        if len(seq) != len(state.edge_names):
            raise InvalidArchError(f"expected one op or None per edge ({len(state.edge_names)}: "
                                   f"{', '.join(state.edge_names)}), got {len(seq)}")
        items = [(e, o) for e, o in enumerate(seq) if o is not None]
    for e, o in items:
        state = state.discretize(e, o)
    return state


_TEMPLATES: dict[str, Supernet] = {}


def _template(ctx: ScoringContext) -> Supernet:
    """A small supernet of the context's space, only for its edge names and candidates."""
    if ctx.untrained is not None:
        return ctx.untrained
    if ctx.trained is not None:
        return ctx.trained.supernet
    if ctx.settings.space not in _TEMPLATES:
        kwargs = {"C": 1, "N": 1} if ctx.settings.space == "nb201" else {}
        _TEMPLATES[ctx.settings.space] = ctx.get_space().supernet(num_classes=10, seed=0, **kwargs)
    return _TEMPLATES[ctx.settings.space]


def score_edge(method: str | ScoringMethod, A_t: StateLike, edge: int | str,
               context: Optional[ScoringContext] = None, ops: Optional[Sequence[int | str]] = None) -> dict[str, float]:
    """``{o: g(method, A_t, edge, o)}`` for every remaining op of an undiscretized ``edge`` (or ``ops``)."""
    m = get_method(method)
    ctx = context or ScoringContext()
    state = as_state(A_t, ctx)
    e = state.edge_index(edge)
    if state.chosen[e] is not None:
        raise StateError(f"edge {state.edge_names[e]} of A_t is already discretized to {state.chosen[e]}; "
                         f"undiscretized edges: {', '.join(state.edge_names[i] for i in state.undiscretized())}")
    names = state.remaining(e) if ops is None else tuple(state.op_name(e, o) for o in ops)
    for o in names:
        if o not in state.remaining(e):
            raise StateError(f"op {o} was removed from edge {state.edge_names[e]} of A_t")
    return m.score_edge(ctx, state, e, names)


def g(method: str | ScoringMethod, A_t: StateLike, edge: int | str, op: int | str,
      context: Optional[ScoringContext] = None) -> float:
    """The operation score ``g(A_t, e, o)`` of ``method`` (see the module table for its direction)."""
    state = as_state(A_t, context)
    name = state.op_name(edge, op)
    return score_edge(method, state, edge, context, ops=[name])[name]


def score_operations(context: ScoringContext, methods: Sequence[str] = METHOD_NAMES, A_t: StateLike = None,
                     edges: Optional[Sequence[int | str]] = None) -> pd.DataFrame:
    """Tidy table of ``g(A_t, e, o)`` for every method, undiscretized edge and remaining op.

    Columns: ``edge`` (name), ``op``, ``method``, ``score``, ``higher_is_better``,
    ``for_correlation`` (``score``, negated for lower-is-better methods), ``edge_index``,
    ``iteration`` (number of discretized edges of ``A_t``).
    """
    from tqdm.auto import tqdm

    resolved = [get_method(m) for m in methods]
    state = as_state(A_t, context)
    todo = state.undiscretized() if edges is None else [state.edge_index(e) for e in edges]
    rows = []
    jobs = [(m, e) for m in resolved for e in todo]
    for m, e in tqdm(jobs, desc="operation scores", disable=not context.progress):
        if state.chosen[e] is not None:
            raise StateError(f"edge {state.edge_names[e]} is already discretized")
        scores = m.score_edge(context, state, e, state.remaining(e))
        for op, value in scores.items():
            rows.append({"edge": state.edge_names[e], "op": op, "method": m.name, "score": float(value),
                         "higher_is_better": m.higher_is_better, "for_correlation": m.sign * float(value),
                         "edge_index": e, "iteration": state.t})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
