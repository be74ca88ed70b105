"""Measured next to the paper: ``mean ± std`` cells, the measured / paper / diff test-error tables
and their bar-chart rows. Paper numbers come from :mod:`zcpt_analysis.paper` only and appear only
in columns labelled "paper"."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pandas as pd

from .. import paper
from .collect import NOT_COMPUTED, Pending

NOT_IN_PAPER = "not in the paper"
DATASET_LABELS: dict[str, str] = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "ImageNet-16",
                                  "svhn": "SVHN"}


def fmt(mean: Optional[float], std: Optional[float] = None, decimals: int = 2, n: Optional[int] = None) -> str:
    """``"5.97 ± 0.17"`` (or ``"5.97"``); ``"5.97 (n=1)"`` for a single run (``n == 1``: there is no
    spread to show); :data:`NOT_COMPUTED` for a missing / NaN mean."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return NOT_COMPUTED
    if n == 1:
        return f"{mean:.{decimals}f} (n=1)"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def zcpt_reference(proxy: str, order: str) -> Optional[dict[str, paper.Published]]:
    """The paper's row for a Zero-Cost-PT NB201 configuration (N=10, V=100), if it published one:
    Table 2 (by proxy and ordering), else Table 3 (by proxy, random order)."""
    row = paper.TABLE2.get(proxy, {}).get(order)
    if row is None and order == "random":
        row = paper.TABLE3.get(proxy)
    return row


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, paper.Published):
        return value.mean
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def comparison(rows: Sequence[Mapping[str, Any]], measured: str = "measured", paper_key: str = "paper",
               diff: str = "diff") -> pd.DataFrame:
    """A DataFrame of ``rows`` with a ``diff`` column = measured - paper (NaN where either is
    missing or not a number, e.g. "not yet computed").

    ``rows`` are mappings with at least the ``measured`` and ``paper`` keys; a
    :class:`~zcpt_analysis.paper.Published` value contributes its mean to the difference and is
    shown as ``mean ± std``; a string (e.g. "not yet computed") or None gives a NaN difference.
    """
    out = []
    for row in rows:
        if measured not in row or paper_key not in row:
            raise KeyError(f"every comparison row needs {measured!r} and {paper_key!r} keys; got {sorted(row)}")
        r = dict(row)
        r[diff] = _as_float(r[measured]) - _as_float(r[paper_key])
        for key in (measured, paper_key):
            if isinstance(r[key], paper.Published):
                r[key] = str(r[key])
        out.append(r)
    return pd.DataFrame(out)


@dataclass
class Row:
    """One row of a measured-vs-paper test-error table."""

    label: str
    stats: Mapping[str, Mapping[str, float]]  # dataset -> {"mean", "std", "n"} (measured; {} = not computed)
    paper: Optional[Mapping[str, paper.Published]] = None
    extra: dict = field(default_factory=dict)


def error_table(rows: Sequence[Row], datasets: Sequence[str] = paper.NB201_DATASETS,
                label: str = "method") -> pd.DataFrame:
    """Wide table: ``label``, the rows' extra columns, then per dataset ``<D> measured`` (the rows'
    statistics as :func:`~zcpt_analysis.runs.records.error_statistics` computes them: mean ± std
    over runs of the selected architecture's seed-mean test error, the paper's convention; "(n=1)"
    in place of a spread for a single run; or "not yet computed"), ``<D> n`` (runs), ``<D> paper``
    (the paper's mean ± std) and ``<D> diff``
    (measured mean - paper mean)."""
    out = []
    for r in rows:
        item: dict[str, Any] = {label: r.label, **r.extra}
        for d in datasets:
            name = DATASET_LABELS.get(d, d)
            s = r.stats.get(d) if r.stats else None
            p = (r.paper or {}).get(d)
            item[f"{name} measured"] = fmt(s["mean"], s["std"], n=int(s["n"])) if s else NOT_COMPUTED
            item[f"{name} n"] = int(s["n"]) if s else 0
            item[f"{name} paper"] = str(p) if p is not None else NOT_IN_PAPER
            item[f"{name} diff"] = round(s["mean"] - p.mean, 2) if s and p is not None else math.nan
        out.append(item)
    return pd.DataFrame(out)


def error_bars(rows: Sequence[Row], datasets: Sequence[str] = paper.NB201_DATASETS) -> pd.DataFrame:
    """:func:`~zcpt_analysis.viz.error_bars_info` rows of ``rows`` (measured and paper per dataset)."""
    from ..viz import error_bars_info

    items = []
    for r in rows:
        for d in datasets:
            group = DATASET_LABELS.get(d, d)
            s = r.stats.get(d) if r.stats else None
            items.append({"label": r.label, "group": group, "source": "measured",
                          "mean": s["mean"] if s else None, "std": s["std"] if s else None})
            p = (r.paper or {}).get(d)
            if p is not None:
                items.append({"label": r.label, "group": group, "source": "paper", "mean": p.mean, "std": p.std})
    return error_bars_info(items)


@dataclass
class TableResult:
    """What a table notebook shows: the table, bar-chart data, pending work and the raw runs."""

    table: pd.DataFrame
    bars: pd.DataFrame
    pending: list[Pending]
    runs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
