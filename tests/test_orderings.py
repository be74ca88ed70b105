"""Edge orderings of section 4.2: evaluation counts (Table 2) and the decision rules."""
import random

import pytest

from zcpt_analysis.errors import UnknownNameError
from zcpt_analysis.searches.op_selection import DegenerateScoresError, TiedScoresWarning, select
from zcpt_analysis.searches.orderings import ORDERINGS, discretize_all, expected_evaluations
from zcpt_analysis.spaces.nb201 import NB201Supernet


class CountingEvaluator:
    """zc-pt scores from a fixed table: score(e, o) = table[e][o]; counts evaluations and calls."""

    def __init__(self, supernet, table):
        self.supernet, self.table = supernet, table
        self.evaluations = 0
        self.calls = []

    def __call__(self, edges):
        self.calls.append(list(edges))
        out = {}
        for e in edges:
            ops = self.supernet.remaining_ops(e)
            out[e] = {self.supernet.candidates[e][o]: self.table[e][o] for o in ops}
            self.evaluations += len(ops)
        return out


@pytest.fixture
def supernet():
    return NB201Supernet(C=2, N=1, seed=0)


def _table(seed=0):
    rng = random.Random(seed)
    return [[rng.random() for _ in range(5)] for _ in range(6)]


@pytest.mark.parametrize("order, expected", [("fixed", 30), ("random", 30), ("global-op-iter", 105),
                                             ("global-edge-iter", 105), ("global-op-once", 55),
                                             ("global-edge-once", 55)])
def test_evaluation_counts_match_table2(supernet, order, expected):
    ev = CountingEvaluator(supernet, _table())
    steps = discretize_all(order, supernet, ev, random.Random(0))
    assert ev.evaluations == expected == expected_evaluations(order, 5, 6)
    assert sum(s.evaluations for s in steps) == expected
    assert supernet.is_fully_discretized and len(steps) == 6 and sorted(s.edge for s in steps) == list(range(6))


def test_zc_pt_keeps_the_arg_min_op(supernet):
    table = _table(1)
    discretize_all("fixed", supernet, CountingEvaluator(supernet, table), random.Random(0))
    ops = supernet.candidates[0]
    assert supernet.chosen_ops() == tuple(ops[min(range(5), key=table[e].__getitem__)] for e in range(6))


def test_fixed_goes_input_to_output_and_random_is_seeded(supernet):
    steps = discretize_all("fixed", supernet, CountingEvaluator(supernet, _table()), random.Random(0))
    assert [s.edge_name for s in steps] == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    orders = []
    for _ in range(2):
        supernet.reset()
        steps = discretize_all("random", supernet, CountingEvaluator(supernet, _table()), random.Random(42))
        orders.append([s.edge for s in steps])
    assert orders[0] == orders[1] and orders[0] != list(range(6))


@pytest.mark.filterwarnings("ignore::zcpt_analysis.searches.op_selection.TiedScoresWarning")
def test_global_op_iter_picks_the_globally_lowest_score(supernet):
    table = [[5.0] * 5 for _ in range(6)]
    table[4][2] = 0.0  # the globally best decision: edge 3<-1 keeps nor_conv_1x1
    table[1][3] = 1.0  # next best
    steps = discretize_all("global-op-iter", supernet, CountingEvaluator(supernet, table), random.Random(0))
    assert (steps[0].edge_name, steps[0].chosen) == ("3<-1", "nor_conv_1x1")
    assert (steps[1].edge_name, steps[1].chosen) == ("2<-0", "nor_conv_3x3")


@pytest.mark.filterwarnings("ignore::zcpt_analysis.searches.op_selection.TiedScoresWarning")
def test_global_edge_iter_uses_the_mean_and_reuses_scores(supernet):
    table = [[3.0] * 5 for _ in range(6)]
    table[2] = [0.0, 9.0, 0.0, 0.0, 0.0]  # lowest mean is edge 2<-1 (1.8), lowest single score elsewhere
    table[0] = [-1.0, 9.0, 9.0, 9.0, 9.0]
    ev = CountingEvaluator(supernet, table)
    steps = discretize_all("global-edge-iter", supernet, ev, random.Random(0))
    assert steps[0].edge_name == "2<-1" and steps[0].chosen == "none"
    assert ev.calls[0] == list(range(6)) and len(ev.calls) == 6  # one minibatch per round, no re-scoring


@pytest.mark.filterwarnings("ignore::zcpt_analysis.searches.op_selection.TiedScoresWarning")
def test_global_once_orders(supernet):
    table = [[float(10 - e)] * 5 for e in range(6)]  # edge 5 most important, then 4, ...
    table[0] = [0.5, 20, 20, 20, 20]  # edge 0: best single op score, worst mean
    ev = CountingEvaluator(supernet, table)
    op_once = [s.edge for s in discretize_all("global-op-once", supernet, ev, random.Random(0))]
    assert op_once == [0, 5, 4, 3, 2, 1]
    supernet.reset()
    edge_once = [s.edge for s in discretize_all("global-edge-once", supernet, CountingEvaluator(supernet, table),
                                                random.Random(0))]
    assert edge_once == [5, 4, 3, 2, 1, 0]
    supernet.reset()
    published = [s.edge for s in discretize_all("global-op-once", supernet, CountingEvaluator(supernet, table),
                                                random.Random(0), published_once_order=True)]
    assert published == [5, 4, 3, 2, 1, 0]


def test_unknown_ordering(supernet):
    with pytest.raises(UnknownNameError, match="valid orderings: fixed, random, global-op-iter"):
        discretize_all("greedy", supernet, CountingEvaluator(supernet, _table()), random.Random(0))
    assert len(ORDERINGS) == 6


def test_select_ignores_nan_and_flags_degenerate_edges():
    assert select({"a": float("nan"), "b": 2.0, "c": 1.0}, maximize=False) == "c"
    assert select({"a": float("nan"), "b": 2.0, "c": 1.0}, maximize=True) == "b"
    with pytest.raises(DegenerateScoresError, match="NaN"):
        select({"a": float("nan"), "b": float("nan")}, maximize=True)
    with pytest.warns(TiedScoresWarning, match="arbitrary"):
        assert select({"a": float("-inf"), "b": float("-inf")}, maximize=False) == "a"
