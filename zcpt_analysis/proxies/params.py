"""``params`` -- number of parameters, the trivial data-independent baseline proxy.

Counts the elements of every parameter of the module (each shared parameter once); with
``trainable_only=True`` only those with ``requires_grad`` (the reference's ``count_parameters``).
Higher is better (larger networks tend to train to higher accuracy on NAS-Bench-201). For a
supernet this counts every candidate op, whatever the edge state. Inputs and labels are unused.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from .policy import finalize
from .registry import proxy


@proxy(
    "params",
    needs_gradients=False,
    cost="no pass (counts parameters)",
    chunking="n/a",
    default_mode="n/a",
    reference="baseline in Abdelfattah et al. 2021",
    description="number of parameters",
    parameter_count=True,
)
def params(net: nn.Module, inputs: Optional[torch.Tensor] = None, targets: Optional[torch.Tensor] = None,
           loss_fn: Any = None, *, trainable_only: bool = False, **_: Any) -> float:
    """Number of parameters of ``net`` (**higher is better**; no pass, inputs unused)."""
    return finalize("params", float(sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)))
