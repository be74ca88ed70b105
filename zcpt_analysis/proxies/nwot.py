"""``nwot`` -- NASWOT's activation-overlap score (Mellor et al. 2021), Zero-Cost-PT's default proxy.

For a minibatch of ``N`` inputs, every hooked ReLU yields a binary code per input (``c = x > 0``
over the ReLU's flattened input ``x``). With ``n`` units in that layer,

    K_layer = c cᵀ + (1 - c)(1 - c)ᵀ = n - Hamming(c_i, c_j),    K = Σ_layers K_layer,

and the score is ``log|det K|`` (``numpy.linalg.slogdet``'s ``logabsdet``, as the published
``hooklogdet``; computed in float64 with :func:`torch.linalg.slogdet`). Higher is better.

Implementation: with ``s = 2c - 1 ∈ {±1}``, ``K_layer = (n + s sᵀ) / 2``, so one matmul per layer
suffices (the published code does two), and ``s sᵀ = 4 c cᵀ - 2 r 1ᵀ - 2·1 rᵀ + n`` (``r`` the row
sums of ``c``), so only the 0/1 codes are materialised (one pass over the activations). ``c cᵀ`` is
computed in float32 -- exact, because its entries are integers ``<= n < 2**24`` and 0/1 are exact
even in TF32 -- and the products are accumulated in float64 on the device (integers exact up to
``2**53``), so ``K`` is the exact integer kernel and no host synchronisation happens until the final
``logdet``. Layers with ``n >= 2**24`` units use float64 codes. Consecutive hooks on the *same*
input tensor (the ``ReLUConvBN`` wrapper and its inner ReLU, or several ops of a mixed edge reading
the same node) reuse one product.

Options (the search calls ``spec.fn(net, x, y, loss_fn=None, **options)``):

* ``mode``: ``"eval"`` (default: the Zero-Cost-PT search setting -- BatchNorm with its running
  statistics, so in the untrained supernet codes come from un-normalised activations), ``"train"``
  (original NASWOT: batch statistics) or ``"as-is"``. BatchNorm statistics updated in train mode
  are restored afterwards.
* ``hooks``: ``"relu"`` (every :class:`torch.nn.ReLU`, default) or ``"published"`` (every module
  whose type name contains ``"ReLU"``, as the published code's ``'ReLU' in str(type(module))``:
  this also hooks ``ReLUConvBN`` wrappers, counting their input twice; 369 hooks on the NB201
  supernet). Functional ``F.relu`` calls are not seen by either.
* ``chunk_size``: forward the batch in chunks. Exact in eval mode (and whenever samples do not
  interact): the off-diagonal blocks of ``K`` come from pairs of chunks, so ``m`` chunks cost
  ``m(m+1)/2`` chunk forwards and keep one chunk's codes (1 byte per unit and sample) in memory.
  In train mode BatchNorm statistics are per chunk, so the value differs.
* ``device``: where to score (default: the network's device).

Degenerate cases (see :mod:`.policy`): a singular ``K`` -- two inputs with identical codes, e.g.
an NB201 network whose cells are all ``none`` (every ReLU sees the same all-zero input), or a
minibatch holding the same image twice -- gives ``-inf`` with a warning. NaN activations code as 0
(as in the published code). A numerically indefinite ``K`` still returns ``log|det K|``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..errors import UnknownNameError
from .base import DeviceLike, chunk_slices, prepare_inputs, scoring_state
from .policy import ProxyInputError, finalize
from .registry import ProxySpec, register_proxy

HOOK_CHOICES: tuple[str, ...] = ("relu", "published")
_EXACT_FLOAT32 = 2 ** 24


def hooked_modules(net: nn.Module, hooks: str = "relu") -> list[nn.Module]:
    """The modules whose inputs nwot codes: ``relu`` -> every ``nn.ReLU``; ``published`` -> every
    module whose type name contains ``"ReLU"``."""
    if hooks == "relu":
        return [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if hooks == "published":
        return [m for m in net.modules() if "ReLU" in type(m).__name__]
    raise UnknownNameError("nwot hooks option", hooks, HOOK_CHOICES)


def _first_tensor(args: tuple) -> Optional[torch.Tensor]:
    for a in args:
        if isinstance(a, torch.Tensor):
            return a
    return None


def binary_codes(x: torch.Tensor, batch: int) -> torch.Tensor:
    """0/1 codes ``c = (x > 0)`` as ``[batch, units]`` floats (float32, or float64 for huge layers).

    The order of the units is irrelevant to ``K``, so a channels-last tensor is flattened in its
    memory order (a view) instead of being copied into NCHW order.
    """
    if x.shape[0] != batch:
        raise ProxyInputError(f"nwot: a hooked module received a tensor of shape {tuple(x.shape)} whose first "
                              f"dimension is not the batch ({batch}); nwot needs [N, ...] inputs at every ReLU")
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        flat = x.permute(0, 2, 3, 1).reshape(batch, -1)
    else:
        flat = x.reshape(batch, -1)
    dtype = torch.float32 if flat.shape[1] < _EXACT_FLOAT32 else torch.float64
    return torch.gt(flat, 0, out=torch.empty(flat.shape, dtype=dtype, device=x.device))


def sign_product(ca: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
    """``s_a s_bᵀ`` (float64, exact) for the ±1 codes ``s = 2c - 1`` of 0/1 codes ``ca``, ``cb``
    (leading batch dimensions allowed): ``4 c_a c_bᵀ - 2 r_a - 2 r_bᵀ + n`` with ``r`` the row sums,
    so the ±1 codes are never materialised."""
    n = ca.shape[-1]
    cross = torch.matmul(ca, cb.transpose(-1, -2)).to(torch.float64)
    ra = ca.sum(-1).to(torch.float64).unsqueeze(-1)  # exact: row sums <= n < 2**24 (else float64 codes)
    rb = (ra.squeeze(-1) if cb is ca else cb.sum(-1).to(torch.float64)).unsqueeze(-2)
    return cross.mul_(4.0).sub_(ra, alpha=2.0).sub_(rb, alpha=2.0).add_(float(n))


class _CodeTap:
    """Forward pre-hooks that hand each hooked call's 0/1 codes to ``consume(call, c, repeat)``.

    A call whose input is the very tensor (same object, same version) of the previous call is a
    ``repeat``: the codes are reused and the consumer may reuse its product too.
    """

    def __init__(self, modules: list[nn.Module], consume: Callable[[int, torch.Tensor, bool], None]):
        self.consume = consume
        self.batch = 0
        self.calls = 0
        self.units: list[int] = []
        self._last: Optional[tuple[torch.Tensor, int, torch.Tensor]] = None
        self._handles = [m.register_forward_pre_hook(self._hook) for m in modules]

    def start(self, batch: int) -> None:
        self.batch, self.calls, self.units, self._last = batch, 0, [], None

    def _hook(self, module: nn.Module, args: tuple) -> None:
        x = _first_tensor(args)
        if x is None:
            return
        last = self._last
        if last is not None and x is last[0] and x._version == last[1]:
            s, repeat = last[2], True
        else:
            s, repeat = binary_codes(x, self.batch), False
            self._last = (x, x._version, s)
        self.units.append(int(s.shape[1]))
        self.consume(self.calls, s, repeat)
        self.calls += 1

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles, self._last = [], None


def nwot_kernel(net: nn.Module, inputs: torch.Tensor, *, mode: str = "eval", hooks: str = "relu",
                chunk_size: Optional[int] = None, device: DeviceLike = None) -> tuple[torch.Tensor, int]:
    """The NASWOT kernel ``K`` (float64 ``[N, N]``, exact integers) and the number of hooked calls.

    Same options as :func:`nwot`; the network is left exactly as it was.
    """
    modules = hooked_modules(net, hooks)
    if not modules:
        raise ProxyInputError(f"nwot found no module to hook (hooks={hooks!r}): the network has no "
                              + ("nn.ReLU module" if hooks == "relu" else "module whose type name contains 'ReLU'"))
    with scoring_state(net, mode, device) as dev, torch.no_grad():
        x = prepare_inputs(inputs, dev)
        n = x.shape[0]
        acc = torch.zeros(n, n, dtype=torch.float64, device=dev)
        slices = chunk_slices(n, chunk_size)
        if len(slices) == 1:
            calls, units = _kernel_one_pass(net, x, modules, acc)
        else:
            calls, units = _kernel_chunked(net, x, modules, acc, slices)
        kernel = acc.add_(float(units)).mul_(0.5)
    return kernel, calls


def _kernel_one_pass(net: nn.Module, x: torch.Tensor, modules: list[nn.Module],
                     acc: torch.Tensor) -> tuple[int, int]:
    last_product: list[Optional[torch.Tensor]] = [None]

    def consume(call: int, s: torch.Tensor, repeat: bool) -> None:
        if not repeat:
            last_product[0] = sign_product(s, s)
        acc.add_(last_product[0])

    tap = _CodeTap(modules, consume)
    try:
        tap.start(x.shape[0])
        net(x)
        return tap.calls, sum(tap.units)
    finally:
        tap.remove()


def _kernel_chunked(net: nn.Module, x: torch.Tensor, modules: list[nn.Module], acc: torch.Tensor,
                    slices: list[slice]) -> tuple[int, int]:
    """Block-wise ``K``: for chunk ``i`` store its codes (as bool) and fill block ``(i, i)``; then
    re-run every later chunk ``j`` to fill blocks ``(j, i)`` and ``(i, j)``."""
    stored: list[torch.Tensor] = []
    state: dict[str, Any] = {}

    def consume_store(call: int, s: torch.Tensor, repeat: bool) -> None:
        si = state["si"]
        if repeat:
            stored.append(stored[-1])
            acc[si, si] += state["last"]
            return
        stored.append(s > 0.5)
        state["last"] = sign_product(s, s)
        acc[si, si] += state["last"]

    def consume_cross(call: int, s: torch.Tensor, repeat: bool) -> None:
        si, sj = state["si"], state["sj"]
        if call >= len(stored) or stored[call].shape[1] != s.shape[1]:
            raise ProxyInputError("nwot chunking needs every chunk to run the same sequence of hooked modules")
        if not (repeat and call > 0 and stored[call] is stored[call - 1]):
            state["last"] = sign_product(s, stored[call].to(s.dtype))
        acc[sj, si] += state["last"]
        acc[si, sj] += state["last"].T

    total_calls, total_units = 0, 0
    for i, si in enumerate(slices):
        stored.clear()
        state["si"] = si
        tap = _CodeTap(modules, consume_store)
        try:
            tap.start(si.stop - si.start)
            net(x[si])
            if i == 0:
                total_calls, total_units = tap.calls, sum(tap.units)
            elif tap.calls != total_calls or sum(tap.units) != total_units:
                raise ProxyInputError("nwot chunking needs every chunk to run the same sequence of hooked modules")
        finally:
            tap.remove()
        for sj in slices[i + 1:]:
            state["sj"] = sj
            tap = _CodeTap(modules, consume_cross)
            try:
                tap.start(sj.stop - sj.start)
                net(x[sj])
                if tap.calls != len(stored):
                    raise ProxyInputError("nwot chunking needs every chunk to run the same sequence of hooked "
                                          "modules")
            finally:
                tap.remove()
    stored.clear()
    return total_calls, total_units


def nwot(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
         mode: str = "eval", hooks: str = "relu", chunk_size: Optional[int] = None,
         device: DeviceLike = None) -> float:
    """NASWOT score ``log|det K|`` of ``net`` on ``inputs`` (**higher is better**; labels unused).

    See the module docstring for ``K``, the options and the degenerate case (``-inf``).
    """
    kernel, calls = nwot_kernel(net, inputs, mode=mode, hooks=hooks, chunk_size=chunk_size, device=device)
    if calls == 0:
        return finalize("nwot", -math.inf, degenerate="no hooked ReLU ran in the forward pass, so K = 0")
    sign, logabs = torch.linalg.slogdet(kernel)
    sign_v, logabs_v = torch.stack([sign, logabs]).tolist()
    if logabs_v == -math.inf or sign_v == 0:
        return finalize("nwot", -math.inf, degenerate="the kernel K is singular: two inputs share all binary "
                        "codes (input disconnected from the ReLUs, or a repeated image in the minibatch)")
    return finalize("nwot", logabs_v)


register_proxy(ProxySpec(
    name="nwot",
    fn=nwot,
    needs_labels=False,
    needs_gradients=False,
    higher_is_better=True,
    cost="1 forward (no grad) + one N x N matmul per hooked ReLU; chunked: m(m+1)/2 chunk forwards",
    chunking="exact in eval mode (no batch-coupled layers); train-mode BatchNorm makes it per-chunk",
    default_mode="eval",
    reference="Mellor et al. 2021 (NASWOT, ICML), BayesWatch/nas-without-training hook_logdet",
    description="log|det K| of the Hamming-similarity kernel of ReLU binary codes",
))
