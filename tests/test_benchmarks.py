"""The speed benchmark's own code paths (tiny sizes): reference vs library on NB201 and DARTS, scale rows."""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def search_speed():
    spec = importlib.util.spec_from_file_location("search_speed", ROOT / "benchmarks" / "search_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(tmp_path: Path, **kw) -> argparse.Namespace:
    base = dict(space="nb201", proxy="nwot", batch_sizes=[4], variants=["reference", "library"], seed=0, order="random",
                device="cpu", validation_batches=1, supernet_options="{}", data_source="sample", scale=False,
                threads=1, work_dir=str(tmp_path), out=None, variant=None, batch_size=4, result=None)
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.mark.parametrize("space,options", [("nb201", {"C": 4, "N": 1}), ("darts-s1", {"C": 4, "layers": 3})])
def test_reference_and_library_choose_the_same_ops(search_speed, tmp_path, space, options):
    rows = search_speed.compare(_args(tmp_path, space=space, supernet_options=json.dumps(options)))
    (row,) = rows
    assert row["same_choices"] is True
    ref, lib = row["results"]["reference"], row["results"]["library"]
    assert ref["evaluations"] == lib["evaluations"] > 0
    assert lib["validation_seconds"] is not None and row["ratio"] > 0
    assert (ref["arch"] == lib["arch"]) if space == "nb201" else (ref["arch"] is None and lib["arch"])


def test_fused_library_scores_are_bitwise_the_plain_ones(search_speed, tmp_path):
    (row,) = search_speed.compare(_args(tmp_path, variants=["library-plain", "library"], validation_batches=0,
                                        supernet_options=json.dumps({"C": 4, "N": 1})))
    assert row["fused_equals_plain"] is True


def test_gradient_proxies_compare_batched_with_one_call_per_perturbation(search_speed, tmp_path):
    results = {v: search_speed.run_variant(_args(tmp_path, proxy="synflow", variant=v, validation_batches=0,
                                                 supernet_options=json.dumps({"C": 4, "N": 1})))
               for v in ("library-simple", "library")}
    assert results["library"]["engine"] == "batched" and results["library-simple"]["engine"] == "simple"
    assert results["library"]["scores"] == results["library-simple"]["scores"]


def test_a_search_only_variant_skips_validation(search_speed, tmp_path):
    args = _args(tmp_path, variant="library-fast", validation_batches=0,
                 supernet_options=json.dumps({"C": 4, "N": 1}))
    result = search_speed.run_variant(args)
    assert result["validation_seconds"] is None and result["evaluations"] == 30


@pytest.fixture(scope="module")
def fidelity():
    import sys

    spec = importlib.util.spec_from_file_location("iteration0_fidelity", ROOT / "benchmarks" / "iteration0_fidelity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_fidelity_benchmark_computes_resumes_and_reports(fidelity, tmp_path, capsys):
    """Tiny supernet, one seed: the one-forward tables of all five semantics equal the ordinary
    `zcpt scores` records of ours and block-input; a second call computes nothing; the summary
    has the paper's row, the authors' logged seeds and one row per variant."""
    store, out = tmp_path / "store", tmp_path / "fidelity.json"
    argv = ["--seeds", "0", "--batch-size", "8", "--supernet-option", "C=4", "--supernet-option", "N=1",
            "--conditions", "sample", "--results-dir", str(store), "--out", str(out), "--quiet"]
    assert fidelity.main(argv) == 0
    written = sorted(p.name for p in store.rglob("*.json"))
    assert written == ["best-acc-nb201.json", "sample-s0.json"] + sorted(
        p.name for p in (store / "scores").glob("zc-pt-*.json")) and len(written) == 4
    assert fidelity.main(argv + ["--report"]) == 0
    assert sorted(p.name for p in store.rglob("*.json")) == written
    record = json.loads(out.read_text())
    assert [r["variant"] for r in record["summary"]] == ["paper (Table 1, Figure 2)", "authors' code (log)", "ours",
                                                          "hooks-only", "zero-input-relu", "published-v1",
                                                          "block-input"]
    rows = {(r["variant"], r["seed"]): r for r in record["rows"]}
    assert rows["authors' code (log)", 1]["match_paper"] == 6 and rows["authors' code (log)", 1]["rank"] == 14
    for name in ("ours", "block-input"):  # checked against the ordinary records
        assert rows[name, 0]["max_diff_vs_record"] <= 1e-9
    assert rows["published-v1", 0]["drop_1x1"] < rows["block-input", 0]["drop_1x1"] < 0
    assert record["missing"] == [] and out.with_suffix(".md").read_text().startswith("| variant |")
    assert fidelity.main(argv[:-1] + ["--commands"]) == 0
    assert "nothing missing" in capsys.readouterr().out
