"""Edge discretization orderings of section 4.2 (Table 2), driving zc-pt decisions.

An ordering discretizes every undiscretized edge of a supernet, asking an *edge evaluator* for
zc-pt scores. ``evaluate(edges)`` draws **one fresh minibatch** and returns, for each edge in
``edges``, ``{op: S(A_t - (e, o))}`` over its remaining ops (lower = more important op). Numbers
of proxy evaluations per search iteration, for |O| ops and |E| edges (NB201: 5 and 6):

=================  ============================  =========
ordering           evaluations                   NB201
=================  ============================  =========
fixed, random      |O||E|                        30
global-op-iter     |O||E|(|E|+1)/2               105
global-edge-iter   |O||E|(|E|+1)/2               105
global-op-once     2|O||E| - |O|                 55
global-edge-once   2|O||E| - |O|                 55
=================  ============================  =========

Definitions (section 4.2):

* ``fixed``: edges in canonical order, from the cell's input towards its output.
* ``random``: the next edge is drawn uniformly from the remaining ones (DARTS-PT).
* ``global-op-iter``: score all ops on all remaining edges; discretize the edge holding the
  globally best (lowest) ``S(A - (e, o))`` with that op; repeat.
* ``global-edge-iter``: score all remaining edges; pick the edge with the best (lowest) *mean*
  score and choose its op from the same scores (reusing them is what makes the count 105; the
  published code re-scores the picked edge on a new minibatch, 135 evaluations).
* ``global-op-once`` / ``global-edge-once``: score every edge once on ``A_0``, rank the edges by
  their best op score / mean score (ascending = most important first) and discretize in that order,
  re-scoring each edge when its turn comes (the first edge reuses the ranking scores).
  Deviation: the published code ranks with ``OrderedDict.popitem()``, which pops the *last* inserted
  edge, i.e. it discretizes in reverse canonical order whatever the scores (that is why the two
  ``-once`` rows of Table 2 are identical). ``published_once_order=True`` reproduces that.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np

from ..errors import UnknownNameError
from ..supernet import Supernet
from .op_selection import choose_zc_pt

EdgeScores = dict[int, dict[str, float]]
EdgeEvaluator = Callable[[list[int]], EdgeScores]

ORDERINGS: tuple[str, ...] = ("fixed", "random", "global-op-iter", "global-op-once", "global-edge-iter",
                              "global-edge-once")


@dataclass
class Step:
    """One discretization decision."""

    edge: int
    edge_name: str
    scores: dict[str, float]
    chosen: str
    round: int
    evaluations: int
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"edge": self.edge, "edge_name": self.edge_name, "scores": self.scores, "chosen": self.chosen,
                "round": self.round, "evaluations": self.evaluations, "seconds": round(self.seconds, 4), **self.extra}


def expected_evaluations(order: str, num_ops: int, num_edges: int) -> int:
    """Proxy evaluations per search iteration (Table 2's column)."""
    o, e = num_ops, num_edges
    counts = {"fixed": o * e, "random": o * e, "global-op-iter": o * e * (e + 1) // 2,
              "global-edge-iter": o * e * (e + 1) // 2, "global-op-once": 2 * o * e - o,
              "global-edge-once": 2 * o * e - o}
    return counts[check_ordering(order)]


def check_ordering(order: str) -> str:
    if order not in ORDERINGS:
        raise UnknownNameError("ordering", order, ORDERINGS)
    return order


def _nan_min(values) -> float:
    arr = np.asarray(list(values), dtype=float)
    return float(np.nanmin(arr)) if not np.all(np.isnan(arr)) else float("nan")


def _nan_mean(values) -> float:
    arr = np.asarray(list(values), dtype=float)
    return float(np.nanmean(arr)) if not np.all(np.isnan(arr)) else float("nan")


def _pick_edge(scores: EdgeScores, key: Callable[[Mapping[str, float]], float]) -> int:
    """Edge with the lowest key (NaN keys last; ties -> lowest edge index)."""
    ranked = sorted(scores, key=lambda e: (np.isnan(key(scores[e])), key(scores[e]), e))
    return ranked[0]


def discretize_all(order: str, supernet: Supernet, evaluate: EdgeEvaluator, rng: random.Random,
                   on_step: Callable[[Step], None] | None = None, published_once_order: bool = False) -> list[Step]:
    """Discretize every remaining edge of ``supernet`` with zc-pt in the given ``order``.

    Returns the decisions in the order they were made; ``on_step`` is called after each one.
    """
    steps = []
    for step in iter_discretize(order, supernet, evaluate, rng, published_once_order):
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return steps


def iter_discretize(order: str, supernet: Supernet, evaluate: EdgeEvaluator, rng: random.Random,
                    published_once_order: bool = False) -> Iterator[Step]:
    """Like :func:`discretize_all`, one decision at a time: each ``next()`` scores, decides and
    discretizes one edge (so a caller can pause between decisions, e.g. a step-through widget)."""
    check_ordering(order)

    def decide(edge: int, scores: dict[str, float], rnd: int, evals: int, started: float) -> Step:
        chosen = choose_zc_pt(scores, what=f"edge {supernet.edge_names[edge]}")
        supernet.discretize(edge, chosen)
        return Step(edge, supernet.edge_names[edge], dict(scores), chosen, rnd, evals, time.perf_counter() - started)

    def count(scores: EdgeScores) -> int:
        return sum(len(s) for s in scores.values())

    rnd = 0
    if order in ("fixed", "random"):
        while supernet.undiscretized_edges():
            started = time.perf_counter()
            remaining = supernet.undiscretized_edges()
            edge = remaining[0] if order == "fixed" else rng.choice(remaining)
            scores = evaluate([edge])
            yield decide(edge, scores[edge], rnd, count(scores), started)
            rnd += 1
    elif order in ("global-op-iter", "global-edge-iter"):
        while supernet.undiscretized_edges():
            started = time.perf_counter()
            scores = evaluate(supernet.undiscretized_edges())
            key = (lambda s: _nan_min(s.values())) if order == "global-op-iter" else (lambda s: _nan_mean(s.values()))
            edge = _pick_edge(scores, key)
            yield decide(edge, scores[edge], rnd, count(scores), started)
            rnd += 1
    else:  # global-op-once / global-edge-once
        started = time.perf_counter()
        remaining = supernet.undiscretized_edges()
        first_scores = evaluate(remaining)
        if published_once_order:
            queue = list(reversed(remaining))
        else:
            key = (lambda s: _nan_min(s.values())) if order == "global-op-once" else (lambda s: _nan_mean(s.values()))
            queue = sorted(remaining, key=lambda e: (np.isnan(key(first_scores[e])), key(first_scores[e]), e))
        edge = queue.pop(0)
        yield decide(edge, first_scores[edge], rnd, count(first_scores), started)
        for edge in queue:
            rnd += 1
            started = time.perf_counter()
            scores = evaluate([edge])
            yield decide(edge, scores[edge], rnd, count(scores), started)
