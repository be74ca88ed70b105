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

from .base import (DeviceLike, LossFn, chunk_slices, prepare_inputs, prepare_targets, resolve_loss, scored_layers,
                   scoring_state, sum_float64)
from .gradients import finish_saliency, weight_grads
from .policy import ProxyInputError
from .registry import ProxySpec, register_proxy


def grad_norm(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
              loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
              device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """``Σ_layers ‖∂L/∂W‖₂`` over Conv2d/Linear weights (**higher is better**; needs labels)."""
    loss_fn = resolve_loss(loss_fn, loss_reduction)
    weights = [m.weight for m in scored_layers(net)]
    if not weights:
        raise ProxyInputError("grad_norm scores nn.Conv2d / nn.Linear weights; the network has none")
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("grad_norm", targets, x, dev)
        grads = weight_grads(net, x, y, weights, chunk_slices(x.shape[0], chunk_size), loss_fn, loss_reduction,
                             output_index)
        with torch.no_grad():
            value = sum_float64([g.norm() for g in grads if g is not None], dev).item()
    return finish_saliency("grad_norm", value)


register_proxy(ProxySpec(
    name="grad_norm",
    fn=grad_norm,
    needs_labels=True,
    needs_gradients=True,
    higher_is_better=True,
    cost="1 forward + 1 backward",
    chunking="exact without batch-coupled layers (not with train-mode BatchNorm)",
    default_mode="as-is",
    reference="Abdelfattah et al. 2021 foresight/pruners/measures/grad_norm.py",
    description="sum over Conv2d/Linear layers of ||dL/dW||_2",
))
