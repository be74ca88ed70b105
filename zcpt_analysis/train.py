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
import json
import math
import os
import platform
import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageSet, load_images
from .errors import InvalidArchError, MissingFileError, StateError, UnknownNameError, ZcptError
from .results import atomic_torch_save, atomic_write_json, read_json
from .runtime import resolve_device, seed_everything
from .spaces.darts import SETTINGS, build_network, count_parameters
from .spaces.genotypes import GENOTYPES, Genotype, GenotypeLike, parse_genotype

TRAIN_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "svhn", "synthetic")
TRAIN_SETTINGS: tuple[str, ...] = ("heavy", "mobile")
CHECKPOINT = "checkpoint.pt"
LOG_CSV = "log.csv"
RESULT_JSON = "result.json"

class TrainConfigError(ZcptError, ValueError):
    """An invalid training option (the message says which and what is valid)."""


# Settings that must match between a checkpoint and the run resuming it.
_RESUME_KEYS = ("dataset", "setting", "epochs", "batch_size", "learning_rate", "lr_min", "momentum", "weight_decay",
                "cutout", "drop_path_prob", "auxiliary", "auxiliary_weight", "grad_clip", "seed", "C", "layers",
                "train_limit", "data_source")


@dataclass
class TrainConfig:
    """Hyper-parameters of a final training run (defaults: the paper's CIFAR-10 protocol).

    ``C`` / ``layers`` override the setting's width and depth; ``train_limit`` / ``test_limit``
    use only the first N images (smoke runs); ``cutout=0`` and ``drop_path_prob=0`` disable those;
    ``auxiliary=False`` drops the auxiliary head; ``stop_after_epochs`` ends this session after that
    many epochs (checkpointed; resume later), e.g. for time-limited jobs.
    """

    dataset: str = "cifar10"
    setting: str = "heavy"
    epochs: int = 600
    batch_size: int = 96
    learning_rate: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    cutout: int = 16
    drop_path_prob: float = 0.2
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    grad_clip: float = 5.0
    seed: int = 0
    data_source: str = "auto"
    data_root: Optional[str] = None
    device: str = "auto"
    C: Optional[int] = None
    layers: Optional[int] = None
    train_limit: Optional[int] = None
    test_limit: Optional[int] = None
    checkpoint_every: int = 1
    stop_after_epochs: Optional[int] = None
    deterministic: bool = True  # on CUDA: cudnn.deterministic=True, benchmark=False (process-wide), as published
    progress: bool = True

    def validate(self) -> "TrainConfig":
        self.dataset = str(self.dataset).strip().lower()
        self.setting = str(self.setting).strip().lower()
        if self.dataset not in TRAIN_DATASETS:
            raise UnknownNameError("training dataset", self.dataset, TRAIN_DATASETS)
        if self.setting not in TRAIN_SETTINGS:
            raise UnknownNameError("training setting", self.setting, TRAIN_SETTINGS)
        if self.stop_after_epochs is not None and self.stop_after_epochs < 1:
            raise TrainConfigError(f"stop_after_epochs must be at least 1, got {self.stop_after_epochs}")
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise TrainConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.cutout < 0 or not 0 <= self.drop_path_prob < 1:
            raise TrainConfigError(f"cutout must be >= 0 and drop_path_prob in [0, 1), got {self.cutout} and "
                                   f"{self.drop_path_prob}")
        return self


# ------------------------------------------------------------------------------- genotype input
def resolve_genotype(spec: Any) -> Genotype:
    """The genotype named by ``spec``: a genotype file (JSON genotype, a search-result record with a
    top-level ``"genotype"`` or ``"selected"`` entry, or a DARTS-repo ``Genotype(...)`` string), a
    known name (``DARTS_V2``; see :data:`~zcpt_analysis.spaces.genotypes.GENOTYPES`), a JSON / DARTS
    string, a record dict, or a genotype object."""
    if isinstance(spec, Path):
        return _genotype_from_file(spec)
    if isinstance(spec, str):
        text = spec.strip()
        if text in GENOTYPES or text.startswith(("{", "Genotype")):
            return parse_genotype(text)
        if os.path.isfile(text):
            return _genotype_from_file(Path(text))
        raise InvalidArchError(f"genotype {spec!r} is neither a file, a known name ({', '.join(sorted(GENOTYPES))}), "
                               "JSON nor a Genotype(...) string")
    if isinstance(spec, dict):
        return _genotype_from_record(spec, "genotype record")
    return parse_genotype(spec)


def _genotype_from_file(path: Path) -> Genotype:
    if not path.is_file():
        raise MissingFileError(f"genotype file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return parse_genotype(text)
    return _genotype_from_record(obj, str(path))


def _genotype_from_record(obj: Any, where: str) -> Genotype:
    if isinstance(obj, dict):
        for key in ("genotype", "selected"):
            if key in obj and not all(k in obj for k in ("normal", "reduce")):
                value = obj[key]
                if isinstance(value, dict) and not all(k in value for k in ("normal", "reduce")):
                    for inner in ("genotype", "arch"):
                        if inner in value:
                            return parse_genotype(value[inner])
                return parse_genotype(value)
    try:
        return parse_genotype(obj)
    except ZcptError as exc:
        raise InvalidArchError(f"{where}: no genotype found (expected a genotype JSON, or a record with a "
                               f"'genotype' / 'selected' entry): {exc}") from exc


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
        x = self.images[idx.to(self.device)].float()
        y = self.labels[idx.to(self.device)]
        if not train:
            return self.normalize(x), y
        n, _, h, w = x.shape
        pad = self.set.crop_padding
        gen = self.generator
        offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
        flip = torch.rand(n, generator=gen) < 0.5
        if pad > 0:
            padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)
            rows = (offsets[:, :1] + torch.arange(h)).to(self.device)
            cols = (offsets[:, 1:] + torch.arange(w)).to(self.device)
            x = padded[torch.arange(n, device=self.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
            x = x.permute(0, 3, 1, 2)
        x = torch.where(flip.to(self.device).view(-1, 1, 1, 1), x.flip(-1), x)
        x = self.normalize(x)
        if self.cutout > 0:
            cy = torch.randint(0, h, (n,), generator=gen)
            cx = torch.randint(0, w, (n,), generator=gen)
            half = self.cutout // 2
            ys, xs = torch.arange(h), torch.arange(w)
            in_y = (ys[None, :] >= (cy - half).clamp(0, h)[:, None]) & (ys[None, :] < (cy + half).clamp(0, h)[:, None])
            in_x = (xs[None, :] >= (cx - half).clamp(0, w)[:, None]) & (xs[None, :] < (cx + half).clamp(0, w)[:, None])
            keep = ~(in_y[:, :, None] & in_x[:, None, :])
            x = x * keep.to(self.device, x.dtype)[:, None]
        return x, y


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
def _topk(logits: torch.Tensor, y: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[float]:
    k_max = min(max(ks), logits.shape[1])
    pred = logits.topk(k_max, dim=1).indices
    hit = pred.eq(y[:, None])
    return [float(hit[:, : min(k, k_max)].any(dim=1).float().sum()) for k in ks]


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
    with open(path, newline="", encoding="utf-8") as fh:
        epochs = [int(r["epoch"]) for r in csv.DictReader(fh) if r.get("epoch")]
    return max(epochs, default=0)


def build_for_training(genotype: GenotypeLike, cfg: TrainConfig, num_classes: int) -> nn.Module:
    """The evaluation network of ``cfg.setting`` (with ``cfg``'s overrides) for ``genotype``."""
    return build_network(genotype, cfg.setting, num_classes=num_classes, auxiliary=cfg.auxiliary, C=cfg.C,
                         layers=cfg.layers)


# ------------------------------------------------------------------------------- training
def train(genotype: GenotypeLike, config: Optional[TrainConfig] = None, out: str | Path = "runs/train",
          resume: bool = False) -> dict[str, Any]:
    """Train ``genotype``'s evaluation network with the DARTS protocol; returns the run summary.

    ``out`` is the run folder (checkpoint, ``log.csv``, ``result.json``). Without ``resume`` an
    existing checkpoint there is an error (nothing is overwritten); with ``resume`` the run
    continues from it (the settings in ``_RESUME_KEYS`` must match) or starts fresh if there is none.
    """
    cfg = (config or TrainConfig()).validate()
    geno = resolve_genotype(genotype)
    out = Path(out)
    ckpt_path, csv_path, json_path = out / CHECKPOINT, out / LOG_CSV, out / RESULT_JSON
    checkpoint = None
    if ckpt_path.exists():
        if not resume:
            raise StateError(f"{ckpt_path} exists; pass resume=True (--resume) to continue that run, or choose "
                             "another output folder")
        checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        saved = checkpoint["config"]
        diff = {k: (saved.get(k), getattr(cfg, k)) for k in _RESUME_KEYS if saved.get(k) != getattr(cfg, k)}
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
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, float(cfg.epochs), eta_min=cfg.lr_min)
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

    info = {"genotype": geno.to_json(), "genotype_str": str(geno), "config": asdict(cfg),
            "network": {"setting": cfg.setting, **SETTINGS[cfg.setting],
                        **({"C": cfg.C} if cfg.C is not None else {}),
                        **({"layers": cfg.layers} if cfg.layers is not None else {}),
                        "auxiliary": cfg.auxiliary, "num_classes": train_set.num_classes},
            "params": n_params, "params_millions": n_params / 1e6,
            "data": {"train": train_set.source, "test": test_set.source, "train_images": len(train_set),
                     "test_images": len(test_set)},
            "device": str(device), "torch": torch.__version__, "python": platform.python_version()}

    from tqdm.auto import tqdm

    if cfg.progress:
        tqdm.write(f"{n_params:,} parameters (auxiliary head excluded) on {device}; training on {train_set.source} "
                   f"({len(train_set)} images), testing on {test_set.source} ({len(test_set)} images); "
                   f"epochs {start_epoch + 1}..{cfg.epochs}")
    summary: Optional[dict[str, Any]] = None
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
        bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not cfg.progress)
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
            if cfg.progress and (b % 25 == 0 or b == n_batches - 1):
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.3f}", acc=f"{100 * float(correct) / seen:.1f}")
        bar.close()
        scheduler.step()
        test_loss, test_acc, test_top5 = evaluate(model, test_batches, cfg.batch_size, criterion)
        row = {"epoch": epoch + 1, "session": session, "lr": lr, "drop_path_prob": model.drop_path_prob,
               "train_loss": float(loss_sum) / max(seen, 1), "train_acc": 100 * float(correct) / max(seen, 1),
               "test_loss": test_loss, "test_acc": test_acc, "test_top5": test_top5,
               "epoch_seconds": time.time() - t0}
        history.append(row)
        last = epoch + 1 == end_epoch
        if (epoch + 1) % cfg.checkpoint_every == 0 or last:
            atomic_torch_save({"epoch": epoch + 1, "session": session, "model": model.state_dict(),
                                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                "rng": _rng_state(data_gen, device), "history": history,
                                "config": asdict(cfg), "genotype": geno.to_json()}, ckpt_path)
        _append_csv(csv_path, [row])
        summary = {**info, "epochs_completed": epoch + 1, "final_test_acc": test_acc,
                   "best_test_acc": max(r["test_acc"] for r in history), "history": history}
        atomic_write_json(json_path, summary)
        if cfg.progress:
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}  lr {lr:.5f}  train {row['train_acc']:.2f}%  "
                       f"test {test_acc:.2f}%  ({row['epoch_seconds']:.1f}s)")
    if summary is None:  # resumed a finished run: nothing left to train
        summary = read_json(json_path) if json_path.exists() else {**info, "epochs_completed": start_epoch,
                                                                      "history": history}
    return summary


@torch.no_grad()
def evaluate(model: nn.Module, batches: AugmentedBatches, batch_size: int,
             criterion: Optional[nn.Module] = None) -> tuple[float, float, float]:
    """``(mean loss, top-1 %, top-5 %)`` of ``model`` in eval mode over all images of ``batches``."""
    criterion = criterion or nn.CrossEntropyLoss()
    was_training = model.training
    model.eval()
    loss_sum = top1 = top5 = 0.0
    n_total = len(batches)
    for start in range(0, n_total, batch_size):
        idx = torch.arange(start, min(start + batch_size, n_total))
        x, y = batches.batch(idx, train=False)
        logits = model(x)
        loss_sum += float(criterion(logits, y)) * len(idx)
        c1, c5 = _topk(logits, y, (1, 5))
        top1 += c1
        top5 += c5
    model.train(was_training)
    return loss_sum / n_total, 100 * top1 / n_total, 100 * top5 / n_total


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a dict (unknown keys are an error)."""
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UnknownNameError("training option", unknown[0], sorted(names))
    return TrainConfig(**values)
