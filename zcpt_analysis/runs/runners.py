"""The one place that maps a spec kind to its algorithm (registered in :data:`.spec.RUNNERS`):
each runner builds (or resumes) the spec's record, calls the algorithm with the spec as its
settings, saves the record through the store at every checkpoint the algorithm reports, and
returns it.

This is the only module of the results layer that calls the algorithms (``searches``, ``scoring``,
``train``, ``proxy_study``; the specs and records only import their settings and result types);
the algorithms know nothing of records or stores.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from .. import proxy_study, scoring, train
from ..data import DataFields
from ..environment import environment
from ..runtime import resolve_device
from ..scoring import iterative
from ..searches import baselines, darts, darts_pt, zcpt
from ..spaces import get_space
from .records import (DartsPTRecord, DartsRecord, IterativeRecord, NaswotRecord, ProxyStudyRecord, RandomRecord,
                      Record, ScoresRecord, SearchRecord, TrainRecord)
from .spec import RUNNERS
from .specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, ProxyStudySpec, RandomSpec, ScoresSpec,
                    SearchSpec, TrainSpec)
from .store import ResultStore

Runner = Callable[..., Record]
R = TypeVar("R", bound=Record)


def runner(kind: str) -> Callable[[Runner], Runner]:
    """Register the decorated function as the runner of spec kind ``kind``."""
    def register(fn: Runner) -> Runner:
        RUNNERS[kind] = fn
        return fn

    return register


def _saver(store: Optional[ResultStore]) -> Optional[Callable[[Record], Any]]:
    return store.save if store is not None else None


def _kept(record: R, store: Optional[ResultStore]) -> R:
    """``record``, saved into ``store`` first when there is one."""
    if store is not None:
        store.save(record)
    return record


def _env(settings: DataFields) -> dict[str, Any]:
    return environment(resolve_device(settings.device))


def _bench(spec: SearchSpec | DartsSpec | DartsPTSpec, bench: Any) -> Any:
    """The benchmark of the run, loaded before the work (a bad one is an error now)."""
    return bench if bench is not None else spec.bench_for_run(get_space(spec.space).has_benchmark)


# ============================================================================= Zero-Cost-PT search
@runner(SearchSpec.KIND)
def run_search(spec: SearchSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
               images: Any = None, bench: Any = None) -> SearchRecord:
    """One Zero-Cost-PT search, resumed from a partial record in ``store``."""
    bench = _bench(spec, bench)
    record = store.load(spec) if store is not None and not force else None
    if record is None:
        record = SearchRecord(spec=spec, status="searching", environment=_env(spec))
    search = zcpt.ZeroCostPT(spec, progress=progress, images=images, bench=bench, result=record,
                             checkpoint=_saver(store))
    search.run()
    return _kept(record, store)


# ============================================================================= baselines
@runner(RandomSpec.KIND)
def run_random(spec: RandomSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
               bench: Any = None, **_: Any) -> RandomRecord:
    record = RandomRecord(spec=spec, picks=baselines.random_baseline(spec, bench if bench is not None
                                                                     else spec.load_bench()))
    return _kept(record, store)


_SCORE_TABLES: dict[tuple[str, str], baselines.NaswotScoreTable] = {}
"""NASWOT score tables of this process by (file, identity): the runs of one setting share one."""


@runner(NaswotSpec.KIND)
def run_naswot(spec: NaswotSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
               bench: Any = None, images: Any = None) -> NaswotRecord:
    """One NASWOT run, its per-architecture scores cached next to its record in ``store``."""
    path = store.root / spec.score_table_name() if store is not None else None
    identity = spec.score_table_identity()
    key = (str(path), json.dumps(identity, sort_keys=True))
    table = _SCORE_TABLES.get(key) if path is not None else None
    if table is None:
        table = baselines.NaswotScoreTable(spec, path, identity=identity, images=images)
        if path is not None:
            _SCORE_TABLES[key] = table
    if bench is None and get_space(spec.space).has_benchmark:
        bench = spec.load_bench()
    result = baselines.naswot_run(table, spec.seed, bench=bench, progress=progress)
    return _kept(NaswotRecord.of(spec, result, environment=environment(table.device)), store)


# ============================================================================= DARTS / DARTS-PT
def _supernet_folder(spec: DartsSpec | DartsPTSpec, store: Optional[ResultStore]) -> Optional[Path]:
    """Where the spec's supernet is checkpointed: ``<run folder>/supernet``, shared by DARTS and DARTS-PT."""
    return store.root / spec.run_folder() / "supernet" if store is not None else None


@runner(DartsSpec.KIND)
def run_darts(spec: DartsSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
              bench: Any = None, images: Any = None) -> DartsRecord:
    bench = _bench(spec, bench)  # a bad benchmark fails before the training
    result = darts.run_darts(spec, _supernet_folder(spec, store), progress=progress, force=force, bench=bench,
                             images=images)
    return _kept(DartsRecord.of(spec, result, environment=_env(spec)), store)


@runner(DartsPTSpec.KIND)
def run_darts_pt(spec: DartsPTSpec, store: Optional[ResultStore] = None, progress: bool = False,
                 force: bool = False, bench: Any = None, images: Any = None) -> DartsPTRecord:
    bench = _bench(spec, bench)  # a bad benchmark fails before the training
    result = darts_pt.run_darts_pt_settings(spec, _supernet_folder(spec, store), progress=progress, force=force,
                                            bench=bench, images=images)
    return _kept(DartsPTRecord.of(spec, result, environment=_env(spec)), store)


# ============================================================================= operation scores
def _scoring_context(spec: ScoresSpec | IterativeSpec, store: Optional[ResultStore], progress: bool, bench: Any,
                     images: Any, context: Optional[scoring.ScoringContext]) -> scoring.ScoringContext:
    """The scoring context of ``spec`` (``context``: one of the same setting, shared by the methods
    of one ``zcpt scores`` call); the DARTS-trained supernet is checkpointed once per setting in
    ``store`` and resumed from there."""
    ctx = context if context is not None else scoring.ScoringContext(settings=spec, bench=bench, images=images)
    ctx.progress = progress
    if store is not None and spec.trains_a_supernet() and ctx.trained is None and ctx.checkpoint_dir is None:
        ctx.checkpoint_dir = str(store.root / spec.supernet_folder())
    return ctx


@runner(ScoresSpec.KIND)
def run_scores(spec: ScoresSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
               bench: Any = None, images: Any = None, context: Optional[scoring.ScoringContext] = None
               ) -> ScoresRecord:
    """The iteration-0 scores of one scoring method."""
    ctx = _scoring_context(spec, store, progress, bench, images, context)
    started = time.time()
    table = scoring.score_operations(ctx, [spec.method])
    return _kept(ScoresRecord.of_table(spec, table, time.time() - started, _env(spec)), store)


@runner(IterativeSpec.KIND)
def run_iterative(spec: IterativeSpec, store: Optional[ResultStore] = None, progress: bool = False,
                  force: bool = False, bench: Any = None, images: Any = None,
                  context: Optional[scoring.ScoringContext] = None) -> IterativeRecord:
    """The iterative setting (the DARTS-trained supernet is shared with the one-method scores)."""
    ctx = _scoring_context(spec, store, progress, bench, images, context)
    started = time.time()
    table = iterative.iterative_scores(ctx, spec.methods, reference=spec.reference, retrain_epochs=spec.retrain_epochs)
    return _kept(IterativeRecord.of_table(spec, table, time.time() - started, _env(spec)), store)


# ============================================================================= proxy study
@runner(ProxyStudySpec.KIND)
def run_proxy_study(spec: ProxyStudySpec, store: Optional[ResultStore] = None, progress: bool = False,
                    force: bool = False, bench: Any = None, images: Any = None) -> ProxyStudyRecord:
    """The proxy study, its scores streamed to the spec's score stream in ``store`` (resumed and
    extended there; ``force`` starts the stream over); the record is saved every 25 architectures
    and at the end."""
    record = store.load(spec) if store is not None and not force else None
    if record is None:
        record = ProxyStudyRecord(spec=spec, status="running", environment=_env(spec))
    if store is None:
        with tempfile.TemporaryDirectory(prefix="zcpt-study-") as tmp:
            return proxy_study.run_proxy_study(spec, Path(tmp) / "scores.jsonl", progress=progress, result=record,
                                               bench=bench, images=images)
    stream = store.root / spec.score_stream_name()
    if force:
        stream.unlink(missing_ok=True)
    proxy_study.run_proxy_study(spec, stream, progress=progress, result=record, bench=bench, images=images,
                                checkpoint=store.save)
    return record


# ============================================================================= final training
def train_in_folder(spec: TrainSpec, folder: Path, resume: bool = True, progress: bool = False,
                    save: Optional[Callable[[Record], Any]] = None) -> TrainRecord:
    """Train ``spec`` in the run folder ``folder`` (checkpoint and log there; ``resume`` continues
    them), saving its record with ``save`` after every epoch (default: ``folder/result.json``)."""
    from ..files import atomic_write_json

    if save is None:
        def save(record: Record) -> Any:
            return atomic_write_json(Path(folder) / "result.json", record.to_json())

    record = TrainRecord(spec=spec, status="running", environment=_env(spec.config))
    train.train(spec.resolved_genotype(), spec.config, folder, resume=resume, progress=progress, result=record,
                on_epoch=save)
    return record


@runner(TrainSpec.KIND)
def run_train(spec: TrainSpec, store: Optional[ResultStore] = None, progress: bool = False, force: bool = False,
              **_: Any) -> TrainRecord:
    """Train ``spec`` into its run folder in ``store`` (resuming a checkpoint there; ``force``
    starts over), or into a temporary folder without a store."""
    if store is None:
        with tempfile.TemporaryDirectory(prefix="zcpt-train-") as tmp:
            return train_in_folder(spec, Path(tmp), resume=False, progress=progress, save=lambda record: None)
    folder = store.artifacts_for(spec)
    if force and folder.exists():
        shutil.rmtree(folder)
    return train_in_folder(spec, folder, resume=True, progress=progress, save=store.save)
