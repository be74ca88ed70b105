"""DARTS genotypes (formats, validation, named cells), evaluation networks, parameter counts, cell diagrams."""
from __future__ import annotations

import json
import random
import statistics
import xml.etree.ElementTree as ET

import pytest
import torch

from zcpt_analysis.errors import InvalidArchError, UnknownNameError
from zcpt_analysis.spaces.darts import (DartsNetwork, build_network, count_parameters, drop_path, param_count,
                                        random_genotype)
from zcpt_analysis.spaces.genotypes import (DARTS_V1, DARTS_V2, GENOTYPES, Genotype, get_genotype,
                                           parse_genotype)
from zcpt_analysis.viz import cell_diagram_info, cell_figure, cell_svg, genotype_svg

# Verbatim from the DARTS repository's genotypes.py and the Zero-Cost-PT release (list pairs, range()).
DARTS_V2_REPO = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                 "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
                 "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                 "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                 "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
ZCPT_S5_SEED2 = ('Genotype(normal=[["skip_connect", 0], ["sep_conv_5x5", 1], ["sep_conv_5x5", 0], ["sep_conv_5x5", 2], '
                 '["sep_conv_5x5", 0], ["sep_conv_5x5", 2], ["sep_conv_3x3", 0], ["sep_conv_5x5", 3]], '
                 'normal_concat=range(2, 6),  reduce=[["sep_conv_5x5", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], '
                 '["skip_connect", 1], ["sep_conv_5x5", 0], ["sep_conv_5x5", 2], ["sep_conv_3x3", 0], '
                 '["sep_conv_5x5", 1]], reduce_concat=range(2, 6))')
ZCPT_IN_SEED3 = ('Genotype(normal=[["sep_conv_5x5", 0], ["sep_conv_3x3", 1], ["sep_conv_5x5", 0], ["sep_conv_3x3", 2], '
                 '["sep_conv_5x5", 2], ["sep_conv_3x3", 3], ["sep_conv_5x5", 0], ["sep_conv_5x5", 3]], '
                 'normal_concat=range(2, 6), reduce=[["dil_conv_3x3", 0], ["skip_connect", 1], ["sep_conv_5x5", 0], '
                 '["sep_conv_5x5", 1], ["sep_conv_5x5", 0], ["sep_conv_5x5", 1], ["sep_conv_5x5", 0], '
                 '["sep_conv_3x3", 1]], reduce_concat=range(2, 6))')


def test_parses_the_published_strings():
    assert parse_genotype(DARTS_V2_REPO) == DARTS_V2 == get_genotype("DARTS") == GENOTYPES["DARTS_V2"]
    assert parse_genotype(ZCPT_S5_SEED2) == GENOTYPES["ZCPT_RANDOM_C10_SEED2"]
    assert parse_genotype(ZCPT_IN_SEED3) == GENOTYPES["ZCPT_IMAGENET_SEED3"]
    assert DARTS_V1.normal[0] == ("sep_conv_3x3", 1) and DARTS_V1.reduce[-1] == ("avg_pool_3x3", 0)


@pytest.mark.parametrize("genotype", [DARTS_V1, DARTS_V2, GENOTYPES["ZCPT_GLOBAL_OP_ITER_C10_SEED2"],
                                      random_genotype(random.Random(5), "darts-full")])
def test_round_trips(genotype):
    text = json.dumps(genotype.to_json())
    assert Genotype.from_json(json.loads(text)) == genotype
    assert parse_genotype(text) == genotype
    assert parse_genotype(str(genotype)) == genotype and str(genotype).startswith("Genotype(normal=[(")
    # the published networks_pool.json record: the genotype as a JSON string under "genotype"
    assert parse_genotype({"id": "3", "genotype": text}) == genotype
    namedtuple_like = type("G", (), genotype.to_json())()
    assert parse_genotype(namedtuple_like) == genotype
    assert hash(genotype) == hash(parse_genotype(text))


def test_canonical_order_within_a_node():
    swapped = Genotype([DARTS_V2.normal[1], DARTS_V2.normal[0], *DARTS_V2.normal[2:]], (2, 3, 4, 5),
                       DARTS_V2.reduce, (2, 3, 4, 5))
    assert swapped != DARTS_V2 and swapped.same_architecture(DARTS_V2)
    assert swapped.canonical() == DARTS_V2.canonical() and not DARTS_V1.same_architecture(DARTS_V2)
    assert DARTS_V2.node_inputs("normal")[3] == (("skip_connect", 0), ("dil_conv_3x3", 2))


@pytest.mark.parametrize("bad, message", [
    ({**DARTS_V2.to_json(), "normal": [["sep_conv_3x3", 2]] + DARTS_V2.to_json()["normal"][1:]}, "cannot take input 2"),
    ({**DARTS_V2.to_json(), "normal": DARTS_V2.to_json()["normal"][:7]}, "two \\(op, input\\) pairs"),
    ({**DARTS_V2.to_json(), "reduce": [["conv_9x9", 0]] + DARTS_V2.to_json()["reduce"][1:]}, "unknown op 'conv_9x9'"),
    ({k: v for k, v in DARTS_V2.to_json().items() if k != "reduce_concat"}, "missing field"),
    ({**DARTS_V2.to_json(), "normal_concat": [2, 3, 9]}, "outside"),
    ("Genotype(normal=__import__('os').getcwd(), normal_concat=[2], reduce=[], reduce_concat=[2])", "unsupported"),
    ("Genotype(normal=[('sep_conv_3x3', 0)", "cannot parse"),
    ('{"normal": [', "invalid genotype JSON"),
])
def test_invalid_genotypes_are_rejected(bad, message):
    with pytest.raises(InvalidArchError, match=message):
        parse_genotype(bad)


def test_unknown_name():
    with pytest.raises(UnknownNameError, match="DARTS_V2"):
        parse_genotype("DARTS_V3")
    with pytest.raises(UnknownNameError, match="heavy"):
        build_network(DARTS_V2, "huge")


def test_darts_v2_heavy_parameter_count_is_published_figure():
    net = build_network(DARTS_V2, "heavy")
    assert count_parameters(net) == 3_349_342  # REFERENCE-FACTS; DARTS reports 3.3M
    assert count_parameters(net, exclude_auxiliary=False) > 3_349_342
    assert [c.reduction for c in net.cells].count(True) == 2 and net.cells[6].reduction and net.cells[13].reduction
    keys = net.state_dict().keys()  # DARTS model.py naming (released checkpoints load as they are)
    for key in ("stem.0.weight", "cells.0.preprocess0.op.1.weight", "cells.0._ops.0.op.1.weight",
                "cells.7.preprocess0.conv_1.weight", "auxiliary_head.features.2.weight", "classifier.weight"):
        assert key in keys


def test_published_parameter_counts():
    assert param_count(DARTS_V2, "imagenet") == 4_718_752  # DARTS: 4.7M on ImageNet
    # Table 5 of the paper: Zero-Cost-PT cells average 4.7M (random order) and 4.6M (global-op-iter)
    for prefix, published in (("ZCPT_RANDOM_C10", 4.7), ("ZCPT_GLOBAL_OP_ITER_C10", 4.6)):
        mean = statistics.mean(param_count(GENOTYPES[f"{prefix}_SEED{s}"], "heavy") for s in range(4))
        assert round(mean / 1e6, 1) == published


def test_networks_run_every_op_in_both_cells():
    g = Genotype([("none", 0), ("noise", 1), ("max_pool_3x3", 0), ("avg_pool_3x3", 2), ("skip_connect", 1),
                  ("sep_conv_5x5", 3), ("dil_conv_3x3", 0), ("dil_conv_5x5", 4)], (2, 3, 4, 5),
                 [("skip_connect", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("noise", 2), ("none", 1),
                  ("dil_conv_5x5", 3), ("max_pool_3x3", 1), ("avg_pool_3x3", 4)], (2, 3, 4, 5))
    net = DartsNetwork(g, C=4, layers=3, num_classes=7)
    net.drop_path_prob = 0.2
    logits, aux = net.forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 7)
    net.eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7) and net.forward_with_aux(torch.randn(2, 3, 32, 32))[1] is None
    small = build_network(g, "imagenet", num_classes=5, C=8, layers=3, auxiliary=False).eval()
    assert small(torch.randn(1, 3, 64, 64)).shape == (1, 5)


def test_drop_path_drops_whole_samples():
    torch.manual_seed(0)
    out = drop_path(torch.ones(4000, 2, 2, 2), 0.25)
    per_sample = out.flatten(1)
    assert per_sample.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert (per_sample == 0).all(dim=1).float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert drop_path(torch.ones(3), 0.0).equal(torch.ones(3))


def test_cell_diagrams():
    info = cell_diagram_info(DARTS_V2, "reduce")
    assert [n["id"] for n in info["nodes"]] == ["0", "1", "2", "3", "4", "5", "out"]
    assert len(info["edges"]) == 8 and info["edges"][2] == {"source": "2", "target": "3", "op": "skip_connect",
                                                            "color": info["edges"][2]["color"], "dash": "solid"}
    assert [c["source"] for c in info["concat"]] == ["2", "3", "4", "5"]
    svg = cell_svg(DARTS_V2, "normal")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and "dil_conv_3x3" in svg and svg.count("marker-end") == 8
    assert ET.fromstring(genotype_svg(DARTS_V1)).tag.endswith("svg")
    fig = cell_figure(DARTS_V2)
    assert len(fig.data) == 4 + 8 + 1 and {a.text for a in fig.layout.annotations} >= {"sep_conv_3x3", "dil_conv_3x3"}
