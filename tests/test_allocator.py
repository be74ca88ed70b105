"""The allocator set-up (zcpt_analysis/allocator.py): glibc keeps freed memory for reuse in every
computing process, can be switched off, leaves a user's own choice alone, and records say which ran."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zcpt_analysis import allocator
from zcpt_analysis.environment import environment
from zcpt_analysis.runs.specs import SearchSpec

ROOT = Path(__file__).resolve().parents[1]
GLIBC = allocator._glibc_version() is not None

# a forward whose activations (256 x 16 x 64 x 64 floats = 64 MB) exceed glibc's largest mmap threshold (32 MB), run
# 5 times; prints the set-up and the minor page faults of the last 3 forwards
PROBE = """
import json, resource, sys
import torch
from zcpt_analysis import allocator
setup = allocator.configure() if sys.argv[1] == "configure" else allocator.describe()
torch.set_num_threads(1)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, padding=1),
                          torch.nn.ReLU())
x = torch.randn(256, 3, 64, 64)
with torch.no_grad():
    for _ in range(2):  # the heap grows to its working size
        net(x).sum()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        net(x).sum()
print(json.dumps({"setup": setup, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _probe(mode: str = "configure", **env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("ZCPT_MALLOC", "GLIBC_TUNABLES", "LD_PRELOAD")}
    full.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=full, capture_output=True, text=True, timeout=120,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _always_huge_pages() -> bool:
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.exists() and "[always]" in path.read_text()


@pytest.mark.skipif(not GLIBC, reason="the set-up applies to glibc only")
def test_freed_memory_is_reused_instead_of_mapped_fresh():
    kept = _probe()
    assert kept["setup"] == ("glibc " + allocator._glibc_version() + " mallopt M_MMAP_MAX=0 "
                             "M_TRIM_THRESHOLD=2147483647 M_TOP_PAD=268435456")
    # without it every 64 MB activation (16,384 pages of 4 KiB) is faulted in again: ~344,000 faults in 3
    # forwards; with it the heap at most grows once more (measured: 0, sometimes 32,768)
    assert kept["faults"] < 50000
    default = _probe(ZCPT_MALLOC="off")
    assert default["setup"].endswith("default (ZCPT_MALLOC=off)")
    if not _always_huge_pages():
        assert default["faults"] > 200000


@pytest.mark.skipif(not GLIBC, reason="the set-up applies to glibc only")
def test_a_users_own_malloc_settings_are_left_alone():
    tunables = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.top_pad=268435456"
    tuned = _probe(GLIBC_TUNABLES=tunables)
    assert tuned["setup"].endswith(f"GLIBC_TUNABLES={tunables}")
    assert tuned["faults"] < 50000  # glibc applied the user's tunable (the heap serves large blocks); nothing undone


def test_preloaded_allocators_and_tunables_are_described(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")
    assert allocator._untouched() == "LD_PRELOAD /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
    monkeypatch.setenv("LD_PRELOAD", "/opt/lib/libfoo.so")  # not a malloc: ignored
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=512:glibc.malloc.top_pad=1")
    if GLIBC:
        assert allocator._untouched().endswith("GLIBC_TUNABLES=glibc.malloc.top_pad=1")


def test_an_unknown_opt_out_value_is_one_clear_error():
    env = {**os.environ, "ZCPT_MALLOC": "sometimes", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "zcpt_analysis", "proxies", "list"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert "ZCPT_MALLOC='sometimes' is not understood; valid: unset or 'on'" in out.stderr


def test_records_say_which_allocator_set_up_ran():
    record = SearchSpec(N=1, V=1, batch_size=8, device="cpu", data_source="sample", supernet_options={"C": 2, "N": 1},
                        network_options={"C": 2, "N": 1}).run()
    assert record.environment["allocator"] == allocator.describe() == allocator.configure()
    assert environment()["allocator"] == allocator.describe()
