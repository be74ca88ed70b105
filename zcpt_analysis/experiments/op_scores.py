"""Operation scores (section 3): Figure 2, Table 1, Table A2 and Figure A1 (the iterative setting),
measured next to the paper. Each score table is one record (one method, one seed) of the store."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import pandas as pd

from .. import paper
from ..runs.specs import RunSpec
from .collect import NEEDS_GPU, NOT_COMPUTED, Pending, bench as _bench, collect, commands, pending_for, store_of
from .presets import SpecSeeds, preset_results_dir


# ============================================================================= iteration-0 scores
def score_specs(scores: SpecSeeds, methods: Optional[Sequence[str]] = None) -> dict[int, list[RunSpec]]:
    """The score tables of ``methods`` (default: all seven): seed -> one spec per method."""
    from ..scoring import METHOD_NAMES

    return {seed: [scores.at(seed, method=m) for m in (methods or METHOD_NAMES)] for seed in scores.seeds}


def plan_scores(scores: SpecSeeds, methods: Optional[Sequence[str]] = None) -> list:
    """Every (method, seed) score table that the preset computes (the cpu preset leaves the
    training-based methods to a GPU)."""
    return [s for specs in score_specs(scores, methods).values() for s in specs if scores.planned(s)]


def operation_scores(scores: SpecSeeds, methods: Optional[Sequence[str]] = None, results_dir: Any = None,
                     bench: Any = None, progress: bool = False) -> tuple[pd.DataFrame, list[Pending]]:
    """Iteration-0 operation scores ``g(A_0, e, o)`` of ``methods`` (default: all seven) for every
    seed of ``scores``: the tidy table of :func:`~zcpt_analysis.scoring.score_operations` with a
    ``seed`` column.

    Tables are read from the results store ``results_dir`` (the preset's default store when None);
    a missing one is computed when ``scores.compute_missing`` -- the benchmark-only methods
    (best-acc, avg-acc) always, they are exact and fast -- else reported as :class:`Pending` with the
    ``zcpt scores`` command.
    """
    from ..scoring import TABLE_COLUMNS, ScoringContext, get_method

    bench = _bench(bench)
    store = store_of(results_dir if results_dir is not None else preset_results_dir(scores.preset))
    tables, pending = [], []
    for seed, specs in score_specs(scores, methods).items():
        context = ScoringContext(settings=specs[0], bench=bench)  # type: ignore[arg-type]
        missing: dict[bool, list] = {True: [], False: []}  # planned in this preset? -> specs
        reasons = []
        for spec in specs:
            compute = scores.compute_missing or get_method(spec.method).network == "none"  # type: ignore[attr-defined]
            found = collect([spec], store, compute, progress, bench=bench, context=context)
            if found.missing:
                planned = scores.planned(spec)
                missing[planned].append(spec)
                reasons += found.reasons if planned else []
            else:
                tables.append(found.records[0].table().assign(seed=seed))
        for planned, group in missing.items():
            if group:
                reason = "; ".join(dict.fromkeys(reasons)) if planned else NEEDS_GPU
                pending.append(Pending(f"operation scores {', '.join(s.method for s in group)} (seed {seed})",
                                       _scores_command(group, store), reason))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[*TABLE_COLUMNS, "seed"])
    return table, pending


def _scores_command(specs: list, store: Any) -> str:
    """One ``zcpt scores --methods a b ...`` for specs that differ only in their method."""
    first = commands(specs[:1], store)
    methods = " ".join(s.method for s in specs)
    return first.replace(f"--methods {specs[0].method}", f"--methods {methods}", 1)


def table_a2(table: pd.DataFrame, seed: Optional[int] = None) -> pd.DataFrame:
    """Table A2 measured next to the paper: rows (method, edge), columns (op, measured | paper |
    diff), values in the paper's convention (darts-pt and zc-pt multiplied by -1). The paper's
    ``avg_pool_3x3`` column is missing from our copy ("n/a" there)."""
    from ..scoring import get_method

    if seed is not None and "seed" in table.columns:
        table = table[table["seed"] == seed]
    ops = list(dict.fromkeys(table["op"])) or list(paper.TABLE_A2_OPS)
    rows = []
    for method in [m for m in paper.TABLE_A2 if m in set(table["method"])]:
        sign = 1.0 if get_method(method).higher_is_better else -1.0
        sub = table[table["method"] == method]
        for i, edge in enumerate(paper.TABLE_A2_EDGES):
            item: dict[tuple[str, str], Any] = {("", "method"): method, ("", "edge"): edge}
            for op in ops:
                hit = sub[(sub["edge"] == edge) & (sub["op"] == op)]
                measured = sign * float(hit["score"].mean()) if len(hit) else math.nan
                p = paper.TABLE_A2[method][i][paper.TABLE_A2_OPS.index(op)] if op in paper.TABLE_A2_OPS else None
                item[(op, "measured")] = round(measured, 2)
                item[(op, "paper")] = p if p is not None else "n/a"
                item[(op, "diff")] = round(measured - p, 2) if p is not None else math.nan
            rows.append(item)
    df = pd.DataFrame(rows)
    if not df.empty:
        df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df


def oracle_rows(table: pd.DataFrame, method: str = "best-acc") -> pd.DataFrame:
    """``method``'s measured scores as a small edges x ops table (2 decimals): Table A2's layout."""
    sub = table[table["method"] == method]
    if "seed" in sub.columns and len(sub):
        sub = sub[sub["seed"] == sub["seed"].iloc[0]]
    wide = sub.pivot_table(index="edge", columns="op", values="score", sort=False).round(2)
    return wide.reindex(index=[e for e in paper.TABLE_A2_EDGES if e in wide.index],
                        columns=[o for o in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
                                 if o in wide.columns])


def figure2(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Figure 2 measured and from the paper: ``measured`` (mean per-edge Spearman rho over all
    measured ops and seeds), ``measured_4ops`` (the same on Table A2's four ops),
    ``paper_recomputed`` (:func:`~zcpt_analysis.scoring.analysis.figure2_from_table_a2`) and ``vs_best_acc``
    (each method's rho with best-acc: measured, measured on 4 ops, paper recomputed, difference)."""
    from ..scoring.analysis import correlation_matrix, figure2_from_table_a2

    measured = correlation_matrix(table)
    four = correlation_matrix(table[table["op"].isin(paper.TABLE_A2_OPS)])
    ref = figure2_from_table_a2()
    rows = []
    for m in measured.index:
        p = float(ref.loc[m, "best-acc"]) if m in ref.index else math.nan
        v4 = float(four.loc[m, "best-acc"]) if "best-acc" in four.columns else math.nan
        rows.append({"method": m, "rho vs best-acc measured": round(float(measured.loc[m, "best-acc"]), 3)
                     if "best-acc" in measured.columns else math.nan,
                     "measured (Table A2's 4 ops)": round(v4, 3),
                     "paper (recomputed from Table A2, 4 ops)": round(p, 3), "diff (4 ops)": round(v4 - p, 3)})
    return {"measured": measured, "measured_4ops": four, "paper_recomputed": ref, "vs_best_acc": pd.DataFrame(rows)}


def table1_comparison(table: pd.DataFrame, bench: Any = None) -> pd.DataFrame:
    """Table 1 per seed: the architecture each method selects from its iteration-0 scores, its
    mean CIFAR-10 test error and rank (measured) next to the paper's error and rank."""
    from ..scoring.analysis import table1

    bench = _bench(bench)
    seeds = sorted(table["seed"].unique()) if "seed" in table.columns else [None]
    rows = []
    for seed in seeds:
        sub = table[table["seed"] == seed] if seed is not None else table
        t1 = table1(sub.drop(columns=["seed"], errors="ignore"), bench)
        for _, r in t1.iterrows():
            p = paper.TABLE1.get(r["method"])
            rows.append({"seed": seed, "method": r["method"], "error measured": round(float(r["error_measured"]), 2),
                         "error paper": p.error if p else math.nan,
                         "error diff": round(float(r["error_measured"]) - p.error, 2) if p else math.nan,
                         "rank measured": int(r["rank_measured"]), "rank paper": p.rank if p else math.nan,
                         "trials": int(r["trials_measured"]), "arch measured": r["arch"]})
    return pd.DataFrame(rows)


# ============================================================================= iterative setting (Figure A1)
def plan_iterative(iterative: SpecSeeds) -> list:
    return iterative.specs()


def iterative_table(iterative: SpecSeeds, results_dir: Any = None, bench: Any = None,
                    reference: str = "best-acc", progress: bool = False) -> tuple[pd.DataFrame, list[Pending]]:
    """The iterative setting of A.1.1 (Figure A1) for every seed: the tidy table of
    :func:`~zcpt_analysis.scoring.iterative.iterative_scores` with a ``seed`` column; records from the
    store, computed when ``iterative.compute_missing``, else pending with the ``zcpt scores
    --iterative`` command."""
    from ..scoring import METHOD_NAMES

    bench = _bench(bench)
    store = store_of(results_dir)
    specs = iterative.specs(reference=reference)
    found = collect(specs, store, iterative.compute_missing, progress, bench=bench)
    tables = [found.records[i].table().assign(seed=specs[i].seed) for i in sorted(found.records)]
    pending = []
    missing = pending_for("iterative operation scores (seeds "
                          + ", ".join(str(specs[i].seed) for i in found.missing) + ")", specs, found, store)
    if missing:
        pending.append(missing)
    excluded = [m for m in METHOD_NAMES if m not in iterative.spec.methods]  # type: ignore[attr-defined]
    if excluded:
        full = iterative.specs(reference=reference, methods=tuple(METHOD_NAMES))
        reason = (NOT_COMPUTED + f" (not in the {iterative.preset} preset's methods)" if iterative.planned(full[0])
                  else NEEDS_GPU)
        pending.append(Pending(f"iterative trajectories of {', '.join(excluded)}", commands(full, store), reason))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return table, pending
