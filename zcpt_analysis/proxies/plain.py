"""``plain`` -- first-order weight saliency ``Σ W ⊙ ∂L/∂W``, as NAS-Bench-Suite-Zero (Krishnakumar et al. 2022).

Score ``Σ_{Conv2d, Linear weights} Σ (W ⊙ ∂L/∂W)`` -- the *signed* sum (``snip`` takes the
absolute value), ``L`` the cross-entropy (mean) of the minibatch, BatchNorm left on (NASLib
``plain.py``, registered with ``bn=True``), accumulated in float64. The value is registered with
its published sign; NAS-Bench-Suite-Zero measures a *negative* rank correlation with accuracy on
NAS-Bench-201 (about -0.2), so as an accuracy predictor its larger values are not the better ones
-- it is kept as published so that measured correlations compare with the published ones.

Options: ``mode`` (default ``"as-is"``, as NASLib's copy of the network), ``chunk_size`` (exact
without batch-coupled layers, i.e. not with train-mode BatchNorm), ``device``, ``loss_fn`` /
``loss_reduction``, ``output_index``. A network whose loss does not depend on any scored weight
scores ``0.0`` (degenerate, with a warning).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .base import DeviceLike, LossFn
from .gradients import gradient_saliency
from .registry import proxy


@proxy(
    "plain",
    needs_labels=True,
    cost="1 forward + 1 backward",
    reference="Krishnakumar et al. 2022 (NAS-Bench-Suite-Zero); NASLib naslib/predictors/pruners/measures/plain.py",
    description="signed sum of W * dL/dW over Conv2d/Linear weights",
    sign="as published (correlates negatively with NB201 accuracy)",
)
def plain(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
          loss_fn: Optional[LossFn] = None, *, mode: str = "as-is", chunk_size: Optional[int] = None,
          device: DeviceLike = None, loss_reduction: str = "mean", output_index: Optional[int] = None) -> float:
    """``Σ W ⊙ ∂L/∂W`` over Conv2d/Linear weights (published sign: see the module docstring; needs labels)."""
    return gradient_saliency("plain", lambda w, g: (w.to(torch.float64) * g.to(torch.float64)).sum(), net, inputs,
                             targets, loss_fn, mode=mode, chunk_size=chunk_size, device=device,
                             loss_reduction=loss_reduction, output_index=output_index)
