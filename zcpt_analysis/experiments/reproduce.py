"""``zcpt reproduce`` and ``zc.reproduce``: fill the paper's tables in one call.

:func:`reproduce` plans the run specs of the targets (:mod:`.targets`) in a preset, optionally
narrowed (``seeds``: the search seeds; ``only``: identity fields, e.g. ``{"order": ["random",
"fixed"]}``), skips those whose complete record is in the store, runs the rest with an executor of
:mod:`zcpt_analysis.runs.sweep` (``serial``, or ``dask`` on a local cluster, a running scheduler or
a given client) and, with ``report``, renders the targets' notebooks from the same store
(``zcpt report``). ``dry_run`` returns the plan (:func:`plan_entries`, printed by
:func:`format_plan`): what would run, what is stored, and each spec's estimated cost.
"""
from __future__ import annotations

import contextlib
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..errors import ZcptError
from ..checks import Range, check_range
from ..options import MAX_SEED, parse_key_value
from ..paths import display, resolve
from ..runs.costs import SOURCES, CostModel, Estimate, format_seconds
from ..runs.specs import RunSpec
from ..runs.store import ResultStore
from .presets import PRESET_RESULTS_DIRS, check_preset
from .targets import TARGETS

EXECUTORS: tuple[str, ...] = ("dask", "serial")
CLUSTERS: tuple[str, ...] = ("local", "slurm")
"""Where ``executor="dask"`` starts its cluster when given none: this machine, or SLURM worker jobs
(:mod:`zcpt_analysis.runs.slurm`)."""
DEFAULT_DASHBOARD = "127.0.0.1:8787"


# ============================================================================= the plan
@dataclass(frozen=True)
class PlanEntry:
    """One planned spec: the targets that need it, its state in the store and its estimated cost.

    ``status``: ``stored`` (complete record), ``to run``, ``partial`` (to run, resumes its partial
    record), ``claimed`` (being computed by another process: the sweep waits for it),
    ``conflict`` (a different record at its path: it will fail with the store's error) or
    ``needs a GPU`` (the cpu preset leaves it to a GPU: listed with its command, never run)."""

    spec: RunSpec
    targets: tuple[str, ...]
    status: str
    estimate: Optional[Estimate]
    note: str = ""

    @property
    def to_run(self) -> bool:
        return self.status not in ("stored", NEEDS_GPU)

    @property
    def needs_gpu(self) -> bool:
        return self.status == NEEDS_GPU


NEEDS_GPU = "needs a GPU"


def parse_only(items: Optional[Sequence[str] | Mapping[str, Any]]) -> dict[str, list[str]]:
    """``["order=random,fixed", "seed=0"]`` (or a mapping) -> ``{"order": ["random", "fixed"], "seed": ["0"]}``."""
    if not items:
        return {}
    pairs = items.items() if isinstance(items, Mapping) else [parse_key_value(i, "--only") for i in items]
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        values = value if isinstance(value, (list, tuple)) else str(value).split(",")
        out.setdefault(key, []).extend(_text(v).strip() for v in values)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _clip(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit] + "...")


def select(specs: Sequence[RunSpec], only: Mapping[str, Sequence[str]]) -> list[RunSpec]:
    """The specs whose identity field ``k`` is one of ``only[k]`` for every ``k`` (a spec without
    the field is left out); an ``only`` key no planned spec has is an error naming the valid ones."""
    if not only:
        return list(specs)
    fields = sorted({k for s in specs for k in s.identity()})
    unknown = [k for k in only if k not in fields]
    if unknown:
        raise ZcptError(f"--only: no planned spec has the field(s) {', '.join(unknown)}; the planned specs' fields "
                        f"are: {', '.join(fields)}")

    for key, wanted in only.items():
        have = sorted({_text(s.identity()[key]) for s in specs if key in s.identity()})
        absent = [v for v in wanted if v not in have]
        if absent:
            shown = ", ".join(_clip(v) for v in have[:20]) + (f" and {len(have) - 20} more" if len(have) > 20 else "")
            raise ZcptError(f"--only {key}: no planned spec has {key} = {', '.join(_clip(v) for v in absent[:5])}; the "
                            f"planned specs' values are: {shown}")

    return [s for s in specs if _kept(s, only)]


def _kept(spec: RunSpec, only: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``spec``'s identity field ``k`` is one of ``only[k]`` for every ``k``."""
    ident = spec.identity()
    return all(k in ident and _text(ident[k]) in set(v) for k, v in only.items())


def default_store(preset: str) -> ResultStore:
    """The preset's results store when none is given (:data:`~.presets.PRESET_RESULTS_DIRS`)."""
    return ResultStore(resolve(PRESET_RESULTS_DIRS[check_preset(preset)]))


def plan_entries(targets: Optional[Sequence[str]], preset: str, store: ResultStore, *,
                 seeds: Optional[Sequence[int]] = None, only: Any = None, data_root: Optional[str] = None,
                 device: Optional[str] = None, costs: Optional[CostModel] = None) -> list[PlanEntry]:
    """The plan of ``targets`` (default: all) in ``preset``: one :class:`PlanEntry` per spec, the
    specs a preset leaves to a GPU (cpu) last, with status ``needs a GPU``. ``costs``: default the
    store's records and this machine's :class:`~zcpt_analysis.runs.calibration.Calibration`."""
    check_preset(preset)
    for seed in seeds or ():
        check_range("--seeds: a seed", seed, Range(0, MAX_SEED), integer=True)
    names = [TARGETS.get(t).name for t in targets] if targets else TARGETS.names()
    overrides = dict(seeds=list(seeds) if seeds is not None else None, data_root=data_root, device=device)
    planned, needed_by = _planned(names, preset, overrides)
    specs = select(list(planned.values()), parse_only(only))
    gpu: list[RunSpec] = []
    if not preset_trains_supernets(preset):  # what the preset leaves to a GPU, listed but not run
        everything, gpu_needed_by = _planned(names, preset, {**overrides, "trains_supernets": True})
        gpu = [s.replace(device=device or "auto") for n, s in everything.items() if n not in planned]
        gpu = [s for s in gpu if _kept(s, parse_only(only))]  # --only names the planned specs' fields
        needed_by.update({n: t for n, t in gpu_needed_by.items() if n not in planned})
    costs = costs if costs is not None else CostModel.from_store(store, _calibration())
    return ([_entry(spec, tuple(needed_by[spec.record_name()]), store, costs) for spec in specs]
            + [PlanEntry(s, tuple(needed_by[s.record_name()]), NEEDS_GPU, costs.estimate(s)) for s in gpu])


def _planned(names: Sequence[str], preset: str, overrides: dict[str, Any]
             ) -> tuple[dict[str, RunSpec], dict[str, list[str]]]:
    """The specs of the targets ``names`` by record name, and the targets that need each."""
    by_name: dict[str, RunSpec] = {}
    needed_by: dict[str, list[str]] = {}
    for name in names:
        for spec in TARGETS.get(name).plan(preset, **overrides):
            by_name.setdefault(spec.record_name(), spec)
            needed_by.setdefault(spec.record_name(), []).append(name)
    return by_name, needed_by


def preset_trains_supernets(preset: str) -> bool:
    """Whether ``preset`` computes the specs that train a supernet (not cpu: a GPU does)."""
    from .presets import preset as get_preset

    return get_preset(preset).trains_supernets


def _calibration() -> Any:
    """This machine's calibration, saying on stderr when it measures a unit (once per machine)."""
    from ..runs.calibration import Calibration

    def say(key: str, path: Path) -> None:
        print(f"zcpt: calibrating this machine for the estimates: {key.split(' ')[0]} (once; cached in "
              f"{display(path)})", file=sys.stderr, flush=True)

    return Calibration(on_measure=say)


def _entry(spec: RunSpec, targets: tuple[str, ...], store: ResultStore, costs: CostModel) -> PlanEntry:
    estimate = costs.estimate(spec)
    try:
        record = store.load(spec)
    except ZcptError as exc:
        return PlanEntry(spec, targets, "conflict", estimate, str(exc))
    if record is not None and record.complete:
        return PlanEntry(spec, targets, "stored", estimate)
    claim = store.claim_info(spec)
    if claim is not None:
        return PlanEntry(spec, targets, "claimed", estimate,
                         f"being computed by pid {claim.get('pid')} on {claim.get('host')} since {claim.get('since')}")
    if record is not None:
        return PlanEntry(spec, targets, "partial", estimate, f"resumes its partial record ({record.status})")
    return PlanEntry(spec, targets, "to run", estimate)


def format_plan(entries: Sequence[PlanEntry], store: ResultStore, slots: Optional[int] = None) -> str:
    """The dry-run text: specs to run (estimate and how it was made, targets, notes), the total per
    target and overall (core-hours, and wall time on ``slots`` workers), specs left to a GPU (with
    their commands) and specs stored."""
    todo = [e for e in entries if e.to_run]
    gpu = [e for e in entries if e.needs_gpu]
    stored = [e for e in entries if e.status == "stored"]
    head = f"plan: {len(entries)} spec(s) in {display(store.root)}: {len(todo)} to run, {len(stored)} already stored"
    lines = [head + (f", {len(gpu)} need a GPU (listed, not run)" if gpu else "")]
    if todo:
        lines.append("to run (estimated time on one core):")
        lines += textwrap.wrap("calibrated: the spec's work x this machine's measured units; records: stored records "
                               "of the same kind and size; extrapolated: trains a supernet, an order of magnitude",
                               100, initial_indent="  (", subsequent_indent="   ")
        lines[-1] += ")"
        for e in todo:
            est = format_seconds(e.estimate.seconds) if e.estimate is not None else "unknown"
            how = e.estimate.source if e.estimate is not None else ""
            note = f"  [{e.status}: {e.note}]" if e.status != "to run" else ""
            lines.append(f"  {est:>8}  {how:<12}  {e.spec.record_name()}  ({', '.join(e.targets)}){note}")
        lines += _totals(todo, slots)
    if gpu:
        lines.append(f"needs a GPU ({len(gpu)} spec(s); this preset does not run them) -- on a GPU machine, run:")
        for e in gpu:
            lines.append(f"  {e.spec.record_name()}  ({', '.join(e.targets)}); {_gpu_time(e)}")
            lines.append(f"      {e.spec.command(store.root)}")
    if stored:
        lines.append("already stored:")
        lines += [f"  {e.spec.record_name()}  ({', '.join(e.targets)})" for e in stored]
    return "\n".join(lines)


def _totals(todo: Sequence[PlanEntry], slots: Optional[int]) -> list[str]:
    """Per target and overall: core-hours of what is to run, by how the estimates were made."""
    lines = ["per target (core-hours of its specs still to run; a spec two targets share counts in both):"]
    targets = list(dict.fromkeys(t for e in todo for t in e.targets))
    for target in targets:
        mine = [e for e in todo if target in e.targets]
        lines.append(f"  {target:<12} {len(mine):>4} spec(s)  {_core_hours(mine)}")
    known = [e.estimate.seconds for e in todo if e.estimate is not None]
    by_source = {src: sum(e.estimate.seconds for e in todo if e.estimate is not None and e.estimate.source == src)
                 for src in SOURCES}
    parts = ", ".join(f"{src} {v / 3600:.2f}" for src, v in by_source.items() if v)
    total = f"estimated total: {_core_hours(todo)} ({parts})" if known else "estimated total: unknown"
    if known and slots:
        total += f"; about {format_seconds(max(sum(known) / slots, max(known)))} of wall time on {slots} worker(s)"
    unknown = len(todo) - len(known)
    lines.append(total + (f", plus {unknown} spec(s) of unknown cost" if unknown else ""))
    return lines


def _core_hours(entries: Sequence[PlanEntry]) -> str:
    return f"{sum(e.estimate.seconds for e in entries if e.estimate is not None) / 3600:.2f} core-h"


def _gpu_time(entry: PlanEntry) -> str:
    """The paper's GPU time of ``entry``'s kind where it gives one, and this machine's CPU estimate."""
    from .. import paper

    row = {"darts": "DARTS", "darts-pt": "DARTS+PT"}.get(entry.spec.KIND)
    space = getattr(entry.spec, "space", "")
    gpu = (f"the paper: {paper.TABLE5[row].cost_gpu_days} GPU-days (Table 5, DARTS space)"
           if row and space == "darts" else "GPU time: the paper gives none")
    cpu = f"; ~{format_seconds(entry.estimate.seconds)} on one core here ({entry.estimate.source})" \
        if entry.estimate is not None else ""
    return gpu + cpu


# ============================================================================= running
def _check_executor(executor: str, client: Any, scheduler: Optional[str], workers: Optional[int],
                    threads_per_worker: Optional[int], dashboard_address: Optional[str]) -> None:
    if executor not in EXECUTORS:
        raise ZcptError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    for name, value in (("--workers", workers), ("--threads-per-worker", threads_per_worker)):
        if value is not None:
            check_range(name, value, Range(1), integer=True)
    if dashboard_address is not None:
        check_dashboard_address(dashboard_address)
    if client is not None and scheduler is not None:
        raise ZcptError("give a Dask client or a scheduler address, not both")
    if executor == "serial":
        given = [n for n, v in (("--scheduler", scheduler), ("a Dask client", client), ("--workers", workers),
                                ("--dashboard-address", dashboard_address)) if v is not None]
        if given:
            raise ZcptError(f"--executor serial runs in this process: {', '.join(given)} would be ignored")
    elif client is not None or scheduler is not None:
        given = [n for n, v in (("--workers", workers), ("--threads-per-worker", threads_per_worker),
                                ("--dashboard-address", dashboard_address)) if v is not None]
        if given:
            raise ZcptError(f"{', '.join(given)} size a local cluster; an existing cluster's workers are sized where "
                            "they start (dask worker --nthreads T --resources spec=1)")


def _check_cluster(cluster: str, executor: str, client: Any, scheduler: Optional[str], workers: Optional[int],
                   threads_per_worker: Optional[int], slurm_options: Any, max_jobs: Optional[int]) -> Any:
    """The checked :class:`~zcpt_analysis.runs.slurm.SlurmOptions` of ``cluster="slurm"``, else None."""
    if cluster not in CLUSTERS:
        raise ZcptError(f"unknown cluster {cluster!r}; valid: {', '.join(CLUSTERS)}")
    if cluster == "local":
        given = [n for n, v in (("--slurm-option", slurm_options or None), ("--max-jobs", max_jobs)) if v is not None]
        if given:
            raise ZcptError(f"{', '.join(given)} size(s) SLURM worker jobs: add --cluster slurm")
        return None
    given = [n for n, v in (("--executor serial", executor == "serial" or None), ("--scheduler", scheduler),
                            ("a Dask client", client), ("--workers", workers),
                            ("--threads-per-worker (or zcpt --threads)", threads_per_worker)) if v is not None]
    if given:
        raise ZcptError(f"--cluster slurm starts Dask workers as SLURM jobs, sized by --slurm-option cores=T, memory=M, "
                        f"... and --max-jobs N: {', '.join(given)} cannot go with it")
    from ..runs.slurm import check_max_jobs, slurm_options as checked

    check_max_jobs(max_jobs)
    return checked(slurm_options)


def check_dashboard_address(address: Any) -> str:
    """``address`` if it is ``none``, ``HOST:PORT`` or ``:PORT`` with a port in 0..65535 (0: any free
    one), else a clear error (instead of a traceback from the cluster start)."""
    import re

    text = str(address).strip()
    match = re.fullmatch(r"(?:([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]))?:(\d{1,5})", text)
    if text.lower() != "none" and (not isinstance(address, str) or match is None or int(match.group(2)) > 65535):
        raise ZcptError(f"--dashboard-address must be HOST:PORT (e.g. 127.0.0.1:8787), :PORT with a port in "
                        f"0..65535, or none; got {address!r:.80}")
    return text


def reproduce(targets: Optional[Sequence[str]] = None, preset: str = "smoke", store: Any = None, client: Any = None, *,
              executor: str = "dask", scheduler: Optional[str] = None, workers: Optional[int] = None,
              threads_per_worker: Optional[int] = None, dashboard_address: Optional[str] = None,
              cluster: str = "local", slurm_options: Any = None, max_jobs: Optional[int] = None,
              seeds: Optional[Sequence[int]] = None, only: Any = None, data_root: Optional[str] = None,
              device: Optional[str] = None, dry_run: bool = False, progress: bool = True, report: bool = False,
              report_dir: str | Path = "reports", report_options: Optional[Mapping[str, Any]] = None) -> Any:
    """Plan, skip what is stored, run the rest, optionally render the notebooks (module docstring).

    ``store``: a :class:`ResultStore` or folder (default ``runs/<preset>``). ``executor="dask"``
    uses ``client`` if given, else connects to ``scheduler`` (address or scheduler file), else
    starts :func:`~zcpt_analysis.runs.sweep.local_cluster` (``workers``, ``threads_per_worker``,
    ``dashboard_address``: default 127.0.0.1:8787, "none" for no dashboard), or with
    ``cluster="slurm"`` up to ``max_jobs`` SLURM worker jobs of ``slurm_options``
    (:func:`~zcpt_analysis.runs.slurm.slurm_cluster`). ``serial`` runs here
    with ``threads_per_worker`` torch threads (default: as set). Returns the plan
    (list of :class:`PlanEntry`) with ``dry_run``, else a :class:`~zcpt_analysis.runs.sweep.SweepResult`.
    """
    from ..runs import sweep
    from ..runs.store import as_store

    check_preset(preset)
    _check_executor(executor, client, scheduler, workers, threads_per_worker, dashboard_address)
    slurm = _check_cluster(cluster, executor, client, scheduler, workers, threads_per_worker, slurm_options, max_jobs)
    store = as_store(store) or default_store(preset)
    if report and not dry_run:
        from ..reports import list_notebooks

        list_notebooks()  # the notebooks must be found before hours of work
    costs = CostModel.from_store(store, _calibration())
    entries = plan_entries(targets, preset, store, seeds=seeds, only=only, data_root=data_root, device=device,
                           costs=costs)
    if dry_run:
        return entries
    gpu = [e for e in entries if e.needs_gpu]
    entries = [e for e in entries if not e.needs_gpu]
    todo = [e.spec for e in entries if e.to_run]
    stored = [e.spec for e in entries if not e.to_run]
    say = (lambda msg: print(f"zcpt reproduce: {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    say(f"preset {preset}, store {display(store.root)}: {len(entries)} spec(s) planned, {len(stored)} already stored, "
        f"{len(todo)} to run" + (f" ({len(gpu)} more need a GPU: --dry-run lists their commands)" if gpu else ""))
    if not todo:
        result = sweep.SweepResult(store.root, [e.spec for e in entries], stored, executor="none")
    elif executor == "serial":
        result = sweep.run_serial(todo, store, threads_per_worker, progress, costs, stored)
    else:
        result = _run_dask(todo, stored, store, costs, progress, say, client, scheduler, workers, threads_per_worker,
                           dashboard_address, slurm, max_jobs)
    if progress:
        print(result.summary(), file=sys.stderr, flush=True)
    if report and not result.interrupted:
        result.reports = _report(targets, preset, store, data_root, report_dir, dict(report_options or {}))
    return result


def _run_dask(todo, stored, store, costs, progress, say, client, scheduler, workers, threads_per_worker,
              dashboard_address, slurm=None, max_jobs=None):
    from ..runs import sweep

    with contextlib.ExitStack() as stack:
        show = True
        if client is None and scheduler is not None:
            client = stack.enter_context(contextlib.closing(sweep.connect(scheduler)))
            say(f"connected to the Dask scheduler at {client.scheduler.address}")
        elif client is None and slurm is not None:
            from distributed import Client

            from ..runs.slurm import check_max_jobs, describe, slurm_cluster

            address = dashboard_address or DEFAULT_DASHBOARD
            show = address.lower() != "none" and sweep.has_dashboard()
            jobs = stack.enter_context(contextlib.closing(slurm_cluster(slurm, max_jobs, store.root,
                                                                        address if show else None)))
            client = stack.enter_context(contextlib.closing(Client(jobs)))
            say(f"started a SLURM cluster: {describe(jobs, check_max_jobs(max_jobs))}")
        elif client is None:
            from distributed import Client

            address = dashboard_address or DEFAULT_DASHBOARD
            show = address.lower() != "none"
            cluster = stack.enter_context(contextlib.closing(sweep.local_cluster(
                workers, threads_per_worker, dashboard_address=address if show else None)))
            client = stack.enter_context(contextlib.closing(Client(cluster)))
            say(f"started a local Dask cluster: {sweep.describe_cluster(cluster)}")
            if show and not sweep.has_dashboard():
                say("no Dask dashboard: it needs bokeh (pip install bokeh)")
                show = False
        link = sweep.dashboard_link(client) if show else None
        if link:
            say(f"Dask dashboard: {link}")
        return sweep.run_dask(todo, store, client, progress, costs, stored)


def _report(targets: Optional[Sequence[str]], preset: str, store: ResultStore, data_root: Optional[str],
            report_dir: str | Path, options: dict[str, Any]) -> list:
    """``zcpt report`` of the targets' notebooks (all notebooks for all targets) from ``store``."""
    from ..reports import run_reports

    names = list(dict.fromkeys(TARGETS.get(t).notebook for t in targets)) if targets else None
    params = {"results_dir": str(store.root), **({"data_root": data_root} if data_root else {})}
    return run_reports(names, preset=preset, out_dir=report_dir, parameters=params, **options)


def targets_help() -> str:
    """``name: title (notebook)`` of every target, one a line."""
    return "\n".join(f"  {t.name}: {t.title} (notebook {t.notebook})" for t in TARGETS)


__all__ = ["CLUSTERS", "EXECUTORS", "NEEDS_GPU", "PlanEntry", "default_store", "format_plan", "parse_only",
           "plan_entries", "reproduce", "select", "targets_help"]
