"""The paper's published numbers (zcpt_analysis.paper): transcription checks, conventions, helpers."""
from __future__ import annotations

import math

import pytest

from zcpt_analysis import paper
from zcpt_analysis.scoring.analysis import figure2_from_table_a2, table_a2_frame
from zcpt_analysis.experiments import comparison, zcpt_reference
from zcpt_analysis.paper import Published


def test_published_formatting():
    assert str(Published(5.97, 0.17)) == "5.97 ± 0.17" and str(Published(26.7)) == "26.70"


def test_nb201_tables_have_every_dataset_and_known_values():
    for table in (paper.TABLE2["nwot"], paper.TABLE3, paper.TABLE4_METHODS):
        for row in table.values():
            assert set(row) == set(paper.NB201_DATASETS)
    assert paper.TABLE2["nwot"]["global-op-iter"]["cifar10"] == Published(5.69, 0.19)
    # the two -once rows are identical in the paper (published code: reverse canonical order)
    assert paper.TABLE2["nwot"]["global-op-once"] == paper.TABLE2["nwot"]["global-edge-once"]
    # Zero-Cost-PT(nwot) is the same run in Tables 2 (random), 3 and 4
    assert paper.TABLE2["nwot"]["random"] == paper.TABLE3["nwot"] == paper.TABLE4_METHODS["Zero-Cost-PT(nwot)"]
    assert paper.TABLE3["synflow"] == paper.TABLE4_METHODS["Zero-Cost-PT(synflow)"]
    assert [f"Zero-Cost-PT({p})" in paper.TABLE4_METHODS and f"NASWOT({p})" in paper.TABLE4_METHODS
            for p in paper.TABLE4_PROXIES] == [True, True]
    assert zcpt_reference("nwot", "fixed") is paper.TABLE2["nwot"]["fixed"]
    assert zcpt_reference("snip", "random") is paper.TABLE3["snip"]
    assert zcpt_reference("snip", "fixed") is None


def test_table2_perturbation_counts_match_the_formulas():
    from zcpt_analysis.searches.orderings import expected_evaluations

    for order, count in paper.TABLE2_EVALUATIONS.items():
        assert expected_evaluations(order, 5, 6) == count
    assert set(paper.TABLE2_PERTURBATION_FORMULAS) == set(paper.TABLE2_EVALUATIONS)


def test_table1_and_table_a2_transcriptions():
    assert paper.TABLE1["best-acc"] == paper.Table1Row(5.63, 1) and paper.TABLE1["zc-pt"].rank == 14
    assert set(paper.TABLE1) == set(paper.TABLE_A2)
    for method, rows in paper.TABLE_A2.items():
        assert len(rows) == 6 and all(len(r) == len(paper.TABLE_A2_OPS) == 4 for r in rows), method
    assert paper.TABLE_A2["best-acc"][0] == (94.15, 94.18, 94.44, 94.68)
    assert paper.TABLE_A2_MISSING_OPS == ("avg_pool_3x3",)


def test_table_a2_frame_uses_the_raw_score_convention():
    df = table_a2_frame()
    assert len(df) == 7 * 6 * 4
    zc = df[(df["method"] == "zc-pt") & (df["edge"] == "1<-0") & (df["op"] == "none")].iloc[0]
    assert zc["printed"] == -3455.23 and zc["score"] == 3455.23 and not zc["higher_is_better"]
    best = df[(df["method"] == "best-acc") & (df["edge"] == "3<-0") & (df["op"] == "skip_connect")].iloc[0]
    assert best["score"] == best["printed"] == 94.68 and best["higher_is_better"]


def test_figure2_recomputed_from_table_a2():
    from zcpt_analysis.scoring.analysis import per_edge_spearman

    mat = figure2_from_table_a2()
    assert list(mat.index) == list(paper.TABLE_A2) and (mat.values.diagonal() == 1).all()
    assert (mat - mat.T).abs().max().max() == 0
    per_edge = per_edge_spearman(table_a2_frame(), "zc-pt", "best-acc").set_index("edge")["rho"]
    assert per_edge["1<-0"] == pytest.approx(1.0)  # same op order on that edge
    assert per_edge["3<-0"] == pytest.approx(0.2)  # ranks (3,4,1,2) vs (1,4,3,2): 1 - 6*8/60
    assert mat.loc["zc-pt", "best-acc"] == pytest.approx(per_edge.mean())
    # the paper's reading of Figure 2 holds on the recomputed matrix
    assert mat.loc["disc-acc", "best-acc"] < 0 and mat.loc["zc-pt", "best-acc"] > 0.7
    assert mat.loc["darts", "best-acc"] < 0 and mat.loc["darts-pt", "disc-acc"] < 0


def test_darts_tables():
    zr = paper.TABLE5["Zero-Cost-PT (random)"]
    assert zr.avg == Published(2.68, 0.17) and zr.best == 2.43 and zr.params_m == 4.7 and zr.cost_gpu_days == 0.018
    assert paper.TABLE5["DARTS"].best is None
    assert set(paper.TABLE5_ZCPT_ORDERS.values()) <= set(paper.TABLE5)
    assert set(paper.TABLE6) == set(paper.TABLE6_DATASETS)
    for rows in paper.TABLE6.values():
        assert set(rows) == set(paper.TABLE6_SPACES)
    assert paper.TABLE6["cifar100"]["darts-s4"].zcpt_avg == Published(25.70, 0.01)
    assert paper.TABLE_A1["Zero-Cost-PT (4 seeds)"].top1 == Published(24.6, 0.13)
    assert paper.TABLE_A1["SDARTS-RS"].params_m is None
    # 0.018 GPU days is the "25 minutes" of the abstract
    assert paper.TABLE5["Zero-Cost-PT (random)"].cost_gpu_days * 24 * 60 == pytest.approx(
        paper.SEARCH_COST_FACTS["zcpt_darts_total_minutes"], abs=1.0)
    assert paper.FIGURE3_FACTS["distinct_archs_N100"] == 27.8


def test_comparison_table():
    df = comparison([
        {"what": "a", "measured": 6.0, "paper": Published(5.97, 0.17)},
        {"what": "b", "measured": "not yet computed", "paper": 1.0},
        {"what": "c", "measured": Published(2.0, 0.1), "paper": None},
    ])
    assert df["diff"].iloc[0] == pytest.approx(0.03) and math.isnan(df["diff"].iloc[1]) and math.isnan(df["diff"].iloc[2])
    assert df["paper"].iloc[0] == "5.97 ± 0.17" and df["measured"].iloc[2] == "2.00 ± 0.10"
    with pytest.raises(KeyError, match="measured"):
        comparison([{"paper": 1.0}])
