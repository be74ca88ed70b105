"""Exact Gram products of 0/1 activation codes -- the arithmetic inside the nwot kernel.

nwot needs ``c_a c_bᵀ`` for 0/1 code matrices (``[..., N, n]``): integers ``<= n``. Every backend
here returns them **exactly** (float64), so the choice changes speed, never a score:

* ``int8`` (CPU): the codes are the ``x > 0`` booleans themselves, read as int8 (a view: no
  conversion pass), multiplied by ``torch._int_mm`` with int32 accumulation. Exact: every product
  is 0 or 1 and a sum of ``n`` of them is an integer ``<= n < 2**31``. ``_int_mm`` gives wrong
  values for an inner dimension of 1 in torch 2.14.1, so layers with ``n < 16`` units use
  ``float32`` (as do other devices).
* ``syrk``: NumPy's float32 ``a @ a.T``, which its BLAS computes as a symmetric rank-k update --
  half the multiply-adds of a general product; partial sums are integers ``< 2**24``, exact in
  float32. The BLAS threads follow ``torch.get_num_threads()``. Cross products use ``float32``.
* ``float32``: ``torch.matmul`` (exact for the same reason; TF32 keeps 0/1 and accumulates in fp32).
* ``bf16`` (CPUs with AMX or AVX-512-BF16, CUDA): bfloat16 codes, fp32 accumulation. A bf16 *result*
  holds integers only up to 256 (8 bits of mantissa), so the inner dimension is split into chunks of
  256 whose partial products are exact in bf16, summed in float32 (exact: ``< 2**24``; CUDA:
  ``torch.mm(..., out_dtype=float32)``).

The default (:func:`default_backend`) is the fastest exact one as measured: on CPU ``int8`` where it
passes its exactness check, else ``bf16`` on CPUs with AMX or AVX-512-BF16, else ``syrk`` with one
torch thread and ``float32`` with several (NumPy's BLAS pool and torch's OpenMP pool oversubscribe
the cores); on CUDA ``bf16`` where exact, else ``float32``. Codes and product of 256 x n
activations on this project's 2-core AMD EPYC (AVX-512 VNNI and BF16), 2 threads, best of 6
(``python benchmarks/search_speed.py --gram --threads 2``, load average ~5.6 from other jobs):

=========  ========  ========  ========  ========
n          int8      bf16      float32   syrk
=========  ========  ========  ========  ========
16384      3.4 ms    76 ms     149 ms    340 ms
8192       1.3 ms    8.1 ms    36 ms     60 ms
4096       0.6 ms    2.2 ms    104 ms    39 ms
=========  ========  ========  ========  ========

(Timing the backends in-process to choose among them proved unreliable on a loaded machine: the
BLAS threads of ``syrk`` keep spinning after a call and slow whatever runs next.)
``ZCPT_NWOT_GRAM=int8|syrk|float32|bf16`` forces a backend. Every backend but ``float32`` checks
itself once per device against float64 on random codes and is not used where it differs.
Float codes with ``n >= 2**24`` units are multiplied in float64.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import torch

BACKENDS: tuple[str, ...] = ("int8", "syrk", "float32", "bf16")
EXACT_FLOAT32 = 2 ** 24
EXACT_INT32 = 2 ** 31
INT8_MIN_UNITS = 16  # torch._int_mm is wrong for an inner dimension of 1 (torch 2.14.1)
_BF16_CHUNK = 256  # integers up to 256 are exact in bfloat16
_VERIFIED: dict[tuple[str, str], bool] = {}
_BLAS = {"threads": None, "controller": None}


def default_backend(device: torch.device) -> str:
    """The fastest exact backend for ``device`` (``ZCPT_NWOT_GRAM`` overrides; see the module docstring)."""
    forced = os.environ.get("ZCPT_NWOT_GRAM")
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"ZCPT_NWOT_GRAM={forced!r}; valid: {', '.join(BACKENDS)}")
        return forced
    if device.type == "cuda":
        return "bf16" if _verified("bf16", device) else "float32"
    if device.type == "cpu":
        if _verified("int8", device):
            return "int8"
        if (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()) and _verified("bf16", device):
            return "bf16"
        return "syrk" if torch.get_num_threads() == 1 else "float32"
    return "float32"


def _verified(backend: str, device: torch.device) -> bool:
    """Whether ``backend`` gives the exact products on ``device`` (checked once, on random codes
    of several shapes, self and cross products)."""
    key = (backend, device.type)
    if key not in _VERIFIED:
        gen = torch.Generator().manual_seed(0)
        ok = True
        for shape in ((3, 40, 3 * _BF16_CHUNK + 17), (2, 16), (5, INT8_MIN_UNITS + 1), (2, 37, 300)):
            x = torch.randn(shape, generator=gen).to(device)
            y = torch.randn(shape, generator=gen).to(device)
            a, b = codes(x, backend), codes(y, backend)
            exact = lambda p, q: torch.matmul((p > 0).double(), (q > 0).double().transpose(-1, -2))  # noqa: E731
            try:
                ok &= torch.equal(gram(a, a, backend), exact(x, x)) and torch.equal(gram(a, b, backend), exact(x, y))
            except (RuntimeError, NotImplementedError):
                ok = False
        _VERIFIED[key] = bool(ok)
    return _VERIFIED[key]


def codes_dtype(n: int, backend: str) -> torch.dtype:
    """The dtype :func:`codes` have for ``backend`` and ``n`` units (``n=0``: a layer of any size
    below the limits)."""
    if backend == "int8" and n < EXACT_INT32:
        return torch.int8
    if n >= EXACT_FLOAT32:
        return torch.float64
    return torch.bfloat16 if backend == "bf16" else torch.float32


def codes(flat: torch.Tensor, backend: str) -> torch.Tensor:
    """0/1 codes ``flat > 0`` (``[..., n]``, same shape) in the dtype ``backend`` multiplies (NaN codes
    as 0). ``int8``: the comparison's booleans read as int8 -- no conversion pass."""
    dtype = codes_dtype(flat.shape[-1], backend)
    if dtype == torch.int8:
        return torch.gt(flat, 0).view(torch.int8)
    return torch.gt(flat, 0, out=torch.empty(flat.shape, dtype=dtype, device=flat.device))


def _blas_threads() -> None:
    """Give NumPy's BLAS as many threads as torch uses (set only when that number changes)."""
    n = torch.get_num_threads()
    if _BLAS["threads"] == n:
        return
    from threadpoolctl import ThreadpoolController

    if _BLAS["controller"] is None:
        _BLAS["controller"] = ThreadpoolController()
    _BLAS["controller"].limit(limits=n, user_api="blas")
    _BLAS["threads"] = n


def gram(ca: torch.Tensor, cb: torch.Tensor, backend: Optional[str] = None) -> torch.Tensor:
    """``ca cbᵀ`` (float64, exact) for 0/1 codes ``[..., N, n]`` / ``[..., M, n]`` of one dtype."""
    if backend is None:
        backend = default_backend(ca.device)
    with torch.autocast(ca.device.type, enabled=False):  # products stay exact under a bf16 forward
        return _gram(ca, cb, backend)


def _gram(ca: torch.Tensor, cb: torch.Tensor, backend: str) -> torch.Tensor:
    if backend == "int8" and ca.device.type == "cpu" and INT8_MIN_UNITS <= ca.shape[-1] < EXACT_INT32:
        return _gram_int8(ca, cb)
    if ca.dtype == torch.float64 or ca.shape[-1] >= EXACT_FLOAT32:
        return torch.matmul(ca.double(), cb.double().transpose(-1, -2))
    if backend == "syrk" and ca is cb and ca.device.type == "cpu" and ca.dtype == torch.float32:
        _blas_threads()
        a = ca.detach().contiguous().numpy()
        flat = a.reshape(-1, *a.shape[-2:])
        out = np.stack([m @ m.T for m in flat]).reshape(*a.shape[:-1], a.shape[-2])
        return torch.from_numpy(out).to(torch.float64)
    if backend == "bf16":
        return _gram_bf16(ca, cb)
    return torch.matmul(ca.float(), cb.float().transpose(-1, -2)).to(torch.float64)


def _gram_int8(ca: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
    """int8 codes, int32 accumulation (exact: sums of 0/1 products, ``<= n < 2**31``)."""
    a = ca.to(torch.int8).contiguous()  # no-op for int8 codes; 0/1 floats convert exactly
    b = a if cb is ca else cb.to(torch.int8).contiguous()
    flat_a, flat_b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    out = torch.stack([torch._int_mm(x, y.T) for x, y in zip(flat_a, flat_b)])
    return out.reshape(*a.shape[:-1], b.shape[-2]).to(torch.float64)


def _gram_bf16(ca: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
    a, b = ca.to(torch.bfloat16), cb.to(torch.bfloat16)
    if a.device.type == "cuda":
        flat_a, flat_b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
        out = torch.stack([torch.mm(x, y.T, out_dtype=torch.float32) for x, y in zip(flat_a, flat_b)])
        return out.reshape(*a.shape[:-1], b.shape[-2]).to(torch.float64)
    n = a.shape[-1]
    pad = (-n) % _BF16_CHUNK
    if pad:  # zero units add nothing to any product
        a = torch.nn.functional.pad(a, (0, pad))
        b = a if cb is ca else torch.nn.functional.pad(b, (0, pad))
    k = a.shape[-1] // _BF16_CHUNK

    def chunks(t: torch.Tensor) -> torch.Tensor:  # [..., N, k*256] -> [(...)*k, N, 256]
        t = t.reshape(-1, t.shape[-2], k, _BF16_CHUNK).permute(0, 2, 1, 3)
        return t.reshape(-1, t.shape[-2], _BF16_CHUNK)

    xa = chunks(a)
    xb = xa if cb is ca else chunks(b)
    parts = torch.bmm(xa, xb.transpose(1, 2))  # each entry <= 256: exact in bfloat16
    parts = parts.reshape(-1, k, a.shape[-2], b.shape[-2]).sum(1, dtype=torch.float32)  # exact: < 2**24
    return parts.reshape(*a.shape[:-1], b.shape[-2]).to(torch.float64)
