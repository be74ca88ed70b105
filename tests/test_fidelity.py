"""One forward gives nwot of A_0 - (e, o) under every execution / hook semantics, equal to nwot of
the supernet run in that mode (real CIFAR-10 images, tiny supernet)."""
import pytest
import torch

from zcpt_analysis.data import MinibatchSampler
from zcpt_analysis.fidelity import SEMANTICS, perturbation_scores
from zcpt_analysis.proxies.nwot import nwot
from zcpt_analysis.spaces.nb201 import NB201Supernet


def _standard(sn, edge, x, mode, hooks, bn_mode):
    sn.supernet_mode = mode
    try:
        out = {}
        for o in sn.remaining_ops(edge):
            with sn.perturbed(edge, o):
                out[sn.candidates[edge][o]] = nwot(sn, x, hooks=hooks, mode=bn_mode)
        return out
    finally:
        sn.supernet_mode = "fast"


@pytest.mark.parametrize("bn_mode", ["eval", "train"])
def test_every_semantics_equals_the_supernet_run_in_that_mode(cifar_sample, bn_mode):
    sn = NB201Supernet(C=4, N=1, seed=3)
    x, _ = MinibatchSampler(cifar_sample, 12, seed=1).sample()
    before = {k: v.clone() for k, v in sn.state_dict().items()}
    for edge in (3,):
        got = perturbation_scores(sn, edge, x, bn_mode=bn_mode)
        assert set(got) == set(SEMANTICS)
        for name, (mode, hooks) in SEMANTICS.items():
            assert got[name] == pytest.approx(_standard(sn, edge, x, mode, hooks, bn_mode), abs=1e-9), name
    assert all(torch.equal(before[k], v) for k, v in sn.state_dict().items()) and sn.supernet_mode == "fast" and sn.training
    # the semantics differ where the published code's wrapper hook matters: removing a conv
    assert got["block-input"]["nor_conv_1x1"] != got["published-v1"]["nor_conv_1x1"]
    assert got["block-input"]["skip_connect"] == got["published-v1"]["skip_connect"]


def test_only_for_a_0(tiny_supernet):
    tiny_supernet.discretize(1, "nor_conv_3x3")
    with pytest.raises(ValueError, match="for A_0"):
        perturbation_scores(tiny_supernet, 0, torch.randn(4, 3, 16, 16))
