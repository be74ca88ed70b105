"""Accuracy and loss of a network over batches: the one evaluation of the toolkit (supernet
validation in DARTS / DARTS-PT / the training-based scores, and the test set of final trainings)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UnknownNameError, ZcptError

BN_MODES: tuple[str, ...] = ("eval", "train")


@dataclass(frozen=True)
class EvalResult:
    """Top-1 accuracy (%), mean cross-entropy and top-5 accuracy (%; None below 5 classes) over
    ``n`` images."""

    accuracy: float
    loss: float
    n: int
    top5: Optional[float] = None


def _bn_buffers(model: nn.Module) -> list[tuple[nn.Module, dict[str, torch.Tensor]]]:
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            saved.append((m, {k: getattr(m, k).clone() for k in ("running_mean", "running_var", "num_batches_tracked")
                              if getattr(m, k, None) is not None}))
    return saved


def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], bn_mode: str = "eval") -> EvalResult:
    """Accuracy and loss of ``model`` on ``batches`` (no gradients).

    ``bn_mode="eval"`` uses the BatchNorm running statistics; ``"train"`` normalises with batch
    statistics, as DARTS-PT's projection evaluates perturbed supernets (``infer(..., eval=False)``).
    The running statistics and the model's train/eval flag are left as they were.
    """
    if bn_mode not in BN_MODES:
        raise UnknownNameError("BatchNorm mode", bn_mode, BN_MODES)
    was_training = model.training
    saved = _bn_buffers(model) if bn_mode == "train" else []
    model.train(bn_mode == "train")
    total = 0
    sums: Optional[torch.Tensor] = None  # loss (float64: the roundings of Python floats), correct, correct top-5
    classes = None
    try:
        with torch.no_grad():
            for x, y in batches:  # accumulated on the device: no host synchronisation per batch
                logits = model(x)
                if sums is None:
                    sums = torch.zeros(3, dtype=torch.float64, device=logits.device)
                sums[0] += F.cross_entropy(logits, y, reduction="sum").double()
                sums[1] += (logits.argmax(1) == y).sum()
                classes = logits.shape[1]
                if classes >= 5:
                    sums[2] += (logits.topk(5, dim=1).indices == y[:, None]).any(dim=1).sum()
                total += int(y.numel())
    finally:
        for m, buffers in saved:
            for k, v in buffers.items():
                getattr(m, k).copy_(v)
        model.train(was_training)
    if total == 0 or sums is None:
        raise ZcptError("evaluation saw no images")
    loss_sum, correct, correct5 = sums.tolist()
    return EvalResult(100.0 * int(correct) / total, loss_sum / total, total,
                      100.0 * int(correct5) / total if classes is not None and classes >= 5 else None)
