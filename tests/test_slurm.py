"""`zcpt reproduce --cluster slurm`: the options (no SLURM needed), then a real single-node SLURM
(tests/slurm_cluster.py: munged, slurmctld and slurmd as root on 127.0.0.1; skipped, with the
reason, where it cannot run): Table 2's smoke grid in worker jobs gives the serial records, a
worker job cancelled mid-spec is survived, a re-run submits nothing, and a GPU job gets its GPU."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zcpt_analysis.cli import main
from zcpt_analysis.errors import ZcptError
from zcpt_analysis.runs.slurm import JOB_NAME, job_settings, slurm_options

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slurm_cluster import single_node_slurm, unavailable_reason  # noqa: E402
from test_reproduce import claim_pid, env, records  # noqa: E402

TABLE2 = ["reproduce", "table2", "--preset", "smoke"]
"""Table 2's six orderings, seed 0, in the smoke preset: six tiny searches."""
JOBS = ["--cluster", "slurm", "--max-jobs", "2", "--slurm-option", "interface=lo", "--slurm-option", "memory=3GB",
        "--slurm-option", "time=00:10:00", "--dashboard-address", "none"]
"""Two worker jobs of one core (the test node has two), on the loopback interface."""
FAST_LEASES = {"DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": "3s",
               "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL": "1s",
               "DASK_DISTRIBUTED__DEPLOY__LOST_WORKER_TIMEOUT": "2s"}
"""A cancelled job's cluster lock is free after 3 s (default 30 s) and its job replaced after 2 s
(default 15 s): the retried spec starts sooner; nothing else changes."""
TIMEOUT = 240


# ============================================================================= options (no SLURM)
def test_slurm_options_are_checked_before_any_work(tmp_path, capsys):
    with pytest.raises(ZcptError, match="time given twice \\(as walltime\\)"):
        slurm_options(["time=01:00:00", "walltime=02:00:00"])
    with pytest.raises(ZcptError, match="memory given twice"):
        slurm_options(["memory=4GB", "memory=8GB"])
    with pytest.raises(ZcptError, match="unknown --slurm-option 'nodes'; valid: partition, account, time"):
        slurm_options(["nodes=2"])
    with pytest.raises(ZcptError, match="not a SLURM time"):
        slurm_options(["time=1h"])
    with pytest.raises(ZcptError, match="not an amount of memory"):
        slurm_options(["memory=lots"])
    with pytest.raises(ZcptError, match="one spec, which uses one GPU"):
        slurm_options(["gpus=2"])
    with pytest.raises(ZcptError, match="must look like KEY=VALUE"):
        slurm_options(["partition"])
    assert slurm_options({"walltime": "1-00:00:00", "account": 1234}).model_dump(exclude_none=True) == {
        "time": "1-00:00:00", "account": "1234"}

    root = str(tmp_path / "runs")
    for args, message in [
        (["--cluster", "slurm", "--slurm-option", "time=1:00:00", "--slurm-option", "walltime=2:00:00"],
         "--slurm-option time given twice"),
        (["--cluster", "slurm", "--slurm-option", "gpu=1"], "unknown --slurm-option 'gpu'"),
        (["--slurm-option", "partition=gpu"], "--slurm-option size(s) SLURM worker jobs: add --cluster slurm"),
        (["--max-jobs", "4"], "--max-jobs size(s) SLURM worker jobs"),
        (["--cluster", "slurm", "--max-jobs", "0"], "--max-jobs must be at least 1"),
        (["--cluster", "slurm", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler cannot go with it"),
        (["--cluster", "slurm", "--executor", "serial"], "--executor serial cannot go with it"),
        (["--cluster", "slurm", "--workers", "2"], "--workers cannot go with it"),
    ]:
        assert main(TABLE2 + args + ["--results-dir", root]) == 2, args
        assert message in capsys.readouterr().err, args
    assert not (tmp_path / "runs").exists()


def test_without_sbatch_the_error_says_where_to_run(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    assert main(TABLE2 + ["--cluster", "slurm", "--slurm-option", "memory=1GB", "--results-dir",
                          str(tmp_path / "runs")]) == 2
    assert "sbatch, which is not on PATH here: run it on a login node" in capsys.readouterr().err
    assert not list((tmp_path / "runs").glob("*.json"))


def test_job_script_asks_slurm_for_what_the_options_say(tmp_path):
    pytest.importorskip("dask_jobqueue")
    from dask_jobqueue.slurm import SLURMJob

    def script(*items: str) -> str:
        settings = job_settings(slurm_options(list(items)), tmp_path)
        return SLURMJob(scheduler="tcp://127.0.0.1:8786", name="w", **settings).job_script()

    gpu = script("partition=gpu", "account=proj1", "time=04:00:00", "memory=16GB", "cores=4", "gpus=a100:1",
                 "qos=high", "constraint=ib")
    for line in ["#SBATCH -J zcpt-worker", "#SBATCH -p gpu", "#SBATCH -A proj1", "#SBATCH -t 04:00:00",
                 "#SBATCH --mem=15G", "#SBATCH --cpus-per-task=4", "#SBATCH --gres=gpu:a100:1", "#SBATCH --qos=high",
                 "#SBATCH --constraint=ib", f"#SBATCH -o {tmp_path.resolve()}/slurm-logs/zcpt-worker-%J.out"]:
        assert line in gpu.splitlines(), (line, gpu)
    assert "--nthreads 4" in gpu and "--resources spec=1,GPU=1" in gpu
    with pytest.raises(ZcptError, match="how much memory each worker job gets: --slurm-option memory=16GB"):
        script("partition=gpu")
    cpu = script("memory=4GB", "gpus=0", f"logs={tmp_path / 'logs'}")
    assert "--gres" not in cpu and re.search(r"--resources spec=1(\s|$)", cpu, re.M) and "--nthreads 1" in cpu
    assert f"#SBATCH -e {tmp_path / 'logs'}/zcpt-worker-%J.err" in cpu.splitlines()


# ============================================================================= a real SLURM
@pytest.fixture(scope="module")
def slurm():
    """munged + slurmctld + slurmd on 127.0.0.1 for this module's tests (skipped with the reason
    where they cannot run: not root, SLURM not installed)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("dask_jobqueue")
    with single_node_slurm() as cluster:
        yield cluster


def _job_of(pid: int) -> str | None:
    """The SLURM job a process runs in (its ``SLURM_JOB_ID``)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"SLURM_JOB_ID=")]
    return found[0] if found else None


def _cancel_mid_spec(slurm, root: Path, proc: subprocess.Popen, deadline: float) -> tuple[str, str, list[dict]]:
    """``scancel`` a worker job while it computes a spec: wait for a spec's claim, suspend its job
    (``scontrol suspend``: its processes stop), make sure the spec is still unfinished, then resume
    and cancel the job. Returns the job, the record and the queue seen just before."""
    while proc.poll() is None and time.time() < deadline:
        for claim in root.glob("*.claim"):
            pid = claim_pid(claim)
            job = _job_of(pid) if pid and pid != proc.pid else None
            if job is None:
                continue
            slurm.run("scontrol", "suspend", job)
            record = root / claim.name[:-len(".claim")]
            try:
                unfinished = json.loads(claim.read_text()).get("pid") == pid and (
                    not record.exists() or json.loads(record.read_text()).get("status") != "complete")
            except (OSError, ValueError):
                unfinished = False
            if unfinished:
                queue = slurm.jobs(JOB_NAME)
                # resume, then cancel at once: a suspended job's stopped processes did not always get
                # scancel's signals here (seen once: they stayed stopped, holding the spec's lock); the
                # spec takes seconds, so it is still mid-spec when the SIGTERM arrives milliseconds later
                slurm.run("scontrol", "resume", job)
                slurm.run("scancel", job)
                return job, record.name, queue
            slurm.run("scontrol", "resume", job)  # it had just finished that spec: try the next one
        time.sleep(0.05)
    ended = proc.communicate(timeout=TIMEOUT)[0] if proc.poll() is not None else "(still running)"
    raise AssertionError(f"no worker job was caught computing a spec; zcpt reproduce said:\n{ended}")


@pytest.mark.xdist_group("slurm")
def test_reproduce_on_slurm_matches_serial_survives_scancel_and_a_rerun_submits_nothing(slurm, tmp_path, monkeypatch,
                                                                                          capsys):
    earlier = {j["id"] for j in slurm.finished_jobs()}
    serial = tmp_path / "serial"
    assert main(TABLE2 + ["--executor", "serial", "--results-dir", str(serial), "--quiet"]) == 0
    reference = records(serial)
    assert len(reference) == 6

    root = tmp_path / "slurm"
    # not zcpt --threads 1 (test_reproduce's zcpt()): on SLURM a spec's threads are its job's cores
    proc = subprocess.Popen([sys.executable, "-m", "zcpt_analysis", *TABLE2, *JOBS, "--results-dir", str(root)],
                            env=dict(env(), SLURM_CONF=str(slurm.conf), **FAST_LEASES),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        job, record, queue = _cancel_mid_spec(slurm, root, proc, time.time() + TIMEOUT)
        out = proc.communicate(timeout=TIMEOUT)[0]
    finally:
        proc.kill()
    (tmp_path / "reproduce.log").write_text(out)  # kept for a look (pytest --basetemp DIR)
    print(out)
    assert proc.returncode == 0, out
    assert "started a SLURM cluster: up to 2 worker job(s) (sbatch -n 1 --cpus-per-task=1 --mem=3G -t 00:10:00)" in out
    assert "6 planned: 0 already stored, 6 computed, 0 failed [dask" in out
    assert out.count(f"start {record} on ") == 2  # the cancelled job's spec was retried elsewhere ...
    assert records(root) == reference  # ... and its record, like every other, is the serial one
    assert not list(root.glob("*.claim"))
    # squeue showed the worker jobs on the node; the one caught mid-spec was suspended
    assert {j["id"]: j["state"] for j in queue}[job] == "SUSPENDED"
    assert all(j["name"] == JOB_NAME and j["node"] == "zcpt0" for j in queue if j["state"] != "PENDING")
    # sacct: every worker job has ended (closing the cluster cancels them), the caught one by scancel
    accounting = slurm.accounting()
    (tmp_path / "sacct.txt").write_text(f"cancelled mid-spec: job {job} ({record})\n{accounting}")
    print(accounting)
    finished = {j["id"]: j for j in slurm.finished_jobs() if j["id"] not in earlier}
    assert finished[job]["state"] == "CANCELLED" and len(finished) >= 2
    assert {j["name"] for j in finished.values()} == {JOB_NAME}
    assert not slurm.jobs(JOB_NAME)
    logs = {p.name for p in (root / "slurm-logs").iterdir()}  # (a job cancelled while pending has none)
    assert {f"zcpt-worker-{job}.out", f"zcpt-worker-{job}.err"} <= logs
    assert logs <= {f"zcpt-worker-{j}.{ext}" for j in finished for ext in ("err", "out")}

    # a re-run finds everything stored: no cluster, no job
    before = {p.name: p.stat().st_mtime_ns for p in root.glob("*.json")}
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    capsys.readouterr()
    assert main(TABLE2 + JOBS + ["--results-dir", str(root)]) == 0
    err = capsys.readouterr().err
    assert "6 spec(s) planned, 6 already stored, 0 to run" in err and "SLURM cluster" not in err
    assert {p.name: p.stat().st_mtime_ns for p in root.glob("*.json")} == before
    assert len(slurm.finished_jobs()) == len(earlier) + len(finished) and not slurm.jobs()


@pytest.mark.xdist_group("slurm")
def test_a_gpu_worker_job_gets_a_gpu_from_slurm_and_declares_it(slurm, tmp_path, monkeypatch):
    """... and ``zc.reproduce(client=...)`` runs on such a cluster, built in Python."""
    from distributed import Client

    import zcpt_analysis as zc
    from zcpt_analysis.runs.slurm import slurm_cluster
    from zcpt_analysis.runs.sweep import GPU_RESOURCE, SPEC_RESOURCE

    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    options = {"gpus": 1, "interface": "lo", "memory": "3GB", "time": "00:05:00"}
    with slurm_cluster(options, max_jobs=1, store_root=tmp_path) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=TIMEOUT)
        (worker,) = client.scheduler_info()["workers"].values()
        assert worker["resources"] == {SPEC_RESOURCE: 1, GPU_RESOURCE: 1}
        (seen,) = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("SLURM_JOB_ID"))).values()
        (job,) = slurm.jobs(JOB_NAME)
        assert seen == ("0", job["id"])  # SLURM gave the job the node's (fake) GPU
        assert "gpu:1" in slurm.run("squeue", "-h", "-j", job["id"], "-o", "%b")
        result = zc.reproduce(["table2"], "smoke", tmp_path / "runs", client, only={"order": ["random"]},
                              progress=False)
    assert result.ok and len(result.computed) == 1 and result.executor == "dask", result.summary()
