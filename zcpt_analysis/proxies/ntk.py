"""``ntk`` -- condition number of the empirical neural tangent kernel (Chen et al., TE-NAS, ICLR 2021).

For a minibatch of ``N`` inputs let ``J ∈ R^{N × P}`` hold, per sample ``i``, the gradient of its
summed outputs ``Σ_k f_k(x_i)`` w.r.t. the parameters ``θ`` (the outputs of one forward pass of the
whole minibatch, so train-mode BatchNorm couples the samples, as in TE-NAS). The NTK is
``Θ = J Jᵀ`` (``N × N``) and TE-NAS's trainability measure is its condition number

    κ = λ_max(Θ) / λ_min(Θ)            (TE-NAS: *lower* is better).

The registered score is ``-κ`` (higher is better), the sign TE-NAS ranks with. ``Θ`` and its
eigenvalues are computed in float64; ``J`` comes from batched backward passes
(``torch.autograd.grad(..., is_grads_batched=True)``, 8 vector-Jacobian products at a time).

Parameters (``params``): ``"all"`` (default: every floating parameter, the paper's ``θ``) or
``"published"`` (TE-NAS ``get_ntk_n``: parameters whose name contains ``"weight"`` -- conv, linear
and BatchNorm scales; biases left out).

Options: ``mode`` (default ``"train"``, as TE-NAS's ``train_mode=True``; BatchNorm statistics are
restored), ``params``, ``num_samples`` (score only the first ``num_samples`` inputs of the minibatch,
which are then the batch of the forward pass; TE-NAS's NTK batch is 16, its ``--batch_size``
default), ``device``, ``output_index`` (TE-NAS uses ``logit[1]`` of NAS-Bench-201's
``(features, logits)``). Labels unused. Cost: memory ``N × P`` floats for ``J`` (64 samples x 1M
parameters = 256 MB in float32) and ``N`` backward passes of compute, each through the whole ``N``-sample graph (train-mode
BatchNorm couples the samples), i.e. about ``N²`` per-sample backward passes: ``num_samples=16``
is 16 times cheaper than 64.

NaN policy (:mod:`.policy`): a singular NTK (``λ_min <= 0`` numerically, e.g. every gradient 0 or
two identical inputs) has ``κ = +inf``: the score is ``-inf`` with a warning; NaN gradients give NaN.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from ..errors import UnknownNameError
from .base import DeviceLike, logits_of, prepare_inputs, scoring_state
from .policy import ProxyInputError, finalize
from .registry import proxy

PARAM_CHOICES: tuple[str, ...] = ("all", "published")
_GROUP = 8
"""Samples whose parameter gradients one batched backward computes (bounds the vmapped memory)."""


def ntk_parameters(net: nn.Module, params: str = "all") -> list[torch.Tensor]:
    """The parameters ``θ`` of the NTK (see the module docstring), each shared tensor once."""
    if params not in PARAM_CHOICES:
        raise UnknownNameError("ntk params option", params, PARAM_CHOICES)
    chosen = [p for name, p in net.named_parameters() if p.is_floating_point()
              and (params == "all" or "weight" in name)]
    if not chosen:
        raise ProxyInputError(f"ntk found no parameter to differentiate (params={params!r})")
    return chosen


def ntk_matrix(net: nn.Module, inputs: torch.Tensor, *, mode: str = "train", params: str = "all",
               num_samples: Optional[int] = None, device: DeviceLike = None,
               output_index: Optional[int] = None) -> torch.Tensor:
    """The empirical NTK ``Θ = J Jᵀ`` (float64 ``[N, N]``) of ``net`` on ``inputs`` (the first
    ``num_samples`` of them if given)."""
    weights = ntk_parameters(net, params)
    if num_samples is not None and (isinstance(num_samples, bool) or int(num_samples) != num_samples
                                    or int(num_samples) < 1):
        raise ProxyInputError(f"ntk num_samples must be a positive integer, got {num_samples!r}")
    with scoring_state(net, mode, device, grad_weights=weights) as dev, torch.enable_grad():
        x = prepare_inputs(inputs, dev)
        if num_samples is not None:
            if int(num_samples) > x.shape[0]:
                raise ProxyInputError(f"ntk num_samples={num_samples} exceeds the minibatch ({x.shape[0]} inputs)")
            x = x[:int(num_samples)]
        n = x.shape[0]
        out = logits_of(net(x), output_index)
        if out.shape[0] != n:
            raise ProxyInputError(f"ntk needs one output row per input; got shape {tuple(out.shape)} for {n} inputs")
        per_sample = out.reshape(n, -1).sum(dim=1)
        kernel = torch.zeros(n, n, dtype=torch.float64, device=dev)
        if not per_sample.requires_grad:
            return kernel
        eye = torch.eye(n, dtype=per_sample.dtype, device=dev)
        groups = [range(s, min(s + _GROUP, n)) for s in range(0, n, _GROUP)]
        rows: list[list[Optional[torch.Tensor]]] = [[] for _ in weights]  # per parameter: [group, P_w] blocks of J
        for k, group in enumerate(groups):
            grads = torch.autograd.grad(per_sample, weights, grad_outputs=eye[group.start:group.stop],
                                        is_grads_batched=True, allow_unused=True, retain_graph=k + 1 < len(groups))
            for w, g in enumerate(grads):
                rows[w].append(None if g is None else g.detach().reshape(len(group), -1))
        with torch.no_grad():
            for w, blocks in enumerate(rows):
                if all(b is None for b in blocks):
                    continue  # the outputs do not depend on this parameter
                flat = torch.cat([torch.zeros(len(g), weights[w].numel(), device=dev) if b is None else b
                                  for b, g in zip(blocks, groups)]).to(torch.float64)
                kernel.add_(flat @ flat.T)
        return kernel


@proxy(
    "ntk",
    cost="1 forward + N batched backward passes (per-sample parameter gradients) + N x N eigendecomposition",
    chunking="n/a (the NTK couples the whole minibatch)",
    default_mode="train",
    reference="Chen et al. 2021 (TE-NAS, ICLR), NTK condition number; VITA-Group/TENAS lib/procedures/ntk.py",
    description="negated condition number lambda_max/lambda_min of the empirical NTK J J^T",
    sign="negated: -kappa (TE-NAS: lower kappa is better)",
)
def ntk(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
        mode: str = "train", params: str = "all", num_samples: Optional[int] = None, device: DeviceLike = None,
        output_index: Optional[int] = None) -> float:
    """``-κ``, the negated NTK condition number (**higher is better**, as TE-NAS ranks; labels unused)."""
    kernel = ntk_matrix(net, inputs, mode=mode, params=params, num_samples=num_samples, device=device,
                        output_index=output_index)
    if not bool(torch.isfinite(kernel).all()):
        return finalize("ntk", math.nan)
    eig = torch.linalg.eigvalsh(kernel)
    lo, hi = float(eig[0].item()), float(eig[-1].item())
    if not lo > 0:
        return finalize("ntk", -math.inf, degenerate="the NTK is singular (smallest eigenvalue <= 0): infinite "
                        "condition number")
    return finalize("ntk", -hi / lo)
