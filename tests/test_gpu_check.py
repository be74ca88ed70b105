"""``benchmarks/gpu_check.py`` on the CPU: its smoke run end to end (summary JSON and Markdown), a
step past its budget stopped while the rest goes on, a failing step recorded, the DARTS step's
N=1 projection, the cost of Tables 4-6 from per-epoch figures, and the clear error without CUDA."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _run(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_smoke_check_runs_every_step_and_writes_its_summary(tmp_path):
    out = tmp_path / "check"
    proc = _run("--smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    steps = summary["steps"]
    assert list(steps) == ["tests", "nb201", "darts", "training", "bf16"]
    assert {s["status"] for s in steps.values()} == {"ok"}
    assert all(s["seconds"] > 0 and s["budget_seconds"] > 0 for s in steps.values())
    assert summary["smoke"] is True and summary["environment"]["torch"] == torch.__version__
    cuda = torch.cuda.is_available()
    assert summary["device"] == ("cuda" if cuda else "cpu")

    tests = steps["tests"]["figures"]
    assert tests["failed"] == tests["errors"] == 0 and tests["passed"] + tests["skipped"] > 10
    if not cuda:
        assert tests["passed"] == 0 and all("needs CUDA" in reason for reason in tests["skip_reasons"])
    assert tests["command"].startswith("-m pytest -m cuda") and tests["command"].endswith(" tests/test_gpu.py")

    nb201 = steps["nb201"]["figures"]
    assert nb201["setting"]["supernet_mode"] == "block-input" and nb201["setting"]["proxy"] == "nwot"
    assert nb201["iterations_done"] == 1 and len(nb201["decisions"][0]) == 6  # the six NB201 edges
    assert nb201["search_seconds"] > 0 and nb201["validation_seconds"] > 0
    assert nb201["end_to_end_seconds"] >= nb201["search_seconds"] + nb201["validation_seconds"]
    assert set(nb201["nb201_test_error"]) == {"cifar10", "cifar100", "ImageNet16-120"}
    assert ("peak_gpu_memory_gb" if cuda else "peak_rss_gb") in nb201

    assert steps["darts"]["figures"]["iterations_done"] == 2 and "normal" in steps["darts"]["figures"]["selected"]
    training = steps["training"]["figures"]
    for part in ("supernet", "final_heavy", "final_mobile"):
        assert training[part]["seconds_per_epoch"] > 0
    assert training["final_heavy"]["setting"] == "heavy" and training["final_mobile"]["setting"] == "mobile"

    bf16 = steps["bf16"]["figures"]
    assert bf16["setting"]["precision"] == "bf16" and bf16["decisions_compared"] == 6
    assert bf16["same_decisions"] == (bf16["decisions_differing"] == 0)
    assert isinstance(bf16["same_selection"], bool) and bf16["fp32_selected"] == nb201["selected"]

    md = (out / "summary.md").read_text()
    assert md.startswith("# GPU check (smoke")
    for name in steps:
        assert f"| {name}: " in md
    assert "| 25 (single 2080Ti) |" in md and "| 0.018 |" in md and "not comparable" in md
    for name in steps:
        assert (out / "steps" / f"{name}.log").exists()


def _context(gpu_check, tmp_path, name, budget, smoke=True):
    (tmp_path / "steps").mkdir(exist_ok=True)
    return gpu_check.StepContext(name, smoke, "cpu", None, tmp_path, budget, time.perf_counter(), 1)


def test_a_step_past_its_budget_is_stopped_with_its_progress(gpu_check, tmp_path, monkeypatch):
    def slow(ctx):
        ctx.report({"iterations_done": 3})
        time.sleep(120)
        return {"never": True}

    monkeypatch.setitem(gpu_check.STEP_FUNCTIONS, "nb201", slow)
    started = time.perf_counter()
    outcome = gpu_check.run_forked(_context(gpu_check, tmp_path, "nb201", budget=3))
    assert outcome["status"] == "over budget" and outcome["figures"] == {"iterations_done": 3}
    assert "budget of 3 s" in outcome["error"] and time.perf_counter() - started < 30


def test_a_failing_step_is_recorded_with_its_error(gpu_check, tmp_path, monkeypatch):
    def broken(ctx):
        ctx.report({"iterations_done": 1})
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setitem(gpu_check.STEP_FUNCTIONS, "darts", broken)
    outcome = gpu_check.run_forked(_context(gpu_check, tmp_path, "darts", budget=60))
    assert outcome["status"] == "failed" and outcome["error"] == "RuntimeError: CUDA out of memory (simulated)"
    assert outcome["figures"] == {"iterations_done": 1}
    assert "CUDA out of memory (simulated)" in (tmp_path / "steps" / "darts.log").read_text()


def test_darts_step_stops_after_one_iteration_and_projects_n(gpu_check, tmp_path):
    """A budget too small for N=2: the search stops after iteration 1, validates its candidate and
    projects both stages to N."""
    figures = gpu_check.run_darts(_context(gpu_check, tmp_path, "darts", budget=0.01))
    assert figures["stopped_after_iterations"] == 1 and figures["iterations_done"] == 1
    assert figures["candidates"] == 1 and figures["validation_batches_done"] == 1
    per_iteration = figures["search_seconds"]
    assert figures["projected_N"] == 2
    assert figures["projected_seconds"] == pytest.approx(2 * per_iteration + 2 * figures["validation_seconds"],
                                                         abs=0.2)


def test_darts_projection_goes_on_only_within_the_budget(gpu_check):
    fits = gpu_check.darts_projection(search_seconds=10, iterations=1, N=10, elapsed=15, budget=200)
    assert fits == {"per_iteration_seconds": 10, "projected_search_seconds": 100, "continue": True}
    assert not gpu_check.darts_projection(10, 1, 10, elapsed=15, budget=100)["continue"]  # 15 + 90 > 80


def test_compare_decisions_counts_and_locates_differences(gpu_check):
    a = [[[0, "nor_conv_3x3"], [1, "skip_connect"]], [[2, "none"]]]
    b = [[[0, "nor_conv_3x3"], [1, "avg_pool_3x3"]], [[2, "none"]]]
    assert gpu_check.compare_decisions(a, a)["same_decisions"] is True
    diff = gpu_check.compare_decisions(a, b)
    assert diff["decisions_compared"] == 3 and diff["decisions_differing"] == 1 and not diff["same_decisions"]
    assert diff["first_difference"] == {"iteration": 0, "position": 1, "fp32": [1, "skip_connect"],
                                        "bf16": [1, "avg_pool_3x3"]}
    assert gpu_check.compare_decisions(a, a[:1])["same_decisions"] is False  # a missing iteration is a difference


def test_table_costs_count_the_paper_presets_runs(gpu_check):
    supernet = {"epochs": 100, "seconds_per_supernet": 3600.0}
    heavy, mobile = {"seconds_per_training": 7200.0}, {"seconds_per_training": 3600.0}
    rows = {r["table"]: r for r in gpu_check.table_costs(supernet, heavy, mobile, search_seconds=1800.0)}
    # Table 4: DARTS and the fixed-alpha supernet, seeds 0-3 each
    assert rows["Table 4"]["runs"] == 8 and rows["Table 4"]["gpu_hours"] == 8.0
    # Table 5: two orders x four search seeds, each cell trained with four seeds; plus the 8 searches
    assert rows["Table 5"]["runs"] == 32 and rows["Table 5"]["gpu_hours"] == 32 * 2 + 8 * 0.5
    # Table 6: S1-S4 x (CIFAR-10 heavy, CIFAR-100 and SVHN mobile) x search seeds 0, 2 x four training seeds
    svhn = 73_257 / 50_000
    assert rows["Table 6"]["runs"] == 96
    assert rows["Table 6"]["gpu_hours"] == pytest.approx(32 * 2 + 32 * 1 + 32 * svhn, abs=0.01)


def test_junit_counts_reads_outcomes_and_skip_reasons(gpu_check, tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="t" name="a"/>'
                   '<testcase classname="t" name="b"><skipped message="needs CUDA"/></testcase>'
                   '<testcase classname="t" name="c"><failure message="boom"/></testcase>'
                   '<testcase classname="t" name="d"><error message="setup"/></testcase></testsuite></testsuites>')
    counts = gpu_check.junit_counts(xml)
    assert {k: counts[k] for k in ("passed", "failed", "errors", "skipped")} == \
        {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    assert counts["skip_reasons"] == {"needs CUDA": 1} and counts["failures"][0] == {"test": "t::c", "message": "boom"}


@pytest.mark.parametrize("item, message", [("nb201", "expected STEP=SECONDS"), ("gpu=5", "STEP one of"),
                                           ("nb201=soon", "not a number"), ("nb201=0", "must be positive")])
def test_a_bad_budget_is_one_clear_error(gpu_check, item, message):
    with pytest.raises(SystemExit, match=message):
        gpu_check.parse_budgets([item], smoke=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run")
def test_without_cuda_the_full_check_is_an_error(tmp_path):
    proc = _run("--out", str(tmp_path / "check"), "--steps", "nb201", timeout=300)
    assert proc.returncode == 2
    assert "needs CUDA" in proc.stderr and "--smoke" in proc.stderr
    assert not (tmp_path / "check" / "summary.json").exists()


def test_full_check_runs_the_paper_presets_settings(gpu_check, tmp_path):
    ctx = _context(gpu_check, tmp_path, "nb201", budget=60, smoke=False)
    nb201 = gpu_check.nb201_spec(ctx)
    assert (nb201.space, nb201.proxy, nb201.order, nb201.N, nb201.V, nb201.batch_size, nb201.seed) == \
        ("nb201", "nwot", "random", 10, 100, 256, 0)
    assert nb201.supernet_mode == "block-input" and nb201.precision == "fp32" and nb201.supernet_options == {}
    assert gpu_check.nb201_spec(ctx, "bf16") == nb201.replace(precision="bf16")
    darts = gpu_check.darts_spec(ctx)
    assert (darts.space, darts.N, darts.V, darts.batch_size, darts.seed) == ("darts", 10, 100, 64, 0)


def test_every_cuda_marked_test_is_in_the_file_the_check_runs(gpu_check):
    marked = sorted(p.name for p in (ROOT / "tests").glob("test_*.py")
                    if p.name != Path(__file__).name and "pytest.mark.cuda" in p.read_text())
    assert marked == [Path(gpu_check.CUDA_TESTS).name]
