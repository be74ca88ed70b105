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
from typing import Callable, Mapping

import torch
from torch import nn

from ..errors import ZcptError
from ..supernet import Supernet

Scorer = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]


class DegenerateScoresError(ZcptError, RuntimeError):
    """All candidate scores of an edge are NaN: there is no defined choice."""


class TiedScoresWarning(UserWarning):
    """All candidate scores of an edge are equal (e.g. all -inf): the choice is arbitrary."""


def zc_pt_scores(supernet: Supernet, edge: int | str, scorer: Scorer, inputs: torch.Tensor,
                 targets: torch.Tensor) -> dict[str, float]:
    """``S(A_t - (e, o))`` for every remaining op ``o`` of ``edge`` (lower = more important op)."""
    e = supernet.edge_index(edge)
    scores = {}
    for o in supernet.remaining_ops(e):
        with supernet.perturbed(e, o):
            scores[supernet.candidates[e][o]] = float(scorer(supernet, inputs, targets))
    return scores


def disc_zc_scores(supernet: Supernet, edge: int | str, scorer: Scorer, inputs: torch.Tensor,
                   targets: torch.Tensor) -> dict[str, float]:
    """``S(A_t + (e, o))`` for every remaining op ``o`` of ``edge`` (higher = better op)."""
    e = supernet.edge_index(edge)
    scores = {}
    for o in supernet.remaining_ops(e):
        with supernet.discretized(e, o):
            scores[supernet.candidates[e][o]] = float(scorer(supernet, inputs, targets))
    return scores


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


def choose_zc_pt(scores: Mapping[str, float], what: str = "edge") -> str:
    """The op kept by zc-pt: arg min of ``S(A - (e, o))``."""
    return select(scores, maximize=False, what=what)


def choose_disc_zc(scores: Mapping[str, float], what: str = "edge") -> str:
    """The op kept by disc-zc: arg max of ``S(A + (e, o))``."""
    return select(scores, maximize=True, what=what)
