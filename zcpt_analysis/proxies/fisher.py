"""``fisher`` -- channel Fisher information (Turner et al. 2020 / Theis et al. 2018), as in Abdelfattah et al. 2021.

For every Conv2d / Linear layer with output activation ``a`` (after the bias) and
``δ = ∂L/∂a`` (cross-entropy, mean, by default), per sample ``n`` and output channel ``k``:

    g_nk = Σ_spatial a_nk ⊙ δ_nk,     F_k = 0.5 · mean_n g_nk²,

and the layer contributes ``fan_in · Σ_k F_k`` (the reference assigns ``F_k`` to each of the
``fan_in = weight[k].numel()`` weights of channel ``k`` and sums them). The network score is the
sum over layers; **higher is better**. As in the reference, it is computed in **train mode** by
default (``mode="train"``; BatchNorm statistics are restored afterwards).

Activations are captured by forward hooks and ``δ`` by :func:`torch.autograd.grad` w.r.t. them
(the reference swaps each layer's ``forward`` for one routing the output through a hooked
identity). A layer called several times contributes once per call (the reference would fail).
A layer's output must not be modified in place afterwards (e.g. ``ReLU(inplace=True)`` right
after a conv): that raises :class:`ProxyInputError`. For a Linear layer applied to more than 2-D
inputs the channel is the last dimension and all middle dimensions are summed like spatial ones
(the reference's behaviour there is ill-defined).

Options: ``mode`` (default ``"train"``), ``chunk_size`` (``Σ_n g_nk²`` is accumulated over
chunks with chunk losses weighted ``n_c/N``: exact without batch-coupled layers -- which
excludes the default train mode on BatchNorm networks), ``device``, ``loss_fn`` /
``loss_reduction``, ``output_index``. A network whose loss does not depend on the scored layers'
outputs scores ``0.0`` (degenerate, with a warning).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .base import (DeviceLike, LossFn, chunk_slices, prepare_inputs, prepare_targets, resolve_loss, scored_layers,
                   scoring_state, sum_float64)
from .gradients import chunk_loss, finish_saliency, grad_or_none
from .policy import ProxyInputError
from .registry import proxy


def _channel_products(layer: nn.Module, act: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``g_nk``: ``[N, C]`` sums of ``a * δ`` over everything but batch and channel."""
    prod = act * delta
    if isinstance(layer, nn.Linear):
        return prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(1) if prod.dim() > 2 else prod
    return prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod


@proxy(
    "fisher",
    needs_labels=True,
    cost="1 forward + 1 backward (gradients w.r.t. layer outputs)",
    chunking="exact without batch-coupled layers (not in its default train mode on BatchNorm networks)",
    default_mode="train",
    reference="Turner et al. 2020; Abdelfattah et al. 2021 foresight/pruners/measures/fisher.py",
    description="channel-wise 0.5*mean_n(sum_spatial a*dL/da)^2 times the weight fan-in",
    batched_engine="fast_gradients",
    batched_kind="channel-fisher",
    batched_options=frozenset({"mode", "loss_reduction"}),
)
def fisher(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
           loss_fn: Optional[LossFn] = None, *, mode: str = "train", chunk_size: Optional[int] = None,
           device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """Fisher score ``Σ_layers fan_in · Σ_k 0.5 · mean_n (Σ_spatial a·∂L/∂a)²`` (**higher is better**;
    needs labels; train mode by default)."""
    loss_fn = resolve_loss(loss_fn, loss_reduction)
    layers = scored_layers(net)
    if not layers:
        raise ProxyInputError("fisher scores nn.Conv2d / nn.Linear layers; the network has none")
    weights = [m.weight for m in layers]
    index = {id(m): i for i, m in enumerate(layers)}
    records: list[tuple[int, torch.Tensor, int]] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            records.append((index[id(module)], output, output._version))

    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("fisher", targets, x, dev)
        n = x.shape[0]
        squares: list[Optional[torch.Tensor]] = [None] * len(layers)
        handles = [m.register_forward_hook(hook) for m in layers]
        try:
            for sl in chunk_slices(n, chunk_size):
                records.clear()
                loss = chunk_loss(net, x, y, sl, n, loss_fn, loss_reduction, output_index)
                deltas = grad_or_none(loss, [a for _, a, _ in records])
                with torch.no_grad():
                    for (i, act, version), delta in zip(records, deltas):
                        if act._version != version:
                            raise ProxyInputError(f"fisher: the output of {type(layers[i]).__name__} layer #{i} was "
                                                  "modified in place after the layer (e.g. ReLU(inplace=True)); "
                                                  "fisher needs the layer outputs unchanged")
                        if delta is None:
                            continue
                        sq = _channel_products(layers[i], act, delta).to(torch.float64).pow(2).sum(0)
                        squares[i] = sq if squares[i] is None else squares[i] + sq
        finally:
            records.clear()
            for h in handles:
                h.remove()
        with torch.no_grad():
            terms = [sq.sum() * (0.5 * layers[i].weight[0].numel() / n) for i, sq in enumerate(squares)
                     if sq is not None]
            value = sum_float64(terms, dev).item()
    return finish_saliency("fisher", value)
