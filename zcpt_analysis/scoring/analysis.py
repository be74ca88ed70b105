"""Correlation analysis of operation scores: Figure 2, Figure A1 (iterative setting) and Table 1.

All functions take the tidy score tables of :func:`zcpt_analysis.scoring.score_operations`
(columns ``edge, op, method, score, higher_is_better``; optional grouping columns ``seed``,
``iteration``, ``trajectory``) and apply the sign convention of A.1.2 themselves: scores of
lower-is-better methods (the perturbation scores darts-pt and zc-pt) are multiplied by -1 before
correlating, so a positive rho means "the two methods agree on which ops are strong".

Spearman's rho is computed **per edge** over that edge's ops and then averaged over edges (and
over any grouping columns present, e.g. seeds), as in Figure 2 and A.1.3; an edge where either
method's scores are all equal has no rho and is left out of the average.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .. import paper as PAPER
from ..errors import UnknownNameError, ZcptError
from .methods import METHOD_NAMES, get_method
from ..searches.op_selection import select

GROUP_COLUMNS: tuple[str, ...] = ("seed", "trajectory", "iteration")

# ----------------------------------------------------------------------------- helpers
def sign_adjusted(table: pd.DataFrame) -> pd.Series:
    """``score`` for higher-is-better rows, ``-score`` for lower-is-better ones (A.1.2)."""
    _require(table, ("score", "higher_is_better"))
    hib = table["higher_is_better"].astype(bool).to_numpy()
    return pd.Series(np.where(hib, 1.0, -1.0) * table["score"].to_numpy(dtype=float), index=table.index,
                     name="for_correlation")


def _require(table: pd.DataFrame, cols: Iterable[str]) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ZcptError(f"score table lacks columns {missing}; it has {list(table.columns)}")


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rho (average ranks for ties); NaN when fewer than 2 pairs or a side is constant."""
    from scipy.stats import rankdata

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return math.nan
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def _groups(table: pd.DataFrame) -> list[str]:
    return [c for c in GROUP_COLUMNS if c in table.columns]


def per_edge_spearman(table: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Spearman's rho between methods ``a`` and ``b`` on every edge (per group: seed, trajectory,
    iteration where present), on sign-adjusted scores, over the ops both methods scored."""
    _require(table, ("edge", "op", "method", "score", "higher_is_better"))
    groups = _groups(table)
    data = table.assign(_v=sign_adjusted(table))
    sub = data[data["method"].isin([a, b])]
    wide = sub.pivot_table(index=groups + ["edge", "op"], columns="method", values="_v", aggfunc="first")
    rows = []
    if a in wide.columns and b in wide.columns:
        for key, grp in wide.groupby(level=list(range(len(groups) + 1)), sort=False):
            key = key if isinstance(key, tuple) else (key,)
            rho = spearman(grp[a].to_numpy(), grp[b].to_numpy()) if a != b else 1.0
            rows.append(dict(zip(groups + ["edge"], key), rho=rho))
    return pd.DataFrame(rows, columns=groups + ["edge", "rho"])


def correlation_matrix(table: pd.DataFrame, methods: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Figure 2: mean over edges (and seeds / groups) of the per-edge Spearman rho of every pair of
    methods, on sign-adjusted scores. Symmetric, ones on the diagonal; NaN where no edge has a rho."""
    _require(table, ("edge", "op", "method", "score", "higher_is_better"))
    present = list(dict.fromkeys(table["method"]))
    names = list(methods) if methods is not None else [m for m in METHOD_NAMES if m in present] + \
        [m for m in present if m not in METHOD_NAMES]
    missing = [m for m in names if m not in present]
    if missing:
        raise UnknownNameError("method in this score table", missing[0], present)
    mat = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rhos = per_edge_spearman(table, a, b)["rho"].to_numpy(dtype=float)
            value = float(np.nanmean(rhos)) if rhos.size and not np.all(np.isnan(rhos)) else math.nan
            mat.loc[a, b] = mat.loc[b, a] = value
    return mat


# ----------------------------------------------------------------------------- Table 1
def selected_ops(table: pd.DataFrame) -> pd.DataFrame:
    """The op every method selects on every edge: its best-scored op (arg max, or arg min for
    lower-is-better methods; NaN scores ignored). Columns ``method, edge, op``."""
    _require(table, ("edge", "op", "method", "score", "higher_is_better"))
    rows = []
    for (method, edge), grp in table.groupby(["method", "edge"], sort=False):
        maximize = bool(grp["higher_is_better"].iloc[0])
        op = select(dict(zip(grp["op"], grp["score"].astype(float))), maximize=maximize,
                    what=f"{method} on edge {edge}")
        rows.append({"method": method, "edge": edge, "op": op})
    return pd.DataFrame(rows, columns=["method", "edge", "op"])


def table1(table: pd.DataFrame, bench: Any = None, dataset: str = "cifar10",
           methods: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Table 1: the NAS-Bench-201 architecture each method selects from its iteration-0 scores
    (best op per edge, independently), with its mean test error (%, mean over the available
    training trials, 200 epochs) and rank among all architectures (1 = best mean accuracy).

    Columns: ``method, arch, error_measured, rank_measured, trials_measured, error_paper,
    rank_paper`` (paper values from Table 1, where the paper has the method).
    """
    from ..bench import load_benchmark
    from ..spaces.nb201 import EDGES, Arch

    bench = bench if bench is not None else load_benchmark()
    if "iteration" in table.columns and table["iteration"].nunique() > 1:
        raise ZcptError("Table 1 uses iteration-0 scores; the table holds several iterations")
    sel = selected_ops(table)
    names = list(methods) if methods is not None else [m for m in METHOD_NAMES if m in set(sel["method"])] + \
        [m for m in dict.fromkeys(sel["method"]) if m not in METHOD_NAMES]
    rows = []
    for m in names:
        chosen = dict(zip(sel.loc[sel["method"] == m, "edge"], sel.loc[sel["method"] == m, "op"]))
        missing = [e for e in EDGES if e not in chosen]
        if missing:
            raise ZcptError(f"method {m} has no scores on edges {missing}: Table 1 needs every edge")
        arch = Arch(tuple(chosen[e] for e in EDGES))
        res = bench.query(arch, dataset)
        paper = PAPER.TABLE1.get(m) if dataset == "cifar10" else None
        rows.append({"method": m, "arch": arch.to_string(), "error_measured": res.error, "rank_measured": res.rank,
                     "trials_measured": len(res.trials),
                     "error_paper": paper.error if paper else math.nan,
                     "rank_paper": paper.rank if paper else math.nan})
    return pd.DataFrame(rows)


def table_a2_comparison(table: pd.DataFrame, methods: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Measured iteration-0 scores next to the paper's Table A2 (first four ops), as printed there:
    darts-pt and zc-pt shown multiplied by -1. Columns ``method, edge, op, measured, paper, diff``."""
    from ..spaces.nb201 import EDGES

    rows = []
    names = methods if methods is not None else [m for m in PAPER.TABLE_A2 if m in set(table["method"])]
    for m in names:
        sub = table[table["method"] == m]
        sign = 1.0 if get_method(m).higher_is_better else -1.0
        for i, edge in enumerate(EDGES):
            for j, op in enumerate(PAPER.TABLE_A2_OPS):
                hit = sub[(sub["edge"] == edge) & (sub["op"] == op)]
                measured = sign * float(hit["score"].iloc[0]) if len(hit) else math.nan
                paper = PAPER.TABLE_A2[m][i][j]
                rows.append({"method": m, "edge": edge, "op": op, "measured": measured, "paper": paper,
                             "diff": measured - paper})
    return pd.DataFrame(rows)


def table_a2_frame():
    """Table A2 as a tidy table in the convention of :func:`zcpt_analysis.scoring.score_operations`.

    Columns ``edge, op, method, score, higher_is_better, printed``: ``score`` is the raw score
    (the printed value negated back for darts-pt and zc-pt, whose raw scores are lower-is-better),
    ``printed`` the value as it appears in the paper. Only the four published ops are present.
    """
    import pandas as pd

    rows = []
    for method, per_edge in PAPER.TABLE_A2.items():
        negated = method in PAPER.TABLE_A2_PRINTED_NEGATED
        for edge, values in zip(PAPER.TABLE_A2_EDGES, per_edge):
            for op, printed in zip(PAPER.TABLE_A2_OPS, values):
                rows.append({"edge": edge, "op": op, "method": method, "score": -printed if negated else printed,
                             "higher_is_better": not negated, "printed": printed})
    return pd.DataFrame(rows)


def figure2_from_table_a2():
    """Figure 2 **recomputed from Table A2** (the figure's own values are not in the text): the
    mean over edges of the per-edge Spearman rho between every pair of methods, on the four ops
    Table A2 has in our copy (``avg_pool_3x3`` lost). A DataFrame (methods x methods)."""
    return correlation_matrix(table_a2_frame(), methods=list(PAPER.TABLE_A2))


def figure_a1_data(table: pd.DataFrame, reference: str = "best-acc") -> pd.DataFrame:
    """Figure A1: per trajectory and iteration, the mean over the remaining edges (and seeds) of
    Spearman's rho between the trajectory's method and ``reference``. Columns ``method,
    iteration, rho, edges``."""
    _require(table, ("trajectory", "iteration", "edge", "op", "method", "score", "higher_is_better"))
    rows = []
    for m in dict.fromkeys(table["trajectory"]):
        sub = table[table["trajectory"] == m]
        per_edge = per_edge_spearman(sub, m, reference) if m != reference else \
            sub[sub["method"] == m][["iteration", "edge"]].drop_duplicates().assign(rho=1.0)
        for it, grp in per_edge.groupby("iteration"):
            vals = grp["rho"].to_numpy(dtype=float)
            rows.append({"method": m, "iteration": int(it),
                         "rho": float(np.nanmean(vals)) if not np.all(np.isnan(vals)) else math.nan,
                         "edges": int(grp["edge"].nunique())})
    return pd.DataFrame(rows, columns=["method", "iteration", "rho", "edges"])
