"""Batched zc-pt for gradient proxies equals one proxy call per perturbed supernet, bit for bit."""
import warnings

import pytest
import torch

from zcpt_analysis.data import MinibatchSampler
from zcpt_analysis.errors import ZcptError
from zcpt_analysis.proxies import get_proxy
from zcpt_analysis.proxies.policy import ProxyInputError
from zcpt_analysis.runs import SearchSpec
from zcpt_analysis.searches.fast_gradients import GradientPerturbations, not_batchable
from zcpt_analysis.searches.zcpt import ZeroCostPT
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.nb201 import NB201Supernet


@pytest.fixture(scope="module")
def real_batch(cifar_sample):
    return MinibatchSampler(cifar_sample, 8, seed=4).sample()


def _one_call_per_perturbation(sn, edge, x, y, proxy, options):
    spec = get_proxy(proxy)
    out = {}
    for o in sn.remaining_ops(edge):
        with sn.perturbed(edge, o):
            out[sn.candidates[edge][o]] = spec.fn(sn, x, y, **options)
    return out


def _check(sn, edge, batch, proxy, options=None, **engine):
    x, y = batch
    options = options or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate-network warnings are the proxies' own
        batched = GradientPerturbations(sn, proxy, options, **engine).scores(edge, x, y)
        expected = _one_call_per_perturbation(sn, edge, x, y, proxy, options)
    assert batched == expected  # bitwise
    assert set(batched) == set(sn.arch_state.remaining(edge))


@pytest.mark.parametrize("proxy", ["snip", "grad_norm", "fisher", "jacob_cov", "synflow"])
def test_nb201_batched_equals_one_call_per_perturbation(real_batch, proxy):
    sn = NB201Supernet(C=4, N=1, seed=1)  # train mode: the as-is proxies normalise with batch statistics
    sn.discretize("2<-1", "nor_conv_3x3").discretize("1<-0", "none")
    _check(sn, 3, real_batch, proxy)
    _check(sn, 5, real_batch, proxy, max_stack=16)  # two copies per pass


def test_options_and_eval_mode(real_batch):
    sn = NB201Supernet(C=4, N=1, seed=2)
    _check(sn, 3, real_batch, "synflow", {"log": True})
    _check(sn, 3, real_batch, "snip", {"mode": "eval"})
    _check(sn, 4, real_batch, "fisher", {"mode": "eval", "loss_reduction": "sum"})
    sn.eval()
    _check(sn, 1, real_batch, "jacob_cov")


@pytest.mark.parametrize("proxy", ["snip", "fisher", "jacob_cov", "synflow"])
def test_darts_space_with_and_without_channels_last(real_batch, proxy):
    sn = get_space("darts-s2").supernet(C=4, layers=3, seed=0)
    _check(sn, 20, real_batch, proxy)
    # channels-last (off by default for gradient proxies): the backward runs (no heap corruption),
    # and the scores agree to rounding -- not bitwise: oneDNN's channels-last 1x1 convolution rounds
    # differently for different batch sizes at these tiny shapes
    x, y = real_batch
    sn.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = GradientPerturbations(sn, proxy).scores(20, x, y)
        expected = _one_call_per_perturbation(sn, 20, x, y, proxy, {})
    if proxy == "jacob_cov":  # its eigenvalue terms amplify rounding on this tiny network
        assert batched == pytest.approx(expected, rel=1e-2)
    else:
        assert batched == pytest.approx(expected, rel=1e-6)
        assert min(batched, key=batched.get) == min(expected, key=expected.get)


def test_what_is_not_batched():
    assert "grasp" in not_batchable("grasp", {})
    assert "chunk_size" in not_batchable("snip", {"chunk_size": 4})
    assert "fast supernet semantics" in not_batchable("snip", {}, "published")
    assert not_batchable("fisher", {"mode": "train"}) is None
    with pytest.raises(ProxyInputError, match="noise"):
        GradientPerturbations(get_space("darts-s4").supernet(C=4, layers=3, seed=0), "snip")


def test_search_engines_agree_exactly(cifar_sample):
    def spec(engine):
        return SearchSpec(proxy="snip", N=1, V=1, batch_size=8, seed=3, engine=engine, data_source="sample",
                          supernet_options={"C": 4, "N": 1}, network_options={"C": 4, "N": 1})

    batched = ZeroCostPT(spec("batched"), progress=False, images=cifar_sample)
    simple = ZeroCostPT(spec("simple"), progress=False, images=cifar_sample)
    assert batched.engine() == "batched" and not batched.channels_last  # gradient proxies run NCHW
    a, b = batched.run(), simple.run()
    assert a.engine["search"] == "batched" and b.engine["search"] == "simple"
    assert [s.scores for s in a.iterations[0].steps] == [s.scores for s in b.iterations[0].steps]
    assert a.selected.arch == b.selected.arch
    with pytest.raises(ZcptError, match="not available here"):
        ZeroCostPT(SearchSpec(proxy="grasp", engine="batched", data_source="sample"))
