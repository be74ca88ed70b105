"""Shared fixtures: the real reference data in ../shared/data and tiny networks for CPU tests.

The suite runs in parallel with pytest-xdist (``make test``: one worker per core, at most 4;
``--dist loadgroup`` is in the pytest options): tests that share an expensive fixture of module or session scope
(:data:`SHARED_FIXTURES`) are put in one xdist group, so that fixture is built once, on one worker,
while the other workers take the rest of the suite.
"""
from __future__ import annotations

import warnings

import pytest
import torch

from zcpt_analysis.datadir import data_dir

SHARED_FIXTURES: tuple[str, ...] = ("smoke_report", "lab", "serial_store")
"""Fixtures built once per worker and used by several tests: their tests run on one xdist worker
(the rendered smoke report, the JupyterLab server, test_reproduce's serial reference grid)."""


def pytest_report_header(config) -> str:
    """The CPU kernel path torch took (tests/recorded.py explains why it matters)."""
    return f"torch {torch.__version__}, CPU kernel path: {torch.backends.cpu.get_cpu_capability()}"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(config, items) -> None:
    """One xdist group per shared expensive fixture (see the module docstring). On an xdist worker,
    ``slow`` tests are also collected first, so the long units of work start at once and the short
    ones fill the gaps (xdist hands out the largest groups first, then tests in collection order)."""
    for item in items:
        for name in SHARED_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(name))
    if hasattr(config, "workerinput"):  # only under xdist: a serial run keeps each module's tests together
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session) -> None:
    """Warn when xdist ignored the groups (pytest 9.2 with pytest-xdist 3.8, pytest-xdist#1386, hence
    ``pytest<9.2`` in the test extra): the results stay right, but every worker that meets a shared
    fixture builds it again (the run takes minutes longer)."""
    config = session.config
    if hasattr(config, "workerinput") and config.getvalue("loadgroup"):
        lost = [item.nodeid for item in session.items
                if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid]
        if lost:
            warnings.warn(pytest.PytestWarning(
                f"pytest-xdist did not group {len(lost)} test(s) sharing an expensive fixture (e.g. {lost[0]}): "
                f"pytest {pytest.__version__} with this pytest-xdist ignores --dist loadgroup (pytest-xdist#1386); "
                "install the test extra's versions (pip install -e '.[test]')"))


@pytest.fixture(scope="session", autouse=True)
def single_thread_torch():
    """Tests use tiny networks: one intra-op thread is faster than two and never oversubscribes the
    2-core CI machine (two threads per process thrash badly when anything else runs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def calibration_cache(tmp_path_factory):
    """The cost model's machine calibration (``zcpt reproduce`` measures units once per machine)
    is cached in a folder of this test session, not in the user's cache."""
    patch = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("zcpt-cache")
    patch.setenv("ZCPT_CACHE_DIR", str(path))
    yield path
    patch.undo()


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
