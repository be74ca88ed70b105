"""``flops`` -- floating-point operations of one forward pass, the trivial data-shape baseline proxy.

Counted with :class:`torch.utils.flop_counter.FlopCounterMode` on a forward pass of the first
input alone (``per_sample=True``, default) or of the whole minibatch. The counter covers matrix
multiplications and convolutions (``2 x`` multiply-accumulates); element-wise ops, BatchNorm and
pooling are not counted, as in the usual FLOP conventions. Higher is better. Runs in ``eval``
mode under ``torch.no_grad()`` by default (the count does not depend on the mode); for a supernet
it counts what the current edge state computes. The first call in a process pays a one-off
FlopCounterMode initialisation of a few seconds.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .base import DeviceLike, prepare_inputs, scoring_state
from .policy import finalize
from .registry import proxy


@proxy(
    "flops",
    needs_gradients=False,
    cost="1 forward at batch 1 (FlopCounterMode)",
    chunking="n/a (batch 1)",
    default_mode="eval",
    reference="baseline in Abdelfattah et al. 2021",
    description="FLOPs (2 x MACs of conv/matmul) of one forward pass per input",
)
def flops(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
          mode: str = "eval", per_sample: bool = True, device: DeviceLike = None, **_: Any) -> float:
    """FLOPs of a forward pass of one input (or the whole batch) (**higher is better**; labels unused)."""
    with scoring_state(net, mode, device) as dev, torch.no_grad():
        x = prepare_inputs(inputs, dev)
        if per_sample:
            x = x[:1]
        counter = FlopCounterMode(display=False)
        with counter:
            net(x)
        return finalize("flops", float(counter.get_total_flops()))
