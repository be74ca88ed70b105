"""Images for proxy inputs and training: CIFAR-10/100 and SVHN (torchvision), ImageNet16-120
(NAS-Bench-201 pickles), the real CIFAR samples in the shared data folder, and synthetic data.

An :class:`ImageSet` keeps raw images in memory (uint8 NCHW, or float for synthetic data) with
their normalisation constants. :class:`MinibatchSampler` draws seeded, reproducible minibatches
*without replacement within a batch* (a repeated image makes nwot's kernel singular) and applies
the paper's augmentation (DARTS-PT training loader: random crop with padding, horizontal flip,
normalisation; no cutout).
"""
from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Literal, Optional

import numpy as np
import torch

from .datadir import data_file
from .errors import DamagedFileError, DataUnavailableError, MissingFileError, UnknownNameError
from pydantic import field_validator, model_validator

from .checks import check_device
from .options import Settings, opt

DATASETS = ("cifar10", "cifar100", "svhn", "imagenet16-120", "synthetic")
SOURCES = ("auto", "sample", "sample-all", "full", "png", "synthetic")

# Normalisation constants as in the DARTS / DARTS-PT / NAS-Bench-201 data loaders.
_STATS = {
    "cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768), 10, 32, 4),
    "cifar100": ((0.5070751592371323, 0.48654887331495095, 0.4409178433670343),
                 (0.2673342858792401, 0.2564384629170883, 0.27615047132568404), 100, 32, 4),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), 10, 32, 4),
    "imagenet16-120": (tuple(x / 255 for x in (122.68, 116.66, 104.01)), tuple(x / 255 for x in (63.22, 61.26, 65.09)),
                       120, 16, 2),
}


def resolve_source(source: str, root: str | Path | None) -> str:
    """``source`` with ``auto`` resolved: ``full`` when a data folder is given, else ``sample``."""
    key = str(source).strip().lower()
    if key not in SOURCES:
        raise UnknownNameError("data source", source, SOURCES)
    return ("full" if root else "sample") if key == "auto" else key


class DataFields(Settings):
    """The images a run reads and where it runs: the fields every spec that loads images has.

    ``data_source="auto"`` is resolved when the settings are built (``full`` with a ``data_root``,
    else ``sample``), so it always says what was read; ``data_root`` and ``device`` say where, not
    what, and are not part of a result's identity.
    """

    dataset: str = opt("cifar10", "--dataset", help="image dataset (cifar10, cifar100, svhn, imagenet16-120, "
                       "synthetic)")
    data_source: Literal[SOURCES] = opt(  # type: ignore[valid-type]
        "auto", "--data-source", help="auto: the full dataset when --data-root is given, else the shared CIFAR-10 "
        "sample; sample (its 400 training images), sample-all (its 550 train + test images), png, full (needs "
        "--data-root), synthetic")
    data_root: Optional[str] = opt(None, "--data-root", identity=False,
                                   help="folder of the full dataset (torchvision format / ImageNet16 pickles)")
    device: str = opt("auto", "--device", identity=False, help="auto (CUDA when available), cpu, cuda or cuda:N")

    @model_validator(mode="before")
    @classmethod
    def _resolve_source(cls, data: Any) -> Any:
        if isinstance(data, dict):
            source = resolve_source(data.get("data_source", "auto"), data.get("data_root"))
            if source == "full" and not data.get("data_root"):
                raise DataUnavailableError(f"--data-source full needs --data-root (the folder of the full "
                                           f"{data.get('dataset', 'cifar10')} dataset)")
            data = {**data, "data_source": source}
        return data

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, dataset: str) -> str:
        return canonical_image_dataset(dataset)

    @field_validator("device")
    @classmethod
    def _device(cls, device: str) -> str:
        check_device(device)
        return device

    def load_images(self, train: bool = True) -> "ImageSet":
        return load_images(self.dataset, self.data_source, self.data_root, train=train)


def canonical_image_dataset(name: str) -> str:
    key = str(name).strip().lower()
    key = {"imagenet16": "imagenet16-120", "imagenet": "imagenet16-120", "c10": "cifar10", "c100": "cifar100"}.get(key, key)
    if key not in DATASETS:
        raise UnknownNameError("dataset", name, DATASETS)
    return key


@dataclass(frozen=True)
class ImageSet:
    """Images (uint8 NCHW raw pixels, or float already normalised) with labels and metadata."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    crop_padding: int = 4
    source: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: torch.Tensor | np.ndarray | list[int]) -> "ImageSet":
        idx = torch.as_tensor(indices, dtype=torch.long)
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> normalised float; float images are returned as they are."""
        if x.dtype != torch.uint8:
            return x.float()
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x.float() / 255.0 - mean) / std


def checked(images: ImageSet, where: str) -> ImageSet:
    """``images`` once they are checked, as loaded from ``where``: raw uint8 images of shape
    ``(N, 3, R, R)`` with the dataset's resolution ``R`` (32, ImageNet16: 16), ``N > 0``, and ``N``
    integer labels in ``0..num_classes-1``; a :class:`DamagedFileError` names ``where`` and what is
    wrong (a wrong shape or label would change a search silently, or fail deep inside a proxy)."""
    resolution = _STATS[images.name][3]
    shape = tuple(images.images.shape)
    if images.images.dtype != torch.uint8:
        raise DamagedFileError(f"{where}: images must be uint8 pixels, found {images.images.dtype}")
    if len(shape) != 4 or shape[0] == 0 or shape[1:] != (3, resolution, resolution):
        raise DamagedFileError(f"{where}: images must have the shape (N, 3, {resolution}, {resolution}) of "
                               f"{images.name} (N > 0), found {shape}")
    labels = images.labels
    if labels.dim() != 1 or labels.shape[0] != shape[0] or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise DamagedFileError(f"{where}: there must be one integer label per image ({shape[0]}), found "
                               f"{tuple(labels.shape)} labels of type {labels.dtype}")
    bad = (labels < 0) | (labels >= images.num_classes)
    if bool(bad.any()):
        raise DamagedFileError(f"{where}: labels must be in 0..{images.num_classes - 1} ({images.name} has "
                               f"{images.num_classes} classes), found {int(bad.sum())} outside (e.g. "
                               f"{int(labels[bad][0])})")
    return replace(images, labels=labels.to(torch.int64))


def search_split(images: ImageSet, train_portion: float = 0.5) -> tuple[ImageSet, ImageSet]:
    """DARTS-PT's search-time split: the first ``train_portion`` of the training set for the search
    (proxy inputs / weight updates), the rest for validation (alpha updates / accuracy)."""
    if not 0 < train_portion <= 1:
        raise ValueError(f"train_portion must be in (0, 1], got {train_portion}")
    split = int(np.floor(train_portion * len(images)))
    idx = torch.arange(len(images))
    return images.subset(idx[:split]), images.subset(idx[split:])


# ----------------------------------------------------------------------------- loaders
def load_sample(split: str = "train", path: str | Path | None = None) -> ImageSet:
    """The real CIFAR-10 sample ``images/cifar10_sample.npz`` (train: 400 images, test: 150).

    ``split="all"`` joins both (550 distinct images).
    """
    path = Path(path) if path is not None else data_file("images", "cifar10_sample.npz")
    parts = {"train": [("x_train", "y_train")], "test": [("x_test", "y_test")],
             "all": [("x_train", "y_train"), ("x_test", "y_test")]}
    if split not in parts:
        raise UnknownNameError("sample split", split, parts)
    keys = [k for pair in parts[split] for k in pair]
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DamagedFileError(f"{path}: the image sample lacks the array(s) {', '.join(missing)} (it needs "
                                       "x_train, y_train, x_test, y_test)")
            xs = [npz[k] for k, _ in parts[split]]
            ys = [npz[k] for _, k in parts[split]]
            x, y = np.concatenate(xs), np.concatenate(ys)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not a .npz, cut short, mismatched shapes
        raise DamagedFileError(f"{path} is not a readable image sample ({type(exc).__name__}: "
                               f"{(str(exc).splitlines() or [''])[0][:200]})") from None
    if x.dtype != np.uint8 or not np.issubdtype(y.dtype, np.integer):
        raise DamagedFileError(f"{path}: the sample must hold uint8 images and integer labels, found {x.dtype} images "
                               f"and {y.dtype} labels")
    mean, std, classes, _, pad = _STATS["cifar10"]
    return checked(ImageSet("cifar10", torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64)),
                            classes, mean, std, pad, f"sample:{path.name}:{split}"), str(path))


def load_png_samples(dataset: str = "cifar10", folder: str | Path | None = None) -> ImageSet:
    """The 20 CIFAR-10 or CIFAR-100 test PNGs in ``images/foolbox`` (label in the file name)."""
    from PIL import Image

    dataset = canonical_image_dataset(dataset)
    if dataset not in ("cifar10", "cifar100"):
        raise UnknownNameError("PNG sample dataset", dataset, ("cifar10", "cifar100"))
    folder = Path(folder) if folder is not None else data_file("images", "foolbox")
    files = sorted(folder.glob(f"{dataset}_*_*.png"))
    if not files:
        raise MissingFileError(f"no {dataset}_NN_LABEL.png files in {folder}")
    pixels, labels = [], []
    for f in files:
        label = f.stem.split("_")[-1]
        if not label.isdigit():
            raise DamagedFileError(f"{f}: the label in the file name must be a class number ({dataset}_NN_LABEL.png), "
                                   f"found {label!r}")
        try:
            with Image.open(f) as image:
                pixels.append(np.array(image.convert("RGB")))
        except (OSError, ValueError) as exc:
            raise DamagedFileError(f"{f} is not a readable PNG image ({type(exc).__name__})") from None
        labels.append(int(label))
        if pixels[-1].shape != pixels[0].shape:
            raise DamagedFileError(f"{f}: all images must have the same size, found {pixels[-1].shape[:2]} after "
                                   f"{pixels[0].shape[:2]}")
    images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()
    mean, std, classes, _, pad = _STATS[dataset]
    return checked(ImageSet(dataset, images, torch.tensor(labels), classes, mean, std, pad, f"png:{folder}"),
                   f"the PNG images in {folder}")


def load_synthetic(n: int = 512, num_classes: int = 10, shape: tuple[int, int, int] = (3, 32, 32),
                   seed: int = 0) -> ImageSet:
    """Gaussian N(0, 1) images (already 'normalised') with uniformly random labels."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn((n, *shape), generator=gen)
    labels = torch.randint(0, num_classes, (n,), generator=gen)
    return ImageSet("synthetic", images, labels, num_classes, crop_padding=0, source=f"synthetic:seed={seed}")


def load_torchvision(dataset: str, root: str | Path, train: bool = True, download: bool = True) -> ImageSet:
    """CIFAR-10, CIFAR-100 or SVHN through torchvision (downloaded into ``root`` when online)."""
    import torchvision.datasets as tvd

    dataset = canonical_image_dataset(dataset)
    root = Path(root).expanduser()
    try:
        if dataset == "cifar10":
            ds = tvd.CIFAR10(str(root), train=train, download=download)
        elif dataset == "cifar100":
            ds = tvd.CIFAR100(str(root), train=train, download=download)
        elif dataset == "svhn":
            ds = tvd.SVHN(str(root), split="train" if train else "test", download=download)
        else:
            raise UnknownNameError("torchvision dataset", dataset, ("cifar10", "cifar100", "svhn"))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; torchvision raises RuntimeError if absent
        raise DataUnavailableError(
            f"could not load {dataset} from {root} ({exc}). If this machine is offline, download it elsewhere "
            f"(torchvision.datasets.{ {'cifar10': 'CIFAR10', 'cifar100': 'CIFAR100', 'svhn': 'SVHN'}[dataset]}"
            f"(root, download=True)) and copy the folder to {root}, or use --data-source sample") from exc
    if dataset == "svhn":
        images = torch.from_numpy(np.ascontiguousarray(ds.data))
        labels = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64))
    else:
        images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
        labels = torch.tensor(ds.targets, dtype=torch.int64)
    mean, std, classes, _, pad = _STATS[dataset]
    return checked(ImageSet(dataset, images, labels, classes, mean, std, pad,
                            f"torchvision:{root}:{'train' if train else 'test'}"), f"the {dataset} files in {root}")


def load_imagenet16(root: str | Path, train: bool = True, num_classes: int = 120) -> ImageSet:
    """ImageNet16-120 from NAS-Bench-201's pickles (``train_data_batch_1..10``, ``val_data``)."""
    root = Path(root).expanduser()
    names = [f"train_data_batch_{i}" for i in range(1, 11)] if train else ["val_data"]
    missing = [n for n in names if not (root / n).exists()]
    if missing:
        raise MissingFileError(f"ImageNet16 pickles missing in {root}: {', '.join(missing)}. Get ImageNet16 "
                               "(Chrabaszcz et al. 2017, the 16x16 downsampled ImageNet) as NAS-Bench-201 uses it "
                               "(https://github.com/D-X-Y/NAS-Bench-201) and pass its folder with --data-root")
    xs, ys = [], []
    for n in names:
        try:
            with open(root / n, "rb") as fh:
                entry = pickle.load(fh, encoding="latin1")
            data, labels = np.asarray(entry["data"]), np.asarray(entry["labels"])
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 16 * 16 or len(labels) != len(data):
                raise ValueError(f"expected uint8 data of shape (N, 768) and N labels, found {data.dtype} "
                                 f"{data.shape} and {len(labels)} labels")
        except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as exc:
            raise DamagedFileError(f"{root / n} is not an ImageNet16 pickle ({type(exc).__name__}: "
                                   f"{(str(exc).splitlines() or [''])[0][:200]})") from None
        xs.append(data.reshape(-1, 3, 16, 16))
        ys.append(labels.astype(np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = (y >= 1) & (y <= num_classes)  # labels are 1-based; keep the first `num_classes` classes
    mean, std, _, _, pad = _STATS["imagenet16-120"]
    return checked(ImageSet("imagenet16-120", torch.from_numpy(x[keep]), torch.from_numpy(y[keep] - 1), num_classes,
                            mean, std, pad, f"imagenet16:{root}:{'train' if train else 'val'}"),
                   f"the ImageNet16 pickles in {root}")


def load_images(dataset: str = "cifar10", source: str = "auto", root: str | Path | None = None,
                train: bool = True, download: bool = True) -> ImageSet:
    """One entry point for proxy/search data.

    ``source``: ``sample`` (the shared real CIFAR-10 sample; ``train`` -> its 400 training images),
    ``sample-all`` (all 550 distinct images of the sample, train and test, whatever ``train`` says),
    ``png`` (the 20 shared test PNGs), ``full`` (torchvision / ImageNet16 pickles under ``root``),
    ``synthetic`` (Gaussian), or ``auto``: ``full`` when ``root`` is given, else ``sample``.
    """
    source = source.lower()
    if source not in SOURCES:
        raise UnknownNameError("data source", source, SOURCES)
    dataset = canonical_image_dataset(dataset)
    if source == "synthetic" or dataset == "synthetic":
        n_classes = _STATS.get(dataset, (None, None, 10))[2]
        return load_synthetic(num_classes=n_classes)
    if source == "auto":
        source = "full" if root is not None else "sample"
    if source in ("sample", "sample-all"):
        if dataset != "cifar10":
            raise DataUnavailableError(f"the shared sample only has CIFAR-10 images, not {dataset}; pass --data-root "
                                       f"with the full {dataset} dataset, or use --data-source png/synthetic")
        return load_sample("all" if source == "sample-all" else "train" if train else "test")
    if source == "png":
        return load_png_samples(dataset)
    if root is None:
        raise DataUnavailableError(f"--data-root is required to load the full {dataset} dataset")
    if dataset == "imagenet16-120":
        return load_imagenet16(root, train=train)
    return load_torchvision(dataset, root, train=train, download=download)


# ----------------------------------------------------------------------------- sampling
def to_device(t: torch.Tensor, device: str | torch.device) -> torch.Tensor:
    """``t`` on ``device``. From the CPU to CUDA through pinned memory, without blocking: a plain
    ``.to("cuda")`` from pageable memory makes the host wait for the GPU (a synchronisation per
    minibatch, so the host cannot queue the next step while the GPU computes)."""
    device = torch.device(device)
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def augment(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """The standard CIFAR augmentation, on raw (or already normalised) images: random crop back
    to the same size from the image zero-padded by ``padding`` pixels, then a horizontal flip with
    probability 1/2. Random numbers come from ``generator`` (CPU): per image two crop offsets
    (drawn only when ``padding > 0``), then the flips."""
    n, _, h, w = x.shape
    if padding > 0:
        offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
        padded = torch.nn.functional.pad(x, (padding, padding, padding, padding)).permute(0, 2, 3, 1)
        rows = to_device(offsets[:, :1] + torch.arange(h), x.device)
        cols = to_device(offsets[:, 1:] + torch.arange(w), x.device)
        x = padded[torch.arange(n, device=x.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
        x = x.permute(0, 3, 1, 2).contiguous()  # NCHW memory, as the networks expect
    flip = to_device(torch.rand(n, generator=generator) < 0.5, x.device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


class MinibatchSampler:
    """Seeded minibatches of distinct images from an :class:`ImageSet`.

    Each batch is a fresh random subset (no image twice within a batch); successive batches are
    independent draws. The same seed gives the same batches (and augmentation) every time.
    """

    def __init__(self, images: ImageSet, batch_size: int, seed: int = 0, augment: bool = True,
                 device: str | torch.device = "cpu"):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if batch_size > len(images):
            raise DataUnavailableError(
                f"batch size {batch_size} exceeds the {len(images)} distinct images of {images.source or images.name}; "
                "a minibatch must not repeat an image (nwot's kernel would be singular). Use a smaller batch or the "
                "full dataset (--data-source full --data-root DIR)")
        self.images, self.batch_size, self.seed = images, batch_size, seed
        self.augment, self.device = augment, torch.device(device)
        self.generator = torch.Generator().manual_seed(int(seed))

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One minibatch ``(inputs, targets)`` on the sampler's device."""
        idx = torch.randperm(len(self.images), generator=self.generator)[: self.batch_size]
        x = self.images.images[idx]
        if self.augment and self.images.crop_padding > 0:
            x = augment(x, self.images.crop_padding, self.generator)
        x = self.images.normalize(x)
        return to_device(x, self.device), to_device(self.images.labels[idx], self.device)

    def batches(self, n: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``n`` successive minibatches."""
        for _ in range(n):
            yield self.sample()
