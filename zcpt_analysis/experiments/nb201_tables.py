"""NAS-Bench-201 search results: Table 2 (orderings), Table 3 (proxies), Table 4 (baselines) and
Figure 3 (N and V), measured next to the paper.

Each table has a ``plan_*`` function (the run specs it needs in a preset) and a builder that reads
those records from the results store -- computing the missing ones when the preset says so -- and
returns the measured-vs-paper frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import pandas as pd

from .. import paper
from ..errors import ZcptError
from ..runs.records import SearchRecord, error_statistics
from ..runs.specs import RunSpec
from ..searches.op_selection import select_candidate
from .collect import NEEDS_GPU, NOT_COMPUTED, Pending, Runs, bench as _bench, runs_of, store_of
from .formatting import NOT_IN_PAPER, Row, TableResult, comparison, error_bars, error_table, fmt
from .presets import Preset, SpecSeeds, preset

DARTS_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "DARTS": ("darts", {}), "DARTS-PT": ("darts-pt", {}), "DARTS-PT (fix alpha)": ("darts-pt", {"fix_alpha": True})}
"""Table 4's DARTS rows: row label -> (preset spec kind, spec changes)."""


def zcpt_runs(search: SpecSeeds, label: str, results_dir: Any = None, progress: bool = False,
              images: Any = None, **changes: Any) -> Runs:
    """Zero-Cost-PT records of ``search`` (one per seed) with ``changes`` (proxy, order, N, ...):
    from the store, or computed when ``search.compute_missing``, else pending with the command."""
    return _runs(search, label, search.specs(**changes), results_dir, progress, images=images)


def _runs(runs: SpecSeeds, label: str, specs: Sequence[RunSpec], results_dir: Any, progress: bool,
          **resources: Any) -> Runs:
    """The records of one table row: ``specs`` (of ``runs``) read, computed or pending -- as "needs
    a GPU" where the preset leaves them to one."""
    reason = None if all(runs.planned(s) for s in specs) else NEEDS_GPU
    resources = {k: v for k, v in resources.items() if v is not None}
    return runs_of(label, specs, store_of(results_dir), runs.compute_missing, progress, reason, **resources)


def _flat(rows: dict[Any, list[RunSpec]]) -> list[RunSpec]:
    """The specs of a table's rows, in order (a plan)."""
    return [s for specs in rows.values() for s in specs]


def _mean_evaluations(runs: Runs) -> Any:
    vals = [it.evaluations for r in runs.records for it in r.iterations]
    return round(sum(vals) / len(vals), 1) if vals else NOT_COMPUTED


# ============================================================================= Table 2
def table2_specs(search: SpecSeeds, orders: Optional[Sequence[str]] = None,
                 proxy: Optional[str] = None) -> dict[str, list[RunSpec]]:
    """Table 2's rows: ordering (default: all six) -> one spec per seed (``proxy``: the search's)."""
    from ..searches.orderings import ORDERINGS

    changes = {"proxy": proxy} if proxy else {}
    return {order: search.specs(order=order, **changes) for order in (orders or ORDERINGS)}


def plan_table2(search: SpecSeeds, orders: Optional[Sequence[str]] = None, proxy: Optional[str] = None) -> list:
    return _flat(table2_specs(search, orders, proxy))


def table2(search: SpecSeeds, results_dir: Any = None, orders: Optional[Sequence[str]] = None,
           proxy: Optional[str] = None, progress: bool = False) -> TableResult:
    """Table 2: Zero-Cost-PT test error by edge-discretization ordering (NB201, all three datasets),
    with the number of proxy evaluations per search iteration (measured and the paper's formula)."""
    from ..searches.orderings import expected_evaluations

    rows, pending, runs = [], [], {}
    for order, specs in table2_specs(search, orders, proxy).items():
        name = specs[0].proxy  # type: ignore[attr-defined]
        r = _runs(search, f"Zero-Cost-PT {name}, order {order}", specs, results_dir, progress)
        runs[order] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(order, r.stats(), paper.TABLE2.get(name, {}).get(order),
                        {"# perturbations (paper formula)": paper.TABLE2_PERTURBATION_FORMULAS.get(order, "-"),
                         "evaluations / iteration (formula, NB201)": expected_evaluations(order, 5, 6),
                         "evaluations / iteration (measured)": _mean_evaluations(r),
                         "seeds": len(r.records), "data": r.data_sources()}))
    return TableResult(error_table(rows, label="order"), error_bars(rows), pending, runs)


# ============================================================================= Table 3
NEW_PROXIES: tuple[str, ...] = ("meco", "zico", "swap", "zen", "epe_nas", "l2_norm", "plain", "ntk", "ensemble")
"""Table 3's extension: the proxies published after the paper and the rank-average ensemble (rows
"not in the paper")."""
TABLE3_PROXY_OPTIONS: dict[str, dict[str, Any]] = {"ntk": {"num_samples": 16}}
"""Proxy options of Table 3 rows: ``ntk`` scores its NTK on the first 16 images of each minibatch
(TE-NAS's NTK batch; the full 64- or 256-image NTK costs that many backward passes per evaluation),
or on the whole minibatch when it has at most 16 images."""


def table3_proxies(proxies: Optional[Sequence[str]] = None) -> list[str]:
    """Table 3's rows: ``proxies``, or the paper's six followed by :data:`NEW_PROXIES`."""
    return list(proxies) if proxies is not None else list(paper.TABLE3) + list(NEW_PROXIES)


def _table3_changes(search: SpecSeeds, proxy: str, order: str) -> dict[str, Any]:
    """The spec changes of one Table 3 row; ntk's 16-image NTK only when the minibatch is larger."""
    changes: dict[str, Any] = {"proxy": proxy, "order": order}
    options = dict(TABLE3_PROXY_OPTIONS.get(proxy, {}))
    batch_size = search.spec.batch_size  # type: ignore[attr-defined]
    if "num_samples" in options and batch_size is not None and batch_size <= options["num_samples"]:
        del options["num_samples"]
    if options:
        changes["proxy_options"] = options
    return changes


def table3_specs(search: SpecSeeds, proxies: Optional[Sequence[str]] = None,
                 order: str = "random") -> dict[str, list[RunSpec]]:
    """Table 3's rows: proxy -> one spec per seed (:func:`table3_proxies`)."""
    return {proxy: search.specs(**_table3_changes(search, proxy, order)) for proxy in table3_proxies(proxies)}


def plan_table3(search: SpecSeeds, proxies: Optional[Sequence[str]] = None, order: str = "random") -> list:
    return _flat(table3_specs(search, proxies, order))


def table3(search: SpecSeeds, results_dir: Any = None, proxies: Optional[Sequence[str]] = None,
           order: str = "random", progress: bool = False) -> TableResult:
    """Table 3: Zero-Cost-PT test error by zero-cost proxy (random order, NB201): the paper's six
    proxies and, unless ``proxies`` says otherwise, the ones published since (:data:`NEW_PROXIES`,
    paper column "not in the paper")."""
    rows, pending, runs = [], [], {}
    for proxy, specs in table3_specs(search, proxies, order).items():
        options = _table3_changes(search, proxy, order).get("proxy_options", {})
        label = proxy + "".join(f" {k}={v}" for k, v in options.items())
        r = _runs(search, f"Zero-Cost-PT {label}, order {order}", specs, results_dir, progress)
        runs[proxy] = r
        if r.pending:
            pending.append(r.pending)
        distinct = len({str(rec.selected.arch) for rec in r.records}) if r.records else NOT_COMPUTED
        rows.append(Row(label, r.stats(), paper.TABLE3.get(proxy) if order == "random" else None,
                        {"distinct selected archs": distinct, "seeds": len(r.records), "data": r.data_sources()}))
    return TableResult(error_table(rows, label="proxy"), error_bars(rows), pending, runs)


TABLE3_CPU_RECORDS = Path("benchmarks") / "results" / "table3_cpu"
"""Where the repository keeps its CPU-budget Table 3 records (relative to the repository root)."""
TABLE3_CPU_PROXIES: tuple[str, ...] = ("nwot", "synflow") + NEW_PROXIES
TABLE3_CPU_SEEDS: tuple[int, ...] = (0,)
TABLE3_CPU_N = 5
"""The CPU budget's search iterations. One zc-pt evaluation of a gradient or correlation proxy on the
C=16, N=5 supernet takes 10-40 s on one core here (nwot's batched engine is far cheaper), i.e. about
an hour per search iteration per proxy with 30 evaluations: N=5 and one seed keep the nine new
proxies within a working day of one core."""


def table3_cpu_settings(seeds: Sequence[int] = TABLE3_CPU_SEEDS) -> SpecSeeds:
    """The CPU budget of the repository's Table 3 records: the paper's setting with N=5 (paper 10),
    V=20 (paper 100), minibatches of 64 (paper 256) from the shared CIFAR-10 sample, seed 0 (paper
    0-3), on the CPU, with the fast execution (weight-0 ops skipped, nwot hooks on ``nn.ReLU``: what
    the records were computed with, as in the ``cpu`` preset; the paper preset's NAS-Bench-201
    default is the published ``block-input`` execution); read only (missing records are listed
    with their commands)."""
    return preset("paper", device="cpu", compute_missing=False).runs(
        "nb201-search", seeds=seeds, N=TABLE3_CPU_N, V=20, batch_size=64, data_source="sample", supernet_mode="fast")


def table3_cpu(results_dir: Any = None, proxies: Optional[Sequence[str]] = None,
               seeds: Sequence[int] = TABLE3_CPU_SEEDS) -> TableResult:
    """Table 3 from the CPU-budget records shipped in the repository (:data:`TABLE3_CPU_RECORDS`),
    for :data:`TABLE3_CPU_PROXIES` (nwot and synflow as the paper's anchors); missing records are
    pending, with the commands that compute them."""
    from .proxy_study import repository_root

    store = results_dir if results_dir is not None else repository_root() / TABLE3_CPU_RECORDS
    return table3(table3_cpu_settings(seeds), results_dir=store, proxies=list(proxies or TABLE3_CPU_PROXIES))


# ============================================================================= Table 4
def table4_specs(p: Preset) -> dict[str, tuple[SpecSeeds, list[RunSpec], str]]:
    """Table 4's rows but Random: label -> (the preset's runs of its kind, one spec per seed, source)."""
    rows: dict[str, tuple[SpecSeeds, list[RunSpec], str]] = {}
    for label, (kind, changes) in DARTS_VARIANTS.items():
        runs = p.runs(kind)
        rows[label] = (runs, runs.specs(**changes), "supernet training")
    naswot, search = p.runs("naswot"), p.runs("nb201-search")
    for proxy in paper.TABLE4_PROXIES:
        rows[f"NASWOT({proxy})"] = (naswot, naswot.specs(proxy=proxy),
                                    f"{naswot.spec.n_samples} samples per run")  # type: ignore[attr-defined]
    for proxy in paper.TABLE4_PROXIES:
        rows[f"Zero-Cost-PT({proxy})"] = (search, search.specs(proxy=proxy, order="random"),
                                          f"N={search.spec.N}, V={search.spec.V}")  # type: ignore[attr-defined]
    return rows


def plan_table4(p: Preset) -> list:
    """Table 4's specs (DARTS / DARTS-PT only when the preset trains supernets: not in the cpu preset)."""
    return [p.spec("random")] + [s for runs, specs, _ in table4_specs(p).values() for s in specs if runs.planned(s)]


def table4(p: Preset, results_dir: Any = None, bench: Any = None, progress: bool = False) -> TableResult:
    """Table 4: Zero-Cost-PT (synflow, nwot) next to Random, DARTS, DARTS-PT (and fix alpha) and
    NASWOT (synflow, nwot) on NAS-Bench-201 (test error %, all three datasets), from the preset's
    ``nb201-search``, ``random``, ``naswot``, ``darts`` and ``darts-pt`` runs."""
    bench = _bench(bench)
    rows, pending, runs = [], [], {}
    random_record = p.spec("random").run(None, bench=bench)  # benchmark lookups: always exact and fast
    runs["Random"] = random_record
    rows.append(Row("Random", error_statistics(random_record.picks), paper.TABLE4_METHODS["Random"],
                    {"runs": len(random_record.picks), "source": "benchmark lookup"}))
    for label, (kind_runs, specs, source) in table4_specs(p).items():
        r = _runs(kind_runs, label, specs, results_dir, progress, bench=bench)
        if r.pending and label.startswith("NASWOT("):  # 500 seeds: name the count, not the list
            r.pending = Pending(f"{label} ({len(specs) - len(r.records)} runs)", r.pending.command, r.pending.reason)
        runs[label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(label, r.stats(), paper.TABLE4_METHODS[label], {"runs": len(r.records), "source": source}))
    return TableResult(error_table(rows), error_bars(rows), pending, runs)


# ============================================================================= Figure 3: N and V
def select_subset(record: SearchRecord, N: int, V: int) -> dict[str, Any]:
    """The candidates and selection a run with ``N`` search and ``V`` validation iterations would
    have made, derived exactly from a record with at least as many of both.

    Exact because iteration ``i`` of a run depends only on its seed and ``i`` (alpha, minibatches
    and edge order are seeded per iteration), and the ``j``-th validation minibatch and every
    candidate network's initialisation only on the seed (and architecture): a run with ``N``
    iterations is the first ``N`` iterations of a longer one, and a candidate's total over ``V``
    minibatches is the sum of its first ``V`` scores. The selection is the search's own rule
    (:func:`~zcpt_analysis.searches.op_selection.select_candidate`). Returns ``{"N", "V",
    "candidates": [{"arch", "total"}], "distinct", "selected"}`` (candidates in order of discovery).
    """
    from ..searches.results import distinct_candidates

    have_n, have_v = len(record.iterations), record.validation_batches
    if not 1 <= N <= have_n:
        raise ZcptError(f"the record has {have_n} search iterations; cannot derive N={N}")
    if not 1 <= V <= have_v:
        raise ZcptError(f"the record has {have_v} validation minibatches; cannot derive V={V}")
    scores = {str(c.arch): c.scores for c in record.candidates}
    cands = distinct_candidates(record.iterations, N)
    best, totals = select_candidate([scores[str(c.arch)] for c in cands], V)
    return {"N": N, "V": V, "candidates": [{"arch": c.arch, "total": t} for c, t in zip(cands, totals)],
            "distinct": len(cands), "selected": cands[best].arch}


@dataclass
class NVResult:
    """Figure 3 data: per (order, seed, N, V) the selection; candidate points; a summary table."""

    selections: pd.DataFrame
    points: pd.DataFrame
    distribution: pd.DataFrame
    summary: pd.DataFrame
    facts: pd.DataFrame
    pending: list[Pending]


def figure3_specs(search: SpecSeeds, N_values: Sequence[int], V_values: Sequence[int],
                  orders: Sequence[str] = ("random",), proxy: Optional[str] = None) -> dict[str, list[RunSpec]]:
    """Figure 3's runs: ordering -> one spec per seed with ``max(N_values)`` and ``max(V_values)``."""
    changes = {"proxy": proxy} if proxy else {}
    return {order: search.specs(order=order, N=max(N_values), V=max(V_values), **changes) for order in orders}


def plan_figure3(search: SpecSeeds, N_values: Sequence[int], V_values: Sequence[int],
                 orders: Sequence[str] = ("random",), proxy: Optional[str] = None) -> list:
    return _flat(figure3_specs(search, N_values, V_values, orders, proxy))


def nv_ablation(search: SpecSeeds, N_values: Sequence[int], V_values: Sequence[int],
                orders: Sequence[str] = ("random",), proxy: Optional[str] = None, results_dir: Any = None,
                bench: Any = None, progress: bool = False) -> NVResult:
    """Figure 3: one run per (order, seed) with ``max(N_values)`` and ``max(V_values)``, from which
    every smaller (N, V) selection is derived (:func:`select_subset`). CIFAR-10 test accuracy from
    NAS-Bench-201 (per training trial for the distributions, seed-mean for the scatter)."""
    bench = _bench(bench)
    n_max, v_max = max(N_values), max(V_values)
    sel_rows, point_rows, dist_rows, pending = [], [], [], []
    for order, specs in figure3_specs(search, N_values, V_values, orders, proxy).items():
        name = specs[0].proxy  # type: ignore[attr-defined]
        runs = _runs(search, f"Zero-Cost-PT {name}, order {order}, N={n_max}, V={v_max}", specs, results_dir,
                     progress)
        if runs.pending:
            pending.append(runs.pending)
        for rec in runs.records:
            seed = rec.spec.seed
            for N in N_values:
                for V in V_values:
                    sub = select_subset(rec, N, V)
                    res = bench.query(sub["selected"], "cifar10")
                    sel_rows.append({"order": order, "seed": seed, "N": N, "V": V, "distinct": sub["distinct"],
                                     "selected": str(sub["selected"]), "accuracy": res.mean, "error": res.error,
                                     "rank": res.rank})
                    for t in res.trials:
                        dist_rows.append({"order": order, "seed": seed, "N": N, "V": V, "accuracy": t})
                    if V == v_max:
                        for c in sub["candidates"]:
                            acc = bench.query(c["arch"], "cifar10").mean
                            point_rows.append({"order": order, "seed": seed, "N": N, "arch": str(c["arch"]),
                                               "validation_total": c["total"], "accuracy": acc,
                                               "selected": str(c["arch"]) == str(sub["selected"])})
    selections = pd.DataFrame(sel_rows, columns=["order", "seed", "N", "V", "distinct", "selected", "accuracy", "error",
                                                 "rank"])
    distribution = pd.DataFrame(dist_rows, columns=["order", "seed", "N", "V", "accuracy"])
    summary_rows = []
    for (order, N, V), grp in selections.groupby(["order", "N", "V"], sort=True):
        errs = grp["error"].to_numpy(dtype=float)  # seed-mean error of each seed's selection
        summary_rows.append({"order": order, "N": N, "V": V, "seeds": grp["seed"].nunique(),
                             "distinct archs (mean over seeds)": round(float(grp["distinct"].mean()), 2),
                             "C10 test error measured (mean ± std over seeds)": fmt(float(errs.mean()),
                                                                                   float(errs.std())),
                             "best rank": int(grp["rank"].min())})
    facts = []
    for order in orders:
        hit = selections[(selections["order"] == order) & (selections["N"] == 100) & (selections["V"] == v_max)]
        measured = round(float(hit["distinct"].mean()), 2) if len(hit) else (
            NOT_COMPUTED if 100 in N_values else "N=100 not in this preset")
        facts.append({"fact": f"distinct architectures with N=100 ({order})", "measured": measured,
                      "paper": paper.FIGURE3_FACTS["distinct_archs_N100"] if order == "random" else NOT_IN_PAPER})
        if 1000 in N_values and 100 in N_values:
            a = selections[(selections["order"] == order) & (selections["N"] == 1000) & (selections["V"] == v_max)]
            b = selections[(selections["order"] == order) & (selections["N"] == 100) & (selections["V"] == v_max)]
            ratio = round(float(a["distinct"].mean() / b["distinct"].mean()), 2) if len(a) and len(b) else NOT_COMPUTED
        else:
            ratio = "N=100 and N=1000 not in this preset"
        facts.append({"fact": f"distinct architectures N=1000 / N=100 ({order})", "measured": ratio,
                      "paper": paper.FIGURE3_FACTS["distinct_archs_N1000_vs_N100"] if order == "random" else NOT_IN_PAPER})
    return NVResult(selections, pd.DataFrame(point_rows, columns=["order", "seed", "N", "arch", "validation_total",
                                                                  "accuracy", "selected"]),
                    distribution, pd.DataFrame(summary_rows), comparison(facts) if facts else pd.DataFrame(), pending)


__all__ = ["DARTS_VARIANTS", "NEW_PROXIES", "NVResult", "TABLE3_PROXY_OPTIONS", "figure3_specs", "nv_ablation",
           "plan_figure3", "plan_table2", "plan_table3", "plan_table4", "select_subset", "table2", "table2_specs",
           "table3", "table3_cpu", "table3_cpu_settings", "table3_proxies", "table3_specs", "table4", "table4_specs",
           "zcpt_runs"]
