"""Zero-cost operation scores of one edge: ``zc-pt`` (perturbation) and ``disc-zc`` (discretization).

A *scorer* is any ``f(net, inputs, targets) -> float`` with higher = better network (a zero-cost
proxy with its options bound). Sign conventions:

* ``zc-pt``:   ``g(A_t, e, o) = S(A_t - (e, o))``; the op to keep is the **arg min** (removing it
  hurts the score most). Correlation analyses negate it (A.1.2 of the paper).
* ``disc-zc``: ``g(A_t, e, o) = S(A_t + (e, o))``; the op to keep is the **arg max**.

NaN scores are ignored when choosing (as the published code's ``nanargmin``); an edge whose
scores are all NaN raises :class:`DegenerateScoresError`, and an edge whose scores are all equal
(e.g. all ``-inf``: nothing to decide on) warns, because the choice would silently be the first op.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np

import torch
from torch import nn

from ..errors import ZcptError
from ..proxies.ensemble import comparable
from ..supernet import Supernet

Scorer = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]


class DegenerateScoresError(ZcptError, RuntimeError):
    """All candidate scores of an edge are NaN: there is no defined choice."""


class TiedScoresWarning(UserWarning):
    """All candidate scores of an edge are equal (e.g. all -inf): the choice is arbitrary."""


KINDS: tuple[str, ...] = ("zc-pt", "disc-zc")


def edge_scores(kind: str, supernet: Supernet, edge: int | str, scorer: Scorer, inputs: torch.Tensor,
                targets: torch.Tensor) -> dict[str, float]:
    """The zero-cost scores of every remaining op ``o`` of ``edge``: ``S(A_t - (e, o))`` for
    ``kind="zc-pt"`` (lower = more important op), ``S(A_t + (e, o))`` for ``"disc-zc"`` (higher =
    better op)."""
    if kind not in KINDS:
        raise ZcptError(f"unknown zero-cost edge score {kind!r}; valid: {', '.join(KINDS)}")
    e = supernet.edge_index(edge)
    change = supernet.perturbed if kind == "zc-pt" else supernet.discretized
    scores = {}
    for o in supernet.remaining_ops(e):
        with change(e, o):
            scores[supernet.candidates[e][o]] = scorer(supernet, inputs, targets)
    return comparable(scores)  # floats; a set-relative proxy (the ensemble) ranks the edge's ops


def select(scores: Mapping[str, float], maximize: bool, what: str = "edge") -> str:
    """The best key of ``scores`` (arg max if ``maximize`` else arg min), ignoring NaN.

    Ties resolve to the first key in order. Raises :class:`DegenerateScoresError` if every score
    is NaN and warns with :class:`TiedScoresWarning` if all finite-or-infinite scores are equal.
    """
    if not scores:
        raise DegenerateScoresError(f"no candidate scores for {what}")
    valid = {k: v for k, v in scores.items() if not math.isnan(v)}
    if not valid:
        raise DegenerateScoresError(f"every candidate score of {what} is NaN: {dict(scores)}")
    values = list(valid.values())
    if len(valid) > 1 and all(v == values[0] for v in values):
        warnings.warn(f"all candidate scores of {what} are equal ({values[0]}); the choice "
                      f"({next(iter(valid))}) is arbitrary", TiedScoresWarning, stacklevel=2)
    best = max(valid, key=valid.__getitem__) if maximize else min(valid, key=valid.__getitem__)
    return best


def select_candidate(scores: Sequence[Sequence[float]], V: int | None = None) -> tuple[int, list[float]]:
    """The validation stage's selection rule (Algorithm 1, stage 2): each candidate's total is the
    sum of its first ``V`` validation scores (all if None; NaN scores ignored, NaN if all are NaN);
    the winner is the largest total, ties going to the candidate found first. Returns the winner's
    index and every total. Used by the search and by Figure 3's (N, V) sub-selections."""
    totals = []
    for s in scores:
        vals = np.asarray(list(s)[:V] if V is not None else list(s), dtype=float)
        totals.append(float(np.nansum(vals)) if vals.size and not np.all(np.isnan(vals)) else math.nan)
    best = select({str(i): t for i, t in enumerate(totals)}, maximize=True, what="the validation stage")
    return int(best), totals


def choose_zc_pt(scores: Mapping[str, float], what: str = "edge") -> str:
    """The op kept by zc-pt: arg min of ``S(A - (e, o))``."""
    return select(scores, maximize=False, what=what)


def choose_disc_zc(scores: Mapping[str, float], what: str = "edge") -> str:
    """The op kept by disc-zc: arg max of ``S(A + (e, o))``."""
    return select(scores, maximize=True, what=what)
