"""Correlation analysis (Figure 2, Figure A1), Table 1, stored score tables and ``zcpt scores``."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from zcpt_analysis import paper
from zcpt_analysis.scoring.analysis import (correlation_matrix, figure_a1_data, per_edge_spearman, selected_ops,
                                    sign_adjusted, spearman, table1, table_a2_comparison)
from zcpt_analysis.scoring.iterative import iterative_scores
from zcpt_analysis.runs.specs import ScoresSpec
from zcpt_analysis.runs.store import ResultStore
from zcpt_analysis.errors import UnknownNameError, ZcptError
from zcpt_analysis.scoring import ScoringContext, ScoringSettings, score_operations
from zcpt_analysis.spaces.nb201 import EDGES


def _rows(method: str, hib: bool, per_edge: dict[str, list[float]], ops=("a", "b", "c", "d")) -> list[dict]:
    return [{"edge": e, "op": o, "method": method, "score": v, "higher_is_better": hib}
            for e, vals in per_edge.items() for o, v in zip(ops, vals)]


@pytest.fixture
def hand_table() -> pd.DataFrame:
    # edge x: A and B agree exactly (rho 1); edge y: rho(A, B) = 0.6; C = -A (lower is better) ->
    # after the sign convention C is identical to A; D constant on edge y (no rho there).
    rows = _rows("A", True, {"x": [1, 2, 3, 4], "y": [1, 2, 3, 4]})
    rows += _rows("B", True, {"x": [10, 20, 30, 40], "y": [2, 1, 4, 3]})
    rows += _rows("C", False, {"x": [-1, -2, -3, -4], "y": [-1, -2, -3, -4]})
    rows += _rows("D", True, {"x": [4, 3, 2, 1], "y": [5, 5, 5, 5]})
    return pd.DataFrame(rows)


def test_spearman_basics():
    assert spearman([1, 2, 3], [2, 4, 9]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [2, 1, 4, 3]) == pytest.approx(0.6)
    from scipy.stats import spearmanr

    assert spearman([1, 2, 3, 4], [3, 1, 4, 2]) == pytest.approx(spearmanr([1, 2, 3, 4], [3, 1, 4, 2])[0])
    assert spearman([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(spearmanr([1, 1, 2, 3], [1, 2, 2, 3])[0])
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1], [1]))


def test_correlation_matrix_averages_per_edge_and_applies_signs(hand_table):
    mat = correlation_matrix(hand_table)
    assert list(mat.index) == ["A", "B", "C", "D"] and list(mat.columns) == ["A", "B", "C", "D"]
    np.testing.assert_allclose(mat.to_numpy(), mat.to_numpy().T)
    np.testing.assert_allclose(np.diag(mat.to_numpy()), 1.0)
    # per-edge rho then mean over edges: (1 + 0.6) / 2; pooling both edges' ops would give another value
    assert mat.loc["A", "B"] == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4] * 2, [10, 20, 30, 40, 2, 1, 4, 3]) != pytest.approx(0.8)
    # C is lower-is-better with C = -A: negated before correlating, it agrees perfectly with A
    assert mat.loc["A", "C"] == pytest.approx(1.0)
    assert mat.loc["B", "C"] == pytest.approx(mat.loc["A", "B"])
    # D is constant on edge y: only edge x counts
    assert mat.loc["A", "D"] == pytest.approx(-1.0)
    per_edge = per_edge_spearman(hand_table, "A", "D").set_index("edge")["rho"]
    assert per_edge["x"] == pytest.approx(-1.0) and math.isnan(per_edge["y"])
    assert sign_adjusted(hand_table[hand_table["method"] == "C"]).tolist() == [1, 2, 3, 4] * 2


def test_correlation_matrix_averages_over_seeds_too(hand_table):
    other = hand_table.copy()
    other.loc[other["method"] == "B", "score"] = other.loc[other["method"] == "B", "score"].to_numpy()[::-1]
    both = pd.concat([hand_table.assign(seed=0), other.assign(seed=1)])
    per = per_edge_spearman(both, "A", "B")
    assert len(per) == 4 and set(per.columns) == {"seed", "edge", "rho"}
    assert correlation_matrix(both).loc["A", "B"] == pytest.approx(per["rho"].mean())


def test_correlation_matrix_errors(hand_table):
    with pytest.raises(UnknownNameError):
        correlation_matrix(hand_table, ["A", "Z"])
    with pytest.raises(ZcptError, match="lacks columns"):
        correlation_matrix(hand_table.drop(columns=["higher_is_better"]))


def test_selected_ops_follow_each_methods_direction(hand_table):
    from zcpt_analysis.searches.op_selection import TiedScoresWarning

    with pytest.warns(TiedScoresWarning, match="D on edge y"):
        sel = selected_ops(hand_table).set_index(["method", "edge"])["op"]
    assert sel[("A", "x")] == "d" and sel[("C", "x")] == "d"  # C: lower is better, arg min of -A
    assert sel[("B", "y")] == "c"


def test_table1_best_and_avg_acc_match_the_paper(bench):
    table = score_operations(ScoringContext(bench=bench), ["best-acc", "avg-acc"])
    t1 = table1(table, bench).set_index("method")
    assert round(t1.loc["best-acc", "error_measured"], 2) == 5.63 and t1.loc["best-acc", "rank_measured"] == 1
    assert round(t1.loc["avg-acc", "error_measured"], 2) == 6.24 and t1.loc["avg-acc", "rank_measured"] == 166
    assert t1.loc["best-acc", "arch"] == ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                                          "nor_conv_3x3~1|nor_conv_1x1~2|")
    assert t1.loc["avg-acc", "arch"] == "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|" \
                                        "nor_conv_3x3~1|nor_conv_3x3~2|"
    assert (t1.loc["avg-acc", "error_paper"], t1.loc["avg-acc", "rank_paper"]) == (paper.TABLE1["avg-acc"].error, paper.TABLE1["avg-acc"].rank)
    comp = table_a2_comparison(table)
    assert (comp[comp["method"] == "best-acc"]["diff"].abs() < 0.005).all()
    # avg-acc: every printed value differs (another accuracy table), but the op order within every
    # edge is the paper's, so per-edge Spearman correlations are unaffected
    avg = comp[comp["method"] == "avg-acc"]
    assert (avg["diff"] > 3).all()
    for edge, grp in avg.groupby("edge"):
        assert spearman(grp["measured"], grp["paper"]) == pytest.approx(1.0), edge


def test_table1_needs_every_edge(bench):
    table = score_operations(ScoringContext(bench=bench), ["best-acc"], edges=["1<-0"])
    with pytest.raises(ZcptError, match="needs every edge"):
        table1(table, bench)


def test_figure_a1_data_from_a_hand_made_iterative_table(hand_table):
    it0 = hand_table[hand_table["method"].isin(["A", "B"])].assign(trajectory="B", iteration=0)
    it1 = it0[it0["edge"] == "y"].assign(iteration=1)
    data = figure_a1_data(pd.concat([it0, it1]), reference="A").set_index("iteration")
    assert data.loc[0, "rho"] == pytest.approx(0.8) and data.loc[0, "edges"] == 2
    assert data.loc[1, "rho"] == pytest.approx(0.6) and data.loc[1, "edges"] == 1


def _toy_scorer(net, x, y):
    with torch.no_grad():
        return float(net(x).double().std())


def test_iterative_setting_end_to_end(bench, cifar_sample):
    small = replace(cifar_sample, images=cifar_sample.images[:, :, 8:24, 8:24].contiguous())
    ctx = ScoringContext(settings=ScoringSettings(supernet_options={"C": 4, "N": 1}, proxy_batch_size=16), bench=bench,
                         images=small, scorer=_toy_scorer)
    table = iterative_scores(ctx, ["best-acc", "zc-pt"])
    assert set(table["trajectory"]) == {"best-acc", "zc-pt"}
    for traj, grp in table.groupby("trajectory"):
        counts = grp[grp["method"] == traj].groupby("iteration")["edge"].nunique()
        assert counts.tolist() == [6, 5, 4, 3, 2, 1]
    # the best-acc trajectory (own choices, canonical order) ends on the best architecture's ops,
    # and at every iteration it is perfectly correlated with itself
    fig = figure_a1_data(table)
    assert (fig[fig["method"] == "best-acc"]["rho"] == 1.0).all()
    assert len(fig[fig["method"] == "zc-pt"]) == 6
    last = table[(table["trajectory"] == "zc-pt") & (table["iteration"] == 5)]
    assert set(last["method"]) == {"zc-pt", "best-acc"} and last["edge"].nunique() == 1
    # the reference scores of the zc-pt trajectory are conditioned on zc-pt's own decisions
    first = table[(table["trajectory"] == "zc-pt") & (table["iteration"] == 0) & (table["method"] == "zc-pt")]
    op0 = first[first["edge"] == EDGES[0]].sort_values("score")["op"].iloc[0]
    it1_ref = table[(table["trajectory"] == "zc-pt") & (table["iteration"] == 1) & (table["method"] == "best-acc")]
    expected = score_operations(ctx, ["best-acc"], {EDGES[0]: op0})
    np.testing.assert_allclose(it1_ref.sort_values(["edge", "op"])["score"].to_numpy(),
                               expected.sort_values(["edge", "op"])["score"].to_numpy())


# ----------------------------------------------------------------------------- stored score tables
def test_record_names_and_keys_are_canonical():
    a = ScoresSpec(method="zc-pt", seed=0, proxy_options={"mode": "eval", "hooks": "relu"})
    b = ScoresSpec(method="zc-pt", seed=0, proxy_options={"hooks": "relu", "mode": "eval"})
    assert a.key() == b.key() and a.record_name() == b.record_name()
    assert a.key() != a.replace(seed=1).key() and a.record_name() != a.replace(seed=1).record_name()
    assert len(a.key()) == 12


def test_stored_scores_compute_once_and_reuse(bench, cifar_sample, tmp_path):
    small = replace(cifar_sample, images=cifar_sample.images[:, :, 8:24, 8:24].contiguous())
    calls = []

    def scorer(net, x, y):
        calls.append(1)
        return _toy_scorer(net, x, y)

    specs = [ScoresSpec(method=m, supernet_options={"C": 4, "N": 1}, proxy_batch_size=16)
             for m in ("best-acc", "zc-pt")]
    ctx = ScoringContext(settings=specs[1], bench=bench, images=small)
    ctx.scorer = scorer
    store = ResultStore(tmp_path)
    first = pd.concat([store.run(s, context=ctx).table() for s in specs], ignore_index=True)
    assert len(calls) == 30 and len(list((tmp_path / "scores").glob("*.json"))) == 2
    again = pd.concat([store.run(s, context=ctx).table() for s in specs], ignore_index=True)
    assert len(calls) == 30  # read from the store
    pd.testing.assert_frame_equal(first, again, check_dtype=False)
    # another configuration is another record
    store.run(specs[1].replace(proxy_batch_size=8),
              context=replace(ctx, settings=ctx.settings.replace(proxy_batch_size=8), _batches={}))
    assert len(calls) == 60 and len(store.records()) == 3
    # a stored file must hold the configuration it is named after
    path = store.path_for(specs[1])
    obj = json.loads(path.read_text())
    assert obj["spec"]["method"] == "zc-pt" and obj["environment"]
    obj["spec"]["proxy_batch_size"] = 99
    path.write_text(json.dumps(obj))
    with pytest.raises(ZcptError, match="different configuration .proxy_batch_size: 99 -> 16"):
        store.find(specs[1])


def test_score_identities_cover_what_each_method_depends_on():
    zc = ScoresSpec(method="zc-pt", supernet_options={"C": 4, "N": 1}).identity()
    for key in ("method", "space", "seed", "proxy", "proxy_batch_size", "dataset", "data_source", "supernet_options"):
        assert key in zc
    assert not any(k.startswith("darts.") for k in zc)
    trained = ScoresSpec(method="disc-acc").identity()
    for key in ("darts.epochs", "darts.batch_size", "disc_epochs", "dataset", "seed"):
        assert key in trained
    oracle = ScoresSpec(method="best-acc").identity()
    assert "seed" not in oracle and "proxy" not in oracle  # the benchmark alone determines best-acc
    assert ScoresSpec(method="best-acc", seed=3).record_name() == ScoresSpec(method="best-acc").record_name()


def test_cli_scores_prints_caches_and_writes(tmp_path, capsys):
    from zcpt_analysis.cli import main

    out = tmp_path / "scores.csv"
    rc = main(["scores", "--methods", "best-acc", "avg-acc", "--out", str(tmp_path / "cache"), "--table1",
               "--correlations", "--export", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "94.1500" in text and "93.8600" in text
    assert "Table 1" in text and "5.63" in text and "166" in text
    table = pd.read_csv(out)
    assert set(table["method"]) == {"best-acc", "avg-acc"} and len(table) == 60
    assert len(list((tmp_path / "cache" / "scores").glob("*.json"))) == 2
    assert main(["scores", "--methods", "nope", "--quiet"]) == 2
    assert "unknown scoring method" in capsys.readouterr().err


def test_cli_scores_iterative_prints_figure_a1_rows_and_reuses_the_store(tmp_path, capsys, monkeypatch):
    from zcpt_analysis.scoring import analysis, iterative
    from zcpt_analysis.cli import main

    args = ["scores", "--iterative", "--methods", "avg-acc", "--out", str(tmp_path / "cache"),
            "--export", str(tmp_path / "it.csv"), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "iterative setting" in text and "avg-acc" in text and "best-acc" in text
    table = pd.read_csv(tmp_path / "it.csv")
    # canonical order: 6 iterations, edges still undiscretized: 6, 5, ..., 1
    assert sorted(table["iteration"].unique()) == [0, 1, 2, 3, 4, 5]
    rho = analysis.figure_a1_data(table).set_index(["method", "iteration"])
    assert list(rho.index.get_level_values("method").unique()) == ["avg-acc"]
    assert [int(rho.loc[("avg-acc", i), "edges"]) for i in range(6)] == [6, 5, 4, 3, 2, 1]
    at0 = analysis.correlation_matrix(table[table["iteration"] == 0]).loc["avg-acc", "best-acc"]
    assert rho.loc[("avg-acc", 0), "rho"] == pytest.approx(at0)
    assert len(list((tmp_path / "cache" / "iterative").glob("iterative-*.json"))) == 1

    def fail(*a, **k):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(iterative, "iterative_scores", fail)
    assert main(args) == 0
    assert "avg-acc" in capsys.readouterr().out
