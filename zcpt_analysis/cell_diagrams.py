"""Cell diagrams: DARTS genotype cells (SVG and plotly) and (partially discretized) supernet cells
(plotly), with edge labels placed where they cover no node and no other label.

* DARTS genotype cells: :func:`cell_diagram_info`, :func:`cell_svg`, :func:`genotype_svg`,
  :func:`cell_figure`. In a notebook show the SVG with ``IPython.display.SVG(cell_svg(g))`` or the
  figure with ``zcpt_analysis.viz.show(cell_figure(g))``. Layout: the two cell inputs ``c_{k-2}``
  (node 0) and ``c_{k-1}`` (node 1) on the left, the intermediate nodes 2..5 (drawn 0..3, as in the
  DARTS paper) left to right, the concatenated output ``c_{k}`` on the right; every edge is
  labelled with its op (``(op, input)`` pairs of the genotype); dashed grey lines join the
  concatenated nodes to the output.
* Supernet cells during discretization (NB201's 4-node, 6-edge DAG; DARTS cells too):
  :func:`supernet_cell_info`, :func:`supernet_cell_figure`.
* Label placement: :func:`place_labels`, :func:`place_edge_labels`.

:mod:`zcpt_analysis.viz` re-exports all of these.
"""
from __future__ import annotations

import html
import math
from typing import Any

from .errors import UnknownNameError
from .spaces.genotypes import CELL_TYPES, GenotypeLike, parse_genotype

OKABE_ITO: dict[str, str] = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
                             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
                             "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
"""The Okabe-Ito palette: eight colours that stay distinct under deuteranopia, protanopia and
tritanopia."""
OP_STYLES: dict[str, tuple[str, str]] = {
    "none": (OKABE_ITO["black"], "dash"), "noise": (OKABE_ITO["yellow"], "dashdot"),
    "max_pool_3x3": (OKABE_ITO["orange"], "solid"), "avg_pool_3x3": (OKABE_ITO["sky blue"], "solid"),
    "skip_connect": (OKABE_ITO["bluish green"], "solid"),
    "sep_conv_3x3": (OKABE_ITO["blue"], "solid"), "sep_conv_5x5": (OKABE_ITO["blue"], "dash"),
    "dil_conv_3x3": (OKABE_ITO["reddish purple"], "solid"), "dil_conv_5x5": (OKABE_ITO["reddish purple"], "dash"),
    "nor_conv_3x3": (OKABE_ITO["vermillion"], "solid"), "nor_conv_1x1": (OKABE_ITO["vermillion"], "dash"),
}
"""Colour and line style of every op (DARTS and NAS-Bench-201): one Okabe-Ito colour per op family
(separable convs blue, dilated convs purple, plain convs vermillion), the 5x5 / 1x1 variant dashed,
so no two ops look alike under colour-vision deficiency; every drawing also writes the op's name.
Colours mean ops only: the edge just decided is marked by a wide grey halo and a bold label,
undecided edges are thin grey dotted lines."""
OP_COLORS: dict[str, str] = {op: color for op, (color, _) in OP_STYLES.items()}
"""The colour of every op (:data:`OP_STYLES`)."""
SVG_DASHES: dict[str, str] = {"solid": "", "dash": "7 4", "dashdot": "7 3 2 3", "dot": "2 3"}


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
    edges = [{"source": str(src), "target": str(2 + i // 2), "op": op, "color": op_color(op), "dash": op_dash(op)}
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


def _svg_label(label: str) -> str:
    """A node label as SVG text: ``c_{k-2}`` with a real subscript."""
    base, sep, sub = label.partition("_")
    if not sep:
        return html.escape(label)
    return (f'{html.escape(base)}<tspan baseline-shift="sub" font-size="9">{html.escape(sub.strip("{}"))}</tspan>')


def cell_svg(genotype: GenotypeLike, cell: str = "normal", scale: float = 110.0, title: bool = True) -> str:
    """A standalone SVG document of one cell (no graphviz needed); edge labels are placed where
    they cover no node and no other label (:func:`place_labels`)."""
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
    r = 0.19 * scale
    for c in info["concat"]:
        (x0, y0), (x1, y1) = px(*pos[c["source"]]), px(*pos[c["target"]])
        parts.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#bbbbbb" '
                     f'stroke-dasharray="4 3"/>')
    curves = []
    for e, bend in zip(info["edges"], _bends(info)):
        (x0, y0), (x1, y1) = px(*pos[e["source"]]), px(*pos[e["target"]])
        cx, cy = _bezier_control(x0, y0, x1, y1, bend * scale)
        # shorten the end so the arrow head stops at the node's circle
        tx, ty = x1 - cx, y1 - cy
        t = math.hypot(tx, ty) or 1.0
        ex, ey = x1 - tx / t * r, y1 - ty / t * r
        parts.append(f'<path d="M {x0:.1f} {y0:.1f} Q {cx:.1f} {cy:.1f} {ex:.1f} {ey:.1f}" fill="none" '
                     f'stroke="{e["color"]}" stroke-width="2" stroke-dasharray="{SVG_DASHES[e["dash"]]}" '
                     'marker-end="url(#arrow)"/>')
        curves.append([((1 - u) ** 2 * x0 + 2 * (1 - u) * u * cx + u ** 2 * ex,
                        (1 - u) ** 2 * y0 + 2 * (1 - u) * u * cy + u ** 2 * ey) for u in LABEL_SPOTS])
    spots = place_labels([(pts, e["op"]) for pts, e in zip(curves, info["edges"])],
                         [(*px(n["x"], n["y"]), r + 1) for n in info["nodes"]], font_size=11)
    for e, (lx, ly) in zip(info["edges"], spots):
        parts.append(f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle" font-size="11" fill="{e["color"]}" '
                     f'stroke="white" stroke-width="3" paint-order="stroke">{html.escape(e["op"])}</text>')
    fills = {"input": "#c8e6c9", "intermediate": "#bbdefb", "output": "#ffe0b2"}
    for n in info["nodes"]:
        x, y = px(n["x"], n["y"])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fills[n["kind"]]}" stroke="#555"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{_svg_label(n["label"])}</text>')
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
                                 showlegend=e["op"] not in seen, line=dict(color=e["color"], width=2, dash=e["dash"]),
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


# ============================================================================= supernet cells
NB201_OP_COLORS: dict[str, str] = {op: OP_COLORS[op] for op in ("nor_conv_1x1", "nor_conv_3x3")}
"""Colours of the NAS-Bench-201 ops that DARTS does not have."""
OPEN_COLOR, PRUNED_COLOR, CURRENT_HALO = "#a0a0a0", "#cfcfcf", "rgba(0, 0, 0, 0.16)"
"""Undecided edges (dotted), edges removed by topology selection (faint, dotted), and the wide
grey halo drawn under the edge just decided (no op colour means "just decided")."""
LABEL_ALL_EDGES_UP_TO = 6
"""Cells with at most this many edges (NAS-Bench-201) label every edge with its op name; larger
ones (DARTS, 14 edges per cell) label the decided edges with short names (:data:`SHORT_OP_NAMES`)
and the edge just decided with its full name; undecided edges stay unlabelled (hover shows them)."""
SHORT_OP_NAMES: dict[str, str] = {"none": "none", "noise": "noise", "max_pool_3x3": "max3", "avg_pool_3x3": "avg3",
                                  "skip_connect": "skip", "sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5",
                                  "dil_conv_3x3": "dil3", "dil_conv_5x5": "dil5", "nor_conv_3x3": "conv3",
                                  "nor_conv_1x1": "conv1"}
"""Short op names for crowded drawings (the legend gives the full names)."""


def op_color(op: str) -> str:
    """The colour of an op (DARTS and NAS-Bench-201 ops; dark grey for others)."""
    return OP_COLORS.get(op, "#333333")


def op_dash(op: str) -> str:
    """The plotly line style of an op (:data:`OP_STYLES`; solid for others)."""
    return OP_STYLES.get(op, ("", "solid"))[1]


def node_label(node: int, darts_like: bool, last: int = 3, html_sub: bool = True) -> str:
    """How every drawing names a cell node. NAS-Bench-201: ``in``, ``1``, ``2``, ``out``; DARTS:
    the inputs ``c_{k-2}`` / ``c_{k-1}`` (nodes 0, 1) and the intermediate nodes 2..5 as 0..3, as
    the DARTS paper (and the genotype drawing) numbers them; ``html_sub``: subscripts as plotly's
    ``<sub>`` (else Unicode, ``cₖ₋₂``)."""
    if darts_like:
        if node < 2:
            return ("c<sub>k-2</sub>", "c<sub>k-1</sub>")[node] if html_sub else ("cₖ₋₂", "cₖ₋₁")[node]
        return str(node - 2)
    return {0: "in", last: "out"}.get(node, str(node))


def display_edge_name(name: str) -> str:
    """A supernet edge name in the nodes' drawn names: NAS-Bench-201 ``"3<-2"`` -> ``"2→out"``;
    DARTS ``"normal:3<-0"`` -> ``"normal cₖ₋₂→1"`` (plain text, Unicode subscripts)."""
    cell, target, source = _parse_edge_name(name)
    darts_like = bool(cell)
    last = 3
    src = node_label(source, darts_like, last, html_sub=False)
    dst = node_label(target, darts_like, last, html_sub=False)
    return f"{cell + ' ' if cell else ''}{src}→{dst}"


def _parse_edge_name(name: str) -> tuple[str, int, int]:
    """``"2<-1"`` -> ("", 2, 1); ``"normal:3<-0"`` -> ("normal", 3, 0)."""
    cell, _, edge = name.rpartition(":")
    target, sep, source = edge.partition("<-")
    if not sep:
        raise UnknownNameError("edge name (expected 'i<-j' or 'cell:i<-j')", name, ("1<-0", "normal:2<-0"))
    return cell, int(target), int(source)


CELL_HEIGHT = 2.6
"""Vertical distance between two stacked cells of :func:`supernet_cell_info` (abstract units)."""


def _node_position(k: int, ids: list[int], darts_like: bool, y0: float) -> tuple[float, float]:
    """Node positions where no straight edge passes over (or next to) a node it does not join.

    NAS-Bench-201 (4 nodes): ``in`` and ``out`` at the ends of a base line, node 1 above its middle
    and node 2 between them, so every edge is drawn without a crossing and the edge ``in -> out``
    runs far below node 2. DARTS: an arch from the two inputs (left) over the intermediate nodes to
    the last one (right): nodes in convex position, so no edge passes over another node."""
    if not darts_like:
        first, last = ids[0], ids[-1]
        if k in (first, last):
            return float(k - first) * 3.0 / max(last - first, 1), y0 - 0.7
        inner = [i for i in ids if i not in (first, last)]
        j = inner.index(k)
        return 1.5, y0 - 0.7 + 1.6 * (len(inner) - j) / len(inner)
    span = max(ids[-1], 1) / 2
    u = (k - span) / span
    return float(k), y0 - 0.8 + 1.6 * (1 - u * u)


def supernet_cell_info(edge_names: Any, chosen: Any, current: int | None = None,
                       pruned: Any = None, num_candidates: Any = None) -> dict[str, Any]:
    """Nodes and edges of a (partially discretized) supernet cell, for a diagram.

    ``edge_names``: the supernet's edge names (NAS-Bench-201 ``"i<-j"``; DARTS ``"normal:i<-j"``);
    ``chosen``: the chosen op per edge (None = not discretized); ``current``: index of the edge being
    (or just) decided, highlighted whether or not it is discretized yet; ``pruned``: per edge
    whether topology selection removed it; ``num_candidates``: remaining ops per undiscretized edge
    (for the label).

    Returns ``{"cells": [..], "nodes": [{"id", "cell", "node", "label", "x", "y"}], "edges":
    [{"index", "name", "display_name", "cell", "source", "target", "state", "op", "label", "color", "dash"}]}``
    (``display_name``: :func:`display_edge_name`); ``state`` is
    ``discretized``, ``current``, ``open`` or ``pruned``; ``color`` is the op's colour for decided
    edges (:func:`op_color`, line style :func:`op_dash`). Node ids are ``"<cell>:<node>"``; node labels
    are :func:`node_label` as plotly text; cells are stacked vertically (normal above reduce).
    """
    names = list(edge_names)
    chosen = list(chosen)
    if len(chosen) != len(names):
        raise ValueError(f"expected one chosen op (or None) per edge ({len(names)}), got {len(chosen)}")
    pruned = list(pruned) if pruned is not None else [False] * len(names)
    counts = list(num_candidates) if num_candidates is not None else [None] * len(names)
    parsed = [_parse_edge_name(n) for n in names]
    cells = list(dict.fromkeys(c for c, _, _ in parsed))
    nodes, edges = [], []
    for ci, cell in enumerate(cells):
        ids = sorted({t for c, t, _ in parsed if c == cell} | {s for c, _, s in parsed if c == cell})
        darts_like = bool(cell)  # DARTS cells have two input nodes (0, 1)
        for k in ids:
            label = node_label(k, darts_like, ids[-1])
            x, y = _node_position(k, ids, darts_like, -CELL_HEIGHT * ci)
            nodes.append({"id": f"{cell}:{k}", "cell": cell, "node": k, "label": label, "x": x, "y": y})
    for i, ((cell, target, source), name) in enumerate(zip(parsed, names)):
        op = chosen[i]
        if pruned[i]:
            state, label, color = "pruned", "pruned", PRUNED_COLOR
        else:
            state = "current" if current is not None and i == current else "discretized" if op is not None else "open"
            if op is not None:
                label, color = op, op_color(op)
            else:
                label, color = ("mixed" if counts[i] is None else f"mixed ({counts[i]} ops)"), OPEN_COLOR
        edges.append({"index": i, "name": name, "display_name": display_edge_name(name), "cell": cell,
                      "source": f"{cell}:{source}", "target": f"{cell}:{target}", "state": state, "op": op,
                      "label": label, "color": color, "dash": op_dash(op) if op is not None and state != "pruned" else "dot"})
    return {"cells": cells, "nodes": nodes, "edges": edges}


def _boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _box_hits_circle(box: tuple[float, float, float, float], cx: float, cy: float, r: float) -> bool:
    nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
    return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r


LABEL_SPOTS: tuple[float, ...] = (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75)
"""Where along an edge (0 = source, 1 = target) a label may go, in order of preference."""


def place_labels(candidates: list[tuple[list[tuple[float, float]], str]], circles: list[tuple[float, float, float]],
                 font_size: float = 11.0) -> list[tuple[float, float]]:
    """Where to write each label (pixel coordinates) so that no label covers a node or an earlier
    label: the first free one of its candidate points (e.g. :data:`LABEL_SPOTS` along its edge), the
    first candidate if none is free. ``candidates``: ``(points, text)`` per label; ``circles``:
    nodes as ``(x, y, radius)``."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for points, text in candidates:
        w, h = 0.62 * font_size * len(text) + 6, font_size + 5
        boxes = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y in points]
        free = [k for k, box in enumerate(boxes)
                if not any(_box_hits_circle(box, *c) for c in circles) and not any(_boxes_overlap(box, b) for b in placed)]
        k = free[0] if free else 0
        placed.append(boxes[k])
        out.append(points[k])
    return out


def place_edge_labels(segments: list[tuple[tuple[float, float], tuple[float, float], str]],
                      circles: list[tuple[float, float, float]], font_size: float = 11.0) -> list[tuple[float, float]]:
    """:func:`place_labels` for labels of straight edges ``((x0, y0), (x1, y1), text)``: at
    :data:`LABEL_SPOTS` along each edge."""
    return place_labels([([(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in LABEL_SPOTS], text)
                         for (x0, y0), (x1, y1), text in segments], circles, font_size)


def supernet_cell_figure(info: dict[str, Any], title: str | None = None, width: int | None = None,
                         unit_px: float | None = None):
    """Plotly diagram of :func:`supernet_cell_info` (straight edges between nodes in convex
    position): decided edges in their op's colour and line style (:data:`OP_STYLES`), the edge
    just decided thick with a wide grey halo and a bold label, undecided edges grey and dotted
    ("mixed"), edges removed by topology selection faint and dotted. Small cells (NAS-Bench-201)
    write every edge's op on it; DARTS cells write the decided edges' short op names
    (:data:`SHORT_OP_NAMES`) and the just-decided edge's full name (hover shows every edge).
    ``width`` (pixels) and ``unit_px`` (pixels per layout unit, vertically) size the drawing."""
    import plotly.graph_objects as go

    pos = {n["id"]: (n["x"], n["y"]) for n in info["nodes"]}
    darts_like = any(info["cells"])
    per_cell = max((sum(e["cell"] == c for e in info["edges"]) for c in info["cells"]), default=0)
    label_all = per_cell <= LABEL_ALL_EDGES_UP_TO
    # fixed pixel geometry, so that labels can be placed without overlaps
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    x_range = (min(xs) - 0.45, max(xs) + 0.45)
    y_range = (min(ys) - 0.45, max(ys) + (0.7 if darts_like else 0.35))
    margin = dict(l=10, r=10, t=60 if title else 20, b=10)
    width = width or (760 if darts_like else 640)
    height = int((y_range[1] - y_range[0]) * (unit_px or (120 if darts_like else 125))) + margin["t"] + margin["b"] + 40
    sx = (width - margin["l"] - margin["r"]) / (x_range[1] - x_range[0])
    sy = (height - margin["t"] - margin["b"] - 40) / (y_range[1] - y_range[0])

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x - x_range[0]) * sx, (y_range[1] - y) * sy

    radius = 20 if darts_like else 16
    fig = go.Figure()
    shown: set[str] = set()
    order = sorted(info["edges"], key=lambda e: {"pruned": 0, "open": 1, "discretized": 2, "current": 3}[e["state"]])
    for e in order:
        (x0, y0), (x1, y1) = pos[e["source"]], pos[e["target"]]
        if e["state"] == "current":
            fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", line=dict(color=CURRENT_HALO, width=14),
                                     name="just decided", legendgroup="current", showlegend=True, hoverinfo="skip"))
        group = e["op"] if e["state"] in ("discretized", "current") else e["state"]
        legend = {"open": "undecided (mixed ops)", "pruned": "pruned (topology selection)"}.get(group, group)
        width_px = {"current": 5, "discretized": 3.5, "open": 2, "pruned": 1.5}[e["state"]]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines",
                                 line=dict(color=e["color"], width=width_px, dash=e["dash"]),
                                 name=legend, legendgroup=group, showlegend=group not in shown,
                                 meta=e["state"], hovertext=f'edge {e["display_name"]}: {e["label"]}', hoverinfo="text"))
        shown.add(group)
        if e["state"] != "pruned":  # arrow head at the target, stopping at its circle
            fig.add_annotation(x=x1, y=y1, ax=x0 + 0.8 * (x1 - x0), ay=y0 + 0.8 * (y1 - y0), xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.1, arrowwidth=1.5,
                               arrowcolor=e["color"], standoff=radius, text="")
    # the edge just decided is placed first (it gets the best spot), then the decided ones
    labelled = sorted((e for e in order if label_all or e["state"] in ("current", "discretized")),
                      key=lambda e: e["state"] != "current")
    texts = [e["label"] if label_all or e["state"] == "current" else SHORT_OP_NAMES.get(e["op"], e["label"])
             for e in labelled]
    spots = place_edge_labels([(to_px(*pos[e["source"]]), to_px(*pos[e["target"]]), t) for e, t in zip(labelled, texts)],
                              [(*to_px(n["x"], n["y"]), radius + 2) for n in info["nodes"]],
                              font_size=11 if label_all else 10)
    for e, label, (px, py) in zip(labelled, texts, spots):
        text = f"<b>{html.escape(label)}</b>" if e["state"] == "current" else html.escape(label)
        fig.add_annotation(x=x_range[0] + px / sx, y=y_range[1] - py / sy, text=text, showarrow=False,
                           font=dict(color=e["color"] if e["state"] != "open" else "#707070",
                                     size=11 if label_all or e["state"] == "current" else 10),
                           bgcolor="rgba(255,255,255,0.9)")
    fig.add_trace(go.Scatter(x=[n["x"] for n in info["nodes"]], y=[n["y"] for n in info["nodes"]],
                             mode="markers+text", text=[n["label"] for n in info["nodes"]], showlegend=False,
                             textfont=dict(size=12), marker=dict(size=2 * radius, color="#e3f2fd",
                                                                 line=dict(color="#555", width=1)),
                             hovertext=[f"node {n['label']}" for n in info["nodes"]], hoverinfo="text"))
    for ci, cell in enumerate(info["cells"]):
        if cell:
            fig.add_annotation(x=x_range[0] + 0.05, y=-CELL_HEIGHT * ci + 1.2, xanchor="left", showarrow=False,
                               text=f"<b>{cell} cell</b>   inputs c<sub>k-2</sub>, c<sub>k-1</sub>; intermediate "
                                    "nodes 0-3 (as in the genotype drawing)", font=dict(size=12))
    fig.update_layout(title=title, width=width, height=height, plot_bgcolor="white", margin=margin,
                      xaxis=dict(visible=False, range=list(x_range), fixedrange=True),
                      yaxis=dict(visible=False, range=list(y_range), fixedrange=True),
                      legend=dict(orientation="h", y=-0.02, yanchor="top", x=0, font=dict(size=11)),
                      hovermode="closest")
    return fig
