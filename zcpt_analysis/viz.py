"""Plotly figures of the toolkit: pure info first (``*_info`` functions return plain dicts or
DataFrames that tests assert on), drawing second (``*_figure`` / ``*_svg`` functions).

* Cell diagrams (DARTS genotypes, supernet cells during discretization) live in
  :mod:`zcpt_analysis.cell_diagrams` and are re-exported here: :func:`cell_svg`,
  :func:`genotype_svg`, :func:`cell_figure`, :func:`supernet_cell_info`, :func:`supernet_cell_figure`.
* Operation scores on one edge next to the oracle scores: :func:`edge_scores_info`,
  :func:`edge_scores_figure` (bars from a stated baseline, :func:`bar_baseline`).
* Heatmaps with numeric labels (Figure 2): :func:`heatmap_info`, :func:`heatmap_figure`.
* Test errors measured vs paper (Tables 1-6, A1): :func:`error_bars_info`, :func:`error_bars_figure`.
* Figure A1 lines: :func:`lines_figure`; Figure 3: :func:`score_accuracy_figure`,
  :func:`distribution_figure`.

:func:`show` makes figures render both in JupyterLab (plotly mime type) and in the HTML reports
without network access (:func:`figure_bundle`; the report pages load plotly.js from their folder).
"""
from __future__ import annotations

import math
from typing import Any

from .cell_diagrams import (CELL_HEIGHT, CURRENT_HALO, LABEL_ALL_EDGES_UP_TO, LABEL_SPOTS,  # noqa: F401 (re-exported)
                            NB201_OP_COLORS, OKABE_ITO, OP_COLORS, OP_STYLES, OPEN_COLOR, PRUNED_COLOR, SHORT_OP_NAMES,
                            cell_diagram_info, cell_figure, display_edge_name, node_label, op_dash,
                            cell_svg, genotype_svg, op_color, place_edge_labels, place_labels, supernet_cell_figure,
                            supernet_cell_info)



# ============================================================================= notebook rendering
FIGURE_CONFIG: dict[str, Any] = {
    "responsive": True, "displaylogo": False, "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
    "toImageButtonOptions": {"format": "svg"},
}
"""The plotly.js config of every figure the toolkit shows: no cloud upload ("Share chart" / Chart
Studio) buttons or links, and the toolbar camera saves SVG; print-quality files with a caption come
from :func:`zcpt_analysis.figure_export.save_figure`."""


def figure_bundle(fig: Any, height: int | None = None) -> dict[str, Any]:
    """The MIME bundle of a figure: plotly's JSON (rendered by JupyterLab's plotly extension) and
    HTML without plotly.js or MathJax (rendered in the HTML reports, whose pages load plotly.js once
    from their folder: :func:`zcpt_analysis.reports.render_html`)."""
    import json

    from plotly.io import to_html, to_json

    fig_dict = json.loads(to_json(fig, validate=False))
    config = dict(FIGURE_CONFIG)
    layout_height = fig_dict.get("layout", {}).get("height")
    return {"application/vnd.plotly.v1+json": {"data": fig_dict.get("data", []), "layout": fig_dict.get("layout", {}),
                                               "config": config},
            "text/html": to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False, validate=False,
                                 default_width="100%", default_height=height or layout_height or 480, config=config)}


def show(fig: Any, height: int | None = None) -> None:
    """Display a plotly figure in a notebook (JupyterLab and offline HTML export; see
    :func:`figure_bundle`). Unlike ``fig.show()`` it does not load plotly's renderer machinery,
    which imports nbformat and jsonschema (seconds per kernel)."""
    from IPython.display import display

    display(figure_bundle(fig, height), raw=True)


# ============================================================================= scores on one edge
def edge_scores_info(scores: dict[str, dict[str, float]], directions: dict[str, bool],
                     chosen: str | None = None) -> "Any":
    """Scores of the candidate ops of one edge under several methods, as a tidy DataFrame.

    ``scores``: ``{method: {op: score}}``; ``directions``: ``{method: higher_is_better}``;
    ``chosen``: the op the search kept. Columns ``method, op, score, higher_is_better, best,
    chosen``; ``best`` marks each method's preferred op (arg max, or arg min for lower-is-better
    scores such as zc-pt's S(A - (e, o)); NaN ignored).
    """
    import pandas as pd

    rows = []
    for method, per_op in scores.items():
        if method not in directions:
            raise KeyError(f"no direction (higher_is_better) given for method {method!r}")
        hib = bool(directions[method])
        valid = {o: v for o, v in per_op.items() if v is not None and not math.isnan(float(v))}
        best = (max(valid, key=valid.__getitem__) if hib else min(valid, key=valid.__getitem__)) if valid else None
        for op, value in per_op.items():
            rows.append({"method": method, "op": op, "score": float("nan") if value is None else float(value),
                         "higher_is_better": hib, "best": op == best, "chosen": op == chosen})
    return pd.DataFrame(rows, columns=["method", "op", "score", "higher_is_better", "best", "chosen"])


def bar_baseline(values: Any) -> float:
    """Where bars of ``values`` start: 0 when the values are far from it (or straddle it), else a
    round number just below the smallest value (accuracies of 93-95 % would otherwise all look
    alike). The figures state it on the axis."""
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v)) and not math.isinf(float(v))]
    if not finite:
        return 0.0
    lo, hi = min(finite), max(finite)
    if lo <= 0 <= hi or (lo > 0 and lo < 0.5 * hi) or (hi < 0 and hi > 0.5 * lo):
        return 0.0
    spread = (hi - lo) or abs(hi) * 0.01 or 1.0
    step = 10 ** math.floor(math.log10(spread))
    return math.floor((lo - 0.3 * spread) / step) * step


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def distinct_labels(values: Any, min_decimals: int = 2, max_decimals: int = 10) -> list[str]:
    """Labels of ``values`` that tell distinct values apart: the fewest decimals (at least
    ``min_decimals``) at which no two distinct finite values print alike, with one SI suffix for
    the whole set when the largest magnitude is 10,000 or more (``209.841M``, as plotly's axis
    writes ``209.84M``), in scientific notation when every magnitude is below 0.001; NaN as "n/a",
    infinities as "inf" / "-inf"."""
    floats = [float("nan") if v is None else float(v) for v in values]
    finite = [v for v in floats if math.isfinite(v)]
    biggest = max((abs(v) for v in finite), default=0.0)
    scale, suffix = next(((f, u) for f, u in _SI if biggest >= f), (1.0, "")) if biggest >= 1e4 else (1.0, "")
    distinct = sorted(set(finite))

    tiny = 0 < biggest < 1e-3  # scientific notation, with the mantissa digits that differ

    def text(v: float, d: int) -> str:
        if tiny:
            return f"{v:.{d - min_decimals + 1}e}"
        out = f"{v / scale:.{d}f}"
        return (out[1:] if out.startswith("-") and float(out) == 0 else out) + suffix

    decimals = min_decimals
    while decimals < max_decimals and len({text(v, decimals) for v in distinct}) < len(distinct):
        decimals += 1
    return ["n/a" if v != v else ("inf" if v > 0 else "-inf") if math.isinf(v) else text(v, decimals) for v in floats]


def axis_number(value: float) -> str:
    """A round number as an axis writes it: ``93.9``, ``3.4M`` (SI suffix from 10,000 on)."""
    scale, suffix = next(((f, u) for f, u in _SI if abs(value) >= f), (1.0, "")) if abs(value) >= 1e4 else (1.0, "")
    return f"{value / scale:g}{suffix}"


def value_range(values: Any, base: float = 0.0, pad: float = 0.18) -> list[float]:
    """A y-axis range for bars from ``base`` to ``values``: it always holds ``base`` and every
    finite value, negative ones included, with ``pad`` (a fraction of the span) of room for the
    labels on the side(s) the bars grow to."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    lo, hi = min(finite + [base]), max(finite + [base])
    span = (hi - lo) or max(abs(base), 1.0)
    return [lo - (pad * span if lo < base else 0.0), hi + (pad * span if hi > base or lo == hi else 0.0)]


def edge_scores_figure(info: "Any", title: str | None = None, height: int = 420):
    """One bar chart per method (side by side) of :func:`edge_scores_info`; every bar in its op's
    colour (:func:`~zcpt_analysis.cell_diagrams.op_color`, as in the cell diagrams), each method's
    preferred op marked ★ on the axis, the op the search chose outlined in black; the ops drawn
    dashed in the diagrams (5x5 / 1x1 variants) are hatched, so two ops never look alike. Bars start at a
    baseline stated in each panel's title (:func:`bar_baseline`: 0, or just below the smallest score
    when the scores are close together, e.g. accuracies); the axis holds every value, negative ones
    included (:func:`value_range`), and labels tell distinct values apart (:func:`distinct_labels`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    methods = list(dict.fromkeys(info["method"]))
    bases = {m: bar_baseline(info[info["method"] == m]["score"].to_numpy(dtype=float)) for m in methods}
    titles = [f"<b>{m}</b><br><span style='font-size:10px'>"
              f"{'higher' if info[info['method'] == m]['higher_is_better'].iloc[0] else 'lower'} = stronger; "
              f"bars from {axis_number(bases[m])}</span>" for m in methods]
    fig = make_subplots(rows=1, cols=max(len(methods), 1), subplot_titles=titles, horizontal_spacing=0.08)
    for k, m in enumerate(methods):
        sub = info[info["method"] == m]
        lines = ["#000000" if c else "rgba(0,0,0,0)" for c in sub["chosen"]]
        values = sub["score"].to_numpy(dtype=float)
        base = bases[m]
        fig.add_trace(go.Bar(x=list(sub["op"]), y=values - base, base=base, customdata=values,
                             marker=dict(color=[op_color(o) for o in sub["op"]], line=dict(color=lines, width=3),
                                         # the dashed ops of the drawings (5x5, 1x1 variants) hatched
                                         pattern=dict(shape=["/" if op_dash(o) != "solid" else "" for o in sub["op"]],
                                                      fgcolor="white", size=6, solidity=0.3)),
                             text=distinct_labels(values), textposition="outside", textangle=0, constraintext="none",
                             textfont=dict(size=9), cliponaxis=False, showlegend=False,
                             hovertemplate="%{x}: %{customdata:.6g}<extra>" + m + "</extra>"), row=1, col=k + 1)
        fig.update_yaxes(range=value_range(values, base), row=1, col=k + 1)
        ticks = [("★ " if b else "") + o for o, b in zip(sub["op"], sub["best"])]
        fig.update_xaxes(tickvals=list(sub["op"]), ticktext=ticks, row=1, col=k + 1)
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=height,
                      margin=dict(l=10, r=10, t=118 if title else 60, b=10), plot_bgcolor="white")
    fig.update_annotations(font_size=12)  # the panel titles
    fig.update_xaxes(tickangle=-35, tickfont=dict(size=10))
    return fig


# ============================================================================= heatmaps
def heatmap_info(matrix: "Any", decimals: int = 2) -> dict[str, Any]:
    """Rows, columns, values and numeric labels of a matrix (a DataFrame), NaN labelled "n/a"."""
    rows = [str(i) for i in matrix.index]
    cols = [str(c) for c in matrix.columns]
    z = [[None if v != v else float(v) for v in row] for row in matrix.to_numpy(dtype=float)]
    text = [["n/a" if v is None else f"{v:.{decimals}f}" for v in row] for row in z]
    return {"x": cols, "y": rows, "z": z, "text": text}


def heatmap_figure(matrix: "Any", title: str | None = None, zmin: float = -1.0, zmax: float = 1.0,
                   decimals: int = 2, colorscale: str = "RdBu"):
    """A heatmap of ``matrix`` with every cell labelled with its value (Figure 2 style)."""
    import plotly.graph_objects as go

    info = heatmap_info(matrix, decimals)
    fig = go.Figure(go.Heatmap(x=info["x"], y=info["y"], z=info["z"], text=info["text"], texttemplate="%{text}",
                               zmin=zmin, zmax=zmax, colorscale=colorscale, reversescale=False,
                               hovertemplate="%{y} vs %{x}: %{text}<extra></extra>"))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed"), height=120 + 50 * len(info["y"]),
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10))
    return fig


# ============================================================================= measured vs paper
def error_bars_info(rows: Any) -> "Any":
    """A tidy table for :func:`error_bars_figure` from rows ``{"label", "group", "source", "mean",
    "std"}`` (``source`` is ``"measured"``, ``"paper"`` (this paper) or the name of the publication
    a reference value comes from, e.g. ``"NAS-Bench-Suite-Zero"``: the legend shows it; ``std``
    may be None). Rows with a missing mean (not computed) are kept with NaN so the figure can say so."""
    import pandas as pd

    df = pd.DataFrame(list(rows), columns=["label", "group", "source", "mean", "std"])
    df["mean"] = pd.to_numeric(df["mean"], errors="coerce")
    df["std"] = pd.to_numeric(df["std"], errors="coerce")
    bad = sorted({repr(v) for v in df["source"] if not isinstance(v, str) or not v})
    if bad:
        raise ValueError(f"source must be 'measured', 'paper' or a publication's name, got {bad}")
    return df


SOURCE_COLORS: tuple[str, ...] = ("#E69F00", "#CC79A7", "#009E73", "#D55E00", "#56B4E9")
"""Colours of the published sources in :func:`error_bars_figure` (measured values are blue)."""


def error_bars_figure(info: "Any", title: str | None = None, yaxis_title: str = "test error [%]",
                      log_y: bool = False):
    """Grouped bars (measured vs each published source, named in the legend) with ±std error bars
    from 0, one full-width panel per ``group`` (dataset), stacked; each value is written beyond its
    error bar (above positive bars, below negative ones; missing ones "not yet computed" at the
    base), so labels neither overlap each other nor the whiskers; the axis holds every value."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown: set[str] = set()

    groups = list(dict.fromkeys(info["group"]))
    rows = max(len(groups), 1)
    fig = make_subplots(rows=rows, cols=1, subplot_titles=[str(g) for g in groups], vertical_spacing=0.5 / rows)
    published = [s for s in dict.fromkeys(info["source"]) if s != "measured"]
    colors = {"measured": "#0072B2", **{s: SOURCE_COLORS[k % len(SOURCE_COLORS)] for k, s in enumerate(published)}}
    names = {"measured": "measured", "paper": "paper (Zero-Cost-PT)",
             **{s: f"published: {s}" for s in published if s != "paper"}}
    for k, g in enumerate(groups):
        sub = info[info["group"] == g]
        ends: list[float] = []
        for source in colors:
            part = sub[sub["source"] == source]
            if part.empty:
                continue
            group = "measured" if source == "measured" else "published"  # one slot per x for all published
            means = part["mean"].to_numpy(dtype=float)
            std = part["std"].fillna(0.0).to_numpy(dtype=float) * (means == means)  # no whisker without a mean
            counts = all(v == int(v) for v in means if v == v)  # ranks, counts
            text = ["not yet computed" if v != v else f"{v:,.0f}" if counts else t
                    for v, t in zip(means, distinct_labels(means))]
            fig.add_trace(go.Bar(x=list(part["label"]), y=part["mean"].fillna(0.0), name=names[source], offsetgroup=group,
                                 legendgroup=source, showlegend=source not in shown, marker_color=colors[source],
                                 error_y=dict(type="data", array=std, visible=True, color="#444", thickness=1.2),
                                 text=text, textposition="none",
                                 hovertemplate="%{x}: %{text}<extra>" + names[source] + "</extra>"), row=k + 1, col=1)
            shown.add(source)
            floor = 1.0 if log_y else 0.0
            # each label beyond its whisker: above positive bars, below negative ones
            spots = [floor if v != v else v + e if v >= 0 else v - e for v, e in zip(means, std)]
            ends += spots
            fig.add_trace(go.Scatter(x=list(part["label"]), y=spots, mode="text", text=text,
                                     textposition=["bottom center" if y < 0 else "top center" for y in spots],
                                     textfont=dict(size=10, color=colors[source]), offsetgroup=group,
                                     legendgroup=source, showlegend=False, hoverinfo="skip", cliponaxis=False),
                          row=k + 1, col=1)
        if log_y:
            fig.update_yaxes(title_text=yaxis_title, row=k + 1, col=1)
        else:  # bars from 0 in either direction, room beyond the ends for the labels
            fig.update_yaxes(title_text=yaxis_title, range=value_range(ends, 0.0, pad=0.2), row=k + 1, col=1)
    height = 110 + 330 * rows
    top = 100 if title else 70  # the title, then the legend (long source names), then the first panel's title
    fig.update_layout(title=dict(text=title, y=1 - 12 / height, yanchor="top"), barmode="group", scattermode="group",
                      height=height, margin=dict(l=10, r=10, t=top, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", yref="container", y=1 - (top - 58) / height, yanchor="top",
                                  x=0, xanchor="left"))
    if log_y:
        fig.update_yaxes(type="log")
    fig.update_xaxes(tickangle=-20)
    return fig


# ============================================================================= lines / scatter / distributions
def lines_figure(data: "Any", x: str, y: str, color: str, title: str | None = None, x_title: str | None = None,
                 y_title: str | None = None, y_range: tuple[float, float] | None = None):
    """One line (with markers) per value of ``color`` (Figure A1: rho vs iteration per method)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in dict.fromkeys(data[color]):
        sub = data[data[color] == name].sort_values(x)
        fig.add_trace(go.Scatter(x=sub[x], y=sub[y], mode="lines+markers", name=str(name)))
    fig.update_layout(title=title, xaxis_title=x_title or x, yaxis_title=y_title or y, height=420,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10), plot_bgcolor="white")
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    fig.update_xaxes(dtick=1)
    return fig


def score_accuracy_figure(points: "Any", x: str = "validation_total", y: str = "accuracy", color: str = "N",
                          title: str | None = None, x_title: str = "validation score (sum over V minibatches)",
                          y_title: str = "CIFAR-10 test accuracy [%]"):
    """Scatter of candidate architectures (Figure 3a): score vs accuracy, one colour per ``color``
    value; ``selected`` points (if the column exists) drawn as stars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = list(dict.fromkeys(points[color]))
    try:  # the largest value first and biggest, so the smaller sets (often subsets) stay visible on top
        names = sorted(names, reverse=True)
    except TypeError:
        pass
    for k, name in enumerate(names):
        sub = points[points[color] == name]
        symbols = ["star" if s else "circle" for s in sub["selected"]] if "selected" in sub else "circle"
        hover = sub["arch"] if "arch" in sub else None
        fig.add_trace(go.Scatter(x=sub[x], y=sub[y], mode="markers", name=f"{color}={name}",
                                 marker=dict(symbol=symbols, size=8 + 5 * (len(names) - 1 - k), opacity=0.75,
                                             line=dict(width=1, color="white")), hovertext=hover))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=430,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10), plot_bgcolor="white")
    return fig


def distribution_figure(data: "Any", x: str, y: str, color: str, title: str | None = None,
                        x_title: str | None = None, y_title: str | None = None):
    """Box plots of ``y`` per ``x``, one box colour per ``color`` value (Figure 3b: accuracy of the
    selected architecture per N, coloured by V); the individual values are shown as points."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in dict.fromkeys(data[color]):
        sub = data[data[color] == name]
        fig.add_trace(go.Box(x=[str(v) for v in sub[x]], y=sub[y], name=f"{color}={name}", boxpoints="all",
                             jitter=0.3, pointpos=0))
    fig.update_layout(title=title, boxmode="group", xaxis_title=x_title or x, yaxis_title=y_title or y, height=430,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10), plot_bgcolor="white")
    return fig
