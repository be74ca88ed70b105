"""The proxy study benchmark (streaming, resumable) and Zero-Cost-PT with every new proxy (tiny settings)."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from zcpt_analysis.cli import main
from zcpt_analysis.experiments import NEW_PROXIES, search_settings, table3
from zcpt_analysis.proxies import rank_average
from zcpt_analysis.runs import ResultStore, execute
from zcpt_analysis.runs.specs import SearchSpec

TINY = dict(supernet_options={"C": 2, "N": 1}, network_options={"C": 2, "N": 1}, batch_size=8, N=1, V=2,
            device="cpu", data_source="sample")


@pytest.fixture(scope="module")
def study():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "proxy_correlation.py"
    spec = importlib.util.spec_from_file_location("proxy_correlation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_streams_resumes_and_reports(study, tmp_path, capsys, shared_data):
    out = tmp_path / "s"
    args = ["--batch-size", "4", "--seed", "1", "--out", str(out), "--device", "cpu", "--ensembles", "nwot,params"]
    assert study.main(["--num-archs", "4", "--proxies", "nwot,synflow:log=True,params", *args]) == 0
    first = capsys.readouterr().out
    assert "4 to score now" in first and "ref ρ C10" in first and "synflow:log=True" in first
    lines = out.with_suffix(".jsonl").read_text().splitlines()
    assert json.loads(lines[0])["config"]["batch_size"] == 4 and len(lines) == 5
    # a larger sample extends the same one; a new proxy is scored for the architectures already there
    assert study.main(["--num-archs", "5", "--proxies", "nwot,synflow:log=True,params,l2_norm", *args]) == 0
    assert "5 to score now (0 complete" in capsys.readouterr().out
    new_lines = [json.loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()[5:]]
    assert [sorted(r["scores"]) for r in new_lines[:4]] == [["l2_norm"]] * 4 and len(new_lines[4]["scores"]) == 4
    # a torn last line (an interrupted write) is cut off and the architecture scored again
    with open(out.with_suffix(".jsonl"), "a") as fh:
        fh.write('{"index": 1, "arch"')
    assert study.main(["--num-archs", "5", "--proxies", "nwot,synflow:log=True,params,l2_norm", *args]) == 0
    assert "0 to score now (5 complete" in capsys.readouterr().out
    summary = json.loads(out.with_suffix(".json").read_text())
    rows = {r["proxy"]: r for r in summary["rows"]}
    assert summary["num_archs"] == 5 and "reference" in summary["reference_note"]
    assert rows["nwot"]["cifar10 reference rho"] == 0.77 and rows["params"]["rho with params"] == 1.0
    assert rows["synflow:log=True"]["ImageNet16-120 reference rho"] == 0.75
    # the sample check: rho(params) over the whole space, from an independent closed form (each
    # 1x1 / 3x3 conv adds k*k*C*C weights + 2C BatchNorm affine per cell, 5 cells at C = 16, 32, 64)
    from scipy import stats
    from zcpt_analysis.bench import load_benchmark
    table = load_benchmark().mean_table("cifar10")
    kernel = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
    per_conv = {op: 5 * sum(k * k * c * c + 2 * c for c in (16, 32, 64)) for op, k in kernel.items()}
    ops = [[p.split("~")[0] for p in a.split("|") if "~" in p] for a in table["arch_str"]]
    size = [sum(per_conv.get(op, 0) for op in arch) for arch in ops]
    check = summary["sample_check"]
    assert check["space"]["cifar10"] == pytest.approx(stats.spearmanr(size, table["mean"]).statistic, abs=1e-12)
    assert 0.7 < check["space"]["cifar10"] < 0.8 and set(check["sample"]) == set(check["space"])
    # the ensemble column is the rank average of its components over the sample
    csv = out.with_suffix(".csv").read_text().splitlines()
    head = csv[0].split(",")
    table = np.array([[float(v) for v in line.split(",")[2:]] for line in csv[1:]])
    acc, comps = table[:, 0], table[:, [head.index("nwot") - 2, head.index("params") - 2]]
    ens = np.array(rank_average(comps.tolist()))
    expected = stats.spearmanr(stats.rankdata(ens), acc).statistic
    assert rows["ensemble(nwot,params)"]["cifar10 rho"] == pytest.approx(expected)
    with pytest.raises(SystemExit, match="another setting"):
        study.main(["--num-archs", "5", "--proxies", "nwot", "--batch-size", "5", "--out", str(out), "--ensembles"])


def test_two_shards_score_the_sample_once_and_match_one_process(study, tmp_path, capsys, shared_data):
    args = ["--num-archs", "5", "--batch-size", "4", "--proxies", "nwot,params", "--device", "cpu", "--ensembles"]
    assert study.main([*args, "--out", str(tmp_path / "whole")]) == 0
    for shard in ("1/2", "0/2"):
        assert study.main([*args, "--out", str(tmp_path / "split"), "--shard", shard]) == 0
    out = capsys.readouterr().out
    assert "2 to score now" in out and "3 to score now" in out

    def scored(name: str) -> dict:
        lines = (tmp_path / f"{name}.jsonl").read_text().splitlines()[1:]
        return {json.loads(x)["index"]: json.loads(x)["scores"] for x in lines}

    whole, split = scored("whole"), scored("split")
    assert len(split) == 5 and split == whole
    def correlations(name: str) -> list:
        rows = json.loads((tmp_path / f"{name}.json").read_text())["rows"]
        return [{k: v for k, v in r.items() if k != "seconds per arch"} for r in rows]

    assert correlations("whole") == correlations("split")
    with pytest.raises(SystemExit):
        study.main([*args, "--out", str(tmp_path / "x"), "--shard", "2/2"])
    assert "--shard 2/2: need 0 <= K < N" in capsys.readouterr().err


def test_study_rejects_bad_proxies_before_work(study, tmp_path, capsys):
    with pytest.raises(SystemExit):
        study.main(["--proxies", "nwot:hooks=relu6x", "--out", str(tmp_path / "x")])
    assert "nwot proxy option hooks must be one of relu, published, got 'relu6x'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        study.main(["--proxies", "nwot,meco:foo=1", "--out", str(tmp_path / "x")])
    assert "unknown meco proxy option 'foo'; valid meco proxy options:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        study.main(["--proxies", "nwot", "--ensembles", "nwot,synflow", "--out", str(tmp_path / "x")])
    assert "not one of the study's --proxies" in capsys.readouterr().err


def test_zcpt_search_cli_with_meco(tmp_path, capsys, shared_data):
    assert main(["search", "--proxy", "meco", "-N", "1", "-V", "1", "--batch-size", "8", "--data-source", "sample",
                 "--device", "cpu", "--supernet-option", "C=2", "--supernet-option", "N=1", "--network-option", "C=2",
                 "--network-option", "N=1", "--out", str(tmp_path), "--quiet"]) == 0
    assert "selected: |" in capsys.readouterr().out
    assert len(list(tmp_path.glob("zcpt-nb201-meco-random-N1-V1-b8-*.json"))) == 1


@pytest.mark.parametrize("proxy", [p for p in NEW_PROXIES if p != "meco"])
def test_zcpt_search_runs_with_every_new_proxy(proxy, cifar_sample, bench, tmp_path):
    options = {"num_samples": 4} if proxy == "ntk" else {}
    record = execute(SearchSpec(proxy=proxy, proxy_options=options, **TINY), ResultStore(tmp_path), progress=False,
                     images=cifar_sample, bench=bench)
    assert record.status == "complete" and record.selected.benchmark["cifar10"].rank >= 1
    for cand in record.candidates:
        assert len(cand.scores) == 2 and all(isinstance(s, float) for s in cand.scores)
    steps = record.iterations[0].steps
    if proxy == "ensemble":  # rank averages within each comparison set
        assert all(0.0 <= v <= 1.0 for step in steps for v in step.scores.values())
        assert all(0.0 <= s <= 1.0 for c in record.candidates for s in c.scores)


def test_table3_lists_the_new_proxies_as_not_in_the_paper(tmp_path, cifar_sample):
    settings = search_settings("smoke")
    result = table3(settings, results_dir=tmp_path, proxies=["nwot", "l2_norm"])
    table = result.table.set_index("proxy")
    assert table.loc["l2_norm", "C10 paper"] == "not in the paper"
    assert table.loc["nwot", "C10 paper"] == "5.97 ± 0.17"
    assert not math.isnan(float(table.loc["l2_norm", "C10 measured"].split(" ")[0]))
    from zcpt_analysis.experiments.nb201_tables import plan_table3, table3_proxies
    assert table3_proxies()[-len(NEW_PROXIES):] == list(NEW_PROXIES)
    ntk = [s for s in plan_table3(settings) if s.proxy == "ntk"]
    assert ntk and ntk[0].proxy_options == {}  # smoke batch 8: the NTK of the whole minibatch
    assert [s.proxy_options for s in plan_table3(search_settings("paper")) if s.proxy == "ntk"][0] == {"num_samples": 16}


# ----------------------------------------------------------------------------- the study as a spec kind
STUDY = ["--num-archs", "4", "--batch-size", "4", "--seed", "1", "--proxies", "nwot", "synflow:log=True", "params",
         "--ensembles", "nwot,params", "--device", "cpu", "--quiet"]


def test_study_spec_kind_streams_resumes_and_matches_the_benchmark_report(study, tmp_path, capsys, shared_data,
                                                                         monkeypatch):
    from zcpt_analysis.runs import ProxyStudySpec, ResultStore

    store = ResultStore(tmp_path / "store")
    assert main(["proxies", "study", *STUDY, "--out", str(store.root)]) == 0
    assert "4 of 4 architectures complete" in capsys.readouterr().out
    spec = ProxyStudySpec(num_archs=4, batch_size=4, seed=1, proxies=("nwot", "synflow:log=True", "params"),
                          ensembles=("nwot,params",), device="cpu")
    record = store.find(spec)
    assert record.complete and record.num_archs == 4 and len(record.rows) == 4
    stream = store.root / spec.score_stream_name()
    assert len(stream.read_text().splitlines()) == 5  # header + one line per architecture
    # the record and the benchmark script's report are the same correlations (timings aside)
    assert study.main(["--num-archs", "4", "--batch-size", "4", "--seed", "1", "--proxies",
                       "nwot,synflow:log=True,params", "--ensembles", "nwot,params", "--device", "cpu",
                       "--out", str(tmp_path / "script")]) == 0
    script = json.loads((tmp_path / "script.json").read_text())

    def correlations(rows: list) -> list:
        return [{k: v for k, v in r.items() if k != "seconds per arch"} for r in rows]

    assert correlations(json.loads(json.dumps(record.to_json()))["rows"]) == correlations(script["rows"])
    assert record.sample_check == script["sample_check"] and record.config == script["config"]
    # a complete record is read back, nothing is scored again
    monkeypatch.setattr("zcpt_analysis.proxy_study.score_architecture",
                        lambda *a, **k: pytest.fail("scored again"))
    assert main(["proxies", "study", *STUDY, "--out", str(store.root)]) == 0
    monkeypatch.undo()
    # a larger sample and one more proxy extend the same stream: only what is missing is scored
    with open(stream, "a") as fh:
        fh.write('{"index": 1, "arch"')  # a torn last line (an interrupted write) is cut off
    bigger = ["--num-archs", "5", *STUDY[2:]]
    bigger.insert(bigger.index("params") + 1, "l2_norm")
    assert main(["proxies", "study", *bigger, "--out", str(store.root)]) == 0
    lines = [json.loads(x) for x in stream.read_text().splitlines()[5:]]
    assert [sorted(r["scores"]) for r in lines[:4]] == [["l2_norm"]] * 4 and len(lines[4]["scores"]) == 4
    assert sorted(p.name for p in (store.root / "proxy-study").glob("study-*.json")) == sorted(
        [Path(spec.record_name()).name, Path(spec.replace(num_archs=5, proxies=(*spec.proxies, "l2_norm"))
                                             .record_name()).name])


def test_study_spec_kind_is_planned_by_reproduce_and_read_by_the_notebook_layer(tmp_path, capsys, shared_data):
    from zcpt_analysis.experiments import proxy_study as read_study
    from zcpt_analysis.experiments.targets import plan

    (spec,) = plan(["proxy_study"], "smoke")
    assert spec.KIND == "proxy-study" and spec.num_archs == 5
    assert main(["reproduce", "proxy_study", "--preset", "smoke", "--executor", "serial", "--results-dir",
                 str(tmp_path), "--quiet"]) == 0
    assert main(["reproduce", "proxy_study", "--preset", "smoke", "--executor", "serial", "--results-dir",
                 str(tmp_path), "--dry-run"]) == 0
    assert "0 to run, 1 already stored" in capsys.readouterr().out
    result = read_study("smoke", results_dir=tmp_path, compute_missing=False)
    assert result.note.startswith("5 random NAS-Bench-201 architectures") and len(result.table) == 4
    pending = read_study("cpu", results_dir=tmp_path / "empty")
    assert "not yet computed" in pending.note and "zcpt proxies study --num-archs 500" in pending.note
    assert "the study this repository ships" in pending.note
