"""Cost estimates of run specs, before anything ran and refined by what did.

An estimate is seconds of one CPU core (a local-cluster worker with one torch thread), from one of:

* ``records``: the median over stored complete records with the same
  :meth:`~zcpt_analysis.runs.spec.RunSpec.cost_key` (kind, space, proxy, batch, sizes, ...), scaled
  to the spec's own amount of work where the key leaves it out (a Zero-Cost-PT search: search
  seconds x N / N_record + validation seconds x V / V_record);
* ``calibrated``: the spec's work counted in units (:mod:`.calibration`: proxy evaluations on the
  supernet, proxy scores of standalone networks, the benchmark load, ...) times what one unit takes
  on this machine, measured by the real code at the spec's network size (cached per machine);
* ``extrapolated``: the same for specs that train a supernet, whose step counts are large and whose
  per-step costs (augmentation, evaluation, projection) the unit leaves out -- an order of magnitude.

Work counts (``B``: the spec's batch, ``|O|``, ``|E|``: ops per edge, edges of the supernet)::

    zcpt-search   building the supernet + N x evaluations(order, |O|, |E|) zc-pt evaluations
                  + N x (building a network + V network scores) (at most N distinct candidates)
    naswot        n_samples x (building a network + a network score) + the benchmark load
    random        the benchmark load
    proxy-study   num_archs x (every proxy on one network) + the benchmark load
    op-scores     zc-pt / disc-zc: building the supernet + |O||E| evaluations; oracles: the benchmark load;
                  trained methods: the supernet training (extrapolated)
    iterative     per method, |O||E|(|E|+1)/2 evaluations (every iteration's remaining edges)
    darts         epochs x steps x 2 training steps (weights and alpha)
    darts-pt      darts + |E| x proj_intv fine-tuning epochs

Without a calibration (``CostModel(records)``) only record-based estimates exist (None otherwise).
"""
from __future__ import annotations

import functools
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from .records import Record
from .specs import RunSpec

SOURCES: tuple[str, ...] = ("records", "calibrated", "extrapolated")
FULL_TRAIN_IMAGES = 50_000
"""Training images of a full CIFAR-10 / CIFAR-100 training set (an epoch of supernet training)."""


@dataclass(frozen=True)
class Estimate:
    """An estimated duration (seconds of one core), how it was obtained (:data:`SOURCES`) and the
    number of records it comes from (``records`` only)."""

    seconds: float
    records: int = 0
    source: str = "records"

    def __str__(self) -> str:
        if self.source == "records":
            return f"{format_seconds(self.seconds)} (from {self.records} record{'s' if self.records != 1 else ''})"
        return f"{format_seconds(self.seconds)} ({self.source})"


def format_seconds(seconds: Optional[float]) -> str:
    """``"<1 s"``, ``"45 s"``, ``"12 min"``, ``"3.4 h"``, ``"2.1 d"`` (``"unknown"`` for None)."""
    if seconds is None:
        return "unknown"
    if seconds < 0.5:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def scaled_seconds(spec: RunSpec, record: Record) -> float:
    """The seconds ``record`` took, scaled to the work of ``spec`` (same cost key)."""
    if spec.KIND == "zcpt-search":
        rec = record.spec
        search = record.timing.get("search", 0.0) * spec.N / max(1, rec.N)  # type: ignore[attr-defined]
        validation = record.timing.get("validation", 0.0) * spec.V / max(1, rec.V)  # type: ignore[attr-defined]
        return float(search + validation)
    return record.seconds


# ============================================================================= work x calibrated units
class WorkModel:
    """Seconds of a spec's work from a :class:`~.calibration.Calibration` (module docstring)."""

    def __init__(self, calibration: Any):
        self.calibration = calibration
        self._estimators: dict[str, Callable[[Any], Optional[tuple[float, str]]]] = {
            "zcpt-search": self._search, "naswot": self._naswot, "random-baseline": self._random,
            "proxy-study": self._proxy_study, "op-scores": self._scores, "iterative-scores": self._iterative,
            "darts": self._darts, "darts-pt": self._darts_pt}

    def estimate(self, spec: RunSpec) -> Optional[Estimate]:
        fn = self._estimators.get(spec.KIND)
        out = fn(spec) if fn is not None else None
        return Estimate(out[0], 0, out[1]) if out is not None else None

    # -- units
    def _unit(self, name: str, measure: Callable[[], dict], **params: Any) -> Optional[dict]:
        from .calibration import unit_key

        return self.calibration.unit(unit_key(name, **params), measure)

    def _ratio(self, proxy: str, options: dict) -> Optional[float]:
        """``proxy``'s cost relative to the reference proxy the supernet and network units use."""
        from .calibration import REFERENCE_PROXY, proxy_ratio

        if proxy == REFERENCE_PROXY and not options:
            return 1.0
        unit = self._unit("proxy-ratio", lambda: proxy_ratio(proxy, options), proxy=proxy, options=options)
        return None if unit is None else unit["ratio"]

    def _evaluation(self, settings: Any) -> Optional[dict]:
        """One zc-pt evaluation of ``settings`` (a SearchSettings) at its batch: ``seconds``, ``edges``, ``ops``."""
        from .calibration import CALIBRATION_BATCH, zcpt_evaluation

        batch = min(settings.batch_size, CALIBRATION_BATCH)
        params = dict(space=settings.space, supernet=settings.supernet_options, mode=settings.supernet_mode,
                      engine=settings.engine, precision=settings.precision, batch=batch)
        unit = self._unit("zcpt-evaluation", lambda: zcpt_evaluation(settings), **params)
        ratio = self._ratio(settings.proxy, settings.proxy_options)
        if unit is None or ratio is None:
            return None
        return {**unit, "seconds": unit["seconds"] * ratio * settings.batch_size / unit["batch"]}

    def _network_score(self, space: str, proxy: str, options: dict, network: dict, batch: int
                       ) -> Optional[tuple[float, float]]:
        """Seconds of one proxy score of a standalone network at ``batch``, and of building one."""
        from .calibration import CALIBRATION_BATCH, network_score

        cal = min(batch, CALIBRATION_BATCH)
        unit = self._unit("network-score", lambda: network_score(space, network, cal), space=space, network=network,
                          batch=cal)
        ratio = self._ratio(proxy, options)
        if unit is None or ratio is None:
            return None
        return unit["seconds"] * ratio * batch / unit["batch"], unit.get("build", 0.0)

    def _bench(self) -> Optional[float]:
        from .calibration import benchmark_load

        unit = self._unit("benchmark-load", benchmark_load)
        return None if unit is None else unit["seconds"]

    def _training(self, space: str, supernet: dict, batch: int) -> Optional[dict]:
        from .calibration import CALIBRATION_BATCH, training_step

        cal = min(batch, CALIBRATION_BATCH)
        unit = self._unit("training-step", lambda: training_step(space, supernet, cal), space=space,
                          supernet=supernet, batch=cal)
        return None if unit is None else {**unit, "seconds": unit["seconds"] * batch / unit["batch"]}

    # -- kinds
    def _search(self, spec: Any) -> Optional[tuple[float, str]]:
        from ..searches.orderings import expected_evaluations

        unit = self._evaluation(spec)
        score = self._network_score(spec.space, spec.proxy, spec.proxy_options, spec.network_options, spec.batch_size)
        if unit is None or score is None:
            return None
        evaluations = spec.N * expected_evaluations(spec.order, unit["ops"], unit["edges"])
        validation = spec.N * (spec.V * score[0] + score[1])  # at most N candidates, each built once
        return unit.get("setup", 0.0) + evaluations * unit["seconds"] + validation, "calibrated"

    def _naswot(self, spec: Any) -> Optional[tuple[float, str]]:
        score = self._network_score(spec.space, spec.proxy, spec.proxy_options, spec.network_options, spec.batch_size)
        bench = self._bench()
        return None if score is None or bench is None else (spec.n_samples * sum(score) + bench, "calibrated")

    def _random(self, spec: Any) -> Optional[tuple[float, str]]:
        bench = self._bench()
        return None if bench is None else (bench, "calibrated")

    def _proxy_study(self, spec: Any) -> Optional[tuple[float, str]]:
        from .calibration import proxy_study_arch

        unit = self._unit("proxy-study-arch", lambda: proxy_study_arch(tuple(spec.proxies), spec.batch_size),
                          proxies=list(spec.proxies), batch=spec.batch_size)
        bench = self._bench()
        return None if unit is None or bench is None else (spec.num_archs * unit["seconds"] + bench, "calibrated")

    def _scoring_evaluation(self, spec: Any) -> Optional[dict]:
        from ..searches.zcpt import SearchSettings

        settings = SearchSettings(space=spec.space, proxy=spec.proxy, proxy_options=spec.proxy_options,
                                  supernet_mode=spec.supernet_mode, supernet_options=spec.supernet_options,
                                  batch_size=spec.proxy_batch_size, dataset=spec.dataset,
                                  data_source=spec.data_source, data_root=spec.data_root, engine="simple")
        return self._evaluation(settings)

    def _supernet_training(self, spec: Any) -> Optional[float]:
        """DARTS training of ``spec.darts.epochs`` epochs (two steps per minibatch: weights, alpha)."""
        d = spec.darts
        unit = self._training(spec.space, spec.supernet_options, d.batch_size)
        if unit is None:
            return None
        steps = d.steps_per_epoch or max(1, int(self._train_images(spec) * d.train_portion) // d.batch_size)
        return d.epochs * steps * 2 * unit["seconds"]

    @staticmethod
    def _train_images(spec: Any) -> int:
        if spec.data_source == "full":
            return FULL_TRAIN_IMAGES
        return _image_count(spec.dataset, spec.data_source, spec.data_root)

    def _method_seconds(self, spec: Any, method: str, evaluations: int) -> Optional[tuple[float, str]]:
        from ..scoring import get_method

        m = get_method(method)
        if m.network == "none":
            bench = self._bench()
            return None if bench is None else (bench, "calibrated")
        if m.network == "untrained":
            unit = self._scoring_evaluation(spec)
            return None if unit is None else (unit.get("setup", 0.0) + evaluations * unit["seconds"], "calibrated")
        training = self._supernet_training(spec)
        if training is None:
            return None
        if m.trains:  # disc-acc: a fine-tuning of disc_epochs per (edge, op)
            per_epoch = training / max(1, spec.darts.epochs)
            training += evaluations * spec.disc_epochs * per_epoch
        return training, "extrapolated"

    def _scores(self, spec: Any) -> Optional[tuple[float, str]]:
        unit = self._scoring_evaluation(spec)
        if unit is None:
            return None
        return self._method_seconds(spec, spec.method, unit["edges"] * unit["ops"])

    def _iterative(self, spec: Any) -> Optional[tuple[float, str]]:
        unit = self._scoring_evaluation(spec)
        if unit is None:
            return None
        e, o = unit["edges"], unit["ops"]
        total, source = 0.0, "calibrated"
        for method in spec.methods:
            out = self._method_seconds(spec, method, o * e * (e + 1) // 2)
            if out is None:
                return None
            total += out[0]
            source = "extrapolated" if out[1] == "extrapolated" else source
        return total, source

    def _darts(self, spec: Any) -> Optional[tuple[float, str]]:
        seconds = self._supernet_training(spec)
        return None if seconds is None else (seconds, "extrapolated")

    def _darts_pt(self, spec: Any) -> Optional[tuple[float, str]]:
        seconds = self._supernet_training(spec)
        unit = self._training(spec.space, spec.supernet_options, spec.darts.batch_size)
        if seconds is None or unit is None:
            return None
        per_epoch = seconds / max(1, spec.darts.epochs)
        return seconds + unit["edges"] * spec.pt.proj_intv * per_epoch, "extrapolated"


@functools.lru_cache(maxsize=None)
def _image_count(dataset: str, source: str, root: Optional[str]) -> int:
    """Training images of a dataset that is not the full one (the shared sample: read once)."""
    from ..data import load_images

    return len(load_images(dataset, source, root, train=True))


# ============================================================================= the model
class CostModel:
    """Estimates of run specs (module docstring): from stored records of the same cost key when
    there are any, else from ``calibration``'s units (none: unknown, None); :meth:`add` learns from
    records computed later (e.g. during a sweep)."""

    def __init__(self, records: Iterable[Record] = (), calibration: Any = None):
        self._by_key: dict[tuple, list[Record]] = defaultdict(list)
        self.work = WorkModel(calibration) if calibration is not None else None
        self._work_cache: dict[str, Optional[Estimate]] = {}
        for record in records:
            self.add(record)

    @classmethod
    def from_store(cls, store: Any, calibration: Any = None) -> "CostModel":
        """A model of every complete record in ``store`` (a :class:`~.store.ResultStore`)."""
        return cls(store.records(warn=False), calibration)

    def add(self, record: Record) -> None:
        if record.complete and record.seconds > 0:
            self._by_key[record.spec.cost_key()].append(record)

    def from_records(self, spec: RunSpec) -> Optional[Estimate]:
        """The record-based estimate of ``spec`` (None when no record has its cost key)."""
        records = self._by_key.get(spec.cost_key())
        if not records:
            return None
        return Estimate(statistics.median(scaled_seconds(spec, r) for r in records), len(records), "records")

    def from_work(self, spec: RunSpec) -> Optional[Estimate]:
        """The calibrated (or extrapolated) estimate of ``spec`` (None without a calibration)."""
        if self.work is None:
            return None
        name = spec.record_name()
        if name not in self._work_cache:
            self._work_cache[name] = self.work.estimate(spec)
        return self._work_cache[name]

    def estimate(self, spec: RunSpec) -> Optional[Estimate]:
        """The estimate for ``spec``: from records, else from the work model, else None."""
        return self.from_records(spec) or self.from_work(spec)


__all__ = ["CostModel", "Estimate", "FULL_TRAIN_IMAGES", "SOURCES", "WorkModel", "format_seconds", "scaled_seconds"]
