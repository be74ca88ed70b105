"""`zcpt proxies` from the command line (in-process), on the real CIFAR-10 sample."""
from __future__ import annotations

import json
import math

import pytest

from zcpt_analysis.cli import main
from zcpt_analysis.data import MinibatchSampler, load_sample
from zcpt_analysis.options import parse_key_value as parse_option
from zcpt_analysis.proxies import compute_proxy
from zcpt_analysis.spaces import get_space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_list_prints_every_proxy_with_metadata(capsys):
    assert main(["proxies", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["proxy", "labels", "grads", "higher=better", "mode", "cost"]
    rows = {line.split()[0]: line.split() for line in out[1:10]}
    assert list(rows) == ["synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "params", "flops"]
    assert rows["snip"][1:5] == ["yes", "yes", "yes", "as-is"]
    assert rows["nwot"][1:5] == ["no", "no", "yes", "eval"]
    assert rows["fisher"][4] == "train"
    assert "NaN" in out[-1]
    assert main(["proxies", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed][:2] == ["synflow", "snip"] and all(p["cost"] for p in listed)


def test_score_on_the_real_sample_matches_the_library(capsys, shared_data):
    assert main(["proxies", "score", BEST, "--proxy", "nwot", "--proxy", "synflow", "--batch-size", "8",
                 "--seed", "3", "--data-source", "sample", "--device", "cpu", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == BEST and info["batch_size"] == 8 and info["data"].startswith("sample:")
    scores = {row["proxy"]: row["score"] for row in info["scores"]}
    # the same network and minibatch built by hand give the same numbers
    images = load_sample("train")
    x, y = MinibatchSampler(images, 8, seed=3).sample()
    net = get_space("nb201").network(BEST, num_classes=10, seed=3)
    assert scores["nwot"] == compute_proxy("nwot", net, x, y)
    assert scores["synflow"] == compute_proxy("synflow", net, x, y)
    assert math.isfinite(scores["nwot"]) and scores["synflow"] > 0


def test_score_table_options_and_index(capsys, shared_data):
    assert main(["proxies", "score", "6111", "--proxy", "nwot", "--proxy", "snip", "--batch-size", "4",
                 "-o", "mode=train", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert BEST in out and "options  mode=train" in out and "batch 4" in out
    lines = [line.split() for line in out.splitlines() if line.startswith(("nwot", "snip"))]
    assert [row[0] for row in lines] == ["nwot", "snip"] and all(float(row[1]) > 0 for row in lines)


def test_score_all_on_a_degenerate_arch_and_errors(capsys, shared_data):
    none_arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    with pytest.warns(UserWarning):
        assert main(["proxies", "score", none_arch, "--proxy", "nwot", "--proxy", "jacob_cov", "--batch-size", "4",
                     "--device", "cpu", "--json"]) == 0
    scores = {r["proxy"]: r["score"] for r in json.loads(capsys.readouterr().out)["scores"]}
    assert scores == {"nwot": "-inf", "jacob_cov": "-inf"}
    assert main(["proxies", "score", BEST, "--proxy", "naswot"]) == 2
    assert capsys.readouterr().err.startswith("zcpt: error: unknown proxy 'naswot'; valid proxies: synflow")
    assert main(["proxies", "score", BEST, "--proxy", "synflow", "-o", "hooks=published"]) == 2
    assert "no selected proxy accepts option(s) hooks" in capsys.readouterr().err
    assert main(["proxies", "score", BEST, "--batch-size", "999", "--data-source", "sample"]) == 2
    assert "exceeds the 400 distinct images" in capsys.readouterr().err


def test_parse_option_types():
    assert parse_option("mode=train") == ("mode", "train")
    assert parse_option("chunk_size=32") == ("chunk_size", 32)
    assert parse_option("log=True") == ("log", True)
    assert parse_option("output_index=none") == ("output_index", None)


def test_correlation_benchmark_writes_and_resumes(tmp_path, capsys, shared_data):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "proxy_correlation.py"
    spec = importlib.util.spec_from_file_location("proxy_correlation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "pc.json"
    args = ["--batch-size", "4", "--seed", "1", "--proxies", "nwot,synflow:log=True,params", "--out", str(out),
            "--device", "cpu"]
    assert module.main(["--num-archs", "3", *args]) == 0
    first = capsys.readouterr().out
    assert "3 architectures left to score" in first and "published rho" in first and "synflow:log=True" in first
    stored = json.loads(out.read_text())
    assert len(stored["archs"]) == 3 and stored["summary"]["num_archs"] == 3
    assert out.with_suffix(".csv").read_text().splitlines()[0] == "index,arch_str,accuracy,nwot,synflow:log=True,params"
    assert module.main(["--num-archs", "4", *args]) == 0  # resumes: only the new architecture is scored
    assert "1 architectures left to score (3 resumed" in capsys.readouterr().out
    assert module.main(["--num-archs", "4", *args[:-4], "--batch-size", "5", "--out", str(out)]) == 2
    assert "another setting" in capsys.readouterr().err
