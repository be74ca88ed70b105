"""Topology selection for cell spaces with a fixed in-degree (DARTS): keep two inputs per node.

After op selection every edge of the supernet computes one op. Zero-Cost-PT then decides, node by
node, which incoming edges survive (lines 8-14 of Algorithm 2 in the paper's appendix). The score of
an edge ``e`` is the zc-pt score of the architecture without it, ``S(A - e)`` (the network with the
edge pruned; a scorer is ``f(net, inputs, targets) -> float``, higher = better network). As for ops,
**lower** ``S(A - e)`` means a more important edge: removing it hurts the score most.

Methods:

* ``"algorithm2"`` (the paper's Algorithm 2): score removing each incoming edge once, on the
  architecture with all of them, and keep the :attr:`~zcpt_analysis.supernet.Supernet.edges_per_node`
  edges with the lowest ``S(A - e)``; prune the rest.
* ``"iterative"`` (the published code, REFERENCE-FACTS): repeatedly score removing each remaining
  incoming edge and prune the one whose removal leaves the **highest** score, until two remain.
  Each round is re-scored on the reduced node. Ties go to the later edge, as in the published
  comparison (``not crit < best``).

NaN scores are ignored (an edge with a NaN score is neither kept for it nor removed for it); a node
whose scores are all NaN raises :class:`~zcpt_analysis.searches.op_selection.DegenerateScoresError`,
and all-equal scores warn (:class:`~zcpt_analysis.searches.op_selection.TiedScoresWarning`).

Node orders (the nodes come from ``supernet.topology_groups()``, named ``"<cell>:<node>"`` for DARTS):

* ``"random"`` (Algorithm 2): a uniformly random permutation of all nodes (both cell types), drawn
  from ``rng``; one fresh minibatch per node;
* ``"fixed"``: the order of ``topology_groups()``; one minibatch per node;
* ``"alternating"`` (the published code): in each step one random remaining node of every cell
  type (normal, then reduce; the prefix before ``:`` of the node name), sharing one minibatch.
"""
from __future__ import annotations

import math
import random
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import torch

from ..errors import StateError, UnknownNameError
from ..supernet import Supernet
from ..proxies.ensemble import comparable
from .op_selection import DegenerateScoresError, Scorer, TiedScoresWarning

METHODS: tuple[str, ...] = ("algorithm2", "iterative")
ORDERS: tuple[str, ...] = ("random", "fixed", "alternating")

Batch = tuple[torch.Tensor, torch.Tensor]
BatchSource = Union[Callable[[], Batch], Batch]


def removal_scores(supernet: Supernet, edges: Sequence[int], scorer: Scorer, inputs: torch.Tensor,
                   targets: torch.Tensor) -> dict[int, float]:
    """``S(A - e)`` for every edge id in ``edges`` (each pruned temporarily; lower = more important)."""
    scores = {}
    for e in edges:
        with supernet.pruned(e):
            scores[e] = scorer(supernet, inputs, targets)
    return comparable(scores)  # floats; a set-relative proxy (the ensemble) ranks the removals


def _check_scores(scores: dict[int, float], what: str) -> dict[int, float]:
    valid = {e: s for e, s in scores.items() if not math.isnan(s)}
    if not valid:
        raise DegenerateScoresError(f"every edge-removal score of {what} is NaN: {scores}")
    values = list(valid.values())
    if len(valid) > 1 and all(v == values[0] for v in values):
        warnings.warn(f"all edge-removal scores of {what} are equal ({values[0]}); the choice is arbitrary",
                      TiedScoresWarning, stacklevel=3)
    return valid


def keep_lowest(scores: dict[int, float], keep: int, what: str = "node") -> list[int]:
    """Algorithm 2's choice: the ``keep`` edges with the lowest ``S(A - e)`` (NaN last; ties: lower id)."""
    _check_scores(scores, what)
    ranked = sorted(scores, key=lambda e: (math.isnan(scores[e]), scores[e] if not math.isnan(scores[e]) else 0.0, e))
    return sorted(ranked[:keep])


def remove_highest(scores: dict[int, float], what: str = "node") -> int:
    """The iterative (published) choice: the edge whose removal leaves the highest score, NaN
    ignored, ties to the later edge."""
    valid = _check_scores(scores, what)
    best = max(valid.values())
    return max(e for e, s in valid.items() if s == best)


def _next_batch(source: BatchSource) -> Batch:
    if callable(source):
        inputs, targets = source()
    else:
        inputs, targets = source
    return inputs, targets


def _node_schedule(groups: Sequence[tuple[str, tuple[int, ...]]], order: str,
                   rng: Optional[random.Random]) -> list[list[int]]:
    """Lists of group indices; the nodes of one list share a minibatch."""
    idx = list(range(len(groups)))
    if order == "fixed":
        return [[i] for i in idx]
    if rng is None:
        raise StateError(f"order={order!r} needs a seeded random.Random (rng)")
    if order == "random":
        rng.shuffle(idx)
        return [[i] for i in idx]
    prefixes: list[str] = []
    remaining: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(groups):
        prefix = name.split(":", 1)[0]
        if prefix not in remaining:
            prefixes.append(prefix)
            remaining[prefix] = []
        remaining[prefix].append(i)
    steps = []
    while any(remaining.values()):
        step = []
        for prefix in prefixes:
            if remaining[prefix]:
                pick = rng.choice(remaining[prefix])
                remaining[prefix].remove(pick)
                step.append(pick)
        steps.append(step)
    return steps


def select_topology(supernet: Supernet, scorer: Scorer, sample_batch: BatchSource,
                    rng: Optional[random.Random] = None, method: str = "algorithm2",
                    order: str = "random") -> dict[str, Any]:
    """Prune the supernet's incoming edges down to ``supernet.edges_per_node`` per node (in place).

    ``sample_batch`` is a callable returning a fresh ``(inputs, targets)`` minibatch (drawn once per
    node, or per step with ``order="alternating"``), or a fixed ``(inputs, targets)`` pair.
    ``rng`` (a seeded :class:`random.Random`) draws the node order. Every edge of the topology groups
    must already have its op chosen (:meth:`Supernet.discretize`).

    Returns a JSON-friendly trace: ``{"method", "order", "edges_per_node", "nodes": [{"node",
    "step", "edges", "scores" (edge name -> S(A - e) of the first round), "rounds" (iterative: per
    round the scores and the removed edge), "kept", "pruned"}]}``. Spaces without topology groups
    (NAS-Bench-201) return an empty ``nodes`` list and are left unchanged.
    """
    if method not in METHODS:
        raise UnknownNameError("topology selection method", method, METHODS)
    if order not in ORDERS:
        raise UnknownNameError("node order", order, ORDERS)
    groups = supernet.topology_groups()
    keep = int(supernet.edges_per_node)
    trace: dict[str, Any] = {"method": method, "order": order, "edges_per_node": keep, "nodes": []}
    if not groups:
        return trace
    chosen = supernet.chosen_ops()
    undecided = [supernet.edge_names[e] for _, edges in groups for e in edges
                 if chosen[e] is None and not supernet.edge_state(e).pruned]
    if undecided:
        raise StateError(f"topology selection needs every op chosen first; undiscretized edges: "
                         f"{', '.join(undecided[:8])}{' ...' if len(undecided) > 8 else ''}")
    names = supernet.edge_names
    for step_no, step in enumerate(_node_schedule(groups, order, rng)):
        inputs, targets = _next_batch(sample_batch)
        for gi in step:
            node, edges = groups[gi]
            live = [e for e in edges if not supernet.edge_state(e).pruned]
            record: dict[str, Any] = {"node": node, "step": step_no, "edges": [names[e] for e in live]}
            if len(live) <= keep:
                record.update(scores={}, kept=[names[e] for e in live], pruned=[], skipped=True)
                trace["nodes"].append(record)
                continue
            what = f"node {node}"
            if method == "algorithm2":
                scores = removal_scores(supernet, live, scorer, inputs, targets)
                kept = keep_lowest(scores, keep, what)
                removed = [e for e in live if e not in kept]
                for e in removed:
                    supernet.prune_edge(e)
                record["scores"] = {names[e]: s for e, s in scores.items()}
            else:
                rounds = []
                remaining = list(live)
                while len(remaining) > keep:
                    scores = removal_scores(supernet, remaining, scorer, inputs, targets)
                    drop = remove_highest(scores, what)
                    supernet.prune_edge(drop)
                    remaining.remove(drop)
                    rounds.append({"scores": {names[e]: s for e, s in scores.items()}, "removed": names[drop]})
                kept, removed = remaining, [e for e in live if e not in remaining]
                record["scores"] = rounds[0]["scores"]
                record["rounds"] = rounds
            record["kept"] = [names[e] for e in kept]
            record["pruned"] = [names[e] for e in removed]
            trace["nodes"].append(record)
    return trace
