"""Supernets with explicit, inspectable edge masks: discretize ``A + (e, o)``, perturb ``A - (e, o)``.

A :class:`Supernet` holds, next to its modules, the *edge state* of a (partially discretized)
architecture: for every edge the candidate ops, the architecture weights ``alpha`` and a mask.

* ``discretize(e, o)`` -- ``A + (e, o)``: edge ``e`` computes only ``o`` (weight 1, unscaled).
* ``perturb(e, o)`` -- ``A - (e, o)``: op ``o`` gets weight 0 on edge ``e`` and is not computed.
  The other ops keep their softmax(alpha) weights (no renormalisation, as in DARTS-PT).
* ``prune_edge(e)`` -- the edge contributes nothing (DARTS topology selection).
* ``undo()`` / ``reset()`` and the context managers :meth:`perturbed`, :meth:`discretized`,
  :meth:`pruned` revert those changes. They are cheap Python state changes, never model copies.

An undiscretized edge computes ``sum_o softmax(alpha)_o * o(x)`` over its remaining ops. With the
untrained supernet of the paper, ``alpha ~ 1e-3 * N(0, 1)`` so the mix is near uniform.

Execution modes (``supernet.supernet_mode``):

* ``"fast"`` (default): ops with weight 0 and ``none`` ops (whose output is 0) are skipped.
* ``"block-input"``: as the published Zero-Cost-PT NAS-Bench-201 code runs it
  (``nasbench201/search_cells.py``: ``layer(x, block_input=True) * w if w == 0 else layer(x) * w``)
  -- every candidate op is computed and multiplied by its weight; an op with weight 0 is *called
  on its real input and zeroes it inside* (``ReLUConvBN.forward(x, block_input=True)``), so a
  forward hook on the op module itself (the ``ReLUConvBN`` wrapper, which the published nwot hooks
  because its type name contains ``ReLU``) sees ``x``, while its inner ``nn.ReLU`` sees zeros.
  ``none`` is ``x * 0``. The paper's setting (see ``benchmarks/iteration0_fidelity.py``).
* ``"published"``: the first release's approximation of that code: every candidate op is computed,
  but an op with weight 0 is called on a zeroed input, so hooks on the op module see zeros too.
  Kept so that results recorded with it keep their meaning; it doubles the cost nwot charges for
  removing a convolution and is *not* what the authors ran.

Outputs are identical in the three modes; what differs is which ReLUs fire (and on what), so
ReLU-hooked proxies such as nwot, and the cost. (The published DARTS-space code skips weight-0
ops altogether: there ``fast`` is the faithful execution.)

Subclasses (one per search space) build the modules and implement :meth:`forward_with_plan`;
their :class:`MixedOp` modules receive an :class:`ExecutionPlan` computed once per forward.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional, Sequence

import torch
from torch import nn

from .errors import InvalidArchError, StateError
from . import fastpath
from .fastpath import SharedHeads, accumulate

SUPERNET_MODES = ("fast", "published", "block-input")
ZERO_INPUT_MODES = ("published", "block-input")
"""Modes that run every candidate op, weight-0 ops on a zeroed input."""
_KEEP = object()  # "unchanged" marker of ArchState._replace


@dataclass(frozen=True)
class Term:
    """One summand of a mixed op: ``weight * op(x)``; ``weight is None`` means ``op(x)`` unscaled.

    ``zero_input`` marks the published-code behaviour of running a weight-0 op on ``x * 0``;
    ``block_input`` says where the input is zeroed: inside the op (``op(x, block_input=True)``, for
    ops that accept it: hooks on the op module see ``x``) rather than before calling it.
    """

    op: int
    weight: Optional[torch.Tensor]
    zero_input: bool = False
    block_input: bool = False


@dataclass(frozen=True)
class ExecutionPlan:
    """What every edge computes in one forward pass: ``terms[e]`` is a tuple of :class:`Term`.

    ``groups > 1``: the batch is ``groups`` stacked copies of a minibatch, and a term's weight may
    be a ``[groups]`` tensor (one weight per copy) -- see :meth:`Supernet.perturbation_plan`.
    """

    terms: tuple[tuple[Term, ...], ...]
    groups: int = 1


@dataclass(frozen=True)
class EdgeState:
    """Inspectable state of one edge."""

    name: str
    candidates: tuple[str, ...]
    chosen: Optional[str]
    removed: tuple[str, ...]
    pruned: bool

    @property
    def remaining(self) -> tuple[str, ...]:
        """Ops still computed on this edge (the chosen one if discretized)."""
        if self.pruned:
            return ()
        if self.chosen is not None:
            return (self.chosen,)
        return tuple(o for o in self.candidates if o not in self.removed)


class MixedOp(nn.Module):
    """All candidate ops of one edge; what runs is decided by the plan of the forward pass."""

    def __init__(self, ops: Sequence[nn.Module], edge: int, stride: int = 1):
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.edge = edge
        self.stride = stride

    def forward(self, x: torch.Tensor, plan: ExecutionPlan, out: Optional[torch.Tensor] = None,
                shared: Optional[SharedHeads] = None) -> torch.Tensor:
        """``sum_terms weight * op(x)``, added to ``out`` when given (a node's running sum).

        Without autograd the sum is accumulated in place (``out`` must then be owned by the
        caller, e.g. the result of a previous call); with autograd everything is out of place.
        ``shared`` (no autograd only): the cell's :class:`~zcpt_analysis.fastpath.SharedHeads`, so
        that ops share first layers with the other ops reading ``x`` and fold identity BatchNorms
        into the sum -- the same bits, fewer passes (see :mod:`zcpt_analysis.fastpath`).
        """
        inplace = not torch.is_grad_enabled()
        fused = shared is not None and fastpath.active()
        for term in plan.terms[self.edge]:
            w = term.weight
            if w is not None and w.dim() == 1:  # one weight per stacked copy of the batch
                w = w.repeat_interleave(x.shape[0] // plan.groups).view(-1, *(1,) * (x.dim() - 1))
            if fused and not term.zero_input:
                out = accumulate(out, self.ops[term.op], x, w, shared)
                continue
            op = self.ops[term.op]
            if term.zero_input and term.block_input and getattr(op, "accepts_block_input", False):
                y = op(x, block_input=True)
            else:
                y = op(x.mul(0.0) if term.zero_input else x)
            if out is None:
                out = y if w is None else y * w
                if inplace and out is x:  # own the running sum (an identity op returns its input)
                    out = out.clone()
            elif inplace:
                out = out.add_(y) if w is None else out.addcmul_(y, w)
            else:
                out = out + y if w is None else out + y * w
        if out is None:  # nothing computed on this edge: its contribution is zero
            xs = x[:, :, :: self.stride, :: self.stride] if self.stride != 1 else x
            out = xs.mul(0.0)
        return out


class ArchState:
    """An immutable (partially discretized) architecture: per edge the candidate ops, the chosen op
    (or none yet), the removed ops and whether the edge is pruned.

    This is the only implementation of edge state: a :class:`Supernet` holds one (and a history of
    earlier ones for :meth:`Supernet.undo`), the scoring methods pass one around as ``A_t`` without
    any network. Every change returns a new state. Ops are given by name or index; names are what
    :attr:`chosen`, :attr:`removed` and :meth:`to_json` show.
    """

    __slots__ = ("edge_names", "candidates", "_chosen", "_removed", "_pruned")

    def __init__(self, edge_names: Sequence[str], candidates: Sequence[Sequence[str]],
                 chosen: Optional[Sequence[Optional[int | str]]] = None,
                 removed: Optional[Sequence[Iterable[int | str]]] = None, pruned: Optional[Sequence[bool]] = None):
        self.edge_names: tuple[str, ...] = tuple(edge_names)
        self.candidates: tuple[tuple[str, ...], ...] = tuple(tuple(c) for c in candidates)
        n = len(self.edge_names)
        if len(self.candidates) != n:
            raise InvalidArchError("an architecture state needs one candidate list per edge")
        chosen = [None] * n if chosen is None else list(chosen)
        removed = [()] * n if removed is None else list(removed)
        pruned = [False] * n if pruned is None else list(pruned)
        if not (len(chosen) == len(removed) == len(pruned) == n):
            raise InvalidArchError("an architecture state needs one choice, removed set and pruned flag per edge")
        self._chosen = tuple(None if c is None else self.op_index(e, c) for e, c in enumerate(chosen))
        self._removed = tuple(frozenset(self.op_index(e, o) for o in r) for e, r in enumerate(removed))
        self._pruned = tuple(bool(p) for p in pruned)

    @classmethod
    def initial(cls, supernet: "Supernet") -> "ArchState":
        """``A_0`` of ``supernet``'s space: nothing discretized."""
        return cls(supernet.edge_names, supernet.candidates)

    @classmethod
    def from_supernet(cls, supernet: "Supernet") -> "ArchState":
        """The supernet's current state (an operation-scoring state: no pruned edges)."""
        state = supernet.arch_state
        if any(state._pruned):
            raise StateError("a supernet with pruned edges is not an operation-scoring state")
        return state

    def _replace(self, e: int, chosen: Any = _KEEP, removed: Any = _KEEP, pruned: Any = _KEEP) -> "ArchState":
        new = object.__new__(ArchState)
        new.edge_names, new.candidates = self.edge_names, self.candidates
        new._chosen = self._chosen if chosen is _KEEP else self._chosen[:e] + (chosen,) + self._chosen[e + 1:]
        new._removed = self._removed if removed is _KEEP else self._removed[:e] + (removed,) + self._removed[e + 1:]
        new._pruned = self._pruned if pruned is _KEEP else self._pruned[:e] + (pruned,) + self._pruned[e + 1:]
        return new

    # ---------------------------------------------------------------- naming / validation
    @property
    def num_edges(self) -> int:
        return len(self.edge_names)

    def edge_index(self, edge: int | str) -> int:
        """Edge number for an edge given by number or name (e.g. ``"2<-1"``)."""
        if isinstance(edge, str):
            if edge in self.edge_names:
                return self.edge_names.index(edge)
            raise InvalidArchError(f"unknown edge {edge!r}; valid edges: {', '.join(self.edge_names)}")
        e = int(edge)
        if not 0 <= e < self.num_edges:
            raise InvalidArchError(f"edge index {edge} out of range 0..{self.num_edges - 1}")
        return e

    def op_index(self, edge: int | str, op: int | str) -> int:
        """Index of ``op`` (name or index) among the candidates of ``edge``."""
        e = self.edge_index(edge)
        cands = self.candidates[e]
        if isinstance(op, str):
            if op in cands:
                return cands.index(op)
            raise InvalidArchError(f"op {op!r} is not a candidate of edge {self.edge_names[e]}; "
                                   f"valid ops: {', '.join(cands)}")
        o = int(op)
        if not 0 <= o < len(cands):
            raise InvalidArchError(f"op index {op} out of range 0..{len(cands) - 1}")
        return o

    def op_name(self, edge: int | str, op: int | str) -> str:
        e = self.edge_index(edge)
        return self.candidates[e][self.op_index(e, op)]

    # ---------------------------------------------------------------- inspection
    @property
    def chosen(self) -> tuple[Optional[str], ...]:
        """Chosen op name per edge, ``None`` where the edge is not discretized yet."""
        return tuple(None if c is None else self.candidates[e][c] for e, c in enumerate(self._chosen))

    @property
    def removed(self) -> tuple[frozenset[str], ...]:
        """Names of the removed ops per edge."""
        return tuple(frozenset(self.candidates[e][o] for o in r) for e, r in enumerate(self._removed))

    @property
    def pruned(self) -> tuple[bool, ...]:
        return self._pruned

    @property
    def t(self) -> int:
        """Number of discretized edges (the iteration counter of ``A_t``)."""
        return sum(c is not None for c in self._chosen)

    def chosen_index(self, edge: int) -> Optional[int]:
        return self._chosen[edge]

    def removed_indices(self, edge: int) -> frozenset[int]:
        return self._removed[edge]

    def edge_state(self, edge: int | str) -> EdgeState:
        e = self.edge_index(edge)
        cands, c = self.candidates[e], self._chosen[e]
        return EdgeState(self.edge_names[e], cands, None if c is None else cands[c],
                         tuple(cands[o] for o in sorted(self._removed[e])), self._pruned[e])

    def remaining_ops(self, edge: int | str) -> list[int]:
        """Indices of the ops still computed on ``edge`` (the chosen one if discretized)."""
        e = self.edge_index(edge)
        if self._pruned[e]:
            return []
        if self._chosen[e] is not None:
            return [self._chosen[e]]
        return [o for o in range(len(self.candidates[e])) if o not in self._removed[e]]

    def remaining(self, edge: int | str) -> tuple[str, ...]:
        """Names of the ops still possible on ``edge``."""
        e = self.edge_index(edge)
        return tuple(self.candidates[e][o] for o in self.remaining_ops(e))

    def undiscretized(self) -> list[int]:
        """Edges that are neither discretized nor pruned, in edge order."""
        return [e for e in range(self.num_edges) if self._chosen[e] is None and not self._pruned[e]]

    @property
    def is_fully_discretized(self) -> bool:
        return all(c is not None or p for c, p in zip(self._chosen, self._pruned))

    # ---------------------------------------------------------------- changes (new states)
    def discretize(self, edge: int | str, op: int | str) -> "ArchState":
        """``A + (e, o)``: edge ``e`` computes only ``o``."""
        e, o = self.edge_index(edge), self.op_index(edge, op)
        if self._pruned[e]:
            raise StateError(f"edge {self.edge_names[e]} is pruned; undo that first")
        if self._chosen[e] is not None and self._chosen[e] != o:
            raise StateError(f"edge {self.edge_names[e]} is already discretized to "
                             f"{self.candidates[e][self._chosen[e]]}")
        if o in self._removed[e]:
            raise StateError(f"op {self.candidates[e][o]} was removed from edge {self.edge_names[e]}")
        return self._replace(e, chosen=o)

    def perturb(self, edge: int | str, op: int | str) -> "ArchState":
        """``A - (e, o)``: op ``o`` removed from edge ``e`` (weight 0, not computed)."""
        e, o = self.edge_index(edge), self.op_index(edge, op)
        if self._chosen[e] is not None:
            raise StateError(f"edge {self.edge_names[e]} is already discretized to "
                             f"{self.candidates[e][self._chosen[e]]}")
        return self._replace(e, removed=self._removed[e] | {o})

    def prune(self, edge: int | str) -> "ArchState":
        """Edge ``e`` removed entirely (it contributes zero), as topology selection does."""
        return self._replace(self.edge_index(edge), pruned=True)

    # ---------------------------------------------------------------- (de)serialisation
    def to_json(self) -> dict:
        """``{"chosen": [op or None per edge], "removed": [[ops] per edge]}`` (+ ``pruned`` if any)."""
        out: dict[str, Any] = {"chosen": list(self.chosen), "removed": [sorted(r) for r in self.removed]}
        if any(self._pruned):
            out["pruned"] = list(self._pruned)
        return out

    def index_json(self) -> dict:
        """The state by op indices (the supernet checkpoint format)."""
        return {"chosen": list(self._chosen), "removed": [sorted(r) for r in self._removed],
                "pruned": list(self._pruned)}

    def same_edges(self, other: "ArchState") -> bool:
        return self.edge_names == other.edge_names and self.candidates == other.candidates

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArchState) and self.same_edges(other) and self._chosen == other._chosen \
            and self._removed == other._removed and self._pruned == other._pruned

    def __hash__(self) -> int:
        return hash((self.edge_names, self._chosen, self._removed, self._pruned))

    def __repr__(self) -> str:
        return f"ArchState(chosen={self.chosen}, removed={tuple(sorted(r) for r in self.removed)})"

    @contextlib.contextmanager
    def applied(self, supernet: "Supernet") -> Iterator["Supernet"]:
        """Temporarily put ``supernet`` into this state (its previous state is restored)."""
        saved = supernet.arch_state_dict()
        try:
            self.apply(supernet)
            yield supernet
        finally:
            supernet.load_arch_state_dict(saved)

    def apply(self, supernet: "Supernet") -> "Supernet":
        """Put ``supernet`` into this state (its undo history is cleared)."""
        supernet.set_arch_state(self)
        return supernet


class Supernet(nn.Module):
    """Base class: edge state (an :class:`ArchState`), masks and their API. Subclasses provide
    modules and the forward."""

    def __init__(self, edge_names: Sequence[str], candidates: Sequence[Sequence[str]],
                 alpha_std: float = 1e-3, seed: int = 0):
        super().__init__()
        if len(edge_names) != len(candidates):
            raise ValueError("one candidate list per edge is required")
        widths = {len(c) for c in candidates}
        if len(widths) != 1:
            raise ValueError("every edge must have the same number of candidate ops")
        self._arch = ArchState(edge_names, candidates)
        self.edge_names: tuple[str, ...] = self._arch.edge_names
        self.candidates: tuple[tuple[str, ...], ...] = self._arch.candidates
        self.alpha_std = alpha_std
        # alpha is a non-persistent buffer: not a model parameter (proxies never see it as a
        # weight, as in the published code where it is a separate Variable); save it with
        # :meth:`arch_state_dict`.
        self.register_buffer("alpha", torch.zeros(len(edge_names), widths.pop()), persistent=False)
        self.supernet_mode = "fast"
        self._history: list[ArchState] = []
        self.redraw_alpha(seed)

    # ---------------------------------------------------------------- naming / validation
    @property
    def num_edges(self) -> int:
        return len(self.edge_names)

    @property
    def num_ops(self) -> int:
        """Candidate ops per edge, |O|."""
        return self.alpha.shape[1]

    def edge_index(self, edge: int | str) -> int:
        """Edge number for an edge given by number or name (e.g. ``"2<-1"``)."""
        return self._arch.edge_index(edge)

    def op_index(self, edge: int | str, op: int | str) -> int:
        """Index of ``op`` (name or index) among the candidates of ``edge``."""
        return self._arch.op_index(edge, op)

    # ---------------------------------------------------------------- state inspection
    @property
    def arch_state(self) -> ArchState:
        """The current (immutable) architecture state."""
        return self._arch

    def set_arch_state(self, state: ArchState) -> "Supernet":
        """Put the supernet into ``state`` (same edges and candidates); clears the undo history."""
        if not state.same_edges(self._arch):
            raise StateError(f"the state's edges {state.edge_names} differ from the supernet's {self.edge_names}")
        self._arch = state
        self._history.clear()
        return self

    def edge_state(self, edge: int | str) -> EdgeState:
        return self._arch.edge_state(edge)

    @property
    def state(self) -> tuple[EdgeState, ...]:
        """The current partially-discretized architecture, one :class:`EdgeState` per edge."""
        return tuple(self._arch.edge_state(e) for e in range(self.num_edges))

    def chosen_ops(self) -> tuple[Optional[str], ...]:
        """Chosen op name per edge, ``None`` where the edge is not discretized yet."""
        return self._arch.chosen

    def undiscretized_edges(self) -> list[int]:
        """Edges that are neither discretized nor pruned, in edge order."""
        return self._arch.undiscretized()

    def remaining_ops(self, edge: int | str) -> list[int]:
        """Indices of the ops still computed on ``edge``."""
        return self._arch.remaining_ops(edge)

    @property
    def is_fully_discretized(self) -> bool:
        return self._arch.is_fully_discretized

    def edge_weights(self) -> torch.Tensor:
        """Effective mixing weights ``[E, |O|]`` of the current state.

        softmax(alpha) with removed ops zeroed (not renormalised), one-hot rows for discretized
        edges and zero rows for pruned edges.
        """
        soft = torch.softmax(self.alpha, dim=-1)
        rows = []
        for e in range(self.num_edges):
            mask = torch.zeros_like(soft[e])
            chosen = self._arch.chosen_index(e)
            if chosen is not None and not self._arch.pruned[e]:
                mask[chosen] = 1
                rows.append(mask)
                continue
            mask[self.remaining_ops(e)] = 1
            rows.append(soft[e] * mask)
        return torch.stack(rows)

    # ---------------------------------------------------------------- state changes
    def _change(self, state: ArchState) -> "Supernet":
        self._history.append(self._arch)
        self._arch = state
        return self

    def discretize(self, edge: int | str, op: int | str) -> "Supernet":
        """``A + (e, o)``: edge ``e`` computes only ``o`` from now on."""
        return self._change(self._arch.discretize(edge, op))

    def perturb(self, edge: int | str, op: int | str) -> "Supernet":
        """``A - (e, o)``: remove op ``o`` from edge ``e`` (weight 0, not computed)."""
        return self._change(self._arch.perturb(edge, op))

    def prune_edge(self, edge: int | str) -> "Supernet":
        """Remove edge ``e`` entirely (it contributes zero), as topology selection does."""
        return self._change(self._arch.prune(edge))

    def undo(self) -> "Supernet":
        """Revert the most recent discretize / perturb / prune."""
        if not self._history:
            raise StateError("nothing to undo: the supernet is in its initial state")
        self._arch = self._history.pop()
        return self

    def reset(self) -> "Supernet":
        """Back to A_0: every edge undiscretized with all its candidates (alpha is kept)."""
        self._arch = ArchState(self.edge_names, self.candidates)
        self._history.clear()
        return self

    def redraw_alpha(self, seed: int) -> "Supernet":
        """Draw ``alpha = alpha_std * N(0, 1)`` with a generator seeded by ``seed``."""
        gen = torch.Generator().manual_seed(int(seed))
        fresh = self.alpha_std * torch.randn(self.alpha.shape, generator=gen)
        with torch.no_grad():
            self.alpha.copy_(fresh.to(self.alpha.device, self.alpha.dtype))
        return self

    @contextlib.contextmanager
    def perturbed(self, edge: int | str, op: int | str) -> Iterator["Supernet"]:
        """Temporarily ``A - (e, o)``."""
        self.perturb(edge, op)
        try:
            yield self
        finally:
            self.undo()

    @contextlib.contextmanager
    def discretized(self, edge: int | str, op: int | str) -> Iterator["Supernet"]:
        """Temporarily ``A + (e, o)``."""
        self.discretize(edge, op)
        try:
            yield self
        finally:
            self.undo()

    @contextlib.contextmanager
    def pruned(self, edge: int | str) -> Iterator["Supernet"]:
        """Temporarily without edge ``e``."""
        self.prune_edge(edge)
        try:
            yield self
        finally:
            self.undo()

    def arch_state_dict(self) -> dict:
        """alpha and the masks, for checkpoints (the module ``state_dict`` holds the weights)."""
        return {"alpha": self.alpha.detach().cpu().clone(), **self._arch.index_json()}

    def load_arch_state_dict(self, state: dict) -> "Supernet":
        with torch.no_grad():
            self.alpha.copy_(state["alpha"].to(self.alpha.device, self.alpha.dtype))
        return self.set_arch_state(ArchState(self.edge_names, self.candidates, state["chosen"], state["removed"],
                                             state["pruned"]))

    # ---------------------------------------------------------------- execution
    def plan(self) -> ExecutionPlan:
        """The terms every edge computes in the current state and mode."""
        if self.supernet_mode not in SUPERNET_MODES:
            raise StateError(f"unknown supernet mode {self.supernet_mode!r}; valid modes: {', '.join(SUPERNET_MODES)}")
        published = self.supernet_mode in ZERO_INPUT_MODES
        block = self.supernet_mode == "block-input"
        arch = self._arch
        soft = torch.softmax(self.alpha, dim=-1)
        one = None
        terms = []
        for e in range(self.num_edges):
            cands, chosen, removed = self.candidates[e], arch.chosen_index(e), arch.removed_indices(e)
            edge_terms: list[Term] = []
            if published:
                zero = soft.new_zeros(())
                if one is None:
                    one = soft.new_ones(())
                for o in range(len(cands)):
                    if arch.pruned[e] or (chosen is not None and o != chosen) or (chosen is None and o in removed):
                        edge_terms.append(Term(o, zero, zero_input=True, block_input=block))
                    else:
                        edge_terms.append(Term(o, one if chosen is not None else soft[e, o]))
            elif not arch.pruned[e]:
                if chosen is not None:
                    if cands[chosen] != "none":
                        edge_terms.append(Term(chosen, None))
                else:
                    edge_terms.extend(Term(o, soft[e, o]) for o in range(len(cands))
                                      if o not in removed and cands[o] != "none")
            terms.append(tuple(edge_terms))
        return ExecutionPlan(tuple(terms))

    def perturbation_plan(self, edge: int | str, ops: Sequence[int | str]) -> ExecutionPlan:
        """A ``fast``-mode plan for ``len(ops)`` stacked copies of a minibatch where copy ``g``
        computes ``A - (edge, ops[g])``: every op of ``edge`` runs on every copy and is weighted
        per copy (0 for the removed one), all other edges as in :meth:`plan`. Feeding
        ``x.repeat(len(ops), 1, 1, 1)`` gives, copy by copy, the outputs of the individual
        perturbations (exactly so when no layer couples samples, e.g. BatchNorm in eval mode).
        """
        e = self.edge_index(edge)
        if self._arch.chosen_index(e) is not None or self._arch.pruned[e]:
            raise StateError(f"edge {self.edge_names[e]} is discretized or pruned; nothing to perturb")
        removed = [self.op_index(e, o) for o in ops]
        saved = self.supernet_mode
        self.supernet_mode = "fast"
        try:
            base = self.plan()
        finally:
            self.supernet_mode = saved
        soft = torch.softmax(self.alpha, dim=-1)
        groups = len(removed)
        edge_terms = []
        for o in self.remaining_ops(e):
            if self.candidates[e][o] == "none":
                continue
            mask = torch.tensor([0.0 if o == r else 1.0 for r in removed], device=soft.device, dtype=soft.dtype)
            edge_terms.append(Term(o, soft[e, o] * mask))
        terms = list(base.terms)
        terms[e] = tuple(edge_terms)
        return ExecutionPlan(tuple(terms), groups=groups)

    def mixed_ops(self) -> list[MixedOp]:
        """Every :class:`MixedOp` module (one per edge per cell)."""
        return [m for m in self.modules() if isinstance(m, MixedOp)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_plan(x, self.plan())

    def derive(self):
        """The architecture of a fully-discretized supernet, in the space's architecture type."""
        raise NotImplementedError("a search space's supernet implements derive")

    def topology_groups(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Edges among which topology selection keeps :attr:`edges_per_node` (DARTS: the incoming
        edges of each intermediate node); empty for spaces without topology selection (NB201)."""
        return ()

    edges_per_node: int = 2

    def forward_with_plan(self, x: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        raise NotImplementedError("a search space's supernet implements forward_with_plan")
