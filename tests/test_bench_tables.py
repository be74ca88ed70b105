"""Benchmark access on the real NAS-Bench-201 tables in ../shared/data/nb201."""
import pandas as pd
import pytest

from zcpt_analysis.bench import NB201Benchmark, load_benchmark
from zcpt_analysis.bench.table import TidyTables
from zcpt_analysis.errors import InvalidArchError, MissingFileError, UnknownNameError, ZcptError

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_best_cifar10_architecture(bench):
    top = bench.top("cifar10", 1).iloc[0]
    assert top["arch_str"] == BEST and int(top["index"]) == 6111
    r = bench.query(BEST, "cifar10")
    assert r.index == 6111 and r.rank == 1 and r.trials == (94.26, 94.68, 94.18)
    assert round(r.mean, 4) == 94.3733 and round(r.error, 2) == 5.63
    assert r.percentile == pytest.approx(100 * 15623 / 15624)  # tied with index 13714


def test_all_conv3x3_rank(bench):
    r = bench.query(["nor_conv_3x3"] * 6, "cifar10")
    assert round(r.mean, 2) == 93.76 and round(r.error, 2) == 6.24 and r.rank == 166


def test_other_datasets_come_from_the_mean_table(bench, shared_data):
    means = pd.read_csv(shared_data / "nb201" / "test_accuracy_mean.csv").set_index("index")
    for dataset in ("cifar100", "ImageNet16-120"):
        r = bench.query(BEST, dataset)
        assert r.mean == pytest.approx(means.loc[6111, dataset]) and r.trials == ()
    assert bench.query(BEST, "imagenet16-120").dataset == "ImageNet16-120"


def test_files_agree_on_cifar10_mean_with_three_trials(bench, shared_data):
    means = pd.read_csv(shared_data / "nb201" / "test_accuracy_mean.csv").set_index("index")["cifar10"]
    table = bench.mean_table("cifar10").set_index("index")
    three = table[table["n_trials"] == 3]
    assert len(three) == 7961  # 1-3 trials per architecture in NB201 v1.1
    assert (three["mean"] - means.loc[three.index]).abs().max() < 1e-6


def test_rank_definition(bench):
    table = bench.mean_table("cifar10")
    assert len(table) == 15625 and table["rank"].min() == 1
    row = table.sample(1, random_state=0).iloc[0]
    assert row["rank"] == 1 + (table["mean"] > row["mean"]).sum()


def test_bad_inputs_give_clear_errors(bench, tmp_path):
    with pytest.raises(UnknownNameError, match="valid benchmark datasets: cifar10, cifar100, ImageNet16-120"):
        bench.query(BEST, "cifar11")
    with pytest.raises(UnknownNameError, match="cifar10-valid is a different"):
        bench.query(BEST, "cifar10-valid")
    with pytest.raises(InvalidArchError):
        bench.query("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(MissingFileError, match="zcpt bench convert"):
        load_benchmark(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no NAS-Bench-201 tables"):
        load_benchmark(tmp_path / "empty")


def test_tables_write_and_read_back(bench, tmp_path):
    trials = bench.trials_table("cifar10").head(30)
    tables = TidyTables(trials={"cifar10": trials})
    tables.write(tmp_path)
    small = load_benchmark(tmp_path, complete=False)
    assert small.datasets == ("cifar10",)
    idx = int(trials["index"].iloc[0])
    assert small.query(small.arch_of(idx)).trials == bench.query(bench.arch_of(idx)).trials
    with pytest.raises(ZcptError, match="has no results for cifar100"):
        small.query(small.arch_of(idx), "cifar100")


def test_in_memory_benchmark():
    df = pd.DataFrame({"index": [0, 0, 1], "arch_str": [BEST, BEST, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
                       "trial": [0, 1, 0], "test_accuracy": [90.0, 92.0, 10.0]})
    b = NB201Benchmark(TidyTables(trials={"cifar10": df}), complete=False)
    assert b.query(BEST).mean == 91.0 and b.query(BEST).rank == 1 and b.query(BEST).percentile == 100.0
