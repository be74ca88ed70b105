"""What the notebooks compute (zcpt_analysis.experiments): presets, record lookup, the exact CLI
commands for missing results, exact (N, V) sub-selections, tables with paper columns."""
from __future__ import annotations

import json
import math
import shlex

import pytest

from zcpt_analysis import experiments as ex
from zcpt_analysis import paper
from zcpt_analysis.cli import main, parse_specs
from zcpt_analysis.errors import UnknownNameError, ZcptError
from zcpt_analysis.experiments.collect import NOT_COMPUTED, NOT_TRAINED, commands
from zcpt_analysis.experiments.darts_tables import genotype_table, trained_errors, training_results
from zcpt_analysis.experiments.display import pending_markdown
from zcpt_analysis.experiments.formatting import Row, error_bars, error_table
from zcpt_analysis.experiments.nb201_tables import DARTS_VARIANTS, select_subset, zcpt_runs
from zcpt_analysis.experiments.presets import ITERATIVE_SMOKE_METHODS
from zcpt_analysis.runs import ResultStore, execute


def test_presets():
    s = ex.search_settings("smoke")
    assert (s.spec.N, s.spec.V, s.spec.batch_size, s.seeds, s.spec.supernet_options, s.compute_missing) == (
        1, 1, 8, (0,), {"C": 4, "N": 1}, True)
    p = ex.search_settings("paper")
    assert (p.spec.N, p.spec.V, p.spec.batch_size, p.seeds, p.spec.supernet_options, p.compute_missing) == (
        10, 100, 256, (0, 1, 2, 3), {}, False)
    assert ex.search_settings("paper", space="darts").spec.batch_size == 64
    assert ex.search_settings("smoke", space="darts-s2").spec.supernet_options == {"C": 1, "layers": 3}
    assert ex.search_settings("paper", N=3, seeds=[7]).spec.N == 3
    cfg = p.at(2, proxy="snip", order="fixed", N=100)
    assert (cfg.proxy, cfg.order, cfg.N, cfg.seed, cfg.V) == ("snip", "fixed", 100, 2, 100)
    with pytest.raises(UnknownNameError, match="valid presets: smoke, cpu, paper"):
        ex.search_settings("fast")
    with pytest.raises(ZcptError, match="at least one seed"):
        ex.search_settings("smoke", seeds=[])
    smoke, paper_preset = ex.preset("smoke"), ex.preset("paper")
    assert paper_preset.default("nv_N_values") == [10, 100, 1000]
    assert smoke.default("nv_N_values", [3]) == [3]
    assert smoke.spec("iterative").methods == ITERATIVE_SMOKE_METHODS
    assert paper_preset.seeds["iterative"] == (0, 1, 2, 3) and len(paper_preset.spec("iterative").methods) == 7
    assert paper_preset.spec("scores").disc_epochs == 5 and paper_preset.spec("scores").darts.epochs == 100
    # the paper preset runs NB201 as the published code does (benchmarks/iteration0_fidelity.py)
    darts = ex.search_settings("paper", space="darts")
    assert (p.spec.supernet_mode, s.spec.supernet_mode, darts.spec.supernet_mode) == ("block-input", "fast", "fast")
    zc = paper_preset.runs("scores").at(0, method="zc-pt")
    assert (zc.supernet_mode, zc.proxy_options) == ("block-input", {"hooks": "published"})
    assert paper_preset.runs("scores", proxy="synflow").at(0, method="zc-pt").proxy_options == {}
    assert smoke.runs("scores").at(0, method="zc-pt").supernet_mode == "fast"
    # a variant of a base spec is the spec's own replace (dotted names reach nested settings)
    assert smoke.spec("darts", **{"darts.epochs": 3}).darts.epochs == 3 and smoke.spec("darts").darts.epochs == 2


def test_search_command_reproduces_the_spec_and_the_record_is_found(tmp_path, capsys):
    s = ex.search_settings("smoke")
    spec = s.at(3, order="fixed", proxy_options={"mode": "train"})
    store = ResultStore(tmp_path)
    cmd = commands([spec], store)
    assert cmd.startswith("zcpt search --device cpu --order fixed -N 1 -V 1 --batch-size 8 --seed 3")
    assert "--proxy-option mode=train --supernet-option C=4 --supernet-option N=1" in cmd
    assert store.find(spec) is None
    assert main(shlex.split(cmd)[1:] + ["--quiet"]) == 0
    capsys.readouterr()
    record = store.find(spec)
    assert record.spec == spec and record.status == "complete"
    # several seeds -> --seeds; specs that differ otherwise get a command each
    assert "--seeds 0 1" in commands([s.at(0), s.at(1)], store)
    assert commands([s.at(0), s.at(1, order="fixed")], store).count("zcpt search") == 2


def test_lookup_matches_on_identity_fields_only(tmp_path, cifar_sample):
    spec = ex.search_settings("smoke").at(0)
    store = ResultStore(tmp_path)
    execute(spec, store, progress=False, images=cifar_sample)
    path = store.path_for(spec)
    data = json.loads(path.read_text())
    data["spec"].update(device="cuda", data_root="/elsewhere", bench="/other/nb201")  # where it ran: irrelevant
    path.write_text(json.dumps(data))
    assert store.find(spec) is not None
    data["spec"]["supernet_options"] = {"C": 8, "N": 1}
    path.write_text(json.dumps(data))
    with pytest.raises(ZcptError, match="differ|different configuration .supernet_options"):
        store.find(spec)
    data["spec"]["supernet_options"] = {"C": 4, "N": 1}
    data["spec"]["data_source"] = "png"  # what was read is part of the identity
    path.write_text(json.dumps(data))
    with pytest.raises(ZcptError, match="data_source: 'png' -> 'sample'"):
        store.find(spec)
    data["spec"]["data_source"] = "sample"
    data["status"] = "searching"
    path.write_text(json.dumps(data))
    assert store.find(spec) is None and store.load(spec).status == "searching"
    runs = zcpt_runs(ex.search_settings("smoke", compute_missing=False), "row", tmp_path)
    assert not runs.records and "partial record" in runs.pending.reason


def test_zcpt_runs_reads_computes_or_reports_pending(tmp_path, cifar_sample, monkeypatch):
    smoke = ex.search_settings("smoke")
    runs = zcpt_runs(smoke, "row", tmp_path, images=cifar_sample)
    assert runs.complete and runs.seeds_done == [0] and ResultStore(tmp_path).path_for(smoke.at(0)).exists()
    assert set(runs.stats()) == set(paper.NB201_DATASETS)
    monkeypatch.setattr("zcpt_analysis.searches.zcpt.ZeroCostPT.run", lambda *a, **k: pytest.fail("recomputed"))
    assert zcpt_runs(smoke, "row", tmp_path).records[0].selected.arch == runs.records[0].selected.arch
    pending = zcpt_runs(ex.search_settings("paper"), "Zero-Cost-PT", tmp_path).pending
    assert pending is not None and pending.reason.startswith(NOT_COMPUTED)
    assert "--seeds 0 1 2 3" in pending.command and "-N 10" not in pending.command  # the defaults are the paper's
    assert parse_specs(shlex.split(pending.command.replace(" --seeds 0 1 2 3", ""))) == [ex.search_settings("paper").at(0)]
    assert "zcpt search" in pending_markdown([pending])


def test_select_subset_equals_a_shorter_run(cifar_sample):
    base = ex.search_settings("smoke")
    long = execute(base.at(1, N=3, V=3), progress=False, images=cifar_sample)
    short = execute(base.at(1, N=2, V=2), progress=False, images=cifar_sample)
    sub = select_subset(long, 2, 2)
    assert sub["selected"] == short.selected.arch
    assert [c["arch"] for c in sub["candidates"]] == [c.arch for c in short.candidates]
    assert [c["total"] for c in sub["candidates"]] == pytest.approx([c.total for c in short.candidates])
    assert select_subset(long, 3, 3)["selected"] == long.selected.arch
    with pytest.raises(ZcptError, match="cannot derive N=4"):
        select_subset(long, 4, 1)
    with pytest.raises(ZcptError, match="cannot derive V=5"):
        select_subset(long, 1, 5)


def test_nv_ablation_facts_say_what_the_preset_cannot_show(tmp_path, cifar_sample):
    nv = ex.nv_ablation(ex.search_settings("smoke"), [1, 2], [1], results_dir=tmp_path)
    assert set(nv.selections["N"]) == {1, 2} and len(nv.distribution) >= 2
    fact = nv.facts.set_index("fact")
    row = fact.loc["distinct architectures with N=100 (random)"]
    assert row["measured"] == "N=100 not in this preset" and row["paper"] == 27.8 and math.isnan(row["diff"])


def test_score_records_match_the_zcpt_scores_command(tmp_path, bench, capsys):
    settings, methods = ex.preset("smoke", compute_missing=False).runs("scores"), ["best-acc", "zc-pt"]
    table, pending = ex.operation_scores(settings, methods, results_dir=tmp_path, bench=bench)
    assert set(table["method"]) == {"best-acc"}  # the benchmark-only method is computed in every preset
    assert len(pending) == 1 and pending[0].command.startswith("zcpt scores --methods zc-pt --device cpu")
    assert parse_specs(shlex.split(pending[0].command)) == [settings.at(0, method="zc-pt")]
    assert main(shlex.split(pending[0].command)[1:] + ["--quiet"]) == 0
    capsys.readouterr()
    table, pending = ex.operation_scores(settings, methods, results_dir=tmp_path, bench=bench)
    assert pending == [] and set(table["method"]) == {"best-acc", "zc-pt"}  # found under the command's key
    best = ex.oracle_rows(table, "best-acc")
    assert list(best.loc["1<-0"]) == [94.15, 94.18, 94.44, 94.68, 93.86]
    a2 = ex.table_a2(table)
    row = a2[(a2[("", "method")] == "zc-pt") & (a2[("", "edge")] == "1<-0")].iloc[0]
    assert row[("none", "paper")] == -3455.23 and row[("avg_pool_3x3", "paper")] == "n/a"
    raw = table[(table["method"] == "zc-pt") & (table["edge"] == "1<-0") & (table["op"] == "none")]["score"].item()
    assert row[("none", "measured")] == round(-raw, 2)  # printed like the paper: multiplied by -1


def test_error_table_formats_measured_paper_and_diff():
    rows = [Row("random", {"cifar10": {"mean": 6.0, "std": 0.1, "n": 8}}, paper.TABLE2["nwot"]["random"],
                   {"seeds": 4}),
            Row("fixed", {}, paper.TABLE2["nwot"]["fixed"])]
    t = error_table(rows, label="order")
    assert list(t.columns[:2]) == ["order", "seeds"]
    assert t.loc[0, "C10 measured"] == "6.00 ± 0.10" and t.loc[0, "C10 paper"] == "5.97 ± 0.17"
    assert t.loc[0, "C10 diff"] == pytest.approx(0.03) and t.loc[0, "C10 n"] == 8
    assert t.loc[1, "C10 measured"] == NOT_COMPUTED and math.isnan(t.loc[1, "C10 diff"])
    assert t.loc[0, "C100 measured"] == NOT_COMPUTED
    bars = error_bars(rows)
    assert set(bars["source"]) == {"measured", "paper"} and len(bars) == 2 * 3 * 2
    single = error_table([Row("one run", {"cifar10": {"mean": 6.0, "std": 0.0, "n": 1}})])
    assert single.loc[0, "C10 measured"] == "6.00 (n=1)"  # no "± 0.00" for a single run


def test_baseline_commands_parse_with_the_cli(tmp_path):
    b = ex.preset("paper", data_root="/data/cifar")
    store = ResultStore(tmp_path)
    for kind, changes in DARTS_VARIANTS.values():
        (spec,) = b.runs(kind, seeds=[1]).specs(**changes)
        cmd = commands([spec], store)
        assert parse_specs(shlex.split(cmd)) == [spec]
        assert spec.seed == 1 and spec.data_source == "full" and spec.data_root == "/data/cifar"
        folder = store.path_for(spec).parent.name  # the full dataset is not the default: hashed into the name
        assert folder.startswith(f"nb201-{'blank' if spec.darts.arch_update == 'fixed' else 'darts'}-h")
        assert folder.endswith("-seed1")
    loop = commands(ex.preset("paper").runs("darts").specs(), store)
    assert loop.startswith("zcpt darts --out") and loop.endswith("--seeds 0 1 2 3")  # DARTS-PT's settings: defaults
    t4 = ex.table4(ex.preset("paper"), results_dir=tmp_path)
    cmd = next(p.command for p in t4.pending if p.what.startswith("NASWOT(nwot)"))
    assert "--n-samples 1000" not in cmd and "--seeds $(seq 0 499)" in cmd  # 1000 is the default


def test_training_results_are_read_from_the_store(tmp_path):
    from zcpt_analysis.runs.records import TrainRecord
    from zcpt_analysis.runs.specs import TrainSpec
    from zcpt_analysis.spaces.genotypes import GENOTYPES
    from zcpt_analysis.train import TrainConfig

    g = GENOTYPES["ZCPT_RANDOM_C10_SEED0"]
    store = ResultStore(tmp_path)
    # records as `zcpt train` writes them (file-reading fixtures, not claimed results)
    for seed, done, acc in ((0, 600, 97.5), (1, 10, 50.0)):
        spec = TrainSpec(genotype="ZCPT_RANDOM_C10_SEED0", config=TrainConfig(dataset="cifar10", seed=seed))
        store.save(TrainRecord(spec=spec, status="complete" if done == 600 else "running", genotype=g.to_json(),
                               epochs_completed=done, final_test_acc=acc))
    found = trained_errors(training_results(tmp_path), g, "cifar10")
    assert sorted((f.seed, f.complete) for f in found) == [(0, True), (1, False)]
    assert trained_errors(training_results(tmp_path), GENOTYPES["DARTS_V2"], "cifar10") == []
    rows = ex.published_genotypes("ZCPT_RANDOM_C10_SEED0") + ex.published_genotypes("DARTS_V2")
    table, pending = genotype_table(rows, "cifar10", "heavy", 10, tmp_path)
    first, second = table.iloc[0], table.iloc[1]
    assert first["test error avg"] == "2.50" and first["test error best"] == 2.5 and "600 epochs" in first["training"]
    assert second["test error avg"] == NOT_TRAINED and second["params (M, heavy)"] == pytest.approx(3.349, abs=1e-3)
    assert len(pending) == 1 and pending[0].command.startswith("for s in 0 1 2 3; do zcpt train --genotype DARTS_V2 "
                                                               "--out")
