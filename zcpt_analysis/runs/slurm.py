"""Worker jobs on a SLURM cluster: ``zcpt reproduce --cluster slurm`` and ``zc.reproduce(cluster="slurm")``.

:func:`slurm_cluster` starts a Dask cluster through dask-jobqueue's ``SLURMCluster``: the Dask
scheduler runs in this process (on the login node, where the user typed the command), and every
worker is one SLURM batch job (``sbatch``) running one Dask worker. That worker declares the
resource ``spec=1`` -- it runs one spec at a time with all the job's cores as torch threads -- and,
in a job that asked SLURM for a GPU (``gpus=1``: ``#SBATCH --gres=gpu:1``), also ``GPU=1``, which
the sweep's GPU specs ask for (:func:`~zcpt_analysis.runs.sweep.wants_gpu`). What a job asks SLURM
for is :class:`SlurmOptions` (``--slurm-option KEY=VALUE``: partition, account, time, memory,
cores, gpus, qos, constraint, interface, logs); a key it does not name comes from
dask-jobqueue's configuration (``jobqueue.slurm`` in ``~/.config/dask/jobqueue.yaml``, where a
site keeps its defaults).

How many jobs: :class:`SpecAdaptive` keeps one job per spec that can run now (running, or
waiting for a worker; not one waiting for another spec's supernet), at least one and at most
``max_jobs``. A job that ends early (``scancel``, its time limit, a node failure) is replaced while
specs are left; its running spec is retried by Dask and resumes from its partial record (the
sweep's contract, :mod:`~zcpt_analysis.runs.sweep`). A job with nothing left to run is released
after three idle seconds, and closing the cluster (the end of the sweep, Ctrl-C) cancels every job.

The results store must be on a file system every job sees, at the same path. Two locks keep two
jobs off one spec (:func:`~zcpt_analysis.runs.sweep.run_task`): the store's ``flock`` on
``<record>.lock`` (:mod:`~zcpt_analysis.runs.store`: on NFSv4 or a Linux NFS client's ``fcntl``
emulation, held by the server; freed when the job's process dies, or when the server's lease on a
failed node expires) and the scheduler's
``distributed.Lock`` named after the record's path (freed when a dead worker's lease times out), which
still decides where the file system has no working locks. Records are written by atomic rename
(``os.replace`` within the store's folder), which NFS and parallel file systems keep atomic.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated, Any, Mapping, Optional

import dask
from dask.utils import parse_bytes
from distributed.deploy import Adaptive
from pydantic import BeforeValidator, field_validator

from ..errors import ZcptError
from ..options import Settings, parse_key_value, plain
from ..paths import display

JOB_NAME = "zcpt-worker"
"""SLURM job name of every worker job (``squeue -n zcpt-worker``)."""
DEFAULT_MAX_JOBS = 8
"""Worker jobs at most, unless ``--max-jobs`` says otherwise."""
LOG_FOLDER = "slurm-logs"
"""Worker jobs' logs (``zcpt-worker-<job id>.out/.err``), by default in this folder of the store."""
ALIASES = {"walltime": "time", "mem": "memory", "queue": "partition"}
"""Other names of a key (dask-jobqueue's and sbatch's); a key and its alias together are one key given twice."""


def _text(value: Any) -> Any:
    """``--slurm-option account=1234`` parses the value as a number; SLURM wants the text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[Optional[str], BeforeValidator(_text)]

_TIME = re.compile(r"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2})$")
"""SLURM's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
days-hours:minutes, days-hours:minutes:seconds."""
_GPUS = re.compile(r"^(?:(?P<type>[A-Za-z0-9_.-]+):)?(?P<count>\d+)$")


class SlurmOptions(Settings):
    """What each worker job asks SLURM for (``--slurm-option KEY=VALUE``). None: dask-jobqueue's
    configuration (``jobqueue.slurm.*``) decides, or its default (time 00:30:00; ``cores`` 1;
    ``memory`` must be given somewhere)."""

    partition: Text = plain(None, identity=False)
    """``#SBATCH -p``: the partition (alias ``queue``)."""
    account: Text = plain(None, identity=False)
    """``#SBATCH -A``: the account charged."""
    time: Text = plain(None, identity=False)
    """``#SBATCH -t``: time limit of each worker job, SLURM's format (``04:00:00``, ``1-00:00:00``; alias ``walltime``)."""
    memory: Text = plain(None, identity=False)
    """``#SBATCH --mem``: memory of each worker job (``16GB``; alias ``mem``); also the Dask worker's memory limit."""
    cores: Optional[int] = plain(None, identity=False, ge=1)
    """``#SBATCH --cpus-per-task``: CPU cores of each worker job = torch threads of its spec (default 1)."""
    gpus: Text = plain(None, identity=False)
    """``#SBATCH --gres=gpu:1``: 1 (or ``TYPE:1``, e.g. ``a100:1``) gives each job one GPU and its worker ``GPU=1``; 0: none."""
    qos: Text = plain(None, identity=False)
    """``#SBATCH --qos``."""
    constraint: Text = plain(None, identity=False)
    """``#SBATCH --constraint``: node features."""
    interface: Text = plain(None, identity=False)
    """Network interface of the scheduler and the workers (``ib0``; default: the host name's address)."""
    logs: Text = plain(None, identity=False)
    """Folder of the worker jobs' logs (default ``<results store>/slurm-logs``)."""

    @field_validator("time")
    @classmethod
    def _slurm_time(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not _TIME.match(value.strip()):
            raise ZcptError(f"--slurm-option time={value!r} is not a SLURM time: minutes, MM:SS, HH:MM:SS, D-HH, "
                            "D-HH:MM or D-HH:MM:SS (e.g. time=04:00:00)")
        return None if value is None else value.strip()

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                if parse_bytes(value) <= 0:
                    raise ValueError(value)
            except ValueError:
                raise ZcptError(f"--slurm-option memory={value!r} is not an amount of memory (e.g. memory=16GB, "
                                "memory=4000MB)") from None
        return value

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        match = _GPUS.match(value.strip())
        if match is None or int(match["count"]) > 1:
            raise ZcptError(f"--slurm-option gpus={value!r}: a worker job runs one spec, which uses one GPU: gpus=1, "
                            "gpus=TYPE:1 (e.g. gpus=a100:1) or gpus=0")
        return value.strip()

    @property
    def gpu_gres(self) -> Optional[str]:
        """``gpu:1`` / ``gpu:TYPE:1`` when each job asks for a GPU, else None."""
        if self.gpus is None:
            return None
        match = _GPUS.match(self.gpus)
        assert match is not None
        if int(match["count"]) == 0:
            return None
        return f"gpu:{match['type']}:1" if match["type"] else "gpu:1"


def slurm_options(given: Any = None) -> SlurmOptions:
    """:class:`SlurmOptions` from ``KEY=VALUE`` texts (``--slurm-option``), a mapping or itself.
    A key given twice (an alias counts as its key) and a key not listed are errors naming the valid keys."""
    if isinstance(given, SlurmOptions):
        return given
    pairs = list(given.items()) if isinstance(given, Mapping) else \
        [parse_key_value(item, "--slurm-option") for item in given or []]
    valid = list(SlurmOptions.model_fields)
    values: dict[str, Any] = {}
    for key, value in pairs:
        name = ALIASES.get(key, key)
        if name not in valid:
            raise ZcptError(f"unknown --slurm-option {key!r}; valid: {', '.join(valid)} "
                            f"(also {', '.join(f'{a} = {k}' for a, k in ALIASES.items())})")
        if name in values:
            raise ZcptError(f"--slurm-option {name} given twice" + (f" (as {key})" if key != name else "")
                            + "; give each key once")
        values[name] = value
    return SlurmOptions(**values)


def check_max_jobs(max_jobs: Optional[int]) -> int:
    """``max_jobs`` (default :data:`DEFAULT_MAX_JOBS`), checked."""
    if max_jobs is None:
        return DEFAULT_MAX_JOBS
    if int(max_jobs) < 1:
        raise ZcptError(f"--max-jobs must be at least 1, got {max_jobs}")
    return int(max_jobs)


def job_settings(options: SlurmOptions, store_root: str | Path) -> dict[str, Any]:
    """The worker jobs' part of ``SLURMCluster``'s keyword arguments (what each job asks SLURM
    for, how its worker starts); keys of ``options`` left None are left to dask-jobqueue's
    configuration. ``cores`` falls back to 1 where that configuration has none; ``memory`` must be
    given or configured."""
    gres = options.gpu_gres
    resources = "spec=1,GPU=1" if gres else "spec=1"
    settings: dict[str, Any] = {
        "processes": 1, "job_name": JOB_NAME, "worker_extra_args": ["--resources", resources],
        "log_directory": str(Path(options.logs) if options.logs else Path(store_root).resolve() / LOG_FOLDER)}
    for key, argument in (("partition", "queue"), ("account", "account"), ("time", "walltime"), ("memory", "memory"),
                          ("cores", "cores"), ("interface", "interface")):
        value = getattr(options, key)
        if value is not None:
            settings[argument] = value
    if "cores" not in settings and dask.config.get("jobqueue.slurm.cores", None) is None:
        settings["cores"] = 1
    if "memory" not in settings and dask.config.get("jobqueue.slurm.memory", None) is None:
        raise ZcptError("--cluster slurm: say how much memory each worker job gets: --slurm-option memory=16GB "
                        "(or jobqueue.slurm.memory in ~/.config/dask/jobqueue.yaml)")
    directives = [f"--{key}={value}" for key, value in (("qos", options.qos), ("constraint", options.constraint))
                  if value is not None]
    if gres:
        directives.append(f"--gres={gres}")
    settings["job_extra_directives"] = directives
    return settings


class SpecAdaptive(Adaptive):
    """Adaptive scaling for specs: one worker job per spec that can run now -- running or waiting
    for a worker -- within the minimum and maximum (distributed's default divides the estimated
    work by a target duration and the workers' threads, which suits many short tasks; a spec is
    minutes to hours on a worker of its own). It reads the scheduler of this process (a
    ``SLURMCluster`` runs its scheduler here)."""

    async def target(self) -> int:
        scheduler = self.cluster.scheduler
        return (len(scheduler.queued) + len(scheduler.unrunnable)
                + sum(len(ws.processing) for ws in scheduler.workers.values()))


def slurm_cluster(options: Any = None, max_jobs: Optional[int] = None, store_root: str | Path = ".",
                  dashboard_address: Optional[str] = None) -> Any:
    """A ``SLURMCluster`` of worker jobs (module docstring) scaled by :class:`SpecAdaptive` up to
    ``max_jobs``; ``options``: :class:`SlurmOptions` or what :func:`slurm_options` reads.
    ``dashboard_address``: the scheduler's dashboard (``HOST:PORT``), None for none. Close it
    (``with`` or ``.close()``) to cancel its jobs."""
    options = slurm_options(options)
    max_jobs = check_max_jobs(max_jobs)
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ZcptError("--cluster slurm needs dask-jobqueue: pip install 'zcpt-analysis[slurm]' (or pip install "
                        "dask-jobqueue)") from None
    if shutil.which("sbatch") is None:
        raise ZcptError("--cluster slurm submits worker jobs with sbatch, which is not on PATH here: run it on a login "
                        "node of the SLURM cluster")
    settings = job_settings(options, store_root)
    Path(settings["log_directory"]).mkdir(parents=True, exist_ok=True)
    # the site's scheduler options (jobqueue.slurm.scheduler-options), with this run's dashboard
    scheduler = dict(dask.config.get("jobqueue.slurm.scheduler-options", None) or {})
    scheduler.update({"dashboard_address": dashboard_address} if dashboard_address else {"dashboard": False})
    try:
        cluster = SLURMCluster(scheduler_options=scheduler, silence_logs="error", **settings)
    except ValueError as exc:  # a setting dask-jobqueue refuses (e.g. from a site's configuration)
        raise ZcptError(f"--cluster slurm: {exc}") from None
    cluster.adapt(minimum_jobs=1, maximum_jobs=max_jobs, Adaptive=SpecAdaptive, interval="1s", wait_count=3)
    return cluster


def describe(cluster: Any, max_jobs: int) -> str:
    """``"up to 8 worker job(s) (sbatch -p gpu --cpus-per-task=4 --mem=15G -t 04:00:00 --gres=gpu:1); logs in
    DIR; scheduler tcp://..."``: what each job asks SLURM for, read from the cluster's job script."""
    script = cluster.job_script()
    asked = [line.split(None, 1)[1] for line in script.splitlines()
             if line.startswith("#SBATCH") and not line.startswith(("#SBATCH -J", "#SBATCH -e", "#SBATCH -o"))]
    logs = re.search(r"^#SBATCH -o (.+)/[^/]+$", script, re.M)
    return (f"up to {max_jobs} worker job(s) (sbatch {' '.join(asked)}); scheduler {cluster.scheduler_address}"
            + (f"; logs in {display(logs.group(1))}" if logs else ""))


__all__ = ["ALIASES", "DEFAULT_MAX_JOBS", "JOB_NAME", "SlurmOptions", "SpecAdaptive", "check_max_jobs", "describe",
           "job_settings", "slurm_cluster", "slurm_options"]
