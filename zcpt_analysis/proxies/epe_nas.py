"""``epe_nas`` -- per-class Jacobian correlation (Lopes et al. 2021, EPE-NAS), as NAS-Bench-Suite-Zero.

``J`` = the gradient of ``Σ outputs`` w.r.t. the input, one row per sample (the Jacobian of
``jacob_cov``, here with the output size as well). For every class ``c`` present in the labels, ``Σ_c`` is the correlation matrix of
the rows of the samples of class ``c`` (``numpy.corrcoef``; a class with one sample gives the 1x1
matrix ``[1]``) and, with ``k = 1e-5``,

    E_c = Σ_{i,j} log(|Σ_c[i, j]| + k),

and with ``C`` the number of classes (the network's number of outputs):

    C <= 100:  score = Σ_c |E_c|
    C  > 100:  score = Σ_c Σ_c' |E_c/n_c − E_c'/n_c'| / (number of classes present),

``n_c`` the number of samples of class ``c`` (classes with a single sample are left out there, as
the published ``len(corrs)`` fails on them). Higher is better, as published. This follows the
EPE-NAS authors' ``eval_score_perclass`` as NASLib calls it (``n_classes = y.shape[-1]``); the
authors' own search script calls it without labels and with ``n_classes=10`` whatever the dataset.
Computed in float64.

Options: ``mode`` (default ``"as-is"``, as NASLib's copy of the network), ``chunk_size`` (the
Jacobian rows chunk by chunk: exact without batch-coupled layers), ``device``, ``output_index``.
Needs labels (they group the rows).

NaN policy (:mod:`.policy`): if the output does not depend on the input (every Jacobian row
constant) the score is ``-inf`` (degenerate, with a warning); if only some rows are constant the
correlations are undefined and the score is NaN (as the published ``log(nan)``).
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from .base import DeviceLike, chunk_slices, logits_of, prepare_inputs, prepare_targets, scoring_state
from .policy import ProxyInputError, finalize
from .registry import proxy

EPS = 1e-5
MANY_CLASSES = 100
"""Above this many classes the score compares classes pairwise (the published switch)."""


def class_log_correlation(rows: torch.Tensor) -> float:
    """``E_c = Σ log(|corr(rows)| + k)`` of one class's ``[n_c, D]`` Jacobian rows (float64)."""
    if rows.shape[0] == 1:
        return math.log(1.0 + EPS)
    corr = torch.corrcoef(rows.to(torch.float64))
    return float(torch.log(corr.abs() + EPS).sum().item())


def epe_score(jacobian: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The EPE-NAS score of ``[N, D]`` Jacobian rows with their ``[N]`` labels (see the module docstring)."""
    j = jacobian.to(torch.float64)
    per_class: dict[int, float] = {}
    sizes: dict[int, int] = {}
    for c in dict.fromkeys(int(v) for v in labels.tolist()):  # classes in order of appearance
        rows = j[labels == c]
        per_class[c] = class_log_correlation(rows)
        sizes[c] = rows.shape[0]
    if num_classes <= MANY_CLASSES:
        return math.fsum(abs(e) for e in per_class.values())
    normalised = [per_class[c] / sizes[c] for c in per_class if sizes[c] > 1]
    if not normalised:
        return math.nan
    total = math.fsum(abs(a - b) for a in normalised for b in normalised)
    return total / len(normalised)


def jacobian_and_classes(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor], *, mode: str,
                         chunk_size: Optional[int], device: DeviceLike,
                         output_index: Optional[int]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``∂(Σ outputs)/∂x`` rows ``[N, D]``, the labels ``[N]`` and the number of outputs per sample."""
    with scoring_state(net, mode, device) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        y = prepare_targets("epe_nas", targets, x, dev).reshape(-1)
        rows, num_classes = [], 0
        for sl in chunk_slices(x.shape[0], chunk_size):
            xc = x[sl].clone().requires_grad_(True)
            out = logits_of(net(xc), output_index)
            if out.dim() < 2:
                raise ProxyInputError(f"epe_nas needs [N, classes] outputs, got shape {tuple(out.shape)}")
            num_classes = int(out.shape[-1])
            grad = torch.autograd.grad(out.sum(), xc, allow_unused=True)[0] if out.requires_grad else None
            rows.append((torch.zeros_like(xc) if grad is None else grad).reshape(xc.shape[0], -1).detach())
        return torch.cat(rows), y, num_classes


@proxy(
    "epe_nas",
    needs_labels=True,
    cost="1 forward + 1 backward (input gradient) + one correlation matrix per class",
    reference="Lopes et al. 2021 (EPE-NAS, ICANN); NASLib naslib/predictors/pruners/measures/epe_nas.py",
    description="sum over classes of |sum log(|corr(J_c)| + 1e-5)| of the input-Jacobian rows per class",
)
def epe_nas(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
            mode: str = "as-is", chunk_size: Optional[int] = None, device: DeviceLike = None,
            output_index: Optional[int] = None) -> float:
    """EPE-NAS per-class Jacobian-correlation score (**higher is better**; needs labels)."""
    jac, labels, num_classes = jacobian_and_classes(net, inputs, targets, mode=mode, chunk_size=chunk_size,
                                                    device=device, output_index=output_index)
    constant = (jac == jac[:, :1]).all(dim=1)
    if bool(constant.all()):
        return finalize("epe_nas", -math.inf,
                        degenerate="the output does not depend on the input (all Jacobian rows constant)")
    if bool(constant.any()):
        return finalize("epe_nas", math.nan)
    return finalize("epe_nas", epe_score(jac, labels, num_classes))
