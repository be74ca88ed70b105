"""Training a final DARTS architecture from scratch with the DARTS evaluation protocol.

Protocol (DARTS / DARTS-PT / Zero-Cost-PT ``train.py``, REFERENCE-FACTS; :class:`TrainConfig`):
600 epochs, batch 96, SGD (lr 0.025, momentum 0.9, weight decay 3e-4) with cosine annealing to 0
stepped once per epoch, gradient-norm clipping at 5, auxiliary head with loss weight 0.4, drop-path
probability ramped linearly ``0.2 * epoch / epochs``, augmentation = random crop 32 (zero padding 4)
+ horizontal flip + normalisation + cutout 16 (applied after normalisation, as DARTS does). Heavy
setting (CIFAR-10): C=36, 20 layers; mobile (CIFAR-100, SVHN): C=16, 8 layers. The test set is
evaluated after every epoch (DARTS's "valid" queue is the test set); the number to report is the
final epoch's test accuracy.

Outputs in the run folder ``out``:

* ``checkpoint.pt``: model, optimizer, scheduler, RNG states, history; written atomically (temp
  file + rename) after every ``checkpoint_every`` epochs and at the end;
* ``log.csv``: one row per epoch, append-only across resumes (a ``session`` column counts resumes;
  with ``checkpoint_every > 1`` an interrupted run can leave rows that the resumed run repeats);
* ``result.json``: the authoritative summary (config, genotype, parameter count, per-epoch history
  restored from the checkpoint), rewritten atomically after every epoch.

A resumed run (``resume=True``) continues from the checkpoint's epoch counter with the saved
optimizer, scheduler and RNG states; on CPU it reproduces an uninterrupted run exactly.
Parameter counts exclude the auxiliary head (DARTS convention).
"""
from __future__ import annotations

import csv
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Optional

import numpy as np
import torch
from torch import nn

from pydantic import Field, ValidationInfo, computed_field, field_validator, model_validator

from .checks import Range, check_range
from .data import DataFields, ImageSet, augment, load_images, to_device
from .errors import DamagedFileError, StateError, UnknownNameError, ZcptError
from .evaluation import evaluate
from .files import atomic_torch_save, ensure_dir, load_checkpoint
from .options import Result, identity_fields, Seed, opt, plain
from .runtime import resolve_device, seed_everything
from .spaces.darts import SETTINGS, build_network, count_parameters
from .spaces.genotypes import Genotype, GenotypeLike, parse_genotype

TRAIN_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "svhn", "synthetic")
TRAIN_SETTINGS: tuple[str, ...] = ("heavy", "mobile")
CHECKPOINT = "checkpoint.pt"
LOG_CSV = "log.csv"

class TrainConfigError(ZcptError, ValueError):
    """An invalid training option (the message says which and what is valid)."""


class TrainConfig(DataFields):
    """Hyper-parameters of a final training run (defaults: the paper's CIFAR-10 protocol).

    ``setting=None`` means ``heavy`` for CIFAR-10 and ``mobile`` otherwise (as in the paper);
    ``C`` / ``layers`` override the setting's width and depth; ``train_limit`` / ``test_limit`` use
    only the first N images (smoke runs); ``cutout=0`` and ``drop_path_prob=0`` disable those;
    ``auxiliary=False`` drops the auxiliary head; ``stop_after_epochs`` ends this session after that
    many epochs (checkpointed; resume later), e.g. for time-limited jobs. A training minibatch needs
    two images (BatchNorm), a network three cells (two reduction cells and a normal one).
    """

    ERROR: ClassVar[type] = TrainConfigError

    setting: Optional[str] = opt(None, "--setting", validate_default=True,
                                 help=f"{'|'.join(TRAIN_SETTINGS)} (default: heavy for cifar10, mobile otherwise, as "
                                      "in the paper)")
    epochs: int = opt(600, "--epochs", help="training epochs", ge=1)
    batch_size: int = opt(96, "--batch-size", help="training minibatch", ge=2)
    learning_rate: float = opt(0.025, "--learning-rate", "--lr",
                               help="initial learning rate (cosine to learning_rate_min)", gt=0)
    learning_rate_min: float = plain(0.0, ge=0)
    momentum: float = plain(0.9, ge=0)
    weight_decay: float = plain(3e-4, ge=0)
    cutout: int = opt(16, "--cutout", help="cutout length (0 disables)", ge=0)
    drop_path_prob: float = opt(0.2, "--drop-path", help="final drop-path probability", ge=0, lt=1)
    auxiliary: bool = opt(True, "--no-auxiliary", help="train without the auxiliary head")
    auxiliary_weight: float = plain(0.4, ge=0)
    grad_clip: float = plain(5.0, gt=0)
    seed: Seed = opt(0, "--seed", help="seed of the weights and the data order")
    C: Optional[int] = opt(None, "--C", help="override the setting's initial channels", ge=1)
    layers: Optional[int] = opt(None, "--layers", help="override the setting's number of cells", ge=3)
    train_limit: Optional[int] = opt(None, "--train-limit", ge=1,
                                     help="use only the first N training images (smoke runs)")
    test_limit: Optional[int] = opt(None, "--test-limit", help="use only the first N test images", ge=1)
    checkpoint_every: int = opt(1, "--checkpoint-every", identity=False, help="epochs between checkpoints", ge=1)
    stop_after_epochs: Optional[int] = opt(None, "--stop-after", identity=False, metavar="N", ge=1,
                                           help="end this session after N epochs (checkpointed; continue with "
                                                "--resume)")
    deterministic: bool = plain(True, identity=False)
    """On CUDA: cudnn.deterministic=True, benchmark=False (process-wide), as published."""

    @field_validator("dataset")
    @classmethod
    def _training_dataset(cls, dataset: str) -> str:
        if dataset not in TRAIN_DATASETS:
            raise UnknownNameError("training dataset", dataset, TRAIN_DATASETS)
        return dataset

    @field_validator("setting")
    @classmethod
    def _setting(cls, setting: Optional[str], info: ValidationInfo) -> Optional[str]:
        if setting is None:
            setting = "heavy" if info.data.get("dataset") == "cifar10" else "mobile"
        setting = str(setting).strip().lower()
        if setting not in TRAIN_SETTINGS:
            raise UnknownNameError("training setting", setting, TRAIN_SETTINGS)
        return setting

    @model_validator(mode="after")
    def _min_below_initial(self) -> "TrainConfig":
        try:
            check_range("learning_rate_min", self.learning_rate_min, Range(0, self.learning_rate))
        except ZcptError as exc:
            raise TrainConfigError(str(exc)) from None
        return self

    def resume_key(self) -> dict[str, Any]:
        """The settings a checkpoint and the run resuming it must share (its identity fields)."""
        return identity_fields(self)


# ------------------------------------------------------------------------------- data
class AugmentedBatches:
    """DARTS's CIFAR training augmentation, vectorised on the device.

    Random crop (zero padding on the raw pixels, as torchvision's ``RandomCrop(32, padding=4)``),
    horizontal flip with probability 1/2, normalisation, then cutout (DARTS ``Cutout``: a square of
    side ``cutout`` centred uniformly in the image, clipped at the border, set to 0 after
    normalisation). All random numbers come from ``generator`` (CPU), so runs are reproducible and
    resumable.
    """

    def __init__(self, images: ImageSet, device: torch.device, cutout: int, generator: torch.Generator):
        self.set = images
        self.device, self.cutout, self.generator = device, int(cutout), generator
        self.images = images.images.to(device)
        self.labels = images.labels.to(device)
        self.raw = images.images.dtype == torch.uint8
        self.mean = torch.tensor(images.mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(images.std, device=device).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - self.mean) / self.std if self.raw else x

    def order(self) -> torch.Tensor:
        return torch.randperm(len(self), generator=self.generator)

    def batch(self, idx: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        idx = to_device(idx, self.device)
        x = self.images[idx].float()
        y = self.labels[idx]
        if not train:
            return self.normalize(x), y
        n, _, h, w = x.shape
        gen = self.generator
        x = self.normalize(augment(x, self.set.crop_padding, gen))
        if self.cutout > 0:
            cy = torch.randint(0, h, (n,), generator=gen)
            cx = torch.randint(0, w, (n,), generator=gen)
            half = self.cutout // 2
            ys, xs = torch.arange(h), torch.arange(w)
            in_y = (ys[None, :] >= (cy - half).clamp(0, h)[:, None]) & (ys[None, :] < (cy + half).clamp(0, h)[:, None])
            in_x = (xs[None, :] >= (cx - half).clamp(0, w)[:, None]) & (xs[None, :] < (cx + half).clamp(0, w)[:, None])
            keep = ~(in_y[:, :, None] & in_x[:, None, :])
            x = x * to_device(keep, self.device).to(x.dtype)[:, None]
        return x, y

    def test_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every image once, in order, without augmentation."""
        for start in range(0, len(self), batch_size):
            yield self.batch(torch.arange(start, min(start + batch_size, len(self))), train=False)


def _load_split(cfg: TrainConfig, train: bool) -> ImageSet:
    images = load_images(cfg.dataset, source=cfg.data_source, root=cfg.data_root, train=train)
    limit = cfg.train_limit if train else cfg.test_limit
    if limit is not None:
        if limit < 1:
            raise TrainConfigError(f"{'train' if train else 'test'}_limit must be positive, got {limit}")
        images = images.subset(list(range(min(limit, len(images)))))
    if images.image_shape[1:] != (32, 32):
        raise ZcptError(f"the DARTS CIFAR networks expect 32x32 images, {images.source} has {images.image_shape}")
    return images


# ------------------------------------------------------------------------------- helpers
def _rng_state(data_gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "data": data_gen.get_state(), "python": random.getstate(),
             "numpy": np.random.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], data_gen: torch.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    data_gen.set_state(state["data"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


_CSV_FIELDS = ("epoch", "session", "lr", "drop_path_prob", "train_loss", "train_acc", "test_loss", "test_acc",
               "test_top5", "epoch_seconds")


def _append_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=_CSV_FIELDS)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in _CSV_FIELDS})
        fh.flush()
        os.fsync(fh.fileno())


def _csv_last_epoch(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            epochs = [int(r["epoch"]) for r in csv.DictReader(fh) if r.get("epoch")]
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise DamagedFileError(f"{path} is damaged ({exc}); move it aside (the checkpoint holds the history, "
                               "the log restarts from it)") from None
    return max(epochs, default=0)


def build_for_training(genotype: GenotypeLike, cfg: TrainConfig, num_classes: int) -> nn.Module:
    """The evaluation network of ``cfg.setting`` (with ``cfg``'s overrides) for ``genotype``."""
    return build_network(genotype, cfg.setting, num_classes=num_classes, auxiliary=cfg.auxiliary, C=cfg.C,
                         layers=cfg.layers)


# ------------------------------------------------------------------------------- training
def saved_config(saved: dict[str, Any]) -> TrainConfig:
    """The config a checkpoint or a record saved (the first release named ``learning_rate_min``
    ``lr_min`` and saved a ``progress`` flag)."""
    values = dict(saved)
    if "lr_min" in values:
        values["learning_rate_min"] = values.pop("lr_min")
    values.pop("progress", None)
    return config_from_dict(values)


class TrainResult(Result):
    """A final training of one genotype: the network, the per-epoch history (accuracies in %) and
    the final test accuracy (the number the DARTS tables report, as an error: ``100 - acc``);
    ``status`` is ``running`` until ``epochs`` epochs are done, then ``complete``."""

    status: str = "running"
    genotype: dict[str, Any] = Field(default_factory=dict)
    network: dict[str, Any] = Field(default_factory=dict)
    params: int = 0
    data: dict[str, Any] = Field(default_factory=dict)
    epochs_completed: int = 0
    final_test_acc: Optional[float] = None
    best_test_acc: Optional[float] = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    timing: dict[str, float] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def params_millions(self) -> float:
        """Parameters in millions (auxiliary head excluded)."""
        return self.params / 1e6

    @property
    def error(self) -> Optional[float]:
        """Final test error (%), the number the DARTS tables report."""
        return None if self.final_test_acc is None else 100.0 - self.final_test_acc


def train(genotype: GenotypeLike, config: Optional[TrainConfig] = None, out: str | Path = "runs/train",
          resume: bool = False, progress: bool = True, result: Optional[TrainResult] = None,
          on_epoch: Optional[Callable[[TrainResult], None]] = None) -> TrainResult:
    """Train ``genotype``'s evaluation network with the DARTS protocol; returns its result.

    ``out`` is the run folder (``checkpoint.pt`` and ``log.csv``). Without ``resume`` an existing
    checkpoint there is an error (nothing is overwritten); with ``resume`` the run continues from it
    (the identity settings of :class:`TrainConfig` must match) or starts fresh if there is none.
    ``result`` is filled in (a new :class:`TrainResult` by default) and passed to ``on_epoch`` after
    every epoch (the results layer saves it there).
    """
    cfg = config or TrainConfig()
    geno = parse_genotype(genotype)
    out = ensure_dir(out, "run folder")
    ckpt_path, csv_path = out / CHECKPOINT, out / LOG_CSV
    checkpoint = None
    if ckpt_path.exists():
        if not resume:
            raise StateError(f"{ckpt_path} exists; pass resume=True (--resume) to continue that run, or choose "
                             "another output folder")
        checkpoint = load_checkpoint(ckpt_path, f"it cannot be resumed: move the run folder {out} aside to start "
                                                "over", weights_only=False)
        if not isinstance(checkpoint, dict) or not {"config", "genotype", "epoch"} <= set(checkpoint):
            raise DamagedFileError(f"{ckpt_path} is not a training checkpoint of zcpt train; move the run folder "
                                   f"{out} aside to start over")
        saved, wanted = saved_config(checkpoint["config"]).resume_key(), cfg.resume_key()
        diff = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
        if diff:
            raise StateError("cannot resume: settings differ from the checkpoint's (saved, requested): "
                             + ", ".join(f"{k}={v[0]!r} vs {v[1]!r}" for k, v in diff.items()))
        if Genotype.from_json(checkpoint["genotype"]) != geno:
            raise StateError(f"cannot resume: {ckpt_path} was trained with a different genotype "
                             f"({Genotype.from_json(checkpoint['genotype'])})")

    device = resolve_device(cfg.device)
    if device.type == "cuda" and cfg.deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    seed_everything(cfg.seed)
    train_set, test_set = _load_split(cfg, True), _load_split(cfg, False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_for_training(geno, cfg, train_set.num_classes)
    model.to(device)
    n_params = count_parameters(model)
    optimizer = torch.optim.SGD(model.parameters(), cfg.learning_rate, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, float(cfg.epochs),
                                                           eta_min=cfg.learning_rate_min)
    data_gen = torch.Generator().manual_seed(cfg.seed)
    batches = AugmentedBatches(train_set, device, cfg.cutout, data_gen)
    test_batches = AugmentedBatches(test_set, device, 0, torch.Generator().manual_seed(cfg.seed))
    criterion = nn.CrossEntropyLoss()

    start_epoch, session, history = 0, 0, []
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        _set_rng_state(checkpoint["rng"], data_gen, device)
        start_epoch, history = int(checkpoint["epoch"]), list(checkpoint["history"])
        session = int(checkpoint.get("session", 0)) + 1
        missing = [r for r in history if r["epoch"] > _csv_last_epoch(csv_path)]
        if missing:  # the checkpoint was written but the CSV row was not (interrupted in between)
            _append_csv(csv_path, missing)
    elif csv_path.exists():
        raise StateError(f"{csv_path} exists without a checkpoint; choose an empty output folder")

    network = {"setting": cfg.setting, **SETTINGS[cfg.setting], **({"C": cfg.C} if cfg.C is not None else {}),
               **({"layers": cfg.layers} if cfg.layers is not None else {}), "auxiliary": cfg.auxiliary,
               "num_classes": train_set.num_classes}
    result = result if result is not None else TrainResult()
    result.genotype, result.network, result.params = geno.to_json(), network, n_params
    result.data = {"train": train_set.source, "test": test_set.source, "train_images": len(train_set),
                   "test_images": len(test_set)}

    def finish(rows: list[dict[str, Any]]) -> TrainResult:
        result.history = list(rows)
        result.epochs_completed = int(rows[-1]["epoch"]) if rows else 0
        result.final_test_acc = rows[-1]["test_acc"] if rows else None
        result.best_test_acc = max(r["test_acc"] for r in rows) if rows else None
        result.timing = {"training": round(sum(float(r.get("epoch_seconds", 0.0)) for r in rows), 3)}
        result.status = "complete" if result.epochs_completed >= cfg.epochs else "running"
        if on_epoch is not None:
            on_epoch(result)
        return result

    from tqdm.auto import tqdm

    if progress:
        tqdm.write(f"{n_params:,} parameters (auxiliary head excluded) on {device}; training on {train_set.source} "
                   f"({len(train_set)} images), testing on {test_set.source} ({len(test_set)} images); "
                   f"epochs {start_epoch + 1}..{cfg.epochs}")
    end_epoch = cfg.epochs if cfg.stop_after_epochs is None else min(cfg.epochs, start_epoch + cfg.stop_after_epochs)
    for epoch in range(start_epoch, end_epoch):
        t0 = time.time()
        lr = optimizer.param_groups[0]["lr"]
        model.drop_path_prob = cfg.drop_path_prob * epoch / cfg.epochs
        model.train()
        order = batches.order()
        n_batches = math.ceil(len(order) / cfg.batch_size)
        loss_sum = torch.zeros((), device=device)  # accumulated on the device: no sync per step
        correct = torch.zeros((), device=device)
        seen = 0
        bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not progress)
        for b in bar:
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single sample
                continue
            x, y = batches.batch(idx, train=True)
            optimizer.zero_grad(set_to_none=True)
            logits, logits_aux = model.forward_with_aux(x)
            loss = criterion(logits, y)
            if logits_aux is not None:
                loss = loss + cfg.auxiliary_weight * criterion(logits_aux, y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            n = len(idx)
            loss_sum += loss.detach() * n
            correct += (logits.detach().argmax(dim=1) == y).sum()
            seen += n
            if progress and (b % 25 == 0 or b == n_batches - 1):
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.3f}", acc=f"{100 * float(correct) / seen:.1f}")
        bar.close()
        scheduler.step()
        test = evaluate(model, test_batches.test_batches(cfg.batch_size))
        row = {"epoch": epoch + 1, "session": session, "lr": lr, "drop_path_prob": model.drop_path_prob,
               "train_loss": float(loss_sum) / max(seen, 1), "train_acc": 100 * float(correct) / max(seen, 1),
               "test_loss": test.loss, "test_acc": test.accuracy, "test_top5": test.top5,
               "epoch_seconds": time.time() - t0}
        history.append(row)
        last = epoch + 1 == end_epoch
        if (epoch + 1) % cfg.checkpoint_every == 0 or last:
            atomic_torch_save({"epoch": epoch + 1, "session": session, "model": model.state_dict(),
                               "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                               "rng": _rng_state(data_gen, device), "history": history,
                               "config": cfg.to_json(), "genotype": geno.to_json()}, ckpt_path)
        _append_csv(csv_path, [row])
        finish(history)
        if progress:
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}  lr {lr:.5f}  train {row['train_acc']:.2f}%  "
                       f"test {test.accuracy:.2f}%  ({row['epoch_seconds']:.1f}s)")
    if not history or start_epoch == end_epoch:  # resumed a finished run: nothing left to train
        return finish(history)
    return result


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a dict (unknown keys are an error)."""
    unknown = sorted(set(values) - set(TrainConfig.model_fields))
    if unknown:
        raise UnknownNameError("training option", unknown[0], sorted(TrainConfig.model_fields))
    return TrainConfig(**values)
