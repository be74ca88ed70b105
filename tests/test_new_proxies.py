"""The proxies published since the paper (meco, zico, swap, zen, epe_nas, l2_norm, plain, ntk) and the
rank-average ensemble: each against an independent float64 re-implementation of its published
definition on small fixed networks (deep copies, ``.backward()`` into ``.grad``, NumPy linear
algebra, as the published code), and against values computed by hand.
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcpt_analysis.proxies import (ComponentScores, DegenerateNetworkWarning, ProxyInputError, comparable,
                                   compute_proxy, get_proxy, parse_proxy_variant, rank_average)
from zcpt_analysis.errors import ZcptError
from zcpt_analysis.runtime import derive_seed
from zcpt_analysis.spaces.nb201 import NB201Network

RTOL = 1e-6
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def net64():
    """A small NB201 network (C=4, N=1) in float64, train mode, fixed weights."""
    torch.manual_seed(3)
    return NB201Network(ARCH, C=4, N=1).double()


@pytest.fixture(scope="module")
def batch64():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(10, 3, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 2, 0, 3, 1, 2, 2, 5])
    return x, y


def _scored(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# ----------------------------------------------------------------------------- meco
def ref_meco(net_orig, x, published=False):
    net = copy.deepcopy(net_orig)
    values = []

    def hook(module, inp, out):
        if published:
            fea = out[0].detach().numpy()
            corr = np.corrcoef(fea.reshape(fea.shape[0], -1)) if fea.ndim else np.array([[np.nan]])
            corr = np.atleast_2d(corr)
            corr[~np.isfinite(corr)] = 0
            v = np.min(np.real(np.linalg.eig(corr)[0]))
            if np.isfinite(v):
                values.append(v)
        else:
            per_sample = []
            for n in range(out.shape[0]):
                f = out[n].detach().numpy().reshape(out.shape[1], -1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    corr = np.corrcoef(f)
                corr[~np.isfinite(corr)] = 0
                per_sample.append(np.linalg.eigvalsh(corr)[0])
            values.append(np.mean(per_sample))

    modules = [m for _, m in net.named_modules()] if published else [m for m in net.modules()
                                                                      if isinstance(m, nn.Conv2d)]
    for m in modules:
        m.register_forward_hook(hook)
    with torch.no_grad(), np.errstate(invalid="ignore", divide="ignore"):
        net(x)
    return float(np.sum(values))


def test_meco_matches_reference(net64, batch64):
    x, _ = batch64
    assert compute_proxy("meco", net64, x) == pytest.approx(ref_meco(net64, x), rel=RTOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = ref_meco(net64, x, published=True)
    assert compute_proxy("meco", net64, x, hooks="published") == pytest.approx(expected, rel=RTOL)


def test_meco_hand_value_and_options():
    # channels a and a + b of orthogonal, equal-variance a, b: correlation 1/sqrt(2), lambda_min = 1 - 1/sqrt(2)
    conv = nn.Conv2d(2, 2, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]).reshape(2, 2, 1, 1))
    x = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]], [[1.0, 1.0], [-1.0, -1.0]]]], dtype=torch.float64)
    assert compute_proxy("meco", conv, x) == pytest.approx(1 - 1 / math.sqrt(2), rel=1e-12)
    # a constant channel has no correlation: its row is 0, lambda_min = 0
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]).reshape(2, 2, 1, 1))
    assert compute_proxy("meco", conv, x) == 0.0
    two = torch.cat([x, 2 * x])  # per-sample mean over the batch, chunking exact without BatchNorm
    assert compute_proxy("meco", conv, two, chunk_size=1) == compute_proxy("meco", conv, two)
    with pytest.raises(ProxyInputError, match="samples='mean' needs hooks='conv'"):
        compute_proxy("meco", conv, x, hooks="published", samples="mean")
    with pytest.raises(ProxyInputError, match="nn.Conv2d layers; the network has none"):
        compute_proxy("meco", nn.Linear(2, 2), torch.randn(3, 2))


# ----------------------------------------------------------------------------- zico
def ref_zico(net_orig, x, y, splits, cumulative=False, loss_fn=F.cross_entropy):
    net = copy.deepcopy(net_orig)
    net.train()
    parts = np.array_split(np.arange(x.shape[0]), splits)
    grads = {i: [] for i, _ in enumerate(_scored(net))}
    net.zero_grad()
    for idx in parts:
        if not cumulative:
            net.zero_grad()
        loss_fn(net(x[idx]), y[idx]).backward()
        for i, m in enumerate(_scored(net)):
            g = m.weight.grad
            grads[i].append(np.zeros(m.weight.numel()) if g is None else g.detach().numpy().reshape(-1).copy())
    total = 0.0
    for i in grads:
        g = np.array(grads[i])
        std = np.std(g, axis=0)
        nz = np.nonzero((g != g[0]).any(axis=0))[0]  # exactly-constant columns (np.std may give 1e-19 there)
        s = np.sum(np.mean(np.abs(g), axis=0)[nz] / std[nz])
        if s != 0:
            total += np.log(s)
    return total


def test_zico_matches_reference(net64, batch64):
    x, y = batch64
    assert compute_proxy("zico", net64, x, y) == pytest.approx(ref_zico(net64, x, y, 2), rel=RTOL)
    assert compute_proxy("zico", net64, x, y, splits=3, gradients="cumulative") == pytest.approx(
        ref_zico(net64, x, y, 3, cumulative=True), rel=RTOL)


def test_zico_hand_value_and_errors():
    # L = mean(output_0): dL/dW = [[mean x], [0]]; parts x=1 and x=3: weight 0 has mean|g| 2 and std 1
    lin = nn.Linear(1, 2, bias=False).double()
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    y = torch.zeros(2, dtype=torch.long)
    assert compute_proxy("zico", lin, x, y, loss_fn=lambda out, t: out[:, 0].mean()) == pytest.approx(math.log(2))
    with pytest.raises(ProxyInputError, match="splits >= 2"):
        compute_proxy("zico", lin, x, y, splits=1)
    with pytest.raises(ProxyInputError, match="only 2 inputs"):
        compute_proxy("zico", lin, x, y, splits=3)
    with pytest.warns(DegenerateNetworkWarning):  # nothing varies: -inf (the published code returns 0)
        assert compute_proxy("zico", lin, torch.ones(2, 1, dtype=torch.float64), y,
                             loss_fn=lambda out, t: out[:, 0].mean()) == -math.inf


# ----------------------------------------------------------------------------- swap
def ref_swap(net_orig, x):
    net = copy.deepcopy(net_orig)
    feats = []
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: feats.append(out.detach()) if inp[0].dim() == 4 else None)
    with torch.no_grad():
        net(x)
    act = np.sign(torch.cat([f.reshape(x.shape[0], -1) for f in feats], 1).numpy())
    return float(np.unique(act.T, axis=0).shape[0])


def test_swap_matches_reference(net64, batch64):
    x, _ = batch64
    assert compute_proxy("swap", net64, x) == ref_swap(net64, x)
    big = torch.randn(70, 3, 6, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    assert compute_proxy("swap", net64, big) == ref_swap(net64, big)  # patterns of 70 samples: two packed words
    theta = sum(p.numel() for p in net64.parameters()) / 1e3
    assert compute_proxy("swap", net64, x, regular=True, mu=theta + 1.0, sigma=2.0) == pytest.approx(
        ref_swap(net64, x) * math.exp(-1.0 / 2.0), rel=1e-12)


def test_swap_hand_value_and_published_init():
    conv = nn.Conv2d(1, 1, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
    net = nn.Sequential(conv, nn.ReLU())
    # units (positions) over 3 samples: (1,1,0), (0,1,1), (1,1,0) -> 2 distinct patterns
    x = torch.tensor([[1.0, -1.0, 2.0], [1.0, 1.0, 1.0], [-1.0, 1.0, -3.0]], dtype=torch.float64).reshape(3, 1, 1, 3)
    assert compute_proxy("swap", net, x) == 2.0
    # Gaussian re-init (published) leaves the network untouched and is seeded
    before = conv.weight.clone()
    a = compute_proxy("swap", net, x, init="gaussian", repeats=3, seed=1)
    assert a == compute_proxy("swap", net, x, init="gaussian", repeats=3, seed=1) and torch.equal(conv.weight, before)
    with pytest.raises(ProxyInputError, match="needs mu and sigma"):
        compute_proxy("swap", net, x, regular=True)
    with pytest.raises(ProxyInputError, match="needs init='gaussian'"):
        compute_proxy("swap", net, x, repeats=2)


# ----------------------------------------------------------------------------- zen
def ref_zen(net_orig, x_shape, seed=0, bn="batch", init="gaussian", gamma=1e-2):
    """Zen-NAS's compute_zen_score on a deep copy, the draws taken in the toolkit's documented order."""
    net = copy.deepcopy(net_orig).train()
    gen_w = torch.Generator().manual_seed(derive_seed(seed, "zen-weights", 0))
    with torch.no_grad():
        if init == "gaussian":
            for module in net.modules():
                for name, p in module.named_parameters(recurse=False):
                    if isinstance(module, (nn.Conv2d, nn.Linear)) and name == "weight":
                        p.copy_(torch.randn(p.shape, generator=gen_w))
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                    m.bias.zero_()
                if isinstance(m, nn.BatchNorm2d) and m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
        gen = torch.Generator().manual_seed(derive_seed(seed, "zen-inputs", 0))
        x = torch.randn(x_shape, generator=gen).double()
        eps = torch.randn(x_shape, generator=gen).double()
        feats, sigmas = [], []
        pool = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)][-1]
        pool.register_forward_hook(lambda m, inp, out: feats.append(inp[0]))
        record = [True]
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.register_forward_hook(lambda m, inp, out: sigmas.append(
                    inp[0].permute(1, 0, 2, 3).reshape(inp[0].shape[1], -1).var(1, unbiased=False).mean().sqrt())
                    if record[0] else None)
        net(x)
        record[0] = False
        net(x + gamma * eps)
        delta = (feats[0] - feats[1]).abs().sum(dim=(1, 2, 3)).mean()
        if bn == "batch":
            log_bn = sum(math.log(float(s)) for s in sigmas if s > 0)
        else:
            log_bn = sum(math.log(float(m.running_var.mean().sqrt())) for m in net.modules()
                         if isinstance(m, nn.BatchNorm2d))
    return math.log(float(delta)) + log_bn


def test_zen_matches_reference(net64):
    x = torch.zeros(6, 3, 8, 8, dtype=torch.float64)  # only the shape is used
    for bn in ("batch", "running"):
        assert compute_proxy("zen", net64, x, bn=bn) == pytest.approx(ref_zen(net64, x.shape, bn=bn), rel=RTOL)
    assert compute_proxy("zen", net64, x, init="network") == pytest.approx(
        ref_zen(net64, x.shape, init="network"), rel=RTOL)


def test_zen_hand_relations():
    # a BN-free linear map f = w * x: doubling w adds exactly log 2; a disconnected input gives -inf
    class Linear2d(nn.Module):
        def __init__(self, w):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1, bias=False).double()
            with torch.no_grad():
                self.conv.weight.fill_(w)
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return self.pool(self.conv(x)).flatten(1)

    x = torch.zeros(4, 1, 3, 3, dtype=torch.float64)
    one = compute_proxy("zen", Linear2d(1.0), x, init="network")
    assert compute_proxy("zen", Linear2d(2.0), x, init="network") - one == pytest.approx(math.log(2), abs=1e-12)
    with pytest.warns(DegenerateNetworkWarning):
        assert compute_proxy("zen", Linear2d(0.0), x, init="network") == -math.inf
    with pytest.raises(ProxyInputError, match="AdaptiveAvgPool2d"):
        compute_proxy("zen", nn.Conv2d(1, 1, 1), x)


# ----------------------------------------------------------------------------- epe_nas
def ref_epe(net_orig, x, y):
    """NASLib / EPE-NAS eval_score_perclass on a deep copy."""
    net = copy.deepcopy(net_orig)
    x = x.clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    jacob = x.grad.detach().reshape(x.shape[0], -1).numpy()
    labels, n_classes, k = y.numpy(), out.shape[-1], 1e-5
    per_class = {}
    for i, label in enumerate(labels):
        per_class[label] = np.vstack((per_class[label], jacob[i])) if label in per_class else jacob[i]
    scores = {}
    for c in per_class:
        try:
            corrs = np.corrcoef(per_class[c])
            s = np.sum(np.log(abs(corrs) + k))
            if n_classes > 100:
                s /= len(corrs)
        except Exception:
            continue
        scores[c] = s
    if n_classes <= 100:
        return float(sum(abs(v) for v in scores.values()))
    return float(sum(abs(a - b) for a in scores.values() for b in scores.values()) / len(scores))


def test_epe_nas_matches_reference(net64, batch64):
    x, y = batch64
    assert compute_proxy("epe_nas", net64, x, y) == pytest.approx(ref_epe(net64, x, y), rel=RTOL)
    torch.manual_seed(0)
    many = NB201Network(ARCH, C=4, N=1, num_classes=120).double()  # > 100 classes: pairwise differences
    assert compute_proxy("epe_nas", many, x, y) == pytest.approx(ref_epe(many, x, y), rel=RTOL)


def test_epe_nas_hand_value():
    # a linear network: every Jacobian row is the column sum of W, all correlations 1:
    # E_c = n_c^2 log(1 + k); labels [0, 0, 1] -> (4 + 1) log(1 + 1e-5)
    lin = nn.Linear(2, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))
    x = torch.randn(3, 2, dtype=torch.float64)
    assert compute_proxy("epe_nas", lin, x, torch.tensor([0, 0, 1])) == pytest.approx(5 * math.log(1 + 1e-5))
    with pytest.warns(DegenerateNetworkWarning):
        assert compute_proxy("epe_nas", NB201Network(ALL_NONE, C=4, N=1), torch.randn(4, 3, 8, 8),
                             torch.tensor([0, 1, 0, 1])) == -math.inf


# ----------------------------------------------------------------------------- l2_norm, plain
def test_l2_norm_reference_and_hand_value(net64):
    expected = sum(float(np.linalg.norm(m.weight.detach().numpy().ravel())) for m in _scored(net64))
    assert compute_proxy("l2_norm", net64, None) == pytest.approx(expected, rel=1e-12)
    net = nn.Sequential(nn.Conv2d(1, 1, 2, bias=False), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)  # ||.|| = 2
        net[2].weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||.|| = 5; the bias is not scored
    assert compute_proxy("l2_norm", net, None) == pytest.approx(7.0)


def test_plain_reference_and_hand_value(net64, batch64):
    x, y = batch64
    net = copy.deepcopy(net64)
    F.cross_entropy(net(x), y).backward()
    expected = sum(float((m.weight * m.weight.grad).sum().detach()) for m in _scored(net) if m.weight.grad is not None)
    assert compute_proxy("plain", net64, x, y) == pytest.approx(expected, rel=RTOL)
    lin = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.fill_(2.0)
    x1 = torch.tensor([[1.0], [-4.0]], dtype=torch.float64)  # L = mean(w x): dL/dw = mean x = -1.5, plain = -3
    assert compute_proxy("plain", lin, x1, torch.zeros(2, dtype=torch.long),
                         loss_fn=lambda out, t: out.mean()) == pytest.approx(-3.0)


# ----------------------------------------------------------------------------- ntk
def ref_ntk(net_orig, x, published=False):
    """TE-NAS get_ntk_n on a deep copy: one backward per sample into .grad, numpy eigenvalues."""
    net = copy.deepcopy(net_orig).train()
    logit = net(x)
    rows = []
    for i in range(x.shape[0]):
        net.zero_grad()
        logit[i:i + 1].backward(torch.ones_like(logit[i:i + 1]), retain_graph=True)
        rows.append(torch.cat([W.grad.reshape(-1) for name, W in net.named_parameters()
                               if W.grad is not None and (not published or "weight" in name)]).numpy())
    grads = np.stack(rows)
    eig = np.linalg.eigvalsh(grads @ grads.T)
    return -eig[-1] / eig[0]


def test_ntk_matches_reference(net64, batch64):
    x, _ = batch64
    assert compute_proxy("ntk", net64, x[:6]) == pytest.approx(ref_ntk(net64, x[:6]), rel=1e-6)
    assert compute_proxy("ntk", net64, x, params="published", num_samples=6) == pytest.approx(
        ref_ntk(net64, x[:6], published=True), rel=1e-6)


def test_ntk_hand_value_and_degenerate():
    lin = nn.Linear(2, 1, bias=False).double()  # f = w . x: df/dw = x, NTK = X X^T
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    assert compute_proxy("ntk", lin, x) == pytest.approx(-4.0)  # diag(1, 4): kappa 4
    with pytest.warns(DegenerateNetworkWarning):  # the same input twice: a singular NTK
        assert compute_proxy("ntk", lin, torch.ones(2, 2, dtype=torch.float64)) == -math.inf
    with pytest.raises(ProxyInputError, match="exceeds the minibatch"):
        compute_proxy("ntk", lin, x, num_samples=3)


# ----------------------------------------------------------------------------- ensemble
def test_rank_average_and_comparable_by_hand():
    # three networks, two components: ranks (0, .5, 1) and (1, 0, .5) -> means .5, .25, .75
    assert rank_average([[1.0, 9.0], [2.0, 3.0], [5.0, 4.0]]) == pytest.approx([0.5, 0.25, 0.75])
    # ties share their mean rank; -inf ranks lowest; NaN is left out of that component
    assert rank_average([[1.0, -math.inf], [1.0, 0.0], [math.nan, 5.0]]) == pytest.approx([0.25, 0.5, 1.0])
    a = ComponentScores(["nwot", "synflow"], [1.0, 9.0])
    b = ComponentScores(["nwot", "synflow"], [2.0, 3.0])
    assert comparable({"x": a, "y": b}) == {"x": 0.5, "y": 0.5}
    assert comparable([1.5, 2.5]) == [1.5, 2.5]  # plain scores pass through
    with pytest.raises(ProxyInputError, match="relative"):
        float(a)
    with pytest.raises(ProxyInputError, match="mixes"):
        comparable([a, 1.0])


def test_ensemble_components_and_errors(net64, batch64):
    x, y = batch64
    scores = compute_proxy("ensemble", net64, x, y, proxies="meco,l2_norm")
    assert scores.names == ("meco", "l2_norm")
    assert list(scores) == [compute_proxy("meco", net64, x), compute_proxy("l2_norm", net64, None)]
    assert compute_proxy("ensemble", net64, x, y, proxies=["nwot:mode=train"]).names == ("nwot:mode=train",)
    with pytest.raises(ZcptError, match="unknown synflow proxy option 'hooks'; valid synflow proxy options: mode"):
        compute_proxy("ensemble", net64, x, y, proxies="synflow:hooks=relu")
    with pytest.raises(ProxyInputError, match="set-relative"):
        compute_proxy("ensemble", net64, x, y, proxies="ensemble")
    assert parse_proxy_variant("swap:regular=true:mu=1:sigma=2") == (
        "swap:regular=True:mu=1:sigma=2", "swap", {"regular": True, "mu": 1, "sigma": 2})


def test_registry_metadata_of_new_proxies():
    for name in ("meco", "zico", "swap", "zen", "epe_nas", "l2_norm", "plain", "ntk", "ensemble"):
        spec = get_proxy(name)
        assert spec.higher_is_better and spec.reference and spec.sign
    assert get_proxy("ensemble").relative and not get_proxy("meco").relative
    assert get_proxy("ntk").sign.startswith("negated")
