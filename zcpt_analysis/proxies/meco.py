"""``meco`` -- minimum eigenvalue of the feature-map correlation (Jiang et al., MeCo, NeurIPS 2023).

For one input ``X`` and layer ``i`` with feature map ``f_i(X) ∈ R^{c × h × w}``, reshape it into a
``c × hw`` matrix and let ``P(f_i(X))`` be the ``c × c`` Pearson correlation matrix of its rows
(channels). The paper's score is

    MeCo(X) = Σ_i λ_min(P(f_i(X)))                    (higher is better, as published).

Definition here (the paper's, by default):

* layers: the output of every :class:`torch.nn.Conv2d` call (``hooks="conv"``);
* a minibatch of ``N`` inputs gives the mean of ``MeCo(X_n)`` over its samples (``samples="mean"``;
  for ``N = 1`` this is exactly the paper's single-input score);
* a channel that is constant over the positions has no correlation; its row and column of ``P``
  are 0 (as the published code's ``corr[isnan(corr)] = 0``), so such a layer contributes
  ``λ_min = 0``. ``P`` and its eigenvalues (``eigvalsh``) are computed in float64.

The published code (``get_score`` in the MeCo repository) deviates; ``hooks="published"`` and
``samples="first"`` reproduce it: hooks on *every* module returned by ``named_modules()`` (the
network itself, containers, BatchNorm, ReLU, pooling, ... -- each module's output counted again),
the first element of each output (``output[0]``: the first sample of a tensor output), every
NaN/inf correlation entry set to 0, layers whose value is still NaN/inf dropped. The published
experiments score one real image (batch 1).

Options: ``mode`` (default ``"as-is"``: the published scripts score a fresh network, i.e. in train
mode; BatchNorm statistics are restored), ``hooks`` (``"conv"`` / ``"published"``), ``samples``
(``"mean"`` / ``"first"``; default ``"mean"``, and ``"first"`` with the published hooks),
``chunk_size`` (per-sample values, so exact without batch-coupled
layers -- not with train-mode BatchNorm), ``device``. Labels are unused.

NaN policy (:mod:`.policy`): non-finite feature maps give NaN (with the default hooks); a network
without any ``Conv2d`` raises :class:`~.policy.ProxyInputError`.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from ..errors import UnknownNameError
from .base import DeviceLike, chunk_slices, prepare_inputs, scoring_state
from .policy import ProxyInputError, finalize
from .registry import proxy

HOOK_CHOICES: tuple[str, ...] = ("conv", "published")
SAMPLE_CHOICES: tuple[str, ...] = ("mean", "first")


def channel_correlation(features: torch.Tensor) -> torch.Tensor:
    """``[B, c, m]`` -> ``[B, c, c]`` float64 Pearson correlation of the ``c`` rows over ``m``
    positions (``numpy.corrcoef`` per item, clipped to [-1, 1]); undefined entries (a constant row,
    or ``m < 2``) are NaN."""
    x = features.to(torch.float64)
    x = x - x.mean(dim=-1, keepdim=True)
    cov = torch.matmul(x, x.transpose(-1, -2))
    std = torch.sqrt(torch.diagonal(cov, dim1=-2, dim2=-1))
    corr = cov / (std.unsqueeze(-1) * std.unsqueeze(-2))
    return corr.clamp_(-1.0, 1.0)


def min_eigenvalues(corr: torch.Tensor) -> torch.Tensor:
    """Smallest eigenvalue of each ``[..., c, c]`` correlation matrix after zeroing NaN/inf entries."""
    clean = torch.where(torch.isfinite(corr), corr, torch.zeros((), dtype=corr.dtype, device=corr.device))
    return torch.linalg.eigvalsh(clean)[..., 0]


def _conv_layer_values(out: torch.Tensor) -> torch.Tensor:
    """Per-sample ``λ_min`` ``[N]`` of one conv output ``[N, c, ...]`` (NaN if the map is not finite)."""
    n, c = out.shape[0], out.shape[1]
    feats = out.detach().reshape(n, c, -1)
    values = min_eigenvalues(channel_correlation(feats))
    finite = torch.isfinite(feats).flatten(1).all(dim=1)
    return torch.where(finite, values, torch.full_like(values, math.nan))


def _published_value(output: Any) -> Optional[float]:
    """The published hook's value for one module output: ``output[0]`` (the first sample of a tensor
    output, the first item of a tuple) as a ``[rows, -1]`` matrix; ``None`` = dropped (non-finite,
    or nothing to reshape)."""
    if not isinstance(output, (torch.Tensor, tuple, list)) or len(output) == 0:
        return None
    fea = output[0]
    if not isinstance(fea, torch.Tensor) or fea.dim() == 0:
        return None
    matrix = fea.detach().reshape(fea.shape[0], -1).unsqueeze(0)
    value = float(min_eigenvalues(channel_correlation(matrix))[0].item())
    return value if math.isfinite(value) else None


@proxy(
    "meco",
    needs_gradients=False,
    cost="1 forward (no grad) + one c x c correlation and eigendecomposition per conv layer and sample",
    reference="Jiang et al. 2023 (MeCo, NeurIPS); published code: hooks on every module (hooks=published)",
    description="sum over conv layers of the minimum eigenvalue of the channel correlation matrix, mean over samples",
)
def meco(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
         mode: str = "as-is", hooks: str = "conv", samples: Optional[str] = None, chunk_size: Optional[int] = None,
         device: DeviceLike = None) -> float:
    """MeCo ``Σ_layers λ_min(corr(feature map))`` (**higher is better**; labels unused)."""
    if hooks not in HOOK_CHOICES:
        raise UnknownNameError("meco hooks option", hooks, HOOK_CHOICES)
    if samples is None:
        samples = "mean" if hooks == "conv" else "first"
    if samples not in SAMPLE_CHOICES:
        raise UnknownNameError("meco samples option", samples, SAMPLE_CHOICES)
    if hooks == "published" and samples != "first":
        raise ProxyInputError("meco hooks='published' scores the first sample of each output (output[0], as the "
                              "published code); samples='mean' needs hooks='conv'")
    modules = ([m for m in net.modules() if isinstance(m, nn.Conv2d)] if hooks == "conv"
               else [m for _, m in net.named_modules()])
    if hooks == "conv" and not modules:
        raise ProxyInputError("meco scores the feature maps of nn.Conv2d layers; the network has none")
    with scoring_state(net, mode, device) as dev, torch.no_grad():
        x = prepare_inputs(inputs, dev)
        slices = chunk_slices(x.shape[0], chunk_size)
        if samples == "first":
            slices = slices[:1]
        totals: list[torch.Tensor] = []
        published: list[float] = []

        def conv_hook(module: nn.Module, args: tuple, output: Any) -> None:
            if isinstance(output, torch.Tensor) and output.dim() >= 3:
                totals.append(_conv_layer_values(output).sum() if samples == "mean"
                              else _conv_layer_values(output[:1]).sum())

        def published_hook(module: nn.Module, args: tuple, output: Any) -> None:
            value = _published_value(output)
            if value is not None:
                published.append(value)

        handles = [m.register_forward_hook(conv_hook if hooks == "conv" else published_hook) for m in modules]
        try:
            for sl in slices:
                net(x[sl])
        finally:
            for h in handles:
                h.remove()
        if hooks == "published":
            return finalize("meco", math.fsum(published))
        if not totals:
            raise ProxyInputError("meco: no nn.Conv2d layer ran in the forward pass")
        count = x.shape[0] if samples == "mean" else 1
        value = torch.stack(totals).sum().item() / count
    return finalize("meco", value)
