"""NAS-Bench-201 space: Arch conversions, clear errors, standalone network structure."""
import random

import pytest
import torch

from zcpt_analysis.errors import InvalidArchError
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.nb201 import EDGES, OPS, Arch, NB201Network, all_archs, parse_arch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_canonical_orders():
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


def test_arch_string_round_trip_and_indices():
    arch = Arch.from_string(BEST)
    assert arch.ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")
    assert arch.to_string() == BEST and str(arch) == BEST
    assert arch.indices == (3, 3, 3, 1, 3, 2)
    assert Arch.from_indices(arch.indices) == arch
    assert parse_arch(list(arch.ops)) == arch and parse_arch(arch.indices) == arch
    assert arch.op_on("3<-0") == "skip_connect"
    assert hash(arch) == hash(Arch.from_string(BEST))


def test_all_archs_are_distinct_and_complete():
    archs = list(all_archs())
    assert len(archs) == 15625 == len(set(archs))


def test_arch_index_via_benchmark(bench):
    assert Arch.from_string(BEST).index(bench) == 6111
    assert bench.arch_of(6111) == Arch.from_string(BEST)


@pytest.mark.parametrize("text, fragment", [
    ("|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", "unknown op 'conv'"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "valid ops: none, skip_connect"),
    ("|none~0|+|none~0|none~1|", "expected 3 node groups"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must list 2 incoming edge(s), got 1"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "malformed token 'none~1'"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed token 'none0'"),
])
def test_malformed_strings_name_the_bad_token(text, fragment):
    with pytest.raises(InvalidArchError) as err:
        Arch.from_string(text)
    assert fragment in str(err.value)


def test_wrong_number_of_edges_and_bad_indices():
    with pytest.raises(InvalidArchError, match="6 edges"):
        Arch(("none",) * 5)
    with pytest.raises(InvalidArchError, match="expected 6 op indices"):
        Arch.from_indices((0, 1, 2))
    with pytest.raises(InvalidArchError, match="not in 0..4"):
        Arch.from_indices((0, 1, 2, 3, 4, 5))


def test_standalone_network_structure():
    net = NB201Network(BEST)
    cells = [type(c).__name__ for c in net.cells]
    assert cells == ["NB201Cell"] * 5 + ["ResNetBasicblock"] + ["NB201Cell"] * 5 + ["ResNetBasicblock"] + ["NB201Cell"] * 5
    assert net.stem[0].out_channels == 16 and net.classifier.in_features == 64
    # NAS-Bench-201 reports 1.07 M parameters (CIFAR-10) for this architecture
    assert sum(p.numel() for p in net.parameters()) == 1_073_466
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_seeded_networks_are_reproducible_and_leave_global_rng_alone():
    space = get_space("nb201")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = space.network(BEST, num_classes=100, seed=7)
    after = torch.rand(1)
    b = space.network(BEST, num_classes=100, seed=7)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a.classifier.out_features == 100


def test_random_arch_is_seeded():
    space = get_space("nb201")
    assert space.random_arch(random.Random(3)) == space.random_arch(random.Random(3))
