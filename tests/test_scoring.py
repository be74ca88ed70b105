"""The seven operation scoring functions (zcpt_analysis.scoring): oracle values from the real
NAS-Bench-201 tables, sign conventions, partial discretization, the zero-cost methods and errors."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from zcpt_analysis.errors import InvalidArchError, StateError, UnknownNameError, ZcptError
from zcpt_analysis.scoring import (METHOD_NAMES, ScoringContext, ScoringSettings, as_state, g, get_method,
                                   method_names, oracle_table, score_edge, score_operations)
from zcpt_analysis.searches.op_selection import edge_scores
from zcpt_analysis.spaces.nb201 import EDGES, OPS, Arch, NB201Supernet
from zcpt_analysis.supernet import ArchState

EDGE0_BEST = {"none": 94.15, "skip_connect": 94.18, "nor_conv_1x1": 94.44, "nor_conv_3x3": 94.68,
              "avg_pool_3x3": 93.86}


@pytest.fixture(scope="module")
def oracle_ctx(bench):
    return ScoringContext(bench=bench)


@pytest.fixture(scope="module")
def oracle_scores(oracle_ctx):
    return score_operations(oracle_ctx, ["best-acc", "avg-acc"])


def _arch_ops(df: pd.DataFrame) -> np.ndarray:
    return np.array([Arch.from_string(s).indices for s in df["arch_str"]])


def test_registry_has_the_seven_methods_with_their_directions():
    assert method_names() == list(METHOD_NAMES)
    lower = {m for m in METHOD_NAMES if not get_method(m).higher_is_better}
    assert lower == {"darts-pt", "zc-pt"}
    assert get_method("zc-pt").sign == -1.0 and get_method("best-acc").sign == 1.0
    with pytest.raises(UnknownNameError, match="valid scoring methods: best-acc"):
        get_method("accuracy")


def test_best_acc_edge_1_0_matches_table_a2_exactly(oracle_scores):
    sub = oracle_scores[(oracle_scores["method"] == "best-acc") & (oracle_scores["edge"] == "1<-0")]
    assert dict(zip(sub["op"], sub["score"].round(2))) == EDGE0_BEST


def test_best_acc_rows_match_every_printed_table_a2_value(oracle_scores):
    from zcpt_analysis.paper import TABLE_A2 as PAPER_TABLE_A2, TABLE_A2_OPS as PAPER_TABLE_A2_OPS

    best = oracle_scores[oracle_scores["method"] == "best-acc"].set_index(["edge", "op"])["score"]
    for i, edge in enumerate(EDGES):
        for j, op in enumerate(PAPER_TABLE_A2_OPS):
            assert round(best[(edge, op)], 2) == PAPER_TABLE_A2["best-acc"][i][j], (edge, op)


def test_best_acc_is_max_over_single_trials_and_avg_acc_the_mean_of_arch_means(bench, oracle_scores):
    trials = bench.trials_table("cifar10")
    ops = _arch_ops(trials)
    means = bench.mean_table("cifar10")
    mops = _arch_ops(means)
    e = EDGES.index("3<-0")
    for o, op in enumerate(OPS):
        row = oracle_scores[(oracle_scores["edge"] == "3<-0") & (oracle_scores["op"] == op)].set_index("method")
        assert row.loc["best-acc", "score"] == pytest.approx(trials["test_accuracy"][ops[:, e] == o].max())
        assert row.loc["avg-acc", "score"] == pytest.approx(means["mean"][mops[:, e] == o].mean())
    # the best single trial is above the best seed-mean: best-acc really uses single trials
    assert oracle_scores.query("method == 'best-acc' and edge == '1<-0' and op == 'nor_conv_3x3'")["score"].item() \
        > means["mean"].max()


def test_avg_acc_over_pooled_trials(bench):
    ctx = ScoringContext(settings=ScoringSettings(avg_acc_over="trials"), bench=bench)
    trials = bench.trials_table("cifar10")
    ops = _arch_ops(trials)
    got = score_edge("avg-acc", None, "2<-1", ctx)
    e = EDGES.index("2<-1")
    for o, op in enumerate(OPS):
        assert got[op] == pytest.approx(trials["test_accuracy"][ops[:, e] == o].mean())
    with pytest.raises(ZcptError, match="avg_acc_over must be one of arch-mean or trials, got 'median'"):
        ScoringSettings(avg_acc_over="median")


def test_oracle_scores_are_restricted_to_archs_consistent_with_discretized_edges(bench, oracle_ctx):
    trials = bench.trials_table("cifar10")
    ops = _arch_ops(trials)
    means = bench.mean_table("cifar10")
    mops = _arch_ops(means)
    state = {"2<-0": "none", "3<-2": "skip_connect"}
    a_t = as_state(state, oracle_ctx)
    assert a_t.t == 2 and a_t.undiscretized() == [0, 2, 3, 4]
    fixed = (ops[:, 1] == OPS.index("none")) & (ops[:, 5] == OPS.index("skip_connect"))
    mfixed = (mops[:, 1] == OPS.index("none")) & (mops[:, 5] == OPS.index("skip_connect"))
    table = score_operations(oracle_ctx, ["best-acc", "avg-acc"], a_t)
    assert set(table["edge"]) == {"1<-0", "2<-1", "3<-0", "3<-1"}
    assert set(table["iteration"]) == {2}
    for op in OPS:
        o = OPS.index(op)
        best = table.query("method == 'best-acc' and edge == '3<-1' and op == @op")["score"].item()
        assert best == pytest.approx(trials["test_accuracy"][fixed & (ops[:, 4] == o)].max())
        avg = table.query("method == 'avg-acc' and edge == '3<-1' and op == @op")["score"].item()
        assert avg == pytest.approx(means["mean"][mfixed & (mops[:, 4] == o)].mean())
    # a supernet in the same state gives the same scores, and g agrees with the table
    net = NB201Supernet(C=1, N=1)
    net.discretize("2<-0", "none").discretize("3<-2", "skip_connect")
    assert g("best-acc", net, "3<-1", "nor_conv_1x1", oracle_ctx) == \
        table.query("method == 'best-acc' and edge == '3<-1' and op == 'nor_conv_1x1'")["score"].item()


def test_removed_ops_on_other_edges_exclude_architectures(bench, oracle_ctx):
    net = NB201Supernet(C=1, N=1)
    net.perturb("1<-0", "nor_conv_3x3")
    # without 3x3 on 1<-0 the best architecture (3x3 there) is excluded: the max drops
    assert g("best-acc", net, "2<-0", "nor_conv_3x3", oracle_ctx) < 94.68
    with pytest.raises(StateError, match="removed"):
        g("best-acc", net, "1<-0", "nor_conv_3x3", oracle_ctx)


def test_table_columns_and_sign_conventions(oracle_scores):
    assert list(oracle_scores.columns) == ["edge", "op", "method", "score", "higher_is_better", "for_correlation",
                                           "edge_index", "iteration"]
    assert len(oracle_scores) == 2 * 6 * 5
    assert (oracle_scores["for_correlation"] == oracle_scores["score"]).all()
    assert oracle_scores["higher_is_better"].all()


def test_bad_inputs_raise_clear_errors(oracle_ctx):
    with pytest.raises(UnknownNameError):
        g("disc_acc", None, 0, 0, oracle_ctx)
    with pytest.raises(InvalidArchError, match="valid ops"):
        g("best-acc", None, "1<-0", "conv", oracle_ctx)
    with pytest.raises(InvalidArchError, match="unknown edge"):
        g("best-acc", None, "4<-0", "none", oracle_ctx)
    with pytest.raises(StateError, match="already discretized"):
        g("best-acc", {"1<-0": "none"}, "1<-0", "none", oracle_ctx)
    with pytest.raises(InvalidArchError, match="one op or None per edge"):
        as_state(["none"] * 3, oracle_ctx)
    with pytest.raises(ZcptError, match="unknown benchmark dataset"):
        score_edge("best-acc", None, 0, ScoringContext(bench=oracle_ctx.bench, bench_dataset="mnist"))


def test_oracle_needs_a_benchmark_space(bench):
    ctx = ScoringContext(settings=ScoringSettings(space="darts"), bench=bench)
    with pytest.raises(ZcptError, match="needs a tabular benchmark"):
        score_edge("best-acc", None, 0, ctx)


def test_oracle_table_on_seed_mean_only_dataset(bench):
    table = oracle_table(bench, "cifar100")
    assert not table.per_trial
    np.testing.assert_allclose(table.best, table.mean)


# ----------------------------------------------------------------------------- zero-cost methods
def _toy_scorer(net, x, y):
    """A cheap deterministic 'proxy': spread of the logits (higher = 'better')."""
    with torch.no_grad():
        return float(net(x).double().std())


@pytest.fixture
def zc_ctx(cifar_sample):
    small = replace(cifar_sample, images=cifar_sample.images[:, :, 8:24, 8:24].contiguous())
    settings = ScoringSettings(supernet_options={"C": 4, "N": 1}, proxy_batch_size=16)
    return ScoringContext(settings=settings, images=small, scorer=_toy_scorer)


def test_zero_cost_scores_follow_their_definitions(zc_ctx):
    table = score_operations(zc_ctx, ["zc-pt", "disc-zc"])
    assert len(table) == 2 * 6 * 5
    zc = table[table["method"] == "zc-pt"]
    assert (zc["for_correlation"] == -zc["score"]).all() and not zc["higher_is_better"].any()
    net = zc_ctx.untrained_supernet()
    x, y = zc_ctx.proxy_batch(0, 3)
    direct = edge_scores("zc-pt", net, 3, _toy_scorer, x, y)
    got = zc[zc["edge"] == EDGES[3]].set_index("op")["score"].to_dict()
    assert got == pytest.approx(direct)
    with net.discretized(3, "skip_connect"):
        expected = _toy_scorer(net, x, y)
    assert g("disc-zc", None, EDGES[3], "skip_connect", zc_ctx) == pytest.approx(expected)
    # g (one op) reproduces the whole-edge table entry, and scoring leaves the supernet in A_0
    assert g("zc-pt", None, 3, "none", zc_ctx) == pytest.approx(got["none"])
    assert net.chosen_ops() == (None,) * 6 and all(not s.removed for s in net.state)


def test_zero_cost_scores_of_a_partially_discretized_supernet(zc_ctx):
    a_t = as_state([None, "nor_conv_3x3", None, None, None, "avg_pool_3x3"], zc_ctx)
    table = score_operations(zc_ctx, ["zc-pt"], a_t)
    assert sorted(set(table["edge_index"])) == [0, 2, 3, 4]
    net = zc_ctx.untrained_supernet()
    x, y = zc_ctx.proxy_batch(2, 4)
    with a_t.applied(net):
        assert net.chosen_ops()[1] == "nor_conv_3x3"
        with net.perturbed(4, "none"):
            expected = _toy_scorer(net, x, y)
    assert table.query("edge_index == 4 and op == 'none'")["score"].item() == pytest.approx(expected)
    assert net.chosen_ops() == (None,) * 6


def test_registered_proxy_is_used_when_no_scorer_is_given(zc_ctx):
    pytest.importorskip("zcpt_analysis.proxies")
    ctx = replace(zc_ctx, settings=zc_ctx.settings.replace(proxy="nwot"), scorer=None, untrained=None, _batches={})
    scores = score_edge("zc-pt", None, 0, ctx)
    assert len(scores) == 5 and all(math.isfinite(v) for v in scores.values())
    with pytest.raises(UnknownNameError, match="proxy"):
        score_edge("zc-pt", None, 0, replace(ctx, settings=ctx.settings.replace(proxy="nope")))


def test_partial_arch_round_trip():
    net = NB201Supernet(C=1, N=1)
    net.discretize(2, "skip_connect").perturb(0, "none")
    state = ArchState.from_supernet(net)
    assert state.remaining(0) == OPS[1:] and state.remaining(2) == ("skip_connect",)
    other = NB201Supernet(C=1, N=1)
    with state.applied(other):
        assert other.chosen_ops() == net.chosen_ops() and other.remaining_ops(0) == [1, 2, 3, 4]
    assert other.chosen_ops() == (None,) * 6
    assert state.discretize(1, 4).chosen[1] == "avg_pool_3x3" and state.chosen[1] is None
