"""DARTS genotypes: the architecture format of the DARTS CNN space (and RobustDARTS S1-S4).

A :class:`Genotype` describes the two cell types of a DARTS network. ``normal`` and ``reduce`` list,
for every intermediate node ``k = 2, 3, ...`` in order, its two incoming edges as ``(op, input)``
pairs: entries ``2(k-2)`` and ``2(k-2)+1`` belong to node ``k``, and ``input`` is ``0`` (the output
of the cell two back, ``c_{k-2}``), ``1`` (the previous cell, ``c_{k-1}``) or an earlier intermediate
node (``2 .. k-1``). ``normal_concat`` / ``reduce_concat`` are the nodes concatenated into the cell
output (``2, 3, 4, 5`` for every genotype here). This is DARTS's ``namedtuple`` with the same field
names, made immutable and hashable (so a search can deduplicate candidates).

Formats (all round-trip):

* JSON (:meth:`Genotype.to_json`): ``{"normal": [[op, input], ...], "normal_concat": [2, 3, 4, 5],
  "reduce": [...], "reduce_concat": [...]}`` -- the format of the published Zero-Cost-PT
  ``networks_pool.json`` records;
* the DARTS-repo string (``str(genotype)``): ``Genotype(normal=[('sep_conv_3x3', 0), ...],
  normal_concat=[2, 3, 4, 5], ...)``; :func:`parse_genotype` also reads ``range(2, 6)`` in it, and
  never evaluates code;
* a known name (:data:`GENOTYPES`), e.g. ``"DARTS_V2"``.

Within a node the edge order carries no meaning (the node sums its two inputs);
:meth:`Genotype.canonical` sorts it so that equal architectures compare equal.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

from ..errors import InvalidArchError, UnknownNameError, short_repr
from .darts_ops import DARTS_OPS

CELL_TYPES: tuple[str, ...] = ("normal", "reduce")
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Gene = tuple[tuple[str, int], ...]


def _as_gene(value: Any, field: str) -> Gene:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidArchError(f"genotype field {field!r} must be a list of (op, input) pairs, got {short_repr(value)}")
    gene = []
    for k, item in enumerate(value):
        if isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
            raise InvalidArchError(f"entry {k} of {field!r} must be an (op, input) pair, got {short_repr(item)}")
        pair = tuple(item)
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise InvalidArchError(f"entry {k} of {field!r} must be an (op, input) pair, got {short_repr(item)}")
        op, src = pair
        if isinstance(src, bool) or not isinstance(src, int):
            raise InvalidArchError(f"entry {k} of {field!r}: input {short_repr(src)} must be an integer node index")
        gene.append((op, int(src)))
    return tuple(gene)


def _as_concat(value: Any, field: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidArchError(f"genotype field {field!r} must be a list of node indices, got {short_repr(value)}")
    out = tuple(value)
    if not out or any(isinstance(v, bool) or not isinstance(v, int) for v in out):
        raise InvalidArchError(f"genotype field {field!r} must be a non-empty list of node indices, got "
                               f"{short_repr(value)}")
    return tuple(int(v) for v in out)


@dataclass(frozen=True)
class Genotype:
    """An immutable DARTS genotype (see the module docstring for the conventions)."""

    normal: Gene
    normal_concat: tuple[int, ...]
    reduce: Gene
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for field in ("normal", "reduce"):
            object.__setattr__(self, field, _as_gene(getattr(self, field), field))
        for field in ("normal_concat", "reduce_concat"):
            object.__setattr__(self, field, _as_concat(getattr(self, field), field))
        if any(len(g) == 0 or len(g) % 2 for g in (self.normal, self.reduce)):
            raise InvalidArchError(f"a DARTS cell lists two (op, input) pairs per intermediate node; got "
                                   f"{len(self.normal)} and {len(self.reduce)} entries")
        if len(self.normal) != len(self.reduce):
            raise InvalidArchError(f"normal and reduce cells must have the same number of edges, got "
                                   f"{len(self.normal)} and {len(self.reduce)}")
        for cell in CELL_TYPES:
            gene = getattr(self, cell)
            for k, (op, src) in enumerate(gene):
                node = 2 + k // 2
                if op not in DARTS_OPS:
                    raise InvalidArchError(f"unknown op {short_repr(op)} in the {cell} cell (node {node}); valid ops: "
                                           f"{', '.join(DARTS_OPS)}")
                if not 0 <= src < node:
                    raise InvalidArchError(f"{cell} cell: node {node} cannot take input {src} (valid inputs: "
                                           f"0..{node - 1}; 0 and 1 are the two cell inputs)")
            concat = getattr(self, f"{cell}_concat")
            bad = [c for c in concat if not 0 <= c < 2 + self.steps]
            if bad:
                last = 1 + self.steps
                raise InvalidArchError(f"{cell}_concat {short_repr(list(concat))} refers to {len(bad)} node(s) "
                                       f"outside 0..{last} (e.g. {bad[0]}); valid: nodes 0..{last}, usually "
                                       f"range(2, {last + 1})")

    # -- structure -----------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Number of intermediate nodes per cell (4 in the DARTS space)."""
        return len(self.normal) // 2

    def cell(self, cell_type: str) -> Gene:
        """The ``(op, input)`` list of ``"normal"`` or ``"reduce"``."""
        if cell_type not in CELL_TYPES:
            raise UnknownNameError("cell type", cell_type, CELL_TYPES)
        return getattr(self, cell_type)

    def concat(self, cell_type: str) -> tuple[int, ...]:
        self.cell(cell_type)
        return getattr(self, f"{cell_type}_concat")

    def node_inputs(self, cell_type: str) -> list[tuple[tuple[str, int], tuple[str, int]]]:
        """Per intermediate node (2, 3, ...) its two ``(op, input)`` edges."""
        gene = self.cell(cell_type)
        return [(gene[2 * k], gene[2 * k + 1]) for k in range(self.steps)]

    def ops(self) -> tuple[str, ...]:
        """All op names, normal cell first, in genotype order."""
        return tuple(op for op, _ in self.normal) + tuple(op for op, _ in self.reduce)

    def canonical(self) -> "Genotype":
        """The same architecture with each node's two edges sorted by (input, op)."""
        def sort(gene: Gene) -> Gene:
            return tuple(p for k in range(0, len(gene), 2) for p in sorted(gene[k:k + 2], key=lambda e: (e[1], e[0])))
        return Genotype(sort(self.normal), self.normal_concat, sort(self.reduce), self.reduce_concat)

    def same_architecture(self, other: "GenotypeLike") -> bool:
        """Equal up to the order of the two edges within each node."""
        return self.canonical() == parse_genotype(other).canonical()

    # -- conversions ---------------------------------------------------------------------
    def to_json(self) -> dict[str, list]:
        """``{"normal": [[op, input], ...], "normal_concat": [...], "reduce": ..., "reduce_concat": ...}``."""
        return {"normal": [[op, src] for op, src in self.normal], "normal_concat": list(self.normal_concat),
                "reduce": [[op, src] for op, src in self.reduce], "reduce_concat": list(self.reduce_concat)}

    @classmethod
    def from_json(cls, obj: Any) -> "Genotype":
        """From :meth:`to_json`'s dict, a JSON string of it, or anything :func:`parse_genotype` reads."""
        return parse_genotype(obj)

    def to_string(self) -> str:
        """The DARTS-repo form ``Genotype(normal=[('op', 0), ...], normal_concat=[2, 3, 4, 5], ...)``."""
        def gene(g: Gene) -> str:
            return "[" + ", ".join(f"({op!r}, {src})" for op, src in g) + "]"
        return (f"Genotype(normal={gene(self.normal)}, normal_concat={list(self.normal_concat)}, "
                f"reduce={gene(self.reduce)}, reduce_concat={list(self.reduce_concat)})")

    def __str__(self) -> str:
        return self.to_string()


GenotypeLike = Union[Genotype, str, Mapping[str, Any], Sequence[Any]]


# ------------------------------------------------------------------------------- parsing
MAX_RANGE = 64
"""The longest ``range(...)`` a genotype string may hold (a cell's concat lists its few nodes)."""


def _source(node: ast.AST) -> str:
    return short_repr(ast.unparse(node))


def _literal(node: ast.AST) -> Any:
    """A literal from the DARTS string form; ``range(a, b)`` of integer literals, at most
    :data:`MAX_RANGE` long, is the only call allowed."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise InvalidArchError("range(...) in a genotype string takes 1-3 positional integers, e.g. range(2, 6)")
        bounds = [_literal(a) for a in node.args]
        if any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
            raise InvalidArchError(f"range(...) in a genotype string takes integers, got {_source(node)}; e.g. "
                                   "range(2, 6)")
        if bounds[-1:] == [0] and len(bounds) == 3:
            raise InvalidArchError(f"range(...) in a genotype string cannot have step 0: {_source(node)}")
        values = range(*bounds)
        if len(values) > MAX_RANGE:
            raise InvalidArchError(f"{_source(node)} in a genotype string gives {len(values):,} node indices; a "
                                   "cell's concat lists its intermediate nodes, e.g. range(2, 6) "
                                   f"(at most {MAX_RANGE})")
        return list(values)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise InvalidArchError(f"unsupported expression in a genotype string: {_source(node)}; a genotype string "
                               "holds only lists, (op, input) pairs, integers and range(a, b)") from exc


def _from_darts_string(text: str) -> Genotype:
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise InvalidArchError(f"cannot parse genotype string {short_repr(text)}: "
                               f"{getattr(exc, 'msg', None) or type(exc).__name__}") from None
    func = tree.func if isinstance(tree, ast.Call) else None
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name != "Genotype":
        raise InvalidArchError(f"expected 'Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)', "
                               f"got {short_repr(text)}")
    assert isinstance(tree, ast.Call)
    if len(tree.args) > len(_FIELDS):
        raise InvalidArchError(f"Genotype(...) takes at most {len(_FIELDS)} fields")
    values: dict[str, Any] = {field: _literal(arg) for field, arg in zip(_FIELDS, tree.args)}
    for kw in tree.keywords:
        if kw.arg not in _FIELDS:
            raise InvalidArchError(f"unknown Genotype field {short_repr(kw.arg)}; fields: {', '.join(_FIELDS)}")
        values[kw.arg] = _literal(kw.value)
    return _from_mapping(values)


def _from_mapping(obj: Mapping[str, Any]) -> Genotype:
    missing = [f for f in _FIELDS if f not in obj]
    if missing:
        raise InvalidArchError(f"genotype is missing field(s) {', '.join(missing)}; a genotype has {', '.join(_FIELDS)}")
    return Genotype(obj["normal"], obj["normal_concat"], obj["reduce"], obj["reduce_concat"])


def parse_genotype(obj: Any) -> Genotype:
    """A :class:`Genotype` from a genotype, a known name, a JSON dict / string, a DARTS-repo string,
    a ``namedtuple`` with the DARTS fields, or a 4-sequence ``(normal, normal_concat, reduce, reduce_concat)``.

    A dict with a top-level ``"genotype"`` key (a search result record) is read from that key.
    """
    if isinstance(obj, Genotype):
        return obj
    if isinstance(obj, str):
        text = obj.strip()
        if text in GENOTYPES:
            return GENOTYPES[text]
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise InvalidArchError(f"invalid genotype JSON ({type(exc).__name__}: "
                                       f"{short_repr(str(exc).splitlines()[0] if str(exc) else '')})") from None
            return parse_genotype(obj)
        if "Genotype" in text:
            return _from_darts_string(text)
        raise UnknownNameError("genotype name", text, sorted(GENOTYPES))
    if isinstance(obj, Mapping):
        if "genotype" in obj and not all(f in obj for f in _FIELDS):
            return parse_genotype(obj["genotype"])
        return _from_mapping(obj)
    if all(hasattr(obj, f) for f in _FIELDS):
        return Genotype(*(getattr(obj, f) for f in _FIELDS))
    if isinstance(obj, Sequence) and len(obj) == 4:
        return Genotype(*obj)
    raise InvalidArchError(f"cannot read a genotype from {type(obj).__name__}: {short_repr(obj)}; give a known name "
                           f"({', '.join(sorted(GENOTYPES)[:3])}, ...), a genotype JSON or a Genotype(...) string")


def genotype_to_json(genotype: GenotypeLike) -> dict[str, list]:
    """JSON form of anything :func:`parse_genotype` accepts."""
    return parse_genotype(genotype).to_json()


# ------------------------------------------------------------------------------- named genotypes
def _g(normal: list, reduce: list, concat: Sequence[int] = (2, 3, 4, 5)) -> Genotype:
    return Genotype(tuple(map(tuple, normal)), tuple(concat), tuple(map(tuple, reduce)), tuple(concat))


DARTS_V1 = _g([("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
               ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
              [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
               ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)])
"""DARTS (first order), as published in the DARTS repository (``genotypes.DARTS_V1``)."""

DARTS_V2 = _g([("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
               ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
              [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
               ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)])
"""DARTS (second order), the DARTS paper's CIFAR-10 cell (``genotypes.DARTS_V2`` = ``DARTS``): 3.3M
parameters in the heavy CIFAR setting (3,349,342 without the auxiliary head)."""

# The Zero-Cost-PT cells on the DARTS space, from the authors' release
# (zerocost_operation_score, sota/cnn/genotypes.py): searched on CIFAR-10 with nwot, N=10, V=100,
# seeds 0-3; "random" = random edge order (Table 5, Zero-Cost-PT_random; published names
# init_pt_s5_C10_<seed>_100_N10), "global-op-iter" (published names global_pt_s5_C10_<seed>_100_N10);
# and the cells of the ImageNet table (init_pt_s5_in_<seed>_100_N10).
_ZCPT_RAW: dict[str, tuple[list, list]] = {
    "ZCPT_RANDOM_C10_SEED0": (
        [("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_3x3", 0),
         ("sep_conv_3x3", 2), ("sep_conv_5x5", 2), ("sep_conv_3x3", 4)],
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 1),
         ("sep_conv_3x3", 3), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_RANDOM_C10_SEED1": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_5x5", 1),
         ("sep_conv_5x5", 2), ("sep_conv_3x3", 0), ("sep_conv_5x5", 4)],
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0),
         ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1)]),
    "ZCPT_RANDOM_C10_SEED2": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 2), ("sep_conv_5x5", 0),
         ("sep_conv_5x5", 2), ("sep_conv_3x3", 0), ("sep_conv_5x5", 3)],
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_5x5", 0),
         ("sep_conv_5x5", 2), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_RANDOM_C10_SEED3": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0),
         ("sep_conv_5x5", 3), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
        [("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0),
         ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_GLOBAL_OP_ITER_C10_SEED0": (
        [("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_3x3", 0),
         ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
         ("sep_conv_5x5", 1), ("sep_conv_5x5", 1), ("sep_conv_5x5", 4)]),
    "ZCPT_GLOBAL_OP_ITER_C10_SEED1": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_5x5", 1),
         ("sep_conv_5x5", 2), ("sep_conv_3x3", 0), ("sep_conv_3x3", 4)],
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 1), ("sep_conv_3x3", 2), ("sep_conv_3x3", 1),
         ("sep_conv_5x5", 3), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1)]),
    "ZCPT_GLOBAL_OP_ITER_C10_SEED2": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 2), ("sep_conv_5x5", 0),
         ("sep_conv_5x5", 3), ("sep_conv_3x3", 0), ("sep_conv_3x3", 3)],
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 1), ("sep_conv_5x5", 0),
         ("dil_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_GLOBAL_OP_ITER_C10_SEED3": (
        [("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0),
         ("sep_conv_3x3", 2), ("sep_conv_3x3", 0), ("sep_conv_3x3", 3)],
        [("dil_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0),
         ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]),
    "ZCPT_IMAGENET_SEED0": (
        [("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("sep_conv_5x5", 2),
         ("sep_conv_5x5", 3), ("sep_conv_3x3", 0), ("sep_conv_5x5", 3)],
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("dil_conv_5x5", 1), ("sep_conv_3x3", 0),
         ("sep_conv_5x5", 1), ("skip_connect", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_IMAGENET_SEED1": (
        [("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0),
         ("sep_conv_3x3", 3), ("sep_conv_3x3", 3), ("sep_conv_5x5", 4)],
        [("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0),
         ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_IMAGENET_SEED2": (
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0),
         ("sep_conv_3x3", 3), ("sep_conv_3x3", 3), ("sep_conv_5x5", 4)],
        [("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("skip_connect", 0),
         ("dil_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1)]),
    "ZCPT_IMAGENET_SEED3": (
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 2), ("sep_conv_5x5", 2),
         ("sep_conv_3x3", 3), ("sep_conv_5x5", 0), ("sep_conv_5x5", 3)],
        [("dil_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0),
         ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1)]),
}

GENOTYPES: dict[str, Genotype] = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "DARTS": DARTS_V2,
                                  **{name: _g(n, r) for name, (n, r) in _ZCPT_RAW.items()}}
"""Known genotypes by name: DARTS_V1, DARTS_V2 (alias DARTS) and the published Zero-Cost-PT cells
``ZCPT_RANDOM_C10_SEED{0..3}``, ``ZCPT_GLOBAL_OP_ITER_C10_SEED{0..3}``, ``ZCPT_IMAGENET_SEED{0..3}``."""


def get_genotype(name: str) -> Genotype:
    """The known genotype called ``name`` (error listing the valid names otherwise)."""
    if name not in GENOTYPES:
        raise UnknownNameError("genotype name", name, sorted(GENOTYPES))
    return GENOTYPES[name]
