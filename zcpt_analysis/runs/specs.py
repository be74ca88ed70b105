"""Run specs: one per experiment kind -- the algorithm's settings (declared once, next to the
algorithm) plus the :class:`~.spec.RunSpec` mixin (identity, record name, command).

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
ProxyStudySpec     proxy-study          ``zcpt proxies study``
TrainSpec          train                ``zcpt train``
=================  ===================  ==============================================

Specs are normalised when built (``data_source="auto"`` becomes ``full`` or ``sample``, a ``None``
batch size the space's default, ...), so two specs that compute the same thing compare equal.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar, Optional

from pydantic import Field, field_validator

from ..scoring.iterative import IterativeSettings
from ..options import Settings, identity_fields, opt, plain
from ..proxy_study import ProxyStudySettings
from ..runtime import resolve_device
from ..scoring import ScoringSettings, get_method
from ..searches.baselines import NaswotSettings, RandomSettings
from ..searches.darts import DartsSettings
from ..searches.darts_pt import DartsPTConfig, DartsPTSettings
from ..searches.supernet_training import DartsConfig
from ..searches.zcpt import SearchSettings
from ..spaces.genotypes import GENOTYPES, Genotype
from ..train import TrainConfig
from .genotype_input import resolve_genotype
from .spec import SPECS, RunSpec, register_spec, short_hash, spec_from_json


# ============================================================================= Zero-Cost-PT search
@register_spec
class SearchSpec(SearchSettings, RunSpec):
    """One Zero-Cost-PT search (see :class:`~zcpt_analysis.searches.zcpt.SearchSettings`)."""

    KIND: ClassVar[str] = "zcpt-search"
    COMMAND: ClassVar[tuple[str, ...]] = ("search",)
    READABLE: ClassVar[tuple[str, ...]] = ("space", "proxy", "order", "N", "V", "batch_size", "dataset",
                                           "supernet_mode", "seed")

    def record_name(self) -> str:
        mode = "" if self.supernet_mode == "fast" else f"-{self.supernet_mode}"
        return (f"zcpt-{self.space}-{self.proxy}-{self.order}-N{self.N}-V{self.V}-b{self.batch_size}-"
                f"{self.dataset}{mode}{self.name_suffix()}-s{self.seed}.json")

    def _default(self) -> "SearchSpec":
        return SearchSpec(space=self.space)

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.proxy, self.order, self.batch_size, self.supernet_mode,
                json.dumps(self.supernet_options, sort_keys=True), json.dumps(self.network_options, sort_keys=True))


# ============================================================================= baselines
@register_spec
class NaswotSpec(NaswotSettings, RunSpec):
    """One NASWOT run (see :class:`~zcpt_analysis.searches.baselines.NaswotSettings`)."""

    KIND: ClassVar[str] = "naswot"
    COMMAND: ClassVar[tuple[str, ...]] = ("baseline", "naswot")
    READABLE: ClassVar[tuple[str, ...]] = ("proxy", "n_samples", "seed")

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


@register_spec
class RandomSpec(RandomSettings, RunSpec):
    """Table 4's Random row (see :class:`~zcpt_analysis.searches.baselines.RandomSettings`)."""

    KIND: ClassVar[str] = "random-baseline"
    COMMAND: ClassVar[tuple[str, ...]] = ("baseline", "random")
    READABLE: ClassVar[tuple[str, ...]] = ("runs", "seed")

    def record_name(self) -> str:
        return f"random-n{self.runs}{self.name_suffix()}-s{self.seed}.json"


# ============================================================================= DARTS / DARTS-PT
class _SupernetRun(RunSpec):
    """A run on a DARTS-trained supernet: DARTS and DARTS-PT with the same training settings share
    the supernet's folder."""

    def supernet_identity(self) -> dict[str, Any]:
        """What the trained supernet depends on."""
        keep = {"space", "seed", "supernet_options", "dataset", "data_source"}
        return {k: v for k, v in identity_fields(self).items()  # type: ignore[arg-type]
                if k in keep or k.startswith("darts.")}

    def run_folder(self) -> str:
        """``darts/<space>-<darts|blank>[-h<hash>]-seed<seed>``: the supernet's folder."""
        arch_update = self.darts.arch_update  # type: ignore[attr-defined]
        variant = "blank" if arch_update == "fixed" else "darts"
        default = DartsSpec(space=self.space, darts=DartsConfig(arch_update=arch_update))  # type: ignore[attr-defined]
        mine, base = self.supernet_identity(), default.supernet_identity()
        extra = {k: v for k, v in mine.items() if k not in ("space", "seed") and v != base.get(k)}
        suffix = f"-h{short_hash(extra)}" if extra else ""
        return f"darts/{self.space}-{variant}{suffix}-seed{self.seed}"  # type: ignore[attr-defined]

    def shared_supernet(self) -> Optional[str]:
        return self.run_folder()


@register_spec
class DartsSpec(DartsSettings, _SupernetRun):
    """DARTS: train the supernet (bilevel) and derive the argmax-alpha architecture (Table 4)."""

    KIND: ClassVar[str] = "darts"
    COMMAND: ClassVar[tuple[str, ...]] = ("darts",)

    def record_name(self) -> str:
        return f"{self.run_folder()}/darts.json"

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.darts.epochs, self.darts.batch_size,
                json.dumps(self.supernet_options, sort_keys=True))


@register_spec
class DartsPTSpec(DartsPTSettings, _SupernetRun):
    """DARTS-PT (see :class:`~zcpt_analysis.searches.darts_pt.DartsPTSettings`)."""

    KIND: ClassVar[str] = "darts-pt"
    COMMAND: ClassVar[tuple[str, ...]] = ("darts-pt",)

    def record_name(self) -> str:
        base = "darts-pt-fix-alpha" if self.fix_alpha else "darts-pt"
        default = identity_fields(DartsPTConfig(fix_alpha=self.fix_alpha))
        extra = {k: v for k, v in identity_fields(self.pt).items() if v != default[k]}
        suffix = f"-h{short_hash(extra)}" if extra else ""
        return f"{self.run_folder()}/{base}{suffix}.json"

    def cost_key(self) -> tuple:
        return (self.KIND, self.space, self.darts.epochs, self.pt.proj_intv, json.dumps(self.supernet_options))


# ============================================================================= operation scores
class _ScoringRun(RunSpec):
    def _default(self) -> "RunSpec":
        return type(self)(space=self.space)  # type: ignore[attr-defined, call-arg]

    def supernet_folder(self) -> str:
        """Where the DARTS-trained supernet of the training-based methods is checkpointed in a
        store (shared by every method and by the iterative setting of the same settings)."""
        keep = ("space", "seed", "supernet_options", "supernet_mode", "dataset", "data_source")
        ident = {k: v for k, v in identity_fields(self).items()  # type: ignore[arg-type]
                 if k in keep or k.startswith("darts.")}
        return f"scores/darts-supernet-{self.space}-h{short_hash(ident)}-s{self.seed}"  # type: ignore[attr-defined]

    def shared_supernet(self) -> Optional[str]:
        return self.supernet_folder() if self.trains_a_supernet() else None  # type: ignore[attr-defined]


def method_identity_fields(method: str) -> tuple[str, ...]:
    """The :class:`ScoresSpec` fields a scoring method's scores depend on (its cache identity)."""
    m = get_method(method)
    if m.network == "none":
        return ("space",) + (("avg_acc_over",) if m.name == "avg-acc" else ())
    common = ("space", "seed", "supernet_options", "supernet_mode", "dataset", "data_source")
    if m.network == "untrained":
        return common + ("proxy", "proxy_options", "proxy_batch_size")
    extra = {"disc-acc": ("disc_epochs",), "darts": ("darts_alpha_epoch",)}.get(m.name, ())
    return common + ("darts",) + extra


@register_spec
class ScoresSpec(ScoringSettings, _ScoringRun):
    """The iteration-0 operation scores ``g(A_0, e, o)`` of one scoring method (section 3)."""

    KIND: ClassVar[str] = "op-scores"
    COMMAND: ClassVar[tuple[str, ...]] = ("scores",)
    READABLE: ClassVar[tuple[str, ...]] = ("method", "space", "seed")

    method: str = plain("best-acc")

    @field_validator("method")
    @classmethod
    def _method(cls, method: str) -> str:
        return get_method(method).name

    def trains_a_supernet(self) -> bool:
        """Whether the method scores the DARTS-trained supernet."""
        return get_method(self.method).network == "trained"

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


@register_spec
class IterativeSpec(IterativeSettings, _ScoringRun):
    """The iterative setting of A.1.1 (see :class:`~zcpt_analysis.scoring.iterative.IterativeSettings`)."""

    KIND: ClassVar[str] = "iterative-scores"
    COMMAND: ClassVar[tuple[str, ...]] = ("scores", "--iterative")
    READABLE: ClassVar[tuple[str, ...]] = ("space", "seed")

    def to_argv(self) -> list[str]:
        argv = super().to_argv()
        return argv[:3] + ["--methods", *self.methods] + argv[3:]

    def record_name(self) -> str:
        return f"iterative/iterative-{self.space}-h{short_hash(self.identity())}-s{self.seed}.json"


# ============================================================================= proxy study
@register_spec
class ProxyStudySpec(ProxyStudySettings, RunSpec):
    """The proxy study (see :mod:`zcpt_analysis.proxy_study`): its record holds the correlations,
    its scores stream to :meth:`score_stream_name` (append-only, shared by the studies of one
    minibatch: a larger sample or more proxies extend it, an interrupted study resumes there)."""

    KIND: ClassVar[str] = "proxy-study"
    COMMAND: ClassVar[tuple[str, ...]] = ("proxies", "study")
    READABLE: ClassVar[tuple[str, ...]] = ("num_archs", "batch_size", "seed")

    def record_name(self) -> str:
        return f"proxy-study/study-n{self.num_archs}-b{self.batch_size}{self.name_suffix()}-s{self.seed}.json"

    def score_stream_name(self) -> str:
        """The stream of per-architecture scores in a store (its header holds the setting)."""
        return f"proxy-study/scores-b{self.batch_size}-s{self.seed}-{resolve_device(self.device).type}.jsonl"

    def cost_key(self) -> tuple:
        return (self.KIND, self.batch_size, self.proxies)


# ============================================================================= final training
@register_spec
class TrainSpec(Settings, RunSpec):
    """Training one DARTS genotype from scratch with the DARTS protocol (Tables 5, 6, A1).

    ``genotype`` is what ``zcpt train --genotype`` takes (a known name such as ``DARTS_V2``, a
    genotype / record file, or a JSON / ``Genotype(...)`` string); the identity uses the genotype
    it names, so a file and its content identify the same result. ``config`` holds the training
    hyper-parameters (:class:`~zcpt_analysis.train.TrainConfig`).
    """

    KIND: ClassVar[str] = "train"
    COMMAND: ClassVar[tuple[str, ...]] = ("train",)

    genotype: str = opt(..., "--genotype", identity=False,
                        help="genotype JSON file, search result record, a Genotype(...) string, or a known name such "
                             "as DARTS_V2")
    config: TrainConfig = Field(default_factory=TrainConfig)

    @field_validator("genotype")
    @classmethod
    def _resolvable(cls, genotype: str) -> str:
        resolve_genotype(genotype)  # a bad genotype is an error before any work
        return genotype

    def resolved_genotype(self) -> Genotype:
        return resolve_genotype(self.genotype)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "genotype": self.resolved_genotype().to_json()}

    def stem(self) -> str:
        """A readable name of the genotype: its name, its file's stem, or a hash of its content."""
        text = self.genotype.strip()
        if text in GENOTYPES:
            return text
        path = Path(text)
        if path.suffix and path.is_file():
            return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:40].strip("_") or "genotype"
        return f"genotype-{short_hash(self.resolved_genotype().to_json())}"

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


__all__ = ["RunSpec", "SearchSpec", "NaswotSpec", "RandomSpec", "DartsSpec", "DartsPTSpec", "ScoresSpec",
           "IterativeSpec", "ProxyStudySpec", "TrainSpec", "SPECS", "spec_from_json", "method_identity_fields"]
