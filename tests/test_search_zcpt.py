"""Zero-Cost-PT (Algorithm 1) on NAS-Bench-201 with tiny networks and the real CIFAR-10 sample."""
import json

import pytest

from zcpt_analysis.cli import main
from zcpt_analysis.errors import UnknownNameError, ZcptError
from zcpt_analysis.runs import execute
from zcpt_analysis.runs.records import BenchResult, SearchRecord, Selection, error_statistics
from zcpt_analysis.runs.specs import SearchSpec
from zcpt_analysis.runs.store import ResultStore
from zcpt_analysis.searches.zcpt import ZeroCostPT
from zcpt_analysis.spaces.nb201 import Arch

TINY = dict(supernet_options={"C": 4, "N": 1}, network_options={"C": 4, "N": 1}, batch_size=16, N=3, V=2,
            device="cpu")


def _config(**kw):
    return SearchSpec(**{**TINY, **kw})


def _run(spec, store=None, progress=True, images=None, force=False):
    """Run (or resume from ``store``, a folder) one Zero-Cost-PT search and return its record."""
    return execute(spec, ResultStore(store) if store is not None else None, progress=progress, force=force,
                   images=images)


def _search(spec, store, images):
    """A search whose record is resumed from (and checkpointed to) the store folder ``store``."""
    store = ResultStore(store)
    record = store.load(spec) or SearchRecord(spec=spec, status="searching")
    return ZeroCostPT(spec, progress=False, images=images, result=record, checkpoint=store.save)


def test_same_seed_same_architecture(cifar_sample, tmp_path):
    first = _run(_config(seed=1), store=tmp_path / "a", progress=False, images=cifar_sample)
    second = _run(_config(seed=1), store=tmp_path / "b", progress=False, images=cifar_sample)
    assert first.selected.arch == second.selected.arch
    assert [it.arch for it in first.iterations] == [it.arch for it in second.iterations]
    assert all(a.scores == b.scores for a, b in zip(first.iterations[0].steps, second.iterations[0].steps))


def test_record_contents(cifar_sample, tmp_path):
    record = _run(_config(seed=0), store=tmp_path, progress=False, images=cifar_sample)
    path = ResultStore(tmp_path).path_for(_config(seed=0))
    assert path.name == "zcpt-nb201-nwot-random-N3-V2-b16-cifar10-h" + path.name.split("-h")[1]  # options hashed
    saved = json.loads(path.read_text())
    assert saved["status"] == "complete" and saved["schema"] == 1 and saved["kind"] == "zcpt-search"
    assert record.spec.proxy == "nwot" and record.environment["torch"]
    assert len(record.iterations) == 3
    for it in record.iterations:
        assert it.evaluations == 30 and len(it.steps) == 6
        Arch.from_string(it.arch)
        for step in it.steps:
            assert set(step.scores) == {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
            assert step.chosen == min(step.scores, key=step.scores.get)  # zc-pt: arg min
    distinct = {it.arch for it in record.iterations}
    assert len(record.candidates) == len(distinct)
    for cand in record.candidates:
        assert len(cand.scores) == 2 and cand.total == pytest.approx(sum(cand.scores))
    best = max(record.candidates, key=lambda c: c.total)
    assert record.selected.arch == best.arch
    bench = record.selected.benchmark
    assert set(bench) == {"cifar10", "cifar100", "ImageNet16-120"}
    assert bench["cifar10"].rank >= 1 and len(bench["cifar10"].trials) >= 1
    assert record.data["pool_size"] == 400 and record.data["train_portion"] == 1.0
    # iterations re-draw alpha, so the search does not start from identical supernets
    assert len({it.alpha_seed for it in record.iterations}) == 3
    assert ResultStore(tmp_path).read(path).to_json() == record.to_json()  # JSON round trip


def test_interrupted_run_resumes_to_the_same_result(cifar_sample, tmp_path, monkeypatch):
    reference = _run(_config(seed=2, V=3), store=tmp_path / "ref", progress=False, images=cifar_sample)
    run = _search(_config(seed=2, V=3), tmp_path / "int", cifar_sample)
    calls = {"n": 0}
    original = run.search_iteration

    def interrupted(i, on_step=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(i, on_step)

    monkeypatch.setattr(run, "search_iteration", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.run()
    partial = json.loads(ResultStore(tmp_path / "int").path_for(_config(seed=2, V=3)).read_text())
    assert partial["status"] == "searching" and len(partial["iterations"]) == 1
    resumed = _search(_config(seed=2, V=3), tmp_path / "int", cifar_sample)
    done = []
    original_resumed = resumed.search_iteration
    monkeypatch.setattr(resumed, "search_iteration", lambda i, on_step=None: done.append(i) or original_resumed(i, on_step))
    record = resumed.run()
    assert done == [1, 2]  # only the missing iterations ran
    assert [it.arch for it in record.iterations] == [it.arch for it in reference.iterations]
    assert record.selected.arch == reference.selected.arch
    assert [c.scores for c in record.candidates] == [c.scores for c in reference.candidates]


def test_validation_resumes_mid_way(cifar_sample, tmp_path):
    cfg = _config(seed=3, N=2, V=4)
    reference = _run(cfg, store=tmp_path / "ref", progress=False, images=cifar_sample)
    run = _search(cfg, tmp_path / "int", cifar_sample)
    run.search()
    run.result.candidates = run.candidates()
    calls = {"n": 0}
    scorer = run.scorer

    def flaky(net, x, y):
        calls["n"] += 1
        if calls["n"] > len(run.result.candidates) * 2:
            raise KeyboardInterrupt
        return scorer(net, x, y)

    run.scorer = flaky
    with pytest.raises(KeyboardInterrupt):
        run.validate()
    saved = json.loads(ResultStore(tmp_path / "int").path_for(cfg).read_text())
    assert saved["validation_batches"] == 2
    record = _run(cfg, store=tmp_path / "int", progress=False, images=cifar_sample)
    assert [c.scores for c in record.candidates] == [c.scores for c in reference.candidates]


def test_different_config_in_the_same_folder_is_refused(cifar_sample, tmp_path):
    _run(_config(seed=4, N=1, V=1), store=tmp_path, progress=False, images=cifar_sample)
    path = ResultStore(tmp_path).path_for(_config(seed=4, N=1, V=1))
    data = json.loads(path.read_text())
    data["spec"]["batch_size"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ZcptError, match=r"different configuration \(batch_size: 99 -> 16\)"):
        _run(_config(seed=4, N=1, V=1), store=tmp_path, progress=False, images=cifar_sample)


@pytest.mark.parametrize("order", ["global-op-iter", "global-edge-once"])
def test_other_orderings_and_proxies_run(cifar_sample, order):
    record = _run(_config(order=order, N=1, V=1), progress=False, images=cifar_sample)
    expected = {"global-op-iter": 105, "global-edge-once": 55}[order]
    assert record.iterations[0].evaluations == expected
    record = _run(_config(proxy="synflow", N=1, V=1), progress=False, images=cifar_sample)
    assert record.proxy["name"] == "synflow" and record.status == "complete"


def test_published_compat_mode_runs(cifar_sample):
    record = _run(_config(supernet_mode="published", N=1, V=1), progress=False, images=cifar_sample)
    assert record.spec.supernet_mode == "published" and record.selected.arch


def test_bad_config_values():
    with pytest.raises(UnknownNameError, match="valid orderings"):
        _config(order="sideways")
    with pytest.raises(UnknownNameError, match="valid proxies: "):
        _config(proxy="magic")
    with pytest.raises(UnknownNameError, match="valid search spaces"):
        _config(space="nb301")
    with pytest.raises(ZcptError, match="N must be at least 1"):
        _config(N=0)


def test_error_statistics_are_over_runs_of_seed_mean_errors():
    recs = [Selection(arch="a", benchmark={"cifar10": BenchResult(mean=94.0, trials=(95.0, 93.0)),  # errors 5, 7
                                           "cifar100": BenchResult(mean=70.0, trials=())}),
            Selection(arch="b", benchmark={"cifar10": BenchResult(mean=92.0, trials=(92.0,)),
                                           "cifar100": BenchResult(mean=80.0, trials=())})]
    assert recs[0].benchmark["cifar10"].error == 6.0 and recs[0].benchmark["cifar10"].trial_errors == (5.0, 7.0)
    stats = error_statistics(recs)
    assert stats["cifar10"] == {"mean": 7.0, "std": 1.0, "n": 2}
    assert stats["cifar100"] == {"mean": 25.0, "std": 5.0, "n": 2}
    # one architecture selected by every run has std 0, as the paper's synflow row (6.24 ± 0.00)
    same = [recs[0], recs[0]]
    assert error_statistics(same)["cifar10"]["std"] == 0.0


def test_cli_search_with_seeds_prints_summary(tmp_path, capsys):
    rc = main(["search", "--space", "nb201", "--proxy", "nwot", "--order", "random", "-N", "2", "-V", "1",
               "--batch-size", "8", "--seeds", "0", "1", "--data-source", "sample", "--device", "cpu",
               "--supernet-option", "C=4", "--supernet-option", "N=1", "--network-option", "C=4", "--network-option", "N=1", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.count("selected: |") == 2
    assert "measured:" in out and "paper: 5.97 ± 0.17" in out
    assert len(list(tmp_path.glob("zcpt-nb201-nwot-random-N2-V1-b8-cifar10-h*-s*.json"))) == 2


@pytest.mark.parametrize("supernet_mode", ["fast", "published", "block-input"])
def test_batched_engine_matches_one_forward_per_perturbation(cifar_sample, supernet_mode):
    common = dict(supernet_mode=supernet_mode, N=2, V=1, seed=5)
    batched = ZeroCostPT(_config(engine="batched", **common), progress=False, images=cifar_sample)
    simple = ZeroCostPT(_config(engine="simple", channels_last=False, **common), progress=False, images=cifar_sample)
    assert batched.engine() == "batched" and simple.engine() == "simple"
    a, b = batched.run(), simple.run()
    assert [it.arch for it in a.iterations] == [it.arch for it in b.iterations]
    for it_a, it_b in zip(a.iterations, b.iterations):
        for sa, sb in zip(it_a.steps, it_b.steps):
            assert sa.edge == sb.edge and sa.chosen == sb.chosen
            assert sa.scores == pytest.approx(sb.scores, rel=1e-9, abs=1e-6)


def test_engine_selection():
    assert ZeroCostPT(_config(proxy="synflow")).engine() == "batched"
    assert ZeroCostPT(_config(proxy="snip")).engine() == "simple"  # batched is exact but does not pay on CPU
    assert ZeroCostPT(_config(proxy="snip", engine="batched")).engine() == "batched"
    with pytest.raises(ZcptError, match="fast supernet semantics"):
        ZeroCostPT(_config(proxy="snip", supernet_mode="published", engine="batched"))
    assert ZeroCostPT(_config(proxy="grasp")).engine() == "simple"
    assert ZeroCostPT(_config(proxy_options={"mode": "train"})).engine() == "simple"
    with pytest.raises(ZcptError, match="engine 'batched' is not available here: proxy 'grasp'"):
        ZeroCostPT(_config(proxy="grasp", engine="batched"))
    with pytest.raises(ZcptError, match="batched nwot needs eval mode"):
        ZeroCostPT(_config(proxy_options={"mode": "train"}, engine="batched"))
