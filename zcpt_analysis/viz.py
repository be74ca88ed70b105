"""Cell diagrams of DARTS genotypes: a plain data description, a graphviz-free SVG and a plotly figure.

Pure info first (:func:`cell_diagram_info`: node positions and labelled edges), drawing second
(:func:`cell_svg`, :func:`genotype_svg`, :func:`cell_figure`). In a notebook show the SVG with
``IPython.display.SVG(cell_svg(g))`` or the figure with ``cell_figure(g).show()``.

Layout: the two cell inputs ``c_{k-2}`` (node 0) and ``c_{k-1}`` (node 1) on the left, the
intermediate nodes 2..5 left to right, the concatenated output ``c_{k}`` on the right; every edge is
labelled with its op (``(op, input)`` pairs of the genotype); dashed grey lines join the
concatenated nodes to the output.
"""
from __future__ import annotations

import html
import math
from typing import Any

from .errors import UnknownNameError
from .spaces.genotypes import CELL_TYPES, GenotypeLike, parse_genotype

OP_COLORS: dict[str, str] = {
    "none": "#9e9e9e", "noise": "#8d6e63", "max_pool_3x3": "#1f77b4", "avg_pool_3x3": "#17becf",
    "skip_connect": "#2ca02c", "sep_conv_3x3": "#d62728", "sep_conv_5x5": "#ff7f0e",
    "dil_conv_3x3": "#9467bd", "dil_conv_5x5": "#e377c2",
}
"""One colour per DARTS op (edges and labels)."""


def cell_diagram_info(genotype: GenotypeLike, cell: str = "normal") -> dict[str, Any]:
    """Nodes and edges of one cell of ``genotype``.

    Returns ``{"cell", "nodes": [{"id", "label", "kind", "x", "y"}], "edges": [{"source", "target",
    "op", "color"}], "concat": [{"source", "target"}]}``; node ids are ``"0"``, ``"1"`` (inputs),
    ``"2"``.. (intermediate) and ``"out"``; coordinates are in abstract units (x to the right, y up).
    """
    g = parse_genotype(genotype)
    if cell not in CELL_TYPES:
        raise UnknownNameError("cell type", cell, CELL_TYPES)
    steps = g.steps
    nodes = [{"id": "0", "label": "c_{k-2}", "kind": "input", "x": 0.0, "y": 1.0},
             {"id": "1", "label": "c_{k-1}", "kind": "input", "x": 0.0, "y": -1.0}]
    for k in range(steps):
        nodes.append({"id": str(k + 2), "label": str(k), "kind": "intermediate", "x": 1.0 + k,
                      "y": 0.7 if k % 2 == 0 else -0.7})
    nodes.append({"id": "out", "label": "c_{k}", "kind": "output", "x": float(steps + 1), "y": 0.0})
    edges = [{"source": str(src), "target": str(2 + i // 2), "op": op, "color": OP_COLORS.get(op, "#333333")}
             for i, (op, src) in enumerate(g.cell(cell))]
    concat = [{"source": str(c), "target": "out"} for c in g.concat(cell)]
    return {"cell": cell, "nodes": nodes, "edges": edges, "concat": concat}


def _bezier_control(x0: float, y0: float, x1: float, y1: float, bend: float) -> tuple[float, float]:
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    return mx - dy / length * bend, my + dx / length * bend


def _bends(info: dict[str, Any]) -> list[float]:
    """Curvature per edge: longer edges bend more, so they pass beside the nodes they skip."""
    pos = {n["id"]: (n["x"], n["y"]) for n in info["nodes"]}
    out = []
    for k, e in enumerate(info["edges"]):
        (x0, _), (x1, _) = pos[e["source"]], pos[e["target"]]
        span = abs(x1 - x0)
        out.append(0.0 if span <= 1.0 else (0.35 * (span - 1.0) + 0.2) * (1 if k % 2 == 0 else -1))
    return out


def cell_svg(genotype: GenotypeLike, cell: str = "normal", scale: float = 110.0, title: bool = True) -> str:
    """A standalone SVG document of one cell (no graphviz needed)."""
    info = cell_diagram_info(genotype, cell)
    pos = {n["id"]: (n["x"], n["y"]) for n in info["nodes"]}
    xs = [p[0] for p in pos.values()]
    margin = 0.7
    width = (max(xs) - min(xs) + 2 * margin) * scale
    height = (2.0 + 2 * margin + 0.6) * scale

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - min(xs) + margin) * scale, (1.0 + margin + 0.3 - y) * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    if title:
        parts.append(f'<text x="8" y="16" font-weight="bold">{html.escape(cell)} cell</text>')
    r = 0.17 * scale
    for c in info["concat"]:
        (x0, y0), (x1, y1) = px(*pos[c["source"]]), px(*pos[c["target"]])
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#bbbbbb" '
                     f'stroke-dasharray="4 3"/>')
    for e, bend in zip(info["edges"], _bends(info)):
        (x0, y0), (x1, y1) = px(*pos[e["source"]]), px(*pos[e["target"]])
        cx, cy = _bezier_control(x0, y0, x1, y1, bend * scale)
        # shorten the end so the arrow head stops at the node's circle
        tx, ty = x1 - cx, y1 - cy
        t = math.hypot(tx, ty) or 1.0
        ex, ey = x1 - tx / t * r, y1 - ty / t * r
        parts.append(f'<path d="M {x0:.1f} {y0:.1f} Q {cx:.1f} {cy:.1f} {ex:.1f} {ey:.1f}" fill="none" '
                     f'stroke="{e["color"]}" stroke-width="2" marker-end="url(#arrow)"/>')
        lx, ly = 0.25 * x0 + 0.5 * cx + 0.25 * ex, 0.25 * y0 + 0.5 * cy + 0.25 * ey
        parts.append(f'<text x="{lx:.1f}" y="{ly - 3:.1f}" text-anchor="middle" fill="{e["color"]}" '
                     f'stroke="white" stroke-width="3" paint-order="stroke">{html.escape(e["op"])}</text>')
    fills = {"input": "#c8e6c9", "intermediate": "#bbdefb", "output": "#ffe0b2"}
    for n in info["nodes"]:
        x, y = px(n["x"], n["y"])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fills[n["kind"]]}" stroke="#555"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{html.escape(n["label"])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def genotype_svg(genotype: GenotypeLike, scale: float = 110.0) -> str:
    """Both cells of ``genotype`` stacked in one SVG document (normal on top)."""
    docs = [cell_svg(genotype, c, scale) for c in CELL_TYPES]
    heights = [float(d.split('height="')[1].split('"')[0]) for d in docs]
    widths = [float(d.split('width="')[1].split('"')[0]) for d in docs]
    inner = []
    y = 0.0
    for doc, h in zip(docs, heights):
        inner.append(f'<g transform="translate(0,{y:.0f})">' + doc.split(">", 1)[1].rsplit("</svg>", 1)[0] + "</g>")
        y += h
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(widths):.0f}" height="{y:.0f}" '
            f'font-family="sans-serif" font-size="12">' + "".join(inner) + "</svg>")


def cell_figure(genotype: GenotypeLike, cell: str = "normal"):
    """A plotly figure of one cell (nodes as markers, edges as curves labelled with their op)."""
    import plotly.graph_objects as go

    info = cell_diagram_info(genotype, cell)
    pos = {n["id"]: (n["x"], n["y"]) for n in info["nodes"]}
    fig = go.Figure()
    for c in info["concat"]:
        (x0, y0), (x1, y1) = pos[c["source"]], pos[c["target"]]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="#bbbbbb", dash="dot")))
    seen: set[str] = set()
    for e, bend in zip(info["edges"], _bends(info)):
        (x0, y0), (x1, y1) = pos[e["source"]], pos[e["target"]]
        cx, cy = _bezier_control(x0, y0, x1, y1, bend)
        ts = [i / 20 for i in range(21)]
        bx = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1 for t in ts]
        by = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1 for t in ts]
        fig.add_trace(go.Scatter(x=bx, y=by, mode="lines", name=e["op"], legendgroup=e["op"],
                                 showlegend=e["op"] not in seen, line=dict(color=e["color"], width=2),
                                 hovertext=f'{e["op"]}: {e["source"]} -> {e["target"]}', hoverinfo="text"))
        seen.add(e["op"])
        fig.add_annotation(x=bx[10], y=by[10], text=e["op"], showarrow=False, font=dict(color=e["color"], size=11),
                           bgcolor="rgba(255,255,255,0.8)")
    fills = {"input": "#c8e6c9", "intermediate": "#bbdefb", "output": "#ffe0b2"}
    fig.add_trace(go.Scatter(x=[n["x"] for n in info["nodes"]], y=[n["y"] for n in info["nodes"]],
                             mode="markers+text", text=[n["label"] for n in info["nodes"]], showlegend=False,
                             marker=dict(size=34, color=[fills[n["kind"]] for n in info["nodes"]],
                                         line=dict(color="#555", width=1)), hoverinfo="text"))
    fig.update_layout(title=f"{cell} cell", xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"),
                      plot_bgcolor="white", margin=dict(l=10, r=10, t=40, b=10), height=320)
    return fig
