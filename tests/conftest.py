"""Shared fixtures: the real reference data in ../shared/data and tiny networks for CPU tests."""
from __future__ import annotations

import pytest
import torch

from zcpt_analysis.datadir import data_dir


@pytest.fixture(scope="session", autouse=True)
def single_thread_torch():
    """Tests use tiny networks: one intra-op thread is faster than two and never oversubscribes the
    2-core CI machine (two threads per process thrash badly when anything else runs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data():
    """The shared reference data folder (tests fail loudly if it is missing: CI provides it)."""
    return data_dir(required=True)


@pytest.fixture(scope="session")
def bench(shared_data):
    """The real NAS-Bench-201 tables."""
    from zcpt_analysis.bench import load_benchmark

    return load_benchmark(shared_data / "nb201")


@pytest.fixture(scope="session")
def cifar_sample(shared_data):
    """The real CIFAR-10 sample (400 training images)."""
    from zcpt_analysis.data import load_sample

    return load_sample("train")


@pytest.fixture
def tiny_supernet():
    """A NAS-Bench-201 supernet with 4 channels and 1 cell per stage (fast on CPU)."""
    from zcpt_analysis.spaces.nb201 import NB201Supernet

    return NB201Supernet(C=4, N=1, num_classes=10, seed=0)


@pytest.fixture
def tiny_batch():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 16, 16, generator=gen), torch.randint(0, 10, (8,), generator=gen)


@pytest.fixture(scope="session")
def smoke_report(tmp_path_factory):
    """``zcpt report`` itself (smoke preset, every notebook, one shared results store), run once per
    session in a subprocess: ``(folder, console output, run.json)``. The notebook tests read the
    executed notebooks from it, the browser tests open its HTML."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path_factory.mktemp("smoke_report")
    out = root / "reports"
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "zcpt_analysis", "--threads", "1", "report", "--out", str(out),
                           "--results-dir", str(root / "results"), "--quiet"], cwd=root, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=2400)
    summary = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    return out, proc.stdout, summary
