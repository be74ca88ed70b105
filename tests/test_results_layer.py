"""The results layer: run specs (one source of truth for CLI options, identity, record names and
commands), typed records, the result store (find / save / missing / table / claims), first-release
records, paths outside a checkout and the curated API."""
from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import zcpt_analysis as zc
from zcpt_analysis.cli import main, parse_specs
from zcpt_analysis.errors import DamagedFileError, ZcptError
from zcpt_analysis.runs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, ProxyStudySpec, RandomSpec,
                                ResultStore, ScoresSpec, SearchRecord, SearchSpec, TrainSpec, execute, record_from_json)
from zcpt_analysis.runs.legacy import record_from_legacy
from zcpt_analysis.runs.specs import SPECS
from zcpt_analysis.searches.supernet_training import DartsConfig
from zcpt_analysis.searches.darts_pt import DartsPTConfig
from zcpt_analysis.train import TrainConfig

from recorded import assert_scores_close

ROOT = Path(__file__).resolve().parents[1]
LEGACY = Path(__file__).resolve().parent / "data" / "legacy"
TINY = {"C": 4, "N": 1}
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"

# one spec per kind, most fields away from their defaults (the round trip must keep every one)
ROUND_TRIP = [
    SearchSpec(space="nb201", proxy="synflow", order="global-op-once", N=3, V=7, batch_size=32, seed=5,
               dataset="cifar10", data_source="png", train_portion=0.75, device="cpu", supernet_mode="published",
               proxy_options={"mode": "train", "chunk_size": 8, "log": True}, supernet_options=TINY,
               network_options={"C": 8}, published_once_order=True, engine="simple", channels_last=False,
               bench="/some/nb201"),
    SearchSpec(space="darts-s3", topology="iterative", channels_last=True, data_root="/data/c10", seed=2),
    NaswotSpec(proxy="nwot", n_samples=50, batch_size=64, seed=7, score_seed=3, proxy_options={"mode": "eval"},
               network_options=TINY, data_source="sample"),
    NaswotSpec(proxy="synflow"),
    RandomSpec(runs=500, seed=9),
    DartsSpec(seed=2, darts=DartsConfig(epochs=3, batch_size=16, learning_rate=0.05, arch_update="second-order",
                                        steps_per_epoch=4, eval_max_images=32, train_portion=0.6),
              supernet_options=TINY, device="cpu"),
    DartsPTSpec(seed=1, fix_alpha=True, pt=DartsPTConfig(proj_intv=0, edge_decision="fixed", proj_crit="loss",
                                                         bn_mode="eval"), supernet_options=TINY),
    ScoresSpec(method="zc-pt", seed=3, proxy="snip", proxy_options={"mode": "eval"}, proxy_batch_size=16,
               supernet_options=TINY, supernet_mode="published"),
    ScoresSpec(method="disc-acc", disc_epochs=2, darts=DartsConfig(epochs=2), avg_acc_over="trials"),
    IterativeSpec(methods=("avg-acc", "zc-pt"), reference="avg-acc", retrain_epochs=0, seed=1, supernet_options=TINY),
    ProxyStudySpec(num_archs=50, batch_size=32, seed=2, proxies=("nwot", "synflow", "snip:mode=eval"),
                   ensembles=("nwot,synflow",), device="cuda", bench="/some/nb201"),
    TrainSpec(genotype="DARTS_V1", config=TrainConfig(dataset="cifar100", epochs=3, batch_size=8, learning_rate=0.1,
                                                      cutout=0, drop_path_prob=0.0, auxiliary=False, seed=4, C=4,
                                                      layers=3, train_limit=16, test_limit=8, checkpoint_every=2,
                                                      stop_after_epochs=1, data_source="sample")),
]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=lambda s: s.KIND)
def test_every_spec_round_trips_through_its_command(spec):
    argv = spec.to_argv()
    assert argv[:len(spec.COMMAND) + 1] == ["zcpt", *spec.COMMAND]
    assert parse_specs(argv) == [spec]
    assert parse_specs(shlex.split(spec.command("runs/x"))) == [spec]
    assert type(spec).from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_every_kind_is_covered_and_defaults_give_short_commands():
    assert {type(s).KIND for s in ROUND_TRIP} == set(SPECS.names())
    assert SearchSpec().to_argv() == ["zcpt", "search"]  # auto data source / the space's batch: defaults
    assert NaswotSpec().to_argv() == ["zcpt", "baseline", "naswot", "--seed", "0"]  # mode=train: the default
    assert SearchSpec(space="darts").batch_size == 64 and SearchSpec(data_root="/d").data_source == "full"


def test_identity_is_what_determines_the_result():
    a = SearchSpec(supernet_options=TINY)
    assert a.identity() == SearchSpec(supernet_options=TINY, device="cuda", data_root=None, engine="simple",
                                      bench="/x").identity()
    assert a.identity() != SearchSpec(supernet_options=TINY, data_source="png").identity()
    # every identity field that differs from its default changes the record name
    assert SearchSpec().record_name() == "zcpt-nb201-nwot-random-N10-V100-b256-cifar10-s0.json"
    names = {SearchSpec(**change).record_name() for change in
             ({}, {"supernet_options": TINY}, {"network_options": TINY}, {"proxy_options": {"mode": "train"}},
              {"topology": "iterative"}, {"published_once_order": True}, {"train_portion": 0.5},
              {"data_source": "png"})}
    assert len(names) == 8
    assert SearchSpec(device="cuda", engine="simple").record_name() == SearchSpec().record_name()


def test_naswot_records_of_different_network_options_do_not_collide(tmp_path, capsys):
    """The first release named NASWOT records naswot-{proxy}-n{N}-s{seed}.json whatever the network
    options: two runs with different --network-option in one folder overwrote each other."""
    base = ["baseline", "naswot", "--proxy", "synflow", "--n-samples", "3", "--batch-size", "8", "--seed", "0",
            "--device", "cpu", "--quiet", "--out", str(tmp_path)]
    assert main(base + ["--network-option", "C=4", "--network-option", "N=1"]) == 0
    assert main(base + ["--network-option", "C=2", "--network-option", "N=1"]) == 0
    capsys.readouterr()
    store = ResultStore(tmp_path)
    records = store.records(kinds=["naswot"])
    assert len(records) == 2 and {r.spec.network_options["C"] for r in records} == {2, 4}
    (c4,) = parse_specs(base[:-2] + ["--network-option", "C=4", "--network-option", "N=1"])
    assert store.find(c4).spec.network_options == {"C": 4, "N": 1}
    assert len({p.name for p in tmp_path.glob("naswot-synflow-n3-*.json")}) == 2
    assert len(list(tmp_path.glob("naswot-scores-*.json"))) == 2  # one score table per network shape


def test_store_find_missing_table_and_damaged_records(tmp_path, cifar_sample):
    store = ResultStore(tmp_path)
    specs = [SearchSpec(N=1, V=1, batch_size=8, seed=s, device="cpu", supernet_options=TINY, network_options=TINY)
             for s in (0, 1)]
    assert store.missing(specs + specs) == specs and store.find(specs[0]) is None
    record = store.run(specs[0], images=cifar_sample)
    assert store.missing(specs) == [specs[1]] and store.find(specs[0]).to_json() == record.to_json()
    store.save(RandomSpec(runs=3).run(None))
    table = store.table(columns="all")
    assert list(table["kind"]) == ["random-baseline", "zcpt-search"]  # sorted by path
    row = table[table["kind"] == "zcpt-search"].iloc[0]
    assert row["selected"] == record.selected.arch and row["cifar10 error"] == record.selected.error("cifar10")
    assert row["supernet_options"] == TINY and row["status"] == "complete" and row["seconds"] > 0
    path = store.path_for(specs[0])
    path.write_text(path.read_text()[:50])  # cut short
    with pytest.raises(DamagedFileError, match="damaged.*--force"):
        store.find(specs[0])
    assert store.run(specs[0], images=cifar_sample, force=True).selected.arch == record.selected.arch


CLAIMER = textwrap.dedent("""
    import sys, time
    from zcpt_analysis.runs import ResultStore, SearchSpec
    from zcpt_analysis.searches import zcpt
    spec = SearchSpec(N=2, V=1, batch_size=8, seed=0, device="cpu", supernet_options={"C": 4, "N": 1},
                      network_options={"C": 4, "N": 1})
    original = zcpt.ZeroCostPT.search
    if sys.argv[1] == "slow":
        def slow(self):  # computes only once the test says the other process waits (or after 120 s)
            from pathlib import Path
            deadline = time.time() + 120
            while not (Path(sys.argv[2]) / "go").exists() and time.time() < deadline:
                time.sleep(0.05)
            return original(self)
        zcpt.ZeroCostPT.search = slow
    else:
        def fail(self):
            raise SystemExit("computed although another process was computing the same spec")
        zcpt.ZeroCostPT.search = fail
    print(ResultStore(sys.argv[2]).run(spec, progress=True).selected.arch)
""")


def test_two_processes_never_both_compute_one_spec(tmp_path, shared_data):
    env = dict(os.environ, ZCPT_DATA=str(shared_data))
    slow = subprocess.Popen([sys.executable, "-c", CLAIMER, "slow", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    spec = SearchSpec(N=2, V=1, batch_size=8, seed=0, device="cpu", supernet_options=TINY, network_options=TINY)
    claim = ResultStore(tmp_path)._claim_path(spec)
    deadline = time.time() + 60
    while not claim.exists() and time.time() < deadline:
        time.sleep(0.1)
    waiter = subprocess.Popen([sys.executable, "-c", CLAIMER, "fail", str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    said = []
    for line in waiter.stderr:  # bounded: the slow process computes after 120 s at the latest, then both end
        said.append(line)
        if "waiting:" in line:
            break
    (tmp_path / "go").touch()  # only now may the slow process compute: the waiter must wait for it
    waiter_out, waiter_err = waiter.communicate(timeout=180)
    out, err = slow.communicate(timeout=180)
    assert slow.returncode == 0, err
    assert waiter.returncode == 0, waiter_err
    assert "waiting:" in "".join(said) and waiter_out == out  # it waited and read the other's record
    assert not claim.exists()


def test_a_stale_claim_of_a_dead_process_is_taken_over(tmp_path, cifar_sample):
    store = ResultStore(tmp_path)
    spec = SearchSpec(N=1, V=1, batch_size=8, device="cpu", supernet_options=TINY, network_options=TINY)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claim = store._claim_path(spec)
    claim.parent.mkdir(parents=True, exist_ok=True)
    import socket

    claim.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "since": "earlier"}))
    assert store.claim_info(spec) is None  # the owner file left by a dead process decides nothing
    assert store.run(spec, images=cifar_sample).complete and not claim.exists()
    from zcpt_analysis.runs.store import ClaimedError

    with store.claim(spec) as held:  # a live holder (the lock itself, not a file's contents, says so)
        assert held and store.claim_info(spec)["pid"] == os.getpid()
        with pytest.raises(ClaimedError, match=f"pid {os.getpid()}"):
            store.run(spec, force=True, wait=False)
    assert store.claim_info(spec) is None and not claim.exists()


# ----------------------------------------------------------------------------- first-release records
def _legacy(path: str) -> dict:
    return json.loads((LEGACY / path).read_text())


@pytest.mark.recorded
@pytest.mark.parametrize("name", sorted(p.name for p in (LEGACY / "search").glob("*.json")))
def test_first_release_searches_load_and_recompute_identically(name, cifar_sample):
    """Recomputed now, a first-release search takes the same decisions at every step; its scores
    agree within the cross-machine tolerance of its proxy (recorded on another CPU: tests/recorded.py)."""
    old = _legacy(f"search/{name}")
    record = record_from_legacy(old)
    assert record.spec.record_name() == name or "-h" in record.spec.record_name()  # tiny networks: hashed
    assert record.selected.arch == old["selected"]["arch"] and record.complete
    assert record.timing["validation"] == old["validation"]["seconds"]
    # the execution the record names: channels-last is no longer the default for gradient proxies on
    # CPU (torch 2.14.1's channels-last backward), and it moves synflow's scores by an ulp
    spec = record.spec.replace(channels_last=old["engine"]["channels_last"])
    new = execute(spec, None, progress=False, images=cifar_sample)
    assert new.selected.arch == record.selected.arch
    assert [it.arch for it in new.iterations] == [it.arch for it in record.iterations]
    for a, b in zip(new.iterations, record.iterations):
        assert [(s.edge, s.chosen) for s in a.steps] == [(s.edge, s.chosen) for s in b.steps]
        for i, (s_new, s_old) in enumerate(zip(a.steps, b.steps)):
            assert_scores_close(s_new.scores, s_old.scores, spec.proxy, f"iteration {a.iteration} step {i}")
    assert [(c.arch, c.iterations) for c in new.candidates] == [(c.arch, c.iterations) for c in record.candidates]
    for c_new, c_old in zip(new.candidates, record.candidates):
        assert_scores_close(c_new.scores, c_old.scores, spec.proxy, f"validation of {c_old.arch}")


@pytest.mark.recorded
def test_first_release_baselines_and_trainings_load(bench):
    for seed in (0, 1):
        old = _legacy(f"base/naswot-synflow-n5-s{seed}.json")
        rec = record_from_legacy(old)
        assert rec.spec.network_options == TINY and rec.spec.seed == seed and rec.selected.arch == old["selected"]["arch"]
        new = rec.spec.run(None, bench=bench)
        assert new.selected.arch == rec.selected.arch
        assert_scores_close([new.selected.score], [rec.selected.score], rec.spec.proxy, "NASWOT selected score")
    random = record_from_legacy(_legacy("base/random-n3-s0.json"))
    assert random.seeds == [0, 1, 2] and random.spec == RandomSpec(runs=3)
    assert [p.arch for p in RandomSpec(runs=3).run(None, bench=bench).picks] == [p.arch for p in random.picks]
    train = record_from_legacy(_legacy("train/DARTS_V2-cifar10-heavy-seed0/result.json"))
    assert train.complete and train.spec.config.C == 4 and train.params == 2858
    with pytest.raises(DamagedFileError, match="zcpt results migrate"):
        record_from_legacy(_legacy("darts/nb201-darts-seed0/darts.json"))
    with pytest.raises(DamagedFileError, match="JSON list"):
        record_from_legacy([1, 2])
    with pytest.raises(DamagedFileError, match="JSON list"):
        record_from_json([1, 2])


@pytest.mark.recorded
def test_migrate_converts_a_first_release_folder(tmp_path, capsys, cifar_sample):
    assert main(["results", "migrate", str(LEGACY), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "12 converted" in out and "2 skipped" in out and "recompute it with `zcpt darts" in out
    store = ResultStore(tmp_path)
    kinds = sorted(r.KIND for r in store.records())
    assert kinds.count("zcpt-search") == 6 and kinds.count("naswot") == 2 and kinds.count("op-scores") == 2
    zc_pt = next(r for r in store.records(kinds=["op-scores"]) if r.spec.method == "zc-pt")
    assert zc_pt.spec.supernet_options == TINY and zc_pt.spec.proxy_batch_size == 8
    recomputed, stored = zc_pt.spec.run(None, images=cifar_sample).table(), zc_pt.table()
    rows = ["edge", "op"]
    assert list(recomputed[rows].itertuples(index=False)) == list(stored[rows].itertuples(index=False))
    # the same scores, recomputed now (recorded on another CPU: within nwot's cross-machine tolerance)
    assert_scores_close(recomputed["score"], stored["score"], zc_pt.spec.proxy, "zc-pt scores")
    assert main(["results", "table", "--out", str(tmp_path)]) == 0
    assert "zcpt-search" in capsys.readouterr().out


# ----------------------------------------------------------------------------- structure
def test_paper_module_holds_constants_only():
    tree = ast.parse((ROOT / "zcpt_analysis" / "paper.py").read_text())
    internal = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.level or
                                                                              (n.module or "").startswith("zcpt"))]
    assert internal == []
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef)]


def test_one_registry_type_everywhere():
    from zcpt_analysis.proxies.registry import PROXIES
    from zcpt_analysis.registry import Registry
    from zcpt_analysis.scoring import METHODS
    from zcpt_analysis.searches.orderings import ORDERING_REGISTRY, ORDERINGS
    from zcpt_analysis.spaces.base import SPACES

    for reg in (PROXIES, METHODS, ORDERING_REGISTRY, SPACES):
        assert isinstance(reg, Registry)
    assert tuple(ORDERING_REGISTRY.names()) == ORDERINGS and len(METHODS) == 7
    with pytest.raises(ZcptError, match="valid orderings: fixed, random"):
        ORDERING_REGISTRY.get("sideways")


def test_paths_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    from zcpt_analysis import experiments as ex
    from zcpt_analysis.paths import default_results_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZCPT_HOME", raising=False)
    assert default_results_dir() == tmp_path / "runs" and ResultStore().root == tmp_path / "runs"
    assert ResultStore("rel").root == tmp_path / "rel"
    assert ex.preset_results_dir("paper") == tmp_path / "runs" / "paper"
    (tmp_path / "home").mkdir()  # $ZCPT_HOME must exist (tests/test_hardening.py: else an error naming it)
    monkeypatch.setenv("ZCPT_HOME", str(tmp_path / "home"))
    assert ResultStore().root == tmp_path / "home" / "runs"


@pytest.mark.slow
def test_non_editable_install_runs_the_demo_outside_the_checkout(tmp_path, shared_data):
    """``pip install .`` (not -e): the installed package writes nothing into itself and `zcpt demo`
    run from an empty folder writes its record under that folder."""
    import shutil

    source, target = tmp_path / "source", tmp_path / "site"
    source.mkdir()  # build from a copy: the build must not write into the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "zcpt_analysis", source / "zcpt_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(source)], check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), ZCPT_DATA=str(shared_data))
    env.pop("ZCPT_HOME", None)
    where = subprocess.run([sys.executable, "-c", "import zcpt_analysis; print(zcpt_analysis.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(target)
    before = sorted(p for p in target.rglob("*") if "__pycache__" not in p.parts)
    done = subprocess.run([sys.executable, "-m", "zcpt_analysis", "--threads", "1", "demo", "--device", "cpu"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    (record,) = (work / "runs" / "demo").glob("zcpt-nb201-nwot-random-N2-V4-b64-cifar10-s0.json")
    assert record_from_json(json.loads(record.read_text())).complete
    assert sorted(p for p in target.rglob("*") if "__pycache__" not in p.parts) == before


# ----------------------------------------------------------------------------- the curated API
def test_curated_api_scores_searches_and_plots(tmp_path, cifar_sample):
    score = zc.score_arch(BEST, proxy="synflow", batch_size=8, device="cpu")
    assert score > 0 and score == zc.score_arch(BEST, proxy="synflow", batch_size=8, device="cpu")
    record = zc.search(store=tmp_path, progress=False, N=1, V=1, batch_size=8, device="cpu", supernet_options=TINY,
                       network_options=TINY)
    assert record.complete and ResultStore(tmp_path).find(record.spec) is not None
    table = zc.score_operations(["best-acc", "avg-acc"])
    fig = zc.plot_figure2(table)
    assert fig.data[0].type == "heatmap" and list(fig.data[0].x) == ["best-acc", "avg-acc"]
    assert zc.load_benchmark().num_archs == 15625 and zc.ResultStore is ResultStore


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python API\n", 1)[1]  # the section itself, not "### Python API and ..."
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    assert namespace["record"].complete and len(namespace["scores"]) == 60


def test_a_search_record_written_before_the_supernet_mode_rename_is_still_found(tmp_path):
    """Records of schema 1 written before round 3 name the supernet's execution mode ``compat``: they
    load, their spec is the one that asks for them, and a save writes the current name."""
    spec = SearchSpec(N=1, V=1, batch_size=8, supernet_mode="published", device="cpu",
                      supernet_options={"C": 2, "N": 1})
    store = ResultStore(tmp_path)
    record = SearchRecord(spec=spec, status="searching", created="")
    old = record.to_json()
    old["spec"] = {("compat" if k == "supernet_mode" else k): v for k, v in old["spec"].items()}
    store.path_for(spec).write_text(json.dumps(old))
    found = store.load(spec)
    assert found.spec == spec and found.spec.supernet_mode == "published"
    store.save(found)
    spec_json = json.loads(store.path_for(spec).read_text())["spec"]
    assert spec_json["supernet_mode"] == "published" and "compat" not in spec_json
