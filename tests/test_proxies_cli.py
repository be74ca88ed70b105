"""`zcpt proxies` from the command line (in-process), on the real CIFAR-10 sample."""
from __future__ import annotations

import json
import math

from zcpt_analysis.cli import main
from zcpt_analysis.data import MinibatchSampler, load_sample
from zcpt_analysis.options import parse_key_value as parse_option
from zcpt_analysis.proxies import compute_proxy
from zcpt_analysis.spaces import get_space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_list_prints_every_proxy_with_metadata(capsys):
    assert main(["proxies", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:7] == ["proxy", "labels", "grads", "mode", "published", "rho,", "NB201"]
    rows = {line.split()[0]: line for line in out[1:19]}
    assert list(rows) == ["synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "params", "flops",
                          "meco", "zico", "swap", "zen", "epe_nas", "l2_norm", "plain", "ntk", "ensemble"]
    assert rows["snip"].split()[1:4] == ["yes", "yes", "as-is"]
    assert rows["nwot"].split()[1:4] == ["no", "no", "eval"] and "C10 0.77 C100 0.80 IN16 0.77" in rows["nwot"]
    assert rows["fisher"].split()[3] == "train"
    assert "negated: -kappa" in rows["ntk"] and "C10 0.89" in rows["meco"]
    assert "C100 0.90 (regular=true)" in rows["swap"] and "rank within" not in rows["swap"]
    references = {line.split()[0]: line for line in out[out.index("references:") + 1:] if line.startswith("  ")}
    assert "TE-NAS" in references["ntk"] and "Jiang et al. 2023" in references["meco"]
    assert max(len(line) for line in out if not line.startswith("  ")) <= 130  # a terminal's width, not 300
    assert "mean rank within the compared set" in rows["ensemble"]
    assert "NaN" in " ".join(out[-2:])
    assert main(["proxies", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed][:2] == ["synflow", "snip"] and all(p["cost"] for p in listed)
    by_name = {p["name"]: p for p in listed}
    assert by_name["plain"]["published_nb201_spearman"]["rho"]["cifar10"] == -0.26
    assert by_name["zico"]["published_nb201_spearman"] is None and by_name["ensemble"]["relative"]


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
    assert main(["proxies", "score", none_arch, "--proxy", "nwot", "--proxy", "jacob_cov", "--batch-size", "4",
                 "--device", "cpu", "--json"]) == 0
    out = capsys.readouterr()
    scores = {r["proxy"]: r["score"] for r in json.loads(out.out)["scores"]}
    assert scores == {"nwot": "-inf", "jacob_cov": "-inf"}
    # the warnings come after the work, one line each (no source line), with a count when repeated
    warned = out.err.splitlines()
    assert warned and all(w.startswith("zcpt: warning: DegenerateNetworkWarning: ") for w in warned)
    assert len(warned) == len(set(warned)) and not any("warnings.warn(" in w or "return sign" in w for w in warned)
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
