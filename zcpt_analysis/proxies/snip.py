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

from .base import DeviceLike, LossFn
from .gradients import gradient_saliency
from .registry import proxy


def snip_saliency(w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """One layer's SNIP term ``Σ |W ⊙ ∂L/∂W|`` (also the batched search engine's)."""
    return (w * g).abs().sum()


@proxy(
    "snip",
    needs_labels=True,
    cost="1 forward + 1 backward",
    reference="Lee et al. 2019; Abdelfattah et al. 2021 foresight/pruners/measures/snip.py",
    description="sum |W * dL/dW| over Conv2d/Linear weights",
    batched_engine="fast_gradients",
    batched_kind="weight-saliency",
    layer_saliency=snip_saliency,
    batched_options=frozenset({"mode", "loss_reduction"}),
)
def snip(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
         loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
         device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """SNIP saliency ``Σ |W ⊙ ∂L/∂W|`` over Conv2d/Linear weights (**higher is better**; needs labels)."""
    return gradient_saliency("snip", snip_saliency, net, inputs, targets, loss_fn, mode=mode, chunk_size=chunk_size,
                             device=device, loss_reduction=loss_reduction, output_index=output_index)
