"""Running many run specs -- what ``zcpt reproduce`` and ``zc.reproduce`` do once they have planned.

Two executors, one contract: every spec is one task, :func:`run_task`, which calls
``ResultStore.run(spec)`` (the record is written atomically through the store, under the spec's
lock, so no two processes ever compute the same spec); a failing spec is recorded with its error
and command and does not stop the others; specs whose complete record is in the store are never
submitted, so a re-run continues where the last one stopped (an interrupted spec resumes from its
partial record).

* :func:`run_serial` -- in this process, one spec after the other.
* :func:`run_dask` -- one Dask task per spec on a ``distributed`` cluster: a local one
  (:func:`local_cluster`) or any running scheduler (``dask scheduler`` + ``dask worker``,
  dask-jobqueue, ...). Workers that declare the resource ``spec=1`` (the local cluster's do) run
  one spec at a time with all their threads (``torch.set_num_threads(nthreads)``); other workers
  run up to ``nthreads`` specs at once, one torch thread each. A spec meant for a GPU (its device
  is not ``cpu``) asks for the resource ``GPU=1`` when some worker declares it. A task whose
  worker dies is rescheduled by Dask (up to ``distributed.scheduler.allowed-failures`` times,
  default 3) and resumes from the partial record the dead worker left (the spec's file lock went
  with the dead process, its cluster lock, :func:`cluster_lock`, with the process's scheduler lease;
  the cluster lock keeps two workers off one spec where the store's file system has no working
  file locks). Specs that
  share a trained supernet (:meth:`RunSpec.shared_supernet`: DARTS and DARTS-PT of one seed, the
  training-based operation scores of one setting) run one after the other, so that the supernet is
  trained once and the later ones resume its finished checkpoint.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import ZcptError
from ..paths import display
from .costs import CostModel, format_seconds
from .specs import RunSpec
from .store import ResultStore

SPEC_RESOURCE = "spec"
"""Worker resource: a worker declaring ``spec=1`` runs one spec at a time, with all its threads."""
GPU_RESOURCE = "GPU"
"""Worker resource of a worker with one GPU (specs whose device is not ``cpu`` ask for it)."""
EVENT_TOPIC = "zcpt-reproduce"
"""Dask event topic on which a task announces its start (for the running count and the ETA)."""
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 60.0
"""Progress: a status line at least this often while nothing changes."""


# ============================================================================= results
@dataclass
class Failure:
    """A spec that failed: the error, the traceback's last lines and the command that reruns it."""

    spec: RunSpec
    error: str
    command: str
    where: str = ""


@dataclass
class SweepResult:
    """What a sweep did: the planned specs, those complete before it started, computed, failed."""

    root: Path
    planned: list[RunSpec]
    stored: list[RunSpec]
    computed: list[RunSpec] = field(default_factory=list)
    found: list[RunSpec] = field(default_factory=list)
    """Specs another process completed while this sweep ran (this one found their records)."""
    failed: list[Failure] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    executor: str = "serial"
    reports: list = field(default_factory=list)
    """The rendered notebooks (:class:`~zcpt_analysis.reports.NotebookRun`) when a report was asked for."""

    @property
    def ok(self) -> bool:
        """Everything planned is in the store."""
        done = len(self.stored) + len(self.computed) + len(self.found)
        return not self.failed and not self.interrupted and done == len(self.planned)

    def not_run(self) -> list[RunSpec]:
        """Planned specs that neither were stored nor finished (an interrupted sweep's rest)."""
        done = {s.record_name() for s in self.stored + self.computed + self.found + [f.spec for f in self.failed]}
        return [s for s in self.planned if s.record_name() not in done]

    def table(self):
        """One row per planned spec: record, kind, status (stored / computed / failed / not run), error."""
        import pandas as pd

        status = {s.record_name(): "stored" for s in self.stored}
        status.update({s.record_name(): "computed" for s in self.computed})
        status.update({s.record_name(): "computed elsewhere" for s in self.found})
        errors = {f.spec.record_name(): f.error for f in self.failed}
        status.update({name: "failed" for name in errors})
        return pd.DataFrame([{"record": s.record_name(), "kind": s.KIND,
                              "status": status.get(s.record_name(), "not run"), "error": errors.get(s.record_name(), "")}
                             for s in self.planned])

    def summary(self) -> str:
        """The closing report: counts, then every failure with its error and command."""
        elsewhere = f"{len(self.found)} computed by another process meanwhile, " if self.found else ""
        lines = [f"{len(self.planned)} planned: {len(self.stored)} already stored, {len(self.computed)} computed, "
                 f"{elsewhere}{len(self.failed)} failed" + (f", {len(self.not_run())} not run (interrupted)"
                                                  if self.interrupted else "")
                 + f" [{self.executor}, {format_seconds(self.seconds)}]; store {display(self.root)}"]
        for f in self.failed:
            lines.append(f"FAILED {f.spec.record_name()}: {f.error}")
            if f.where:
                lines.append(f"  at {f.where}")
            lines.append(f"  rerun: {f.command}")
        if self.interrupted:
            lines.append("interrupted: run the same command again to continue (finished records are kept, "
                         "interrupted searches resume)")
        return "\n".join(lines)


# ============================================================================= the task
def _current_worker() -> Any:
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def cluster_lock_name(root: str | Path, spec: RunSpec) -> str:
    """The name of ``spec``'s cluster-wide lock: its record's path (the same on every worker that
    mounts the store at the same path)."""
    return f"zcpt-record:{Path(root).resolve() / spec.record_name()}"


def cluster_lock(worker: Any, root: str | Path, spec: RunSpec) -> Any:
    """On a Dask worker, the scheduler's lock of ``spec``'s record (:func:`cluster_lock_name`), held
    while the task runs it, beside the store's file lock: two workers never compute one spec even
    where the store's file system has no working locks. The scheduler frees the lock of a dead
    worker when its lease times out (``distributed.scheduler.locks.lease-timeout``, 30 s by
    default). Outside Dask, nothing."""
    if worker is None:
        return contextlib.nullcontext()
    from distributed import Lock

    return Lock(cluster_lock_name(root, spec))


def worker_threads(worker: Any) -> int:
    """Torch threads of a task on ``worker``: all its threads if it runs one spec at a time
    (resource ``spec``), else 1."""
    state = getattr(worker, "state", None)
    if state is not None and SPEC_RESOURCE in getattr(state, "total_resources", {}):
        return max(1, int(state.nthreads))
    return 1


def run_task(spec: RunSpec, root: str, threads: Optional[int] = None, key: str = "",
             after: Any = None) -> dict[str, Any]:
    """Compute ``spec`` into the store at ``root`` with ``threads`` torch threads (None: the
    worker's, see :func:`worker_threads`). A failing spec does not raise: the result says
    ``ok: False`` with its error (KeyboardInterrupt and worker deaths are not caught). ``after``:
    the result of the task this one had to wait for (a Dask dependency; unused)."""
    import torch

    worker = _current_worker()
    if threads is None and worker is not None:
        threads = worker_threads(worker)
    if threads:
        torch.set_num_threads(int(threads))
    if worker is not None:
        worker.log_event(EVENT_TOPIC, {"key": key, "start": time.time(), "worker": str(worker.address)})
    start = time.perf_counter()
    try:
        with cluster_lock(worker, root, spec):
            _, computed = ResultStore(root).run_and_tell(spec)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, the sweep goes on
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "where": where,
                "seconds": time.perf_counter() - start}
    return {"ok": True, "computed": computed, "seconds": time.perf_counter() - start}


# ============================================================================= progress
class Progress:
    """Status lines ``[done/total done, running, failed, ETA]`` on stderr as tasks start and end.

    The ETA is the estimated work left (each unfinished spec's estimate, less what a running one
    has already run) spread over the cluster's slots, and never less than the longest single
    spec left; specs without an estimate count as the mean duration seen so far, and while
    nothing is known the ETA is "unknown"."""

    def __init__(self, specs: dict[str, RunSpec], costs: CostModel, slots: int, enabled: bool = True,
                 stream: Any = None):
        self.specs, self.costs, self.slots, self.enabled = specs, costs, max(1, slots), enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started: dict[str, float] = {}
        self.finished: dict[str, bool] = {}
        self.durations: list[float] = []
        self._lock = threading.Lock()
        self._last = 0.0
        self._news: list[tuple[str, str]] = []

    def start(self, key: str, when: Optional[float] = None, where: str = "") -> None:
        """Note that ``key`` started (``where``: its worker); thread-safe (Dask event handlers)."""
        with self._lock:
            if key in self.specs and key not in self.finished:
                self.started[key] = when if when is not None else time.time()
                self._news.append((key, where))

    def say_started(self) -> None:
        """One ``start`` line per spec started since the last call."""
        with self._lock:
            news, self._news = self._news, []
        for key, where in news:
            spec = self.specs[key]
            self.say(f"start {spec.record_name()}{' on ' + where if where else ''} "
                     f"({_estimate_text(self.costs, spec)})")

    def finish(self, key: str, ok: bool, seconds: Optional[float], record: Any = None) -> None:
        with self._lock:
            self.finished[key] = ok
            self.started.pop(key, None)
            if ok and seconds is not None:
                self.durations.append(seconds)
            if record is not None:
                self.costs.add(record)

    def eta(self) -> Optional[float]:
        now = time.time()
        with self._lock:
            left, unknown = [], 0
            for key, spec in self.specs.items():
                if key in self.finished:
                    continue
                est = self.costs.estimate(spec)
                if est is None:
                    unknown += 1
                    continue
                left.append(max(est.seconds - (now - self.started[key]), 0.0) if key in self.started else est.seconds)
            if unknown:
                if not self.durations:
                    return None
                left += [sum(self.durations) / len(self.durations)] * unknown
        return max(sum(left) / self.slots, max(left, default=0.0))

    def status(self) -> str:
        failed = sum(1 for ok in self.finished.values() if not ok)
        eta = self.eta()
        if eta is None:
            when = "unknown"
        elif eta < 1 and len(self.finished) < len(self.specs):
            when = "unknown (past the estimates)"
        else:
            when = format_seconds(eta)
        return (f"[{len(self.finished) - failed}/{len(self.specs)} done, {len(self.started)} running, {failed} failed, "
                f"ETA {when}]")

    def say(self, message: str = "") -> None:
        if self.enabled:
            print(f"zcpt reproduce {self.status()} {message}".rstrip(), file=self.stream, flush=True)
            self._last = time.time()

    def heartbeat(self) -> None:
        if time.time() - self._last >= HEARTBEAT_SECONDS:
            self.say()


def _estimate_text(costs: CostModel, spec: RunSpec) -> str:
    est = costs.estimate(spec)
    return f"est. {format_seconds(est.seconds)}" if est is not None else "est. unknown"


# ============================================================================= executors
def run_serial(specs: Sequence[RunSpec], store: ResultStore, threads: Optional[int] = None, progress: bool = True,
               costs: Optional[CostModel] = None, stored: Sequence[RunSpec] = ()) -> SweepResult:
    """Compute ``specs`` in this process, one after the other, with ``threads`` torch threads
    (None: as they are). Ctrl-C stops after cleaning up (the result says ``interrupted``)."""
    import torch

    costs = costs if costs is not None else CostModel()
    result = SweepResult(store.root, list(stored) + list(specs), list(stored), executor="serial")
    keyed = {spec.record_name(): spec for spec in specs}
    bar = Progress(keyed, costs, 1, progress)
    before = torch.get_num_threads()
    start = time.perf_counter()
    try:
        for key, spec in keyed.items():
            bar.start(key)
            bar.say_started()
            out = run_task(spec, str(store.root), threads, key)
            _finish(result, bar, store, key, spec, out)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        torch.set_num_threads(before)
        result.seconds = time.perf_counter() - start
    return result


def _finish(result: SweepResult, bar: Progress, store: ResultStore, key: str, spec: RunSpec,
            out: dict[str, Any]) -> None:
    if out.get("ok") and not out.get("computed", True):
        result.found.append(spec)
        bar.finish(key, True, None)
        bar.say(f"found {spec.record_name()} (computed by another process meanwhile)")
    elif out.get("ok"):
        result.computed.append(spec)
        record = _find(store, spec)
        bar.finish(key, True, out.get("seconds"), record)
        bar.say(f"done  {spec.record_name()} ({format_seconds(out.get('seconds'))})")
    else:
        result.failed.append(Failure(spec, str(out.get("error")), spec.command(display(store.root)),
                                     str(out.get("where", ""))))
        bar.finish(key, False, None)
        bar.say(f"FAILED {spec.record_name()}: {out.get('error')}")


def _find(store: ResultStore, spec: RunSpec) -> Any:
    try:
        return store.find(spec)
    except ZcptError:
        return None


def wants_gpu(spec: RunSpec) -> bool:
    """Whether ``spec`` would use a GPU where there is one (its device is not ``cpu``)."""
    device = getattr(spec, "device", None)
    if device is None and hasattr(spec, "config"):
        device = getattr(spec.config, "device", None)  # type: ignore[attr-defined]
    return device is not None and str(device) != "cpu"


def cluster_slots(client: Any) -> tuple[int, bool, bool]:
    """``(slots, one_spec_per_worker, has_gpus)`` of the cluster behind ``client``."""
    workers = client.scheduler_info().get("workers", {})
    exclusive = bool(workers) and all(SPEC_RESOURCE in (w.get("resources") or {}) for w in workers.values())
    gpus = any(GPU_RESOURCE in (w.get("resources") or {}) for w in workers.values())
    slots = sum(1 if exclusive else int(w.get("nthreads", 1)) for w in workers.values())
    return max(1, slots), exclusive, gpus


def run_dask(specs: Sequence[RunSpec], store: ResultStore, client: Any, progress: bool = True,
             costs: Optional[CostModel] = None, stored: Sequence[RunSpec] = ()) -> SweepResult:
    """Compute ``specs`` as Dask tasks through ``client`` (see the module docstring). Ctrl-C
    cancels what has not finished (closing a local cluster then stops the specs still running;
    on a cluster of its own, a running task finishes and saves its record)."""
    costs = costs if costs is not None else CostModel()
    result = SweepResult(store.root, list(stored) + list(specs), list(stored), executor="dask")
    start = time.perf_counter()
    if not client.scheduler_info().get("workers"):
        if progress:
            print("zcpt reproduce: waiting for a Dask worker to join the scheduler ...", file=sys.stderr, flush=True)
        client.wait_for_workers(1)
    slots, exclusive, gpus = cluster_slots(client)
    token = uuid.uuid4().hex[:8]
    keyed = {f"zcpt-{spec.KIND}-{spec.key()}-{token}": spec for spec in specs}
    bar = Progress(keyed, costs, slots, progress)
    client.subscribe_topic(EVENT_TOPIC, lambda event: _on_start(bar, event))
    futures, last_of = {}, {}
    for key, spec in keyed.items():
        resources = {SPEC_RESOURCE: 1} if exclusive else {}
        if gpus and wants_gpu(spec):
            resources[GPU_RESOURCE] = 1
        shared = spec.shared_supernet()
        fut = client.submit(run_task, spec, str(store.root), None, key, last_of.get(shared), key=key, pure=False,
                            resources=resources or None)
        if shared is not None:
            last_of[shared] = fut
        futures[fut] = key
    bar.say(f"{len(keyed)} task(s) submitted to {slots} slot(s)")
    pending = set(futures)
    try:
        while pending:
            finished = [f for f in pending if f.done()]
            for fut in finished:
                pending.discard(fut)
                key = futures[fut]
                try:
                    out = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after repeated worker deaths
                    out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                _finish(result, bar, store, key, keyed[key], out)
            bar.say_started()
            if not finished:
                bar.heartbeat()
                time.sleep(POLL_SECONDS)
                bar.slots = cluster_slots(client)[0]
    except KeyboardInterrupt:
        result.interrupted = True
        with contextlib.suppress(Exception):  # a closing client or cluster: nothing left to cancel
            client.cancel(list(pending), force=True)
    finally:
        result.seconds = time.perf_counter() - start
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(EVENT_TOPIC)
    return result


def _on_start(bar: Progress, event: Any) -> None:
    _, msg = event
    if isinstance(msg, dict) and msg.get("key") in bar.specs:
        bar.start(msg["key"], float(msg.get("start", time.time())), str(msg.get("worker", "")))


# ============================================================================= clusters
def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The CUDA devices of this machine as ``CUDA_VISIBLE_DEVICES`` entries (respecting a set one)."""
    import torch

    if not torch.cuda.is_available():
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [v.strip() for v in visible.split(",") if v.strip()][:torch.cuda.device_count()]
    return [str(i) for i in range(torch.cuda.device_count())]


def cluster_size(cores: int, gpus: int, workers: Optional[int] = None,
                 threads_per_worker: Optional[int] = None) -> tuple[int, int]:
    """``(workers, threads per worker)``: one worker per GPU (else per core, or per
    ``threads_per_worker`` cores), threads = the machine's cores shared among the workers."""
    for name, value in (("--workers", workers), ("--threads-per-worker", threads_per_worker)):
        if value is not None and int(value) < 1:
            raise ZcptError(f"{name} must be at least 1, got {value}")
    if workers is None:
        workers = gpus if gpus else max(1, cores // (threads_per_worker or 1))
    if threads_per_worker is None:
        threads_per_worker = max(1, cores // workers)
    return int(workers), int(threads_per_worker)


def local_cluster(workers: Optional[int] = None, threads_per_worker: Optional[int] = None,
                  gpus: Optional[Sequence[str]] = None, dashboard_address: Optional[str] = "127.0.0.1:8787",
                  silence_logs: int = logging.ERROR) -> Any:
    """A Dask cluster of worker processes on this machine, bound to 127.0.0.1, sized by
    :func:`cluster_size`; every worker declares ``spec=1`` (one spec at a time, with all its
    threads). On a CUDA machine (``gpus``: default :func:`visible_gpus`) worker ``i`` sees only
    GPU ``i`` (``CUDA_VISIBLE_DEVICES``) and declares ``GPU=1``. ``dashboard_address=None``: no
    dashboard. It is distributed's ``SpecCluster`` -- the base of ``LocalCluster`` -- because the
    workers' environments differ."""
    try:
        from distributed import Nanny, Scheduler, SpecCluster
    except ImportError:
        raise ZcptError("the Dask executor needs dask.distributed: pip install 'dask[distributed]' "
                        "(or use --executor serial)") from None
    gpus = list(visible_gpus() if gpus is None else gpus)
    n, threads = cluster_size(available_cores(), len(gpus), workers, threads_per_worker)
    dashboard = dashboard_address is not None and has_dashboard()
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "port": 0, "dashboard": dashboard,
                                               # without a dashboard its HTTP server (health, metrics) takes any port
                                               "dashboard_address": dashboard_address if dashboard else "127.0.0.1:0"}}
    specs = {}
    for i in range(n):
        options: dict[str, Any] = {"nthreads": threads, "host": "127.0.0.1", "resources": {SPEC_RESOURCE: 1},
                                   "silence_logs": silence_logs, "dashboard": False}
        if i < len(gpus):
            options["env"] = {"CUDA_VISIBLE_DEVICES": gpus[i]}
            options["resources"] = {SPEC_RESOURCE: 1, GPU_RESOURCE: 1}
        specs[i] = {"cls": Nanny, "options": options}
    return SpecCluster(workers=specs, scheduler=scheduler, silence_logs=silence_logs, name="zcpt-reproduce")


def describe_cluster(cluster: Any) -> str:
    """``"2 worker(s) x 1 thread(s), GPUs 0, 1"`` of a :func:`local_cluster`."""
    options = [w["options"] for w in cluster.worker_spec.values()]
    gpus = [o["env"]["CUDA_VISIBLE_DEVICES"] for o in options if "env" in o]
    return (f"{len(options)} worker(s) x {options[0]['nthreads'] if options else 0} thread(s)"
            + (f", GPUs {', '.join(gpus)}" if gpus else ", no GPU"))


def has_dashboard() -> bool:
    """Whether a Dask dashboard can run here (it needs bokeh)."""
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def dashboard_link(client: Any) -> Optional[str]:
    """The dashboard URL of ``client``'s scheduler, or None when it runs no dashboard."""
    try:
        services = client.scheduler_info().get("services", {})
        return client.dashboard_link if "dashboard" in services else None
    except Exception:  # noqa: BLE001 - a link is a convenience
        return None


def connect(scheduler: str, timeout: float = 30.0) -> Any:
    """A client of the running scheduler at ``scheduler``: an address (``tcp://HOST:PORT``) or
    a scheduler file (``dask scheduler --scheduler-file FILE``)."""
    try:
        from distributed import Client
    except ImportError:
        raise ZcptError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    is_file = "://" not in scheduler and (scheduler.endswith(".json") or Path(scheduler).is_file())
    try:
        if is_file:
            if not Path(scheduler).is_file():
                raise ZcptError(f"no scheduler file {scheduler!r} (dask scheduler --scheduler-file writes it)")
            return Client(scheduler_file=scheduler, timeout=timeout)
        return Client(scheduler, timeout=timeout)
    except ValueError as exc:  # an address distributed cannot parse ("host:port")
        raise ZcptError(f"--scheduler {scheduler!r:.80} is not a scheduler address ({exc}); give tcp://HOST:PORT of "
                        "a running scheduler or a scheduler file") from None
    except (OSError, TimeoutError) as exc:
        raise ZcptError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:.0f} s ({exc}); start one "
                        "with `dask scheduler` or give tcp://HOST:PORT of a running one") from None


__all__ = ["EVENT_TOPIC", "Failure", "GPU_RESOURCE", "Progress", "SPEC_RESOURCE", "SweepResult", "available_cores",
           "cluster_lock", "cluster_lock_name", "cluster_size", "cluster_slots", "connect", "dashboard_link",
           "describe_cluster", "has_dashboard", "local_cluster", "run_dask", "run_serial", "run_task",
           "visible_gpus", "wants_gpu", "worker_threads"]
