"""``grad_norm`` -- sum of per-layer gradient norms (Abdelfattah et al. 2021).

Score ``Σ_{Conv2d, Linear layers} ‖∂L/∂W‖₂`` (one Euclidean norm per layer's weight tensor, then
summed), ``L`` the cross-entropy (mean) of the minibatch by default. Higher is better.

Options: ``mode`` (default ``"as-is"``, as the reference), ``chunk_size`` (the chunk gradients
are summed into the full-batch gradient *before* the norms: exact without batch-coupled layers,
i.e. not with train-mode BatchNorm), ``device``, ``loss_fn`` / ``loss_reduction``,
``output_index``. A network whose loss does not depend on any scored weight scores ``0.0``
(degenerate, with a warning).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .base import DeviceLike, LossFn
from .gradients import gradient_saliency
from .registry import proxy


def grad_norm_saliency(w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """One layer's grad_norm term ``‖∂L/∂W‖₂`` (also the batched search engine's)."""
    return g.norm()


@proxy(
    "grad_norm",
    needs_labels=True,
    cost="1 forward + 1 backward",
    reference="Abdelfattah et al. 2021 foresight/pruners/measures/grad_norm.py",
    description="sum over Conv2d/Linear layers of ||dL/dW||_2",
    batched_engine="fast_gradients",
    batched_kind="weight-saliency",
    layer_saliency=grad_norm_saliency,
    batched_options=frozenset({"mode", "loss_reduction"}),
)
def grad_norm(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
              loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
              device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """``Σ_layers ‖∂L/∂W‖₂`` over Conv2d/Linear weights (**higher is better**; needs labels)."""
    return gradient_saliency("grad_norm", grad_norm_saliency, net, inputs, targets, loss_fn, mode=mode, chunk_size=chunk_size,
                             device=device, loss_reduction=loss_reduction, output_index=output_index)
