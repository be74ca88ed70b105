"""What ``zcpt train --genotype`` (and :class:`~.specs.TrainSpec`) accepts: a known name
(``DARTS_V2``), a JSON / ``Genotype(...)`` string, a genotype file, or a result record that holds a
genotype (a complete DARTS-space search, a DARTS / DARTS-PT run, a training)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import DamagedFileError, InvalidArchError, MissingFileError, ZcptError, short_repr
from ..spaces import get_space
from ..spaces.genotypes import GENOTYPES, Genotype, GenotypeLike, parse_genotype
from .spec import spec_from_json


def resolve_genotype(genotype: str | Path | dict | GenotypeLike) -> Genotype:
    """The genotype named by ``genotype``: a genotype file (JSON genotype, a search-result record with a
    top-level ``"genotype"`` or ``"selected"`` entry, or a DARTS-repo ``Genotype(...)`` string), a
    known name (``DARTS_V2``; see :data:`~zcpt_analysis.spaces.genotypes.GENOTYPES`), a JSON / DARTS
    string, a record dict, or a genotype object."""
    if isinstance(genotype, Path):
        return _genotype_from_file(genotype)
    if isinstance(genotype, str):
        text = genotype.strip()
        if text in GENOTYPES or text.startswith(("{", "Genotype")):
            return parse_genotype(text)
        if os.path.isfile(text):
            return _genotype_from_file(Path(text))
        names = sorted(GENOTYPES)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        raise InvalidArchError(f"genotype {short_repr(genotype)} is neither a file, a known name ({shown}), JSON "
                               "nor a Genotype(...) string")
    if isinstance(genotype, dict):
        return _genotype_from_record(genotype, "genotype record")
    return parse_genotype(genotype)


def _genotype_from_file(path: Path) -> Genotype:
    if not path.is_file():
        raise MissingFileError(f"genotype file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidArchError(f"genotype file {path} is not a text file; give a genotype JSON file, a search "
                               "record, a Genotype(...) string or a known name such as DARTS_V2") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        if text.strip().startswith("Genotype"):
            return parse_genotype(text)
        raise InvalidArchError(f"genotype file {path} is neither valid JSON ({type(exc).__name__}: "
                               f"{short_repr(str(exc))}) nor a Genotype(...) string") from None
    return _genotype_from_record(obj, str(path))


def _genotype_from_typed_record(obj: dict, where: str) -> Genotype:
    """The genotype of a results-layer record (its JSON): a complete DARTS-space search (its
    selection), a DARTS / DARTS-PT run (its architecture) or a training (its genotype); anything
    else is a clear error."""
    try:
        kind, spec = obj.get("kind"), dict(obj.get("spec") or {})
        if kind == "train":
            return parse_genotype(obj["genotype"])
        space = spec.get("space")
        if space is not None and get_space(space).parse is not parse_genotype:
            raise InvalidArchError(f"{where} is a {kind} record in the {space} space, not a DARTS genotype; zcpt "
                                   "train trains DARTS-space architectures (search one with `zcpt search --space "
                                   "darts`)")
        selected = obj.get("selected")
        if kind == "zcpt-search" and (obj.get("status") != "complete" or not selected):
            command = spec_from_json({"kind": kind, **spec}).command()
            raise InvalidArchError(f"{where} is an unfinished search (status {obj.get('status')!r}: "
                                   f"{len(obj.get('iterations') or [])}/{spec.get('N')} iterations, no selected "
                                   f"genotype yet); finish it first with `{command}`")
        arch = selected["arch"] if selected else obj.get("arch")
    except (KeyError, TypeError) as exc:
        raise DamagedFileError(f"{where} is not a valid result record ({type(exc).__name__}: "
                               f"{short_repr(str(exc))})") from None
    if arch is None:
        raise InvalidArchError(f"{where} is a {kind} record without a selected genotype")
    return parse_genotype(arch)


def _genotype_from_record(obj: Any, where: str) -> Genotype:
    if isinstance(obj, dict) and ("schema" in obj or "kind" in obj):
        try:
            return _genotype_from_typed_record(obj, where)
        except DamagedFileError:
            if "schema" in obj:
                raise  # a current record that does not load; otherwise: not one of ours, read it as below
    if isinstance(obj, dict):
        for key in ("genotype", "selected"):
            if key in obj and not all(k in obj for k in ("normal", "reduce")):
                value = obj[key]
                if isinstance(value, dict) and not all(k in value for k in ("normal", "reduce")):
                    for inner in ("genotype", "arch"):
                        if inner in value:
                            return parse_genotype(value[inner])
                return parse_genotype(value)
    try:
        return parse_genotype(obj)
    except ZcptError as exc:
        raise InvalidArchError(f"{where}: no genotype found (expected a genotype JSON, or a record with a "
                               f"'genotype' / 'selected' entry): {exc}") from exc
