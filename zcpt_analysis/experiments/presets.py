"""Presets: the settings each notebook's experiments use, as run specs.

* ``smoke``: CPU, the shared real CIFAR-10 sample, tiny networks (NB201 supernet C=4, N=1; DARTS
  C=1, 3 layers), one seed, N=1, V=1, a few training steps -- it exercises every code path in
  seconds; its numbers say nothing about the paper's.
* ``cpu``: the paper's network sizes (NB201 supernet C=16, N=5; DARTS C=16, 8 cells) with budgets
  a 2-core CPU finishes (NB201: batch 64, N=10, V=20, seeds 0-3; NASWOT N=100; DARTS spaces: N=1,
  V=10, seed 0); everything that trains a supernet (DARTS, DARTS-PT, disc-acc, darts-pt, darts)
  stays pending as "needs a GPU" with its command (:data:`CPU_BUDGET` is the one source).
* ``paper``: the paper's configuration (N=10, V=100, batch 256 / 64, seeds 0-3, C=16 / N=5
  supernets, 100-epoch DARTS supernets, ...), meant for a GPU. On NAS-Bench-201 its zero-cost
  scores run the supernet and nwot as the published code does (:data:`PAPER_NB201_EXECUTION`).

A settings object holds what a preset fixes; ``.spec(seed, **changes)`` gives the run spec of one
run (``changes`` override any field), and ``compute_missing`` (smoke: True, cpu and paper: False) says
whether a missing record is computed on the spot or reported as "not yet computed" (cpu, paper:
``zcpt reproduce --preset cpu|paper`` computes them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .. import paper
from ..errors import UnknownNameError, ZcptError
from ..runs.specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, RandomSpec, ScoresSpec, SearchSpec)
from ..searches.darts import DartsConfig
from ..searches.darts_pt import DartsPTConfig
from .common import check_preset

TINY_NB201: dict[str, int] = {"C": 4, "N": 1}
"""Smoke preset: NAS-Bench-201 supernet / standalone networks with 4 channels, 1 cell per stage."""
TINY_DARTS: dict[str, int] = {"C": 1, "layers": 3}
"""Smoke preset: DARTS supernet / validation networks with 1 channel and 3 cells (the minimum that
has both cell types)."""
SMOKE_DARTS = DartsConfig(epochs=2, batch_size=16, steps_per_epoch=2, eval_max_images=32)
"""Smoke preset: DARTS supernet training of 2 epochs of 2 steps on the sample, 32 validation images."""
CPU_BUDGET: dict[str, Any] = {
    "nb201": dict(N=10, V=20, batch_size=64, seeds=(0, 1, 2, 3)),
    "darts": dict(N=1, V=10, batch_size=64, seeds=(0,)),
    "naswot": dict(naswot_samples=100, naswot_seeds=(0, 1, 2, 3)),
    "scores": dict(proxy_batch_size=64, seeds=(0,)),
}
"""The cpu preset's budgets (network sizes are the paper's): Zero-Cost-PT on NAS-Bench-201 and on the
DARTS spaces, NASWOT, and the iteration-0 scores' zero-cost minibatch."""
CPU_ITERATIVE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc", "zc-pt", "disc-zc")
"""Methods of the iterative setting in the cpu preset: those that train no supernet."""
PAPER_NB201_EXECUTION = "block-input"
"""Paper preset, NAS-Bench-201: the supernet's execution mode (``SearchSpec.compat``,
``ScoresSpec.supernet_mode``) and, for nwot, ``hooks=published`` -- what the published code runs:
every candidate op computed, a weight-0 op called on its real input and zeroed inside
(``layer(x, block_input=True)``), nwot forward hooks on every module whose type name contains
``ReLU`` (the ``ReLUConvBN`` wrappers too; 369 on the C=16, N=5 supernet), scored in ``eval()``.
``benchmarks/iteration0_fidelity.py`` measures what it changes at iteration 0 against our ``fast``
execution (weight-0 ops skipped, hooks on ``nn.ReLU`` only), which the smoke preset keeps."""


def paper_proxy_options(proxy: str) -> dict[str, Any]:
    """The proxy options of the paper preset on NAS-Bench-201 (``hooks=published`` for nwot)."""
    return {"hooks": "published"} if proxy == "nwot" else {}


# ============================================================================= Zero-Cost-PT
@dataclass(frozen=True)
class SearchSettings:
    """Zero-Cost-PT settings of a preset (everything of :class:`~zcpt_analysis.runs.specs.SearchSpec`
    except the per-row proxy / ordering / seed)."""

    preset: str
    space: str
    N: int
    V: int
    batch_size: int
    seeds: tuple[int, ...]
    dataset: str = "cifar10"
    data_source: str = "auto"
    data_root: Optional[str] = None
    device: str = "auto"
    supernet_options: dict = field(default_factory=dict)
    network_options: dict = field(default_factory=dict)
    compute_missing: bool = False
    compat: str = "fast"

    def spec(self, seed: int, proxy: str = "nwot", order: str = "random", **changes: Any) -> SearchSpec:
        """The :class:`SearchSpec` of one run (``changes`` override any field, e.g. ``N=100``)."""
        values = dict(space=self.space, proxy=proxy, order=order, N=self.N, V=self.V, batch_size=self.batch_size,
                      seed=int(seed), dataset=self.dataset, data_source=self.data_source, data_root=self.data_root,
                      device=self.device, supernet_options=dict(self.supernet_options),
                      network_options=dict(self.network_options), compat=self.compat)
        values.update(changes)
        return SearchSpec(**values)

    def specs(self, **changes: Any) -> list[SearchSpec]:
        """One spec per seed of the preset."""
        return [self.spec(s, **changes) for s in self.seeds]


def search_settings(preset: str, space: str = "nb201", *, N: Optional[int] = None, V: Optional[int] = None,
                    batch_size: Optional[int] = None, seeds: Optional[Sequence[int]] = None, dataset: str = "cifar10",
                    data_source: Optional[str] = None, data_root: Optional[str] = None, device: Optional[str] = None,
                    compute_missing: Optional[bool] = None) -> SearchSettings:
    """Zero-Cost-PT settings of ``preset`` for ``space`` (any argument overrides the preset).

    smoke: N=1, V=1, seed 0, tiny networks (:data:`TINY_NB201` / :data:`TINY_DARTS`), batch 8
    (NB201) / 4 (DARTS), the shared CIFAR-10 sample, CPU, computed on the spot.
    cpu: the paper's network sizes, :data:`CPU_BUDGET` (NB201: N=10, V=20, batch 64, seeds 0-3;
    DARTS spaces: N=1, V=10, batch 64, seed 0), CPU, read from the results store.
    paper: N=10, V=100, seeds 0-3, the paper's network sizes, batch 256 (NB201) / 64 (DARTS),
    data ``auto`` (the full dataset when ``data_root`` is given), read from the results store; on
    NB201 the published code's execution (``compat=`` :data:`PAPER_NB201_EXECUTION`).
    """
    from ..spaces import get_space

    check_preset(preset)
    sp = get_space(space)
    nb201 = sp.name == "nb201"
    if preset == "smoke":
        tiny = dict(TINY_NB201 if nb201 else TINY_DARTS)
        base = dict(N=1, V=1, batch_size=8 if nb201 else 4, seeds=(0,), data_source="sample", device="cpu",
                    supernet_options=tiny, network_options=dict(tiny), compute_missing=True)
    elif preset == "cpu":
        base = dict(CPU_BUDGET["nb201" if nb201 else "darts"], data_source="auto", device="cpu", supernet_options={},
                    network_options={}, compute_missing=False)
    else:
        base = dict(N=10, V=100, batch_size=sp.default_batch_size, seeds=(0, 1, 2, 3), data_source="auto",
                    device="auto", supernet_options={}, network_options={}, compute_missing=False,
                    compat=PAPER_NB201_EXECUTION if nb201 else "fast")
    for key, value in dict(N=N, V=V, batch_size=batch_size, data_source=data_source, device=device,
                           compute_missing=compute_missing).items():
        if value is not None:
            base[key] = value
    if seeds is not None:
        base["seeds"] = tuple(int(s) for s in seeds)
    if not base["seeds"]:
        raise ZcptError("at least one seed is needed")
    return SearchSettings(preset=preset, space=sp.name, dataset=dataset, data_root=data_root, **base)


# ============================================================================= baselines (Table 4)
@dataclass(frozen=True)
class BaselineSettings:
    """Settings of the NAS-Bench-201 baselines of Table 4 in a preset."""

    preset: str
    random_runs: int
    naswot_samples: int
    naswot_seeds: tuple[int, ...]
    naswot_batch_size: int
    darts_seeds: tuple[int, ...]
    darts: DartsConfig
    darts_pt: DartsPTConfig
    supernet_options: dict
    data_source: str
    data_root: Optional[str]
    device: str
    compute_missing: bool
    training_needs_gpu: bool = False
    """DARTS / DARTS-PT are not run in this preset (cpu): pending as "needs a GPU"."""

    def random_spec(self) -> RandomSpec:
        return RandomSpec(runs=self.random_runs, seed=0)

    def naswot_specs(self, proxy: str) -> list[NaswotSpec]:
        return [NaswotSpec(proxy=proxy, n_samples=self.naswot_samples, batch_size=self.naswot_batch_size, seed=s,
                           data_source=self.data_source, data_root=self.data_root, device=self.device)
                for s in self.naswot_seeds]

    def darts_specs(self, variant: str) -> list[Any]:
        """``variant``: ``darts``, ``darts-pt`` or ``darts-pt-fix-alpha``; one spec per DARTS seed
        (device ``auto`` when the preset leaves training to a GPU, so their commands use one)."""
        common = dict(space="nb201", darts=self.darts, supernet_options=dict(self.supernet_options),
                      data_source=self.data_source, data_root=self.data_root,
                      device="auto" if self.training_needs_gpu else self.device)
        if variant == "darts":
            return [DartsSpec(seed=s, **common) for s in self.darts_seeds]
        if variant not in ("darts-pt", "darts-pt-fix-alpha"):
            raise UnknownNameError("DARTS variant", variant, ("darts", "darts-pt", "darts-pt-fix-alpha"))
        return [DartsPTSpec(seed=s, fix_alpha=variant == "darts-pt-fix-alpha", pt=self.darts_pt, **common)
                for s in self.darts_seeds]


def baseline_settings(preset: str, *, random_runs: Optional[int] = None, naswot_samples: Optional[int] = None,
                      naswot_seeds: Optional[Sequence[int]] = None, darts_seeds: Optional[Sequence[int]] = None,
                      data_root: Optional[str] = None, device: Optional[str] = None,
                      compute_missing: Optional[bool] = None) -> BaselineSettings:
    """Baseline settings of ``preset``.

    smoke: 100 random architectures (benchmark lookups), NASWOT with 5 samples x 2 runs (batch 16),
    DARTS / DARTS-PT on the tiny NB201 supernet for 2 epochs of 2 steps, projection without
    fine-tuning (``proj_intv=0``), 32 validation images; computed on the spot.
    paper: 100 random architectures, NASWOT N=1000 over 500 runs (Table 4 footnote 2, batch 128),
    DARTS / DARTS-PT with DARTS-PT's settings (100 epochs, batch 64, ``proj_intv=5``), seeds 0-3;
    read from the results store.
    cpu: 100 random architectures, NASWOT N=100 over seeds 0-3 (:data:`CPU_BUDGET`, batch 128) on
    the CPU, read from the results store; DARTS / DARTS-PT keep the paper's settings and need a GPU
    (``training_needs_gpu``: pending with their commands, not planned).
    """
    check_preset(preset)
    if preset == "smoke":
        s = dict(random_runs=100, naswot_samples=5, naswot_seeds=(0, 1), naswot_batch_size=16, darts_seeds=(0,),
                 darts=SMOKE_DARTS, darts_pt=DartsPTConfig(proj_intv=0), supernet_options=dict(TINY_NB201),
                 data_source="sample", device="cpu", compute_missing=True)
    elif preset == "cpu":
        s = dict(random_runs=100, **CPU_BUDGET["naswot"], naswot_batch_size=128, darts_seeds=(0, 1, 2, 3),
                 darts=DartsConfig(), darts_pt=DartsPTConfig(), supernet_options={},
                 data_source="full" if data_root else "sample", device="cpu", compute_missing=False,
                 training_needs_gpu=True)
    else:
        s = dict(random_runs=100, naswot_samples=1000, naswot_seeds=tuple(range(500)), naswot_batch_size=128,
                 darts_seeds=(0, 1, 2, 3), darts=DartsConfig(), darts_pt=DartsPTConfig(), supernet_options={},
                 data_source="full" if data_root else "sample", device="auto", compute_missing=False)
    for key, value in dict(random_runs=random_runs, naswot_samples=naswot_samples, device=device,
                           compute_missing=compute_missing).items():
        if value is not None:
            s[key] = value
    if naswot_seeds is not None:
        s["naswot_seeds"] = tuple(int(x) for x in naswot_seeds)
    if darts_seeds is not None:
        s["darts_seeds"] = tuple(int(x) for x in darts_seeds)
    return BaselineSettings(preset=preset, data_root=data_root, **s)


# ============================================================================= operation scores
@dataclass(frozen=True)
class ScoreSettings:
    """Settings of the operation-score experiments (section 3) in a preset."""

    preset: str
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    supernet_options: dict
    proxy: str
    proxy_batch_size: int
    darts: DartsConfig
    disc_epochs: int
    darts_alpha_epoch: Optional[int]
    retrain_epochs: int
    data_source: str
    data_root: Optional[str]
    device: str
    compute_missing: bool
    supernet_mode: str = "fast"
    proxy_options: dict = field(default_factory=dict)
    training_needs_gpu: bool = False
    """The training-based methods are not run in this preset (cpu): pending as "needs a GPU"."""

    def is_planned(self, method: str) -> bool:
        """Whether ``method``'s scores are computed in this preset (not left to a GPU)."""
        from ..scoring import get_method

        return not (self.training_needs_gpu and get_method(method).network == "trained")

    def _common(self, seed: int) -> dict[str, Any]:
        return dict(space="nb201", seed=int(seed), supernet_options=dict(self.supernet_options), proxy=self.proxy,
                    proxy_batch_size=self.proxy_batch_size, darts=self.darts, disc_epochs=self.disc_epochs,
                    darts_alpha_epoch=self.darts_alpha_epoch, data_source=self.data_source, data_root=self.data_root,
                    device=self.device, supernet_mode=self.supernet_mode, proxy_options=dict(self.proxy_options))

    def spec(self, method: str, seed: int) -> ScoresSpec:
        """The :class:`ScoresSpec` of ``method``'s iteration-0 scores for ``seed`` (device ``auto``
        for a method left to a GPU, so that its command uses one)."""
        common = self._common(seed)
        if not self.is_planned(method):
            common["device"] = "auto"
        return ScoresSpec(method=method, **common)

    def iterative_spec(self, seed: int, reference: str = "best-acc") -> IterativeSpec:
        """The :class:`IterativeSpec` of the iterative setting (A.1.1) for ``seed``."""
        return IterativeSpec(methods=self.methods, reference=reference, retrain_epochs=self.retrain_epochs,
                             **self._common(seed))


def score_settings(preset: str, *, seeds: Optional[Sequence[int]] = None, methods: Optional[Sequence[str]] = None,
                   data_root: Optional[str] = None, device: Optional[str] = None,
                   compute_missing: Optional[bool] = None, proxy: str = "nwot") -> ScoreSettings:
    """Operation-score settings of ``preset``.

    smoke: seed 0, all seven methods on the tiny NB201 supernet (C=4, N=1), zero-cost minibatches
    of 8, a DARTS supernet trained 2 epochs of 2 steps (batch 16, 32 validation images), disc-acc
    without fine-tuning (0 epochs; paper: 5), no retraining in the iterative setting; computed.
    paper: the paper's C=16, N=5 supernet, minibatches of 256, 100-epoch DARTS supernet (DARTS-PT's
    settings), disc-acc fine-tuned 5 epochs, darts alpha after 60 epochs, 5 retraining epochs in the
    iterative setting, the full CIFAR-10 when ``data_root`` is given (else the shared sample), the
    supernet and nwot run as the published code does (:data:`PAPER_NB201_EXECUTION`); read from the
    results store.
    cpu: the paper's supernet and training settings, zero-cost minibatches of 64 (:data:`CPU_BUDGET`),
    seed 0, on the CPU, read from the results store; the training-based methods (disc-acc,
    darts-pt, darts) need a GPU (``training_needs_gpu``: pending with their commands, not planned).
    """
    from ..scoring import METHOD_NAMES, get_method

    check_preset(preset)
    if preset == "smoke":
        s = dict(seeds=(0,), supernet_options=dict(TINY_NB201), proxy_batch_size=8, darts=SMOKE_DARTS, disc_epochs=0,
                 darts_alpha_epoch=None, retrain_epochs=0, data_source="sample", device="cpu", compute_missing=True)
    elif preset == "cpu":
        s = dict(**CPU_BUDGET["scores"], supernet_options={}, darts=DartsConfig(), disc_epochs=5, darts_alpha_epoch=60,
                 retrain_epochs=5, data_source="full" if data_root else "sample", device="cpu", compute_missing=False,
                 training_needs_gpu=True)
    else:
        s = dict(seeds=(0,), supernet_options={}, proxy_batch_size=256, darts=DartsConfig(), disc_epochs=5,
                 darts_alpha_epoch=60, retrain_epochs=5, data_source="full" if data_root else "sample", device="auto",
                 compute_missing=False, supernet_mode=PAPER_NB201_EXECUTION, proxy_options=paper_proxy_options(proxy))
    if seeds is not None:
        s["seeds"] = tuple(int(x) for x in seeds)
    if device is not None:
        s["device"] = device
    if compute_missing is not None:
        s["compute_missing"] = bool(compute_missing)
    names = tuple(get_method(m).name for m in (methods or METHOD_NAMES))
    return ScoreSettings(preset=preset, methods=names, proxy=proxy, data_root=data_root, **s)


ITERATIVE_SMOKE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc", "zc-pt", "disc-zc", "darts")
"""Methods of the iterative setting in the smoke preset: darts-pt and disc-acc retrain (or
fine-tune) after every discretization, which is too slow for a CPU smoke run."""


def iterative_settings(preset: str, *, seeds: Optional[Sequence[int]] = None,
                       methods: Optional[Sequence[str]] = None, data_root: Optional[str] = None,
                       device: Optional[str] = None, compute_missing: Optional[bool] = None) -> ScoreSettings:
    """Settings of the iterative setting (Figure A1): :func:`score_settings` with, in the smoke
    preset, the methods :data:`ITERATIVE_SMOKE_METHODS`, in the cpu preset
    :data:`CPU_ITERATIVE_METHODS` over seeds 0-3, and in the paper preset all seven methods over
    seeds 0-3 (A.1.1 averages over four seeds)."""
    check_preset(preset)
    if methods is None and preset in ("smoke", "cpu"):
        methods = ITERATIVE_SMOKE_METHODS if preset == "smoke" else CPU_ITERATIVE_METHODS
    if seeds is None and preset in ("cpu", "paper"):
        seeds = (0, 1, 2, 3)
    return score_settings(preset, seeds=seeds, methods=methods, data_root=data_root, device=device,
                          compute_missing=compute_missing)


# ============================================================================= list-valued parameters
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "smoke": {"nv_N_values": [1, 2, 4], "nv_V_values": [1, 2], "nv_orders": ["random"],
              "darts_orders": ["random"], "subspace_datasets": ["cifar10"], "subspace_seeds": [0],
              "table2_orders": None, "table3_proxies": None},
    "cpu": {"nv_N_values": [1, 2, 5, 10], "nv_V_values": [1, 5, 20], "nv_orders": ["random"],
            "darts_orders": ["random"], "subspace_datasets": ["cifar10"], "subspace_seeds": [0],
            "table2_orders": None, "table3_proxies": None},
    "paper": {"nv_N_values": [10, 100, 1000], "nv_V_values": [1, 10, 100], "nv_orders": ["random", "global-edge-iter"],
              "darts_orders": ["random", "global-op-iter"], "subspace_datasets": ["cifar10", "cifar100", "svhn"],
              "subspace_seeds": list(paper.TABLE6_ZCPT_SEEDS), "table2_orders": None, "table3_proxies": None},
}
"""Per-preset defaults of notebook parameters that are lists (None = every ordering / proxy).
Figure 3's N values are the paper's (10, 100, 1000); its V values are not stated in the text. The cpu
preset's Figure 3 run (N=10, V=20, random order) is Table 2's random-order run: it costs nothing more."""


def preset_default(preset: str, key: str, value: Any = None) -> Any:
    """``value`` if given, else the preset's default for ``key`` (:data:`PRESET_DEFAULTS`)."""
    check_preset(preset)
    if value is not None:
        return value
    if key not in PRESET_DEFAULTS[preset]:
        raise UnknownNameError("preset default", key, sorted(PRESET_DEFAULTS[preset]))
    return PRESET_DEFAULTS[preset][key]

