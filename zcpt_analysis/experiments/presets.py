"""Presets: per preset, a base run spec of each kind, the seeds it runs with, and the grid (the
notebooks' list-valued parameters). Nothing here mirrors a spec: a variant is ``spec.replace(...)``.

* ``smoke``: CPU, the shared real CIFAR-10 sample, tiny networks (NB201 supernet C=4, N=1; DARTS
  C=1, 3 layers), one seed, N=1, V=1, a few training steps -- it exercises every code path in
  seconds; its numbers say nothing about the paper's. Missing records are computed on the spot.
* ``cpu``: the paper's network sizes (NB201 supernet C=16, N=5; DARTS C=16, 8 cells) with budgets
  a 2-core CPU finishes (NB201: batch 64, N=10, V=20, seeds 0-3, the paper's execution
  :data:`PAPER_NB201_EXECUTION`; NASWOT N=100; DARTS spaces: N=1, V=10, seed 0); it trains no supernet: DARTS, DARTS-PT and the scoring methods on a trained
  supernet (disc-acc, darts-pt, darts) stay pending as "needs a GPU" with their commands.
* ``paper``: the paper's configuration (N=10, V=100, batch 256 / 64, seeds 0-3, C=16 / N=5
  supernets, 100-epoch DARTS supernets, ...), meant for a GPU. On NAS-Bench-201 its zero-cost
  scores run the supernet and nwot as the published code does (:data:`PAPER_NB201_EXECUTION`).

The kinds: ``nb201-search`` and ``darts-search`` (Zero-Cost-PT on NAS-Bench-201 /
the DARTS space; ``space="darts-s1"`` .. ``"darts-s4"`` for the RobustDARTS subspaces), ``random``,
``naswot``, ``darts``, ``darts-pt`` (Table 4's baselines), ``scores`` (iteration-0 operation
scores, one spec per method), ``iterative`` (Figure A1) and ``proxy-study`` (every proxy's rank
correlation with NAS-Bench-201 accuracy)::

    p = preset("paper", data_root=data_root)   # every base spec reads the full dataset
    p.spec("naswot")                            # the base NaswotSpec (n_samples=1000, batch 128)
    p.seeds["naswot"]                           # its seeds (0 .. 499)
    p.runs("nb201-search", N=20)                # base spec with N=20, seeds 0-3 (a SpecSeeds)
    p.default("nv_N_values")                    # [10, 100, 1000]

cpu and paper read records from their store (``zcpt reproduce --preset cpu|paper`` fills it) and
report missing ones as "not yet computed" with their commands.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from .. import paper
from ..errors import UnknownNameError, ZcptError
from ..paths import resolve
from ..runs.specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, ProxyStudySpec, RandomSpec, RunSpec,
                          ScoresSpec, SearchSpec)

PRESETS: tuple[str, ...] = ("smoke", "cpu", "paper")
PRESET_RESULTS_DIRS: dict[str, str] = {"smoke": "runs/smoke", "cpu": "runs/cpu", "paper": "runs/paper"}
"""The results store of each preset when none is given (relative to the working directory):
``zcpt reproduce`` writes there and the cpu / paper notebooks read there (smoke notebooks compute in
memory unless given one); the commands printed for missing results write there."""

TINY_NB201: dict[str, int] = {"C": 4, "N": 1}
"""Smoke preset: NAS-Bench-201 supernet / standalone networks with 4 channels, 1 cell per stage."""
TINY_DARTS: dict[str, int] = {"C": 1, "layers": 3}
"""Smoke preset: DARTS supernet / validation networks with 1 channel and 3 cells (the minimum that
has both cell types)."""
SMOKE_DARTS: dict[str, int] = {"darts.epochs": 2, "darts.batch_size": 16, "darts.steps_per_epoch": 2,
                               "darts.eval_max_images": 32}
"""Smoke preset: DARTS supernet training of 2 epochs of 2 steps on the sample, 32 validation images."""
ITERATIVE_SMOKE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc", "zc-pt", "disc-zc", "darts")
"""Methods of the iterative setting in the smoke preset: darts-pt and disc-acc retrain (or
fine-tune) after every discretization, which is too slow for a CPU smoke run."""
CPU_ITERATIVE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc", "zc-pt", "disc-zc")
"""Methods of the iterative setting in the cpu preset: those that train no supernet."""
SMOKE_STUDY_PROXIES: tuple[str, ...] = ("nwot", "synflow", "params")
"""Smoke preset: the proxy study with three cheap proxies (one of them the parameter count)."""
PAPER_NB201_EXECUTION = "block-input"
"""Paper and cpu presets, NAS-Bench-201: the supernet's execution mode (``supernet_mode`` of the search and
score specs) and, for nwot, its published options (``hooks=published``) -- what the published code
runs: every candidate op computed, a weight-0 op called on its real input and zeroed inside
(``layer(x, block_input=True)``), nwot forward hooks on every module whose type name contains
``ReLU`` (the ``ReLUConvBN`` wrappers too; 369 on the C=16, N=5 supernet), scored in ``eval()``.
``benchmarks/iteration0_fidelity.py`` measures what it changes at iteration 0 against our ``fast``
execution (weight-0 ops skipped, hooks on ``nn.ReLU`` only), which the smoke preset keeps."""


def check_preset(preset: str) -> str:
    """``preset`` if it is one of :data:`PRESETS` (clear error otherwise)."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    return preset


def preset_results_dir(preset: str, results_dir: str | Path | None = None) -> Optional[Path]:
    """The results store of a notebook: ``results_dir`` if given (relative to the working
    directory); else none for the smoke preset (results are computed in memory) and the preset's
    :data:`PRESET_RESULTS_DIRS` entry for the others (``runs/cpu``, ``runs/paper``)."""
    check_preset(preset)
    if results_dir is not None and str(results_dir) != "":
        return resolve(results_dir)
    return resolve(PRESET_RESULTS_DIRS[preset]) if preset != "smoke" else None


def published_options(proxy: str) -> dict[str, Any]:
    """The options of ``proxy`` that reproduce the published Zero-Cost-PT code's computation."""
    from ..proxies import get_proxy

    return dict(get_proxy(proxy).published_zcpt_options)


def _proxy_defaults(spec: RunSpec, proxy: str) -> Optional[dict[str, Any]]:
    """The options ``spec`` takes from ``proxy``'s registry entry unless it names its own: a NASWOT
    run its ``naswot_options``, scores in a published supernet execution its published options."""
    from ..proxies import get_proxy

    if isinstance(spec, NaswotSpec):
        return dict(get_proxy(proxy).naswot_options)
    if isinstance(spec, (ScoresSpec, IterativeSpec)) and spec.supernet_mode != "fast":
        return published_options(proxy)
    return None


def derive(spec: RunSpec, **changes: Any) -> RunSpec:
    """``spec.replace(**changes)`` (dotted names reach nested settings: ``darts.epochs=3``); with a
    new ``proxy`` and no ``proxy_options``, options that were the old proxy's defaults (see
    :func:`_proxy_defaults`) become the new proxy's."""
    if "proxy" in changes and "proxy_options" not in changes:
        old = _proxy_defaults(spec, spec.proxy)  # type: ignore[attr-defined]
        if old is not None and dict(spec.proxy_options or {}) == old:  # type: ignore[attr-defined]
            changes["proxy_options"] = _proxy_defaults(spec, changes["proxy"])
    return spec.replace(**changes)


def trains_a_supernet(spec: RunSpec) -> bool:
    """Whether ``spec`` trains a supernet (DARTS, DARTS-PT, the scores of the training-based methods)."""
    return spec.shared_supernet() is not None


# ============================================================================= a kind's runs
@dataclass(frozen=True)
class SpecSeeds:
    """The runs of one configuration in a preset: a base ``spec`` run once per seed of ``seeds``.

    ``compute_missing``: a missing record is computed on the spot (smoke) or reported as pending
    with its command. ``trains_supernets``: False when the preset leaves the specs that train a
    supernet to a GPU (cpu): those are not planned, and their commands use device ``auto``."""

    preset: str
    spec: RunSpec
    seeds: tuple[int, ...]
    compute_missing: bool = False
    trains_supernets: bool = True

    def at(self, seed: int, **changes: Any) -> RunSpec:
        """The spec of one run: the base spec with ``seed`` and ``changes`` (see :func:`derive`)."""
        spec = derive(self.spec, seed=int(seed), **changes)
        return spec if self.planned(spec) else spec.replace(device="auto")

    def specs(self, **changes: Any) -> list[RunSpec]:
        """One spec per seed (:meth:`at`)."""
        return [self.at(s, **changes) for s in self.seeds]

    def planned(self, spec: RunSpec) -> bool:
        """Whether this preset computes ``spec`` (not left to a GPU)."""
        return self.trains_supernets or not trains_a_supernet(spec)

    def replace(self, *, seeds: Optional[Sequence[int]] = None, compute_missing: Optional[bool] = None,
                **changes: Any) -> "SpecSeeds":
        """These runs with other ``seeds``, ``compute_missing`` or base-spec ``changes``."""
        return replace(self, spec=derive(self.spec, **changes) if changes else self.spec,
                       seeds=self.seeds if seeds is None else _seeds(seeds),
                       compute_missing=self.compute_missing if compute_missing is None else bool(compute_missing))


def _seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(s) for s in seeds)
    if not out:
        raise ZcptError("at least one seed is needed")
    return out


def _given(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if v is not None}


# ============================================================================= the presets
@dataclass(frozen=True)
class Preset:
    """A preset: a base spec per kind (see the module docstring), the seeds of each kind, the grid of list-valued
    notebook parameters (None: every ordering / proxy), whether missing records are computed on the
    spot, and whether it trains supernets (see :class:`SpecSeeds`)."""

    name: str
    specs: Mapping[str, RunSpec]
    seeds: Mapping[str, tuple[int, ...]]
    grid: Mapping[str, Any]
    compute_missing: bool
    trains_supernets: bool = True
    data_source: str = "auto"
    """How a ``data_root`` changes the images: ``auto`` (the full dataset), ``sample`` (smoke: none)."""

    def spec(self, kind: str, **changes: Any) -> RunSpec:
        """The base spec of ``kind`` with ``changes``; a change whose value is None keeps the
        preset's value (so a notebook passes its papermill parameters straight through)."""
        if kind not in self.specs:
            raise UnknownNameError("spec kind", kind, tuple(self.specs))
        changes = _given(changes)
        return derive(self.specs[kind], **changes) if changes else self.specs[kind]

    def runs(self, kind: str, *, seeds: Optional[Sequence[int]] = None, **changes: Any) -> SpecSeeds:
        """The runs of ``kind``: :meth:`spec` and ``seeds`` (None: the preset's)."""
        return SpecSeeds(self.name, self.spec(kind, **changes), self.seeds[kind] if seeds is None else _seeds(seeds),
                         self.compute_missing, self.trains_supernets)

    def with_spec(self, kind: str, *, seeds: Optional[Sequence[int]] = None, **changes: Any) -> "Preset":
        """This preset with the base spec of ``kind`` changed (None values: unchanged) and its ``seeds``."""
        runs = self.runs(kind, seeds=seeds, **changes)
        return replace(self, specs={**self.specs, kind: runs.spec}, seeds={**self.seeds, kind: runs.seeds})

    def default(self, key: str, given: Any = None) -> Any:
        """``given`` if not None, else the preset's grid value of ``key``."""
        if given is not None:
            return given
        if key not in self.grid:
            raise UnknownNameError("preset default", key, sorted(self.grid))
        return self.grid[key]

    def configured(self, data_root: Optional[str] = None, device: Optional[str] = None,
                   compute_missing: Optional[bool] = None, trains_supernets: Optional[bool] = None) -> "Preset":
        """Every base spec reading the full dataset at ``data_root`` (smoke: the sample all the
        same) and running on ``device``; ``compute_missing`` and ``trains_supernets`` (True: what
        the cpu preset leaves to a GPU is planned too) in place of the preset's."""
        changes: dict[str, Any] = {}
        if data_root:
            changes.update(data_root=str(data_root), data_source=self.data_source)
        if device is not None:
            changes["device"] = device
        specs = {k: s.replace(**{f: v for f, v in changes.items() if hasattr(s, f)}) for k, s in self.specs.items()}
        return replace(self, specs=specs if changes else self.specs,
                       compute_missing=self.compute_missing if compute_missing is None else bool(compute_missing),
                       trains_supernets=self.trains_supernets if trains_supernets is None else bool(trains_supernets))


def _smoke() -> Preset:
    data = dict(data_source="sample", device="cpu")
    scoring = dict(supernet_options=dict(TINY_NB201), proxy_batch_size=8, disc_epochs=0, darts_alpha_epoch=None, **data)
    specs = {
        "nb201-search": SearchSpec(N=1, V=1, batch_size=8, supernet_options=dict(TINY_NB201),
                                   network_options=dict(TINY_NB201), **data),
        "darts-search": SearchSpec(space="darts", N=1, V=1, batch_size=4, supernet_options=dict(TINY_DARTS),
                                   network_options=dict(TINY_DARTS), **data),
        "random": RandomSpec(runs=100),
        "naswot": NaswotSpec(n_samples=5, batch_size=16, **data),
        "darts": DartsSpec(supernet_options=dict(TINY_NB201), **data).replace(**SMOKE_DARTS),
        "darts-pt": DartsPTSpec(supernet_options=dict(TINY_NB201), **data).replace(**SMOKE_DARTS,
                                                                                  **{"pt.proj_intv": 0}),
        "scores": ScoresSpec(**scoring).replace(**SMOKE_DARTS),
        "iterative": IterativeSpec(methods=ITERATIVE_SMOKE_METHODS, retrain_epochs=0, **scoring).replace(**SMOKE_DARTS),
        "proxy-study": ProxyStudySpec(num_archs=5, batch_size=8, proxies=SMOKE_STUDY_PROXIES,
                                      ensembles=("nwot,synflow",), device="cpu"),
    }
    seeds = {"nb201-search": (0,), "darts-search": (0,), "random": (0,), "naswot": (0, 1), "darts": (0,),
             "darts-pt": (0,), "scores": (0,), "iterative": (0,), "proxy-study": (0,)}
    grid = {"nv_N_values": [1, 2, 4], "nv_V_values": [1, 2], "nv_orders": ["random"], "darts_orders": ["random"],
            "subspace_datasets": ["cifar10"], "subspace_seeds": [0], "table2_orders": None, "table3_proxies": None}
    return Preset("smoke", specs, seeds, grid, compute_missing=True, data_source="sample")


def _cpu() -> Preset:
    data = dict(data_source="auto", device="cpu")
    # NB201 with the paper's execution: it costs about what the fast one does (README, preset table)
    scoring = dict(proxy_batch_size=64, disc_epochs=5, darts_alpha_epoch=60, supernet_mode=PAPER_NB201_EXECUTION,
                   proxy_options=published_options("nwot"), **data)
    specs = {
        "nb201-search": SearchSpec(N=10, V=20, batch_size=64, supernet_mode=PAPER_NB201_EXECUTION, **data),
        "darts-search": SearchSpec(space="darts", N=1, V=10, batch_size=64, **data),
        "random": RandomSpec(runs=100),
        "naswot": NaswotSpec(n_samples=100, batch_size=128, **data),
        "darts": DartsSpec(**data),
        "darts-pt": DartsPTSpec(**data),
        "scores": ScoresSpec(**scoring),
        "iterative": IterativeSpec(methods=CPU_ITERATIVE_METHODS, retrain_epochs=5, **scoring),
        "proxy-study": ProxyStudySpec(num_archs=500, batch_size=64, device="cpu"),
    }
    seeds = {"nb201-search": (0, 1, 2, 3), "darts-search": (0,), "random": (0,), "naswot": (0, 1, 2, 3),
             "darts": (0, 1, 2, 3), "darts-pt": (0, 1, 2, 3), "scores": (0,), "iterative": (0, 1, 2, 3),
             "proxy-study": (0,)}
    # Figure 3's cpu run (N=10, V=20, random order) is Table 2's random-order run: it costs nothing more
    grid = {"nv_N_values": [1, 2, 5, 10], "nv_V_values": [1, 5, 20], "nv_orders": ["random"],
            "darts_orders": ["random"], "subspace_datasets": ["cifar10"], "subspace_seeds": [0], "table2_orders": None,
            "table3_proxies": None}
    return Preset("cpu", specs, seeds, grid, compute_missing=False, trains_supernets=False)


def _paper() -> Preset:
    from ..scoring import METHOD_NAMES

    data = dict(data_source="auto", device="auto")
    proxy = "nwot"  # of zc-pt and disc-zc: the paper's
    scoring = dict(proxy=proxy, proxy_batch_size=256, disc_epochs=5, darts_alpha_epoch=60,
                   supernet_mode=PAPER_NB201_EXECUTION, proxy_options=published_options(proxy), **data)
    specs = {
        "nb201-search": SearchSpec(N=10, V=100, supernet_mode=PAPER_NB201_EXECUTION, **data),
        "darts-search": SearchSpec(space="darts", N=10, V=100, **data),
        "random": RandomSpec(runs=100),
        "naswot": NaswotSpec(n_samples=1000, batch_size=128, **data),  # Table 4 footnote 2
        "darts": DartsSpec(**data),  # DARTS-PT's settings: 100 epochs, batch 64, proj_intv=5 (the defaults)
        "darts-pt": DartsPTSpec(**data),
        "scores": ScoresSpec(**scoring),
        "iterative": IterativeSpec(methods=METHOD_NAMES, retrain_epochs=5, **scoring),
        "proxy-study": ProxyStudySpec(num_archs=1000, batch_size=64, device="auto"),  # NAS-Bench-Suite-Zero's 1,000
    }
    seeds = {"nb201-search": (0, 1, 2, 3), "darts-search": (0, 1, 2, 3), "random": (0,), "naswot": tuple(range(500)),
             "darts": (0, 1, 2, 3), "darts-pt": (0, 1, 2, 3), "scores": (0,), "iterative": (0, 1, 2, 3),
             "proxy-study": (0,)}
    # Figure 3's N values are the paper's (10, 100, 1000); its V values are not stated in the text
    grid = {"nv_N_values": [10, 100, 1000], "nv_V_values": [1, 10, 100], "nv_orders": ["random", "global-edge-iter"],
            "darts_orders": ["random", "global-op-iter"], "subspace_datasets": ["cifar10", "cifar100", "svhn"],
            "subspace_seeds": list(paper.TABLE6_ZCPT_SEEDS), "table2_orders": None, "table3_proxies": None}
    return Preset("paper", specs, seeds, grid, compute_missing=False)


_BUILDERS: dict[str, Callable[[], Preset]] = {"smoke": _smoke, "cpu": _cpu, "paper": _paper}


@functools.lru_cache(maxsize=None)
def _preset(name: str) -> Preset:
    return _BUILDERS[name]()


def preset(name: str, *, data_root: Optional[str] = None, device: Optional[str] = None,
           compute_missing: Optional[bool] = None, trains_supernets: Optional[bool] = None) -> Preset:
    """The preset ``name`` (:data:`PRESETS`) with, when given, the full dataset at ``data_root``,
    ``device``, ``compute_missing`` and ``trains_supernets`` (see :meth:`Preset.configured`)."""
    return _preset(check_preset(name)).configured(data_root, device, compute_missing, trains_supernets)


def search_kind(space: str) -> str:
    """The kind of a Zero-Cost-PT search in ``space``: ``nb201-search`` or ``darts-search``."""
    from ..spaces import get_space

    return "nb201-search" if get_space(space).name == "nb201" else "darts-search"


def search_settings(preset_name: str, space: str = "nb201", *, seeds: Optional[Sequence[int]] = None,
                    data_root: Optional[str] = None, device: Optional[str] = None,
                    compute_missing: Optional[bool] = None, trains_supernets: Optional[bool] = None,
                    **changes: Any) -> SpecSeeds:
    """The Zero-Cost-PT search runs of a preset in ``space``: ``preset(...).runs(search_kind(space),
    space=space, ...)`` (``changes`` with a None value keep the preset's)."""
    from ..spaces import get_space

    p = preset(preset_name, data_root=data_root, device=device, compute_missing=compute_missing,
               trains_supernets=trains_supernets)
    return p.runs(search_kind(space), seeds=seeds, space=get_space(space).name, **changes)
