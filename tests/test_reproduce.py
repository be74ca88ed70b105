"""`zcpt reproduce`: plans, the cpu preset, the serial and Dask executors (a local cluster, a killed
worker, Ctrl-C, a separately started scheduler + workers). Every cluster binds to 127.0.0.1, runs
one thread per worker, and is closed (or times out) by the test; grids are Table 2's smoke runs."""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zcpt_analysis.cli import main, parse_specs
from zcpt_analysis.errors import ZcptError

pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[1]
GRID = ["reproduce", "table2", "--preset", "smoke", "--seeds", "0", "1"]
"""Table 2's six orderings x seeds 0 and 1 in the smoke preset: 12 tiny searches."""
SUBSET = ["--only", "order=global-op-iter,global-edge-iter"]
"""The grid's two slowest orderings (4 searches) for the tests that interrupt a sweep."""
LOCAL = ["--executor", "dask", "--workers", "2", "--threads-per-worker", "1", "--dashboard-address", "none"]
TIMEOUT = 300


def comparable(obj):
    """A record's JSON without what legitimately differs between runs (times, dates, versions)."""
    if isinstance(obj, dict):
        return {k: comparable(v) for k, v in obj.items()
                if k not in ("seconds", "timing", "created", "environment")}
    if isinstance(obj, list):
        return [comparable(v) for v in obj]
    return obj


def records(root: Path) -> dict[str, dict]:
    return {p.name: comparable(json.loads(p.read_text())) for p in sorted(Path(root).glob("zcpt-*.json"))}


def env() -> dict[str, str]:
    """The environment of subprocesses: this checkout's package first."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def zcpt(*args: str) -> list[str]:
    return [sys.executable, "-m", "zcpt_analysis", "--threads", "1", *args]


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory):
    """The grid computed with --executor serial (the reference of every other run)."""
    root = tmp_path_factory.mktemp("serial")
    assert main(GRID + ["--executor", "serial", "--results-dir", str(root), "--quiet"]) == 0
    found = records(root)
    assert len(found) == 12 and all(r["status"] == "complete" for r in found.values())
    return root


def subset_of(reference: dict[str, dict]) -> dict[str, dict]:
    return {k: v for k, v in reference.items() if "-global-op-iter-" in k or "-global-edge-iter-" in k}


# ============================================================================= plans and presets
def test_plan_cpu_preset_uses_paper_network_sizes_and_leaves_training_to_a_gpu():
    from zcpt_analysis.experiments import plan
    from zcpt_analysis.runs.specs import DartsPTSpec, DartsSpec, ScoresSpec, SearchSpec
    from zcpt_analysis.scoring import get_method

    specs = plan(None, "cpu")
    nb201 = [s for s in specs if isinstance(s, SearchSpec) and s.space == "nb201"]
    assert {(s.N, s.V, s.batch_size, s.device) for s in nb201} == {(10, 20, 64, "cpu")}
    assert {s.seed for s in nb201} == {0, 1, 2, 3}
    assert all(s.supernet_options == {} and s.network_options == {} for s in nb201)  # C=16, N=5
    assert not [s for s in specs if isinstance(s, (DartsSpec, DartsPTSpec))]
    scores = [s for s in specs if isinstance(s, ScoresSpec)]
    assert {s.method for s in scores} == {"best-acc", "avg-acc", "zc-pt", "disc-zc"}
    assert all(get_method(s.method).network != "trained" for s in scores)
    naswot = [s for s in specs if s.KIND == "naswot"]
    assert {s.n_samples for s in naswot} == {100} and {s.seed for s in naswot} == {0, 1, 2, 3}
    # Figure 3's run is Table 2's random-order run: planned once
    assert len({s.record_name() for s in specs}) == len(specs)


def test_cpu_preset_table4_shows_training_rows_as_needing_a_gpu(tmp_path, bench):
    from zcpt_analysis import experiments as ex
    from zcpt_analysis.experiments.collect import NEEDS_GPU, NOT_COMPUTED

    result = ex.table4(ex.preset("cpu"), results_dir=tmp_path, bench=bench)
    darts = [p for p in result.pending if p.what.startswith("DARTS")]
    assert len(darts) == 3 and all(p.reason == NEEDS_GPU for p in darts)
    assert all("--device cpu" not in p.command and "zcpt darts" in p.command for p in darts)
    others = [p for p in result.pending if not p.what.startswith("DARTS")]
    assert others and all(p.reason.startswith(NOT_COMPUTED) for p in others)
    assert ex.preset_results_dir("cpu") == Path.cwd() / "runs" / "cpu"


def test_only_filters_on_identity_fields_and_rejects_unknown_ones():
    from zcpt_analysis.experiments import plan
    from zcpt_analysis.experiments.reproduce import parse_only, select

    specs = plan(["table2"], "smoke", seeds=[0, 1])
    kept = select(specs, parse_only(["order=random,fixed", "seed=1"]))
    assert sorted((s.order, s.seed) for s in kept) == [("fixed", 1), ("random", 1)]
    with pytest.raises(ZcptError, match="no planned spec has the field.*ordr"):
        select(specs, parse_only(["ordr=random"]))
    with pytest.raises(ZcptError, match="unknown target"):
        plan(["table9"], "smoke")


def test_cost_estimates_scale_with_search_iterations_and_validation_batches(serial_store):
    from zcpt_analysis.experiments import search_settings
    from zcpt_analysis.runs.costs import CostModel
    from zcpt_analysis.runs.store import ResultStore

    store = ResultStore(serial_store)
    costs = CostModel.from_store(store)
    settings = search_settings("smoke", seeds=[0, 1])
    done = [store.find(s) for s in settings.specs(order="fixed")]
    est = costs.estimate(settings.at(5, order="fixed", N=3, V=4))  # same cost key: order, batch, sizes
    assert est is not None and est.records == 2
    scaled = [3 * r.timing["search"] + 4 * r.timing["validation"] for r in done]  # N 1 -> 3, V 1 -> 4
    assert est.seconds == pytest.approx(sum(scaled) / 2)  # the median of two
    assert costs.estimate(settings.at(0, order="fixed", batch_size=16)) is None  # another size: unknown


def test_bad_executor_options_are_errors_before_any_work(tmp_path, capsys):
    from zcpt_analysis.runs.sweep import cluster_size

    assert main(GRID + ["--executor", "serial", "--workers", "2", "--results-dir", str(tmp_path)]) == 2
    assert "--workers would be ignored" in capsys.readouterr().err
    assert main(GRID + ["--scheduler", "tcp://127.0.0.1:1", "--threads-per-worker", "2",
                        "--results-dir", str(tmp_path)]) == 2
    assert "size a local cluster" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    assert cluster_size(cores=2, gpus=0) == (2, 1)
    assert cluster_size(cores=16, gpus=2) == (2, 8)
    assert cluster_size(cores=2, gpus=0, threads_per_worker=2) == (1, 2)
    assert cluster_size(cores=2, gpus=0, workers=4) == (4, 1)
    with pytest.raises(ZcptError, match="--workers must be at least 1"):
        cluster_size(cores=2, gpus=0, workers=0)


# ============================================================================= executors
def test_failing_spec_is_reported_with_its_command_and_the_others_run(tmp_path, capsys):
    root = tmp_path / "runs"
    root.mkdir()
    damaged = root / "zcpt-nb201-nwot-fixed-N1-V1-b8-cifar10-h003db234-s1.json"
    damaged.write_text("{not json")
    code = main(GRID + ["--only", "order=fixed", "--executor", "serial", "--results-dir", str(root)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"FAILED {damaged.name}: DamagedFileError" in err
    rerun = next(line.split("rerun: ", 1)[1] for line in err.splitlines() if "rerun: " in line)
    (spec,) = parse_specs(shlex.split(rerun))
    assert (spec.order, spec.seed, spec.supernet_options) == ("fixed", 1, {"C": 4, "N": 1})
    assert rerun.endswith(f"--out {root}")
    assert "2 planned: 0 already stored, 1 computed, 1 failed" in err
    assert json.loads((root / damaged.name.replace("-s1", "-s0")).read_text())["status"] == "complete"


CLOCK_OFFSET_SLACK_S = 0.25


def test_dask_grid_matches_serial_supernets_train_once_and_a_rerun_computes_nothing(serial_store, tmp_path, capsys):
    """Workers of a local cluster (fake GPU ids: each worker gets its own CUDA_VISIBLE_DEVICES),
    then the CLI twice on the completed store."""
    from distributed import Client, get_task_stream

    import zcpt_analysis as zc
    from zcpt_analysis.runs.sweep import GPU_RESOURCE, local_cluster

    root = tmp_path / "dask"
    with local_cluster(workers=2, threads_per_worker=1, gpus=["0", "1"], dashboard_address=None) as cluster, \
            Client(cluster) as client:
        seen = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), __import__("torch").get_num_threads()))
        assert sorted(seen.values()) == [("0", 1), ("1", 1)]
        assert all(GPU_RESOURCE in w["resources"] for w in client.scheduler_info()["workers"].values())
        result = zc.reproduce(["table2"], "smoke", root, client, seeds=[0, 1], progress=False)
        # DARTS and DARTS-PT of one seed share their supernet: trained once, one after the other
        with get_task_stream(client) as stream:
            darts = zc.reproduce(["table4"], "smoke", tmp_path / "darts", client, only={"kind": ["darts", "darts-pt"]},
                                 progress=False)
    assert darts.ok and len(darts.computed) == 3
    spans = {}
    for spec in darts.computed:
        name = spec.KIND + ("-fix-alpha" if getattr(spec, "fix_alpha", False) else "")
        (task,) = [t for t in stream.data if spec.key() in t["key"]]
        compute = [x for x in task["startstops"] if x["action"] == "compute"]
        spans[name] = (compute[0]["start"], compute[-1]["stop"], spec.shared_supernet())
    assert spans["darts"][2] == spans["darts-pt"][2] != spans["darts-pt-fix-alpha"][2]
    # the task stream shifts each worker's times by the scheduler's estimate of that worker's clock
    # offset (milliseconds off), so "one after the other" is checked up to that estimate
    assert spans["darts"][1] <= spans["darts-pt"][0] + CLOCK_OFFSET_SLACK_S
    assert result.ok and len(result.computed) == 12 and result.executor == "dask"
    assert records(root) == records(serial_store)

    before = {p.name: p.stat().st_mtime_ns for p in root.glob("*.json")}
    start = time.perf_counter()
    assert main(GRID + LOCAL + ["--results-dir", str(root)]) == 0
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert "12 spec(s) planned, 12 already stored, 0 to run" in err and "local Dask cluster" not in err
    assert elapsed < 30, f"a rerun that computes nothing took {elapsed:.1f} s"
    assert {p.name: p.stat().st_mtime_ns for p in root.glob("*.json")} == before

    capsys.readouterr()
    assert main(GRID + ["--seeds", "0", "1", "2", "--results-dir", str(root), "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "18 spec(s)" in plan and "6 to run, 12 already stored" in plan
    estimates = [line.split()[0] for line in plan.splitlines() if line.strip().endswith("(table2)") and "-s2." in line]
    assert len(estimates) == 6 and "unknown" not in estimates  # from seeds 0 and 1 (same cost key)
    assert not list(root.glob("*-s2.json"))


def claim_pid(claim: Path) -> int:
    """The pid written in a spec's ``.claim`` file; 0 while it is unreadable (being written or gone)."""
    try:
        return int(json.loads(claim.read_text() or "{}").get("pid", 0))
    except (OSError, ValueError):
        return 0


def _first_claim_pid(root: Path, proc: subprocess.Popen, deadline: float) -> tuple[str, int] | None:
    while proc.poll() is None and time.time() < deadline:
        for claim in root.glob("*.claim"):
            pid = claim_pid(claim)
            if pid and pid != proc.pid:
                return claim.name, pid
        time.sleep(0.02)
    return None


def test_killed_worker_mid_sweep_is_retried_to_identical_records(serial_store, tmp_path):
    root = tmp_path / "killed"
    proc = subprocess.Popen(zcpt(*GRID, *SUBSET, *LOCAL, "--results-dir", str(root)), env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        hit = _first_claim_pid(root, proc, time.time() + TIMEOUT)
        assert hit is not None, proc.communicate(timeout=TIMEOUT)[0]
        os.kill(hit[1], signal.SIGKILL)  # the worker process computing that spec
        out = proc.communicate(timeout=TIMEOUT)[0]
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "4 planned: 0 already stored, 4 computed, 0 failed" in out
    assert records(root) == subset_of(records(serial_store))
    assert not list(root.glob("*.claim"))


def test_ctrl_c_stops_cleanly_and_a_rerun_continues(serial_store, tmp_path):
    root = tmp_path / "interrupted"
    # SIGINT as a terminal delivers it: a test run started in the background (`cmd &` in a script)
    # inherits SIGINT *ignored*, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen(zcpt(*GRID, *SUBSET, *LOCAL, "--results-dir", str(root)), env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert _first_claim_pid(root, proc, time.time() + TIMEOUT) is not None
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=TIMEOUT)[0]
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    assert "interrupted: run the same command again to continue" in out
    assert main(GRID + SUBSET + ["--executor", "serial", "--results-dir", str(root), "--quiet"]) == 0
    assert records(root) == subset_of(records(serial_store))


def test_sweep_on_a_separately_started_scheduler_and_two_workers(serial_store, tmp_path, capsys):
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(scheduler_file), "--idle-timeout", "300"],
                              env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(subprocess.Popen(dask + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                                  "--resources", "spec=1", "--no-dashboard", "--death-timeout", "60"],
                                          env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        root = tmp_path / "external"
        assert main(GRID + ["--scheduler", address, "--results-dir", str(root)]) == 0
        err = capsys.readouterr().err
        assert f"connected to the Dask scheduler at {address}" in err
        assert "12 planned: 0 already stored, 12 computed, 0 failed [dask" in err
        assert records(root) == records(serial_store)
        assert main(GRID + ["--scheduler", str(scheduler_file), "--results-dir", str(root), "--quiet"]) == 0
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
