"""DARTS supernet training, DARTS-PT and the training-based scores (disc-acc, darts-pt, darts) on a
tiny NB201 supernet (C=4, N=1) and 16x16 crops of the real CIFAR-10 sample, a few steps each."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from zcpt_analysis.errors import StateError, UnknownNameError, ZcptError
from zcpt_analysis.scoring import ScoringContext, ScoringSettings, g, score_operations
from zcpt_analysis.searches.darts import argmax_architecture
from zcpt_analysis.searches.supernet_training import DartsConfig, FixedBatches, SearchData, evaluate, train_supernet
from zcpt_analysis.searches.darts_pt import DartsPTConfig, decision_schedule, run_darts_pt
from zcpt_analysis.spaces import get_space
from zcpt_analysis.spaces.nb201 import EDGES, OPS, Arch

TINY = DartsConfig(epochs=2, batch_size=8, steps_per_epoch=2, eval_max_images=16)


@pytest.fixture(scope="module")
def small_images(cifar_sample):
    return replace(cifar_sample, images=cifar_sample.images[:, :, 8:24, 8:24].contiguous())


@pytest.fixture(scope="module")
def data(small_images):
    return SearchData.from_images(small_images, 0.5)


def tiny_supernet(seed: int = 0):
    return get_space("nb201").supernet(num_classes=10, seed=seed, C=4, N=1)


def test_defaults_are_darts_pt_nb201_settings():
    c = DartsConfig()
    assert (c.epochs, c.batch_size, c.learning_rate, c.learning_rate_min, c.momentum, c.weight_decay) == \
        (100, 64, 0.025, 0.001, 0.9, 3e-4)
    assert (c.arch_learning_rate, c.arch_beta1, c.arch_beta2, c.arch_weight_decay) == (3e-4, 0.5, 0.999, 1e-3)
    assert (c.grad_clip, c.train_portion, c.arch_update) == (5.0, 0.5, "first-order")
    p = DartsPTConfig()
    assert (p.proj_intv, p.edge_decision, p.proj_crit, p.bn_mode) == (5, "random", "acc", "train")
    with pytest.raises(ZcptError, match="arch_update must be one of first-order, second-order or fixed, "
                                        "got 'zeroth-order'"):
        DartsConfig(arch_update="zeroth-order")
    with pytest.raises(ZcptError, match="proj_crit must be one of acc or loss, got 'speed'"):
        DartsPTConfig(proj_crit="speed")


def test_first_order_training_updates_alpha_and_records_history(data):
    net = tiny_supernet()
    alpha0 = net.alpha.clone()
    weight0 = net.trunk.classifier.weight.detach().clone()
    run = train_supernet(net, data, TINY, seed=0, progress=False)
    assert run.epochs_done == 2 and len(run.train_acc) == 2 and run.valid_acc[-1] is not None
    assert not torch.equal(run.alpha_at(), alpha0) and torch.equal(run.alpha_at(0), alpha0)
    assert torch.equal(run.alpha_at(2), net.alpha.detach().cpu())
    assert not torch.equal(run.alpha_at(1), run.alpha_at(2))
    assert not torch.equal(net.trunk.classifier.weight, weight0)
    assert run.lr[0] == pytest.approx(0.025) and run.lr[1] < run.lr[0]  # cosine annealing per epoch
    with pytest.raises(Exception, match="no alpha after 5 epochs"):
        run.alpha_at(5)
    assert len(run.to_json()["alpha_history"]) == 2


def test_fixed_alpha_and_second_order(data):
    net = tiny_supernet()
    alpha0 = net.alpha.clone()
    train_supernet(net, data, TINY.replace(epochs=1, arch_update="fixed"), progress=False)
    assert torch.equal(net.alpha, alpha0)
    net2 = tiny_supernet()
    run = train_supernet(net2, data, TINY.replace(epochs=1, steps_per_epoch=1, arch_update="second-order"),
                         progress=False)
    assert not torch.equal(run.alpha_at(), alpha0) and torch.isfinite(run.alpha_at()).all()


def test_checkpoints_resume_to_the_same_result(data, tmp_path):
    straight = train_supernet(tiny_supernet(), data, TINY, seed=3, progress=False)
    out = tmp_path / "run"
    first = train_supernet(tiny_supernet(), data, TINY, seed=3, out_dir=out, progress=False, stop_after_epochs=1)
    assert first.epochs_done == 1 and (out / "checkpoint.pt").exists() and (out / "run.json").exists()
    resumed = train_supernet(tiny_supernet(), data, TINY, seed=3, out_dir=out, progress=False)
    assert resumed.epochs_done == 2
    assert torch.equal(resumed.alpha_at(), straight.alpha_at())
    for a, b in zip(resumed.supernet.parameters(), straight.supernet.parameters()):
        assert torch.equal(a, b)
    assert resumed.train_acc == straight.train_acc
    # a finished run reloads without training; another configuration may not reuse the folder
    again = train_supernet(tiny_supernet(), data, TINY, seed=3, out_dir=out, progress=False)
    assert torch.equal(again.alpha_at(), straight.alpha_at())
    with pytest.raises(StateError, match="another configuration"):
        train_supernet(tiny_supernet(), data, TINY.replace(learning_rate=0.1), seed=3, out_dir=out, progress=False)


def test_evaluate_in_train_mode_restores_batchnorm_statistics(data):
    net = tiny_supernet()
    batches = FixedBatches(data.valid, 8, seed=0, max_images=16)
    assert len(batches) == 2 and [x.shape[0] for x, _ in batches] == [8, 8]
    x1 = [x for x, _ in batches][0]
    assert torch.equal(x1, [x for x, _ in batches][0])  # the same batches every pass
    bn = net.trunk.stem[1]
    before = bn.running_mean.clone()
    net.eval()
    res = evaluate(net, batches, "train")
    assert torch.equal(bn.running_mean, before) and int(bn.num_batches_tracked) == 0
    assert not net.training  # the caller's mode is kept
    assert 0 <= res.accuracy <= 100 and res.n == 16 and math.isfinite(res.loss)
    with pytest.raises(UnknownNameError):
        evaluate(net, batches, "frozen")


def test_argmax_architecture_follows_alpha():
    net = tiny_supernet()
    with torch.no_grad():
        net.alpha.zero_()
        for e in range(6):
            net.alpha[e, (e + 1) % 5] = 1.0
    arch = argmax_architecture(net)
    assert arch == Arch(tuple(OPS[(e + 1) % 5] for e in range(6)))
    assert net.chosen_ops() == (None,) * 6  # state restored


def test_decision_schedule_matches_darts_pt():
    assert decision_schedule(6, 5, topology=False) == ([0, 5, 10, 15, 20, 24], 25)
    epochs, tune = decision_schedule(18, 5, topology=True)
    assert epochs == list(range(0, 86, 5)) and tune == 86
    assert decision_schedule(6, 1, topology=False) == ([0, 1, 2, 3, 4, 5], 6)
    assert decision_schedule(6, 0, topology=False) == ([0] * 6, 0)


def test_darts_pt_end_to_end(data, bench):
    run = train_supernet(tiny_supernet(), data, TINY, seed=0, progress=False)
    res = run_darts_pt(run, data, TINY, DartsPTConfig(proj_intv=1), seed=0, bench=bench, progress=False)
    assert isinstance(res.arch, Arch)
    assert sorted(d.target for d in res.decisions) == sorted(EDGES)
    assert [d.epoch for d in res.decisions] == [0, 1, 2, 3, 4, 5]
    for d in res.decisions:
        assert set(d.scores) == set(OPS)
        assert d.scores[d.chosen[0]] == min(d.scores.values())  # removal hurts most: lowest accuracy
        assert res.arch.op_on(d.target) == d.chosen[0]
    assert len(res.finetune_valid_acc) == 6
    assert res.benchmark["cifar10"].index == bench.index_of(res.arch)
    assert res.to_json()["method"] == "darts-pt"


def test_darts_pt_fix_alpha_keeps_alpha(data):
    run = train_supernet(tiny_supernet(), data, TINY.replace(epochs=1, arch_update="fixed"), progress=False)
    alpha = run.supernet.alpha.clone()
    res = run_darts_pt(run, data, TINY, DartsPTConfig(proj_intv=1, fix_alpha=True, edge_decision="fixed"),
                       progress=False)
    assert torch.equal(run.supernet.alpha, alpha)
    assert [d.target for d in res.decisions] == list(EDGES)
    assert res.to_json()["method"] == "darts-pt (fix alpha)"


def test_training_based_scores_end_to_end(small_images, bench):
    settings = ScoringSettings(supernet_options={"C": 4, "N": 1}, darts=TINY.replace(steps_per_epoch=1), disc_epochs=1,
                               darts_alpha_epoch=1)
    ctx = ScoringContext(settings=settings, bench=bench, images=small_images)
    table = score_operations(ctx, ["darts-pt", "darts"])
    assert len(table) == 60
    alpha1 = torch.softmax(ctx.trained_run().alpha_at(1), -1)
    darts = table[table["method"] == "darts"].set_index(["edge_index", "op"])["score"]
    assert darts[(2, "nor_conv_1x1")] == pytest.approx(float(alpha1[2, 2]))
    assert not torch.equal(ctx.trained_run().alpha_at(1), ctx.trained_run().alpha_at(2))
    pt = table[table["method"] == "darts-pt"]
    assert (pt["for_correlation"] == -pt["score"]).all() and pt["score"].between(0, 100).all()
    net = ctx.trained_supernet()
    weights = [p.detach().clone() for p in net.parameters()]
    disc = {op: g("disc-acc", None, "2<-1", op, ctx) for op in ("none", "nor_conv_3x3")}
    assert all(0 <= v <= 100 for v in disc.values())
    # disc-acc trains copies: the trained supernet is untouched and deterministic per (edge, op)
    assert all(torch.equal(a, b) for a, b in zip(weights, net.parameters()))
    assert g("disc-acc", None, "2<-1", "none", ctx) == disc["none"]
    assert net.chosen_ops() == (None,) * 6


def test_cli_darts_and_darts_pt(tmp_path, capsys):
    from zcpt_analysis.cli import main, parse_specs
    from zcpt_analysis.files import read_json
    from zcpt_analysis.runs.store import ResultStore

    common = ["--supernet-option", "C=4", "--supernet-option", "N=1", "--epochs", "1", "--steps-per-epoch", "1",
              "--batch-size", "8", "--eval-max-images", "8", "--device", "cpu", "--quiet"]
    assert main(["darts", *common, "--out", str(tmp_path / "d")]) == 0
    (darts,) = parse_specs(["darts", *common])
    record = read_json(ResultStore(tmp_path / "d").path_for(darts))
    assert Arch.from_string(record["arch"]) and record["benchmark"]["cifar10"]["rank"] >= 1
    pt_args = ["darts-pt", *common, "--proj-intv", "0", "--fix-alpha"]
    assert main([*pt_args, "--out", str(tmp_path / "p")]) == 0
    (spec,) = parse_specs(pt_args)
    path = ResultStore(tmp_path / "p").path_for(spec)
    pt = read_json(path)
    assert path.name == "darts-pt-fix-alpha-h" + path.name.split("-h")[1]  # proj_intv=0 differs from the default
    assert pt["spec"]["fix_alpha"] and len(pt["decisions"]) == 6
    assert read_json(path.parent / "supernet" / "run.json")["config"]["arch_update"] == "fixed"
    out = capsys.readouterr().out
    assert "DARTS-PT (fix alpha) on nb201" in out and "mean test error" in out


def test_darts_pt_on_a_darts_cell_space_decides_ops_then_topology(data):
    space = get_space("darts-s2")
    net = space.supernet(num_classes=10, seed=0, C=2, layers=3)
    cfg = TINY.replace(epochs=1, steps_per_epoch=1, eval_max_images=8)
    run = train_supernet(net, data, cfg, progress=False)
    res = run_darts_pt(run, data, cfg, DartsPTConfig(proj_intv=0), space=space, progress=False)
    ops = [d for d in res.decisions if d.kind == "op"]
    topo = [d for d in res.decisions if d.kind == "edge"]
    assert len(ops) == 28 and len(topo) == 8
    assert res.decisions.index(topo[0]) == 28  # all op decisions first, as DARTS-PT
    for d in topo:
        assert len(d.chosen) == 2
    genotype = space.parse(res.arch_json)
    assert len(genotype.normal) == 8 and len(genotype.reduce) == 8
    assert res.benchmark == {}


@pytest.mark.filterwarnings("ignore::zcpt_analysis.searches.op_selection.TiedScoresWarning")  # a barely trained net
def test_iterative_darts_pt_trajectory_retrains_its_own_copy(small_images, bench):
    from zcpt_analysis.scoring.analysis import figure_a1_data
    from zcpt_analysis.scoring.iterative import iterative_scores

    ctx = ScoringContext(settings=ScoringSettings(supernet_options={"C": 4, "N": 1},
                                                  darts=TINY.replace(epochs=1, steps_per_epoch=1, eval_max_images=8)),
                         bench=bench, images=small_images)
    trained = ctx.trained_supernet()
    weights = [p.detach().clone() for p in trained.parameters()]
    table = iterative_scores(ctx, ["darts-pt"], order=list(reversed(EDGES)), retrain_epochs=1)
    assert table.groupby("iteration")["edge"].nunique().tolist() == [6, 5, 4, 3, 2, 1]
    assert set(table[table["iteration"] == 5]["edge"]) == {EDGES[0]}  # reversed order: 1<-0 decided last
    assert all(torch.equal(a, b) for a, b in zip(weights, trained.parameters()))  # the original is untouched
    assert trained.chosen_ops() == (None,) * 6
    fig = figure_a1_data(table)
    assert fig["iteration"].tolist() == list(range(6)) and set(fig["method"]) == {"darts-pt"}
