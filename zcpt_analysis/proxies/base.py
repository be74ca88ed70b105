"""Machinery shared by the proxies: state preservation, devices, chunks, outputs, scored layers.

No proxy deep-copies the network. Instead :func:`scoring_state` records what scoring may touch
and restores it exactly: the per-module training flags, the buffers (BatchNorm running statistics
change in train mode), the ``requires_grad`` flags of the scored weights and, when scoring runs
on another device, the device. Proxies take gradients with :func:`torch.autograd.grad`, so
``.grad`` fields are never written; hooks are removed in ``finally`` blocks.

Chunking (``chunk_size=``) splits the minibatch into consecutive chunks. For losses, chunk ``c``
with ``n_c`` samples contributes ``(n_c / N) * loss_c`` (mean reduction; ``loss_reduction="sum"``
uses weight 1), so chunk gradients sum to the full-batch gradient. This is *exact* whenever
samples do not interact inside the network -- i.e. no BatchNorm in train mode (batch statistics
couple the samples of a chunk). Each proxy's docstring states its own case.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnknownNameError
from .policy import ProxyInputError

MODES: tuple[str, ...] = ("eval", "train", "as-is")
"""Network modes while scoring: ``eval()``, ``train()``, or the caller's mode left as it is."""

LOSS_REDUCTIONS: tuple[str, ...] = ("mean", "sum")

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DeviceLike = Union[str, torch.device, None]


def scored_layers(net: nn.Module, proxy: Optional[str] = None) -> list[nn.Module]:
    """The layers whose weights the reference code scores: every ``nn.Conv2d`` and ``nn.Linear``
    (subclasses included), in ``net.modules()`` order, each module once. With ``proxy`` (the name
    of a proxy that needs them), a network without any is a :class:`ProxyInputError`."""
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if proxy is not None and not layers:
        raise ProxyInputError(f"{proxy} scores nn.Conv2d / nn.Linear weights; the network has none")
    return layers


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UnknownNameError("proxy mode", mode, MODES)
    return mode


def network_device(net: nn.Module) -> torch.device:
    """The single device holding the network's parameters and buffers (CPU if it has none)."""
    devices = {t.device for t in list(net.parameters()) + list(net.buffers())}
    if len(devices) > 1:
        raise ProxyInputError(f"the network is spread over several devices ({sorted(map(str, devices))}); "
                              "proxies need it on one device")
    return devices.pop() if devices else torch.device("cpu")


def resolve_scoring_device(net: nn.Module, device: DeviceLike) -> tuple[torch.device, torch.device]:
    """``(home, target)``: where the network lives and where scoring runs (``device=None``: home)."""
    home = network_device(net)
    if device is None:
        return home, home
    from ..runtime import resolve_device

    target = resolve_device(device)
    if target.type == "cuda" and target.index is None:
        target = torch.device("cuda", torch.cuda.current_device())
    if home.type == "cuda" and home.index is None:
        home = torch.device("cuda", torch.cuda.current_device())
    return home, target


@contextlib.contextmanager
def scoring_state(net: nn.Module, mode: str = "as-is", device: DeviceLike = None,
                  grad_weights: Sequence[torch.Tensor] = ()) -> Iterator[torch.device]:
    """Put ``net`` in the scoring state and restore everything on exit; yields the device.

    * ``mode``: ``eval`` / ``train`` / ``as-is`` (per-module training flags are restored exactly);
    * buffers are snapshotted (and copied back) whenever a module runs in training mode, since
      BatchNorm then updates its running statistics and ``num_batches_tracked``;
    * ``grad_weights`` get ``requires_grad=True`` for the duration (flags restored);
    * ``device``: when it differs from the network's, the network is moved there and back.
    """
    check_mode(mode)
    home, target = resolve_scoring_device(net, device)
    modules = list(net.modules())
    flags = [m.training for m in modules]
    if mode == "eval":
        net.eval()
    elif mode == "train":
        net.train()
    any_training = any(m.training for m in modules)
    # by (module, name): a device round trip replaces the buffer tensors themselves
    snapshot = ([(m, k, b.detach().clone()) for m in modules for k, b in m._buffers.items() if b is not None]
                if any_training else [])
    rg_flags = [(w, w.requires_grad) for w in grad_weights]
    moved = target != home
    try:
        for w, _ in rg_flags:
            w.requires_grad_(True)
        if moved:
            net.to(target)
        yield target
    finally:
        if moved:
            net.to(home)
        for w, flag in rg_flags:
            w.requires_grad_(flag)
        if snapshot:
            with torch.no_grad():
                for m, k, saved in snapshot:
                    m._buffers[k].copy_(saved)
        for m, flag in zip(modules, flags):
            m.training = flag


def check_inputs(inputs: torch.Tensor, what: str = "inputs") -> torch.Tensor:
    """Validate a minibatch tensor ``[N, ...]`` (clear error otherwise)."""
    if not isinstance(inputs, torch.Tensor):
        raise ProxyInputError(f"{what} must be a torch.Tensor [N, ...], got {type(inputs).__name__}")
    if inputs.dim() < 1 or inputs.shape[0] < 1:
        raise ProxyInputError(f"{what} must have a non-empty batch dimension, got shape {tuple(inputs.shape)}")
    return inputs


def prepare_inputs(inputs: torch.Tensor, device: torch.device, what: str = "inputs") -> torch.Tensor:
    """Validate a minibatch tensor ``[N, ...]`` and move it to ``device`` (detached)."""
    return check_inputs(inputs, what).detach().to(device)


def prepare_targets(name: str, targets: Optional[torch.Tensor], inputs: torch.Tensor,
                    device: torch.device) -> torch.Tensor:
    """Labels for a proxy that needs them (clear error when missing or mis-sized)."""
    if targets is None:
        raise ProxyInputError(f"proxy {name!r} needs labels: pass targets (one per input)")
    if not isinstance(targets, torch.Tensor):
        targets = torch.as_tensor(targets)
    if targets.shape[0] != inputs.shape[0]:
        raise ProxyInputError(f"proxy {name!r}: {targets.shape[0]} targets for {inputs.shape[0]} inputs")
    return targets.detach().to(device)


def chunk_slices(n: int, chunk_size: Optional[int]) -> list[slice]:
    """Consecutive slices of ``range(n)`` of at most ``chunk_size`` (one slice if ``None``)."""
    if chunk_size is None or chunk_size >= n:
        return [slice(0, n)]
    if int(chunk_size) < 1:
        raise ProxyInputError(f"chunk_size must be a positive integer, got {chunk_size}")
    size = int(chunk_size)
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def logits_of(out: object, output_index: Optional[int] = None) -> torch.Tensor:
    """The tensor a proxy scores from the network's output.

    A tensor output is used as it is. For a tuple/list output pass ``output_index`` (e.g. ``1`` for
    NATS-Bench's ``(features, logits)``, ``0`` for DARTS' ``(logits, logits_aux)``).
    """
    if isinstance(out, torch.Tensor):
        return out if output_index is None else out[output_index]
    if isinstance(out, (tuple, list)):
        if output_index is None:
            raise ProxyInputError(f"the network returned a {type(out).__name__} of {len(out)} items; pass "
                                  "output_index= to say which one holds the logits")
        picked = out[output_index]
        if not isinstance(picked, torch.Tensor):
            raise ProxyInputError(f"output item {output_index} is a {type(picked).__name__}, not a tensor")
        return picked
    raise ProxyInputError(f"the network returned a {type(out).__name__}; proxies need a tensor output")


def resolve_loss(loss_fn: Optional[LossFn], loss_reduction: str) -> LossFn:
    """``loss_fn`` or the default cross-entropy (mean), after checking ``loss_reduction``."""
    if loss_reduction not in LOSS_REDUCTIONS:
        raise UnknownNameError("loss reduction", loss_reduction, LOSS_REDUCTIONS)
    return loss_fn if loss_fn is not None else F.cross_entropy


def chunk_weight(sl: slice, n: int, loss_reduction: str) -> float:
    """Weight of one chunk's loss so that chunk gradients sum to the full-batch gradient."""
    return (sl.stop - sl.start) / n if loss_reduction == "mean" else 1.0


def sum_float64(values: Sequence[torch.Tensor], device: torch.device) -> torch.Tensor:
    """Sum of scalar tensors in float64 on ``device`` (0 when empty), without host syncs."""
    if not values:
        return torch.zeros((), dtype=torch.float64, device=device)
    return torch.stack([v.to(device=device, dtype=torch.float64).reshape(()) for v in values]).sum()
