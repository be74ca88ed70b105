"""The official NAS-Bench-201 (.pth) and NATS-Bench (tss) readers, on tiny archives built here.

The fake archives have 3 architectures, are built from each package's own ``ArchResults`` /
``ResultsCount`` classes (saved as their state dicts, exactly as the packages load them), and hold
decoys a wrong reader would pick up: 12-epoch results that differ from the 200-epoch ones,
``cifar10-valid`` results, ``ori-test`` values for cifar100 / ImageNet16-120 that differ from
``x-test``, and non-final epochs that differ from the final one.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import nas_201_api
import nats_bench
from nats_bench import api_utils as nats_utils

from zcpt_analysis.bench import load_benchmark, read_tables
from zcpt_analysis.bench.nats import read_nats
from zcpt_analysis.bench.official import MissingPackageError, read_official
from zcpt_analysis.bench.table import DATASETS, read_tidy_folder
from zcpt_analysis.cli import main
from zcpt_analysis.errors import MissingFileError

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
]
SEEDS = {0: [999, 777, 888], 1: [888, 777], 2: [777]}
"""200-epoch seeds per architecture, in the (unsorted) order they are added to ArchResults."""
BASE = {"cifar10": 93.0, "cifar100": 70.0, "ImageNet16-120": 44.0}
VALID_DECOY = 11.11  # every cifar10-valid accuracy: must never be read
LESS_OFFSET = -40.0  # 12-epoch accuracies: must never be read


def acc200(index: int, dataset: str, seed: int) -> float:
    """The final 200-epoch test accuracy stored for (arch, dataset, seed)."""
    return BASE[dataset] + 0.5 * index + (seed - 777) / 100.0 + 0.013


def expected_trials(dataset: str) -> pd.DataFrame:
    rows = [(i, ARCHS[i], trial, acc200(i, dataset, seed), seed)
            for i in range(3) for trial, seed in enumerate(sorted(SEEDS[i]))]
    return pd.DataFrame(rows, columns=["index", "arch_str", "trial", "test_accuracy", "seed"])


def expected_mean(index: int, dataset: str) -> float:
    return float(np.mean([acc200(index, dataset, s) for s in SEEDS[index]]))


# --------------------------------------------------------------------------- building fake archives
def _results_count(mod: ModuleType, arch_str: str, dataset: str, seed: int, epochs: int, final: float,
                   numpy_scalars: bool) -> Any:
    """One training run with the package's ResultsCount: test splits as in the real archives."""
    if dataset == "cifar10":
        splits = {"ori-test": 0.0}
    elif dataset == "cifar10-valid":
        splits = {"x-valid": 0.0, "ori-test": 0.0}
    else:  # x-test is the test set; ori-test is valid+test and must not be used
        splits = {"x-valid": -1.0, "x-test": 0.0, "ori-test": -0.5}
    latency = [np.float64(0.01)] if numpy_scalars else [0.01]
    rc = mod.ResultsCount(f"{dataset}-{seed}", None, {e: 50.0 + e / 10 for e in range(epochs)},
                          {e: 1.0 for e in range(epochs)}, 1.5, 100.0,
                          {"arch_str": arch_str, "channel": 16, "num_cells": 5, "class_num": 10}, seed, epochs, latency)
    accs, losses, times = {}, {}, {}
    for split, offset in splits.items():
        for e in range(epochs):
            key = f"{split}@{e}"
            accs[key] = final + offset if e == epochs - 1 else final + offset - 30.0  # non-final epochs: decoys
            losses[key], times[key] = 0.5, 0.1
    rc.update_eval(accs, losses, times)
    return rc


def _arch_results(mod: ModuleType, index: int, hp: str, numpy_scalars: bool = False,
                  epochs: int | None = None) -> dict[str, Any]:
    """State dict of the package's ArchResults for one architecture and one hp ('12' or '200')."""
    arch_str = ARCHS[index]
    ar = mod.ArchResults(index, arch_str)
    seeds = SEEDS[index] if hp == "200" else [777]
    n_epochs = epochs if epochs is not None else int(hp)
    for dataset in ("cifar10-valid", *DATASETS):
        for seed in seeds:
            if dataset == "cifar10-valid":
                final = VALID_DECOY
            else:
                final = acc200(index, dataset, seed) + (0.0 if hp == "200" else LESS_OFFSET)
            ar.update(dataset, seed, _results_count(mod, arch_str, dataset, seed, n_epochs, final, numpy_scalars))
    return ar.state_dict()


def make_official(path: Path, numpy_scalars: bool = False, full_epochs: int = 200) -> Path:
    """An official-style NAS-Bench-201 .pth (legacy torch format, like the 2020 files)."""
    data = {"meta_archs": list(ARCHS),
            "arch2infos": {i: {"less": _arch_results(nas_201_api, i, "12", numpy_scalars),
                               "full": _arch_results(nas_201_api, i, "200", numpy_scalars, epochs=full_epochs)}
                           for i in range(3)},
            "evaluated_indexes": [0, 1, 2]}
    torch.save(data, path, _use_new_zipfile_serialization=False)
    return path


def _nats_hp2results(index: int) -> dict[str, Any]:
    return {"12": _arch_results(nats_utils, index, "12"), "200": _arch_results(nats_utils, index, "200")}


def make_nats_folder(folder: Path) -> Path:
    """A NATS-tss-...-simple folder: meta.pickle.pbz2 + one <index>.pickle.pbz2 per arch (both namings)."""
    folder.mkdir(parents=True)
    nats_bench.pickle_save({"meta_archs": list(ARCHS)}, str(folder / "meta.pickle"))
    for i in range(3):
        name = f"{i}.pickle" if i == 1 else f"{i:06d}.pickle"
        nats_bench.pickle_save(_nats_hp2results(i), str(folder / name))
    return folder


def make_nats_file(path_without_ext: Path) -> Path:
    """A single-file NATS-tss-...pickle.pbz2 archive."""
    data = {"meta_archs": list(ARCHS), "arch2infos": {i: _nats_hp2results(i) for i in range(3)},
            "evaluated_indexes": [0, 1, 2]}
    nats_bench.pickle_save(data, str(path_without_ext))
    return Path(str(path_without_ext) + ".pbz2")


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fake_bench")
    return {
        "official": make_official(root / "NAS-Bench-201-v1_1-096897.pth"),
        "official_numpy": make_official(root / "NAS-Bench-201-v1_0-e61699.pth", numpy_scalars=True),
        "nats_folder": make_nats_folder(root / "NATS-tss-v1_0-3ffb9-simple"),
        "nats_file": make_nats_file(root / "NATS-tss-v1_0-3ffb9.pickle"),
    }


# --------------------------------------------------------------------------- values
def _check_tables(tables: Any) -> None:
    assert set(tables.trials) == set(DATASETS)
    for dataset in DATASETS:
        got = tables.trials[dataset]
        assert list(got.columns)[:4] == ["index", "arch_str", "trial", "test_accuracy"]
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected_trials(dataset), check_dtype=False)
    means = tables.means
    assert list(means.columns) == ["index", "arch_str", *DATASETS]
    assert list(means["index"]) == [0, 1, 2] and list(means["arch_str"]) == ARCHS
    for dataset in DATASETS:
        for i in range(3):
            assert means[dataset].iloc[i] == pytest.approx(expected_mean(i, dataset), abs=1e-9)
    every = pd.concat([tables.trials[d]["test_accuracy"] for d in DATASETS])
    assert not np.isclose(every, VALID_DECOY).any()  # cifar10-valid never read
    assert (every > BASE["ImageNet16-120"] - 1).all()  # no 12-epoch or non-final-epoch value


@pytest.mark.parametrize("which", ["official", "official_numpy"])
def test_read_official_uses_200_epoch_test_splits(fakes: dict[str, Path], which: str) -> None:
    _check_tables(read_official(fakes[which], progress=False))


@pytest.mark.parametrize("which", ["nats_folder", "nats_file"])
def test_read_nats_uses_200_epoch_test_splits(fakes: dict[str, Path], which: str) -> None:
    _check_tables(read_nats(fakes[which], progress=False))


def test_values_match_the_packages_get_more_info(fakes: dict[str, Path]) -> None:
    """Our per-trial value is what each package's get_more_info(hp='200') reports as test accuracy."""
    official = read_official(fakes["official"], progress=False)
    api = nas_201_api.NASBench201API(str(fakes["official"]), verbose=False)
    nats = read_nats(fakes["nats_folder"], progress=False)
    napi = nats_bench.create(str(fakes["nats_folder"]), "tss", fast_mode=True, verbose=False)
    for dataset in DATASETS:
        for tables, package_api in ((official, api), (nats, napi)):
            for row in tables.trials[dataset].itertuples():
                info = package_api.get_more_info(row.index, dataset, hp="200", is_random=row.seed)
                assert row.test_accuracy == pytest.approx(info["test-accuracy"], abs=1e-12)
                # the package's 12-epoch default differs: the reader must not have used it
                assert package_api.get_more_info(row.index, dataset, is_random=777)["test-accuracy"] \
                    != pytest.approx(row.test_accuracy)


def test_rejects_results_that_are_not_200_epochs(tmp_path: Path) -> None:
    path = make_official(tmp_path / "NAS-Bench-201-v1_1-096897.pth", full_epochs=12)
    with pytest.raises(MissingFileError, match="trained for 12 epochs"):
        read_official(path, progress=False)


# --------------------------------------------------------------------------- convert + load round trip
@pytest.mark.parametrize("which", ["official", "nats_folder", "nats_file"])
def test_convert_writes_tables_that_load_back(fakes: dict[str, Path], which: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tables"
    assert main(["bench", "convert", str(fakes[which]), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "hp=200" in captured.err  # the progress bar's label
    bench = load_benchmark(out, complete=False)
    assert bench.num_archs == 3 and bench.datasets == DATASETS
    for dataset in DATASETS:
        for i in range(3):
            result = bench.query(ARCHS[i], dataset)
            assert result.index == i
            assert result.trials == pytest.approx([acc200(i, dataset, s) for s in sorted(SEEDS[i])], abs=1e-9)
            assert result.mean == pytest.approx(expected_mean(i, dataset), abs=1e-9)
    means = read_tidy_folder(out).means
    assert means is not None
    assert means["cifar100"].to_numpy() == pytest.approx([expected_mean(i, "cifar100") for i in range(3)], abs=1e-9)


# --------------------------------------------------------------------------- dispatch
def test_read_tables_dispatch(fakes: dict[str, Path], tmp_path: Path) -> None:
    # a NATS folder renamed without "NATS" in its name is still recognised by its meta file
    renamed = tmp_path / "benchmark_files"
    shutil.copytree(fakes["nats_folder"], renamed)
    _check_tables(read_tables(renamed))
    # a tidy folder whose name contains NATS is still read as tidy tables
    tidy = tmp_path / "NATS_converted"
    read_official(fakes["official"], progress=False).write(tidy)
    assert read_tables(tidy).trials["cifar10"]["test_accuracy"].tolist() == pytest.approx(
        expected_trials("cifar10")["test_accuracy"].tolist())
    # files with unexpected names are recognised by their first bytes
    shutil.copy(fakes["nats_file"], tmp_path / "nats_archive.bin")
    _check_tables(read_tables(tmp_path / "nats_archive.bin"))
    shutil.copy(fakes["official"], tmp_path / "nb201.bin")
    _check_tables(read_tables(tmp_path / "nb201.bin"))


# --------------------------------------------------------------------------- errors
def test_missing_and_unreadable_official(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="does not exist.*zcpt bench convert"):
        read_official(tmp_path / "NAS-Bench-201-v1_1-096897.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a torch archive" * 20)
    with pytest.raises(MissingFileError, match="cannot read .*garbage.pth.*zcpt bench convert"):
        read_official(garbage)
    wrong = tmp_path / "wrong.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, wrong)
    with pytest.raises(MissingFileError, match=r"missing keys \['meta_archs', 'arch2infos', 'evaluated_indexes'\]"):
        read_official(wrong)


def test_missing_and_unreadable_nats(fakes: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="does not exist"):
        read_nats(tmp_path / "NATS-tss-v1_0-3ffb9-simple")
    empty = tmp_path / "NATS-empty"
    empty.mkdir()
    with pytest.raises(MissingFileError, match="no meta.pickle.pbz2.*zcpt bench convert"):
        read_nats(empty)
    incomplete = tmp_path / "NATS-incomplete"
    shutil.copytree(fakes["nats_folder"], incomplete)
    (incomplete / "1.pickle.pbz2").unlink()
    with pytest.raises(MissingFileError, match="architecture 1 .*000001.pickle.pbz2"):
        read_nats(incomplete, progress=False)
    garbage = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    garbage.write_bytes(b"not bz2 at all")
    with pytest.raises(MissingFileError, match="cannot read .*bz2-compressed pickle"):
        read_nats(garbage)
    size_space = tmp_path / "NATS-sss"
    size_space.mkdir()
    nats_bench.pickle_save({"meta_archs": ["64:64:64:64:64"]}, str(size_space / "meta.pickle"))
    with pytest.raises(MissingFileError, match="size space"):
        read_nats(size_space)


def test_cli_convert_reports_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    garbage.write_bytes(b"\x00" * 64)
    assert main(["bench", "convert", str(garbage), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "zcpt: error:" in err and "NAS-Bench-201-v1_1-096897.pth" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module, reader, pip_name", [("nas_201_api", read_official, "nas-bench-201"),
                                                       ("nats_bench", read_nats, "nats_bench")])
def test_missing_package_says_what_to_install(fakes: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                              module: str, reader: Any, pip_name: str) -> None:
    monkeypatch.setitem(__import__("sys").modules, module, None)  # makes `import module` fail
    source = fakes["official"] if module == "nas_201_api" else fakes["nats_folder"]
    with pytest.raises(MissingPackageError, match=f"pip install {pip_name}"):
        reader(source)


def test_archs_without_a_dataset_get_nan_means(tmp_path: Path) -> None:
    """An architecture lacking a dataset has no trial rows there and a NaN seed-mean."""
    data = torch.load(make_official(tmp_path / "a.pth"), weights_only=True)
    state = data["arch2infos"][2]["full"]
    state["dataset_seed"].pop("ImageNet16-120")
    state["all_results"] = {k: v for k, v in state["all_results"].items() if k[0] != "ImageNet16-120"}
    torch.save(data, tmp_path / "b.pth")
    tables = read_official(tmp_path / "b.pth", progress=False)
    assert sorted(tables.trials["ImageNet16-120"]["index"].unique()) == [0, 1]
    assert math.isnan(tables.means["ImageNet16-120"].iloc[2])
    assert tables.means["cifar10"].iloc[2] == pytest.approx(expected_mean(2, "cifar10"))
