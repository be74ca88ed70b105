"""NAS-Bench-201 architectures without torch: ops, edges, :class:`Arch` and its string forms.

Canonical orders (the official arch-string order, used everywhere in this toolkit):

* ops: ``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``
* edges: ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2`` (edge ``i<-j`` carries node j to node i)

The benchmark lookups (:mod:`zcpt_analysis.bench`) read architectures through this module, so that
``zcpt bench`` starts without importing torch; :mod:`zcpt_analysis.spaces.nb201` builds the networks.
"""
from __future__ import annotations

import random as _random
from dataclasses import dataclass
from itertools import product
from typing import Iterator, Sequence, Union

from .errors import InvalidArchError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGE_NODES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
EDGES: tuple[str, ...] = tuple(f"{i}<-{j}" for i, j in EDGE_NODES)
NUM_NODES = 4
NUM_ARCHS = len(OPS) ** len(EDGES)  # 15,625


@dataclass(frozen=True)
class Arch:
    """An immutable NAS-Bench-201 architecture: one op name per edge, in canonical edge order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple):
            object.__setattr__(self, "ops", tuple(self.ops))
        if len(self.ops) != len(EDGES):
            raise InvalidArchError(f"a NAS-Bench-201 architecture has {len(EDGES)} edges "
                                   f"({', '.join(EDGES)}), got {len(self.ops)} ops: {self.ops}")
        for edge, op in zip(EDGES, self.ops):
            if op not in OPS:
                raise InvalidArchError(f"unknown op {op!r} on edge {edge}; valid ops: {', '.join(OPS)}")

    # -- conversions ---------------------------------------------------------------------
    @classmethod
    def from_string(cls, arch_str: str) -> "Arch":
        """Parse the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        if not isinstance(arch_str, str):
            raise InvalidArchError(f"expected an arch string, got {type(arch_str).__name__}")
        text = arch_str.strip()
        groups = text.split("+")
        if len(groups) != NUM_NODES - 1:
            raise InvalidArchError(
                f"malformed NAS-Bench-201 arch string {arch_str!r}: expected {NUM_NODES - 1} node groups "
                f"separated by '+', got {len(groups)} (format: |op~0|+|op~0|op~1|+|op~0|op~1|op~2|)")
        ops: list[str] = []
        for node, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise InvalidArchError(f"malformed NAS-Bench-201 arch string {arch_str!r}: node {node} group "
                                       f"{group!r} must be enclosed in '|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != node:
                raise InvalidArchError(f"malformed NAS-Bench-201 arch string {arch_str!r}: node {node} must list "
                                       f"{node} incoming edge(s), got {len(tokens)} ({group!r})")
            for j, token in enumerate(tokens):
                op, sep, src = token.rpartition("~")
                if not sep or src != str(j):
                    raise InvalidArchError(f"malformed token {token!r} in {arch_str!r}: expected 'op~{j}' "
                                           f"for edge {node}<-{j}")
                if op not in OPS:
                    raise InvalidArchError(f"unknown op {op!r} in token {token!r} (edge {node}<-{j}) of "
                                           f"{arch_str!r}; valid ops: {', '.join(OPS)}")
                ops.append(op)
        return cls(tuple(ops))

    def to_string(self) -> str:
        """The official NAS-Bench-201 arch string."""
        nodes = []
        k = 0
        for node in range(1, NUM_NODES):
            nodes.append("|" + "|".join(f"{self.ops[k + j]}~{j}" for j in range(node)) + "|")
            k += node
        return "+".join(nodes)

    def __str__(self) -> str:
        return self.to_string()

    @classmethod
    def from_indices(cls, indices: Sequence[int]) -> "Arch":
        """Build from op indices (into :data:`OPS`), one per edge in canonical order."""
        idx = tuple(indices)
        if len(idx) != len(EDGES):
            raise InvalidArchError(f"expected {len(EDGES)} op indices (one per edge {', '.join(EDGES)}), "
                                   f"got {len(idx)}: {idx}")
        for edge, i in zip(EDGES, idx):
            if not isinstance(i, (int,)) or isinstance(i, bool) or not 0 <= i < len(OPS):
                raise InvalidArchError(f"op index {i!r} on edge {edge} is not in 0..{len(OPS) - 1} ({', '.join(OPS)})")
        return cls(tuple(OPS[i] for i in idx))

    @property
    def indices(self) -> tuple[int, ...]:
        """Op indices into :data:`OPS`, one per edge."""
        return tuple(OPS.index(o) for o in self.ops)

    def index(self, bench) -> int:
        """The official NAS-Bench-201 index of this architecture, looked up in ``bench``."""
        return bench.index_of(self)

    def op_on(self, edge: Union[int, str]) -> str:
        """The op on ``edge`` (index or name such as ``"3<-1"``)."""
        return self.ops[edge_index(edge)]


ArchLike = Union[Arch, str, Sequence[int], Sequence[str]]


def parse_arch(arch: ArchLike) -> Arch:
    """Accept an :class:`Arch`, an official arch string, op indices or op names."""
    if isinstance(arch, Arch):
        return arch
    if isinstance(arch, str):
        return Arch.from_string(arch)
    items = tuple(arch)
    if items and all(isinstance(i, str) for i in items):
        return Arch(items)
    return Arch.from_indices(items)


def edge_index(edge: Union[int, str]) -> int:
    """Edge number for an index or an edge name such as ``"2<-1"``."""
    if isinstance(edge, str):
        if edge not in EDGES:
            raise InvalidArchError(f"unknown edge {edge!r}; valid edges: {', '.join(EDGES)}")
        return EDGES.index(edge)
    if not 0 <= int(edge) < len(EDGES):
        raise InvalidArchError(f"edge index {edge} out of range 0..{len(EDGES) - 1}")
    return int(edge)


def all_archs() -> Iterator[Arch]:
    """All 15,625 architectures, in op-index lexicographic order (not benchmark index order)."""
    for idx in product(range(len(OPS)), repeat=len(EDGES)):
        yield Arch.from_indices(idx)


def random_arch(rng: _random.Random) -> Arch:
    """A uniformly sampled architecture."""
    return Arch(tuple(rng.choice(OPS) for _ in EDGES))
