"""What a search returns: the selected architecture, the candidates of the validation stage and the
search iterations, as plain result values (the results layer stores them inside its records).

Test errors are in % (100 - NAS-Bench-201 200-epoch test accuracy); ``Selection.benchmark`` holds
the benchmark results of the selected architecture by dataset (empty outside NAS-Bench-201).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np
from pydantic import Field, model_serializer

from ..bench.benchmark import Benchmark
from ..options import Result
from .orderings import Step


class Selection(Result):
    """A selected architecture with its benchmark results; ``score`` is what selected it (the
    validation total of Zero-Cost-PT, the proxy score of NASWOT; higher is better) where there is one."""

    arch: Any
    benchmark: Benchmark = Field(default_factory=dict)
    score: Optional[float] = None
    iterations: list[int] = Field(default_factory=list)

    def error(self, dataset: str = "cifar10") -> float:
        return self.benchmark[dataset].error


class Candidate(Result):
    """A distinct candidate of the validation stage: the iterations that found it, its validation
    scores (one per minibatch, higher is better) and their ``total``."""

    arch: Any
    iterations: list[int] = Field(default_factory=list)
    scores: list[float] = Field(default_factory=list)
    total: Optional[float] = None
    benchmark: Benchmark = Field(default_factory=dict)


class Iteration(Result):
    """One search iteration: its decisions (``steps``), topology trace (DARTS spaces) and the
    candidate architecture it yields."""

    iteration: int
    alpha_seed: int
    steps: list[Step]
    arch: Any
    evaluations: int
    seconds: float
    topology: Optional[dict[str, Any]] = None

    @model_serializer(mode="wrap")
    def _without_empty_topology(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        if out.get("topology") is None:
            out.pop("topology", None)
        return out


def distinct_candidates(iterations: list[Iteration], N: int | None = None) -> list[Candidate]:
    """The distinct architectures of the first ``N`` iterations (default: all), in order of first
    discovery (the order the validation stage scores them and breaks ties in)."""
    found: dict[str, Candidate] = {}
    for it in iterations[:N]:
        key = str(it.arch)
        found.setdefault(key, Candidate(arch=it.arch))
        found[key].iterations.append(it.iteration)
    return list(found.values())


def error_statistics(selections: Iterable[Optional[Selection]]) -> dict[str, dict[str, float]]:
    """Mean ± std (population std, ddof=0) over runs of the selected architectures' seed-mean test
    error, per dataset (runs without a benchmark result are left out).

    This is the paper's convention: Table 3 reports Zero-Cost-PT(synflow) on CIFAR-10 as 6.24 ±
    0.00 although that architecture's three training trials differ (93.74 / 93.56 / 93.98), so the
    std is over runs, not trials. ``n`` is the number of runs.
    """
    sels = [s for s in selections if s is not None and s.benchmark]
    datasets: list[str] = []
    for s in sels:
        datasets += [d for d in s.benchmark if d not in datasets]
    stats = {}
    for d in datasets:
        arr = np.asarray([s.benchmark[d].error for s in sels if d in s.benchmark], dtype=float)
        stats[d] = {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}
    return stats
