"""DARTS CNN space, RobustDARTS S1-S4 and the DARTS supernet (tiny networks on CPU)."""
from __future__ import annotations

import json
import random

import pytest
import torch

from zcpt_analysis.errors import InvalidArchError, StateError, UnknownNameError
from zcpt_analysis.spaces import get_space, space_names
from zcpt_analysis.spaces.darts import (EDGES, SPACE_NAMES, DartsSupernet, edge_index, edge_location,
                                        random_genotype, resolve_candidates, space_candidates)
from zcpt_analysis.spaces.darts_ops import PRIMITIVES, PRIMITIVES_NO_NONE, NoiseOp, make_search_op
from zcpt_analysis.spaces.genotypes import Genotype

NORMAL_EDGE, REDUCE_EDGE = 0, 27  # normal:2<-0 and reduce:5<-4


def tiny(space: str, seed: int = 0) -> DartsSupernet:
    """C=4, 3 cells (normal, reduce, reduce): both cell types, fast on CPU."""
    return get_space(space).supernet(num_classes=10, seed=seed, C=4, layers=3)


@pytest.fixture(scope="module")
def x8():
    return torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def test_robustdarts_tables_match_shared_file(shared_data):
    shared = json.loads((shared_data / "darts" / "robustdarts_spaces.json").read_text())
    for s in ("s1", "s2", "s3", "s4"):
        assert space_candidates(f"darts-{s}") == shared[s]
        assert space_candidates(s) == shared[s]
    # s5 of the shared file is the full 8-op space; the paper's default drops `none`
    assert space_candidates("darts-full") == shared["s5"]
    assert space_candidates("darts") == {c: [list(PRIMITIVES_NO_NONE)] * 14 for c in ("normal", "reduce")}
    assert "none" not in PRIMITIVES_NO_NONE and len(PRIMITIVES_NO_NONE) == 7 and len(PRIMITIVES) == 8


def test_spaces_registered_with_edge_layout():
    assert set(SPACE_NAMES) <= set(space_names())
    sn = tiny("darts")
    assert sn.num_edges == 28 and sn.num_ops == 7 and sn.alpha.shape == (28, 7)
    assert sn.edge_names[:3] == ("normal:2<-0", "normal:2<-1", "normal:3<-0")
    assert sn.edge_names[13] == "normal:5<-4" and sn.edge_names[14] == "reduce:2<-0" and EDGES[27] == "reduce:5<-4"
    groups = sn.topology_groups()
    assert [g[0] for g in groups] == [f"{c}:{i}" for c in ("normal", "reduce") for i in range(2, 6)]
    assert groups[3] == ("normal:5", (9, 10, 11, 12, 13)) and groups[4] == ("reduce:2", (14, 15))
    assert sn.edges_per_node == 2
    for e in range(28):
        cell, node, inp = edge_location(e)
        assert edge_index(cell, node, inp) == e and sn.edge_names[e] == f"{cell}:{node}<-{inp}"
    # S1 keeps per-edge candidate names
    s1 = tiny("darts-s1")
    assert s1.candidates[5] == ("max_pool_3x3", "skip_connect") and s1.candidates[14] == ("max_pool_3x3", "avg_pool_3x3")
    assert get_space("darts-full").supernet(C=2, layers=3).num_ops == 8


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_every_mask_state_runs_on_both_cell_types(space, x8):
    sn = tiny(space).eval()
    noisy = space == "darts-s4"
    with torch.no_grad():
        base = sn(x8)
        assert base.shape == (2, 10) and torch.isfinite(base).all()
        for e in (NORMAL_EDGE, REDUCE_EDGE):
            op = sn.num_ops - 1  # never `none` (its removal would change nothing)
            assert sn.candidates[e][op] != "none"
            for change in (lambda: sn.perturb(e, op), lambda: sn.discretize(e, op), lambda: sn.prune_edge(e)):
                change()
                out = sn(x8)
                assert out.shape == (2, 10) and torch.isfinite(out).all()
                if not noisy:
                    assert not torch.allclose(out, base)
                    sn.supernet_mode = "published"
                    assert torch.allclose(sn(x8), out, atol=1e-6)
                    sn.supernet_mode = "fast"
                sn.undo()
                if not noisy:
                    assert torch.equal(sn(x8), base)
            with sn.perturbed(e, 0), sn.pruned(e + 1 if e == 0 else e - 1):
                assert sn(x8).shape == (2, 10)
        assert sn.state == tuple(sn.edge_state(e) for e in range(28)) and not sn.is_fully_discretized


def test_noise_op_ignores_its_input():
    op = NoiseOp(stride=1)
    a, b = torch.zeros(8, 16, 32, 32), 100 * torch.randn(8, 16, 32, 32) + 5
    ya, yb = op(a), op(b)
    assert ya.shape == a.shape and not torch.equal(ya, yb)  # a fresh draw every call
    for y in (ya, yb):  # N(0, 1) whatever the input
        assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02
    torch.manual_seed(3)
    ya = op(a)
    torch.manual_seed(3)
    assert torch.equal(ya, op(b))  # depends on the input only through its shape
    assert NoiseOp(stride=2)(a).shape == (8, 16, 16, 16)
    assert make_search_op("noise", 16, 2)(a).shape == (8, 16, 16, 16)


def test_all_noise_s4_supernet_output_is_independent_of_the_input(x8):
    sn = tiny("darts-s4").eval()
    for e in range(28):
        sn.discretize(e, "noise")
    other = torch.randn_like(x8) * 10
    with torch.no_grad():
        torch.manual_seed(0)
        y1 = sn(x8)
        torch.manual_seed(0)
        y2 = sn(other)
        y3 = sn(x8)
    assert torch.equal(y1, y2) and not torch.equal(y1, y3)


def test_full_size_supernet_matches_the_darts_search_network():
    # DARTS train_search logs "param size = 1.930618MB" for its C=16, 8-cell search network
    for space in ("darts", "darts-full"):
        sn = get_space(space).supernet()
        assert sum(p.numel() for p in sn.parameters()) == 1_930_618
    assert [c.reduction for c in sn.cells] == [False, False, True, False, False, True, False, False]


def test_search_cell_structure():
    sn = tiny("darts-full")
    normal, red = sn.cells[0], sn.cells[1]
    assert type(normal.preprocess0).__name__ == "ReLUConvBN" and type(sn.cells[2].preprocess0).__name__ == "FactorizedReduce"
    mixed = normal._ops[0]
    assert [type(m).__name__ for m in mixed.ops] == ["Zero", "Sequential", "Sequential", "Identity", "SepConv",
                                                      "SepConv", "DilConv", "DilConv"]
    assert type(mixed.ops[1][1]).__name__ == "BatchNorm2d" and not mixed.ops[1][1].affine  # pool + BN
    assert all(not m.affine for m in sn.cells.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert sn.stem[1].affine
    # stride 2 on the edges from the two cell inputs of a reduction cell only
    assert [m.stride for m in red._ops] == [2, 2, 2, 2, 1, 2, 2, 1, 1, 2, 2, 1, 1, 1]
    assert type(red._ops[0].ops[3]).__name__ == "FactorizedReduce"
    assert red._ops[0].edge == 14 and normal._ops[13].edge == 13


def test_derive_needs_op_and_topology_selection():
    sn = tiny("darts-s2")
    with pytest.raises(InvalidArchError, match="neither discretized nor pruned"):
        sn.derive()
    for e in range(28):
        sn.discretize(e, "sep_conv_3x3" if e % 2 else "skip_connect")
    with pytest.raises(InvalidArchError, match="run topology selection"):
        sn.derive()
    for _, edges in sn.topology_groups():
        for e in edges[2:]:
            sn.prune_edge(e)
    g = sn.derive()
    assert isinstance(g, Genotype)
    # kept: the first two edges of every node (ids 0,1 | 2,3 | 5,6 | 9,10): even id -> skip, odd -> sep
    assert g.normal == (("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                        ("sep_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("skip_connect", 1))
    assert g.normal_concat == (2, 3, 4, 5) and len(g.reduce) == 8
    assert get_space("darts-s2").parse(get_space("darts-s2").to_json(g)) == g


def test_derive_none_policy_keep_or_published_parser():
    sn = tiny("darts-s3")
    for e in range(28):
        sn.discretize(e, "sep_conv_3x3")
    for _, edges in sn.topology_groups():
        for e in edges[2:]:
            sn.prune_edge(e)
    # node normal:4 (edges 5..8 = inputs 0..3): keep input 1 as `none` and input 3, prune 0 and 2
    sn2 = tiny("darts-s3")
    for e in range(28):
        sn2.discretize(e, "none" if e == 6 else "sep_conv_3x3")
    for name, edges in sn2.topology_groups():
        drop = (5, 7) if name == "normal:4" else edges[2:]
        for e in drop:
            sn2.prune_edge(e)
    kept = sn2.derive()
    assert kept.normal[4:6] == (("none", 1), ("sep_conv_3x3", 3)) and kept == sn2.derive("keep")
    published = sn2.derive(none_policy="published")
    # DARTS-PT's parser: inputs ranked by their largest non-none weight (stable), 0-weight -> first real op
    assert published.normal[4:6] == (("sep_conv_3x3", 3), ("skip_connect", 0))
    assert published.normal[:4] == kept.normal[:4] and published.reduce == kept.reduce
    assert sn.derive("published") == sn.derive()  # identical when no kept edge is `none`
    with pytest.raises(UnknownNameError):
        sn.derive("drop")


def test_space_network_random_arch_and_errors(x8):
    space = get_space("darts")
    g = space.random_arch(random.Random(0))
    assert g == space.random_arch(random.Random(0)) and g != space.random_arch(random.Random(1))
    assert all(op in PRIMITIVES_NO_NONE for op in g.ops())
    for k in range(4):  # two distinct inputs per node
        assert g.normal[2 * k][1] != g.normal[2 * k + 1][1]
    s1 = random_genotype(random.Random(2), "darts-s1")
    table = space_candidates("darts-s1")
    for cell in ("normal", "reduce"):
        for k, (op, inp) in enumerate(s1.cell(cell)):
            assert op in table[cell][[(i, j) for i in range(2, 6) for j in range(i)].index((2 + k // 2, inp))]
    net = space.network(g, num_classes=10, seed=0, C=4, layers=3)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10) and not hasattr(net, "auxiliary_head")
    with pytest.raises(UnknownNameError, match="valid DARTS ops"):
        DartsSupernet(C=2, layers=3, candidates=["sep_conv_3x3", "conv_9x9"])
    with pytest.raises(UnknownNameError, match="darts-s1"):
        space_candidates("s9")
    with pytest.raises(InvalidArchError, match="14 op lists"):
        resolve_candidates({"normal": [["skip_connect"]] * 13, "reduce": [["skip_connect"]] * 14})
    with pytest.raises(StateError):
        tiny("darts").discretize(0, 0).perturb(0, 1)
