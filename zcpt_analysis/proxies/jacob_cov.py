"""``jacob_cov`` -- Jacobian covariance (Mellor et al. 2020, v1 of NASWOT) as in Abdelfattah et al. 2021.

``J`` = the gradient of ``Σ outputs`` w.r.t. the input, one row per sample (flattened). With
``λ`` the eigenvalues of the correlation matrix of ``J``'s rows (``numpy.corrcoef``) and
``k = 1e-5``:

    score = -Σ_i [ log(λ_i + k) + 1 / (λ_i + k) ]     (higher is better).

The correlation matrix and its eigenvalues are computed in float64 (the reference converts ``J``
to NumPy, where ``corrcoef`` works in float64, and uses ``numpy.linalg.eig``; the matrix is
symmetric, so :func:`torch.linalg.eigvalsh` is used: same eigenvalues to rounding).

Options: ``mode`` (default ``"as-is"``, as the reference), ``chunk_size`` (rows computed chunk by
chunk: exact without batch-coupled layers, i.e. not with train-mode BatchNorm, where a sample's
row also depends on its batch mates), ``device``, ``output_index``.

Degenerate cases (see :mod:`.policy`): if the output does not depend on the input at all (every
row of ``J`` is constant -- zero -- e.g. an NB201 network of all-``none`` cells) the correlation
is undefined and the score is ``-inf`` (with a warning; the reference returns NaN). If only some
rows are constant, or the eigenvalues give ``λ + k <= 0``, the score is NaN (as the reference).
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from .base import DeviceLike, chunk_slices, logits_of, prepare_inputs, scoring_state
from .policy import finalize
from .registry import proxy

EPS = 1e-5


def input_jacobian(net: nn.Module, inputs: torch.Tensor, *, mode: str = "as-is", chunk_size: Optional[int] = None,
                   device: DeviceLike = None, output_index: Optional[int] = None) -> torch.Tensor:
    """``∂(Σ outputs)/∂x`` as ``[N, D]`` rows (the network's dtype), the network left unchanged."""
    with scoring_state(net, mode, device) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        rows = []
        for sl in chunk_slices(x.shape[0], chunk_size):
            xc = x[sl].clone().requires_grad_(True)
            out = logits_of(net(xc), output_index)
            grad = torch.autograd.grad(out.sum(), xc, allow_unused=True)[0] if out.requires_grad else None
            rows.append((torch.zeros_like(xc) if grad is None else grad).reshape(xc.shape[0], -1).detach())
        return torch.cat(rows)


def jacob_cov_from_jacobian(jacobian: torch.Tensor) -> tuple[float, Optional[str]]:
    """Score of a ``[N, D]`` Jacobian and the degenerate reason (``None`` if not degenerate)."""
    j = jacobian.to(torch.float64)
    constant = (j == j[:, :1]).all(dim=1)
    n_constant, n_rows = int(constant.sum().item()), j.shape[0]
    if n_constant == n_rows:
        return -math.inf, "the output does not depend on the input (all Jacobian rows constant)"
    if n_constant:
        return math.nan, None
    if n_rows == 1:
        corr = torch.ones(1, 1, dtype=torch.float64, device=j.device)
    else:
        corr = torch.corrcoef(j)
    try:
        eig = torch.linalg.eigvalsh(corr)
    except RuntimeError:  # the reference catches the eigensolver's failure and returns NaN
        return math.nan, None
    return float(-(torch.log(eig + EPS) + 1.0 / (eig + EPS)).sum().item()), None


@proxy(
    "jacob_cov",
    cost="1 forward + 1 backward (input gradient) + N x N eigendecomposition",
    reference="Mellor et al. 2020 (arXiv v1); Abdelfattah et al. 2021 foresight/pruners/measures/jacob_cov.py",
    description="-sum(log(l+1e-5) + 1/(l+1e-5)) over eigenvalues of corr(input Jacobian rows)",
    min_batch=2,
    min_batch_reason="it correlates the input gradients of the images of a minibatch",
    batched_engine="fast_gradients",
    batched_kind="input-jacobian",
    batched_options=frozenset({"mode"}),
)
def jacob_cov(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
              mode: str = "as-is", chunk_size: Optional[int] = None, device: DeviceLike = None,
              output_index: Optional[int] = None) -> float:
    """Jacobian-covariance score ``-Σ(log(λ+k) + 1/(λ+k))`` (**higher is better**; labels unused)."""
    jac = input_jacobian(net, inputs, mode=mode, chunk_size=chunk_size, device=device, output_index=output_index)
    value, degenerate = jacob_cov_from_jacobian(jac)
    return finalize("jacob_cov", value, degenerate=degenerate)
