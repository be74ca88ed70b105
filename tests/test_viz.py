"""Plotly figures (zcpt_analysis.viz): the pure-info functions, and that the drawings build."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from zcpt_analysis import viz
from zcpt_analysis.errors import UnknownNameError
from zcpt_analysis.spaces.genotypes import GENOTYPES
from zcpt_analysis.spaces.nb201 import EDGES


def test_heatmap_info_and_figure_label_every_cell():
    m = pd.DataFrame([[1.0, -0.25], [float("nan"), 1.0]], index=["a", "b"], columns=["a", "b"])
    info = viz.heatmap_info(m)
    assert info["x"] == ["a", "b"] and info["y"] == ["a", "b"]
    assert info["text"] == [["1.00", "-0.25"], ["n/a", "1.00"]]
    assert info["z"][1][0] is None
    fig = viz.heatmap_figure(m, title="t")
    trace = fig.data[0]
    assert trace.type == "heatmap" and trace.texttemplate == "%{text}" and trace.zmin == -1 and trace.zmax == 1
    assert [list(r) for r in trace.text] == info["text"]


def test_supernet_cell_info_nb201_states_and_layout():
    chosen = ["nor_conv_3x3", None, None, "skip_connect", None, None]
    info = viz.supernet_cell_info(EDGES, chosen, current=3, num_candidates=[1, 5, 5, 1, 5, 5])
    assert [n["id"] for n in info["nodes"]] == [":0", ":1", ":2", ":3"]
    assert [n["label"] for n in info["nodes"]] == ["in", "1", "2", "out"]
    states = [e["state"] for e in info["edges"]]
    assert states == ["discretized", "open", "open", "current", "open", "open"]
    assert info["edges"][0]["label"] == "nor_conv_3x3" and info["edges"][1]["label"] == "mixed (5 ops)"
    assert info["edges"][3]["label"] == "skip_connect"  # the edge just decided shows its op
    assert info["edges"][0]["color"] == viz.op_color("nor_conv_3x3") != viz.OPEN_COLOR == info["edges"][1]["color"]
    assert info["edges"][2]["source"] == ":1" and info["edges"][2]["target"] == ":2"
    # the straight edge in -> out keeps clear of node 2 (it seemed to end there when it passed next to it)
    pos = {n["node"]: (n["x"], n["y"]) for n in info["nodes"]}
    assert pos[0][1] == pos[3][1] and pos[2][1] - pos[0][1] >= 0.5 and pos[1][1] > pos[2][1]
    fig = viz.supernet_cell_figure(info, title="cell")
    lines = [t for t in fig.data if t.mode == "lines"]
    assert {t.meta for t in lines if t.meta} == {"discretized", "open", "current"}
    assert any(t.name == "just decided" for t in lines)  # the halo under the decided edge
    labels = [a.text for a in fig.layout.annotations if a.text]
    assert len(labels) == 6 and "<b>skip_connect</b>" in labels  # every NB201 edge labelled


def test_edge_labels_avoid_nodes_and_each_other():
    # two crossing edges and a node at their crossing: the labels move along their edges
    segments = [((0, 0), (200, 200), "first label"), ((0, 200), (200, 0), "second label")]
    spots = viz.place_edge_labels(segments, [(100, 100, 15)])
    assert spots[0] != (100, 100) and spots[1] != (100, 100) and spots[0] != spots[1]
    for (x, y) in spots:
        assert (x - 100) ** 2 + (y - 100) ** 2 > 15 ** 2


def test_supernet_cell_info_darts_two_cells_and_pruned_edges():
    names = [f"{cell}:{i}<-{j}" for cell in ("normal", "reduce") for i in range(2, 6) for j in range(i)]
    chosen = ["sep_conv_3x3"] * len(names)
    pruned = [k % 3 == 0 for k in range(len(names))]
    info = viz.supernet_cell_info(names, chosen, pruned=pruned, current=1)
    assert info["cells"] == ["normal", "reduce"]
    assert len(info["nodes"]) == 12 and len(info["edges"]) == 28
    assert {n["label"] for n in info["nodes"] if n["node"] < 2} == {"c<sub>k-2</sub>", "c<sub>k-1</sub>"}
    assert [e["state"] == "pruned" for e in info["edges"]] == pruned
    assert [n["label"] for n in info["nodes"]][:6] == ["c<sub>k-2</sub>", "c<sub>k-1</sub>", "0", "1", "2", "3"]
    assert info["edges"][1]["display_name"] == "normal cₖ₋₁→0"  # the nodes as both drawings name them
    fig = viz.supernet_cell_figure(info)
    # 14 edges a cell: the edge just decided in full and bold, every other decided edge by its short name
    edge_labels = [a.text for a in fig.layout.annotations if a.text and "cell</b>" not in a.text]
    kept = sum(not p for p in pruned)
    assert edge_labels[0] == "<b>sep_conv_3x3</b>" and edge_labels[1:] == ["sep3"] * (kept - 1)
    assert {t.name for t in fig.data if t.showlegend} >= {"sep_conv_3x3", "pruned (topology selection)", "just decided"}
    assert fig.layout.height > 500 and fig.layout.width == 760


def test_supernet_cell_info_errors():
    with pytest.raises(ValueError, match="one chosen op"):
        viz.supernet_cell_info(EDGES, [None] * 5)
    with pytest.raises(UnknownNameError, match="edge name"):
        viz.supernet_cell_info(["a-b"], [None])


def test_edge_scores_info_directions_best_and_chosen():
    scores = {"zc-pt": {"a": 3.0, "b": 1.0, "c": float("nan")}, "best-acc": {"a": 94.0, "b": 93.0, "c": 95.0}}
    info = viz.edge_scores_info(scores, {"zc-pt": False, "best-acc": True}, chosen="b")
    best = info[info["best"]].set_index("method")["op"].to_dict()
    assert best == {"zc-pt": "b", "best-acc": "c"}  # lower is better for zc-pt, NaN ignored
    assert info[info["chosen"]]["op"].unique().tolist() == ["b"]
    fig = viz.edge_scores_figure(info, title="edge")
    assert len(fig.data) == 2 and all(t.type == "bar" for t in fig.data)
    with pytest.raises(KeyError, match="direction"):
        viz.edge_scores_info({"x": {"a": 1.0}}, {})


def test_error_bars_info_and_figure():
    info = viz.error_bars_info([
        {"label": "random", "group": "C10", "source": "measured", "mean": 6.1, "std": 0.2},
        {"label": "random", "group": "C10", "source": "paper", "mean": 5.97, "std": 0.17},
        {"label": "fixed", "group": "C10", "source": "measured", "mean": None, "std": None},
    ])
    assert math.isnan(info["mean"].iloc[2])
    fig = viz.error_bars_figure(info, title="t")
    measured = next(t for t in fig.data if t.name == "measured")
    assert list(measured.text) == ["6.10", "not yet computed"]
    assert {t.name for t in fig.data if t.type == "bar"} == {"measured", "paper (Zero-Cost-PT)"}
    # values are written above the whiskers by text traces grouped with their bars (no overlaps)
    labels = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert [list(t.y) for t in labels] == [[6.3, 0.0], [5.97 + 0.17]]
    assert fig.layout.scattermode == "group" and fig.layout.yaxis.range[0] == 0
    with pytest.raises(ValueError, match="publication's name"):
        viz.error_bars_info([{"label": "x", "group": "g", "source": None, "mean": 1, "std": None}])


def test_lines_scatter_and_distribution_figures():
    a1 = pd.DataFrame({"method": ["zc-pt", "zc-pt", "darts", "darts"], "iteration": [0, 1, 0, 1],
                       "rho": [0.7, 0.6, -0.2, 0.1]})
    fig = viz.lines_figure(a1, "iteration", "rho", "method", y_range=(-1, 1))
    assert [t.name for t in fig.data] == ["zc-pt", "darts"] and list(fig.layout.yaxis.range) == [-1, 1]
    pts = pd.DataFrame({"N": [1, 2, 2], "validation_total": [1.0, 2.0, 3.0], "accuracy": [93.0, 94.0, 92.0],
                        "selected": [True, False, True], "arch": ["a", "b", "c"]})
    fig = viz.score_accuracy_figure(pts)
    assert [t.name for t in fig.data] == ["N=2", "N=1"]  # largest first (drawn below, bigger markers)
    assert list(fig.data[0].marker.symbol) == ["circle", "star"] and fig.data[0].marker.size > fig.data[1].marker.size
    dist = pd.DataFrame({"N": [1, 1, 2], "V": [1, 2, 1], "accuracy": [93.0, 93.5, 94.0]})
    fig = viz.distribution_figure(dist, "N", "accuracy", "V")
    assert [t.type for t in fig.data] == ["box", "box"]


def test_figure_bundle_needs_no_network():
    fig = viz.heatmap_figure(pd.DataFrame([[1.0]], index=["a"], columns=["a"]))
    bundle = viz.figure_bundle(fig)
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html and "cdn" not in html.lower() and "mathjax" not in html.lower()
    assert len(html) < 100_000  # plotly.js itself is not in it (the report folder ships it once)
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["type"] == "heatmap"
    # no cloud upload ("Share chart" / Chart Studio) button or plotly logo, in JupyterLab or the report
    config = bundle["application/vnd.plotly.v1+json"]["config"]
    assert config["showSendToCloud"] is False and config["displaylogo"] is False
    assert "sendDataToCloud" in config["modeBarButtonsToRemove"] and '"displaylogo": false' in html


def test_edge_scores_bars_start_at_a_stated_baseline():
    assert viz.bar_baseline([94.15, 94.18, 94.44, 94.68, 93.86]) == pytest.approx(93.6)
    assert viz.bar_baseline([3.0, 40.0]) == 0.0 and viz.bar_baseline([-1.0, 2.0]) == 0.0
    info = viz.edge_scores_info({"best-acc": {"a": 94.15, "b": 94.68}}, {"best-acc": True}, chosen="a")
    fig = viz.edge_scores_figure(info)
    bar = fig.data[0]
    assert bar.base == pytest.approx(93.9) and list(bar.text) == ["94.15", "94.68"]
    assert list(fig.layout.xaxis.ticktext) == ["a", "★ b"]  # best-acc's pick
    assert "bars from 93.9" in fig.layout.annotations[0].text and viz.axis_number(3.4e6) == "3.4M"
    assert fig.layout.yaxis.range[0] == pytest.approx(93.9)


def test_genotype_cell_diagrams_still_work():
    g = GENOTYPES["DARTS_V2"]
    info = viz.cell_diagram_info(g, "normal")
    assert len(info["edges"]) == 8 and info["nodes"][-1]["id"] == "out"
    svg = viz.cell_svg(g)
    assert svg.startswith("<svg") and viz.genotype_svg(g).count("cell</text>") == 2
    assert 'c<tspan baseline-shift="sub" font-size="9">k-2</tspan>' in svg and "c_{k-2}" not in svg
    # edge labels sit at distinct places (they overlapped on edges sharing a node)
    spots = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle" font-size="11"', svg)
    assert len(spots) == 8 and len(set(spots)) == 8
    assert viz.cell_figure(g, "reduce").layout.title.text == "reduce cell"


# ----------------------------------------------------------------------------- bars that show every value
def _axis_holds(fig, trace) -> None:
    """Every finite value of a bar (or text) trace lies inside its y axis range."""
    axis = fig.layout[("yaxis" + trace.yaxis[1:]) if trace.yaxis and trace.yaxis != "y" else "yaxis"]
    base = getattr(trace, "base", None) or 0.0
    values = [float(base) + float(v) for v in trace.y]
    lo, hi = axis.range
    assert all(lo <= v <= hi for v in values if math.isfinite(v)), (values, axis.range)


def test_every_bar_chart_draws_negative_values():
    # the proxies notebook's case: plain has rho -0.29 (C10) / -0.26 (C100)
    rows = [{"label": p, "group": g, "source": src, "mean": m, "std": None}
            for p, g, src, m in [("plain", "C10", "measured", -0.29), ("plain", "C100", "measured", -0.26),
                                 ("plain", "C10", "NAS-Bench-Suite-Zero", -0.34), ("nwot", "C10", "measured", 0.78),
                                 ("nwot", "C100", "measured", 0.80), ("nwot", "C10", "NAS-Bench-Suite-Zero", 0.77)]]
    fig = viz.error_bars_figure(viz.error_bars_info(rows), yaxis_title="Spearman ρ")
    for t in fig.data:
        _axis_holds(fig, t)
    assert fig.layout.yaxis.range[0] < -0.34 and fig.layout.yaxis2.range[0] < -0.26
    # the legend names where a reference value comes from, not "paper"
    assert {t.name for t in fig.data if t.type == "bar"} == {"measured", "published: NAS-Bench-Suite-Zero"}
    # edge scores: all negative, negative and positive, all negative and close together
    for scores in ({"a": -3.0, "b": -1.0}, {"a": -2.0, "b": 5.0}, {"a": -100.0, "b": -98.5, "c": -99.0}):
        info = viz.edge_scores_info({"m": scores}, {"m": False})
        fig = viz.edge_scores_figure(info)
        bar = fig.data[0]
        lo, hi = fig.layout.yaxis.range
        assert all(lo <= v <= hi for v in scores.values()) and lo <= bar.base <= hi, (scores, lo, hi)


def test_bar_labels_of_distinct_values_are_distinct():
    # seven DARTS synflow scores that all read 2.099e+08 before; plotly's axis writes 209.84M .. 209.89M
    synflow = [209_841_234.0, 209_845_678.0, 209_851_000.0, 209_860_123.0, 209_870_456.0, 209_880_789.0,
               209_889_999.0]
    cases = [synflow, [94.151, 94.152, 94.68], [0.5, 0.5, 0.51], [1e-5, 2e-5, 3e-5], [-0.29, -0.26, 0.0], [12.0, 40.0]]
    for values in cases:
        labels = viz.distinct_labels(values)
        assert len(set(labels)) == len(set(values)), (values, labels)
        assert all(labels[i] == labels[j] for i in range(len(values)) for j in range(len(values))
                   if values[i] == values[j])
    assert viz.distinct_labels(synflow)[0] == "209.841M"  # the axis' unit, with the digits that differ
    assert viz.distinct_labels([0.5, float("nan")]) == ["0.50", "n/a"]
    assert viz.distinct_labels([1e-5, 2.5e-5]) == ["1.0e-05", "2.5e-05"]
    # every bar chart uses them: edge scores and measured-vs-published bars
    info = viz.edge_scores_info({"zc-pt": dict(zip("abcdefg", synflow))}, {"zc-pt": False})
    text = list(viz.edge_scores_figure(info).data[0].text)
    assert len(set(text)) == 7
    rows = [{"label": str(k), "group": "C10", "source": "measured", "mean": v, "std": None}
            for k, v in enumerate([94.151, 94.152, 94.68])]
    bars = [t for t in viz.error_bars_figure(viz.error_bars_info(rows)).data if t.type == "bar"]
    assert len(set(bars[0].text)) == 3


def test_op_colours_are_colour_blind_safe_and_mean_ops_only():
    styles = {(c, d) for c, d in viz.OP_STYLES.values()}
    assert len(styles) == len(viz.OP_STYLES)  # no two ops drawn alike
    assert {c for c, _ in viz.OP_STYLES.values()} <= set(viz.OKABE_ITO.values())
    # skip_connect and the separable convs (nearly alike under deuteranopia before) differ in hue family
    assert viz.op_color("skip_connect") != viz.op_color("sep_conv_3x3")
    assert viz.op_dash("sep_conv_5x5") != viz.op_dash("sep_conv_3x3")
    # the "just decided" halo is grey, not an op's colour
    assert viz.CURRENT_HALO.startswith("rgba(0, 0, 0") and viz.OPEN_COLOR not in viz.OP_COLORS.values()
