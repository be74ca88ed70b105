"""The tests that read values recorded on another machine pass on every CPU kernel path this CPU
has, not only on the one this run took: each path of ``recorded.KERNEL_PATHS`` other than this
process's runs ``pytest -m recorded`` in a subprocess with the environment that forces it. A path
the CPU lacks (AVX-512 on an AVX2-only machine) is skipped with that reason."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from recorded import KERNEL_PATHS, kernel_path_env

REPO = Path(__file__).resolve().parents[1]
RECORDED_FILES = sorted(str(p) for p in (REPO / "tests").glob("test_*.py") if "mark.recorded" in p.read_text())
"""The test files with ``recorded`` tests (collecting only them saves the subprocess ~5 s)."""


def _capability(env: dict[str, str]) -> str:
    """The kernel path torch takes in a fresh process with ``env``."""
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                           env=env, capture_output=True, text=True, timeout=120, check=True)
    return probe.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("path", list(KERNEL_PATHS))
def test_recorded_values_hold_on_every_kernel_path(path, shared_data):
    env = {**kernel_path_env(path), "ZCPT_DATA": str(shared_data)}
    here = torch.backends.cpu.get_cpu_capability()
    if here.lower() == path:
        pytest.skip(f"this run already takes the {here} path")
    taken = _capability(env)
    if taken.lower() != path:
        pytest.skip(f"this CPU has no {path.upper()} kernel path (torch falls back to {taken})")
    assert RECORDED_FILES, "no test file uses the recorded marker"
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "recorded", "-n", "0", "-p", "no:cacheprovider",
                           "--durations=0", *RECORDED_FILES], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert f"CPU kernel path: {taken}" in done.stdout  # the report header: the path was really taken
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1] and "failed" not in done.stdout.splitlines()[-1]
