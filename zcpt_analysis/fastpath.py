"""Exact no-grad execution of cell ops: shared first layers per node, BatchNorm folded into the node sum.

Without autograd, a cell's ops can be computed with fewer passes over memory and the *same bits*:

* **Shared first layers.** Every op that starts with a ReLU (or the same pooling) on the same node
  tensor computes the same thing: NB201 node 0 feeds three edges, each with a 1x1 and a 3x3
  ``ReLUConvBN``. :class:`SharedHeads` computes that first layer once per node and forward.
* **BatchNorm folded into the accumulate.** A BatchNorm in eval mode with running mean 0, running
  variance 1 (and, if affine, weight 1 and bias 0 -- every untrained supernet and fresh validation
  network here) multiplies by the constant ``a = 1/sqrt(1+eps)`` rounded to the dtype. An op ending
  in such a BN adds ``w * BN(y)`` to its node sum; ``addcmul_(y, w, value=a)`` computes
  ``out + (a*y)*w`` with the same two roundings, so the BN's pass over memory is dropped.

Both are *bitwise* identical to calling the modules: a ReLU or a pooling layer is a deterministic
function of its input, and the fold is verified once per device, dtype and eps by
:func:`fold_is_exact` (BN vs ``x * a``, fused vs unfused ``addcmul``); where the check fails
(another device's kernels round differently), nothing is folded.

Hooks keep working: a module whose call is elided (an op wrapper, a shared ReLU) has its forward
*pre*-hooks fired with the op's input, as the module call would have (nwot's ReLU hooks see the
same calls with the same tensors). An op whose elided modules carry forward (post-)hooks, or any
global module hook, runs the plain way. Ops opt in by structure: an ``nn.Sequential``, or a module
with ``sequential_layers() -> (wrappers, layers)``, the inner modules its forward calls and the layers
it applies in order (no layers: it returns its input; see ``spaces/ops.py``, ``spaces/darts_ops.py``).
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Iterator, Optional

import torch
from torch import nn
from torch.nn.modules import module as _module
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["SharedHeads", "accumulate", "active", "disabled", "fold_is_exact", "bn_fold_scale"]

_ENABLED = [True]


def active() -> bool:
    """Whether forwards take the fused path now: autograd off and not inside :func:`disabled`."""
    return _ENABLED[0] and not torch.is_grad_enabled()


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Run the plain module-by-module forward (the reference the fused path is tested against)."""
    saved = _ENABLED[0]
    _ENABLED[0] = False
    try:
        yield
    finally:
        _ENABLED[0] = saved

_FOLD_OK: dict[tuple, bool] = {}
_BN_SCALES: dict[tuple, Optional[float]] = {}


# ----------------------------------------------------------------------------- BatchNorm folding
def fold_is_exact(device: torch.device, dtype: torch.dtype, eps: float) -> bool:
    """Whether, on this device and dtype, an identity-statistics BN equals ``x * a`` bitwise and
    ``addcmul_(x, w, value=a)`` equals ``addcmul_(BN(x), w)`` (checked once, on random data, in both
    memory formats, with per-sample and scalar ``w``)."""
    key = (device.type, dtype, float(eps))
    if key not in _FOLD_OK:
        gen = torch.Generator().manual_seed(0)
        ok = True
        for affine in (False, True):
            bn = nn.BatchNorm2d(16, eps=eps, affine=affine).eval().to(device=device, dtype=dtype)
            a = _identity_bn_scale(bn)
            for fmt in (torch.contiguous_format, torch.channels_last):
                x = torch.randn(6, 16, 7, 9, generator=gen, dtype=torch.float32).to(device, dtype).contiguous(
                    memory_format=fmt)
                out = torch.randn(x.shape, generator=gen, dtype=torch.float32).to(device, dtype).contiguous(
                    memory_format=fmt)
                with torch.no_grad():
                    y = bn(x)
                    ok &= torch.equal(y, x * a) and torch.equal(y, torch.mul(x, a))
                    for w in (torch.rand(6, 1, 1, 1, generator=gen).to(device, dtype),
                              torch.rand((), generator=gen).to(device, dtype), torch.ones((), dtype=dtype, device=device)):
                        ok &= torch.equal(out.clone().addcmul_(y, w), out.clone().addcmul_(x, w, value=a))
                        ok &= torch.equal(y * w, torch.mul(x, a).mul_(w))
        _FOLD_OK[key] = bool(ok)
    return _FOLD_OK[key]


def _identity_bn_scale(bn: _BatchNorm) -> float:
    """The factor an identity-statistics BN multiplies by (what its kernel computes, not a formula)."""
    one = torch.ones(1, 1, 1, 1, dtype=bn.running_var.dtype, device=bn.running_var.device)
    w = None if bn.weight is None else bn.weight[:1]
    b = None if bn.bias is None else bn.bias[:1]
    with torch.no_grad():
        return float(nn.functional.batch_norm(one, bn.running_mean[:1], bn.running_var[:1], w, b, False, 0.0,
                                              bn.eps).item())


def bn_fold_scale(bn: nn.Module, like: torch.Tensor) -> Optional[float]:
    """``a`` if ``bn`` (applied to tensors like ``like``) is exactly ``x -> x * a``, else ``None``.

    Requires a CPU tensor (on a GPU the checks would sync with the host per BN), eval mode, running
    mean 0 and variance 1, affine weight 1 and bias 0, no hooks, and :func:`fold_is_exact` on
    ``like``'s device and dtype. The statistics are checked on every call
    (BatchNorm updates them in its kernel, without bumping the tensors' version counters).
    """
    if like.device.type != "cpu":  # the statistics checks below would sync the GPU with the host per BN
        return None
    if not isinstance(bn, _BatchNorm) or bn.training or bn.running_mean is None or bn._forward_hooks \
            or bn._forward_pre_hooks:
        return None
    tensors = [bn.running_mean, bn.running_var] + [t for t in (bn.weight, bn.bias) if t is not None]
    if any(t.dtype != like.dtype or t.device != like.device for t in tensors):
        return None
    if bn.running_mean.any() or not (bn.running_var == 1).all() or (bn.weight is not None and not (bn.weight == 1).all()) \
            or (bn.bias is not None and bn.bias.any()):
        return None
    key = (like.device.type, like.dtype, float(bn.eps), bn.weight is not None)
    if key not in _BN_SCALES:
        _BN_SCALES[key] = _identity_bn_scale(bn) if fold_is_exact(like.device, like.dtype, bn.eps) else None
    return _BN_SCALES[key]


# ----------------------------------------------------------------------------- op structure
def _head_key(layer: nn.Module) -> Optional[tuple]:
    """A key under which ``layer``'s output on a node can be shared with other ops' first layers."""
    if type(layer) is nn.ReLU and not layer.inplace:
        return ("relu",)
    if type(layer) is nn.AvgPool2d:
        return ("avg", layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode, layer.count_include_pad,
                layer.divisor_override)
    if type(layer) is nn.MaxPool2d and not layer.return_indices:
        return ("max", layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
    return None


def _structure(op: nn.Module) -> Optional[tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]]:
    """``(wrappers, layers)``: the modules whose call is elided and the layers the op applies in order."""
    if isinstance(op, nn.Sequential):
        return (op,), tuple(op)
    if _head_key(op) is not None:  # a bare pooling layer
        return (), (op,)
    layers = getattr(op, "sequential_layers", None)
    if layers is not None:
        wrappers, seq = layers()
        return (op, *wrappers), tuple(seq)
    return None


_RECIPES: "weakref.WeakKeyDictionary[nn.Module, Optional[tuple]]" = weakref.WeakKeyDictionary()


def _recipe(op: nn.Module):
    """``(wrappers, head, head_key, body, bn)`` of an op (no layers at all: it returns its input), or
    ``None`` if it runs the plain way."""
    if op in _RECIPES:
        return _RECIPES[op]
    parts = _structure(op)
    recipe = None
    if parts is not None and not parts[1]:
        recipe = (parts[0], None, None, (), None)
    elif parts is not None:
        wrappers, layers = parts
        head, key = layers[0], _head_key(layers[0])
        body = layers[1:] if key is not None else layers
        head = head if key is not None else None
        bn = body[-1] if body and isinstance(body[-1], _BatchNorm) else None
        if bn is not None:
            body = body[:-1]
        recipe = (wrappers, head, key, body, bn)
    _RECIPES[op] = recipe
    return recipe


def _fire_pre_hooks(module: nn.Module, x: torch.Tensor) -> None:
    for hook in tuple(module._forward_pre_hooks.values()):
        if hook(module, (x,)) is not None:
            raise RuntimeError(f"a forward pre-hook on {type(module).__name__} replaces its input; the no-grad fast "
                               "path cannot honour that (run the network with autograd enabled)")


def _global_hooks() -> bool:
    return bool(_module._global_forward_hooks or _module._global_forward_pre_hooks)


class SharedHeads:
    """First layers (ReLU, pooling) of ops computed once per node tensor within one forward.

    Entries hold their node tensor (so its id cannot be reused) and are valid while its version
    is unchanged. :meth:`release` drops a node's entries once no later op reads it.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[torch.Tensor, int, dict[tuple, torch.Tensor]]] = {}

    def head(self, x: torch.Tensor, layer: nn.Module, key: tuple) -> torch.Tensor:
        entry = self._entries.get(id(x))
        if entry is None or entry[0] is not x or entry[1] != x._version:
            entry = (x, x._version, {})
            self._entries[id(x)] = entry
        heads = entry[2]
        if key in heads:
            _fire_pre_hooks(layer, x)  # the elided call
            return heads[key]
        y = layer(x)
        heads[key] = y
        return y

    def release(self, x: torch.Tensor) -> None:
        self._entries.pop(id(x), None)


def apply(op: nn.Module, x: torch.Tensor, shared: SharedHeads) -> tuple[torch.Tensor, Optional[float], bool]:
    """``(y, a, owned)``: ``op(x) == y`` (``a is None``) or ``op(x) == y * a`` bitwise (a folded BN);
    ``owned`` is False when ``y`` may be read by other ops (the input itself, a shared head)."""
    recipe = _recipe(op)
    if recipe is None or _global_hooks():
        return op(x), None, True
    wrappers, head, key, body, bn = recipe
    elided = wrappers + ((head,) if head is not None else ())
    if any(m._forward_hooks for m in elided) or (bn is not None and (bn._forward_hooks or bn._forward_pre_hooks)):
        return op(x), None, True
    for m in wrappers:
        _fire_pre_hooks(m, x)
    y, owned = x, False
    if head is not None:
        y = shared.head(x, head, key)
    for layer in body:
        y, owned = layer(y), True
    scale = None
    if bn is not None:
        scale = bn_fold_scale(bn, y)
        if scale is None:
            y, owned = bn(y), True
    return y, scale, owned


def accumulate(out: Optional[torch.Tensor], op: nn.Module, x: torch.Tensor, weight: Optional[torch.Tensor],
               shared: SharedHeads) -> torch.Tensor:
    """``out + weight * op(x)`` in place (``weight=None``: unscaled; ``out=None``: a new running sum),
    bitwise equal to computing ``op(x)`` with its modules and adding it as the plain path does."""
    y, scale, owned = apply(op, x, shared)
    if out is None:
        if scale is not None:
            out = torch.mul(y, scale)
            return out if weight is None else out.mul_(weight)
        if weight is not None:
            return y * weight
        return y if owned else y.clone()
    if scale is not None:
        return out.addcmul_(y, weight if weight is not None else y.new_ones(()), value=scale)
    return out.add_(y) if weight is None else out.addcmul_(y, weight)
