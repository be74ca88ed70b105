"""The DARTS CNN search space, RobustDARTS S1-S4, the DARTS supernet and the evaluation networks.

Cell (DARTS): two input nodes (``0`` = output of the cell two back, ``1`` = previous cell, each
preprocessed to C channels) and four intermediate nodes ``2..5``; node ``i`` sums one mixed op per
earlier node, and the cell output concatenates nodes 2-5 (4C channels). 14 edges per cell in the
standard DARTS order -- node 2: inputs 0, 1; node 3: 0, 1, 2; node 4: 0..3; node 5: 0..4 (edge
``i<-j`` carries node j to node i). Reduction cells (at 1/3 and 2/3 of the depth) double the
channels and apply their ops with stride 2 to the two input nodes.

The supernet's global edge list has 28 edges: the normal cell's 14 (``normal:2<-0`` ..
``normal:5<-4``, indices 0-13), then the reduction cell's 14 (``reduce:2<-0`` .., 14-27). All
normal cells share the normal edges' alpha and masks, all reduction cells the reduce edges', as in
DARTS.

Spaces (registered in :mod:`zcpt_analysis.spaces`):

* ``darts``: the 7 DARTS ops without ``none`` -- what DARTS-PT and Zero-Cost-PT search (default);
* ``darts-full``: the 8 DARTS ops;
* ``darts-s1`` .. ``darts-s4``: the RobustDARTS subspaces with per-edge candidate lists
  (``robustdarts_spaces.json``, a copy of RobustDARTS ``spaces.py``); S4 has the ``noise`` op.

Supernet (search) structure as DARTS ``model_search.py``: stem 3x3 conv to 3C channels + BN
(affine), cells with ``affine=False`` BatchNorms (running statistics tracked), pooling ops followed
by a BN, global average pooling and a linear classifier. ``alpha`` is ``1e-3 * N(0, 1)`` per
(edge, op) (see :class:`~zcpt_analysis.supernet.Supernet`). DARTS-PT's ``MixedOp`` skips ops whose
weight is exactly 0 and runs ``none`` as ``x * 0``; the ``fast`` execution mode skips both (same
outputs, and ``none`` has no ReLU, so ReLU-hooked proxies see the same activations).

Evaluation networks (DARTS ``model.py`` / ``model_imagenet.py``, same ``state_dict`` keys): see
:class:`DartsNetwork`, :class:`DartsNetworkImageNet` and :data:`SETTINGS`.
"""
from __future__ import annotations

import json
import random as _random
from importlib import resources
from typing import Annotated, Any, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from ..checks import NonNegativeFloat, PositiveInt, Range, checked
from ..errors import InvalidArchError, UnknownNameError
from .. import fastpath
from ..fastpath import SharedHeads, accumulate
from ..supernet import ExecutionPlan, MixedOp, Supernet
from .base import SearchSpace, register_space
from .darts_ops import (PRIMITIVES, PRIMITIVES_NO_NONE, FactorizedReduce, Identity, ReLUConvBN, check_op, make_op,
                        make_search_op)
from .genotypes import CELL_TYPES, Genotype, GenotypeLike, parse_genotype

STEPS = 4
"""Intermediate nodes per cell."""
MULTIPLIER = 4
"""Nodes concatenated into the cell output (the last ``MULTIPLIER`` nodes)."""
EDGE_NODES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(2, 2 + STEPS) for j in range(i))
"""``(node, input)`` of the 14 edges of a cell, in the standard DARTS order."""
CELL_EDGES: tuple[str, ...] = tuple(f"{i}<-{j}" for i, j in EDGE_NODES)
EDGES: tuple[str, ...] = tuple(f"{cell}:{e}" for cell in CELL_TYPES for e in CELL_EDGES)
"""The supernet's 28 edge names: ``normal:2<-0`` .. ``normal:5<-4``, ``reduce:2<-0`` .. ``reduce:5<-4``."""
EDGES_PER_CELL = len(CELL_EDGES)

SPACE_NAMES: tuple[str, ...] = ("darts", "darts-full", "darts-s1", "darts-s2", "darts-s3", "darts-s4")

CellCandidates = dict[str, list[list[str]]]
CandidatesLike = Union[str, Mapping[str, Sequence[Sequence[str]]], Sequence[str]]


# ------------------------------------------------------------------------------- candidates
def _robustdarts_tables() -> dict[str, CellCandidates]:
    text = resources.files(__package__).joinpath("robustdarts_spaces.json").read_text(encoding="utf-8")
    return json.loads(text)


def space_candidates(space: str) -> CellCandidates:
    """Per-edge candidate ops ``{"normal": [14 lists], "reduce": [14 lists]}`` of a DARTS space.

    ``space``: ``darts`` (7 ops, no ``none``), ``darts-full`` (8 ops), ``darts-s1`` .. ``darts-s4``
    (also accepted without the ``darts-`` prefix).
    """
    key = str(space).strip().lower()
    if key in ("s1", "s2", "s3", "s4"):
        key = f"darts-{key}"
    if key == "darts":
        ops = list(PRIMITIVES_NO_NONE)
    elif key == "darts-full":
        ops = list(PRIMITIVES)
    elif key in ("darts-s1", "darts-s2", "darts-s3", "darts-s4"):
        table = _robustdarts_tables()[key[-2:]]
        return {cell: [list(c) for c in table[cell]] for cell in CELL_TYPES}
    else:
        raise UnknownNameError("DARTS space", space, SPACE_NAMES)
    return {cell: [list(ops) for _ in range(EDGES_PER_CELL)] for cell in CELL_TYPES}


def resolve_candidates(candidates: CandidatesLike) -> CellCandidates:
    """Accept a space name, one op list for every edge, or ``{"normal": [...14], "reduce": [...14]}``."""
    if isinstance(candidates, str):
        return space_candidates(candidates)
    if isinstance(candidates, Mapping):
        out = {}
        for cell in CELL_TYPES:
            if cell not in candidates:
                raise InvalidArchError(f"candidate table needs a {cell!r} entry with {EDGES_PER_CELL} op lists")
            lists = [list(c) for c in candidates[cell]]
            if len(lists) != EDGES_PER_CELL:
                raise InvalidArchError(f"{cell} candidates: expected {EDGES_PER_CELL} op lists (one per edge), "
                                       f"got {len(lists)}")
            out[cell] = lists
    else:
        ops = list(candidates)
        if not ops or not all(isinstance(o, str) for o in ops):
            raise InvalidArchError("candidates must be a space name, a list of op names or a per-cell table")
        out = {cell: [list(ops) for _ in range(EDGES_PER_CELL)] for cell in CELL_TYPES}
    for cell in CELL_TYPES:
        for e, ops in enumerate(out[cell]):
            for op in ops:
                check_op(op)
            if len(set(ops)) != len(ops):
                raise InvalidArchError(f"duplicate op in the candidates of {cell}:{CELL_EDGES[e]}: {ops}")
    return out


def edge_index(cell: str, node: int, inp: int) -> int:
    """Global edge index of edge ``node<-inp`` of cell type ``cell``."""
    if cell not in CELL_TYPES:
        raise UnknownNameError("cell type", cell, CELL_TYPES)
    if (node, inp) not in EDGE_NODES:
        raise InvalidArchError(f"no edge {node}<-{inp} in a DARTS cell (nodes 2..5, inputs 0..node-1)")
    return CELL_TYPES.index(cell) * EDGES_PER_CELL + EDGE_NODES.index((node, inp))


def edge_location(edge: int) -> tuple[str, int, int]:
    """``(cell_type, node, input)`` of a global edge index."""
    if not 0 <= edge < len(EDGES):
        raise InvalidArchError(f"edge index {edge} out of range 0..{len(EDGES) - 1}")
    node, inp = EDGE_NODES[edge % EDGES_PER_CELL]
    return CELL_TYPES[edge // EDGES_PER_CELL], node, inp


def reduction_layers(layers: int) -> tuple[int, ...]:
    """Indices of the reduction cells (DARTS: ``layers // 3`` and ``2 * layers // 3``)."""
    return tuple(sorted({layers // 3, 2 * layers // 3}))


# ------------------------------------------------------------------------------- supernet
class DartsSearchCell(nn.Module):
    """A DARTS search cell: a :class:`MixedOp` on each of its 14 edges (global ids ``edge_offset + k``)."""

    def __init__(self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
                 candidates: Sequence[Sequence[str]], edge_offset: int):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        ops = []
        for k, (node, inp) in enumerate(EDGE_NODES):
            stride = 2 if reduction and inp < 2 else 1
            ops.append(MixedOp([make_search_op(o, C, stride) for o in candidates[k]], edge_offset + k, stride))
        self._ops = nn.ModuleList(ops)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        # without autograd, ops reading the same state share their first layer (ReLU, pooling) and
        # identity BatchNorms fold into the node sums: same bits, fewer passes (zcpt_analysis.fastpath)
        shared = SharedHeads() if fastpath.active() else None
        offset = 0
        for step in range(STEPS):
            node = None
            for j, h in enumerate(states):  # each edge adds its terms to the node's running sum
                node = self._ops[offset + j](h, plan, out=node, shared=shared)
                if shared is not None and step == STEPS - 1:
                    shared.release(h)  # the last node is the last reader of every state
            offset += len(states)
            states.append(node)
        return torch.cat(states[-MULTIPLIER:], dim=1)


class DartsSupernet(Supernet):
    """The DARTS search network with edge masks (see :mod:`zcpt_analysis.supernet`).

    ``candidates``: a space name (``darts``, ``darts-full``, ``darts-s1`` ..), a list of ops for
    every edge, or a ``{"normal": [...], "reduce": [...]}`` table of 14 lists each. Inputs must have
    a height and width divisible by 4 (two reductions). ``C`` and ``layers`` default to the paper's
    search setting (C=16, 8 cells); tests use tiny values.
    """

    edges_per_node = 2

    def __init__(self, C: int = 16, layers: int = 8, num_classes: int = 10, candidates: CandidatesLike = "darts",
                 stem_multiplier: int = 3, in_channels: int = 3, alpha_std: float = 1e-3, seed: int = 0):
        if layers < 3 or C < 1:
            raise InvalidArchError(f"need C >= 1 and layers >= 3 (so that the supernet has normal and reduction "
                                   f"cells), got C={C}, layers={layers}")
        table = resolve_candidates(candidates)
        per_edge = table["normal"] + table["reduce"]
        super().__init__(EDGES, per_edge, alpha_std=alpha_std, seed=seed)
        self.C, self.layers, self.num_classes = C, layers, num_classes
        self.stem_multiplier = stem_multiplier
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        cells = []
        reduction_prev = False
        reductions = reduction_layers(layers)
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                C_curr *= 2
            offset = EDGES_PER_CELL if reduction else 0
            cells.append(DartsSearchCell(C_prev_prev, C_prev, C_curr, reduction, reduction_prev,
                                         table["reduce" if reduction else "normal"], offset))
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, MULTIPLIER * C_curr
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward_with_plan(self, x: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, plan)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def topology_groups(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """``("normal:2", (0, 1))``, ``("normal:3", (2, 3, 4))`` .. ``("reduce:5", (23, .., 27))``."""
        groups = []
        for cell in CELL_TYPES:
            for node in range(2, 2 + STEPS):
                groups.append((f"{cell}:{node}", tuple(edge_index(cell, node, j) for j in range(node))))
        return tuple(groups)

    def derive(self, none_policy: str = "keep") -> Genotype:
        """The genotype of the current state.

        Every edge must be discretized or pruned, and every node must keep exactly
        :attr:`edges_per_node` (two) edges -- i.e. op selection and topology selection are done.
        Each node lists its two edges in input order (as the published parser does when no kept
        edge is ``none``).

        ``none_policy`` matters only when a kept edge was discretized to ``none`` (possible in
        ``darts-full`` and S3): ``"keep"`` (default) keeps ``("none", input)``, a zero input;
        ``"published"`` reproduces DARTS-PT's ``genotype()`` on the projected weights, which never
        returns ``none``: it ranks a node's inputs by their largest non-``none`` weight (1 for a kept
        edge with a real op, 0 for a ``none`` or pruned edge; stable sort) and gives a 0-weight edge
        the first non-``none`` candidate -- so such an edge becomes e.g. ``skip_connect`` (S3) or
        ``max_pool_3x3`` (darts-full), possibly from the lowest-numbered input instead.
        """
        if none_policy not in ("keep", "published"):
            raise UnknownNameError("none policy", none_policy, ("keep", "published"))
        pending = [self.edge_names[e] for e in self.undiscretized_edges()]
        if pending:
            raise InvalidArchError(f"cannot derive a genotype: {len(pending)} edge(s) are neither discretized nor "
                                   f"pruned ({', '.join(pending[:6])}{' ...' if len(pending) > 6 else ''})")
        chosen = self.chosen_ops()
        genes: dict[str, list[tuple[str, int]]] = {c: [] for c in CELL_TYPES}
        for name, edges in self.topology_groups():
            kept = [e for e in edges if not self.arch_state.pruned[e]]
            if len(kept) != self.edges_per_node:
                raise InvalidArchError(f"cannot derive a genotype: node {name} keeps {len(kept)} incoming edges "
                                       f"({', '.join(self.edge_names[e] for e in kept) or 'none'}), a DARTS genotype "
                                       f"needs exactly {self.edges_per_node}; run topology selection first")
            cell = name.split(":")[0]
            if none_policy == "published" and any(chosen[e] == "none" for e in kept):
                genes[cell].extend(self._published_parse(edges, kept))
                continue
            for e in kept:
                genes[cell].append((chosen[e], edge_location(e)[2]))  # type: ignore[arg-type]
        concat = tuple(range(2 + STEPS - MULTIPLIER, 2 + STEPS))
        return Genotype(tuple(genes["normal"]), concat, tuple(genes["reduce"]), concat)

    def _published_parse(self, edges: Sequence[int], kept: Sequence[int]) -> list[tuple[str, int]]:
        """DARTS-PT's ``_parse`` of one node on one-hot (kept) / zero (pruned) weight rows."""
        weights = []
        for e in edges:
            row = [0.0] * self.num_ops
            if e in kept:
                row[self.arch_state.chosen_index(e)] = 1.0  # type: ignore[index]
            cands = self.candidates[e]
            real = [k for k in range(len(cands)) if cands[k] != "none"] or list(range(len(cands)))
            weights.append((row, real))
        order = sorted(range(len(edges)), key=lambda j: -max(weights[j][0][k] for k in weights[j][1]))
        out = []
        for j in order[: self.edges_per_node]:
            row, real = weights[j]
            k_best = max(real, key=lambda k: (row[k], -k))  # first maximum
            out.append((self.candidates[edges[j]][k_best], j))
        return out


# ------------------------------------------------------------------------------- evaluation networks
def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest by ``1/(1-drop_prob)``."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class DartsCell(nn.Module):
    """A cell of a DARTS evaluation network built from a genotype (affine BN, drop-path)."""

    def __init__(self, genotype: Genotype, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(C_prev_prev, C)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        gene = genotype.reduce if reduction else genotype.normal
        self._concat = tuple(genotype.reduce_concat if reduction else genotype.normal_concat)
        self._steps = len(gene) // 2
        self.multiplier = len(self._concat)
        self._indices = tuple(src for _, src in gene)
        self._ops = nn.ModuleList(make_op(op, C, 2 if reduction and src < 2 else 1) for op, src in gene)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        if fastpath.active() and not (self.training and drop_prob > 0.0):
            shared = SharedHeads()  # same bits, fewer passes (zcpt_analysis.fastpath)
            for i in range(self._steps):
                node = None
                for k in (2 * i, 2 * i + 1):
                    node = accumulate(node, self._ops[k], states[self._indices[k]], None, shared)
                states.append(node)
            return torch.cat([states[i] for i in self._concat], dim=1)
        for i in range(self._steps):
            out = []
            for k in (2 * i, 2 * i + 1):
                op = self._ops[k]
                h = op(states[self._indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                out.append(h)
            states.append(out[0] + out[1])
        return torch.cat([states[i] for i in self._concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier for 8x8 inputs (after the second reduction cell)."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """DARTS's ImageNet auxiliary classifier for 14x14 inputs (no BN after the 2x2 conv, as published)."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _DartsNetworkBase(nn.Module):
    """Shared cell stacking and outputs of the CIFAR and ImageNet networks.

    ``forward(x)`` returns the logits (so zero-cost proxies can score the network);
    :meth:`forward_with_aux` returns ``(logits, aux_logits)`` with ``aux_logits`` only in training
    mode with an auxiliary head (else ``None``). ``drop_path_prob`` is set by the trainer.
    """

    genotype: Genotype
    drop_path_prob: float
    _layers: int
    _auxiliary: bool

    def _build_cells(self, genotype: Genotype, C: int, layers: int, C_prev_prev: int, C_prev: int,
                     reduction_prev: bool) -> tuple[int, int]:
        self.cells = nn.ModuleList()
        self._aux_position = 2 * layers // 3
        C_curr = C
        C_to_auxiliary = C_prev
        reductions = reduction_layers(layers)
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                C_curr *= 2
            cell = DartsCell(genotype, C_prev_prev, C_prev, C_curr, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == self._aux_position:
                C_to_auxiliary = C_prev
        return C_prev, C_to_auxiliary

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        logits_aux = None
        s0, s1 = self._stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self._aux_position and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, logits_aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


class DartsNetwork(_DartsNetworkBase):
    """DARTS's CIFAR evaluation network (``model.py``'s ``NetworkCIFAR``) for a genotype.

    Stem: 3x3 conv to 3C channels + BN; ``layers`` cells with reductions at 1/3 and 2/3 of the
    depth; an auxiliary head after the second reduction cell (8x8 features for 32x32 inputs);
    global average pooling and a linear classifier. Heavy setting: C=36, 20 layers; mobile: C=16,
    8 layers (:data:`SETTINGS`).
    """

    def __init__(self, genotype: GenotypeLike, C: int = 36, layers: int = 20, num_classes: int = 10,
                 auxiliary: bool = True, in_channels: int = 3, stem_multiplier: int = 3):
        super().__init__()
        self.genotype = parse_genotype(genotype)
        self._layers, self._auxiliary = layers, auxiliary
        self.C, self.num_classes = C, num_classes
        self.drop_path_prob = 0.0
        C_stem = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        C_prev, C_aux = self._build_cells(self.genotype, C, layers, C_stem, C_stem, False)
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


class DartsNetworkImageNet(_DartsNetworkBase):
    """DARTS's ImageNet network (``model_imagenet.py``): two stride-2 stems (224 -> 28), C=48,
    14 layers, ImageNet auxiliary head. Global pooling is adaptive (DARTS's ``AvgPool2d(7)`` on the
    7x7 final features of a 224x224 input: identical there, parameter-free either way)."""

    def __init__(self, genotype: GenotypeLike, C: int = 48, layers: int = 14, num_classes: int = 1000,
                 auxiliary: bool = True, in_channels: int = 3):
        super().__init__()
        self.genotype = parse_genotype(genotype)
        self._layers, self._auxiliary = layers, auxiliary
        self.C, self.num_classes = C, num_classes
        self.drop_path_prob = 0.0
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, C // 2, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self.stem1 = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False),
                                   nn.BatchNorm2d(C))
        C_prev, C_aux = self._build_cells(self.genotype, C, layers, C, C, True)
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadImageNet(C_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


SETTINGS: dict[str, dict[str, Any]] = {
    "heavy": {"network": "cifar", "C": 36, "layers": 20, "auxiliary": True},
    "mobile": {"network": "cifar", "C": 16, "layers": 8, "auxiliary": True},
    "imagenet": {"network": "imagenet", "C": 48, "layers": 14, "auxiliary": True},
}
"""Evaluation settings: ``heavy`` (CIFAR-10 in the paper: C=36, 20 layers), ``mobile`` (CIFAR-100
and SVHN: C=16, 8 layers, A.5.2) and ``imagenet`` (C=48, 14 layers); all with an auxiliary head."""


def build_network(genotype: GenotypeLike, setting: str = "heavy", num_classes: Optional[int] = None,
                  auxiliary: Optional[bool] = None, C: Optional[int] = None,
                  layers: Optional[int] = None) -> _DartsNetworkBase:
    """The evaluation network of ``genotype`` in a :data:`SETTINGS` setting (fields overridable).

    ``num_classes`` defaults to 10 (CIFAR settings) or 1000 (``imagenet``).
    """
    key = str(setting).strip().lower()
    if key not in SETTINGS:
        raise UnknownNameError("network setting", setting, SETTINGS)
    cfg = SETTINGS[key]
    kwargs = dict(C=cfg["C"] if C is None else C, layers=cfg["layers"] if layers is None else layers,
                  auxiliary=cfg["auxiliary"] if auxiliary is None else auxiliary)
    if cfg["network"] == "imagenet":
        return DartsNetworkImageNet(genotype, num_classes=1000 if num_classes is None else num_classes, **kwargs)
    return DartsNetwork(genotype, num_classes=10 if num_classes is None else num_classes, **kwargs)


def count_parameters(model: nn.Module, exclude_auxiliary: bool = True) -> int:
    """Number of parameters, without those of the auxiliary head (DARTS's ``count_parameters_in_MB``
    convention: every parameter whose name contains ``auxiliary`` is left out)."""
    return sum(p.numel() for name, p in model.named_parameters() if not (exclude_auxiliary and "auxiliary" in name))


def param_count(genotype: GenotypeLike, setting: str = "heavy", num_classes: Optional[int] = None) -> int:
    """Parameters of ``genotype``'s network in ``setting`` (auxiliary head excluded)."""
    return count_parameters(build_network(genotype, setting, num_classes=num_classes))


# ------------------------------------------------------------------------------- sampling / registry
def random_genotype(rng: _random.Random, candidates: CandidatesLike = "darts") -> Genotype:
    """A random genotype: per node two distinct inputs (uniform), per kept edge a uniform op from that
    edge's candidates, ``none`` excluded where the edge has another candidate (as DARTS's sampler)."""
    table = resolve_candidates(candidates)
    genes: dict[str, list[tuple[str, int]]] = {}
    for cell in CELL_TYPES:
        gene = []
        for node in range(2, 2 + STEPS):
            for inp in sorted(rng.sample(range(node), 2)):
                ops = table[cell][EDGE_NODES.index((node, inp))]
                ops = [o for o in ops if o != "none"] or ops
                gene.append((rng.choice(ops), inp))
        genes[cell] = gene
    concat = tuple(range(2, 2 + STEPS))
    return Genotype(tuple(genes["normal"]), concat, tuple(genes["reduce"]), concat)


Layers = Annotated[int, Range(3)]
"""Cells of a DARTS network: at least 3, so that it has its two reduction cells and a normal one."""


def _supernet_factory(space: str):
    @checked("supernet option")
    def build(num_classes: PositiveInt = 10, seed: int = 0, C: PositiveInt = 16, layers: Layers = 8,
              stem_multiplier: PositiveInt = 3, alpha_std: NonNegativeFloat = 1e-3) -> DartsSupernet:
        """The untrained DARTS supernet A_0 (weights and alpha from ``seed``; global RNG untouched)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return DartsSupernet(C=C, layers=layers, num_classes=num_classes, candidates=space, seed=seed,
                                 stem_multiplier=stem_multiplier, alpha_std=alpha_std)
    return build


@checked("network option")
def seeded_network(arch: GenotypeLike, num_classes: PositiveInt = 10, seed: int = 0, C: PositiveInt = 16,
                   layers: Layers = 8, auxiliary: bool = False) -> DartsNetwork:
    """A standalone CIFAR network for the validation stage: by default C=16, 8 layers, no auxiliary
    head (as the published validation stage builds it), weights from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DartsNetwork(arch, C=C, layers=layers, num_classes=num_classes, auxiliary=auxiliary)


_DESCRIPTIONS = {
    "darts": "DARTS CNN space without 'none' (7 ops x 14 edges x 2 cells; the paper's DARTS experiments)",
    "darts-full": "DARTS CNN space with all 8 ops including 'none'",
    "darts-s1": "RobustDARTS S1: two DARTS-chosen candidate ops per edge",
    "darts-s2": "RobustDARTS S2: skip_connect / sep_conv_3x3",
    "darts-s3": "RobustDARTS S3: none / skip_connect / sep_conv_3x3",
    "darts-s4": "RobustDARTS S4: noise / sep_conv_3x3",
}


def register_spaces() -> None:
    """Register ``darts``, ``darts-full`` and ``darts-s1`` .. ``darts-s4`` (idempotent)."""
    from .base import SPACES

    for name in SPACE_NAMES:
        if name in SPACES:
            continue
        register_space(SearchSpace(
            name=name,
            description=_DESCRIPTIONS[name],
            supernet=_supernet_factory(name),
            network=seeded_network,
            parse=parse_genotype,
            to_json=lambda arch: parse_genotype(arch).to_json(),
            random_arch=lambda rng, _name=name: random_genotype(rng, _name),
            has_benchmark=False,
            default_batch_size=64,
            datasets=("cifar10", "cifar100", "svhn", "synthetic"),
            extras={"candidates": space_candidates(name), "edges": EDGES, "topology_selection": True,
                    "validation_network": {"C": 16, "layers": 8, "auxiliary": False}},
        ))
