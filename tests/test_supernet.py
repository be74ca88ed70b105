"""Supernet masks: A + (e, o), A - (e, o), undo, inspection, equivalence with standalone networks."""
import pytest
import torch

from zcpt_analysis.errors import InvalidArchError, StateError
from zcpt_analysis.spaces.nb201 import EDGES, OPS, Arch, NB201Supernet, network_from_supernet


def _forward(net, x):
    with torch.no_grad():
        return net(x)


def test_initial_state_and_alpha(tiny_supernet):
    sn = tiny_supernet
    assert sn.num_edges == 6 and sn.num_ops == 5
    assert sn.undiscretized_edges() == list(range(6))
    assert all(s.remaining == OPS for s in sn.state)
    assert sn.alpha.abs().max() < 1e-2 and sn.alpha.std() > 1e-4  # 1e-3 * N(0, 1)
    w = sn.edge_weights()
    assert torch.allclose(w.sum(1), torch.ones(6)) and (w - 0.2).abs().max() < 1e-2  # near uniform
    assert "alpha" not in sn.state_dict()  # not a weight: proxies never see it


def test_discretize_perturb_undo_and_inspect(tiny_supernet):
    sn = tiny_supernet
    sn.discretize("2<-1", "nor_conv_3x3")
    sn.perturb(0, "skip_connect")
    st = sn.edge_state("2<-1")
    assert st.chosen == "nor_conv_3x3" and st.remaining == ("nor_conv_3x3",)
    assert sn.edge_state(0).removed == ("skip_connect",)
    assert sn.remaining_ops(0) == [0, 2, 3, 4]
    w = sn.edge_weights()
    assert w[2].tolist() == [0, 0, 0, 1, 0] and w[0, 1] == 0
    assert w[0, 0] == torch.softmax(sn.alpha[0], 0)[0]  # no renormalisation after removal
    assert sn.chosen_ops()[2] == "nor_conv_3x3"
    sn.undo()
    assert sn.edge_state(0).removed == ()
    sn.undo()
    assert sn.edge_state(2).chosen is None
    with pytest.raises(StateError, match="nothing to undo"):
        sn.undo()


def test_invalid_edges_and_ops(tiny_supernet):
    with pytest.raises(InvalidArchError, match="valid edges: 1<-0"):
        tiny_supernet.discretize("4<-0", "none")
    with pytest.raises(InvalidArchError, match="valid ops: none, skip_connect"):
        tiny_supernet.perturb(0, "conv")
    tiny_supernet.perturb(0, "none")
    with pytest.raises(StateError, match="was removed"):
        tiny_supernet.discretize(0, "none")


def test_every_mask_state_runs(tiny_supernet):
    sn = tiny_supernet
    x = torch.randn(4, 3, 16, 16)
    for e in range(6):
        for o in range(5):
            with sn.perturbed(e, o):
                assert torch.isfinite(_forward(sn, x)).all()
            with sn.discretized(e, o):
                assert torch.isfinite(_forward(sn, x)).all()
        with sn.pruned(e):
            assert _forward(sn, x).shape == (4, 10)
    for e in range(6):  # remove every op of every edge: the supernet still runs (zero contributions)
        for o in range(5):
            sn.perturb(e, o)
    assert _forward(sn, x).shape == (4, 10)


@pytest.mark.parametrize("train_mode", [True, False])
def test_perturb_then_restore_is_bit_identical(tiny_supernet, train_mode):
    sn = tiny_supernet.train(train_mode)
    x = torch.randn(6, 3, 16, 16)
    before = _forward(sn, x)
    with sn.perturbed(3, "nor_conv_3x3"):
        changed = _forward(sn, x)
    with sn.discretized(1, "avg_pool_3x3"):
        _forward(sn, x)
    after = _forward(sn, x)
    assert not torch.equal(before, changed)
    if not train_mode:
        assert torch.equal(before, after)
    else:  # batch-statistics mode: running stats change, the output of the same batch does not
        assert torch.equal(before, after)


def test_fully_discretized_equals_standalone_with_shared_weights():
    arch = Arch.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    sn = NB201Supernet(C=8, N=2, seed=3)
    for e, op in enumerate(arch.ops):
        sn.discretize(e, op)
    assert sn.is_fully_discretized and sn.derive() == arch
    net = network_from_supernet(sn)
    sn.train(), net.train()  # batch statistics ("eval-free") mode
    x = torch.randn(5, 3, 32, 32)
    assert torch.equal(_forward(sn, x), _forward(net, x))


def test_derive_requires_full_discretization(tiny_supernet):
    tiny_supernet.discretize(0, "none")
    with pytest.raises(InvalidArchError, match="undiscretized edges: 2<-0"):
        tiny_supernet.derive()


def test_published_mode_gives_the_same_output_as_fast_mode(tiny_supernet):
    sn = tiny_supernet.eval()
    x = torch.randn(3, 3, 16, 16)
    sn.discretize(0, "skip_connect").perturb(4, "nor_conv_1x1")
    fast = _forward(sn, x)
    sn.supernet_mode = "published"
    published = _forward(sn, x)
    assert torch.allclose(fast, published, atol=1e-6)
    relu_calls = []
    hooks = [m.register_forward_hook(lambda m, i, o: relu_calls.append(1))
             for m in sn.modules() if isinstance(m, torch.nn.ReLU)]
    _forward(sn, x)
    n_published = len(relu_calls)
    sn.supernet_mode = "fast"
    relu_calls.clear()
    _forward(sn, x)
    for h in hooks:
        h.remove()
    assert n_published > len(relu_calls)  # every op runs in published mode


def test_block_input_mode_zeroes_a_removed_conv_inside_the_wrapper(tiny_supernet):
    """block-input (the published NB201 code): a weight-0 ReLUConvBN is called on its real input
    and zeroes it inside; published (the first release's model) zeroes it before the call."""
    from zcpt_analysis.proxies.nwot import nwot

    sn = tiny_supernet.eval()
    x = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    e, conv = 0, sn.candidates[0].index("nor_conv_1x1")
    wrapper = sn.trunk.cells[0].edges[e].ops[conv]
    seen = {}
    handles = [wrapper.register_forward_pre_hook(lambda m, a: seen.__setitem__("wrapper", a[0].abs().sum().item())),
               wrapper[0].register_forward_pre_hook(lambda m, a: seen.__setitem__("relu", a[0].abs().sum().item()))]
    scores = {}
    for mode in ("published", "block-input"):
        sn.supernet_mode = mode
        with sn.perturbed(e, conv):
            _forward(sn, x)
            scores[mode, "conv"] = nwot(sn, x, hooks="published")
            assert seen["relu"] == 0 and (seen["wrapper"] > 0) == (mode == "block-input")
        with sn.perturbed(e, "skip_connect"):  # no hooked module inside: the modes agree
            scores[mode, "skip"] = nwot(sn, x, hooks="published")
    for h in handles:
        h.remove()
    assert scores["published", "skip"] == scores["block-input", "skip"]
    assert scores["published", "conv"] < scores["block-input", "conv"]  # the wrapper's codes are kept


def test_reset_and_redraw_alpha(tiny_supernet):
    sn = tiny_supernet
    alpha = sn.alpha.clone()
    sn.discretize(0, 1).perturb(1, 2)
    sn.reset()
    assert sn.undiscretized_edges() == list(range(6)) and torch.equal(sn.alpha, alpha)
    sn.redraw_alpha(99)
    assert not torch.equal(sn.alpha, alpha)
    sn.redraw_alpha(0)
    assert torch.equal(sn.alpha, alpha)  # alpha was drawn from seed 0


def test_arch_state_dict_round_trip(tiny_supernet):
    sn = tiny_supernet
    sn.discretize(2, "none").perturb(0, 1).prune_edge(5)
    state = sn.arch_state_dict()
    other = NB201Supernet(C=4, N=1, seed=5).load_arch_state_dict(state)
    assert other.state == sn.state and torch.equal(other.alpha, sn.alpha)


def test_supernet_published_hook_count_matches_reference():
    sn = NB201Supernet()
    assert sum("ReLU" in type(m).__name__ for m in sn.modules()) == 369
    assert [n for n in EDGES] == list(sn.edge_names)
