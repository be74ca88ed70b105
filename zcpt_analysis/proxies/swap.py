"""``swap`` -- sample-wise activation patterns (Peng et al., SWAP-NAS, ICLR 2024).

Forward a minibatch of ``N`` inputs and record, for every unit ``u`` of every ``nn.ReLU`` applied
to a 4-D feature map, its binary pattern over the samples ``p_u = (sign(relu(x))_{n,u})_{n=1..N}
∈ {0, 1}^N``. The SWAP-Score is the number of *distinct* patterns over all units,

    SWAP = |{ p_u : u }|                          (higher is better, as published),

i.e. the number of distinct rows of the transposed ``[N, units]`` activation matrix (the published
``torch.unique(activations.T, dim=0)``; here the patterns are bit-packed into integers and counted
with 1-D sorts, with the same count). The **regularised** variant multiplies it by a Gaussian of the parameter count
``Θ`` (in thousands of parameters, the published ``count_parameters`` unit):

    SWAP_reg = SWAP · exp(-(Θ - μ)² / σ)          (``regular=True``; ``mu`` and ``sigma`` required).

Published deviations (``SWAP`` class and ``correlation.py`` of the SWAP repository): the weights are
re-drawn from ``N(0, 1)`` before every forward (``network_weight_gaussian_init``) and the score is
the mean over 32 such repeats of a batch of 16; ``init="gaussian"`` with ``repeats=32`` reproduces
that (repeat ``r`` seeded by ``derive_seed(seed, "swap-weights", r)``, without touching the network; see :mod:`.gaussian_init`). The default
scores the network's own weights once.

Options: ``mode`` (default ``"as-is"``: the published code scores a fresh, train-mode network;
BatchNorm statistics are restored), ``regular`` / ``mu`` / ``sigma``, ``init`` (``"network"`` /
``"gaussian"``), ``repeats`` (only with ``init="gaussian"``), ``seed``, ``device``. Labels unused.

NaN policy (:mod:`.policy`): NaN activations give NaN; a network without a ReLU on 4-D inputs
raises :class:`~.policy.ProxyInputError`. The smallest possible score is 1 (every unit has the
same pattern, e.g. input disconnected from every ReLU).
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn
from torch.func import functional_call

from ..errors import UnknownNameError
from ..runtime import derive_seed
from .base import DeviceLike, prepare_inputs, scoring_state
from .gaussian_init import INIT_CHOICES, gaussian_tensors
from .policy import ProxyInputError, finalize
from .registry import proxy

_WORD_BITS = 62


def pack_patterns(codes: torch.Tensor) -> torch.Tensor:
    """``[N, units]`` 0/1 codes -> ``[units, ceil(N / 62)]`` int64: each unit's pattern over the
    samples as bits (two units share a row exactly when their patterns are equal)."""
    n = codes.shape[0]
    words = []
    for start in range(0, n, _WORD_BITS):
        block = codes[start:start + _WORD_BITS].to(torch.int64)
        weights = (2 ** torch.arange(block.shape[0], dtype=torch.int64, device=codes.device)).unsqueeze(1)
        words.append((block * weights).sum(dim=0))
    return torch.stack(words, dim=1)


def count_distinct_rows(words: torch.Tensor) -> int:
    """Number of distinct rows of an ``[units, W]`` int64 matrix, exactly: the columns are folded
    into one key column by column (``key = inverse(key) * |distinct col| + inverse(col)``, keys stay
    below ``units**2``), so only 1-D sorts are needed."""
    key = torch.unique(words[:, 0], return_inverse=True)[1]
    for w in range(1, words.shape[1]):
        values, inverse = torch.unique(words[:, w], return_inverse=True)
        key = torch.unique(key * values.numel() + inverse, return_inverse=True)[1]
    return int(torch.unique(key).numel())


class _PatternSet:
    """The bit-packed patterns of every hooked ReLU call (16 bytes per unit for batches up to 124)."""

    def __init__(self) -> None:
        self.packed: list[torch.Tensor] = []
        self.non_finite = False

    def add(self, activation: torch.Tensor) -> None:
        flat = activation.detach().reshape(activation.shape[0], -1)
        if not bool(torch.isfinite(flat).all()):
            self.non_finite = True
            return
        self.packed.append(pack_patterns(flat > 0))

    @property
    def calls(self) -> int:
        return len(self.packed)

    def count(self) -> float:
        if self.non_finite:
            return math.nan
        return float(count_distinct_rows(torch.cat(self.packed))) if self.packed else 0.0


def regular_factor(net: nn.Module, mu: float, sigma: float) -> float:
    """``exp(-(Θ - μ)² / σ)`` with ``Θ`` the parameter count in thousands (parameters whose name
    contains ``auxiliary`` -- a DARTS auxiliary head -- left out, as the published count)."""
    theta = sum(p.numel() for name, p in net.named_parameters() if "auxiliary" not in name) / 1e3
    return math.exp(-((theta - mu) ** 2) / sigma)


def _check_options(regular: bool, mu: Optional[float], sigma: Optional[float], init: str, repeats: int) -> None:
    if init not in INIT_CHOICES:
        raise UnknownNameError("swap init option", init, INIT_CHOICES)
    if isinstance(repeats, bool) or int(repeats) != repeats or int(repeats) < 1:
        raise ProxyInputError(f"swap repeats must be a positive integer, got {repeats!r}")
    if int(repeats) > 1 and init != "gaussian":
        raise ProxyInputError("swap repeats > 1 re-draws Gaussian weights each time: it needs init='gaussian' "
                              "(the network's own weights give the same score every repeat)")
    if regular:
        if mu is None or sigma is None:
            raise ProxyInputError("the regularised swap needs mu and sigma (in thousands of parameters: "
                                  "exp(-(params/1e3 - mu)^2 / sigma))")
        if not float(sigma) > 0:
            raise ProxyInputError(f"swap sigma must be positive, got {sigma!r}")
    elif mu is not None or sigma is not None:
        raise ProxyInputError("swap mu / sigma only apply to the regularised score: pass regular=true")


@proxy(
    "swap",
    needs_gradients=False,
    cost="1 forward (no grad) per repeat + a sort of the bit-packed activation patterns",
    chunking="n/a (patterns span the whole minibatch)",
    reference="Peng et al. 2024 (SWAP-NAS, ICLR); regular=true: the regularised SWAP-Score; published code: "
              "Gaussian re-init, 32 repeats (init=gaussian, repeats=32)",
    description="number of distinct sample-wise ReLU activation patterns (optionally x exp(-(params_K-mu)^2/sigma))",
    reference_options={"regular": "true"},
)
def swap(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
         mode: str = "as-is", regular: bool = False, mu: Optional[float] = None, sigma: Optional[float] = None,
         init: str = "network", repeats: int = 1, seed: int = 0, device: DeviceLike = None) -> float:
    """SWAP-Score: distinct sample-wise ReLU activation patterns (**higher is better**; labels unused)."""
    _check_options(regular, mu, sigma, init, repeats)
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ProxyInputError("swap records nn.ReLU activations; the network has no nn.ReLU module")
    name = "swap(regularised)" if regular else "swap"
    counts = []
    with scoring_state(net, mode, device) as dev, torch.no_grad():
        x = prepare_inputs(inputs, dev)
        for r in range(int(repeats)):
            patterns = _PatternSet()

            def hook(module: nn.Module, args: tuple, output: Any) -> None:
                if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
                    patterns.add(output)

            handles = [m.register_forward_hook(hook) for m in relus]
            try:
                if init == "gaussian":
                    functional_call(net, gaussian_tensors(net, derive_seed(seed, "swap-weights", r), dev), (x,))
                else:
                    net(x)
            finally:
                for h in handles:
                    h.remove()
            if patterns.calls == 0 and not patterns.non_finite:
                raise ProxyInputError("swap: no nn.ReLU was applied to a 4-D feature map in the forward pass")
            counts.append(patterns.count())
    value = math.fsum(counts) / len(counts)
    if regular:
        value *= regular_factor(net, float(mu), float(sigma))  # type: ignore[arg-type]
    return finalize(name, value)
