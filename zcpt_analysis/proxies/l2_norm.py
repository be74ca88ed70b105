"""``l2_norm`` -- sum of the layers' weight norms, as NAS-Bench-Suite-Zero (Krishnakumar et al. 2022).

Score ``Σ_{Conv2d, Linear layers} ‖W‖₂`` (one Euclidean/Frobenius norm per layer's weight tensor,
then summed; biases and BatchNorm parameters are not scored), computed in float64. Higher is
better, as published (NASLib ``l2_norm.py``, ``get_layer_metric_array(net, lambda l:
l.weight.norm())``). Data-independent: inputs and labels are unused. A network without scored
layers raises :class:`~.policy.ProxyInputError`.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from .base import scored_layers
from .policy import finalize
from .registry import proxy


@proxy(
    "l2_norm",
    needs_gradients=False,
    cost="no pass (weight norms)",
    chunking="n/a",
    default_mode="n/a",
    reference="Krishnakumar et al. 2022 (NAS-Bench-Suite-Zero); NASLib naslib/predictors/pruners/measures/l2_norm.py",
    description="sum over Conv2d/Linear layers of ||W||_2",
)
def l2_norm(net: nn.Module, inputs: Optional[torch.Tensor] = None, targets: Optional[torch.Tensor] = None,
            loss_fn: Any = None, **_: Any) -> float:
    """``Σ_layers ‖W‖₂`` over Conv2d/Linear weights (**higher is better**; no pass, inputs unused)."""
    layers = scored_layers(net, "l2_norm")
    with torch.no_grad():
        norms = [m.weight.detach().to(torch.float64).norm() for m in layers]
        value = torch.stack([n.to(norms[0].device) for n in norms]).sum().item()
    return finalize("l2_norm", value)
