"""``grasp`` -- gradient signal preservation (Wang et al. 2020) as aggregated by Abdelfattah et al. 2021.

Score ``-Σ_{Conv2d, Linear weights} W ⊙ (H g)`` with ``g = ∂L/∂W`` (detached) and ``H`` the
Hessian of ``L`` (cross-entropy, mean, by default) w.r.t. the scored weights; ``Hg`` is the
gradient of ``z = Σ g ⊙ ∂L/∂W`` (double backward). The reference negates GraSP's sign
("accuracy seems to be negatively correlated with this metric"), so **higher is better** here
as everywhere. The sum is signed (it can be negative).

Unchunked, one forward serves both passes: ``∂L/∂W`` is taken with ``create_graph=True``, its
detached value is ``g`` (the reference runs a second forward for this; the outputs are identical
-- train-mode BatchNorm uses batch statistics in both -- so only modules with randomness, e.g.
dropout, could differ). With ``chunk_size``, ``g`` is first summed over all chunks and ``Hg`` is
then accumulated chunk by chunk (two forwards per chunk), which is exact without batch-coupled
layers (not with train-mode BatchNorm); the reference's ``split_data`` sums unweighted chunk-mean
gradients instead.

Options: ``mode`` (default ``"as-is"``), ``chunk_size``, ``device``, ``loss_fn`` /
``loss_reduction``, ``output_index``. A network whose loss does not depend on the scored weights
scores ``0.0`` (degenerate, with a warning).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .base import (DeviceLike, LossFn, chunk_slices, prepare_inputs, prepare_targets, resolve_loss, scored_layers,
                   scoring_state, sum_float64)
from .gradients import Grads, accumulate, chunk_loss, finish_saliency, grad_or_none, weight_grads
from .registry import proxy


def _hessian_grad(weights: list[torch.Tensor], g: Grads, grad_f: Grads) -> Grads:
    """``∂/∂W Σ g ⊙ grad_f`` (``H g`` when ``grad_f = ∂L/∂W`` with graph)."""
    terms = [(gi * fi).sum() for gi, fi in zip(g, grad_f) if gi is not None and fi is not None and fi.requires_grad]
    if not terms:
        return [None] * len(weights)
    return grad_or_none(torch.stack(terms).sum(), weights)


@proxy(
    "grasp",
    needs_labels=True,
    cost="1 forward + 1 backward (create_graph) + 1 double backward; chunked: 2 forwards per chunk",
    reference="Wang et al. 2020; Abdelfattah et al. 2021 foresight/pruners/measures/grasp.py (sign negated)",
    description="-sum W * (H g), Hessian-gradient product of the loss",
)
def grasp(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
          loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
          device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """GraSP score ``-Σ W ⊙ (H g)`` over Conv2d/Linear weights (**higher is better**; needs labels)."""
    loss_fn = resolve_loss(loss_fn, loss_reduction)
    weights = [m.weight for m in scored_layers(net, "grasp")]
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("grasp", targets, x, dev)
        n = x.shape[0]
        slices = chunk_slices(n, chunk_size)
        if len(slices) == 1:
            loss = chunk_loss(net, x, y, slices[0], n, loss_fn, loss_reduction, output_index)
            grad_f = grad_or_none(loss, weights, create_graph=True)
            g = [None if t is None else t.detach() for t in grad_f]
            hg = _hessian_grad(weights, g, grad_f)
        else:
            g = weight_grads(net, x, y, weights, slices, loss_fn, loss_reduction, output_index)
            hg: Grads = [None] * len(weights)
            for sl in slices:
                loss = chunk_loss(net, x, y, sl, n, loss_fn, loss_reduction, output_index)
                grad_f = grad_or_none(loss, weights, create_graph=True)
                hg = accumulate(hg, _hessian_grad(weights, g, grad_f))
        with torch.no_grad():
            value = -sum_float64([(w * h).sum() for w, h in zip(weights, hg) if h is not None], dev).item()
    return finish_saliency("grasp", value + 0.0)  # + 0.0 turns -0.0 into 0.0
