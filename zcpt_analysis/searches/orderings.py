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
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import numpy as np

from pydantic import ConfigDict, field_serializer

from ..errors import UnknownNameError
from ..options import Result
from ..registry import Registry
from ..supernet import Supernet
from .op_selection import choose_zc_pt

EdgeScores = dict[int, dict[str, float]]
EdgeEvaluator = Callable[[list[int]], EdgeScores]


class Step(Result):
    """One discretization decision: ``scores`` are the zc-pt scores ``S(A_t - (e, o))`` of the
    edge's remaining ops (lower = more important op), ``chosen`` the op kept, ``round`` its
    position in the iteration; keys a writer added beyond these are kept as they are."""

    model_config = ConfigDict(extra="allow")

    edge: int
    edge_name: str
    scores: dict[str, float]
    chosen: str
    round: int
    evaluations: int
    seconds: float

    @field_serializer("seconds")
    def _seconds(self, seconds: float) -> float:
        return round(seconds, 4)


class _Decisions:
    """Shared by every ordering: decide an edge from its zc-pt scores and discretize it."""

    def __init__(self, supernet: Supernet):
        self.supernet = supernet
        self.round = 0
        self.started = time.perf_counter()

    def start(self) -> None:
        self.started = time.perf_counter()

    def decide(self, edge: int, scores: dict[str, float], evaluated: EdgeScores) -> Step:
        chosen = choose_zc_pt(scores, what=f"edge {self.supernet.edge_names[edge]}")
        self.supernet.discretize(edge, chosen)
        step = Step(edge=edge, edge_name=self.supernet.edge_names[edge], scores=dict(scores), chosen=chosen,
                    round=self.round, evaluations=sum(len(s) for s in evaluated.values()),
                    seconds=time.perf_counter() - self.started)
        self.round += 1
        return step


OrderingFn = Callable[[Supernet, EdgeEvaluator, random.Random, _Decisions, bool], Iterator[Step]]


@dataclass(frozen=True)
class Ordering:
    """An edge discretization ordering: ``fn`` yields the decisions of one search iteration;
    ``evaluations(|O|, |E|)`` is its number of proxy evaluations per iteration (Table 2)."""

    name: str
    formula: str
    evaluations: Callable[[int, int], int]
    fn: OrderingFn
    description: str


ORDERING_REGISTRY: Registry[Ordering] = Registry("ordering")


def _nan_min(values) -> float:
    arr = np.asarray(list(values), dtype=float)
    return float(np.nanmin(arr)) if not np.all(np.isnan(arr)) else float("nan")


def _nan_mean(values) -> float:
    arr = np.asarray(list(values), dtype=float)
    return float(np.nanmean(arr)) if not np.all(np.isnan(arr)) else float("nan")


def _ranked(scores: EdgeScores, edges: list[int], key: Callable[[Mapping[str, float]], float]) -> list[int]:
    """``edges`` by ascending key (NaN keys last; ties -> lowest edge index)."""
    return sorted(edges, key=lambda e: (np.isnan(key(scores[e])), key(scores[e]), e))


def _one_at_a_time(pick: Callable[[Supernet, random.Random], int]) -> OrderingFn:
    def run(supernet: Supernet, evaluate: EdgeEvaluator, rng: random.Random, d: _Decisions,
            published_once_order: bool) -> Iterator[Step]:
        while supernet.undiscretized_edges():
            d.start()
            edge = pick(supernet, rng)
            scores = evaluate([edge])
            yield d.decide(edge, scores[edge], scores)
    return run


def _global_iter(key: Callable[[Mapping[str, float]], float]) -> OrderingFn:
    def run(supernet: Supernet, evaluate: EdgeEvaluator, rng: random.Random, d: _Decisions,
            published_once_order: bool) -> Iterator[Step]:
        while supernet.undiscretized_edges():
            d.start()
            remaining = supernet.undiscretized_edges()
            scores = evaluate(remaining)
            edge = _ranked(scores, remaining, key)[0]
            yield d.decide(edge, scores[edge], scores)
    return run


def _global_once(key: Callable[[Mapping[str, float]], float]) -> OrderingFn:
    def run(supernet: Supernet, evaluate: EdgeEvaluator, rng: random.Random, d: _Decisions,
            published_once_order: bool) -> Iterator[Step]:
        d.start()
        remaining = supernet.undiscretized_edges()
        first = evaluate(remaining)
        queue = list(reversed(remaining)) if published_once_order else _ranked(first, remaining, key)
        edge = queue.pop(0)
        yield d.decide(edge, first[edge], first)
        for edge in queue:
            d.start()
            scores = evaluate([edge])
            yield d.decide(edge, scores[edge], scores)
    return run


def _best_op(scores: Mapping[str, float]) -> float:
    return _nan_min(scores.values())


def _mean_op(scores: Mapping[str, float]) -> float:
    return _nan_mean(scores.values())


def _edges_once(o: int, e: int) -> int:
    return 2 * o * e - o


def _edges_iter(o: int, e: int) -> int:
    return o * e * (e + 1) // 2


for _ordering in (
    Ordering("fixed", "|O||E|", lambda o, e: o * e, _one_at_a_time(lambda sn, rng: sn.undiscretized_edges()[0]),
             "canonical edge order, from the cell's input towards its output"),
    Ordering("random", "|O||E|", lambda o, e: o * e,
             _one_at_a_time(lambda sn, rng: rng.choice(sn.undiscretized_edges())),
             "the next edge drawn uniformly from the remaining ones (DARTS-PT)"),
    Ordering("global-op-iter", "|O||E|(|E|+1)/2", _edges_iter, _global_iter(_best_op),
             "score every remaining edge; discretize the edge holding the globally best op; repeat"),
    Ordering("global-op-once", "2|O||E| - |O|", _edges_once, _global_once(_best_op),
             "rank the edges once by their best op score on A_0, then discretize them in that order"),
    Ordering("global-edge-iter", "|O||E|(|E|+1)/2", _edges_iter, _global_iter(_mean_op),
             "score every remaining edge; discretize the edge with the best mean score; repeat"),
    Ordering("global-edge-once", "2|O||E| - |O|", _edges_once, _global_once(_mean_op),
             "rank the edges once by their mean score on A_0, then discretize them in that order"),
):
    ORDERING_REGISTRY.register(_ordering)

ORDERINGS: tuple[str, ...] = tuple(ORDERING_REGISTRY.names())
"""The registered orderings' names (the six of Table 2)."""


def check_ordering(order: str) -> str:
    """``order`` if it names a registered ordering (exact name), else a clear error."""
    if order not in ORDERINGS:
        raise UnknownNameError("ordering", order, ORDERINGS)
    return order


def expected_evaluations(order: str, num_ops: int, num_edges: int) -> int:
    """Proxy evaluations per search iteration (Table 2's column)."""
    return ORDERING_REGISTRY.get(check_ordering(order)).evaluations(num_ops, num_edges)


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
    ordering = ORDERING_REGISTRY.get(check_ordering(order))
    yield from ordering.fn(supernet, evaluate, rng, _Decisions(supernet), published_once_order)
