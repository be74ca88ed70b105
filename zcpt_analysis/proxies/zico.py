"""``zico`` -- inverse coefficient of variation of the gradients (Li et al., ZiCo, ICLR 2023).

Split the minibatch into ``B >= 2`` consecutive parts (``splits``; sizes differ by at most one) and
take the loss gradient ``g_b = ∂L_b/∂θ`` of every part ``b`` (``L_b`` the cross-entropy, mean over
the part, by default). For every ``Conv2d`` / ``Linear`` layer ``l`` with weights ``θ_l``, with
mean and (population) standard deviation over the ``B`` parts per weight, the paper's score is

    ZiCo = Σ_l log( Σ_{θ ∈ θ_l} E_b[|g_b(θ)|] / sqrt(Var_b[g_b(θ)]) )     (higher is better, as published).

As in the published code (``compute_zico.py``), weights whose gradient does not vary over the
parts (std 0; tested exactly -- NumPy's ``std`` of equal values can be 1e-19, which the published
code then divides by) are left out of their layer's sum, and a layer with nothing left contributes nothing
(instead of ``log 0``). Means and deviations are computed in float64.

Published deviation: ``getzico`` never zeroes the gradients between parts, so its ``g_b`` is the
*cumulative* sum of the gradients of parts ``1..b``; ``gradients="cumulative"`` reproduces that,
the default ``"per-split"`` is the paper's per-batch gradient.

Options: ``splits`` (default 2; at most the batch size), ``gradients``, ``mode`` (default
``"train"``, as the published ``network.train()``; BatchNorm statistics are restored),
``device``, ``loss_fn``, ``output_index``. Needs labels.

NaN policy (:mod:`.policy`): a network in which no scored weight's gradient varies over the parts
(e.g. the loss does not depend on them) scores ``-inf`` with a warning (the published code returns
0); NaN gradients give NaN.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from ..errors import UnknownNameError
from .base import DeviceLike, LossFn, prepare_inputs, prepare_targets, resolve_loss, scored_layers, scoring_state
from .gradients import chunk_loss, grad_or_none
from .policy import ProxyInputError, finalize
from .registry import proxy

GRADIENT_CHOICES: tuple[str, ...] = ("per-split", "cumulative")


def split_slices(n: int, splits: int) -> list[slice]:
    """``splits`` consecutive slices of ``range(n)`` whose sizes differ by at most one (the first
    ones larger, as ``numpy.array_split``)."""
    base, extra = divmod(n, splits)
    out, start = [], 0
    for b in range(splits):
        size = base + (1 if b < extra else 0)
        out.append(slice(start, start + size))
        start += size
    return out


def check_batch(inputs: torch.Tensor, splits: int) -> int:
    """The batch size, which must be at least ``splits``."""
    n = int(inputs.shape[0]) if isinstance(inputs, torch.Tensor) and inputs.dim() >= 1 else 0
    if n < splits:
        raise ProxyInputError(f"zico splits the minibatch into {splits} parts; it has only {n} inputs")
    return n


def layer_term(grads: torch.Tensor) -> Optional[float]:
    """``log Σ mean|g| / std(g)`` over the weights of one layer (``grads``: ``[B, ...]``), or
    ``None`` when no weight's gradient varies (the layer is left out)."""
    g = grads.to(torch.float64).reshape(grads.shape[0], -1)
    keep = (g != g[:1]).any(dim=0)  # std > 0 exactly (a float std of equal values can be 1e-19, not 0)
    std = g.std(dim=0, unbiased=False)
    if not bool(keep.any()):
        return None
    total = float((g.abs().mean(dim=0)[keep] / std[keep]).sum().item())
    if total == 0.0:
        return None
    return math.log(total) if math.isfinite(total) else total


@proxy(
    "zico",
    needs_labels=True,
    cost="splits x (forward + backward) on parts of the minibatch",
    chunking="n/a (the parts are the definition; chunk_size is not accepted)",
    default_mode="train",
    reference="Li et al. 2023 (ZiCo, ICLR); published getzico: cumulative gradients (gradients=cumulative)",
    description="sum over conv/linear layers of log sum(mean|g| / std g) over minibatch parts",
)
def zico(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
         loss_fn: Optional[LossFn] = None, *, splits: int = 2, gradients: str = "per-split", mode: str = "train",
         device: DeviceLike = None, output_index: Optional[int] = None) -> float:
    """ZiCo ``Σ_layers log Σ_θ mean|g|/std(g)`` over ``splits`` parts of the minibatch (**higher is
    better**; needs labels)."""
    if gradients not in GRADIENT_CHOICES:
        raise UnknownNameError("zico gradients option", gradients, GRADIENT_CHOICES)
    if isinstance(splits, bool) or int(splits) != splits or int(splits) < 2:
        raise ProxyInputError(f"zico needs splits >= 2 parts of the minibatch (a gradient variance), got {splits!r}")
    splits = int(splits)
    n = check_batch(inputs, splits)
    loss_fn = resolve_loss(loss_fn, "mean")
    weights = [m.weight for m in scored_layers(net, "zico")]
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("zico", targets, x, dev)
        per_part: list[list[Optional[torch.Tensor]]] = []
        running: list[Optional[torch.Tensor]] = [None] * len(weights)
        for sl in split_slices(n, splits):
            # each part's own mean loss (weight 1: the 'sum' reduction of chunk_loss leaves it unscaled)
            grads = grad_or_none(chunk_loss(net, x, y, sl, n, loss_fn, "sum", output_index), weights)
            if gradients == "cumulative":
                running = [g if r is None else (r if g is None else r + g) for r, g in zip(running, grads)]
                grads = list(running)
            per_part.append([None if g is None else g.detach() for g in grads])
        with torch.no_grad():
            terms = []
            for i, w in enumerate(weights):
                if all(part[i] is None for part in per_part):
                    continue
                stacked = torch.stack([torch.zeros_like(w) if part[i] is None else part[i] for part in per_part])
                term = layer_term(stacked)
                if term is not None:
                    terms.append(term)
    if not terms:
        return finalize("zico", -math.inf, degenerate="no scored weight's gradient varies over the minibatch parts")
    return finalize("zico", math.fsum(terms))
