"""Final-architecture training: the DARTS protocol on the real CIFAR-10 sample, checkpoint/resume, CLI."""
from __future__ import annotations

import csv
import json
import pytest
import torch

from zcpt_analysis.cli import main
from zcpt_analysis.data import load_sample
from zcpt_analysis.errors import InvalidArchError, MissingFileError, StateError, UnknownNameError
from zcpt_analysis.spaces.genotypes import DARTS_V1, DARTS_V2
from zcpt_analysis.runs.genotype_input import resolve_genotype
from zcpt_analysis.runs.runners import train_in_folder
from zcpt_analysis.runs.specs import TrainSpec
from zcpt_analysis.train import AugmentedBatches, TrainConfig, TrainConfigError, train

TINY = TrainConfig(dataset="cifar10", setting="mobile", epochs=2, batch_size=8, C=4, layers=3, train_limit=16,
                   test_limit=8, data_source="sample", device="cpu")


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_step_of_the_heavy_network_on_the_cifar_sample(tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=4, train_limit=4, test_limit=4, data_source="sample", device="cpu")
    summary = train_in_folder(TrainSpec(genotype="DARTS_V2", config=cfg), tmp_path, resume=False, progress=False)
    assert summary.params == 3_349_342 and summary.network["C"] == 36 and summary.network["layers"] == 20
    assert summary.data["train"].startswith("sample:") and summary.data["train_images"] == 4
    (row,) = summary.history
    assert row["epoch"] == 1 and row["lr"] == pytest.approx(0.025) and row["drop_path_prob"] == 0.0
    assert 0 < row["train_loss"] < 20 and 0 <= row["test_acc"] <= 100
    assert json.loads((tmp_path / "result.json").read_text())["epochs_completed"] == 1
    assert len(rows(tmp_path / "log.csv")) == 1 and (tmp_path / "checkpoint.pt").exists()
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert ckpt["epoch"] == 1 and ckpt["optimizer"]["state"]  # momentum buffers after the step
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_resumed_run_continues_from_its_checkpoint(tmp_path):
    straight = train(DARTS_V1, TINY, tmp_path / "a", progress=False)
    first = train(DARTS_V1, TINY.replace(stop_after_epochs=1), tmp_path / "b", progress=False)
    assert first.epochs_completed == 1 and first.status == "running"
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert ckpt["epoch"] == 1 and ckpt["scheduler"]["last_epoch"] == 1
    with pytest.raises(StateError, match="resume"):
        train(DARTS_V1, TINY, tmp_path / "b")
    with pytest.raises(StateError, match="batch_size"):
        train(DARTS_V1, TINY.replace(batch_size=4), tmp_path / "b", resume=True)
    with pytest.raises(StateError, match="different genotype"):
        train(DARTS_V2, TINY, tmp_path / "b", resume=True)
    resumed = train(DARTS_V1, TINY, tmp_path / "b", resume=True, progress=False)
    assert resumed.epochs_completed == 2 and resumed.status == "complete"
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    log = rows(tmp_path / "b" / "log.csv")  # appended, not overwritten
    assert [(r["epoch"], r["session"]) for r in log] == [("1", "0"), ("2", "1")]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 2
    for key, value in a["model"].items():  # on CPU the resumed run reproduces the straight one
        assert torch.equal(value, b["model"][key]), key
    assert resumed.history[1]["test_acc"] == straight.history[1]["test_acc"]
    assert resumed.history[1]["lr"] == pytest.approx(0.0125)  # cosine over 2 epochs
    assert train(DARTS_V1, TINY, tmp_path / "b", resume=True).epochs_completed == 2  # nothing left to do


def test_augmentation_crop_flip_cutout():
    images = load_sample("train").subset(list(range(64)))
    gen = torch.Generator().manual_seed(0)
    batches = AugmentedBatches(images, torch.device("cpu"), 16, gen)
    x, y = batches.batch(torch.arange(64), train=True)
    assert x.shape == (64, 3, 32, 32) and torch.equal(y, images.labels)
    clean = batches.normalize(images.images.float())
    zero = (x == 0).all(dim=1)
    for i in range(64):  # the cutout hole is one axis-aligned rectangle of at most 16 x 16
        ys, xs = torch.nonzero(zero[i], as_tuple=True)
        assert 0 < len(ys) <= 256
        assert len(ys) == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    # with padding the crop may show the zero border: raw 0 normalised is -mean/std
    pad_value = batches.normalize(torch.zeros(1, 3, 1, 1)).flatten()
    assert any(torch.allclose(x[i, :, r, c], pad_value) for i in range(64) for r in (0, 31) for c in (0, 31))
    x_eval, _ = batches.batch(torch.arange(4), train=False)
    assert torch.equal(x_eval, clean[:4])
    again = AugmentedBatches(images, torch.device("cpu"), 16, torch.Generator().manual_seed(0))
    assert torch.equal(again.batch(torch.arange(64), train=True)[0], x)


def test_genotype_inputs(tmp_path):
    (tmp_path / "g.json").write_text(json.dumps(DARTS_V2.to_json()))
    (tmp_path / "record.json").write_text(json.dumps({"space": "darts", "genotype": DARTS_V1.to_json()}))
    (tmp_path / "selected.json").write_text(json.dumps({"selected": {"arch": DARTS_V1.to_json(), "score": 1.0}}))
    (tmp_path / "darts.txt").write_text(str(DARTS_V2))
    assert resolve_genotype(str(tmp_path / "g.json")) == DARTS_V2
    assert resolve_genotype(tmp_path / "record.json") == DARTS_V1
    assert resolve_genotype(str(tmp_path / "selected.json")) == DARTS_V1
    assert resolve_genotype(str(tmp_path / "darts.txt")) == DARTS_V2
    assert resolve_genotype("DARTS_V2") == DARTS_V2 and resolve_genotype(json.dumps(DARTS_V1.to_json())) == DARTS_V1
    with pytest.raises(InvalidArchError, match="neither a file"):
        resolve_genotype(str(tmp_path / "missing.json"))
    with pytest.raises(MissingFileError):
        resolve_genotype(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text(json.dumps({"selected": {"score": 1.0}}))
    with pytest.raises(InvalidArchError):
        resolve_genotype(str(tmp_path / "bad.json"))


def test_config_errors():
    with pytest.raises(UnknownNameError, match="heavy, mobile"):
        TrainConfig(setting="imagenet")
    with pytest.raises(UnknownNameError, match="cifar100"):
        TrainConfig(dataset="mnist")
    with pytest.raises(TrainConfigError, match="epochs"):
        TrainConfig(epochs=0)


def test_cli(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--genotype", "DARTS_V2", "--dataset", "cifar10", "--epochs", "1", "--C", "4", "--layers", "3",
            "--batch-size", "8", "--train-limit", "8", "--test-limit", "8", "--data-source", "sample", "--device", "cpu",
            "--run-dir", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "parameters" in text and "1/1 epochs" in text and (out / "result.json").exists()
    assert json.loads((out / "result.json").read_text())["spec"]["config"]["setting"] == "heavy"
    assert main(args) == 2 and "--resume" in capsys.readouterr().err
    assert main(args[:2] + ["NOT_A_GENOTYPE", "--out", str(tmp_path / "x")]) == 2
    assert "neither a file" in capsys.readouterr().err
    assert main(["train", "--genotype", "DARTS_V2", "--setting", "imagenet", "--out", str(tmp_path / "y")]) == 2
