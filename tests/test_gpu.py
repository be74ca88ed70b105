"""CUDA checks (marker ``cuda``; skipped where torch sees no CUDA device). ``benchmarks/gpu_check.py``
runs them first (``pytest -m cuda``).

* The same tiny seeded search gives the same decisions on the CPU and on CUDA, and a CUDA search
  repeated gives the same scores bit for bit. CUDA convolutions run in true fp32
  (:func:`zcpt_analysis.runtime.resolve_device` turns cuDNN's TF32 off: TF32 keeps 10 mantissa bits
  and would flip nwot's activation codes near 0). nwot (forward only) repeats bit for bit with
  torch's defaults; gradient proxies use ``torch.backends.cudnn.deterministic = True`` here:
  cuDNN's default backward-weight kernels may sum in a different order from run to run.
* No host synchronisation in the proxies' hot loops: the nwot kernel (hooks on every ReLU, the
  Gram products) runs with ``torch.cuda.set_sync_debug_mode("error")``; for whole proxy calls
  and the batched zc-pt engine, the number of synchronisations (counted with mode ``"warn"``)
  does not grow with the network's depth -- a sync per layer would.
* nwot's Gram products of 0/1 codes are exact on CUDA at the paper's sizes (batch 256, up to
  65,536 units per layer) in every backend, the one chosen by default included.
* A bf16 search runs under CUDA autocast.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import pytest
import torch

from zcpt_analysis.experiments.presets import TINY_NB201
from zcpt_analysis.runs.specs import SearchSpec

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs CUDA (torch.cuda.is_available() is False on this machine)")]

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
GRADIENT_PROXIES = ("synflow", "snip", "grad_norm", "fisher", "jacob_cov")


def _search(device: str, proxy: str = "nwot", **changes):
    spec = SearchSpec(proxy=proxy, N=2, V=2, batch_size=16, seed=0, supernet_mode="block-input",
                      supernet_options=dict(TINY_NB201), network_options=dict(TINY_NB201), data_source="sample",
                      device=device, **changes)
    return spec.run(None)


def _decisions(record):
    return [[(s.edge, s.chosen) for s in it.steps] for it in record.iterations]


def _margins(record):
    """Per decision, the gap between the two lowest zc-pt scores (what a rounding difference must beat)."""
    out = []
    for it in record.iterations:
        for s in it.steps:
            values = sorted(s.scores.values())
            out.append(values[1] - values[0] if len(values) > 1 else None)
    return out


@contextmanager
def _deterministic_cudnn(proxy: str):
    """cuDNN's deterministic kernels for gradient proxies (their backward-weight sums may otherwise
    change order from run to run); forward-only proxies (nwot) run with torch's defaults."""
    saved = torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = proxy in GRADIENT_PROXIES
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic = saved


def test_cuda_convolutions_run_in_fp32():
    from zcpt_analysis.runtime import resolve_device

    torch.backends.cudnn.allow_tf32 = True  # torch's default
    resolve_device("cuda")
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False  # torch's default: fp32 matmuls stay fp32


@pytest.mark.parametrize("proxy", ["nwot", "synflow"])
def test_tiny_search_same_decisions_on_cpu_and_cuda(proxy):
    with _deterministic_cudnn(proxy):
        cpu, cuda = _search("cpu", proxy), _search("cuda", proxy)
    assert _decisions(cuda) == _decisions(cpu), f"margins of the CPU decisions: {_margins(cpu)}"
    assert cuda.selected.arch == cpu.selected.arch
    for a, b in zip(cpu.iterations, cuda.iterations):
        for sa, sb in zip(a.steps, b.steps):
            assert sb.scores == pytest.approx(sa.scores, rel=1e-4), (sa.edge, sa.scores, sb.scores)


@pytest.mark.parametrize("proxy", ["nwot", "synflow"])
def test_cuda_search_repeats_bit_for_bit(proxy):
    with _deterministic_cudnn(proxy):
        first, second = _search("cuda", proxy), _search("cuda", proxy)
    assert [[s.scores for s in it.steps] for it in first.iterations] == \
        [[s.scores for s in it.steps] for it in second.iterations]
    assert [c.scores for c in first.candidates] == [c.scores for c in second.candidates]


def test_bf16_search_runs_under_cuda_autocast():
    record = _search("cuda", precision="bf16")
    assert record.status == "complete" and record.engine["search"] == "batched"
    scores = [v for it in record.iterations for s in it.steps for v in s.scores.values()]
    assert scores and all(v == v and abs(v) != float("inf") for v in scores)


# ----------------------------------------------------------------------------- host synchronisations
def _sample(batch: int = 16):
    from zcpt_analysis.data import MinibatchSampler, load_sample

    return MinibatchSampler(load_sample("train"), batch, seed=0, device="cuda").sample()


def _network(cells: int):
    from zcpt_analysis.spaces.nb201 import NB201Network

    torch.manual_seed(0)
    return NB201Network(ARCH, C=4, N=cells).cuda()


def _count_syncs(fn) -> int:
    """Device-to-host synchronisations made by ``fn()`` (torch's sync debug mode, ``warn``)."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchronizing" in str(w.message) for w in caught)


@pytest.mark.parametrize("hooks", ["relu", "published"])
def test_nwot_kernel_makes_no_host_sync(hooks):
    from zcpt_analysis.proxies.nwot import nwot_kernel
    from zcpt_analysis.spaces.nb201 import NB201Supernet

    x, _ = _sample()
    for net in (_network(2), NB201Supernet(C=4, N=2, seed=0).cuda()):
        nwot_kernel(net, x, hooks=hooks)  # warm-up: the Gram backend checks itself once per device
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            kernel, calls = nwot_kernel(net, x, hooks=hooks)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert kernel.is_cuda and calls > 0


@pytest.mark.parametrize("proxy", ["nwot", *GRADIENT_PROXIES])
def test_proxy_syncs_do_not_grow_with_depth(proxy):
    from zcpt_analysis.proxies import get_proxy

    fn = get_proxy(proxy).fn
    x, y = _sample()
    shallow, deep = _network(1), _network(3)
    fn(shallow, x, y), fn(deep, x, y)  # warm-up
    counts = [_count_syncs(lambda net=net: fn(net, x, y)) for net in (shallow, deep)]
    assert counts[1] == counts[0], f"{proxy}: {counts[0]} syncs with 1 cell per stage, {counts[1]} with 3"


@pytest.mark.parametrize("mode", ["fast", "block-input"])
def test_batched_zcpt_syncs_do_not_grow_with_depth(mode):
    from zcpt_analysis.searches.fast_nwot import FastNwotPerturbations
    from zcpt_analysis.spaces.nb201 import NB201Supernet

    x, _ = _sample()
    counts = []
    for cells in (1, 3):
        sn = NB201Supernet(C=4, N=cells, seed=0).cuda()
        sn.supernet_mode = mode
        engine = FastNwotPerturbations(sn, hooks="published" if mode != "fast" else "relu", supernet_mode=mode)
        engine.scores(0, x)  # warm-up
        counts.append(_count_syncs(lambda: engine.scores(0, x)))
    assert counts[1] == counts[0], f"{counts[0]} syncs with 1 cell per stage, {counts[1]} with 3"


def test_minibatches_reach_the_gpu_without_a_host_sync():
    from zcpt_analysis.data import MinibatchSampler, load_sample

    sampler = MinibatchSampler(load_sample("train"), 64, seed=0, device="cuda")
    sampler.sample()  # warm-up (pinned-memory pool)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        x, y = sampler.sample()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert x.is_cuda and y.is_cuda


def test_supernet_training_and_evaluation_syncs_do_not_grow_with_steps():
    """One synchronisation per epoch / evaluation (the returned floats), not one per step or batch."""
    from zcpt_analysis.data import load_sample
    from zcpt_analysis.evaluation import evaluate
    from zcpt_analysis.searches.supernet_training import BilevelTrainer, DartsConfig, FixedBatches, SearchData
    from zcpt_analysis.spaces.nb201 import NB201Supernet

    data = SearchData.from_images(load_sample("train"), 0.5)
    torch.manual_seed(0)
    trainer = BilevelTrainer(NB201Supernet(C=4, N=1, seed=0), data, DartsConfig(batch_size=16), device="cuda")
    trainer.train_epoch(steps=2)  # warm-up
    assert _count_syncs(lambda: trainer.train_epoch(steps=2)) == _count_syncs(lambda: trainer.train_epoch(steps=6))
    few, many = (list(FixedBatches(data.valid, 16, device="cuda", max_images=n)) for n in (32, 96))
    evaluate(trainer.model, few)
    assert _count_syncs(lambda: evaluate(trainer.model, few)) == _count_syncs(lambda: evaluate(trainer.model, many))


# ----------------------------------------------------------------------------- exact Gram products
@pytest.mark.parametrize("units", [4 * 32 * 32, 16 * 32 * 32, 64 * 32 * 32])
@pytest.mark.parametrize("backend", [None, "float32", "bf16"])
def test_code_gram_is_exact_at_the_paper_sizes(units, backend):
    from zcpt_analysis.proxies.code_gram import codes_dtype, default_backend, gram

    chosen = backend or default_backend(torch.device("cuda"))
    gen = torch.Generator(device="cuda").manual_seed(units)
    codes = (torch.rand(256, units, device="cuda", generator=gen) > 0.5).to(codes_dtype(0, chosen))
    exact = torch.matmul(codes.double(), codes.double().T)
    assert torch.equal(gram(codes, codes, chosen), exact), f"backend {chosen}, {units} units"
    other = (torch.rand(256, units, device="cuda", generator=gen) > 0.5).to(codes.dtype)
    assert torch.equal(gram(codes, other, chosen), torch.matmul(codes.double(), other.double().T))
