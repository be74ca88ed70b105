"""NAS-Bench-201 search results: Table 2 (orderings), Table 3 (proxies), Table 4 (baselines) and
Figure 3 (N and V), measured next to the paper.

Each table has a ``plan_*`` function (the run specs it needs in a preset) and a builder that reads
those records from the results store -- computing the missing ones when the preset says so -- and
returns the measured-vs-paper frame.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import pandas as pd

from .. import paper
from ..errors import ZcptError
from ..runs.records import SearchRecord, error_statistics
from ..searches.op_selection import select_candidate
from .common import (NEEDS_GPU, NOT_COMPUTED, NOT_IN_PAPER, Pending, Row, Runs, TableResult, bench as _bench, comparison, error_bars,
                     error_table, fmt, runs_of, store_at)
from .presets import BaselineSettings, SearchSettings, search_settings

DARTS_VARIANTS: dict[str, str] = {"darts": "DARTS", "darts-pt": "DARTS-PT", "darts-pt-fix-alpha": "DARTS-PT (fix alpha)"}
"""Table 4's DARTS rows: variant -> row label."""


def zcpt_runs(settings: SearchSettings, label: str, results_dir: Any = None, progress: bool = False,
              images: Any = None, **changes: Any) -> Runs:
    """Zero-Cost-PT records of ``settings`` (one per seed) with ``changes`` (proxy, order, N, ...):
    from the store, or computed when ``settings.compute_missing``, else pending with the command."""
    resources = {"images": images} if images is not None else {}
    return runs_of(label, settings.specs(**changes), store_at(results_dir), settings.compute_missing, progress,
                   **resources)


def _mean_evaluations(runs: Runs) -> Any:
    vals = [it.evaluations for r in runs.records for it in r.iterations]
    return round(sum(vals) / len(vals), 1) if vals else NOT_COMPUTED


# ============================================================================= Table 2
def plan_table2(settings: SearchSettings, orders: Optional[Sequence[str]] = None, proxy: str = "nwot") -> list:
    from ..searches.orderings import ORDERINGS

    return [s for order in (orders or ORDERINGS) for s in settings.specs(proxy=proxy, order=order)]


def table2(settings: SearchSettings, results_dir: Any = None, orders: Optional[Sequence[str]] = None,
           proxy: str = "nwot", progress: bool = False) -> TableResult:
    """Table 2: Zero-Cost-PT test error by edge-discretization ordering (NB201, all three datasets),
    with the number of proxy evaluations per search iteration (measured and the paper's formula)."""
    from ..searches.orderings import ORDERINGS, expected_evaluations

    rows, pending, runs = [], [], {}
    for order in list(orders or ORDERINGS):
        r = zcpt_runs(settings, f"Zero-Cost-PT {proxy}, order {order}", results_dir, progress, proxy=proxy, order=order)
        runs[order] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(order, r.stats(), paper.TABLE2_ORDERINGS.get(order) if proxy == "nwot" else None,
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
    return list(proxies) if proxies is not None else list(paper.TABLE3_PROXIES) + list(NEW_PROXIES)


def _table3_changes(settings: SearchSettings, proxy: str, order: str) -> dict[str, Any]:
    """The spec changes of one Table 3 row; ntk's 16-image NTK only when the minibatch is larger."""
    changes: dict[str, Any] = {"proxy": proxy, "order": order}
    options = dict(TABLE3_PROXY_OPTIONS.get(proxy, {}))
    if "num_samples" in options and settings.batch_size is not None and settings.batch_size <= options["num_samples"]:
        del options["num_samples"]
    if options:
        changes["proxy_options"] = options
    return changes


def plan_table3(settings: SearchSettings, proxies: Optional[Sequence[str]] = None, order: str = "random") -> list:
    return [s for proxy in table3_proxies(proxies) for s in settings.specs(**_table3_changes(settings, proxy, order))]


def table3(settings: SearchSettings, results_dir: Any = None, proxies: Optional[Sequence[str]] = None,
           order: str = "random", progress: bool = False) -> TableResult:
    """Table 3: Zero-Cost-PT test error by zero-cost proxy (random order, NB201): the paper's six
    proxies and, unless ``proxies`` says otherwise, the ones published since (:data:`NEW_PROXIES`,
    paper column "not in the paper")."""
    rows, pending, runs = [], [], {}
    for proxy in table3_proxies(proxies):
        changes = _table3_changes(settings, proxy, order)
        label = proxy + "".join(f" {k}={v}" for k, v in changes.get("proxy_options", {}).items())
        r = zcpt_runs(settings, f"Zero-Cost-PT {label}, order {order}", results_dir, progress, **changes)
        runs[proxy] = r
        if r.pending:
            pending.append(r.pending)
        distinct = len({str(rec.selected.arch) for rec in r.records}) if r.records else NOT_COMPUTED
        rows.append(Row(label, r.stats(), paper.TABLE3_PROXIES.get(proxy) if order == "random" else None,
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


def table3_cpu_settings(seeds: Sequence[int] = TABLE3_CPU_SEEDS) -> SearchSettings:
    """The CPU budget of the repository's Table 3 records: the paper's setting with N=5 (paper 10),
    V=20 (paper 100), minibatches of 64 (paper 256) from the shared CIFAR-10 sample, seed 0 (paper
    0-3), on the CPU, with the fast execution (weight-0 ops skipped, nwot hooks on ``nn.ReLU``: what
    the records were computed with, as in the ``cpu`` preset; the paper preset's NAS-Bench-201
    default is the published ``block-input`` execution); read only (missing records are listed
    with their commands)."""
    settings = search_settings("paper", N=TABLE3_CPU_N, V=20, batch_size=64, seeds=seeds, data_source="sample",
                               device="cpu", compute_missing=False)
    return replace(settings, compat="fast")


def table3_cpu(results_dir: Any = None, proxies: Optional[Sequence[str]] = None,
               seeds: Sequence[int] = TABLE3_CPU_SEEDS) -> TableResult:
    """Table 3 from the CPU-budget records shipped in the repository (:data:`TABLE3_CPU_RECORDS`),
    for :data:`TABLE3_CPU_PROXIES` (nwot and synflow as the paper's anchors); missing records are
    pending, with the commands that compute them."""
    from .proxy_study import repository_root

    store = results_dir if results_dir is not None else repository_root() / TABLE3_CPU_RECORDS
    return table3(table3_cpu_settings(seeds), results_dir=store, proxies=list(proxies or TABLE3_CPU_PROXIES))


# ============================================================================= Table 4
def plan_table4(search: SearchSettings, baselines: BaselineSettings) -> list:
    """Table 4's specs (DARTS / DARTS-PT only when the preset trains: not in the cpu preset)."""
    specs: list = [baselines.random_spec()]
    for variant in DARTS_VARIANTS:
        if not baselines.training_needs_gpu:
            specs += baselines.darts_specs(variant)
    for proxy in ("synflow", "nwot"):
        specs += baselines.naswot_specs(proxy)
    for proxy in ("synflow", "nwot"):
        specs += search.specs(proxy=proxy, order="random")
    return specs


def table4(search: SearchSettings, baselines: BaselineSettings, results_dir: Any = None, bench: Any = None,
           progress: bool = False) -> TableResult:
    """Table 4: Zero-Cost-PT (nwot, synflow) next to Random, DARTS, DARTS-PT (and fix alpha) and
    NASWOT (nwot, synflow) on NAS-Bench-201 (test error %, all three datasets)."""
    bench = _bench(bench)
    store = store_at(results_dir)
    rows, pending, runs = [], [], {}
    random_record = baselines.random_spec().run(None, bench=bench)  # benchmark lookups: always exact and fast
    runs["Random"] = random_record
    rows.append(Row("Random", error_statistics(random_record.picks), paper.TABLE4_METHODS["Random"],
                    {"runs": len(random_record.picks), "source": "benchmark lookup"}))
    for variant, label in DARTS_VARIANTS.items():
        r = runs_of(label, baselines.darts_specs(variant), store, baselines.compute_missing, progress,
                    NEEDS_GPU if baselines.training_needs_gpu else None, bench=bench)
        runs[label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(label, r.stats(), paper.TABLE4_METHODS[label], {"runs": len(r.records),
                                                                         "source": "supernet training"}))
    for proxy in ("synflow", "nwot"):
        label = f"NASWOT({proxy})"
        r = runs_of(label, baselines.naswot_specs(proxy), store, baselines.compute_missing, progress, bench=bench)
        if r.pending:  # 500 seeds: name the count, not the list
            r.pending = Pending(f"{label} ({len(baselines.naswot_seeds) - len(r.records)} runs)", r.pending.command,
                                r.pending.reason)
            pending.append(r.pending)
        runs[label] = r
        rows.append(Row(label, r.stats(), paper.TABLE4_METHODS[label],
                        {"runs": len(r.records), "source": f"{baselines.naswot_samples} samples per run"}))
    for proxy in ("synflow", "nwot"):
        label = f"Zero-Cost-PT({proxy})"
        r = zcpt_runs(search, label, results_dir, progress, proxy=proxy, order="random")
        runs[label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(label, r.stats(), paper.TABLE4_METHODS[label],
                        {"runs": len(r.records), "source": f"N={search.N}, V={search.V}"}))
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
    from ..searches.zcpt import distinct_candidates

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


def plan_figure3(settings: SearchSettings, N_values: Sequence[int], V_values: Sequence[int],
                 orders: Sequence[str] = ("random",), proxy: str = "nwot") -> list:
    return [s for order in orders for s in settings.specs(proxy=proxy, order=order, N=max(N_values), V=max(V_values))]


def nv_ablation(settings: SearchSettings, N_values: Sequence[int], V_values: Sequence[int],
                orders: Sequence[str] = ("random",), proxy: str = "nwot", results_dir: Any = None,
                bench: Any = None, progress: bool = False) -> NVResult:
    """Figure 3: one run per (order, seed) with ``max(N_values)`` and ``max(V_values)``, from which
    every smaller (N, V) selection is derived (:func:`select_subset`). CIFAR-10 test accuracy from
    NAS-Bench-201 (per training trial for the distributions, seed-mean for the scatter)."""
    bench = _bench(bench)
    n_max, v_max = max(N_values), max(V_values)
    sel_rows, point_rows, dist_rows, pending = [], [], [], []
    for order in orders:
        runs = zcpt_runs(settings, f"Zero-Cost-PT {proxy}, order {order}, N={n_max}, V={v_max}", results_dir,
                         progress, proxy=proxy, order=order, N=n_max, V=v_max)
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


__all__ = ["DARTS_VARIANTS", "NEW_PROXIES", "NVResult", "TABLE3_PROXY_OPTIONS", "nv_ablation", "plan_figure3",
           "plan_table2", "plan_table3", "plan_table4", "select_subset", "table2", "table3", "table3_cpu",
           "table3_cpu_settings", "table3_proxies", "table4", "zcpt_runs"]
