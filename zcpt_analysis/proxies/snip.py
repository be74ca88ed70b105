"""``snip`` -- connection sensitivity (Lee et al. 2019) summed over the network (Abdelfattah et al. 2021).

Score ``Σ_{Conv2d, Linear weights} |W ⊙ ∂L/∂W|`` with ``L`` the cross-entropy (mean) of the
minibatch by default. The reference code multiplies every weight by a mask of ones and takes
``|∂L/∂mask|``, which is the same quantity (``∂L/∂mask = W ⊙ ∂L/∂W`` at mask 1); here the weight
gradient is taken directly with :func:`torch.autograd.grad`, without copying the network.
Higher is better.

Options: ``mode`` (default ``"as-is"``: the caller's mode, as the reference scores its copy;
BatchNorm statistics are restored), ``chunk_size`` (exact without batch-coupled layers, i.e.
not with train-mode BatchNorm; the reference's ``split_data`` sums unweighted chunk-mean
gradients instead), ``device``, ``loss_fn`` / ``loss_reduction`` (``"mean"`` or ``"sum"``: how
chunk losses are weighted), ``output_index`` (for tuple outputs).

Every Conv2d/Linear weight is scored whatever its ``requires_grad`` flag (as with the reference's
masks); the flag is restored. A network whose loss does not depend on any scored weight scores
``0.0`` (degenerate, with a warning).
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


def snip(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
         loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
         device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """SNIP saliency ``Σ |W ⊙ ∂L/∂W|`` over Conv2d/Linear weights (**higher is better**; needs labels)."""
    loss_fn = resolve_loss(loss_fn, loss_reduction)
    weights = [m.weight for m in scored_layers(net)]
    if not weights:
        raise ProxyInputError("snip scores nn.Conv2d / nn.Linear weights; the network has none")
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("snip", targets, x, dev)
        grads = weight_grads(net, x, y, weights, chunk_slices(x.shape[0], chunk_size), loss_fn, loss_reduction,
                             output_index)
        with torch.no_grad():
            value = sum_float64([(w * g).abs().sum() for w, g in zip(weights, grads) if g is not None], dev).item()
    return finish_saliency("snip", value)


register_proxy(ProxySpec(
    name="snip",
    fn=snip,
    needs_labels=True,
    needs_gradients=True,
    higher_is_better=True,
    cost="1 forward + 1 backward",
    chunking="exact without batch-coupled layers (not with train-mode BatchNorm)",
    default_mode="as-is",
    reference="Lee et al. 2019; Abdelfattah et al. 2021 foresight/pruners/measures/snip.py",
    description="sum |W * dL/dW| over Conv2d/Linear weights",
))
