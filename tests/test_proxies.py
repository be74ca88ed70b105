"""Zero-cost proxies: exact values on hand-checkable networks, registry, errors, NaN/inf policy."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from zcpt_analysis.errors import UnknownNameError
from zcpt_analysis.proxies import (DegenerateNetworkWarning, ProxyInputError, ProxyNaNWarning, compute_proxy,
                                  get_proxy, nan_safe_argbest, proxy_names, ranking_value)
from zcpt_analysis.proxies.jacob_cov import jacob_cov_from_jacobian
from zcpt_analysis.proxies.nwot import hooked_modules, nwot_kernel
from zcpt_analysis.searches.op_selection import select


def _linear(weight, bias=None) -> nn.Linear:
    w = torch.tensor(weight, dtype=torch.float64)
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None).double()
    with torch.no_grad():
        layer.weight.copy_(w)
        if bias is not None:
            layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    return layer


class ReLUBlock(nn.Module):
    """A wrapper whose type name contains 'ReLU' (hooked by hooks='published', like ReLUConvBN)."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x)


# --------------------------------------------------------------------------------------- nwot
# Layer 1 pre-activations h = W1 x for x1=(1,0), x2=(0,1), x3=(1,1):
#   (1,0,1) -> code 101;  (0,1,-2) -> 010;  (1,1,-1) -> 110.
# K_ij = 3 - Hamming: K = [[3,0,1],[0,3,2],[1,2,3]], det K = 3*5 - 0 + 1*(0-3) = 12.
W1 = [[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]]
X3 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
K_HAND = torch.tensor([[3.0, 0.0, 1.0], [0.0, 3.0, 2.0], [1.0, 2.0, 3.0]], dtype=torch.float64)


def test_nwot_kernel_and_score_by_hand():
    net = nn.Sequential(_linear(W1), nn.ReLU(), _linear([[1.0, 1.0, 1.0]]))
    kernel, calls = nwot_kernel(net, X3)
    assert calls == 1 and torch.equal(kernel, K_HAND)
    assert compute_proxy("nwot", net, X3) == pytest.approx(math.log(12.0), rel=1e-12)


def test_nwot_sums_layers_and_published_hooks_count_wrappers_twice():
    # second ReLU on h2 = W2 relu(h1) with W2 = [[1,-1,0],[0,0,1]]: relu(h1) = (1,0,1), (0,1,0), (1,1,0)
    # h2 = (1,1), (-1,0), (0,0) -> codes 11, 00, 00: K2 = [[2,0,0],[0,2,2],[0,2,2]]
    net = nn.Sequential(_linear(W1), nn.ReLU(), _linear([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]), nn.ReLU())
    k2 = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 2.0], [0.0, 2.0, 2.0]], dtype=torch.float64)
    kernel, _ = nwot_kernel(net, X3)
    assert torch.equal(kernel, K_HAND + k2)
    assert compute_proxy("nwot", net, X3) == pytest.approx(math.log(torch.det(K_HAND + k2).item()), rel=1e-12)
    wrapped = nn.Sequential(_linear(W1), ReLUBlock())
    assert len(hooked_modules(wrapped, "relu")) == 1 and len(hooked_modules(wrapped, "published")) == 2
    kernel_pub, calls = nwot_kernel(wrapped, X3, hooks="published")
    assert calls == 2 and torch.equal(kernel_pub, 2 * K_HAND)
    assert compute_proxy("nwot", wrapped, X3, hooks="published") == pytest.approx(math.log(8 * 12.0), rel=1e-12)


def test_nwot_repeated_input_is_degenerate_minus_inf():
    net = nn.Sequential(_linear(W1), nn.ReLU())
    x = torch.cat([X3, X3[:1]])  # the first input twice: identical codes, singular K
    with pytest.warns(DegenerateNetworkWarning, match="singular"):
        assert compute_proxy("nwot", net, x) == -math.inf


def test_nwot_needs_a_relu():
    with pytest.raises(ProxyInputError, match="no nn.ReLU"):
        compute_proxy("nwot", nn.Sequential(_linear(W1)), X3)


# ------------------------------------------------------------------------------------ synflow
def test_synflow_by_hand_two_layer_mlp():
    # |W1| = [[1,2],[3,4]], |W2| = [[1,2]], input ones: h = (3,7), R = 3 + 14 = 17;
    # layer 2: sum |W2 * h| = 3 + 14 = 17; layer 1: sum_ij |W1_ij| * W2_i = 3*1 + 7*2 = 17 -> 34.
    net = nn.Sequential(_linear([[1.0, -2.0], [3.0, 4.0]]), nn.ReLU(), _linear([[-1.0, 2.0]]))
    assert compute_proxy("synflow", net, torch.zeros(5, 2)) == 34.0
    assert compute_proxy("synflow", net, torch.zeros(5, 2), log=True) == pytest.approx(math.log(34.0), rel=1e-15)


def test_synflow_by_hand_with_biases_and_batchnorm_disabled():
    # |b1| = (1, 0.5): h = (3+1, 7+0.5) = (4, 7.5); R = 4 + 15 + |b2| = 22 (BatchNorm is the identity)
    # layer 2: 1*4 + 2*7.5 = 19; layer 1: 3*1 + 7*2 = 17 -> 36 (biases are not scored).
    bn = nn.BatchNorm1d(2).double()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([5.0, -5.0]))
        bn.running_var.copy_(torch.tensor([9.0, 4.0]))
        bn.weight.copy_(torch.tensor([-2.0, 3.0]))
        bn.bias.copy_(torch.tensor([7.0, 7.0]))
    net = nn.Sequential(_linear([[1.0, -2.0], [3.0, 4.0]], [-1.0, 0.5]), bn, nn.ReLU(),
                        _linear([[-1.0, 2.0]], [-3.0]))
    for mode in ("train", "eval"):  # train-mode BatchNorm1d at batch 1 would even raise if it ran
        net.train(mode == "train")
        assert compute_proxy("synflow", net, torch.zeros(4, 2)) == 36.0
    assert compute_proxy("synflow", net.float(), torch.zeros(4, 2)) == 36.0  # float64 whatever the net's dtype


# ------------------------------------------------------ snip / grad_norm / grasp / fisher / jacob_cov
# One Linear layer W = (2, -3), inputs x1 = (1, 2), x2 = (0, 1), loss L = 0.5 * mean(out^2):
#   out = (-4, -3); dL/dW = mean_n out_n x_n = (-2, -5.5)
#   snip = |2*-2| + |-3*-5.5| = 20.5;  grad_norm = sqrt(4 + 30.25)
#   H = mean_n x_n x_n^T = [[0.5, 1], [1, 2.5]];  Hg = (-6.5, -15.75);  grasp = -(2*-6.5 + -3*-15.75) = -34.25
#   fisher: dL/dout_n = out_n / 2 = (-2, -1.5); g_n = out_n * dL/dout_n = (8, 4.5);
#           0.5 * mean(64, 20.25) = 21.0625, times fan-in 2 -> 42.125
#   jacob_cov: both Jacobian rows are W -> corr = [[1,1],[1,1]], eigenvalues {0, 2}.
XL = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
YL = torch.tensor([0, 0])


def _half_mse(out, _targets):
    return 0.5 * (out ** 2).mean()


@pytest.mark.parametrize("chunk_size", [None, 1])
def test_loss_proxies_by_hand(chunk_size):
    net = _linear([[2.0, -3.0]])
    opts = dict(loss_fn=_half_mse, chunk_size=chunk_size)
    assert compute_proxy("snip", net, XL, YL, **opts) == pytest.approx(20.5, rel=1e-12)
    assert compute_proxy("grad_norm", net, XL, YL, **opts) == pytest.approx(math.sqrt(34.25), rel=1e-12)
    assert compute_proxy("grasp", net, XL, YL, **opts) == pytest.approx(-34.25, rel=1e-12)
    assert compute_proxy("fisher", net, XL, YL, **opts) == pytest.approx(42.125, rel=1e-12)
    k = 1e-5
    expected = -(math.log(0 + k) + 1 / (0 + k) + math.log(2 + k) + 1 / (2 + k))
    assert compute_proxy("jacob_cov", net, XL, chunk_size=chunk_size) == pytest.approx(expected, rel=1e-9)


def test_sum_reduced_loss_weights_chunks_by_one():
    net = _linear([[2.0, -3.0]])

    def half_sse(out, _targets):
        return 0.5 * (out ** 2).sum()

    full = compute_proxy("snip", net, XL, YL, loss_fn=half_sse, loss_reduction="sum")
    assert full == pytest.approx(41.0, rel=1e-12)  # twice the mean-loss value
    assert compute_proxy("snip", net, XL, YL, loss_fn=half_sse, loss_reduction="sum", chunk_size=1) == full


def test_params_and_flops_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 10))
    x = torch.randn(6, 3, 8, 8)
    assert compute_proxy("params", net, x) == 3 * 4 * 9 + 4 * 64 * 10 + 10
    # conv: 2 * (4 out channels * 27 MACs) per output pixel * 64 pixels; linear: 2 * 256 * 10
    assert compute_proxy("flops", net, x) == 2 * 4 * 27 * 64 + 2 * 256 * 10
    assert compute_proxy("flops", net, x, per_sample=False) == 6 * (2 * 4 * 27 * 64 + 2 * 256 * 10)


def test_jacob_cov_degenerate_and_undefined_cases():
    assert jacob_cov_from_jacobian(torch.zeros(4, 6)) == (-math.inf, jacob_cov_from_jacobian(torch.zeros(4, 6))[1])
    assert jacob_cov_from_jacobian(torch.zeros(4, 6))[1] is not None
    partly = torch.randn(4, 6)
    partly[1] = 0.0
    value, reason = jacob_cov_from_jacobian(partly)
    assert math.isnan(value) and reason is None


# ------------------------------------------------------------------------------- registry
def test_registry_names_metadata_and_errors():
    names = proxy_names()
    assert names == ["synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "params", "flops",
                     "meco", "zico", "swap", "zen", "epe_nas", "l2_norm", "plain", "ntk", "ensemble"]
    for name in names:
        spec = get_proxy(name)
        assert spec.name == name and spec.higher_is_better and spec.cost and spec.chunking
    assert [n for n in names if get_proxy(n).needs_labels] == ["snip", "grasp", "fisher", "grad_norm", "zico",
                                                                "epe_nas", "plain"]
    assert not get_proxy("nwot").needs_gradients and get_proxy("jacob_cov").needs_gradients
    assert get_proxy(" NWOT ").name == "nwot"
    with pytest.raises(UnknownNameError, match="unknown proxy 'naswot'; valid proxies: synflow, snip"):
        get_proxy("naswot")


def test_registration_facts_are_data_and_registry_imports_no_proxy():
    import ast
    from pathlib import Path

    from zcpt_analysis.errors import ZcptError
    from zcpt_analysis.proxies import registry
    from zcpt_analysis.proxies.registry import check_batch_size, check_options

    nwot, jacob_cov, swap = get_proxy("nwot"), get_proxy("jacob_cov"), get_proxy("swap")
    assert (nwot.min_batch, jacob_cov.min_batch, get_proxy("synflow").min_batch) == (2, 2, 1)
    assert "activation codes" in nwot.min_batch_reason
    with pytest.raises(ZcptError, match="too small for nwot: it needs at least 2 images"):
        check_batch_size("nwot", 1)
    assert dict(nwot.naswot_options) == {"mode": "train"} and dict(nwot.published_zcpt_options) == {"hooks": "published"}
    assert dict(nwot.option_choices) == {"hooks": ("relu", "published")}
    with pytest.raises(ZcptError, match="hooks"):
        check_options("nwot", {"hooks": "relu6"})
    assert swap.reference_label == "swap:regular=true" and get_proxy("snip").reference_label == "snip"
    assert [n for n in proxy_names() if get_proxy(n).batched_engine == "fast_nwot"] == ["nwot"]
    assert {n: get_proxy(n).batched_kind for n in proxy_names() if get_proxy(n).batched_engine == "fast_gradients"} \
        == {"synflow": "synaptic-flow", "snip": "weight-saliency", "fisher": "channel-fisher",
            "grad_norm": "weight-saliency", "jacob_cov": "input-jacobian"}
    assert [n for n in proxy_names() if get_proxy(n).auto_batched] == ["synflow", "nwot"]
    for name in proxy_names():  # only nwot changes settings by default
        if name != "nwot":
            spec = get_proxy(name)
            assert not spec.naswot_options and not spec.published_zcpt_options and not spec.option_choices
    with pytest.raises(TypeError):
        nwot.naswot_options["mode"] = "eval"  # read-only: callers copy it
    # registry.py holds no per-proxy rule and imports no proxy module (no registry <-> proxy import circle)
    tree = ast.parse(Path(registry.__file__).read_text())
    imported = {(node.module or "").split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1
                 and not node.module for alias in node.names}
    proxy_modules = {get_proxy(n).fn.__module__.rsplit(".", 1)[-1] for n in proxy_names()}
    assert imported and not imported & proxy_modules, imported & proxy_modules
    assert not any(isinstance(node, ast.Import) and any("proxies." in a.name for a in node.names)
                   for node in ast.walk(tree))


def test_clear_errors_for_bad_input():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    x = torch.randn(4, 2)
    for name in ("snip", "grasp", "fisher", "grad_norm"):
        with pytest.raises(ProxyInputError, match="needs labels"):
            compute_proxy(name, net, x)
        with pytest.raises(ProxyInputError, match="3 targets for 4 inputs"):
            compute_proxy(name, net, x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(UnknownNameError, match="proxy mode"):
        compute_proxy("nwot", net, x, mode="evaluation")
    with pytest.raises(UnknownNameError, match="nwot hooks option"):
        compute_proxy("nwot", net, x, hooks="relu6")
    with pytest.raises(ProxyInputError, match="non-empty batch"):
        compute_proxy("nwot", net, torch.zeros(0, 2))

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = net

        def forward(self, inp):
            out = self.body(inp)
            return out, out * 2

    with pytest.raises(ProxyInputError, match="output_index"):
        compute_proxy("snip", TwoHeads(), x, torch.zeros(4, dtype=torch.long))
    two = compute_proxy("snip", TwoHeads(), x, torch.zeros(4, dtype=torch.long), output_index=1)
    assert two > 0


def test_spec_call_matches_search_calling_convention():
    net = nn.Sequential(_linear(W1), nn.ReLU())
    spec = get_proxy("nwot")
    assert spec.fn(net, X3, None, loss_fn=None, mode="eval") == spec(net, X3) == pytest.approx(math.log(12.0))


# --------------------------------------------------------------------------------- policy
def test_nan_never_wins_and_minus_inf_is_ordinary():
    scores = {"a": math.nan, "b": 1.0, "c": -math.inf, "d": 2.0}
    assert nan_safe_argbest(scores) == "d" and nan_safe_argbest(scores, higher_is_better=False) == "c"
    assert nan_safe_argbest([math.nan, 3.0, 5.0]) == 2
    assert ranking_value(math.nan) == -math.inf and ranking_value(math.nan, higher_is_better=False) == math.inf
    assert select({"a": math.nan, "b": 1.0}, maximize=True) == "b"
    assert select({"b": 1.0, "a": math.nan}, maximize=False) == "b"
    with pytest.raises(ProxyInputError):
        nan_safe_argbest({"a": math.nan})


def test_nan_scores_warn():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * math.nan

    with pytest.warns(ProxyNaNWarning):
        assert math.isnan(compute_proxy("snip", Broken(), torch.randn(3, 2), torch.zeros(3, dtype=torch.long)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an ordinary finite score emits no warning
        compute_proxy("grad_norm", nn.Linear(2, 2), torch.randn(3, 2), torch.zeros(3, dtype=torch.long))
