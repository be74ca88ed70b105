"""This machine's speed on the units of work the run specs are made of, measured once and cached.

The cost model (:mod:`.costs`) counts a spec's work in units -- a Zero-Cost-PT proxy evaluation on a
supernet, a proxy score of a standalone network, a supernet training step, loading the benchmark,
scoring one architecture with every proxy of the proxy study -- and multiplies by what one unit
takes here. :class:`Calibration` measures a unit the first time an estimate needs it, with the real
code at the spec's network size (a calibration minibatch of at most :data:`CALIBRATION_BATCH`
images; seconds scale linearly with the batch), on one core (``torch`` with one thread: the
estimates are seconds of one core), and caches it per machine in the user's cache folder
(``~/.cache/zcpt-analysis/calibration/<machine>.json``; ``ZCPT_CACHE_DIR`` moves it). A whole
``cpu``-preset plan measures ~30 units the first time; later plans read the cache.

Units are timed in CPU seconds of this process (:func:`cpu_seconds`), not wall seconds: on a
shared machine the wall time of a measurement depends on what else runs at that moment, its CPU
time much less. An estimate is therefore what a spec costs one core; its wall time is that on an
idle core, longer while other work competes (each unit's cache entry keeps the load average).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..files import atomic_write_json

CALIBRATION_BATCH = 32
"""The largest minibatch a unit is measured with (a larger spec batch scales linearly)."""
CALIBRATION_VERSION = 2
"""Bumped when a unit's measurement changes meaning (older cache files are ignored)."""
CACHE_ENV = "ZCPT_CACHE_DIR"


def cache_root() -> Path:
    """``$ZCPT_CACHE_DIR``, else the user's cache folder for zcpt-analysis (platformdirs)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("zcpt-analysis"))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What a calibration is valid for: host, CPU model and count, torch version."""
    import torch

    return {"host": platform.node(), "cpu": _cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "version": CALIBRATION_VERSION}


def load_average() -> Optional[float]:
    """The 1-minute load average (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """torch on one intra-op thread inside the block (what one worker of a local cluster gets)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_seconds() -> float:
    """CPU seconds this process has used: what a unit costs one core, whatever else runs on the
    machine (wall time on a shared machine depends on the others' load; see the module docstring)."""
    return time.process_time()


def best_of(fn: Callable[[], Any], repeats: int = 2) -> float:
    """The shortest CPU time of ``repeats`` calls of ``fn`` (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = cpu_seconds()
        fn()
        times.append(cpu_seconds() - start)
    return min(times)


# ============================================================================= the units
REFERENCE_PROXY = "nwot"
"""The proxy the supernet and network units are measured with; another proxy's cost is this one's
times its :func:`proxy_ratio`."""
RATIO_NETWORK: dict[str, int] = {"C": 8, "N": 1}
"""The small NAS-Bench-201 network :func:`proxy_ratio` times the proxies on."""


def zcpt_evaluation(settings: Any) -> dict[str, Any]:
    """Building the supernet (``setup``) and one Zero-Cost-PT proxy evaluation (one op perturbation scored on one minibatch) with the
    search ``settings`` (space, supernet size and mode, engine; :data:`REFERENCE_PROXY`) at the
    calibration batch: the mean of an edge scored on the full supernet and the last edge scored on
    a supernet whose other edges are discretized (in the ``fast`` mode a pass gets cheaper as edges
    are decided). Also the supernet's edge and op counts."""
    from ..data import load_synthetic
    from ..searches.zcpt import ZeroCostPT

    batch = min(settings.batch_size, CALIBRATION_BATCH)
    images = load_synthetic(n=2 * batch)  # no dataset read: a unit's cost does not depend on the pixels
    zc = ZeroCostPT(settings.replace(batch_size=batch, N=1, V=1, device="cpu", proxy=REFERENCE_PROXY,
                                     proxy_options={}), progress=False, images=images)
    start = cpu_seconds()
    sn = zc.supernet  # built once per search: the spec's fixed setup
    setup = cpu_seconds() - start
    evaluate = zc._edge_evaluator(0)
    edges = list(range(sn.num_edges))
    full = best_of(lambda: evaluate([edges[0]]), repeats=1) / len(sn.candidates[edges[0]])
    state = sn.arch_state
    for e in edges[:-1]:
        ops = state.remaining(e)
        state = state.discretize(e, ops[len(ops) // 2])
    sn.set_arch_state(state)
    last = best_of(lambda: evaluate([edges[-1]]), repeats=1) / len(sn.candidates[edges[-1]])
    return {"seconds": (full + last) / 2, "setup": setup, "batch": batch, "edges": sn.num_edges, "ops": sn.num_ops}


def _minibatch(batch: int, num_classes: int = 10) -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, 32, 32, generator=gen), torch.randint(0, num_classes, (batch,), generator=gen)


def network_score(space: str, network_options: dict, batch: int) -> dict[str, Any]:
    """One :data:`REFERENCE_PROXY` score of a standalone network of ``space`` (a random
    architecture) on one minibatch at the calibration batch, and building the network (``build``)."""
    from ..searches.zcpt import make_scorer
    from ..spaces import get_space

    sp = get_space(space)
    batch = min(batch, CALIBRATION_BATCH)
    scorer, _ = make_scorer(REFERENCE_PROXY, {})
    inputs, targets = _minibatch(batch)
    start = cpu_seconds()
    net = sp.network(sp.random_arch(random.Random(0)), num_classes=10, seed=0, **network_options)
    build = cpu_seconds() - start
    return {"seconds": best_of(lambda: scorer(net, inputs, targets), repeats=1), "build": build, "batch": batch}


def proxy_ratio(proxy: str, options: dict) -> dict[str, Any]:
    """How much longer ``proxy`` (with ``options``) scores a network than :data:`REFERENCE_PROXY`
    (both on a small NAS-Bench-201 network, :data:`RATIO_NETWORK`, 16 images)."""
    from ..searches.zcpt import make_scorer
    from ..spaces import get_space

    sp = get_space("nb201")
    inputs, targets = _minibatch(16)
    net = sp.network(sp.random_arch(random.Random(0)), num_classes=10, seed=0, **RATIO_NETWORK)
    seconds = []
    for name, opts in ((REFERENCE_PROXY, {}), (proxy, dict(options))):
        scorer, _ = make_scorer(name, opts)
        seconds.append(best_of(lambda: scorer(net, inputs, targets), repeats=2))
    return {"ratio": seconds[1] / seconds[0]}


def training_step(space: str, supernet_options: dict, batch: int) -> dict[str, Any]:
    """One SGD step (forward, backward, update) of the supernet of ``space`` at the calibration
    batch, plus its edge and op counts."""
    import torch

    from ..spaces import get_space

    batch = min(batch, CALIBRATION_BATCH)
    sn = get_space(space).supernet(num_classes=10, seed=0, **supernet_options)
    opt = torch.optim.SGD(sn.parameters(), lr=0.01)
    inputs, targets = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(sn(inputs), targets).backward()
        opt.step()

    return {"seconds": best_of(step, repeats=1), "batch": batch, "edges": sn.num_edges, "ops": sn.num_ops}


def benchmark_load(bench: Any = None) -> dict[str, Any]:
    """Loading the NAS-Bench-201 table (what the baselines and oracle scores read first)."""
    from ..bench.benchmark import NB201Benchmark, default_bench_path, read_tables

    path = bench or default_bench_path()
    start = cpu_seconds()
    NB201Benchmark(read_tables(str(path)), source=str(path))  # not the cached load_benchmark: a real read
    return {"seconds": cpu_seconds() - start}


def proxy_study_arch(proxies: tuple[str, ...], batch: int) -> dict[str, Any]:
    """Scoring one NAS-Bench-201 network with every proxy variant of a proxy study (mean of two
    random architectures) at the study's own batch."""
    import torch

    from ..proxies import parse_proxy_variant
    from ..proxy_study import score_architecture
    from ..spaces import get_space

    sp = get_space("nb201")
    variants = [parse_proxy_variant(p) for p in proxies]
    gen = torch.Generator().manual_seed(0)
    inputs, targets = torch.randn(batch, 3, 32, 32, generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    rng = random.Random(0)
    seconds = []
    for seed in range(2):
        arch = sp.to_json(sp.random_arch(rng))
        start = cpu_seconds()
        score_architecture(sp, 0, arch, variants, inputs, targets, 10, seed, torch.device("cpu"))
        seconds.append(cpu_seconds() - start)
    return {"seconds": sum(seconds) / len(seconds), "batch": batch}


# ============================================================================= the cache
def unit_key(name: str, **params: Any) -> str:
    """The cache key of a unit: its name and parameters (JSON, sorted)."""
    return name + " " + json.dumps(params, sort_keys=True, default=str)


class Calibration:
    """The measured units of this machine (:func:`machine`), read from and saved to ``path``
    (default: ``<cache_root()>/calibration/<host>-<hash>.json``); :meth:`unit` measures a missing one
    (``measure=False``: it does not; ``on_measure(key, path)`` is told before a measurement)."""

    def __init__(self, path: Optional[Path] = None, *, measure: bool = True,
                 on_measure: Optional[Callable[[str, Path], None]] = None):
        self.machine = machine()
        digest = hashlib.sha1(json.dumps(self.machine, sort_keys=True).encode()).hexdigest()[:10]
        self.path = Path(path) if path is not None else (
            cache_root() / "calibration" / f"{self.machine['host'] or 'machine'}-{digest}.json")
        self.measure = measure
        self.on_measure = on_measure
        self.units: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("machine") != self.machine:
            return {}
        units = data.get("units")
        return units if isinstance(units, dict) else {}

    def _save(self) -> None:
        try:
            atomic_write_json(self.path, {"machine": self.machine, "units": self.units})
        except OSError:
            pass  # an unwritable cache only costs a new measurement next time

    def unit(self, key: str, measure: Callable[[], dict[str, Any]]) -> Optional[dict[str, Any]]:
        """The cached unit ``key``, else ``measure()`` on one core, cached (None when not cached
        and this calibration does not measure)."""
        if key in self.units:
            return self.units[key]
        if not self.measure:
            return None
        if self.on_measure is not None:
            self.on_measure(key, self.path)
        with one_core():
            value = dict(measure())
        value.update(measured_at=time.strftime("%Y-%m-%dT%H:%M:%S"), load=load_average())
        self.units[key] = value
        self._save()
        return value


__all__ = ["CALIBRATION_BATCH", "Calibration", "benchmark_load", "cache_root", "load_average", "machine",
           "network_score", "proxy_ratio", "proxy_study_arch", "training_step", "unit_key", "zcpt_evaluation"]
