"""Device selection and seeding, shared by the CLI, searches and benchmarks."""
from __future__ import annotations

import hashlib
import random

import numpy as np
import torch

from .errors import UnknownNameError, ZcptError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N`` into a :class:`torch.device` (``auto`` = CUDA when available).
    A CUDA device turns cuDNN's TF32 convolutions off (process-wide): fp32 means fp32, as on the CPU."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ZcptError(f"device {device!r} needs CUDA, but no CUDA device is available here; valid devices "
                            "here: auto, cpu")
        torch.backends.cudnn.allow_tf32 = False  # torch's default is True: 10-bit mantissas flip nwot codes
        return torch.device(name)
    raise UnknownNameError("device", device, DEVICE_CHOICES)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def derive_seed(seed: int, *tags: object) -> int:
    """A reproducible 31-bit seed for an independent random stream, from ``seed`` and ``tags``
    (ints or strings; stable across platforms and Python versions)."""
    text = ":".join([str(int(seed))] + [str(t) for t in tags])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
