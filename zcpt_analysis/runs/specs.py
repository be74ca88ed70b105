"""Run specs: one frozen dataclass per experiment kind, the single source of truth for its settings.

A spec owns its fields and defaults (declared once with :func:`~.options.opt`, which also makes them
``zcpt`` options), its validation, its **identity** (the fields that determine the result: not the
device, the data folder, the benchmark path or the engine), its record's file name
(:meth:`RunSpec.record_name`: readable key fields, plus ``-h<hash>`` of every other identity field
that differs from its default), the exact command that computes it (:meth:`RunSpec.to_argv`) and
:meth:`RunSpec.run`.

=================  ===================  ==============================================
spec               kind                 command
=================  ===================  ==============================================
SearchSpec         zcpt-search          ``zcpt search``
NaswotSpec         naswot               ``zcpt baseline naswot``
RandomSpec         random-baseline      ``zcpt baseline random``
DartsSpec          darts                ``zcpt darts``
DartsPTSpec        darts-pt             ``zcpt darts-pt``
ScoresSpec         op-scores            ``zcpt scores`` (one scoring method)
IterativeSpec      iterative-scores     ``zcpt scores --iterative``
TrainSpec          train                ``zcpt train``
=================  ===================  ==============================================

Specs are normalized when built (``data_source="auto"`` becomes ``full`` or ``sample``, a ``None``
batch size the space's default, ...), so two specs that compute the same thing compare equal.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

from ..checks import Range, at_least, check_device, check_range
from ..data import DataFields
from ..errors import ZcptError
from ..options import identity_fields, nested, opt, plain
from ..searches.darts import DartsConfig
from ..searches.darts_pt import DartsPTConfig
from ..train import TrainConfig
from .spec_base import (SPECS, BenchField, RunSpec, _check_benchmark_space, _check_dataset, _check_options, _hash,
                        _positive, _proxy_name, _register, _set, _space_name, spec_class, spec_from_json)

COMPAT_MODES: tuple[str, ...] = ("fast", "published", "block-input")
"""Execution modes of the supernet (see :mod:`zcpt_analysis.supernet`): ``block-input`` is what the
published NB201 code runs (a weight-0 op is called on its real input and zeroes it inside);
``published`` the first release's approximation of it (kept so its records keep their meaning)."""
ENGINES: tuple[str, ...] = ("auto", "batched", "simple")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
TOPOLOGY_METHODS: tuple[str, ...] = ("algorithm2", "iterative")


# ============================================================================= Zero-Cost-PT search
@_register
@dataclass(frozen=True, kw_only=True)
class SearchSpec(BenchField, DataFields, RunSpec):
    """One Zero-Cost-PT search (Algorithm 1 on NAS-Bench-201, Algorithm 2 on the DARTS spaces).

    ``train_portion=None`` means 0.5 (DARTS-PT's search split) for full datasets and 1.0 for the
    small shared samples. ``supernet_options`` / ``network_options`` go to the space's supernet /
    standalone-network builders (e.g. ``{"C": 4, "N": 1}``; default: the paper's sizes).
    ``compat="block-input"`` runs the supernet and nwot as the published NB201 code does (every op
    runs, a weight-0 op zeroes its input inside, nwot hooks every module whose type name contains
    ``ReLU``): the paper's setting; ``compat="published"`` is the first release's approximation of
    it (weight-0 ops zeroed before the call, so the ``ReLUConvBN`` wrappers' hooks see zeros). ``engine`` and
    ``channels_last`` change speed, not results (not part of the identity).
    """

    KIND: ClassVar[str] = "zcpt-search"
    COMMAND: ClassVar[tuple[str, ...]] = ("search",)
    READABLE: ClassVar[tuple[str, ...]] = ("space", "proxy", "order", "N", "V", "batch_size", "dataset", "compat",
                                           "seed")

    space: str = opt("nb201", "--space", help="search space (nb201, darts, darts-s1 .. darts-s4)")
    proxy: str = opt("nwot", "--proxy", help="zero-cost proxy (see `zcpt proxies list`)")
    order: str = opt("random", "--order", help="edge discretization ordering (fixed, random, global-op-iter, "
                     "global-op-once, global-edge-iter, global-edge-once)")
    N: int = opt(10, "-N", help="search iterations")
    V: int = opt(100, "-V", help="validation minibatches")
    batch_size: Optional[int] = opt(None, "--batch-size", help="proxy minibatch (default: the space's, 256 for "
                                    "nb201, 64 for the DARTS spaces)")
    seed: int = opt(0, "--seed", help="search seed")
    train_portion: Optional[float] = opt(None, "--train-portion",
                                         help="share of the training images used for proxy inputs (default 0.5 for "
                                              "full datasets, 1.0 for the small samples)")
    compat: str = opt("fast", "--compat", choices=COMPAT_MODES,
                      help="block-input: run the supernet and nwot hooks as the published NB201 code does (the "
                           "paper's setting); published: the first release's approximation of it")
    proxy_options: dict[str, Any] = opt(None, "--proxy-option", factory=dict, help="proxy option, e.g. mode=train")
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict, help="supernet option, e.g. C=8")
    network_options: dict[str, Any] = opt(None, "--network-option", factory=dict,
                                          help="option of the validation stage's standalone networks, e.g. C=8")
    topology: str = opt("algorithm2", "--topology", choices=TOPOLOGY_METHODS,
                        help="DARTS topology selection (Algorithm 2, or the published code's iterative removal)")
    published_once_order: bool = opt(False, "--published-once-order",
                                     help="global-*-once: discretize in the published code's order (reverse "
                                          "canonical, see searches/orderings.py) instead of section 4.2's ranking")
    engine: str = opt("auto", "--engine", choices=ENGINES, identity=False,
                      help="batched: all perturbations of an edge in one forward (nwot, eval mode); simple: one "
                           "forward per perturbation (any proxy); auto: batched when it applies")
    channels_last: Optional[bool] = opt(None, "--channels-last", identity=False,
                                        help="NHWC convolutions (default: on CPU for forward-only proxies)")
    precision: str = opt("fp32", "--precision", choices=PRECISIONS,
                         help="bf16: bfloat16 autocast forwards (approximate, changes results; see README's speed "
                              "section for its measured effect)")

    def __post_init__(self) -> None:
        from ..searches.orderings import check_ordering
        from ..spaces import get_space

        space = get_space(self.space)
        _set(self, space=space.name, proxy=_proxy_name(self.proxy),
             batch_size=space.default_batch_size if self.batch_size is None else int(self.batch_size))
        self._normalize_data()
        check_ordering(self.order)
        if self.engine not in ENGINES:
            raise ZcptError(f"unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")
        if self.compat not in COMPAT_MODES:
            raise ZcptError(f"unknown compat mode {self.compat!r}; valid: {', '.join(COMPAT_MODES)}")
        if self.precision not in PRECISIONS:
            raise ZcptError(f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}")
        _positive(N=self.N, V=self.V, batch_size=self.batch_size)
        if self.train_portion is not None:
            check_range("train_portion", self.train_portion, Range(0, 1, low_open=True))
        check_device(self.device)
        _check_dataset(self.space, self.dataset)
        _check_options(self.space, self.proxy, self.proxy_options, self.batch_size, "batch_size",
                       self.supernet_options, self.network_options)

    def record_name(self) -> str:
        compat = "" if self.compat == "fast" else f"-{self.compat}"
        return (f"zcpt-{self.space}-{self.proxy}-{self.order}-N{self.N}-V{self.V}-b{self.batch_size}-"
                f"{self.dataset}{compat}{self.name_suffix()}-s{self.seed}.json")

    def _default(self) -> "SearchSpec":
        return SearchSpec(space=self.space)

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.proxy, self.order, self.batch_size, self.compat,
                json.dumps(self.supernet_options, sort_keys=True), json.dumps(self.network_options, sort_keys=True))

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..searches.zcpt import ZeroCostPT

        if resources.get("bench") is None:
            resources["bench"] = self.bench_for_run(self.space)  # a bad benchmark fails before the search
        return ZeroCostPT(self, store=store, progress=progress, force=force, **resources).run()


# ============================================================================= baselines
@_register
@dataclass(frozen=True, kw_only=True)
class NaswotSpec(BenchField, DataFields, RunSpec):
    """One NASWOT run (Mellor et al. 2021): sample ``n_samples`` architectures with ``seed``, score
    each standalone network on one fixed minibatch (``score_seed``), keep the best.

    ``proxy_options=None`` means ``{"mode": "train"}`` for nwot (the original NASWOT code scores
    in train mode) and no options otherwise.
    """

    KIND: ClassVar[str] = "naswot"
    COMMAND: ClassVar[tuple[str, ...]] = ("baseline", "naswot")
    READABLE: ClassVar[tuple[str, ...]] = ("proxy", "n_samples", "seed")

    space: str = opt("nb201", "--space", help="search space (NASWOT needs a benchmark: nb201)")
    proxy: str = opt("nwot", "--proxy", help="zero-cost proxy")
    n_samples: int = opt(1000, "--n-samples", help="architectures sampled per run")
    batch_size: int = opt(128, "--batch-size", help="size of the one minibatch every network is scored on")
    seed: int = opt(0, "--seed", help="run seed (which architectures are sampled)")
    score_seed: int = opt(0, "--score-seed", help="seed of the fixed minibatch and of the network inits")
    proxy_options: Optional[dict[str, Any]] = opt(None, "--proxy-option", help="proxy option, e.g. mode=eval")
    network_options: dict[str, Any] = opt(None, "--network-option", factory=dict,
                                          help="standalone network option, e.g. C=8")

    def __post_init__(self) -> None:
        _set(self, space=_space_name(self.space), proxy=_proxy_name(self.proxy))
        if self.proxy_options is None:
            _set(self, proxy_options={"mode": "train"} if self.proxy == "nwot" else {})
        self._normalize_data()
        _positive(n_samples=self.n_samples, batch_size=self.batch_size)
        _check_benchmark_space(self.space, "NASWOT")
        from ..spaces.nb201 import NUM_ARCHS

        if self.n_samples > NUM_ARCHS:
            raise ZcptError(f"n_samples must be at most {NUM_ARCHS:,} (the architectures of {self.space}), got "
                            f"{self.n_samples:,}")
        check_device(self.device)
        _check_dataset(self.space, self.dataset)
        _check_options(self.space, self.proxy, self.proxy_options, self.batch_size, "batch_size",
                       network_options=self.network_options)

    def _default(self) -> "NaswotSpec":
        return NaswotSpec(proxy=self.proxy)

    def to_argv(self) -> list[str]:
        """Always with ``--seed``: without one, ``zcpt baseline naswot`` runs seeds 0-3."""
        argv = super().to_argv()
        return argv if "--seed" in argv else argv + ["--seed", str(self.seed)]

    def record_name(self) -> str:
        return f"naswot-{self.proxy}-n{self.n_samples}{self.name_suffix()}-s{self.seed}.json"

    def score_table_identity(self) -> dict[str, Any]:
        """What the cached per-architecture scores depend on (shared by every seed)."""
        ident = self.identity()
        for key in ("seed", "n_samples"):
            ident.pop(key)
        return ident

    def score_table_name(self) -> str:
        opts = "-".join(f"{k}={v}" for k, v in sorted({**self.proxy_options,
                                                       **{f"net.{k}": v for k, v in self.network_options.items()}}.items()))
        source = "" if self.data_source == "sample" else f"-{self.data_source}"
        return (f"naswot-scores-{self.space}-{self.proxy}{'-' + opts if opts else ''}-b{self.batch_size}-"
                f"{self.dataset}{source}-s{self.score_seed}.json")

    def cost_key(self) -> tuple:
        return (self.KIND, self.proxy, self.n_samples, self.batch_size, json.dumps(self.network_options, sort_keys=True))

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..searches.baselines import run_naswot

        return run_naswot(self, store=store, progress=progress, **resources)


@_register
@dataclass(frozen=True, kw_only=True)
class RandomSpec(BenchField, RunSpec):
    """Table 4's Random row: ``runs`` uniformly random architectures (seeds ``seed .. seed+runs-1``),
    looked up in NAS-Bench-201."""

    KIND: ClassVar[str] = "random-baseline"
    COMMAND: ClassVar[tuple[str, ...]] = ("baseline", "random")
    READABLE: ClassVar[tuple[str, ...]] = ("runs", "seed")

    space: str = opt("nb201", "--space", help="search space with a benchmark (nb201)")
    runs: int = opt(4, "--runs", help="random architectures (one per run)")
    seed: int = opt(0, "--seed", help="first run's seed")

    def __post_init__(self) -> None:
        _set(self, space=_space_name(self.space))
        _positive(runs=self.runs)
        _check_benchmark_space(self.space, "the random baseline")

    def record_name(self) -> str:
        return f"random-n{self.runs}{self.name_suffix()}-s{self.seed}.json"

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..searches.baselines import run_random

        return run_random(self, store=store, **resources)


# ============================================================================= DARTS / DARTS-PT
@dataclass(frozen=True, kw_only=True)
class _SupernetTraining(BenchField, DataFields, RunSpec):
    """A DARTS-trained supernet: the space, seed, shape, data and training hyper-parameters."""

    space: str = opt("nb201", "--space", help="search space")
    seed: int = opt(0, "--seed", help="seed of the supernet weights, alpha and data order")
    darts: DartsConfig = nested(DartsConfig)
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict,
                                           help="supernet shape, e.g. C=8 or N=1 (default: the paper's, C=16 N=5 "
                                                "for nb201)")

    def __post_init__(self) -> None:
        _set(self, space=_space_name(self.space))
        self._normalize_data()
        check_device(self.device)
        _check_dataset(self.space, self.dataset)
        _check_options(self.space, supernet_options=self.supernet_options)

    def supernet_identity(self) -> dict[str, Any]:
        """What the trained supernet depends on."""
        keep = {"space", "seed", "supernet_options", "dataset", "data_source"}
        return {k: v for k, v in identity_fields(self).items() if k in keep or k.startswith("darts.")}

    def run_folder(self) -> str:
        """``darts/<space>-<darts|blank>[-h<hash>]-seed<seed>``: the supernet's folder (shared by
        ``zcpt darts`` and ``zcpt darts-pt`` with the same training settings)."""
        variant = "blank" if self.darts.arch_update == "fixed" else "darts"
        default = _SupernetTraining(space=self.space, darts=DartsConfig(arch_update=self.darts.arch_update))
        mine, base = self.supernet_identity(), default.supernet_identity()
        extra = {k: v for k, v in mine.items() if k not in ("space", "seed") and v != base.get(k)}
        suffix = f"-h{_hash(extra)}" if extra else ""
        return f"darts/{self.space}-{variant}{suffix}-seed{self.seed}"


@_register
@dataclass(frozen=True, kw_only=True)
class DartsSpec(_SupernetTraining):
    """DARTS: train the supernet (bilevel) and derive the argmax-alpha architecture (Table 4)."""

    KIND: ClassVar[str] = "darts"
    COMMAND: ClassVar[tuple[str, ...]] = ("darts",)

    def record_name(self) -> str:
        return f"{self.run_folder()}/darts.json"

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.darts.epochs, self.darts.batch_size,
                json.dumps(self.supernet_options, sort_keys=True))

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..searches.darts import run_darts

        if resources.get("bench") is None:
            resources["bench"] = self.bench_for_run(self.space)  # a bad benchmark fails before the training
        return run_darts(self, store=store, progress=progress, force=force, **resources)


@_register
@dataclass(frozen=True, kw_only=True)
class DartsPTSpec(_SupernetTraining):
    """DARTS-PT: perturbation-based selection with fine-tuning on a DARTS-trained supernet;
    ``fix_alpha`` trains and fine-tunes with alpha frozen ("DARTS-PT (fix alpha)")."""

    KIND: ClassVar[str] = "darts-pt"
    COMMAND: ClassVar[tuple[str, ...]] = ("darts-pt",)

    fix_alpha: bool = opt(False, "--fix-alpha", help="alpha frozen in training and fine-tuning")
    pt: DartsPTConfig = nested(DartsPTConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fix_alpha and self.darts.arch_update != "fixed":
            _set(self, darts=self.darts.replace(arch_update="fixed"))
        if self.pt.fix_alpha != self.fix_alpha:
            _set(self, pt=dataclasses.replace(self.pt, fix_alpha=self.fix_alpha))

    def record_name(self) -> str:
        base = "darts-pt-fix-alpha" if self.fix_alpha else "darts-pt"
        default = identity_fields(DartsPTConfig(fix_alpha=self.fix_alpha))
        extra = {k: v for k, v in identity_fields(self.pt).items() if v != default[k]}
        suffix = f"-h{_hash(extra)}" if extra else ""
        return f"{self.run_folder()}/{base}{suffix}.json"

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.darts.epochs, self.pt.proj_intv, json.dumps(self.supernet_options))

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..searches.darts_pt import run_darts_pt_spec

        if resources.get("bench") is None:
            resources["bench"] = self.bench_for_run(self.space)  # a bad benchmark fails before the training
        return run_darts_pt_spec(self, store=store, progress=progress, force=force, **resources)


# ============================================================================= operation scores
@dataclass(frozen=True, kw_only=True)
class _ScoringFields(BenchField, DataFields, RunSpec):
    """The setting of section 3's operation scores (shared by one-method and iterative scores)."""

    space: str = opt("nb201", "--space", help="search space")
    seed: int = opt(0, "--seed", help="seed of the supernets (weights, alpha) and of the minibatches")
    proxy: str = opt("nwot", "--proxy", help="zero-cost proxy of zc-pt / disc-zc")
    proxy_options: dict[str, Any] = opt(None, "--proxy-option", factory=dict, help="proxy option, e.g. mode=train")
    proxy_batch_size: Optional[int] = opt(None, "--proxy-batch-size",
                                          help="zero-cost minibatch (default: the space's, 256 for nb201)")
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict,
                                           help="supernet shape, e.g. C=8 or N=1 (default: the paper's)")
    supernet_mode: str = opt("fast", "--supernet-mode", choices=COMPAT_MODES,
                             help="block-input: every op runs, a weight-0 op zeroes its input inside, as the "
                                  "published NB201 code (with --proxy-option hooks=published: the paper's setting); "
                                  "published: the first release's approximation (input zeroed before the op)")
    disc_epochs: int = opt(5, "--disc-epochs", help="fine-tuning epochs of disc-acc (paper: 5)")
    darts_alpha_epoch: Optional[int] = opt(None, "--darts-alpha-epoch",
                                           help="take the darts score (softmax alpha) after this many epochs "
                                                "(paper: 60; default: the last)")
    avg_acc_over: str = opt("arch-mean", "--avg-acc-over", choices=("arch-mean", "trials"),
                            help="avg-acc: mean of architectures' seed-means, or of all pooled trials")
    darts: DartsConfig = nested(DartsConfig)

    def __post_init__(self) -> None:
        from ..spaces import get_space

        space = get_space(self.space)
        _set(self, space=space.name, proxy=_proxy_name(self.proxy),
             proxy_batch_size=space.default_batch_size if self.proxy_batch_size is None else int(self.proxy_batch_size))
        self._normalize_data()
        _positive(proxy_batch_size=self.proxy_batch_size)
        at_least(0, disc_epochs=self.disc_epochs)
        if self.darts_alpha_epoch is not None:
            check_range("darts_alpha_epoch", self.darts_alpha_epoch, Range(0, self.darts.epochs), integer=True)
        check_device(self.device)
        _check_dataset(self.space, self.dataset)
        _check_options(self.space, self.proxy, self.proxy_options, self.proxy_batch_size, "proxy_batch_size",
                       self.supernet_options)

    def _default(self) -> "_ScoringFields":
        return type(self)(space=self.space)

    def supernet_folder(self) -> str:
        """Where the DARTS-trained supernet of the training-based methods is checkpointed in a
        store (shared by every method and by the iterative setting of the same settings)."""
        keep = ("space", "seed", "supernet_options", "supernet_mode", "dataset", "data_source")
        ident = {k: v for k, v in identity_fields(self).items() if k in keep or k.startswith("darts.")}
        return f"scores/darts-supernet-{self.space}-h{_hash(ident)}-s{self.seed}"

    def context(self, **resources: Any):
        """The :class:`~zcpt_analysis.scoring.ScoringContext` of this setting."""
        from ..runtime import resolve_device
        from ..scoring import ScoringContext

        return ScoringContext(space=self.space, seed=self.seed, supernet_kwargs=dict(self.supernet_options),
                              supernet_mode=self.supernet_mode, device=str(resolve_device(self.device)),
                              bench=resources.get("bench"), bench_path=self.bench, avg_acc_over=self.avg_acc_over,
                              dataset=self.dataset, data_source=self.data_source, data_root=self.data_root,
                              images=resources.get("images"), proxy=self.proxy, proxy_options=dict(self.proxy_options),
                              proxy_batch_size=self.proxy_batch_size, darts=self.darts, disc_epochs=self.disc_epochs,
                              darts_alpha_epoch=self.darts_alpha_epoch)


def method_identity_fields(method: str) -> tuple[str, ...]:
    """The :class:`ScoresSpec` fields a scoring method's scores depend on (its cache identity)."""
    from ..scoring import get_method

    m = get_method(method)
    if m.network == "none":
        return ("space",) + (("avg_acc_over",) if m.name == "avg-acc" else ())
    common = ("space", "seed", "supernet_options", "supernet_mode", "dataset", "data_source")
    if m.network == "untrained":
        return common + ("proxy", "proxy_options", "proxy_batch_size")
    extra = {"disc-acc": ("disc_epochs",), "darts": ("darts_alpha_epoch",)}.get(m.name, ())
    return common + ("darts",) + extra


@_register
@dataclass(frozen=True, kw_only=True)
class ScoresSpec(_ScoringFields):
    """The iteration-0 operation scores ``g(A_0, e, o)`` of one scoring method (section 3)."""

    KIND: ClassVar[str] = "op-scores"
    COMMAND: ClassVar[tuple[str, ...]] = ("scores",)
    READABLE: ClassVar[tuple[str, ...]] = ("method", "space", "seed")

    method: str = plain("best-acc")

    def __post_init__(self) -> None:
        from ..scoring import get_method

        super().__post_init__()
        _set(self, method=get_method(self.method).name)

    def identity(self) -> dict[str, Any]:
        """Only the fields the method's scores depend on (a benchmark method ignores the proxy, ...)."""
        wanted = method_identity_fields(self.method)
        full = identity_fields(self)
        return {"kind": self.KIND, "method": self.method,
                **{k: v for k, v in full.items() if k in wanted or k.split(".")[0] in wanted}}

    def hashed_fields(self) -> dict[str, Any]:
        mine, default = self.identity(), type(self)(space=self.space, method=self.method).identity()
        return {k: v for k, v in mine.items() if k not in self.READABLE and v != default.get(k)}

    def to_argv(self) -> list[str]:
        argv = super().to_argv()
        return argv[:2] + ["--methods", self.method] + argv[2:]

    def record_name(self) -> str:
        seed = f"-s{self.seed}" if "seed" in method_identity_fields(self.method) else ""
        return f"scores/{self.method}-{self.space}{self.name_suffix()}{seed}.json"

    def cost_key(self) -> tuple:
        return (self.KIND, self.method, self.space, self.proxy, self.proxy_batch_size,
                json.dumps(self.supernet_options, sort_keys=True), self.darts.epochs)

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..scoring import run_scores

        return run_scores(self, store=store, progress=progress, **resources)


@_register
@dataclass(frozen=True, kw_only=True)
class IterativeSpec(_ScoringFields):
    """The iterative setting of A.1.1 (Figure A1): one trajectory per method, scored with the
    method and ``reference`` after every discretization; darts-pt and disc-acc fine-tune
    ``retrain_epochs`` between decisions."""

    KIND: ClassVar[str] = "iterative-scores"
    COMMAND: ClassVar[tuple[str, ...]] = ("scores", "--iterative")
    READABLE: ClassVar[tuple[str, ...]] = ("space", "seed")

    methods: tuple[str, ...] = plain(("best-acc", "avg-acc", "disc-acc", "darts-pt", "disc-zc", "zc-pt", "darts"))
    reference: str = opt("best-acc", "--reference", help="reference method of the iterative setting")
    retrain_epochs: int = opt(5, "--retrain-epochs",
                              help="fine-tuning epochs of darts-pt / disc-acc after each decision (paper: 5)")

    def __post_init__(self) -> None:
        from ..scoring import get_method

        super().__post_init__()
        _set(self, methods=tuple(get_method(m).name for m in self.methods), reference=get_method(self.reference).name)
        at_least(0, retrain_epochs=self.retrain_epochs)

    def to_argv(self) -> list[str]:
        argv = super().to_argv()
        return argv[:3] + ["--methods", *self.methods] + argv[3:]

    def record_name(self) -> str:
        return f"iterative/iterative-{self.space}-h{_hash(self.identity())}-s{self.seed}.json"

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..analysis import run_iterative

        return run_iterative(self, store=store, progress=progress, **resources)


# ============================================================================= final training
@_register
@dataclass(frozen=True, kw_only=True)
class TrainSpec(RunSpec):
    """Training one DARTS genotype from scratch with the DARTS protocol (Tables 5, 6, A1).

    ``genotype`` is what ``zcpt train --genotype`` takes (a known name such as ``DARTS_V2``, a
    genotype / record file, or a JSON / ``Genotype(...)`` string); the identity uses the genotype
    it names, so a file and its content identify the same result. ``config`` holds the training
    hyper-parameters (:class:`~zcpt_analysis.train.TrainConfig`).
    """

    KIND: ClassVar[str] = "train"
    COMMAND: ClassVar[tuple[str, ...]] = ("train",)

    genotype: str = opt(MISSING, "--genotype", identity=False,
                        help="genotype JSON file, search result record, a Genotype(...) string, or a known name such "
                             "as DARTS_V2")
    config: TrainConfig = nested(TrainConfig)

    def __post_init__(self) -> None:
        self.config.validate()
        self.resolved_genotype()  # a bad genotype is an error before any work

    def resolved_genotype(self):
        from ..train import resolve_genotype

        return resolve_genotype(self.genotype)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "genotype": self.resolved_genotype().to_json()}

    def stem(self) -> str:
        """A readable name of the genotype: its name, its file's stem, or a hash of its content."""
        import re

        from ..spaces.genotypes import GENOTYPES

        text = self.genotype.strip()
        if text in GENOTYPES:
            return text
        path = Path(text)
        if path.suffix and path.is_file():
            return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:40].strip("_") or "genotype"
        return f"genotype-{_hash(self.resolved_genotype().to_json())}"

    def hashed_fields(self) -> dict[str, Any]:
        c = self.config
        mine = identity_fields(self)
        default = identity_fields(TrainSpec(genotype=self.genotype, config=TrainConfig(dataset=c.dataset,
                                                                                       setting=c.setting)))
        return {k: v for k, v in mine.items()
                if k not in ("config.dataset", "config.setting", "config.seed") and v != default.get(k)}

    def record_name(self) -> str:
        c = self.config
        return f"train/{self.stem()}-{c.dataset}-{c.setting}{self.name_suffix()}-seed{c.seed}/result.json"

    def cost_key(self) -> tuple:
        c = self.config
        return (self.KIND, c.dataset, c.setting, c.epochs, c.batch_size, c.C, c.layers, c.train_limit)

    def execute(self, store=None, progress=False, force=False, **resources):
        from ..train import run_train

        return run_train(self, store=store, progress=progress, force=force)


__all__ = ["RunSpec", "SearchSpec", "NaswotSpec", "RandomSpec", "DartsSpec", "DartsPTSpec", "ScoresSpec",
           "IterativeSpec", "TrainSpec", "SPECS", "spec_class", "spec_from_json"]
