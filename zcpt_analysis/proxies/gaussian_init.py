"""Gaussian re-initialisation without touching the network, shared by ``zen`` and ``swap``.

Zen-NAS (Lin et al. 2021) defines its score on a network whose weights are drawn from ``N(0, 1)``,
and the published SWAP code re-draws them the same way before every repeat
(``network_weight_gaussian_init`` in both code bases): every ``Conv2d`` / ``Linear`` weight
``~ N(0, 1)`` and bias ``= 0``; every affine ``BatchNorm2d`` / ``GroupNorm`` weight ``= 1`` and
bias ``= 0``; every other parameter unchanged.

Here the new values are *replacement tensors* for :func:`torch.func.functional_call`: the
network's own parameters are never written. Buffers are cloned too, so that train-mode BatchNorm
updates the clones (a proxy can read them, e.g. Zen-NAS's running variances) and never the network.
The draws come from a private :class:`torch.Generator` seeded by ``seed`` (the global RNG is left
alone), in ``named_parameters()`` order, in float32 on the CPU and then cast to the parameter's
dtype and device -- the same values on every device and for every dtype.
"""
from __future__ import annotations

import torch
from torch import nn

INIT_CHOICES: tuple[str, ...] = ("network", "gaussian")
"""``network``: the network's own weights; ``gaussian``: the Zen-NAS / SWAP ``N(0, 1)`` re-draw."""


def gaussian_tensors(net: nn.Module, seed: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Replacement parameters (Gaussian re-draw, see the module docstring) and cloned buffers of
    ``net`` for ``functional_call``, on ``device``."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    owner = {}
    for module in net.modules():
        for name, p in module.named_parameters(recurse=False):
            owner.setdefault(id(p), (module, name))
    tensors: dict[str, torch.Tensor] = {}
    for full_name, p in net.named_parameters():
        module, name = owner[id(p)]
        if isinstance(module, (nn.Conv2d, nn.Linear)) and name == "weight":
            value = torch.randn(p.shape, generator=gen)
        elif isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.GroupNorm)) and name == "bias":
            value = torch.zeros(p.shape)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and name == "weight":
            value = torch.ones(p.shape)
        else:
            value = p.detach()
        tensors[full_name] = value.to(device=device, dtype=p.dtype)
    tensors.update(_cloned_buffers(net, device))
    return tensors


def own_tensors(net: nn.Module, device: torch.device) -> dict[str, torch.Tensor]:
    """The network's own parameters (detached) and cloned buffers, as ``functional_call`` tensors."""
    tensors = {name: p.detach().to(device) for name, p in net.named_parameters()}
    tensors.update(_cloned_buffers(net, device))
    return tensors


def _cloned_buffers(net: nn.Module, device: torch.device) -> dict[str, torch.Tensor]:
    return {name: b.detach().to(device).clone() for name, b in net.named_buffers()}
