"""Topology selection (Algorithm 2 and the published iterative variant)."""
from __future__ import annotations

import json
import math
import random

import pytest
import torch
import torch.nn.functional as F

from zcpt_analysis.errors import StateError, UnknownNameError
from zcpt_analysis.searches.op_selection import DegenerateScoresError, TiedScoresWarning
from zcpt_analysis.searches.topology import keep_lowest, remove_highest, select_topology
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.darts import DartsNetwork
from zcpt_analysis.spaces.genotypes import Genotype
from zcpt_analysis.spaces.nb201 import NB201Supernet


def discretized(space: str = "darts-s2", C: int = 2, seed: int = 0):
    """A tiny supernet with every op chosen (at random, seeded)."""
    sn = get_space(space).supernet(num_classes=10, seed=seed, C=C, layers=3)
    rng = random.Random(seed)
    for e in range(sn.num_edges):
        sn.discretize(e, rng.randrange(sn.num_ops))
    return sn


class TableScorer:
    """A forward-free scorer: S(A) = sum of w[e] over the unpruned edges, except that node
    ``normal:5`` (edges 9-13) is scored from a table over its set of live edges."""

    def __init__(self, weights, table=None, default=0.0):
        self.w, self.table, self.default, self.calls = weights, table or {}, default, 0

    def __call__(self, net, inputs, targets):
        self.calls += 1
        live = {e for e in range(net.num_edges) if not net.edge_state(e).pruned}
        node5 = frozenset(live & {9, 10, 11, 12, 13})
        rest = sum(self.w[e] for e in live if e not in range(9, 14))
        return rest + (self.table.get(node5, self.default) if self.table else sum(self.w[e] for e in node5))


def kept(sn, node):
    edges = dict(sn.topology_groups())[node]
    return [e for e in edges if not sn.edge_state(e).pruned]


def test_algorithm2_keeps_the_edges_whose_removal_lowers_the_score_most():
    sn = discretized()
    w = [math.sin(3.7 * e) for e in range(28)]
    trace = select_topology(sn, TableScorer(w), (None, None), random.Random(0), method="algorithm2")
    for name, edges in sn.topology_groups():
        # S(A - e) = total - w[e]: the lowest two are the two largest weights
        assert kept(sn, name) == sorted(sorted(edges, key=lambda e: -w[e])[:2])
    assert len(trace["nodes"]) == 8 and json.loads(json.dumps(trace)) == trace
    node4 = next(n for n in trace["nodes"] if n["node"] == "reduce:4")
    assert set(node4["scores"]) == {"reduce:4<-0", "reduce:4<-1", "reduce:4<-2", "reduce:4<-3"}
    assert len(node4["kept"]) == 2 and len(node4["pruned"]) == 2
    assert sorted(n["node"] for n in trace["nodes"]) == sorted(g for g, _ in sn.topology_groups())


def test_the_two_methods_differ_where_the_paper_and_the_code_differ():
    # node normal:5 (edges 9..13): removing 13 leaves the highest score, then 12 -> iterative keeps
    # {9, 10, 11} minus the next removal; one-shot Algorithm 2 keeps the two lowest S(A - e).
    full = frozenset(range(9, 14))
    table = {full - {9}: 1.0, full - {10}: 2.0, full - {11}: 3.0, full - {12}: 4.0, full - {13}: 5.0,
             # after removing 13: removing 12 scores highest; after removing 12 as well: removing 9
             full - {13, 9}: 0.0, full - {13, 10}: 0.5, full - {13, 11}: 0.7, full - {13, 12}: 9.0,
             frozenset({10, 11}): 8.0, frozenset({9, 11}): 1.0, frozenset({9, 10}): 2.0}
    w = [0.01 * e for e in range(28)]  # other nodes: distinct additive weights
    a = discretized()
    select_topology(a, TableScorer(w, table), (None, None), order="fixed", method="algorithm2")
    assert kept(a, "normal:5") == [9, 10]  # the two lowest: 1.0 and 2.0
    b = discretized()
    trace = select_topology(b, TableScorer(w, table), (None, None), order="fixed", method="iterative")
    assert kept(b, "normal:5") == [10, 11]  # removes 13, then 12, then 9
    node5 = next(n for n in trace["nodes"] if n["node"] == "normal:5")
    assert [r["removed"] for r in node5["rounds"]] == ["normal:5<-4", "normal:5<-3", "normal:5<-0"]
    assert node5["scores"] == node5["rounds"][0]["scores"] and len(node5["rounds"][1]["scores"]) == 4


def test_iterative_ties_go_to_the_later_edge_and_nan_is_ignored():
    assert remove_highest({3: 1.0, 4: 2.0, 5: 2.0}) == 5
    assert remove_highest({3: 1.0, 4: float("nan"), 5: 0.5}) == 3
    assert keep_lowest({3: float("nan"), 4: 2.0, 5: 1.0}, 2) == [4, 5]
    assert keep_lowest({3: 1.0, 4: 1.0, 5: 0.0}, 2) == [3, 5]
    with pytest.raises(DegenerateScoresError):
        keep_lowest({3: float("nan"), 4: float("nan")}, 1)
    with pytest.warns(TiedScoresWarning):
        remove_highest({3: 1.0, 4: 1.0})


def test_orders_and_minibatches():
    calls = []

    def sample():
        calls.append(1)
        return None, None

    w = [0.1 * e for e in range(28)]
    orders = {}
    for seed in (0, 1):
        for order in ("random", "alternating"):
            calls.clear()
            trace = select_topology(discretized(), TableScorer(w), sample, random.Random(seed), order=order)
            orders[seed, order] = [n["node"] for n in trace["nodes"]]
            if order == "random":
                assert len(calls) == 8 and [n["step"] for n in trace["nodes"]] == list(range(8))
            else:  # one normal and one reduce node per step, one minibatch each step
                assert len(calls) == 4
                assert [n["node"].split(":")[0] for n in trace["nodes"]] == ["normal", "reduce"] * 4
                assert [n["step"] for n in trace["nodes"]] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert orders[0, "random"] != orders[1, "random"]
    again = select_topology(discretized(), TableScorer(w), sample, random.Random(0))
    assert [n["node"] for n in again["nodes"]] == orders[0, "random"]
    fixed = select_topology(discretized(), TableScorer(w), sample, order="fixed")
    assert [n["node"] for n in fixed["nodes"]] == [g for g, _ in discretized().topology_groups()]


def test_errors_and_spaces_without_topology():
    with pytest.raises(StateError, match="undiscretized"):
        select_topology(get_space("darts-s2").supernet(C=2, layers=3), TableScorer([0.0] * 28), (None, None),
                        random.Random(0))
    with pytest.raises(UnknownNameError, match="algorithm2"):
        select_topology(discretized(), TableScorer([0.0] * 28), (None, None), random.Random(0), method="greedy")
    with pytest.raises(UnknownNameError, match="alternating"):
        select_topology(discretized(), TableScorer([0.0] * 28), (None, None), random.Random(0), order="reverse")
    with pytest.raises(StateError, match="rng"):
        select_topology(discretized(), TableScorer([0.0] * 28), (None, None), None, order="random")
    nb = NB201Supernet(C=2, N=1)
    assert select_topology(nb, TableScorer([]), (None, None), random.Random(0))["nodes"] == []
    assert not any(s.pruned for s in nb.state)


@pytest.mark.parametrize("method", ["algorithm2", "iterative"])
def test_real_forward_scores_leave_two_inputs_per_node(method):
    sn = discretized("darts", C=4, seed=3)
    gen = torch.Generator().manual_seed(0)

    def sample():
        return torch.randn(4, 3, 8, 8, generator=gen), torch.randint(0, 10, (4,), generator=gen)

    def neg_loss(net, x, y):
        with torch.no_grad():
            return -float(F.cross_entropy(net(x), y))

    trace = select_topology(sn.eval(), neg_loss, sample, random.Random(1), method=method)
    for name, _ in sn.topology_groups():
        assert len(kept(sn, name)) == 2
    g = sn.derive()
    assert all(len({i for _, i in pair}) == 2 for cell in ("normal", "reduce") for pair in g.node_inputs(cell))
    assert Genotype.from_json(json.loads(json.dumps(g.to_json()))) == g
    chosen = sn.chosen_ops()
    for n in trace["nodes"]:
        for edge in n["kept"]:
            cell, rest = edge.split(":")
            node, inp = map(int, rest.split("<-"))
            assert (chosen[sn.edge_names.index(edge)], inp) in g.node_inputs(cell)[node - 2]
    assert DartsNetwork(g, C=4, layers=3, auxiliary=False)(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_with_the_nwot_proxy_when_available():
    proxies = pytest.importorskip("zcpt_analysis.proxies")
    try:
        nwot = proxies.get_proxy("nwot")
    except Exception as exc:  # the proxy package is developed alongside this module
        pytest.skip(f"nwot proxy unavailable: {exc}")
    sn = discretized("darts-s3", C=4, seed=1)
    x, y = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 10
    select_topology(sn, lambda net, i, t: nwot.fn(net, i, t), (x, y), random.Random(0))
    assert all(len(kept(sn, name)) == 2 for name, _ in sn.topology_groups())
    assert isinstance(sn.derive(), Genotype)
