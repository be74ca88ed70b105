"""``zen`` -- the Zen-score (Lin et al., Zen-NAS, ICCV 2021).

With every weight drawn from ``N(0, 1)`` (BatchNorm scale 1, biases 0; see :mod:`.gaussian_init`),
Gaussian inputs ``x, ε ~ N(0, 1)`` of the minibatch's shape and ``α = mixup_gamma = 0.01``, let
``f`` be the feature map *before global average pooling*. The paper's Zen-score is

    Zen = log E_x ‖f(x) − f(x + α ε)‖₁  +  Σ_i log σ̄_i,     σ̄_i = sqrt(mean_j σ²_{i,j})

(higher is better, as published), the sum over every ``BatchNorm2d`` layer ``i``, ``σ_{i,j}`` the
mini-batch standard deviation of its channel ``j`` on the forward pass of ``x`` (the BatchNorm's
normalising statistic), the expectation the mean over the minibatch of the per-sample
``Σ_{c,h,w} |·|``. A BatchNorm whose input is constant over the batch (``σ̄_i = 0``: a dead branch,
e.g. behind ``none`` edges, or a removed op of a supernet run on zeros) is left out of the sum: its
output does not depend on the input, and ``log 0`` would make every such network ``-inf``. The input *values* of the minibatch are not used (data-independent score);
the Gaussian inputs and weights of repeat ``r`` come from private generators seeded by
``derive_seed(seed, "zen-inputs", r)`` (``x`` then ``ε``, drawn in float32) and
``derive_seed(seed, "zen-weights", r)``.

Published deviation (``compute_zen_score.py`` of Zen-NAS, NASLib's ``zen``): ``σ̄_i`` is read from
the BatchNorm's ``running_var`` after the two forward passes (train mode, momentum 0.1, so it is
mostly the initial 1), not from the batch statistic: ``bn="running"`` reproduces that (on cloned
buffers: the network's own statistics are never touched); the default ``bn="batch"`` is the
paper's. Zen-NAS averages 32 repeats (``repeats=32``); NAS-Bench-Suite-Zero uses 1 (default).

"Before global average pooling" is the input of the network's last ``nn.AdaptiveAvgPool2d`` call
(NAS-Bench-201: after the final BN + ReLU; DARTS networks: after the last cell).

Options: ``mode`` (default ``"train"``, as both published codes; BatchNorm statistics are
restored), ``mixup_gamma``, ``repeats``, ``bn`` (``"batch"`` / ``"running"``), ``init``
(``"gaussian"``, the definition, or ``"network"``: the network's own weights), ``seed``,
``device``. Labels unused.

NaN policy (:mod:`.policy`): ``f(x) = f(x + αε)`` everywhere (the output does not depend on the
input) gives ``-inf`` with a warning; NaN/inf features give NaN.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn
from torch.func import functional_call

from ..errors import UnknownNameError
from ..runtime import derive_seed
from .base import DeviceLike, check_inputs, scoring_state
from .gaussian_init import INIT_CHOICES, gaussian_tensors, own_tensors
from .policy import ProxyInputError, finalize
from .registry import proxy

BN_CHOICES: tuple[str, ...] = ("batch", "running")


class _Capture:
    """Pre-hooks recording the input of the last global-pooling call and BatchNorm batch variances."""

    def __init__(self, pools: list[nn.Module], bns: list[nn.BatchNorm2d]):
        self.features: Optional[torch.Tensor] = None
        self.bn_log_sigma: list[torch.Tensor] = []
        self.record_bn = False
        self._handles = [p.register_forward_pre_hook(self._pool) for p in pools]
        self._handles += [b.register_forward_pre_hook(self._bn) for b in bns]

    def _pool(self, module: nn.Module, args: tuple) -> None:
        self.features = args[0]

    def _bn(self, module: nn.Module, args: tuple) -> None:
        if self.record_bn:
            x = args[0].to(torch.float64)
            var = x.transpose(0, 1).reshape(x.shape[1], -1).var(dim=1, unbiased=False).mean()
            if bool(var > 0) or not bool(torch.isfinite(var)):  # a constant input (dead branch) is left out
                self.bn_log_sigma.append(0.5 * torch.log(var))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


@proxy(
    "zen",
    needs_gradients=False,
    cost="2 forwards (no grad) per repeat on Gaussian inputs with Gaussian weights",
    chunking="n/a (train-mode BatchNorm statistics are part of the score)",
    default_mode="train",
    reference="Lin et al. 2021 (Zen-NAS, ICCV); published code reads BN running_var (bn=running)",
    description="log E|f(x) - f(x + 0.01 eps)| before global pooling + sum of log BN batch std, Gaussian weights",
)
def zen(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
        mode: str = "train", mixup_gamma: float = 1e-2, repeats: int = 1, bn: str = "batch", init: str = "gaussian",
        seed: int = 0, device: DeviceLike = None) -> float:
    """Zen-score ``log E‖f(x) - f(x + αε)‖ + Σ log σ̄_BN`` (**higher is better**; data values and
    labels unused, only the minibatch's shape)."""
    if bn not in BN_CHOICES:
        raise UnknownNameError("zen bn option", bn, BN_CHOICES)
    if init not in INIT_CHOICES:
        raise UnknownNameError("zen init option", init, INIT_CHOICES)
    if isinstance(repeats, bool) or int(repeats) != repeats or int(repeats) < 1:
        raise ProxyInputError(f"zen repeats must be a positive integer, got {repeats!r}")
    if not float(mixup_gamma) > 0:
        raise ProxyInputError(f"zen mixup_gamma must be positive, got {mixup_gamma!r}")
    pools = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ProxyInputError("zen scores the feature map before global average pooling: the network has no "
                              "nn.AdaptiveAvgPool2d")
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    shape = tuple(check_inputs(inputs).shape)
    values = []
    with scoring_state(net, mode, device) as dev, torch.no_grad():
        names = {id(b): n for n, b in net.named_modules()}
        for r in range(int(repeats)):
            gen = torch.Generator(device="cpu").manual_seed(derive_seed(seed, "zen-inputs", r))
            x = torch.randn(shape, generator=gen).to(device=dev, dtype=inputs.dtype)
            noise = torch.randn(shape, generator=gen).to(device=dev, dtype=inputs.dtype)
            tensors = (gaussian_tensors(net, derive_seed(seed, "zen-weights", r), dev) if init == "gaussian" else own_tensors(net, dev))
            capture = _Capture(pools, bns)
            try:
                capture.record_bn = bn == "batch"
                functional_call(net, tensors, (x,))
                f_x = capture.features
                capture.record_bn = False
                functional_call(net, tensors, (x + float(mixup_gamma) * noise,))
                f_mix = capture.features
            finally:
                capture.remove()
            if f_x is None or f_mix is None:
                raise ProxyInputError("zen: no nn.AdaptiveAvgPool2d ran in the forward pass")
            diff = (f_x.to(torch.float64) - f_mix.to(torch.float64)).abs()
            delta = diff.reshape(diff.shape[0], -1).sum(dim=1).mean()
            if bn == "batch":
                log_sigma = torch.stack(capture.bn_log_sigma).sum() if capture.bn_log_sigma else torch.zeros(())
            else:
                terms = [0.5 * torch.log(tensors[names[id(b)] + ".running_var"].to(torch.float64).mean())
                         for b in bns if b.track_running_stats and names[id(b)] + ".running_var" in tensors]
                log_sigma = torch.stack(terms).sum() if terms else torch.zeros(())
            delta_v, log_sigma_v = float(delta.item()), float(log_sigma.item())
            if not (math.isfinite(delta_v) and math.isfinite(log_sigma_v)):
                values.append(math.nan)
            elif delta_v == 0.0:
                values.append(-math.inf)
            else:
                values.append(math.log(delta_v) + log_sigma_v)
    if any(math.isnan(v) for v in values):
        return finalize("zen", math.nan)
    if any(v == -math.inf for v in values):
        return finalize("zen", -math.inf, degenerate="the features do not depend on the input (f(x) = f(x + a*eps))")
    return finalize("zen", math.fsum(values) / len(values))
