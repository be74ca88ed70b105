"""Exact Gram products of 0/1 activation codes -- the arithmetic inside the nwot kernel.

nwot needs ``c_a c_bᵀ`` for 0/1 code matrices (``[..., N, n]``): integers ``<= n``. Every backend
here returns them **exactly** (float64), so the choice changes speed, never a score:

* ``syrk`` (CPU default with one torch thread): NumPy's float32 ``a @ a.T``, which its BLAS computes
  as a symmetric rank-k update -- half the multiply-adds of a general product; partial sums are
  integers ``< 2**24``, exact in float32. The BLAS threads follow ``torch.get_num_threads()``.
  Cross products (``a`` is not ``b``) use ``float32``.
* ``float32`` (CPU default with several torch threads, other devices): ``torch.matmul`` (exact for
  the same reason; TF32 keeps 0/1 and accumulates in fp32). With more than one thread NumPy's BLAS
  pool and torch's OpenMP pool oversubscribe the cores: on this project's 2-core AVX2 machine one
  NB201 search iteration (C=16, N=5, batch 64) took 28.9 s with ``syrk`` and 14.3 s with
  ``float32`` at 2 threads, 21.9 s and 23.6 s at 1 thread (``benchmarks/search_speed.py
  --variants library --validation-batches 0 --threads T`` with ``ZCPT_NWOT_GRAM`` set).
* ``bf16`` (CPUs with AMX or AVX-512-BF16, CUDA): bfloat16 codes, fp32 accumulation. A bf16 *result*
  holds integers only up to 256, so the inner dimension is split into chunks of 256 whose partial
  products are exact in bf16, summed in float32 (CUDA: ``torch.mm(..., out_dtype=float32)``).

``ZCPT_NWOT_GRAM=syrk|float32|bf16`` overrides the choice (e.g. to time them). The bf16 paths
check themselves once per device against ``float32`` on random codes and fall back if they differ.
Layers with ``n >= 2**24`` units are multiplied in float64.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import torch

BACKENDS: tuple[str, ...] = ("syrk", "float32", "bf16")
EXACT_FLOAT32 = 2 ** 24
_BF16_CHUNK = 256  # integers up to 256 are exact in bfloat16
_VERIFIED: dict[tuple[str, str], bool] = {}
_BLAS = {"threads": None, "controller": None}


def default_backend(device: torch.device) -> str:
    """The fastest exact backend for ``device`` (``ZCPT_NWOT_GRAM`` overrides)."""
    forced = os.environ.get("ZCPT_NWOT_GRAM")
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"ZCPT_NWOT_GRAM={forced!r}; valid: {', '.join(BACKENDS)}")
        return forced
    if device.type == "cuda":
        return "bf16" if _verified("bf16", device) else "float32"
    if device.type == "cpu":
        if (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()) and _verified("bf16", device):
            return "bf16"
        return "syrk" if torch.get_num_threads() == 1 else "float32"  # see the module docstring
    return "float32"


def _verified(backend: str, device: torch.device) -> bool:
    key = (backend, device.type)
    if key not in _VERIFIED:
        gen = torch.Generator().manual_seed(0)
        c = (torch.rand(3, 40, 3 * _BF16_CHUNK + 17, generator=gen) > 0.5).float().to(device)
        try:
            _VERIFIED[key] = torch.equal(gram(c, c, backend), torch.matmul(c.double(), c.double().transpose(-1, -2)))
        except (RuntimeError, NotImplementedError):
            _VERIFIED[key] = False
    return _VERIFIED[key]


def codes_dtype(n: int, backend: str) -> torch.dtype:
    """The dtype :func:`binary codes <.nwot.binary_codes>` should have for ``backend`` and ``n`` units."""
    if n >= EXACT_FLOAT32:
        return torch.float64
    return torch.bfloat16 if backend == "bf16" else torch.float32


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
