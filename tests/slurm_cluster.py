"""A real single-node SLURM for the tests: ``munged``, ``slurmctld`` and ``slurmd`` of Debian's
``slurm-wlm`` / ``munge`` packages, started as root on 127.0.0.1 from a generated ``slurm.conf``.

Everything lives in one temporary folder (munge key and socket, state, spool, logs) and goes
with it: the daemons run in the foreground as children of the test process, are stopped in a
``finally`` (after every job of theirs is cancelled), and every wait is bounded. Clients find the
cluster through ``SLURM_CONF`` (:attr:`SingleNodeSlurm.env`), which names the config; the munge
socket is in the config (``AuthInfo``), so no system-wide file is touched.

The config is the smallest that runs real batch jobs: one node described by ``slurmd -C`` (this
machine's sockets, cores, threads), one partition, no cgroups (``proctrack/linuxproc``,
``task/none``), ``select/cons_tres`` with cores and memory as consumable resources, one fake GPU
(``Gres=gpu:1`` backed by ``/dev/null``: SLURM allocates them and sets ``CUDA_VISIBLE_DEVICES``,
nothing computes on them). Accounting without ``slurmdbd`` (and its database): job completion
records in a text file (``JobCompType=jobcomp/filetxt``), which ``sacct --completion`` reads.

Run ``python tests/slurm_cluster.py`` (as root) to start one by hand: it prints the
``export SLURM_CONF=...`` line and keeps the cluster up until Ctrl-C.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sacct", "scancel", "scontrol", "sinfo")
NODE = "zcpt0"
PARTITION = "zcpt"
GPUS = 1
"""Fake GPUs of the node (``/dev/null``, one per file): enough to check that a job asking for one gets it."""
MEMORY_MB = 8192
"""The node's memory for SLURM (at most the machine's): two worker jobs of 3 GB fit. Each job's memory is also
its Dask worker's budget, and a torch worker (allocator set up to keep freed memory) needs more than 1 GB."""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def unavailable_reason() -> Optional[str]:
    """Why a SLURM cluster cannot be started here (None: it can). Installing it is ``.ci/run``'s
    job (``make slurm``: ``apt-get install slurm-wlm munge`` as root)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the test SLURM cluster runs its daemons as root (munged, slurmctld, slurmd); not root here"
    missing = [p for p in DAEMONS + CLIENTS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]
    if missing:
        return (f"SLURM is not installed ({', '.join(missing)} missing): `make slurm` installs Debian's slurm-wlm "
                "and munge (needs root and apt-get)")
    return None


def _which(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line() -> str:
    """This machine as ``slurmd -C`` describes it (boards, sockets, cores, threads)."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30, check=True,
                         env=dict(os.environ, SLURM_CONF=os.devnull)).stdout
    first = out.splitlines()[0].split()
    hardware = {k: v for k, v in (w.split("=", 1) for w in first if "=" in w)}
    keep = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    memory = min(MEMORY_MB, int(hardware.get("RealMemory", MEMORY_MB)))
    return " ".join(f"{k}={hardware[k]}" for k in keep if k in hardware) + f" RealMemory={memory}"


@dataclass
class SingleNodeSlurm:
    """A running single-node SLURM (see the module docstring)."""

    root: Path
    conf: Path
    jobcomp: Path
    cpus: int
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 30.0, check: bool = True) -> str:
        """A SLURM client command (``squeue``, ``sacct``, ...) against this cluster; its stdout."""
        out = subprocess.run([_which(args[0]), *args[1:]], env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def jobs(self, name: Optional[str] = None) -> list[dict[str, str]]:
        """The queue (``squeue``): id, name, state, node of each job (of ``name`` only, if given)."""
        out = self.run("squeue", "-h", "-o", "%i|%j|%T|%N", *(["-n", name] if name else []))
        return [dict(zip(("id", "name", "state", "node"), line.split("|"))) for line in out.splitlines() if line]

    def accounting(self, fields: str = "JobID,JobName%12,Partition,NodeList,State,ExitCode,Start,End,Elapsed") -> str:
        """``sacct --completion`` (the jobcomp/filetxt records of finished jobs)."""
        return self.run("sacct", "--completion", "-o", fields)

    def finished_jobs(self) -> list[dict[str, str]]:
        """Finished jobs from the completion records: id, name, state."""
        out = self.run("sacct", "--completion", "-n", "-P", "-o", "JobID,JobName,State")
        return [dict(zip(("id", "name", "state"), line.split("|"))) for line in out.splitlines() if line]

    def log(self, daemon: str) -> str:
        path = self.root / "log" / f"{daemon}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _write_config(root: Path, host: str) -> tuple[Path, Path, int]:
    run, log = root / "run", root / "log"
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    node = _node_line()
    cpus = int(dict(w.split("=") for w in node.split())["CPUs"])
    jobcomp = log / "jobcomp.txt"
    (root / "gres.conf").write_text(f"NodeName={NODE} Name=gpu File=/dev/null\n")
    conf = root / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=zcpt-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={run / 'munge.sock'}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={run / 'slurmctld.pid'}",
        f"SlurmdPidFile={run / 'slurmd.pid'}",
        f"SlurmctldLogFile={log / 'slurmctld.log'}",
        f"SlurmdLogFile={log / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/builtin",
        "MpiDefault=none",
        "MailProg=/bin/true",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/filetxt",
        f"JobCompLoc={jobcomp}",
        "ReturnToService=2",
        "KillWait=5",
        "GresTypes=gpu",
        f"NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 {node} Gres=gpu:{GPUS} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
        ""]))
    return conf, jobcomp, cpus


def _wait(what: str, ready, cluster: SingleNodeSlurm, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in cluster.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for {what}:\n{cluster.log(name)}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                       + "\n".join(f"--- {n}\n{cluster.log(n)}" for n in cluster.procs))


@contextlib.contextmanager
def single_node_slurm() -> Iterator[SingleNodeSlurm]:
    """Start munged, slurmctld and slurmd (see the module docstring); stop them on exit."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    # a short path: the munge socket's path must fit a Unix socket address (108 bytes)
    root = Path(tempfile.mkdtemp(prefix="zcpt-slurm-"))
    for sub in ("run", "log", "state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf, jobcomp, cpus = _write_config(root, host)
    cluster = SingleNodeSlurm(root, conf, jobcomp, cpus, env=dict(os.environ, SLURM_CONF=str(conf)))
    run, log = root / "run", root / "log"
    commands = {
        "munged": [_which("munged"), "--foreground", "--force", f"--key-file={root / 'munge.key'}",
                   f"--socket={run / 'munge.sock'}", f"--pid-file={run / 'munged.pid'}",
                   f"--seed-file={run / 'munged.seed'}", f"--log-file={log / 'munged.log'}"],
        "slurmctld": [_which("slurmctld"), "-D", "-i"],
        "slurmd": [_which("slurmd"), "-D", "-N", NODE],
    }
    try:
        for name, command in commands.items():
            with open(log / f"{name}.out", "wb") as out:
                cluster.procs[name] = subprocess.Popen(command, env=cluster.env, stdout=out, stderr=subprocess.STDOUT,
                                                       stdin=subprocess.DEVNULL, start_new_session=True)
            if name == "munged":
                _wait("the munge socket", lambda: (run / "munge.sock").exists(), cluster)
            elif name == "slurmctld":
                _wait("slurmctld to answer", lambda: cluster.run("scontrol", "ping", timeout=5).count("UP") > 0,
                      cluster)
        _wait(f"node {NODE} to be idle",
              lambda: cluster.run("sinfo", "-h", "-n", NODE, "-o", "%T", timeout=5).strip() == "idle", cluster)
        yield cluster
    finally:
        _stop(cluster)
        shutil.rmtree(root, ignore_errors=True)


def _stop(cluster: SingleNodeSlurm) -> None:
    """Cancel every job (bounded wait for the queue to empty), then stop the daemons, newest first."""
    if "slurmctld" in cluster.procs and cluster.procs["slurmctld"].poll() is None:
        with contextlib.suppress(Exception):
            cluster.run("scancel", "--full", "--partition", PARTITION, timeout=10, check=False)
            deadline = time.monotonic() + STOP_TIMEOUT
            while cluster.jobs() and time.monotonic() < deadline:  # squeue lists unfinished jobs only
                time.sleep(0.5)
    for name in reversed(list(cluster.procs)):
        proc = cluster.procs[name]
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)


if __name__ == "__main__":
    with single_node_slurm() as slurm:
        print(f"export SLURM_CONF={slurm.conf}\n(Ctrl-C stops the cluster)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while all(p.poll() is None for p in slurm.procs.values()):
                time.sleep(1)
