"""Loss gradients w.r.t. the scored weights, shared by ``snip``, ``grad_norm`` and ``grasp``.

Gradients are taken with :func:`torch.autograd.grad` (``.grad`` fields are never touched); chunk
losses are weighted so that the chunk gradients sum to the full-batch gradient (see
:mod:`.base`).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .base import (DeviceLike, LossFn, chunk_slices, chunk_weight, logits_of, prepare_inputs, prepare_targets,
                   resolve_loss, scored_layers, scoring_state, sum_float64)
from .policy import ProxyInputError, finalize

Grads = list[Optional[torch.Tensor]]


def chunk_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, sl: slice, n: int, loss_fn: LossFn,
               loss_reduction: str, output_index: Optional[int]) -> torch.Tensor:
    """The weighted loss of one chunk (a scalar)."""
    loss = loss_fn(logits_of(net(x[sl]), output_index), y[sl])
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ProxyInputError("loss_fn must return a scalar tensor (use a mean- or sum-reduced loss)")
    weight = chunk_weight(sl, n, loss_reduction)
    loss = loss.reshape(())
    return loss if weight == 1.0 else loss * weight


def grad_or_none(output: torch.Tensor, inputs: Sequence[torch.Tensor], create_graph: bool = False) -> Grads:
    """``autograd.grad`` that returns ``None`` for inputs ``output`` does not depend on."""
    if not output.requires_grad:
        return [None] * len(inputs)
    return list(torch.autograd.grad(output, list(inputs), allow_unused=True, create_graph=create_graph))


def accumulate(total: Grads, part: Grads) -> Grads:
    """Element-wise ``total + part`` with ``None`` meaning zero."""
    return [p if t is None else (t if p is None else t + p) for t, p in zip(total, part)]


def weight_grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor, weights: Sequence[torch.Tensor],
                 slices: Sequence[slice], loss_fn: LossFn, loss_reduction: str,
                 output_index: Optional[int]) -> Grads:
    """``∂L/∂W`` of the (full-batch) loss for every scored weight, summed over chunks."""
    n = x.shape[0]
    total: Grads = [None] * len(weights)
    for sl in slices:
        loss = chunk_loss(net, x, y, sl, n, loss_fn, loss_reduction, output_index)
        total = accumulate(total, grad_or_none(loss, weights))
    return total


def finish_saliency(name: str, value: float) -> float:
    """Apply the NaN/inf policy to a gradient-saliency sum (exactly 0 = degenerate network)."""
    if value == 0.0:
        return finalize(name, 0.0, degenerate="no scored weight receives a gradient: the loss does not depend on "
                        "them (e.g. the input is disconnected from the output)", stacklevel=4)
    return finalize(name, value, stacklevel=4)


def gradient_saliency(name: str, per_layer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], net: nn.Module,
                      inputs: torch.Tensor, targets: Optional[torch.Tensor], loss_fn: Optional[LossFn], *,
                      mode: str, chunk_size: Optional[int], device: DeviceLike, loss_reduction: str,
                      output_index: Optional[int]) -> float:
    """``Σ_layers per_layer(W, ∂L/∂W)`` over the Conv2d/Linear weights (snip, grad_norm), with the
    shared state handling, chunking and NaN/inf policy."""
    loss_fn = resolve_loss(loss_fn, loss_reduction)
    weights = [m.weight for m in scored_layers(net, name)]
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets(name, targets, x, dev)
        grads = weight_grads(net, x, y, weights, chunk_slices(x.shape[0], chunk_size), loss_fn, loss_reduction,
                             output_index)
        with torch.no_grad():
            value = sum_float64([per_layer(w, g) for w, g in zip(weights, grads) if g is not None], dev).item()
    return finish_saliency(name, value)
