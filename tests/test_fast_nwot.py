"""Batched zc-pt with nwot equals one nwot call per perturbed supernet, in both semantics."""
import pytest
import torch

from zcpt_analysis.proxies.nwot import nwot_kernel
from zcpt_analysis.searches.fast_nwot import FastNwotPerturbations
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.nb201 import NB201Supernet


def _one_by_one(sn, edge, x, hooks):
    out = {}
    for o in sn.remaining_ops(edge):
        with sn.perturbed(edge, o):
            kernel, _ = nwot_kernel(sn, x, hooks=hooks)
        out[sn.candidates[edge][o]] = torch.linalg.slogdet(kernel)[1].item()
    return out


@pytest.mark.parametrize("semantics, hooks", [("fast", "relu"), ("fast", "published"), ("published", "relu"),
                                              ("published", "published"), ("block-input", "relu"),
                                              ("block-input", "published")])
def test_batched_scores_equal_individual_nwot(semantics, hooks):
    sn = NB201Supernet(C=4, N=1, seed=1)
    sn.discretize("2<-1", "nor_conv_3x3").discretize("3<-2", "avg_pool_3x3")
    sn.mode = semantics  # the individual calls run the supernet in the matching mode
    x = torch.randn(12, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    batched = FastNwotPerturbations(sn, hooks=hooks, semantics=semantics)
    for edge in (0, 3):
        assert batched.scores(edge, x) == pytest.approx(_one_by_one(sn, edge, x, hooks), abs=1e-9)
    assert sn.chosen_ops()[2] == "nor_conv_3x3" and sn.undiscretized_edges() == [0, 1, 3, 4]


def test_channels_last_gives_the_same_choice():
    sn = NB201Supernet(C=4, N=1, seed=2)
    x = torch.randn(12, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    plain = FastNwotPerturbations(sn).scores(1, x)
    sn.to(memory_format=torch.channels_last)
    fast = FastNwotPerturbations(sn, channels_last=True).scores(1, x.contiguous(memory_format=torch.channels_last))
    assert min(plain, key=plain.get) == min(fast, key=fast.get)
    assert fast == pytest.approx(plain, rel=1e-6)


def test_works_on_the_darts_space_and_leaves_the_supernet_unchanged():
    sn = get_space("darts-s2").supernet(C=4, layers=3, seed=0)
    before = {k: v.clone() for k, v in sn.state_dict().items()}
    x = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    batched = FastNwotPerturbations(sn).scores(20, x)
    assert batched == pytest.approx(_one_by_one(sn, 20, x, "relu"), abs=1e-9)
    assert all(torch.equal(before[k], v) for k, v in sn.state_dict().items()) and sn.training
