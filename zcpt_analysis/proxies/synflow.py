"""``synflow`` -- synaptic flow (Tanaka et al. 2020) summed over the network (Abdelfattah et al. 2021).

As in the reference code (``foresight/pruners/measures/synflow.py``, registered with ``bn=False``):

* every parameter and persistent buffer (the ``state_dict``) replaced by its absolute value and
  the whole network in float64 (``net.double()``: non-persistent floating buffers such as the
  supernet's ``alpha`` are converted too, but **not** made absolute -- they are not in the
  ``state_dict``);
* every BatchNorm disabled (identity forward; the reference patches ``BatchNorm1d/2d``, here any
  ``_BatchNorm`` subclass);
* one all-ones input of the data's shape with batch 1, ``R = Σ outputs``;
* score ``Σ_{Conv2d, Linear weights} |θ ⊙ ∂R/∂θ|`` (biases are not scored). Higher is better.

Here nothing is copied or modified: :func:`torch.func.functional_call` runs the network with
float64 ``|θ|`` tensors in place of its own parameters and buffers (the originals, their dtype,
``requires_grad`` and ``.grad`` are never touched), and BatchNorm forwards are patched on the
instances and restored in a ``finally`` block.

Options: ``mode`` (default ``"as-is"``: the caller's mode, as the reference's copy; it matters
only for dropout-like modules since BatchNorm is off), ``log`` (return ``log(synflow)`` computed
as a log-sum-exp of ``log|θ| + log|∂R/∂θ|``, so the final sum cannot overflow; ``-inf`` for 0),
``device``, ``output_index`` (for tuple outputs). ``chunk_size`` is accepted and ignored (batch 1).

Float overflow: float64 holds up to ~1.8e308; if the forward itself overflows the value is
``+inf`` (or NaN for ``inf * 0``) with a warning -- the log variant then cannot help either. A
network whose output does not depend on any scored weight (e.g. an NB201 cell of all ``none``)
scores exactly ``0.0`` (``-inf`` with ``log=True``), with a :class:`DegenerateNetworkWarning`.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Optional, Sequence

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from .base import DeviceLike, check_inputs, logits_of, resolve_scoring_device, scored_layers, scoring_state
from .policy import finalize
from .registry import proxy

_MISSING = object()


def _identity(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    return x


@contextlib.contextmanager
def batchnorms_as_identity(net: nn.Module) -> Iterator[None]:
    """Inside the block every BatchNorm of ``net`` returns its input (synflow's linearised
    network); each module's own ``forward`` attribute, if it had one, is restored afterwards."""
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    saved = [m.__dict__.get("forward", _MISSING) for m in bns]
    try:
        for m in bns:
            m.forward = _identity
        yield
    finally:
        for m, fwd in zip(bns, saved):
            if fwd is _MISSING:
                del m.forward
            else:
                m.forward = fwd


def synflow_tensors(net: nn.Module, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The float64 ``|·|`` replacement tensors for :func:`functional_call`, and ``{name: kind}``.

    Parameters and persistent floating buffers: ``|t|`` in float64. Non-persistent floating
    buffers: float64, sign kept. Non-floating buffers (``num_batches_tracked``): unchanged.
    """
    persistent = set(net.state_dict(keep_vars=True).keys())
    tensors: dict[str, torch.Tensor] = {}
    kinds: dict[str, str] = {}
    for name, p in net.named_parameters():
        tensors[name] = p.detach().to(device=device, dtype=torch.float64).abs() if p.is_floating_point() \
            else p.detach().to(device)
        kinds[name] = "parameter"
    for name, b in net.named_buffers():
        if not b.is_floating_point():
            tensors[name] = b.detach().to(device)
            kinds[name] = "buffer"
        elif name in persistent:
            tensors[name] = b.detach().to(device=device, dtype=torch.float64).abs()
            kinds[name] = "buffer"
        else:
            tensors[name] = b.detach().to(device=device, dtype=torch.float64)
            kinds[name] = "non-persistent buffer (sign kept)"
    return tensors, kinds


@proxy(
    "synflow",
    cost="1 forward + 1 backward at batch 1 in float64 (data-independent)",
    chunking="n/a (batch 1; chunk_size is ignored)",
    reference="Tanaka et al. 2020; Abdelfattah et al. 2021 foresight/pruners/measures/synflow.py (bn=False)",
    description="sum |theta * dR/dtheta| with |weights|, float64, BN off, all-ones input",
    batched_engine="fast_gradients",
    batched_kind="synaptic-flow",
    batched_options=frozenset({"mode", "log"}),
    auto_batched=True,
)
def synflow(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
            mode: str = "as-is", log: bool = False, device: DeviceLike = None, output_index: Optional[int] = None,
            chunk_size: Optional[int] = None) -> float:
    """Synaptic-flow score of ``net`` (**higher is better**; labels and input values unused, only
    the input shape). With ``log=True`` returns ``log(synflow)``. See the module docstring."""
    name = "synflow(log)" if log else "synflow"
    layers = scored_layers(net, "synflow")
    _, dev = resolve_scoring_device(net, device)
    x_shape = check_inputs(inputs).shape
    names = {id(p): n for n, p in net.named_parameters()}
    with scoring_state(net, mode), torch.enable_grad():
        tensors, _ = synflow_tensors(net, dev)
        thetas = []
        for layer in layers:
            theta = tensors[names[id(layer.weight)]].requires_grad_(True)
            thetas.append(theta)
        with batchnorms_as_identity(net):
            ones = torch.ones((1, *x_shape[1:]), dtype=torch.float64, device=dev)
            out = logits_of(functional_call(net, tensors, (ones,)), output_index)
            total = out.sum()
        grads = torch.autograd.grad(total, thetas, allow_unused=True) if total.requires_grad else [None] * len(thetas)
        with torch.no_grad():
            return synflow_value(name, thetas, grads, log)


def synflow_value(name: str, thetas: Sequence[torch.Tensor], grads: Sequence[Optional[torch.Tensor]],
                  log: bool) -> float:
    """The synflow score from the scored weights ``thetas`` (|w|) and their gradients: ``sum |θ ⊙
    ∂R/∂θ|`` (``log``: its log via logsumexp), finalized under ``name``; a gradient of ``None``
    (weight off every input-output path) contributes nothing, and a score of 0 (log: -inf) is
    degenerate."""
    pairs = [(t, g) for t, g in zip(thetas, grads) if g is not None]
    if log:
        logs = [torch.logsumexp((t.log() + g.abs().log()).flatten(), dim=0) for t, g in pairs]
        value = torch.logsumexp(torch.stack(logs), dim=0) if logs else torch.tensor(-math.inf)
    else:
        sums = [(t * g).abs().sum() for t, g in pairs]
        value = torch.stack(sums).sum() if sums else torch.tensor(0.0, dtype=torch.float64)
    result = float(value.item())
    if result == (-math.inf if log else 0.0):
        return finalize(name, result, degenerate="no scored weight lies on a path from the input to the output")
    return finalize(name, result)
