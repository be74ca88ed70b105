"""Proxies leave the network exactly as they found it, handle degenerate networks, and chunk exactly."""
from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from torch import nn

from zcpt_analysis.proxies import DegenerateNetworkWarning, compute_proxy, get_proxy, proxy_names
from zcpt_analysis.spaces.nb201 import NB201Network, NB201Supernet

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
               "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs", "_state_dict_hooks",
               "_load_state_dict_pre_hooks")


def snapshot(net: nn.Module) -> dict:
    """Everything a proxy must not change, by value and identity."""
    return {
        "params": [(n, id(p), p.detach().clone(), p.dtype, p.device, p.requires_grad,
                    None if p.grad is None else (id(p.grad), p.grad.clone())) for n, p in net.named_parameters()],
        "buffers": [(n, id(b), b.clone(), b.dtype) for n, b in net.named_buffers()],
        "modules": [(n, m.training, tuple(len(getattr(m, d, {})) for d in _HOOK_DICTS), sorted(m.__dict__))
                    for n, m in net.named_modules()],
    }


def assert_same(before: dict, after: dict) -> None:
    assert len(before["params"]) == len(after["params"])
    for b, a in zip(before["params"], after["params"]):
        assert b[0] == a[0] and b[1] == a[1] and b[3:6] == a[3:6], b[0]
        assert torch.equal(b[2], a[2]), f"parameter {b[0]} changed"
        if b[6] is None:
            assert a[6] is None, f".grad of {b[0]} was created"
        else:
            assert a[6] is not None and b[6][0] == a[6][0] and torch.equal(b[6][1], a[6][1]), f".grad of {b[0]}"
    for b, a in zip(before["buffers"], after["buffers"], strict=True):
        assert b[0] == a[0] and b[1] == a[1] and b[3] == a[3] and torch.equal(b[2], a[2]), f"buffer {b[0]} changed"
    assert before["modules"] == after["modules"]


def _dress(net: nn.Module) -> nn.Module:
    """A network in a non-default state: mixed train/eval modules, a frozen weight, existing
    .grad fields, a user hook and a seen-before BatchNorm."""
    net.train()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    convs[1].weight.requires_grad_(False)
    first_bn = next(m for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    first_bn.eval()
    with torch.no_grad():
        first_bn.running_mean.add_(0.3)
    for p in list(net.parameters())[:3]:
        p.grad = torch.full_like(p, 0.5)
    convs[0].register_forward_hook(lambda mod, inp, out: None)
    return net


OPTION_SETS = {
    "synflow": [{}, {"log": True}],
    "snip": [{}, {"chunk_size": 3, "mode": "train"}],
    "grasp": [{}, {"chunk_size": 3}],
    "fisher": [{}, {"chunk_size": 3, "mode": "eval"}],
    "grad_norm": [{}, {"mode": "eval"}],
    "jacob_cov": [{}, {"mode": "train", "chunk_size": 5}],
    "nwot": [{}, {"mode": "train", "hooks": "published"}, {"chunk_size": 5}],
    "params": [{}],
    "flops": [{}, {"mode": "train"}],
    "meco": [{}, {"hooks": "published"}, {"chunk_size": 3, "mode": "eval"}],
    "zico": [{}, {"gradients": "cumulative", "splits": 3}],
    "swap": [{}, {"init": "gaussian", "repeats": 2}, {"regular": True, "mu": 1.0, "sigma": 10.0}],
    "zen": [{}, {"bn": "running", "repeats": 2}, {"init": "network", "mode": "eval"}],
    "epe_nas": [{}, {"chunk_size": 3, "mode": "eval"}],
    "l2_norm": [{}],
    "plain": [{}, {"chunk_size": 3, "mode": "train"}],
    "ntk": [{}, {"params": "published", "num_samples": 4}],
    "ensemble": [{}, {"proxies": "meco,zico:splits=2"}],
}


def test_every_proxy_has_state_test_options():
    assert set(OPTION_SETS) == set(proxy_names())


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_no_side_effects_on_supernet(name, tiny_batch, monkeypatch):
    x, y = tiny_batch
    net = _dress(NB201Supernet(C=4, N=1, num_classes=10, seed=0))
    net.supernet_mode = "published"  # zero-weight ops run on zeroed inputs: extra ReLU calls, extra graph
    net.perturb(0, "nor_conv_3x3")
    net.discretize(3, "skip_connect")
    arch = net.arch_state_dict()
    before = snapshot(net)

    def no_deepcopy(*args, **kwargs):
        raise AssertionError("a proxy deep-copied the network")

    monkeypatch.setattr(copy, "deepcopy", no_deepcopy)
    for options in OPTION_SETS[name]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = compute_proxy(name, net, x, y, **options)
        if get_proxy(name).relative:  # the ensemble: one finite component score per component
            assert value.names and all(math.isfinite(v) for v in value), (name, options, value)
        else:
            assert isinstance(value, float) and math.isfinite(value), (name, options, value)
        assert_same(before, snapshot(net))
    after = net.arch_state_dict()
    assert torch.equal(arch["alpha"], after["alpha"]) and arch["chosen"] == after["chosen"]
    assert arch["removed"] == after["removed"]


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_no_side_effects_on_float64_network(name):
    gen = torch.Generator().manual_seed(2)
    net = _dress(NB201Network("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
                              C=4, N=1).double())
    x, y = torch.randn(6, 3, 12, 12, generator=gen, dtype=torch.float64), torch.randint(0, 10, (6,), generator=gen)
    before = snapshot(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute_proxy(name, net, x, y)
    assert_same(before, snapshot(net))


def test_degenerate_all_none_network_gives_documented_values(tiny_batch):
    x, y = tiny_batch
    net = NB201Network(ALL_NONE, C=4, N=1)
    expected = {"nwot": -math.inf, "jacob_cov": -math.inf, "synflow": 0.0, "snip": 0.0, "grad_norm": 0.0,
                "grasp": 0.0}
    for name, value in expected.items():
        with pytest.warns(DegenerateNetworkWarning):
            assert compute_proxy(name, net, x, y) == value, name
    with pytest.warns(DegenerateNetworkWarning):
        assert compute_proxy("synflow", net, x, log=True) == -math.inf
    for mode in ("train", "eval"):
        with pytest.warns(DegenerateNetworkWarning):
            assert compute_proxy("nwot", net, x, mode=mode, hooks="published") == -math.inf
    # fisher still sees the classifier's bias in its output activation: finite, non-negative
    assert 0.0 <= compute_proxy("fisher", net, x, y) < math.inf
    assert compute_proxy("params", net, x) > 0 and compute_proxy("flops", net, x) > 0


def test_degenerate_supernet_state_and_nan_free_selection(tiny_batch):
    x, _ = tiny_batch
    net = NB201Supernet(C=4, N=1, num_classes=10, seed=0)
    for e in range(6):
        net.discretize(e, "none")
    with pytest.warns(DegenerateNetworkWarning):
        assert compute_proxy("nwot", net, x) == -math.inf
    net.undo().undo()  # edge 3<-2 reads node 2, which is still zero: still degenerate
    with pytest.warns(DegenerateNetworkWarning):
        assert compute_proxy("nwot", net, x) == -math.inf
    net.undo()  # edge 3<-0 computes from the input again
    assert math.isfinite(compute_proxy("nwot", net, x))


@pytest.mark.parametrize("supernet_mode, hooks", [("fast", "relu"), ("published", "published")])
def test_nwot_chunked_equals_unchunked_exactly(tiny_batch, supernet_mode, hooks):
    x, _ = tiny_batch
    net = NB201Supernet(C=4, N=1, num_classes=10, seed=0)
    net.supernet_mode = supernet_mode
    full = compute_proxy("nwot", net, x, hooks=hooks)
    for chunk in (3, 5):
        assert compute_proxy("nwot", net, x, hooks=hooks, chunk_size=chunk) == full, chunk
    if supernet_mode == "fast":  # train-mode BatchNorm uses per-chunk statistics: documented as not exact
        assert compute_proxy("nwot", net, x, mode="train", chunk_size=4) != compute_proxy("nwot", net, x, mode="train")


@pytest.mark.parametrize("name", ["snip", "grad_norm", "grasp", "fisher", "jacob_cov"])
def test_gradient_proxies_chunk_exactly_without_batch_coupling(name, tiny_batch):
    x, y = tiny_batch
    net = NB201Supernet(C=4, N=1, num_classes=10, seed=0).double()
    x = x.double()
    full = compute_proxy(name, net, x, y, mode="eval")
    for chunk in (3, 5):
        assert compute_proxy(name, net, x, y, mode="eval", chunk_size=chunk) == pytest.approx(full, rel=1e-9)


def test_proxy_modes_change_batchnorm_behaviour(tiny_batch):
    x, y = tiny_batch
    net = NB201Network("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
                       C=4, N=1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.fill_(0.5)
    assert compute_proxy("nwot", net, x, mode="eval") != compute_proxy("nwot", net, x, mode="train")
    net.eval()
    assert compute_proxy("nwot", net, x, mode="as-is") == compute_proxy("nwot", net, x, mode="eval")
    assert compute_proxy("fisher", net, x, y) == compute_proxy("fisher", net, x, y, mode="train")
    assert get_proxy("fisher").default_mode == "train" and get_proxy("nwot").default_mode == "eval"


def test_device_argument_round_trip(tiny_batch):
    x, y = tiny_batch
    net = NB201Supernet(C=4, N=1, num_classes=10, seed=0)
    before = snapshot(net)
    assert compute_proxy("snip", net, x, y, device="cpu") == compute_proxy("snip", net, x, y)
    assert_same(before, snapshot(net))
    if torch.cuda.is_available():  # pragma: no cover - exercised on GPU machines
        on_gpu = compute_proxy("nwot", net, x, device="cuda")
        assert on_gpu == compute_proxy("nwot", net, x)
        assert_same(before, snapshot(net))
