"""Readable but wrong data is refused when it is loaded (issue 25, class 2).

A NAS-Bench-201 table cut short, with repeated rows, indices out of range, malformed architecture
strings, two indices for one architecture or accuracies that are no percentages; an image sample
with the wrong shape, dtype, label range or missing arrays; PNGs with a bad label or size: each is
one error naming the file and what is wrong, raised at load time -- through the CLI (non-zero exit,
one line, no traceback) and the Python API -- before any query or search uses it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zcpt_analysis.bench import load_benchmark
from cli_run import run_cli
from zcpt_analysis.errors import ZcptError




def assert_one_line_error(rc: int, text: str, *words: str) -> str:
    assert rc != 0 and "Traceback" not in text, text
    (line,) = [line for line in text.splitlines() if "error" in line]
    assert len(line) < 600, line
    for word in words:
        assert word in line, (word, line)
    return line


@pytest.fixture(scope="module")
def tables(shared_data) -> dict[str, pd.DataFrame]:
    folder = shared_data / "nb201"
    return {name: pd.read_csv(folder / name) for name in ("cifar10_test_trials.csv", "test_accuracy_mean.csv")}


def write_bench(folder: Path, tables: dict[str, pd.DataFrame], name: str, edit) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file, df in tables.items():
        (edit(df.copy()) if file == name else df).to_csv(folder / file, index=False)
    return folder


def _same_arch(df):
    df.loc[df["index"] == 1, "arch_str"] = df.loc[df["index"] == 0, "arch_str"].iloc[0]
    return df


def _second_arch(df):
    df.loc[df.index[df["index"] == 0][0], "arch_str"] = df.loc[df["index"] == 1, "arch_str"].iloc[0]
    return df


def _swapped_archs(df):
    first, second = df.index[df["index"] == 0][0], df.index[df["index"] == 1][0]
    df.loc[[first, second], "arch_str"] = df.loc[[second, first], "arch_str"].to_numpy()
    return df


BAD_TABLES = {
    "cut-trials": ("cifar10_test_trials.csv", lambda df: df[df["index"] < 7755], ["covers 7,755 of the 15,625"]),
    "cut-means": ("test_accuracy_mean.csv", lambda df: df.iloc[:7755], ["covers 7,755 of the 15,625", "cifar10"]),
    "missing-cifar100": ("test_accuracy_mean.csv", lambda df: df.assign(cifar100=df["cifar100"].where(df.index < 100)),
                         ["covers 100 of the 15,625", "cifar100"]),
    "index-out-of-range": ("test_accuracy_mean.csv", lambda df: df.assign(index=df["index"] + 1),
                           ["indices must be integers in 0..15624", "15625"]),
    "negative-index": ("cifar10_test_trials.csv", lambda df: df.assign(index=df["index"].where(df.index > 0, -3)),
                       ["indices must be integers in 0..15624", "-3"]),
    "fractional-index": ("test_accuracy_mean.csv", lambda df: df.assign(index=df["index"] + 0.5),
                         ["indices must be integers"]),
    "repeated-rows": ("cifar10_test_trials.csv", lambda df: pd.concat([df, df.iloc[:5]]), ["5 repeated row(s)"]),
    "malformed-arch": ("test_accuracy_mean.csv", lambda df: df.assign(arch_str=df["arch_str"].str.replace(
        "nor_conv_3x3", "conv_5x5")), ["malformed architecture string", "conv_5x5"]),
    "accuracy-as-fraction": ("cifar10_test_trials.csv", lambda df: df.assign(
        test_accuracy=df["test_accuracy"].where(df.index > 2, 940.0)), ["percentages in [0, 100]", "940.0"]),
    "two-archs-per-index": ("cifar10_test_trials.csv", _second_arch, ["index 0 has 2 different arch_str values"]),
    "two-indices-per-arch": ("test_accuracy_mean.csv", _same_arch, ["has 2 different index values (0, 1)"]),
    "tables-disagree": ("test_accuracy_mean.csv", _swapped_archs, ["disagree: index 0 is"]),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_a_wrong_benchmark_table_is_refused_when_loaded(tmp_path, tables, capsys, case):
    name, edit, words = BAD_TABLES[case]
    folder = write_bench(tmp_path / case, tables, name, edit)
    with pytest.raises(ZcptError) as info:
        load_benchmark(folder)
    message = str(info.value)
    assert name in message and str(folder.resolve()) in message and "\n" not in message
    for word in words:
        assert word in message, (word, message)
    rc, text = run_cli(["bench", "query", "0", "--dataset", "all", "--bench", folder], capsys)
    assert_one_line_error(rc, text, name, *words)


def test_the_whole_table_still_answers_the_true_ranks(bench):
    result = bench.query(bench.arch_of(0), "cifar100")
    assert (result.rank, result.num_archs) == (13497, 15625)
    assert bench.top("cifar10", 1)["index"].iloc[0] == 6111


# ----------------------------------------------------------------------------- images
@pytest.fixture
def data_copy(tmp_path, shared_data) -> Path:
    """A data folder like the shared one whose image sample a case may replace."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    for name in ("nb201", "darts"):
        (root / name).symlink_to(shared_data / name)
    (root / "images" / "foolbox").symlink_to(shared_data / "images" / "foolbox")
    return root


def _sample(shared_data) -> dict[str, np.ndarray]:
    with np.load(shared_data / "images" / "cifar10_sample.npz") as npz:
        return {k: npz[k] for k in npz.files}


BAD_SAMPLES = {
    "wrong-size": (lambda a: a | {"x_train": a["x_train"][:, :, :28, :28]}, ["(N, 3, 32, 32)", "(400, 3, 28, 28)"]),
    "channels-last": (lambda a: a | {"x_train": np.ascontiguousarray(a["x_train"].transpose(0, 2, 3, 1))},
                      ["(N, 3, 32, 32)", "(400, 32, 32, 3)"]),
    "float-pixels": (lambda a: a | {"x_train": a["x_train"].astype(np.float32)}, ["uint8", "float32"]),
    "label-10": (lambda a: a | {"y_train": np.where(np.arange(400) == 7, 10, a["y_train"])}, ["labels must be in 0..9",
                                                                                              "e.g. 10"]),
    "negative-label": (lambda a: a | {"y_train": a["y_train"] - 1}, ["labels must be in 0..9", "-1"]),
    "fewer-labels": (lambda a: a | {"y_train": a["y_train"][:300]}, ["one integer label per image (400)"]),
    "no-labels": (lambda a: {k: v for k, v in a.items() if k != "y_train"}, ["lacks the array(s) y_train"]),
    "empty": (lambda a: a | {"x_train": a["x_train"][:0], "y_train": a["y_train"][:0]}, ["N > 0"]),
}


@pytest.mark.parametrize("case", list(BAD_SAMPLES))
def test_a_wrong_image_sample_is_refused_before_any_work(data_copy, shared_data, monkeypatch, capsys, case):
    edit, words = BAD_SAMPLES[case]
    path = data_copy / "images" / "cifar10_sample.npz"
    np.savez(path, **edit(_sample(shared_data)))
    monkeypatch.setenv("ZCPT_DATA", str(data_copy))
    from zcpt_analysis.data import load_images

    with pytest.raises(ZcptError) as info:
        load_images("cifar10", "sample")
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    rc, text = run_cli(["proxies", "score", "--proxy", "nwot", "0", "--batch-size", "8"], capsys)
    assert_one_line_error(rc, text, "cifar10_sample.npz", *words)


def test_a_file_that_is_no_npz_is_named(data_copy, monkeypatch):
    (data_copy / "images" / "cifar10_sample.npz").write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setenv("ZCPT_DATA", str(data_copy))
    from zcpt_analysis.data import load_images

    with pytest.raises(ZcptError, match="cifar10_sample.npz is not a readable image sample"):
        load_images("cifar10", "sample")


@pytest.mark.parametrize("rename, words", [
    (lambda p: p.with_name(p.name.replace(p.stem.split("_")[-1], "cat")), ["class number", "'cat'"]),
    (lambda p: p.with_name(p.name.rsplit("_", 1)[0] + "_17.png"), ["labels must be in 0..9", "17"]),
])
def test_png_samples_with_a_bad_label_are_refused(tmp_path, shared_data, rename, words):
    from zcpt_analysis.data import load_png_samples

    folder = tmp_path / "png"
    shutil.copytree(shared_data / "images" / "foolbox", folder)
    first = sorted(folder.glob("cifar10_*_*.png"))[0]
    os.rename(first, rename(first))
    with pytest.raises(ZcptError) as info:
        load_png_samples("cifar10", folder)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_png_samples_of_the_wrong_size_are_refused(tmp_path, shared_data):
    from PIL import Image

    from zcpt_analysis.data import load_png_samples

    folder = tmp_path / "png"
    folder.mkdir()
    for i, src in enumerate(sorted((shared_data / "images" / "foolbox").glob("cifar10_*_*.png"))):
        image = Image.open(src)
        image.resize((16, 16)).save(folder / src.name) if i < 20 else None
    with pytest.raises(ZcptError, match=r"\(N, 3, 32, 32\).*\(20, 3, 16, 16\)"):
        load_png_samples("cifar10", folder)
