"""The paper's tables and figures as *targets*: each names its notebook and plans the run specs it
needs in a preset (what ``zcpt reproduce`` computes and the notebooks read back).

Trainings of searched DARTS cells (Tables 5, 6, A1) depend on the search results: they are not in
the plan until the searches exist; the notebooks list their ``zcpt train`` commands. In the cpu
preset nothing that trains a supernet is planned either (the notebooks show it as "needs a GPU").

Overrides of a plan (``plan(preset, **overrides)``): ``data_root`` (the full datasets), ``device``,
and ``seeds`` (the Zero-Cost-PT search seeds of every search target, Table 6's included).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from .. import paper
from ..errors import ZcptError
from ..registry import Registry
from ..runs.specs import RunSpec
from .collect import unique
from .darts_tables import plan_darts_search, plan_table6
from .nb201_tables import plan_figure3, plan_table2, plan_table3, plan_table4
from .op_scores import plan_iterative, plan_scores
from .presets import Preset, SpecSeeds, check_preset, preset, search_settings


@dataclass(frozen=True)
class Target:
    """A table or figure of the paper: its notebook and the specs it needs in a preset."""

    name: str
    notebook: str
    title: str
    plan_fn: Callable[[str, dict[str, Any]], list[RunSpec]]

    def plan(self, preset: str, **overrides: Any) -> list[RunSpec]:
        """The run specs of this target in ``preset`` (``overrides``: ``data_root``, ``device``,
        ``seeds``; see the module docstring)."""
        check_preset(preset)
        unknown = sorted(set(overrides) - set(OVERRIDES))
        if unknown:
            raise ZcptError(f"unknown plan override(s) {', '.join(unknown)}; valid: {', '.join(OVERRIDES)}")
        return unique(self.plan_fn(preset, {k: v for k, v in overrides.items() if v is not None}))


OVERRIDES: tuple[str, ...] = ("data_root", "device", "seeds", "trains_supernets")
"""What a plan's overrides may set (None leaves the preset's value; ``trains_supernets=True`` plans
what the cpu preset leaves to a GPU too)."""


TARGETS: Registry[Target] = Registry("target")


def _preset(name: str, o: dict[str, Any]) -> Preset:
    return preset(name, data_root=o.get("data_root"), device=o.get("device"), trains_supernets=o.get("trains_supernets"))


def _search(name: str, o: dict[str, Any], space: str = "nb201", seeds: Any = None, **changes: Any) -> SpecSeeds:
    return search_settings(name, space, seeds=o.get("seeds", seeds), data_root=o.get("data_root"),
                           device=o.get("device"), trains_supernets=o.get("trains_supernets"), **changes)


def _table6(name: str, o: dict[str, Any]) -> list[RunSpec]:
    p = _preset(name, o)
    return plan_table6({d: _search(name, o, "darts-s1", dataset=d, seeds=p.default("subspace_seeds"))
                        for d in p.default("subspace_datasets")}, paper.TABLE6_SPACES)


for _t in (
    Target("table1", "iteration0_selection", "Table 1: the architecture each scoring method selects",
           lambda p, o: plan_scores(_preset(p, o).runs("scores"))),
    Target("tableA2", "operation_scores", "Table A2: raw iteration-0 operation scores",
           lambda p, o: plan_scores(_preset(p, o).runs("scores"))),
    Target("figure2", "operation_scores", "Figure 2: correlation of the operation scores",
           lambda p, o: plan_scores(_preset(p, o).runs("scores"))),
    Target("figureA1", "iterative_scores", "Figure A1: the iterative setting",
           lambda p, o: plan_iterative(_preset(p, o).runs("iterative"))),
    Target("table2", "search_orders", "Table 2: edge discretization orderings",
           lambda p, o: plan_table2(_search(p, o))),
    Target("table3", "proxies", "Table 3: zero-cost proxies", lambda p, o: plan_table3(_search(p, o))),
    Target("table4", "nb201_sota", "Table 4: NAS-Bench-201 comparison",
           lambda p, o: plan_table4(_preset(p, o).with_spec("nb201-search", seeds=o.get("seeds")))),
    Target("figure3", "search_vs_validation", "Figure 3: search iterations N and validation minibatches V",
           lambda p, o: plan_figure3(_search(p, o), *(_preset(p, o).default(k)
                                                       for k in ("nv_N_values", "nv_V_values", "nv_orders")))),
    Target("table5", "darts_space", "Table 5: the DARTS CNN space on CIFAR-10",
           lambda p, o: plan_darts_search(_search(p, o, "darts"), _preset(p, o).default("darts_orders"))),
    Target("table6", "darts_subspaces", "Table 6: RobustDARTS S1-S4", _table6),
    Target("tableA1", "imagenet", "Table A1: ImageNet (cells searched on CIFAR-10)",
           lambda p, o: plan_darts_search(_search(p, o, "darts"), ["random"])),
    Target("proxy_study", "proxies", "The proxy study: every proxy's rank correlation with NB201 accuracy",
           lambda p, o: _preset(p, o).runs("proxy-study").specs()),
):
    TARGETS.register(_t)


def plan(targets: Optional[list[str]] = None, preset: str = "smoke", **overrides: Any) -> list[RunSpec]:
    """The run specs of ``targets`` (default: every target) in ``preset``, without repeats."""
    names = targets or TARGETS.names()
    return unique([s for name in names for s in TARGETS.get(name).plan(preset, **overrides)])
