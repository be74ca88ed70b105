"""Keep freed memory for reuse: glibc ``malloc`` settings applied at the start of every computation.

At the paper's NAS-Bench-201 batch of 256 an activation tensor (e.g. 5 stacked perturbations x 256
x 16 x 32 x 32 floats = 80 MB) is larger than glibc malloc's largest mmap threshold (32 MB), so
glibc maps every one fresh and unmaps it when it is freed: the kernel zero-fills all its pages
again on every forward. One paper-setting search spent 540 of its 2,458 CPU-seconds in the kernel,
with 262 million minor page faults (issue 30).

:func:`configure` tells glibc (``mallopt`` through :mod:`ctypes`) to serve large blocks from its
heap and keep what is freed for the next forward:

* ``M_MMAP_MAX = 0`` -- no fresh mapping per large block;
* ``M_TRIM_THRESHOLD = 2**31 - 1`` -- freed memory at the top of the heap is kept (up to 2 GiB);
* ``M_TOP_PAD = 256 MiB`` -- the heap grows in large steps.

It changes where memory comes from, never a value: results are bitwise the same. Its cost is
resident memory kept for reuse (peak RSS, see ``benchmarks/RESULTS.md``). It runs once per process,
at the start of every computation (:func:`~zcpt_analysis.runs.spec.execute`, the ``zcpt`` command,
the Python API's compute entry points -- so Dask workers and notebook kernels too), and does
nothing where it does not apply:

* ``ZCPT_MALLOC=off`` (also ``0``, ``no``, ``false``, ``default``) leaves the allocator as it is;
* a malloc preloaded through ``LD_PRELOAD`` (tcmalloc, jemalloc, mimalloc) or glibc malloc tunables
  set in ``GLIBC_TUNABLES`` are the user's choice and are left alone;
* not glibc (macOS, Windows, musl): nothing to do.

:func:`describe` says which set-up is in effect; every record's environment stores it.
"""
from __future__ import annotations

import ctypes
import os
import platform
import threading
from typing import Optional

ENV_VAR = "ZCPT_MALLOC"
"""Environment variable: ``off`` (or ``0``/``no``/``false``/``default``) leaves the allocator alone."""

OFF_VALUES: tuple[str, ...] = ("off", "0", "no", "false", "default")
ON_VALUES: tuple[str, ...] = ("", "on", "1", "yes", "true", "keep")

# mallopt parameter numbers (glibc's <malloc.h>)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
SETTINGS: dict[str, int] = {"M_MMAP_MAX": 0, "M_TRIM_THRESHOLD": 2 ** 31 - 1, "M_TOP_PAD": 256 * 2 ** 20}
"""What :func:`configure` sets (the values issue 30 measured)."""
_PARAMS = {"M_MMAP_MAX": _M_MMAP_MAX, "M_TRIM_THRESHOLD": _M_TRIM_THRESHOLD, "M_TOP_PAD": _M_TOP_PAD}

PRELOADED_MALLOCS: tuple[str, ...] = ("tcmalloc", "jemalloc", "mimalloc", "hoard", "scalloc")
"""Names of replacement allocators recognised in ``LD_PRELOAD``."""

_STATE: dict[str, Optional[str]] = {"set_up": None}
_LOCK = threading.Lock()


def _glibc_version() -> Optional[str]:
    name, version = platform.libc_ver()
    return version if name == "glibc" and version else None


def _preloaded() -> Optional[str]:
    """The replacement malloc named in ``LD_PRELOAD`` (its path), if any."""
    for entry in os.environ.get("LD_PRELOAD", "").replace(":", " ").split():
        if any(name in os.path.basename(entry) for name in PRELOADED_MALLOCS):
            return entry
    return None


def _tunables() -> Optional[str]:
    """The glibc malloc tunables set in ``GLIBC_TUNABLES``, if any."""
    found = [t for t in os.environ.get("GLIBC_TUNABLES", "").split(":") if t.startswith("glibc.malloc.")]
    return ":".join(found) or None


def _opted_out() -> bool:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in OFF_VALUES:
        return True
    if value not in ON_VALUES:
        from .errors import ZcptError

        raise ZcptError(f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not understood; valid: unset or 'on' (keep freed "
                        f"memory for reuse, the default), or one of {', '.join(OFF_VALUES)} (leave malloc alone)")
    return False


def _untouched() -> str:
    """The set-up of a process this module has not changed."""
    preloaded = _preloaded()
    if preloaded:
        return f"LD_PRELOAD {preloaded}"
    glibc = _glibc_version()
    if glibc is None:
        return f"platform default ({platform.system() or 'unknown'}, not glibc)"
    tunables = _tunables()
    if tunables:
        return f"glibc {glibc} GLIBC_TUNABLES={tunables}"
    return f"glibc {glibc} default"


def configure() -> str:
    """Apply the set-up once per process (see the module docstring); returns :func:`describe`.

    Raises :class:`~zcpt_analysis.errors.ZcptError` for an unknown ``ZCPT_MALLOC`` value.
    """
    with _LOCK:
        if _STATE["set_up"] is not None:
            return _STATE["set_up"]
        description = _untouched()
        if _opted_out():
            description += f" ({ENV_VAR}={os.environ[ENV_VAR]})"
        elif description.endswith(" default") and description.startswith("glibc"):
            libc = ctypes.CDLL(None)
            failed = [name for name, value in SETTINGS.items() if libc.mallopt(_PARAMS[name], value) != 1]
            if failed:
                description += f" (mallopt failed for {', '.join(failed)})"
            else:
                description = f"glibc {_glibc_version()} mallopt " + " ".join(f"{k}={v}" for k, v in SETTINGS.items())
        _STATE["set_up"] = description
        return description


def describe() -> str:
    """The allocator set-up in effect in this process (what records store as ``allocator``)."""
    return _STATE["set_up"] or _untouched()
