"""``nwot`` -- NASWOT's activation-overlap score (Mellor et al. 2021), Zero-Cost-PT's default proxy.

For a minibatch of ``N`` inputs, every hooked ReLU yields a binary code per input (``c = x > 0``
over the ReLU's flattened input ``x``). With ``n`` units in that layer,

    K_layer = c cᵀ + (1 - c)(1 - c)ᵀ = n - Hamming(c_i, c_j),    K = Σ_layers K_layer,

and the score is ``log|det K|`` (``numpy.linalg.slogdet``'s ``logabsdet``, as the published
``hooklogdet``; computed in float64 with :func:`torch.linalg.slogdet`). Higher is better.

Implementation: with ``s = 2c - 1 ∈ {±1}``, ``K_layer = (n + s sᵀ) / 2``, so one matmul per layer
suffices (the published code does two), and ``s sᵀ = 4 c cᵀ - 2 r 1ᵀ - 2·1 rᵀ + n`` (``r`` the row
sums of ``c``, the diagonal of ``c cᵀ``), so only the 0/1 codes are materialised (one pass over the
activations). ``c cᵀ`` comes from :mod:`.code_gram` -- exact in every backend (its entries are
integers ``<= n``; on CPU by default int8 codes, which are the ``x > 0`` booleans themselves, with
int32 accumulation) -- and the products are accumulated in float64 (integers exact up to ``2**53``),
so ``K`` is the exact integer kernel. Layers with ``n >= 2**24`` units use float64 codes. One
product per *distinct* tensor (:class:`TensorMemo`), counted once per hooked call on it: the
``ReLUConvBN`` wrapper and its inner ReLU, the ops of a mixed edge, the three edges an NB201 node
feeds.

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
import weakref
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..errors import UnknownNameError
from .base import DeviceLike, chunk_slices, prepare_inputs, scoring_state
from .code_gram import EXACT_INT32, codes_dtype, default_backend, gram
from .policy import ProxyInputError, finalize
from .registry import proxy

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


def binary_codes(x: torch.Tensor, batch: int, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """0/1 codes ``c = (x > 0)`` as ``[batch, units]`` (default float32, or float64 for huge layers;
    ``dtype`` the Gram backend's, :func:`.code_gram.codes_dtype`: int8 codes are the comparison's
    booleans themselves, bfloat16 ones are written directly in that dtype).

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
    if dtype == torch.int8 and flat.shape[1] < EXACT_INT32:
        return torch.gt(flat, 0).view(torch.int8)  # bool -> int8: a view, no pass over memory
    if dtype is None or dtype == torch.int8 or flat.shape[1] >= _EXACT_FLOAT32:
        dtype = torch.float32 if flat.shape[1] < _EXACT_FLOAT32 else torch.float64
    return torch.gt(flat, 0, out=torch.empty(flat.shape, dtype=dtype, device=x.device))


def sign_product(ca: torch.Tensor, cb: torch.Tensor, backend: Optional[str] = None) -> torch.Tensor:
    """``s_a s_bᵀ`` (float64, exact) for the ±1 codes ``s = 2c - 1`` of 0/1 codes ``ca``, ``cb``
    (leading batch dimensions allowed): ``4 c_a c_bᵀ - 2 r_a - 2 r_bᵀ + n`` with ``r`` the row sums,
    so the ±1 codes are never materialised. The Gram product comes from :func:`.code_gram.gram`
    (exact in every backend); for ``cb is ca`` the row sums are its diagonal (``c·c = Σc`` for 0/1)."""
    n = ca.shape[-1]
    cross = gram(ca, cb, backend)
    if cb is ca:
        ra = torch.diagonal(cross, dim1=-2, dim2=-1).unsqueeze(-1)
        rb = ra.transpose(-1, -2)
    else:  # exact: row sums <= n < 2**24 (else float64 codes)
        ra = ca.sum(-1, dtype=torch.float64).unsqueeze(-1)
        rb = cb.sum(-1, dtype=torch.float64).unsqueeze(-2)
    return cross.mul(4.0).sub_(ra, alpha=2.0).sub_(rb, alpha=2.0).add_(float(n))


class TensorMemo:
    """Per-forward memo keyed by tensor *identity*: a value computed for a tensor (its codes'
    product) is reused whenever the same tensor, unmodified, reaches another hooked module -- the
    ``ReLUConvBN`` wrapper and its ReLU, several ops of an edge, an NB201 node feeding three edges.
    Entries hold a weak reference (a dead tensor's id may be reused: its entry is then invalid)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref, int, Any]] = {}

    def get(self, x: torch.Tensor) -> Any:
        entry = self._entries.get(id(x))
        return entry[2] if entry is not None and entry[0]() is x and entry[1] == x._version else None

    def put(self, x: torch.Tensor, value: Any) -> None:
        dead = [k for k, entry in self._entries.items() if entry[0]() is None]
        for k in dead:
            del self._entries[k]
        self._entries[id(x)] = (weakref.ref(x), x._version, value)

    def clear(self) -> None:
        self._entries.clear()


class _CodeTap:
    """Forward pre-hooks that hand each hooked call to ``consume(call, c, first)``.

    ``c`` is the call's 0/1 codes, or ``None`` for a *repeat*: a call on the very same tensor
    (object and version) as the earlier call ``first``, whose codes -- and product -- are the same.
    """

    def __init__(self, modules: list[nn.Module], consume: Callable[[int, Optional[torch.Tensor], Optional[int]], None],
                 dtype: Optional[torch.dtype] = None):
        self.consume = consume
        self.dtype = dtype
        self.batch = 0
        self.calls = 0
        self.units: list[int] = []
        self._memo = TensorMemo()
        self._handles = [m.register_forward_pre_hook(self._hook) for m in modules]

    def start(self, batch: int) -> None:
        self.batch, self.calls, self.units = batch, 0, []
        self._memo.clear()

    def _hook(self, module: nn.Module, args: tuple) -> None:
        x = _first_tensor(args)
        if x is None:
            return
        seen = self._memo.get(x)
        if seen is not None:
            first, units = seen
            self.units.append(units)
            self.consume(self.calls, None, first)
        else:
            s = binary_codes(x, self.batch, self.dtype)
            self._memo.put(x, (self.calls, int(s.shape[1])))
            self.units.append(int(s.shape[1]))
            self.consume(self.calls, s, None)
        self.calls += 1

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._memo.clear()


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
    products: dict[int, torch.Tensor] = {}  # by the first call on each distinct tensor
    backend = default_backend(x.device)

    def consume(call: int, s: Optional[torch.Tensor], first: Optional[int]) -> None:
        if first is None:
            products[call] = sign_product(s, s, backend)
            first = call
        acc.add_(products[first])

    tap = _CodeTap(modules, consume, dtype=codes_dtype(0, backend))
    try:
        tap.start(x.shape[0])
        net(x)
        return tap.calls, sum(tap.units)
    finally:
        tap.remove()


def _kernel_chunked(net: nn.Module, x: torch.Tensor, modules: list[nn.Module], acc: torch.Tensor,
                    slices: list[slice]) -> tuple[int, int]:
    """Block-wise ``K``: for chunk ``i`` store its codes (as bool) and fill block ``(i, i)``; then
    re-run every later chunk ``j`` to fill blocks ``(j, i)`` and ``(i, j)``. Repeated tensors share
    their codes and products (the call structure is the same in every chunk's forward)."""
    stored: list[torch.Tensor] = []
    products: dict[int, torch.Tensor] = {}
    state: dict[str, Any] = {}
    backend = default_backend(x.device)

    def consume_store(call: int, s: Optional[torch.Tensor], first: Optional[int]) -> None:
        si = state["si"]
        if first is None:
            stored.append(s > 0.5)
            products[call] = sign_product(s, s, backend)
            first = call
        else:
            stored.append(stored[first])
        acc[si, si] += products[first]

    def consume_cross(call: int, s: Optional[torch.Tensor], first: Optional[int]) -> None:
        si, sj = state["si"], state["sj"]
        if call >= len(stored) or (s is not None and stored[call].shape[1] != s.shape[1]):
            raise ProxyInputError("nwot chunking needs every chunk to run the same sequence of hooked modules")
        if first is None or stored[call] is not stored[first]:
            if s is None:
                raise ProxyInputError("nwot chunking needs every chunk to run the same sequence of hooked modules")
            products[call] = sign_product(s, stored[call].to(s.dtype), backend)
            first = call
        acc[sj, si] += products[first]
        acc[si, sj] += products[first].T

    total_calls, total_units = 0, 0
    for i, si in enumerate(slices):
        stored.clear()
        products.clear()
        state["si"] = si
        tap = _CodeTap(modules, consume_store, dtype=codes_dtype(0, backend))
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
            products.clear()
            tap = _CodeTap(modules, consume_cross, dtype=codes_dtype(0, backend))
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


def kernel_logdets(kernels: torch.Tensor) -> list[tuple[float, float]]:
    """``(sign, log|det K|)`` of each kernel of a ``[G, n, n]`` float64 stack, one matrix at a time.

    Not one batched :func:`torch.linalg.slogdet`: in torch 2.14.1 on CPU the batched call returns
    wrong values (oneMKL prints "Parameter 6 was incorrect on entry to DLASWP") for n >= ~200 with
    more than one thread -- log-determinants off by ~4.7e4 for 256 x 256 kernels, i.e. the paper's
    minibatch of 256 -- while the single-matrix call is right (``tests/test_fast_nwot.py``)."""
    out = []
    for kernel in kernels:
        sign, logabs = torch.linalg.slogdet(kernel)
        out.append((sign.item(), logabs.item()))
    return out


@proxy(
    "nwot",
    needs_gradients=False,
    cost="1 forward (no grad) + one N x N matmul per hooked ReLU; chunked: m(m+1)/2 chunk forwards",
    chunking="exact in eval mode (no batch-coupled layers); train-mode BatchNorm makes it per-chunk",
    default_mode="eval",
    reference="Mellor et al. 2021 (NASWOT, ICML), BayesWatch/nas-without-training hook_logdet",
    description="log|det K| of the Hamming-similarity kernel of ReLU binary codes",
    min_batch=2,
    min_batch_reason="it compares the activation codes of the images of a minibatch; with one image its score "
                     "is log(number of ReLU units), the same for any input",
    option_choices={"hooks": HOOK_CHOICES},
    naswot_options={"mode": "train"},
    published_zcpt_options={"hooks": "published"},
    batched_engine="fast_nwot",
    batched_options=frozenset({"mode", "hooks", "device"}),
    auto_batched=True,
)
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
