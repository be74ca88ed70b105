"""The NAS-Bench-201 search space: standalone network and supernet (ops, edges and :class:`Arch`:
:mod:`zcpt_analysis.nb201_arch`, re-exported here).

Canonical orders (the official arch-string order, used everywhere in this toolkit):

* ops: ``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``
* edges: ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2`` (edge ``i<-j`` carries node j to node i)

The networks follow NAS-Bench-201's training skeleton: a 3x3 conv stem (C=16), three stages of
N=5 cells separated by residual reduction blocks (stride 2, channels doubled), BN + ReLU, global
average pooling and a linear classifier.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from ..checks import NonNegativeFloat, PositiveInt, checked
from ..errors import InvalidArchError
from .. import fastpath
from ..fastpath import SharedHeads, accumulate
from ..supernet import ExecutionPlan, MixedOp, Supernet
from .ops import NB201_OPS, ResNetBasicblock, Zero

from ..nb201_arch import (NUM_ARCHS, NUM_NODES, OPS, EDGE_NODES, EDGES, Arch, ArchLike,
                          all_archs, edge_index, parse_arch, random_arch)


# ---------------------------------------------------------------------------------- networks
def _stage_layout(C: int, N: int) -> list[tuple[int, bool]]:
    """(channels, is_reduction) for every cell position of the 3-stage skeleton."""
    return [(C, False)] * N + [(2 * C, True)] + [(2 * C, False)] * N + [(4 * C, True)] + [(4 * C, False)] * N


class _Trunk(nn.Module):
    """Stem, cells, BN+ReLU, global pooling and classifier shared by network and supernet."""

    def __init__(self, C: int, N: int, num_classes: int, make_cell: Callable[[int, int], nn.Module],
                 in_channels: int = 3):
        super().__init__()
        self.C, self.N, self.num_classes = C, N, num_classes
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells = []
        C_prev = C
        for C_curr, reduction in _stage_layout(C, N):
            cells.append(ResNetBasicblock(C_prev, C_curr, 2) if reduction else make_cell(C_prev, C_curr))
            C_prev = C_curr
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def head(self, feature: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.flatten(1))


class NB201Cell(nn.Module):
    """A standalone cell: one fixed op per edge, ``node_i = sum_j op_{i<-j}(node_j)``."""

    def __init__(self, arch: Arch, C_in: int, C_out: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.edges = nn.ModuleList(NB201_OPS[op](C_in, C_out, 1, affine, track_running_stats) for op in arch.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fastpath.active():
            return self._forward_fused(x)
        nodes = [x]
        for i in range(1, NUM_NODES):
            terms = [self.edges[EDGE_NODES.index((i, j))](nodes[j]) for j in range(i)]
            nodes.append(sum(terms[1:], terms[0]))
        return nodes[-1]

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """The no-grad forward with the same bits (see :mod:`zcpt_analysis.fastpath`): node by node,
        each node's outgoing ops share their first layers and add into the later nodes' running sums
        (in the same order as above); ``none`` terms, which add zeros, are skipped."""
        sums: list[torch.Tensor | None] = [x] + [None] * (NUM_NODES - 1)
        for j in range(NUM_NODES - 1):
            node = sums[j]
            if node is None:  # every incoming op is none
                node = sums[j] = x.mul(0.0)
            shared = SharedHeads()
            for i in range(j + 1, NUM_NODES):
                op = self.edges[EDGE_NODES.index((i, j))]
                if not isinstance(op, Zero):
                    sums[i] = accumulate(sums[i], op, node, None, shared)
        return x.mul(0.0) if sums[-1] is None else sums[-1]


class NB201SearchCell(nn.Module):
    """A supernet cell: a :class:`MixedOp` of all candidates on every edge."""

    def __init__(self, C_in: int, C_out: int, candidates: Sequence[Sequence[str]], affine: bool,
                 track_running_stats: bool):
        super().__init__()
        self.edges = nn.ModuleList(
            MixedOp([NB201_OPS[op](C_in, C_out, 1, affine, track_running_stats) for op in candidates[e]], e)
            for e in range(len(EDGES)))

    def forward(self, x: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        if fastpath.active():
            return self._forward_fused(x, plan)
        nodes = [x]
        for i in range(1, NUM_NODES):
            node = None
            for j in range(i):  # each edge adds its terms to the node's running sum
                node = self.edges[EDGE_NODES.index((i, j))](nodes[j], plan, out=node)
            nodes.append(node)
        return nodes[-1]

    def _forward_fused(self, x: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        """The no-grad forward with the same bits: node by node (so only one node's shared first
        layers are held), each node's edges add into the later nodes' running sums in the order above."""
        sums: list[torch.Tensor | None] = [x] + [None] * (NUM_NODES - 1)
        for j in range(NUM_NODES - 1):
            shared = SharedHeads()
            for i in range(j + 1, NUM_NODES):
                sums[i] = self.edges[EDGE_NODES.index((i, j))](sums[j], plan, out=sums[i], shared=shared)
        return sums[-1]


class NB201Network(_Trunk):
    """The standalone network of one architecture, as NAS-Bench-201 trains it (logits output)."""

    def __init__(self, arch: ArchLike, C: int = 16, N: int = 5, num_classes: int = 10, affine: bool = True,
                 track_running_stats: bool = True):
        arch = parse_arch(arch)
        super().__init__(C, N, num_classes,
                         lambda C_in, C_out: NB201Cell(arch, C_in, C_out, affine, track_running_stats))
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        return self.head(feature)


class NB201Supernet(Supernet):
    """The NAS-Bench-201 supernet with masks (see :mod:`zcpt_analysis.supernet`).

    As in the paper's published setting, the cells' BatchNorms have ``affine=False`` and track
    running statistics (never updated while untrained); stem, reduction blocks and the final BN are
    affine. ``alpha ~ alpha_std * N(0, 1)``.
    """

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, candidates: Sequence[str] = OPS,
                 affine: bool = False, track_running_stats: bool = True, alpha_std: float = 1e-3, seed: int = 0):
        for op in candidates:
            if op not in NB201_OPS:
                raise InvalidArchError(f"unknown op {op!r}; valid ops: {', '.join(NB201_OPS)}")
        per_edge = [tuple(candidates)] * len(EDGES)
        super().__init__(EDGES, per_edge, alpha_std=alpha_std, seed=seed)
        self.trunk = _Trunk(C, N, num_classes,
                            lambda C_in, C_out: NB201SearchCell(C_in, C_out, per_edge, affine, track_running_stats))
        self.affine, self.track_running_stats = affine, track_running_stats

    def forward_with_plan(self, x: torch.Tensor, plan: ExecutionPlan) -> torch.Tensor:
        feature = self.trunk.stem(x)
        for cell in self.trunk.cells:
            feature = cell(feature, plan) if isinstance(cell, NB201SearchCell) else cell(feature)
        return self.trunk.head(feature)

    def derive(self) -> Arch:
        """The architecture of a fully-discretized supernet."""
        if not self.is_fully_discretized or any(s.pruned for s in self.state):
            pending = [self.edge_names[e] for e in self.undiscretized_edges()]
            raise InvalidArchError(f"the supernet is not fully discretized; undiscretized edges: {', '.join(pending)}")
        return Arch(tuple(op for op in self.chosen_ops()))  # type: ignore[arg-type]


def network_from_supernet(supernet: NB201Supernet) -> NB201Network:
    """The standalone network of ``supernet.derive()`` sharing the supernet's weights.

    BatchNorm settings follow the supernet's cells, so in train (batch-statistics) mode the two
    produce the same outputs.
    """
    arch = supernet.derive()
    trunk = supernet.trunk
    net = NB201Network(arch, trunk.C, trunk.N, trunk.num_classes, supernet.affine, supernet.track_running_stats)
    source = supernet.trunk.state_dict()
    target = net.state_dict()
    for key in target:
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            e = int(parts[3])
            o = supernet.candidates[e].index(arch.ops[e])
            src = ".".join(parts[:4] + ["ops", str(o)] + parts[4:])
        else:
            src = key
        target[key] = source[src]
    net.load_state_dict(target)
    return net.to(next(supernet.parameters()).device)


@checked("network option")
def _seeded_network(arch: ArchLike, num_classes: PositiveInt = 10, seed: int = 0, C: PositiveInt = 16,
                    N: PositiveInt = 5) -> NB201Network:
    """A standalone network with weights initialised from ``seed`` (global RNG left untouched); ``C``
    channels in the first stage, ``N`` cells per stage (NAS-Bench-201: C=16, N=5)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NB201Network(arch, C=C, N=N, num_classes=num_classes)


@checked("supernet option")
def _seeded_supernet(num_classes: PositiveInt = 10, seed: int = 0, C: PositiveInt = 16, N: PositiveInt = 5,
                     candidates: Sequence[str] = OPS, affine: bool = False, track_running_stats: bool = True,
                     alpha_std: NonNegativeFloat = 1e-3) -> NB201Supernet:
    """The untrained supernet A_0 with weights and alpha drawn from ``seed`` (options: see
    :class:`NB201Supernet`; an ``N=0`` supernet would have no searchable cell, hence ``N >= 1``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NB201Supernet(C=C, N=N, num_classes=num_classes, candidates=candidates, affine=affine,
                             track_running_stats=track_running_stats, alpha_std=alpha_std, seed=seed)

__all__ = ["NUM_ARCHS", "NUM_NODES", "OPS", "EDGE_NODES", "EDGES", "Arch", "ArchLike", "all_archs", "edge_index",
           "parse_arch", "random_arch", "NB201Cell", "NB201SearchCell", "NB201Network", "NB201Supernet",
           "network_from_supernet"]
