"""Comparing what the code computes now with values **recorded on another machine**.

The records under ``tests/data/legacy/`` were written on a 2-core AMD EPYC with AVX2 only. torch
picks its SIMD kernels at run time (``torch.backends.cpu.get_cpu_capability()``: AVX2, AVX-512, or the
scalar ``default`` path; ``ATEN_CPU_CAPABILITY`` forces one), and kernels of different widths sum in
different orders, so a float recomputed elsewhere may differ in its last bits. Tests that read such
values therefore compare

* **decisions exactly**: the op chosen on every edge, the architecture of every iteration, the
  selected architecture, candidate order -- a tolerance there would hide a real change;
* **scores within** :data:`RECORDED_RTOL`, a relative tolerance per proxy, justified below.

Everything computed twice *in one run on one machine* (fast engine vs plain forward, batched vs one
call per perturbation, resume vs uninterrupted, serial vs Dask, Python API vs CLI) stays compared
bit for bit in the tests that check it: those are the project's guarantees.

Tests using these helpers carry the ``recorded`` marker, so ``pytest -m recorded`` runs exactly
them; ``tests/test_cpu_kernel_paths.py`` runs them under every other kernel path of
:data:`KERNEL_PATHS` this CPU has, so one CI machine checks the others too. Any part of the suite
runs on one path with ``python tests/recorded.py PATH [pytest options]`` (tests/README.md).
"""
from __future__ import annotations

import math
import os
import sys
from typing import Iterable, Mapping

import pytest

RECORDED_RTOL: dict[str, float] = {
    # synflow runs in float64 on |weights| drawn in float32. AVX2 vs AVX-512: only the float64
    # summation order differs (measured 4.5e-16). The scalar `default` path also draws the float32
    # initial weights with other roundings (up to 1 ulp = 1.2e-7 each). synflow multiplies one weight
    # per scored layer along every input-output path: at most 15 of them in the tests' N=1 networks
    # (stem, 3 x 3 cell edges in series, 2 x 2 residual convs, classifier), so 15 ulps = 1.8e-6 in the
    # worst case; the sum over paths averages them (measured 1.5e-8 on the search steps, 6.5e-9 on
    # NASWOT scores).
    "synflow": 2e-6,
    # nwot is log|det K| of integer kernels built from the signs of float32 pre-activations. A
    # pre-activation within rounding of 0 may flip its sign under another summation order: one flip
    # moves one row and column of K by +-1, and log|det K| by 4.7e-6 relative for the tests' batch-8
    # kernels of C=4 networks (46,080 units per code). Measured: bit-identical AVX2 vs AVX-512; 4.5e-6
    # (one flip) on the scalar `default` path. 1e-4 allows about twenty flipped codes.
    "nwot": 1e-4,
}
"""Relative tolerance per proxy for scores recomputed on another machine (see the comments)."""


NUMPY_AVX512_FEATURES = "X86_V4 AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
"""NumPy's AVX-512 dispatch targets (names NumPy does not know are ignored)."""

KERNEL_PATHS: dict[str, dict[str, str]] = {
    # an AVX2-only machine: torch's own kernels, oneDNN's convolutions, MKL (torch's BLAS),
    # OpenBLAS and NumPy's SIMD loops all limited to AVX2
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": NUMPY_AVX512_FEATURES},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512"},
    # torch's scalar kernels: no real machine of ours, the widest change of summation order there is
    # (it even rounds the float32 initial weights differently)
    "default": {"ATEN_CPU_CAPABILITY": "default"},
}
"""The environment that puts the libraries on one CPU kernel path (a CPU without it falls back)."""


def rtol_for(proxy: str) -> float:
    """The tolerance of ``proxy`` (an error for a proxy whose tolerance was never justified)."""
    if proxy not in RECORDED_RTOL:
        raise KeyError(f"no cross-machine tolerance stated for proxy {proxy!r}; add one to RECORDED_RTOL "
                       f"with the measurement that justifies it (known: {', '.join(RECORDED_RTOL)})")
    return RECORDED_RTOL[proxy]


def assert_scores_close(now: Iterable[float] | Mapping[str, float], recorded: Iterable[float] | Mapping[str, float],
                        proxy: str, what: str = "scores") -> None:
    """``now`` equals ``recorded`` within the proxy's tolerance: the same keys (mappings) or length
    (sequences), and every value within ``rtol_for(proxy)``; infinities and NaNs must match exactly."""
    if isinstance(recorded, Mapping):
        assert isinstance(now, Mapping) and list(now) == list(recorded), f"{what}: keys {list(now)} != {list(recorded)}"
        pairs = [(k, now[k], recorded[k]) for k in recorded]
    else:
        now, recorded = list(now), list(recorded)
        assert len(now) == len(recorded), f"{what}: {len(now)} values != {len(recorded)} recorded"
        pairs = list(zip(range(len(recorded)), now, recorded))
    rtol = rtol_for(proxy)
    for key, a, b in pairs:
        if not (math.isfinite(a) and math.isfinite(b)):
            assert a == b or (math.isnan(a) and math.isnan(b)), f"{what}[{key}]: {a} != recorded {b}"
        else:
            assert a == pytest.approx(b, rel=rtol, abs=0.0), f"{what}[{key}]: {a} vs recorded {b} (rel. {rtol:g})"


def kernel_path_env(path: str, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``base`` with the settings of kernel path ``path`` (and no other path's settings)."""
    forcing = {key for settings in KERNEL_PATHS.values() for key in settings}
    return {**{k: v for k, v in base.items() if k not in forcing}, **KERNEL_PATHS[path]}


def main(argv: list[str]) -> None:
    """``python tests/recorded.py PATH [pytest options]``: pytest with the environment of one kernel path."""
    if not argv or argv[0] not in KERNEL_PATHS:
        sys.exit(f"usage: python tests/recorded.py {{{','.join(KERNEL_PATHS)}}} [pytest options]")
    os.execvpe(sys.executable, [sys.executable, "-m", "pytest", *argv[1:]], kernel_path_env(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
