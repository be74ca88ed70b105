"""The exact fast paths of nwot: batched zc-pt, the fused no-grad forward, deduplicated exact kernels.

Every comparison here is *bitwise* (``==`` / ``torch.equal``) against the straightforward path:
one plain module-by-module forward (``fastpath.disabled()``) per perturbed supernet, on real CIFAR-10.
"""
import random

import pytest
import torch
from torch import nn

from zcpt_analysis import fastpath
from zcpt_analysis.data import MinibatchSampler
from zcpt_analysis.proxies import code_gram
from zcpt_analysis.proxies import nwot as nwot_module
from zcpt_analysis.proxies.nwot import hooked_modules, nwot, nwot_kernel
from zcpt_analysis.searches.fast_nwot import FastNwotPerturbations
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.nb201 import NB201Network, NB201Supernet

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def real_batch(cifar_sample):
    return MinibatchSampler(cifar_sample, 12, seed=3).sample()[0]


def _plain_scores(sn, edge, x, hooks):
    out = {}
    with fastpath.disabled():
        for o in sn.remaining_ops(edge):
            with sn.perturbed(edge, o):
                kernel, _ = nwot_kernel(sn, x, hooks=hooks)
            out[sn.candidates[edge][o]] = torch.linalg.slogdet(kernel)[1].item()
    return out


@pytest.mark.parametrize("semantics, hooks", [("fast", "relu"), ("fast", "published"), ("published", "relu"),
                                              ("published", "published"), ("block-input", "relu"),
                                              ("block-input", "published")])
def test_batched_scores_equal_individual_plain_nwot_bitwise(real_batch, semantics, hooks):
    sn = NB201Supernet(C=4, N=1, seed=1)
    sn.discretize("2<-1", "nor_conv_3x3").discretize("3<-2", "avg_pool_3x3")
    sn.supernet_mode = semantics  # the individual calls run the supernet in the matching mode
    batched = FastNwotPerturbations(sn, hooks=hooks, supernet_mode=semantics)
    for edge in (0, 3):
        assert batched.scores(edge, real_batch) == _plain_scores(sn, edge, real_batch, hooks)
    assert sn.chosen_ops()[2] == "nor_conv_3x3" and sn.undiscretized_edges() == [0, 1, 3, 4]


def test_channels_last_gives_the_same_choice(real_batch):
    sn = NB201Supernet(C=4, N=1, seed=2)
    plain = FastNwotPerturbations(sn).scores(1, real_batch)
    sn.to(memory_format=torch.channels_last)
    fast = FastNwotPerturbations(sn, channels_last=True).scores(1, real_batch.contiguous(
        memory_format=torch.channels_last))
    assert min(plain, key=plain.get) == min(fast, key=fast.get)
    assert fast == pytest.approx(plain, rel=1e-6)


def test_works_on_the_darts_space_and_leaves_the_supernet_unchanged(real_batch):
    sn = get_space("darts-s2").supernet(C=4, layers=3, seed=0)
    before = {k: v.clone() for k, v in sn.state_dict().items()}
    batched = FastNwotPerturbations(sn).scores(20, real_batch)
    assert batched == _plain_scores(sn, 20, real_batch, "relu")
    assert all(torch.equal(before[k], v) for k, v in sn.state_dict().items()) and sn.training


# ------------------------------------------------------------------------------ fused forward
def _forward_record(net, x, fwd=None):
    """Output and, per hooked ReLU call, (module, codes) of a no-grad forward."""
    calls = []
    hooks = [m.register_forward_pre_hook(lambda m, a: calls.append((m, a[0] > 0)))
             for m in hooked_modules(net, "published")]
    try:
        with torch.no_grad():
            out = (fwd or net)(x)
    finally:
        for h in hooks:
            h.remove()
    return out, calls


def _assert_fused_equals_plain(net, x, fwd=None):
    with fastpath.disabled():
        plain, plain_calls = _forward_record(net, x, fwd)
    fused, fused_calls = _forward_record(net, x, fwd)
    assert torch.equal(plain, fused)
    # the same hooked calls with the same codes (the fused forward visits nodes in another order)
    key = {id(m): i for i, m in enumerate(net.modules())}
    ordered = lambda calls: sorted(calls, key=lambda c: key[id(c[0])])  # noqa: E731
    assert len(plain_calls) == len(fused_calls)
    for (m1, c1), (m2, c2) in zip(ordered(plain_calls), ordered(fused_calls)):
        assert m1 is m2 and torch.equal(c1, c2)


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_fused_nb201_forwards_are_bitwise_the_plain_ones(real_batch, fmt):
    x = real_batch.contiguous(memory_format=fmt)
    sn = NB201Supernet(C=8, N=1, seed=0).eval().to(memory_format=fmt)
    _assert_fused_equals_plain(sn, x)
    sn.discretize(2, "nor_conv_3x3").discretize(5, "skip_connect").discretize(1, "none")
    _assert_fused_equals_plain(sn, x)
    plan = sn.perturbation_plan(0, sn.remaining_ops(0))
    _assert_fused_equals_plain(sn, x.repeat(len(sn.remaining_ops(0)), 1, 1, 1).contiguous(memory_format=fmt),
                               lambda z: sn.forward_with_plan(z, plan))
    sn.supernet_mode = "published"
    _assert_fused_equals_plain(sn, x)
    for arch in (ARCH, "|none~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"):
        _assert_fused_equals_plain(NB201Network(arch, C=8, N=1).eval().to(memory_format=fmt), x)


def test_fused_darts_forwards_are_bitwise_the_plain_ones(real_batch):
    for name in ("darts", "darts-s3"):
        space = get_space(name)
        _assert_fused_equals_plain(space.supernet(C=4, layers=4, seed=0).eval(), real_batch)
        net = space.network(space.random_arch(random.Random(0)), C=8, layers=4).eval()
        _assert_fused_equals_plain(net, real_batch)


def test_identity_batchnorms_fold_and_others_do_not(real_batch):
    assert fastpath.fold_is_exact(torch.device("cpu"), torch.float32, 1e-5)
    bn = nn.BatchNorm2d(4).eval()
    y = torch.randn(2, 4, 3, 3)
    assert fastpath.bn_fold_scale(bn, y) == pytest.approx(1 / (1 + 1e-5) ** 0.5)
    bn.train()
    assert fastpath.bn_fold_scale(bn, y) is None  # batch statistics
    bn(y)  # running statistics move
    bn.eval()
    assert fastpath.bn_fold_scale(bn, y) is None
    bn = nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        bn.weight[1] = 2.0
    assert fastpath.bn_fold_scale(bn, y) is None
    # a trained-looking network still gives the plain bits (nothing folds)
    net = NB201Network(ARCH, C=8, N=1)
    net.train()
    with torch.no_grad():
        net(real_batch)  # update running statistics
    _assert_fused_equals_plain(net.eval(), real_batch)


def test_elided_modules_keep_their_hooks(real_batch):
    net = NB201Network(ARCH, C=8, N=1).eval()
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    seen = []
    handles = [m.register_forward_pre_hook(lambda m, a: seen.append(m)) for m in relus]
    with torch.no_grad():
        net(real_batch)
    for h in handles:
        h.remove()
    assert sorted(map(id, seen)) == sorted(map(id, relus))  # every ReLU "ran" exactly once
    # a forward (post-)hook on an elided module makes that op run the plain way
    outputs = []
    relus[0].register_forward_hook(lambda m, a, out: outputs.append(out))
    _assert_fused_equals_plain(net, real_batch)
    assert outputs


# ------------------------------------------------------------------------------ exact kernels
@pytest.mark.parametrize("backend", code_gram.BACKENDS)
def test_every_gram_backend_is_exact(backend):
    gen = torch.Generator().manual_seed(0)
    c = (torch.rand(2, 9, 3 * 256 + 5, generator=gen) > 0.5).to(code_gram.codes_dtype(10, backend))
    d = (torch.rand(2, 7, 3 * 256 + 5, generator=gen) > 0.3).to(c.dtype)
    exact = lambda a, b: torch.matmul(a.double(), b.double().transpose(-1, -2))  # noqa: E731
    assert torch.equal(code_gram.gram(c, c, backend), exact(c, c))
    assert torch.equal(code_gram.gram(c, d, backend), exact(c, d))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a bf16 forward does not make products inexact
        assert torch.equal(code_gram.gram(c, c, backend), exact(c, c))


def test_gram_backend_override(monkeypatch):
    monkeypatch.setenv("ZCPT_NWOT_GRAM", "float32")
    assert code_gram.default_backend(torch.device("cpu")) == "float32"
    monkeypatch.setenv("ZCPT_NWOT_GRAM", "fp8")
    with pytest.raises(ValueError, match="valid: int8, syrk, float32, bf16"):
        code_gram.default_backend(torch.device("cpu"))


@pytest.mark.parametrize("units", [1, 2, 15, 16, 17, 300, 4096])
def test_int8_codes_are_the_comparison_itself_and_exact_at_every_width(units):
    """torch._int_mm is wrong for an inner dimension of 1: narrow layers take the float32 product."""
    x = torch.randn(2, 24, units, generator=torch.Generator().manual_seed(units))
    c = code_gram.codes(x, "int8")
    assert c.dtype == torch.int8 and torch.equal(c.bool(), x > 0)
    exact = torch.matmul((x > 0).double(), (x > 0).double().transpose(-1, -2))
    assert torch.equal(code_gram.gram(c, c, "int8"), exact)
    assert torch.equal(code_gram.gram(c.float(), c.float(), "int8"), exact)  # float 0/1 codes convert exactly


def test_the_default_cpu_backend_is_measured_among_exact_ones():
    backend = code_gram.default_backend(torch.device("cpu"))
    assert backend in code_gram.BACKENDS
    assert backend == "float32" or code_gram._verified(backend, torch.device("cpu"))
    assert code_gram.default_backend(torch.device("cpu")) == backend  # measured once per thread count


# Exact integer fingerprints (sum, trace, sum of squares) of K for NB201Network(ARCH, C=8, N=1) built after
# torch.manual_seed(0), on real_batch, computed by the code before issue 30 (bf16 chunked products, main at
# cfff317): K is an exact integer matrix, so these hold on any machine.
OLD_KERNELS = {("relu", "eval", None): (7000622, 933888, 354108721750), ("relu", "train", None): (6371486, 933888,
               299057471558), ("relu", "train", 5): (6380716, 933888, 299625138032),
               ("published", "eval", None): (13819090, 1843200, 1379704765526),
               ("published", "eval", 5): (13819090, 1843200, 1379704765526),
               ("published", "train", None): (12573550, 1843200, 1164767000998)}


@pytest.mark.parametrize("backend", code_gram.BACKENDS)
def test_every_backend_gives_the_old_kernels_and_the_plain_float32_scores(real_batch, backend, monkeypatch):
    def scores():
        out = {}
        for (hooks, mode, chunk), fingerprint in OLD_KERNELS.items():
            torch.manual_seed(0)
            kernel, _ = nwot_kernel(NB201Network(ARCH, C=8, N=1), real_batch, hooks=hooks, mode=mode, chunk_size=chunk)
            assert (int(kernel.sum()), int(kernel.trace()), int((kernel * kernel).sum())) == fingerprint
            torch.manual_seed(0)
            out[hooks, mode, chunk] = nwot(NB201Network(ARCH, C=8, N=1), real_batch, hooks=hooks, mode=mode,
                                           chunk_size=chunk)
        sn = NB201Supernet(C=4, N=1, seed=1)
        sn.supernet_mode = "block-input"
        out["search"] = FastNwotPerturbations(sn, hooks="published", supernet_mode="block-input").scores(0, real_batch)
        return out

    monkeypatch.setenv("ZCPT_NWOT_GRAM", "float32")
    plain = scores()
    monkeypatch.setenv("ZCPT_NWOT_GRAM", backend)
    assert scores() == plain  # bitwise: the same kernels give the same log-determinants


def test_one_product_per_distinct_tensor(real_batch, monkeypatch):
    net = NB201Network(ARCH, C=8, N=1).eval()
    products = []
    real = nwot_module.sign_product
    monkeypatch.setattr(nwot_module, "sign_product", lambda *a, **k: products.append(1) or real(*a, **k))
    value = nwot(net, real_batch)
    calls = len(hooked_modules(net))
    assert len(products) < calls  # node 0 feeds three conv edges, node 1 two
    with fastpath.disabled():
        products.clear()
        assert nwot(net, real_batch) == value
    # chunked kernels share repeats too and give the same integer kernel
    full, _ = nwot_kernel(net, real_batch)
    chunked, _ = nwot_kernel(net, real_batch, chunk_size=5)
    assert torch.equal(full, chunked)


def test_kernel_logdets_are_right_for_paper_size_kernels_on_two_threads():
    """torch 2.14.1's batched CPU slogdet is wrong for 256 x 256 float64 matrices on >1 thread;
    the batched nwot engine must not depend on it."""
    import numpy as np

    gen = torch.Generator().manual_seed(0)
    codes = (torch.rand(3, 256, 2000, generator=gen) > 0.5).double()
    kernels = codes @ codes.transpose(-1, -2) + (1 - codes) @ (1 - codes).transpose(-1, -2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got = nwot_module.kernel_logdets(kernels)
    finally:
        torch.set_num_threads(before)
    want = np.linalg.slogdet(kernels.numpy())
    assert [s for s, _ in got] == want[0].tolist()
    assert [v for _, v in got] == pytest.approx(want[1].tolist(), abs=1e-8)
