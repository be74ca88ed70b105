"""The iterative setting of A.1.1 (Figure A1): every method discretizes the supernet edge by edge
along its own trajectory, and after every decision the remaining ops are scored with the method
and with a reference method on the same partially discretized supernet ``A_t``."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import pandas as pd
from pydantic import field_validator

from ..errors import ZcptError
from ..options import plain, opt
from ..runtime import derive_seed
from .methods import METHOD_NAMES, ScoringContext, ScoringSettings, as_state, finetune, get_method, score_operations
from ..searches.supernet_training import copy_supernet
from ..searches.op_selection import select
from ..supernet import ArchState


class IterativeSettings(ScoringSettings):
    """The iterative setting: one trajectory per method of ``methods``, scored with the method and
    ``reference`` after every discretization; darts-pt and disc-acc fine-tune ``retrain_epochs``
    between decisions."""

    methods: tuple[str, ...] = plain(METHOD_NAMES)
    reference: str = opt("best-acc", "--reference", help="reference method of the iterative setting")
    retrain_epochs: int = opt(5, "--retrain-epochs", ge=0,
                              help="fine-tuning epochs of darts-pt / disc-acc after each decision (paper: 5)")

    @field_validator("methods")
    @classmethod
    def _methods(cls, methods: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(get_method(m).name for m in methods)

    @field_validator("reference")
    @classmethod
    def _reference(cls, reference: str) -> str:
        return get_method(reference).name

    def trains_a_supernet(self) -> bool:
        """Whether a method of this setting scores the DARTS-trained supernet."""
        return any(get_method(m).network == "trained" for m in (*self.methods, self.reference))


def iterative_scores(context: ScoringContext, methods: Sequence[str] = METHOD_NAMES,
                     order: Optional[Sequence[int | str]] = None, reference: str = "best-acc",
                     retrain_epochs: int = 5, retrain_methods: Sequence[str] = ("darts-pt", "disc-acc"),
                     discretize_with: Optional[str] = None) -> pd.DataFrame:
    """Scores of the iterative setting of A.1.1, one trajectory per method.

    For every method ``m`` (its *trajectory*), starting from ``A_0``: (1) score the ops of all
    undiscretized edges with ``m`` and with ``reference`` (both on the same ``A_t``); (2)
    discretize the next edge of ``order`` (default: canonical order) with the op ``m`` selects
    (``discretize_with`` names another method to choose with, e.g. ``best-acc``); (3) for
    ``retrain_methods`` fine-tune the trajectory's own copy of the trained supernet for
    ``retrain_epochs`` epochs; repeat until every edge is discretized. Returns the tidy table of
    :func:`score_operations` plus a ``trajectory`` column (iteration = number of discretized edges).
    """
    names = [get_method(m).name for m in methods]
    ref = get_method(reference).name
    chooser = get_method(discretize_with).name if discretize_with is not None else None
    initial = as_state(None, context)
    edge_order = list(range(len(initial.edge_names))) if order is None else [initial.edge_index(e) for e in order]
    if sorted(edge_order) != list(range(len(initial.edge_names))):
        raise ZcptError(f"order must list every edge once; got {order}")
    tables = []
    for m in names:
        method = get_method(m)
        ctx = context
        retrain = m in retrain_methods and method.network == "trained" and retrain_epochs > 0
        if method.network == "trained":
            run = context.trained_run()
            ctx = context.fork(trained=_copy_run(run) if retrain else run)
        state: ArchState = initial
        for i, e_next in enumerate(edge_order):
            wanted = [m] if m == ref else [m, ref]
            if chooser is not None and chooser not in wanted:
                wanted.append(chooser)
            scores = score_operations(ctx, wanted, state)
            scores.insert(0, "trajectory", m)
            tables.append(scores[scores["method"].isin([m, ref])])
            pick = chooser or m
            sub = scores[(scores["method"] == pick) & (scores["edge_index"] == e_next)]
            op = select(dict(zip(sub["op"], sub["score"])), maximize=get_method(pick).higher_is_better,
                        what=f"{pick} on edge {state.edge_names[e_next]}")
            state = state.discretize(e_next, op)
            if retrain and i + 1 < len(edge_order):
                net = ctx.trained_supernet()
                state.apply(net)
                finetune(net, ctx, retrain_epochs, seed=derive_seed(context.settings.seed, "iterative", m, i))
    return pd.concat(tables, ignore_index=True)


def _copy_run(run: Any) -> Any:
    return dataclasses.replace(run, supernet=copy_supernet(run.supernet), trainer=None)
