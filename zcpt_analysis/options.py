"""Run-spec fields declared once: their CLI option, help, default and whether they identify a result.

A run spec (:mod:`.specs`) is a dataclass whose fields are declared with :func:`opt` (a field
that is also a ``zcpt`` command-line option), :func:`plain` (a field without an option) or
:func:`nested` (a dataclass of further fields, flattened into the same options). From that one
declaration this module derives

* the argparse options of the spec's command (:func:`add_options`; defaults come from the
  dataclass, so ``--help`` and the library agree),
* the spec from parsed arguments (:func:`from_args`),
* the exact command-line arguments that rebuild a spec (:func:`to_argv`: every field that differs
  from its default), so ``from_args(parse(to_argv(spec))) == spec``,
* the identity of a result (:func:`identity_fields`: fields declared ``identity=True``).

``KEY=VALUE`` options (dict fields) parse values as JSON where possible (``C=8`` -> 8,
``mode=train`` -> ``"train"``, ``flag=true`` -> True); :func:`parse_key_value` is the one parser of
that syntax in the toolkit.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

from .errors import ZcptError

OPTION = "zcpt_option"
NESTED = "zcpt_nested"
IDENTITY = "zcpt_identity"


@dataclass(frozen=True)
class Option:
    """How a spec field appears on the command line."""

    flags: tuple[str, ...]
    help: str
    choices: Optional[Sequence[str]] = None
    metavar: Optional[str] = None


def opt(default: Any = MISSING, *flags: str, help: str, choices: Optional[Sequence[str]] = None,
        metavar: Optional[str] = None, identity: bool = True, factory: Optional[Callable[[], Any]] = None) -> Any:
    """A spec field that is also a command-line option (``flags``, e.g. ``"--batch-size"``).

    ``identity``: whether the field determines the result (device, data folder and engine do not).
    A ``bool`` field whose default is True takes a ``--no-...`` flag that sets it False.
    """
    md = {OPTION: Option(tuple(flags), help, tuple(choices) if choices is not None else None, metavar),
          IDENTITY: identity}
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def plain(default: Any = MISSING, *, identity: bool = True, factory: Optional[Callable[[], Any]] = None) -> Any:
    """A spec field without a command-line option (library / preset use only)."""
    md = {IDENTITY: identity}
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def nested(cls: type) -> Any:
    """A field holding a dataclass whose own fields are options of the same command."""
    return field(default_factory=cls, metadata={NESTED: True, IDENTITY: True})


# ----------------------------------------------------------------------------- KEY=VALUE
_WORDS = {"true": True, "false": False, "none": None, "null": None}


def parse_key_value(item: str, what: str = "option") -> tuple[str, Any]:
    """``"C=8"`` -> ``("C", 8)``: the value is JSON when it parses as JSON, ``true`` / ``false`` /
    ``none`` in any case are True / False / None, anything else is the text itself."""
    key, sep, value = str(item).partition("=")
    key = key.strip()
    if not sep or not key:
        raise ZcptError(f"{what} must look like KEY=VALUE, got {item!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        word = value.strip().lower()
        return key, _WORDS[word] if word in _WORDS else value


def key_values(items: Optional[Sequence[str]], what: str = "option") -> dict[str, Any]:
    """``["C=8", "mode=train"]`` -> ``{"C": 8, "mode": "train"}`` (see :func:`parse_key_value`)."""
    return dict(parse_key_value(item, what) for item in items or [])


def format_key_value(key: str, value: Any) -> str:
    """The ``KEY=VALUE`` text that :func:`parse_key_value` reads back as ``(key, value)``."""
    if isinstance(value, str) and parse_key_value(f"{key}={value}")[1] == value:
        return f"{key}={value}"
    return f"{key}={json.dumps(value)}"


# ----------------------------------------------------------------------------- field walking
@dataclass(frozen=True)
class FieldInfo:
    """One leaf field of a spec: its path (``("darts", "epochs")``), type and declaration."""

    path: tuple[str, ...]
    field: Field
    type: Any

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def dest(self) -> str:
        return "__".join(self.path)

    @property
    def option(self) -> Optional[Option]:
        return self.field.metadata.get(OPTION)

    @property
    def identity(self) -> bool:
        return bool(self.field.metadata.get(IDENTITY, True))

    @property
    def required(self) -> bool:
        return self.field.default is MISSING and self.field.default_factory is MISSING  # type: ignore[misc]

    def default(self) -> Any:
        """The field's default (:data:`dataclasses.MISSING` for a required field)."""
        if self.field.default is not MISSING:
            return self.field.default
        if self.field.default_factory is not MISSING:  # type: ignore[misc]
            return self.field.default_factory()  # type: ignore[misc]
        return MISSING


def leaf_fields(cls: type, prefix: tuple[str, ...] = ()) -> Iterator[FieldInfo]:
    """Every leaf field of a (nested) spec dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if not f.init:
            continue
        if f.metadata.get(NESTED):
            yield from leaf_fields(hints[f.name], prefix + (f.name,))
        else:
            yield FieldInfo(prefix + (f.name,), f, hints[f.name])


def get_path(obj: Any, path: Sequence[str]) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


def _base_type(tp: Any) -> tuple[Any, bool]:
    """``(T, optional)`` for ``T`` or ``Optional[T]``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def _kind(tp: Any) -> str:
    base, _ = _base_type(tp)
    origin = typing.get_origin(base) or base
    if origin is dict:
        return "dict"
    if origin is tuple or origin is list:
        return "tuple"
    if base is bool:
        return "bool"
    return "scalar"


def _scalar(tp: Any) -> Callable[[str], Any]:
    base, _ = _base_type(tp)
    if typing.get_origin(base) in (tuple, list):
        base = typing.get_args(base)[0]
    return base if base in (int, float, str) else str


# ----------------------------------------------------------------------------- argparse
def add_options(parser: argparse.ArgumentParser, cls: type, skip: Sequence[str] = ()) -> None:
    """Add an option for every CLI field of ``cls`` (dotted names in ``skip`` are left out)."""
    for info in leaf_fields(cls):
        option = info.option
        if option is None or info.name in skip:
            continue
        default = info.default()
        kind = _kind(info.type)
        shown = "" if info.required or default in (None, {}, ()) or kind == "bool" else f" (default {default})"
        kwargs: dict[str, Any] = {"dest": info.dest, "default": argparse.SUPPRESS, "help": option.help + shown}
        if info.required:
            kwargs["required"] = True
        if kind == "bool":
            optional = _base_type(info.type)[1]
            if optional:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["action"] = "store_false" if default is True else "store_true"
        elif kind == "dict":
            kwargs.update(action="append", metavar=option.metavar or "KEY=VALUE")
        elif kind == "tuple":
            kwargs.update(nargs="+", type=_scalar(info.type), metavar=option.metavar)
        else:
            kwargs.update(type=_scalar(info.type), metavar=option.metavar)
            if option.choices is not None:
                kwargs["choices"] = option.choices
        parser.add_argument(*option.flags, **kwargs)


def from_args(cls: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """The spec ``cls`` from parsed arguments (absent options keep the dataclass defaults);
    ``overrides`` (top-level field names) win over the arguments."""
    values: dict[tuple[str, ...], Any] = {}
    for info in leaf_fields(cls):
        if info.option is None or not hasattr(args, info.dest):
            continue
        value = getattr(args, info.dest)
        kind = _kind(info.type)
        if kind == "dict":
            value = key_values(value, info.option.flags[0])
        elif kind == "tuple":
            value = tuple(value)
        values[info.path] = value
    return build(cls, values, overrides)


def build(cls: type, values: dict[tuple[str, ...], Any], overrides: Optional[dict[str, Any]] = None) -> Any:
    """``cls(**...)`` from leaf values by path (nested dataclasses built from theirs); a plain
    ``ValueError`` of a settings class's own validation becomes a :class:`ZcptError` (user input)."""
    kwargs: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if not f.init:
            continue
        if f.metadata.get(NESTED):
            sub = {p[1:]: v for p, v in values.items() if p[0] == f.name}
            if sub:
                kwargs[f.name] = build(hints[f.name], sub)
        elif (f.name,) in values:
            kwargs[f.name] = values[(f.name,)]
    kwargs.update(overrides or {})
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a settings class rejecting a value given on the command line
        if isinstance(exc, ZcptError):
            raise
        raise ZcptError(str(exc)) from exc


def _implied(spec: Any, info: FieldInfo, default: Any) -> bool:
    """Whether leaving the field at its default rebuilds ``spec`` anyway (a normalized default,
    e.g. ``data_source="auto"`` that resolves to the ``sample`` the spec holds)."""
    try:
        return replace(spec, **{info.name: default}) == spec
    except Exception:  # noqa: BLE001 - the default is not valid with the other fields: the option is needed
        return False


def to_argv(spec: Any, skip: Sequence[str] = ()) -> list[str]:
    """Command-line arguments that rebuild ``spec``: each CLI field whose value its default would
    not give (defaults that normalize to the spec's value are left out)."""
    argv: list[str] = []
    for info in leaf_fields(type(spec)):
        option = info.option
        if option is None or info.name in skip:
            continue
        value, default = get_path(spec, info.path), info.default()
        if not info.required and (value == default or _implied(spec, info, default)):
            continue
        flag = option.flags[0]
        kind = _kind(info.type)
        if kind == "bool":
            if _base_type(info.type)[1]:
                if value is None:
                    raise ZcptError(f"{info.name}=None cannot be written as an option (it is not the default)")
                argv.append(flag if value else "--no-" + flag[2:])
            else:
                argv.append(flag)
        elif kind == "dict":
            for key, item in value.items():
                argv += [flag, format_key_value(key, item)]
        elif kind == "tuple":
            argv += [flag, *map(str, value)]
        elif value is None:
            raise ZcptError(f"{info.name}=None cannot be written as an option (default {default!r})")
        else:
            argv += [flag, str(value)]
    return argv


# ----------------------------------------------------------------------------- identity & JSON
def identity_fields(spec: Any) -> dict[str, Any]:
    """The fields that determine the result (dotted names), as JSON values."""
    return {info.name: to_jsonable(get_path(spec, info.path)) for info in leaf_fields(type(spec)) if info.identity}


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(cls: type, obj: dict[str, Any], strict: bool = True) -> Any:
    """A (nested) dataclass from :func:`to_jsonable` output; unknown keys are an error if ``strict``."""
    hints = typing.get_type_hints(cls)
    names = {f.name: f for f in fields(cls) if f.init}
    unknown = sorted(set(obj) - set(names))
    if unknown and strict:
        raise ZcptError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}; valid: {', '.join(names)}")
    kwargs = {}
    for name, value in obj.items():
        if name not in names:
            continue
        f = names[name]
        tp = hints[name]
        if f.metadata.get(NESTED):
            kwargs[name] = from_jsonable(tp, value, strict)
        elif _kind(tp) == "tuple" and value is not None:
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def replace(spec: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that also accepts dotted names of nested fields (``darts.epochs=3``)."""
    top = {k: v for k, v in changes.items() if "." not in k}
    deep: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        if "." in key:
            head, rest = key.split(".", 1)
            deep.setdefault(head, {})[rest] = value
    for head, sub in deep.items():
        top[head] = replace(getattr(spec, head), **sub)
    return dataclasses.replace(spec, **top)
