"""How the notebooks show what :mod:`zcpt_analysis.experiments` returns: tables that stay readable
(:func:`table_view`: no wrapped cells, a header that stays in view, one marker for missing values),
the settings of a run (:func:`settings_table`), pending work with its commands
(:func:`show_pending`) and warnings that a preset makes expected, summarised once in prose
(:func:`expected_warnings`) instead of one stderr line each."""
from __future__ import annotations

import dataclasses
import html
import json
import math
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Sequence

import pandas as pd

from .collect import NOT_COMPUTED, NOT_TRAINED, Pending

MISSING = "n/a"
"""How every table shows a missing number (NaN, None): one marker, explained next to the table."""


def _column_decimals(values: pd.Series, most: int = 4) -> int:
    """The fewest decimals (at most ``most``) that show every finite float of a column exactly as
    it is stored (the library rounds what it returns; the display must not add or drop digits)."""
    finite = [float(v) for v in values if isinstance(v, float) and math.isfinite(v)]
    for d in range(most + 1):
        if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in finite):
            return d
    return most


def _formatter(decimals: int):
    def fmt(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        if isinstance(value, float):
            text = f"{value:.{decimals}f}"
            return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"
        return str(value)
    return fmt


class TableView:
    """A DataFrame shown for reading: HTML with cells that never wrap (``13.39 ± 13.28`` stays on
    one line), a header that stays visible while the table scrolls inside its own box (at most
    ``max_height`` tall), missing values as :data:`MISSING`, floats with the decimals they have,
    the row index hidden when it is just 0..n-1; plain text (``to_string``) for everything else."""

    def __init__(self, df: pd.DataFrame, max_height: str = "30em", caption: Optional[str] = None):
        self.df = df
        self.max_height = max_height
        self.caption = caption

    def _formatters(self) -> dict[Any, Any]:
        return {c: _formatter(_column_decimals(self.df[c])) for c in self.df.columns}

    def _numeric_columns(self) -> list[Any]:
        """Columns whose values are all numbers (or missing): right-aligned; text left-aligned."""
        return [c for c in self.df.columns
                if all(v is None or isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.df[c])]

    def _plain_index(self) -> bool:
        return isinstance(self.df.index, pd.RangeIndex) and self.df.index.start == 0 and self.df.index.step == 1

    def to_text(self) -> str:
        shown = self.df.copy()
        for c, f in self._formatters().items():
            shown[c] = shown[c].map(f)
        return shown.to_string(index=not self._plain_index())

    def to_html(self) -> str:
        styler = self.df.style.format(self._formatters(), na_rep=MISSING)
        if self._plain_index():
            styler = styler.hide(axis="index")
        styler = styler.set_table_styles([
            {"selector": "", "props": "border-collapse: separate; border-spacing: 0; font-size: 12.5px;"},
            {"selector": "th, td", "props": "white-space: nowrap; padding: 0.2em 0.55em; text-align: left;"},
            {"selector": "thead th", "props": "background: #f5f5f5; border-bottom: 1px solid #bbb;"},
            {"selector": "tbody tr:nth-child(even) td", "props": "background: #fafafa;"},
        ])
        numeric = self._numeric_columns()
        if numeric:
            styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
        styler = styler.set_sticky(axis="columns")
        caption = f"<div style='margin: 0.2em 0; color: #444;'>{html.escape(self.caption)}</div>" if self.caption else ""
        return (f"{caption}<div style='max-height: {self.max_height}; overflow: auto; max-width: 100%;'>"
                f"{styler.to_html()}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": self.to_text()}

    def __repr__(self) -> str:
        return self.to_text()


def table_view(df: pd.DataFrame, max_height: str = "30em", caption: Optional[str] = None) -> TableView:
    """``df`` for a notebook cell (see :class:`TableView`); the last expression of a cell."""
    return TableView(df, max_height, caption)


@contextmanager
def expected_warnings(category: type[Warning], explanation: str,
                      when: bool = True) -> Iterator[list[warnings.WarningMessage]]:
    """Collect the ``category`` warnings raised inside the block and, after it, display them once
    as a Markdown note (how many, ``explanation``, the first message); warnings of other categories
    are shown as usual. ``when``: whether the warning is expected at all (e.g. ``preset ==
    "smoke"``: tied scores of a barely trained smoke supernet); otherwise nothing is collected and
    every warning shows as usual."""
    from IPython.display import Markdown, display

    if not when:
        yield []
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    expected = [w for w in caught if issubclass(w.category, category)]
    for w in caught:
        if w not in expected:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if expected:
        display(Markdown(f"**Note: {len(expected)} `{category.__name__}` warning(s)**, expected here: {explanation} "
                         f"The first one: *{html.escape(str(expected[0].message))}*"))


def constant_scores(scores: pd.DataFrame) -> dict[str, float]:
    """Methods of a tidy score table (columns ``method, edge, op, score``) that gave every op of
    every edge the same score, with that score: they rank nothing, so their Spearman
    correlations are undefined (NaN, shown as :data:`MISSING`)."""
    out = {}
    for method, sub in scores.groupby("method", sort=False):
        values = sub["score"].astype(float)
        if len(values) and values.nunique(dropna=False) == 1:
            out[str(method)] = float(values.iloc[0])
    return out


def _setting_text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _field_names(obj: Any) -> Optional[list[str]]:
    """The fields of a settings object (a dataclass or a pydantic model; None: not one)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [f.name for f in dataclasses.fields(obj)]
    fields = getattr(type(obj), "model_fields", None)
    return list(fields) if isinstance(fields, dict) else None


def settings_table(settings: Any) -> pd.DataFrame:
    """A two-column table (setting, value) of a settings object (a dataclass or a run spec), for
    the notebook's header; nested settings (e.g. the DARTS training config) get one row per field
    (``darts.epochs``), so no value is a long repr. A :class:`~.presets.SpecSeeds` shows its spec's
    fields (its seeds in place of the spec's ``seed``) and then how the preset runs them."""
    from .presets import SpecSeeds

    rows = []

    def add(obj: Any, prefix: str, skip: tuple[str, ...] = ()) -> None:
        for name in _field_names(obj) or []:
            value = getattr(obj, name)
            if name in skip:
                continue
            if _field_names(value) is not None and not isinstance(value, type):
                add(value, f"{prefix}{name}.")
            else:
                rows.append({"setting": prefix + name, "value": _setting_text(value)})

    if isinstance(settings, SpecSeeds):
        rows.append({"setting": "kind", "value": settings.spec.KIND})
        add(settings.spec, "", skip=("seed",))
        add(settings, "", skip=("spec",))
    else:
        add(settings, "")
    return pd.DataFrame(rows)


def pending_markdown(pending: Sequence[Pending], title: str = "Not yet computed") -> str:
    """Markdown listing ``pending`` results and their commands (a one-liner when nothing is pending)."""
    if not pending:
        return "Everything in this notebook was computed (or read from result records) for this preset."
    return (f"**{title}** (the tables show \"{NOT_COMPUTED}\" or \"{NOT_TRAINED}\" for these; run the commands, "
            "then run this notebook again with the same `results_dir`):\n\n"
            + "\n".join(p.to_markdown() for p in pending))


def show_pending(pending: Sequence[Pending], title: str = "Not yet computed") -> None:
    """Display :func:`pending_markdown` in a notebook."""
    from IPython.display import Markdown, display as show

    show(Markdown(pending_markdown(pending, title)))
