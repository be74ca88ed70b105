"""Settings declared once, on pydantic: every field's type, range, default, help, command-line flag
and whether it identifies a result are one declaration, and the rest is derived from it.

A settings class derives from :class:`Settings` (a frozen pydantic model) and declares its fields
with :func:`opt` (a field that is also a ``zcpt`` option) or :func:`plain` (no option); a field
whose type is itself a :class:`Settings` class (DARTS training hyper-parameters in a DARTS spec) is
nested: its options join the same command and its fields are named ``darts.epochs`` in the
identity, in :meth:`Settings.replace` and in error messages. From that one declaration:

* validation with one clear line per bad value (:class:`~zcpt_analysis.errors.ZcptError`, see
  :func:`explain`), before any work;
* JSON in both directions (``model_dump`` / ``model_validate``; unknown keys are an error);
* the argparse options of a command (:func:`add_options`), the settings from parsed arguments
  (:func:`from_args`) and back (:func:`to_argv`: every field its default would not give), so
  ``from_args(parse(to_argv(s))) == s``;
* the identity of a result (:func:`identity_fields`: the fields declared ``identity=True``).

Normalisation (``space="NB201"`` -> ``nb201``, a ``None`` batch size -> the space's default) is done
by field validators while the model is built, so two settings that compute the same thing compare
equal. ``KEY=VALUE`` options (dict fields) parse values as JSON where possible (``C=8`` -> 8,
``mode=train`` -> ``"train"``, ``flag=true`` -> True): :func:`parse_key_value` is the one parser of
that syntax in the toolkit.
"""
from __future__ import annotations

import argparse
import json
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, Iterator, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from .errors import ZcptError, short_repr

REQUIRED: Any = ...
"""The default of a field that has none (pydantic's ``...``)."""
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
"""A random seed: an integer in 0..2**32-1 (what NumPy accepts; torch would fail late, after the
data is loaded, on a seed beyond 64 bits)."""


@dataclass(frozen=True)
class Option:
    """How a field appears on the command line."""

    flags: tuple[str, ...]
    help: str
    metavar: Optional[str] = None


def opt(default: Any = REQUIRED, *flags: str, help: str, metavar: Optional[str] = None, identity: bool = True,
        factory: Optional[Callable[[], Any]] = None, **constraints: Any) -> Any:
    """A field that is also a command-line option (``flags``, e.g. ``"--batch-size"``).

    ``identity``: whether the field determines the result (device, data folder and engine do not).
    ``constraints``: pydantic's ``ge`` / ``gt`` / ``le`` / ``lt``. A ``bool`` field whose default is
    True takes a ``--no-...`` flag that sets it False; a ``Literal`` type gives the option's choices.
    """
    extra = {"option": Option(tuple(flags), help, metavar), "identity": identity}
    if factory is not None:
        return Field(default_factory=factory, description=help, json_schema_extra=extra, **constraints)
    return Field(default, description=help, json_schema_extra=extra, **constraints)


def plain(default: Any = REQUIRED, *, identity: bool = True, factory: Optional[Callable[[], Any]] = None,
          **constraints: Any) -> Any:
    """A field without a command-line option (library and preset use only)."""
    extra = {"identity": identity}
    if factory is not None:
        return Field(default_factory=factory, json_schema_extra=extra, **constraints)
    return Field(default, json_schema_extra=extra, **constraints)


# ----------------------------------------------------------------------------- errors
def _range_text(info: Optional[FieldInfo]) -> Optional[str]:
    """The valid range of a field from its constraints (``"at least 1"``, ``"in (0, 1]"``)."""
    if info is None:
        return None
    from .checks import Range

    low = high = None
    low_open = high_open = False
    for item in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is None:
                continue
            if name in ("ge", "gt"):
                low, low_open = value, name == "gt"
            else:
                high, high_open = value, name == "lt"
    if low is None and high is None:
        return None
    return str(Range(low, high, low_open, high_open))


def _field_at(model: type, loc: Sequence[Any]) -> Optional[FieldInfo]:
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info = fields[part]
        model = _settings_type(info.annotation) or object
    return info


def explain(exc: ValidationError, model: type) -> ZcptError:
    """The first error of a pydantic validation as one :class:`ZcptError` line naming the field,
    the bad value and what is valid (an error raised by a validator is passed on as it is)."""
    err = exc.errors(include_url=False)[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ZcptError):
        return cause
    loc = tuple(err["loc"])
    name = ".".join(str(p) for p in loc) or model.__name__
    value, kind = err.get("input"), err["type"]
    error = getattr(model, "ERROR", ZcptError)
    if kind == "extra_forbidden":
        parent = model
        for part in loc[:-1]:
            parent = _settings_type(parent.model_fields[part].annotation) if part in getattr(
                parent, "model_fields", {}) else parent
        valid = ", ".join(getattr(parent, "model_fields", {}))
        return error(f"unknown {getattr(parent, '__name__', 'settings')} field {short_repr(name)}; valid: {valid}")
    if kind == "missing":
        return error(f"{name} is required")
    if kind == "literal_error":
        return error(f"{name} must be one of {err['ctx']['expected'].replace(chr(39), '')}, got {short_repr(value)}")
    valid = _range_text(_field_at(model, loc))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than") and valid:
        return error(f"{name} must be {valid}, got {short_repr(value)}")
    if kind.startswith("int_"):
        return error(f"{name} must be an integer{' ' + valid if valid else ''}, got {short_repr(value)}")
    what = _EXPECTED.get(kind.split("_")[0])
    if what is not None:
        return error(f"{name} must be {what}, got {short_repr(value)}")
    return error(f"{name}: {err['msg']}, got {short_repr(value)}")


_EXPECTED = {"float": "a number", "bool": "true or false", "string": "text", "dict": "a mapping", "tuple": "a list",
             "list": "a list"}
"""What a field of each pydantic error family (``float_parsing``, ``dict_type``, ...) expects."""


# ----------------------------------------------------------------------------- the base class
class Settings(BaseModel):
    """A frozen, validated group of settings (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)
    ERROR: ClassVar[type] = ZcptError
    """The error class of a bad value (a :class:`ZcptError` subclass)."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise explain(exc, type(self)) from None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Any:
        """The settings from their JSON form (unknown keys are an error)."""
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            raise explain(exc, cls) from None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (every field; tuples become lists)."""
        return self.model_dump(mode="json")

    def replace(self, **changes: Any) -> Any:
        """A validated copy with ``changes`` (dotted names reach nested settings: ``darts.epochs=3``)."""
        values = self.model_dump()
        for key, value in changes.items():
            *heads, last = key.split(".")
            target = values
            for head in heads:
                if not isinstance(target.get(head), dict):
                    raise ZcptError(f"unknown {type(self).__name__} field {key!r}")
                target = target[head]
            target[last] = value
        return type(self)(**values)


class Result(BaseModel):
    """A result value (mutable while its run fills it in) with JSON in both directions; keys it does
    not know are ignored when read, so an older reader skips what a newer writer added."""

    model_config = ConfigDict(validate_assignment=False)

    @classmethod
    def from_json(cls, obj: Any) -> Any:
        """The value from its JSON form (a damaged form is a :class:`~zcpt_analysis.errors.DamagedFileError`)."""
        from .errors import DamagedFileError

        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            raise DamagedFileError(f"not a valid {cls.__name__}: {where}: {err['msg']}") from None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (plain dicts, lists and numbers)."""
        return self.model_dump(mode="json")


def _settings_type(annotation: Any) -> Optional[type]:
    return annotation if isinstance(annotation, type) and issubclass(annotation, Settings) else None


# ----------------------------------------------------------------------------- KEY=VALUE
_WORDS = {"true": True, "false": False, "none": None, "null": None}


def parse_key_value(item: str, what: str = "option") -> tuple[str, Any]:
    """``"C=8"`` -> ``("C", 8)``: the value is JSON when it parses as JSON, ``true`` / ``false`` /
    ``none`` in any case are True / False / None, anything else is the text itself."""
    key, sep, value = str(item).partition("=")
    key = key.strip()
    if not sep or not key:
        raise ZcptError(f"{what} must look like KEY=VALUE, got {short_repr(item)}")
    try:
        return key, json.loads(value)
    except (ValueError, RecursionError):  # not JSON (or JSON nested too deep, an integer too long): text
        word = value.strip().lower()
        return key, _WORDS[word] if word in _WORDS else value


def key_values(items: Optional[Sequence[str]], what: str = "option") -> dict[str, Any]:
    """``["C=8", "mode=train"]`` -> ``{"C": 8, "mode": "train"}`` (see :func:`parse_key_value`); a
    key given twice is an error (which value was meant?)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, value = parse_key_value(item, what)
        if key in out:
            raise ZcptError(f"{what} {key} is given twice ({format_key_value(key, out[key])[:60]} and "
                            f"{format_key_value(key, value)[:60]}); give each key once")
        out[key] = value
    return out


def format_key_value(key: str, value: Any) -> str:
    """The ``KEY=VALUE`` text that :func:`parse_key_value` reads back as ``(key, value)``."""
    if isinstance(value, str) and parse_key_value(f"{key}={value}")[1] == value:
        return f"{key}={value}"
    return f"{key}={json.dumps(value)}"


# ----------------------------------------------------------------------------- field walking
@dataclass(frozen=True)
class Leaf:
    """One leaf field of a settings class: its path (``("darts", "epochs")``) and declaration."""

    path: tuple[str, ...]
    info: FieldInfo

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def dest(self) -> str:
        return "__".join(self.path)

    @property
    def extra(self) -> dict[str, Any]:
        return self.info.json_schema_extra if isinstance(self.info.json_schema_extra, dict) else {}

    @property
    def option(self) -> Optional[Option]:
        return self.extra.get("option")

    @property
    def identity(self) -> bool:
        return bool(self.extra.get("identity", True))

    @property
    def required(self) -> bool:
        return self.info.is_required()

    def default(self) -> Any:
        return None if self.required else self.info.get_default(call_default_factory=True)

    @property
    def kind(self) -> str:
        base, _ = _base_type(self.info.annotation)
        origin = typing.get_origin(base) or base
        if origin is dict:
            return "dict"
        if origin in (tuple, list):
            return "tuple"
        if base is bool:
            return "bool"
        return "scalar"

    @property
    def choices(self) -> Optional[tuple[Any, ...]]:
        base, _ = _base_type(self.info.annotation)
        return typing.get_args(base) if typing.get_origin(base) is typing.Literal else None

    def parse(self) -> Callable[[str], Any]:
        base, _ = _base_type(self.info.annotation)
        if typing.get_origin(base) in (tuple, list):
            base = typing.get_args(base)[0]
        return base if base in (int, float, str) else str


def leaf_fields(cls: type, prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every leaf field of a (nested) settings class, in declaration order."""
    for name, info in cls.model_fields.items():
        sub = _settings_type(info.annotation)
        if sub is not None:
            yield from leaf_fields(sub, prefix + (name,))
        else:
            yield Leaf(prefix + (name,), info)


def get_path(obj: Any, path: Sequence[str]) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


def _base_type(tp: Any) -> tuple[Any, bool]:
    """``(T, optional)`` for ``T`` or ``Optional[T]``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def identity_fields(settings: Settings) -> dict[str, Any]:
    """The fields that determine the result (dotted names), as JSON values."""
    return {leaf.name: _json(get_path(settings, leaf.path)) for leaf in leaf_fields(type(settings)) if leaf.identity}


# ----------------------------------------------------------------------------- argparse
def _metavar(flags: Sequence[str]) -> Optional[str]:
    """The value's name in --help: the long flag's (``--epochs`` -> ``EPOCHS``, not the nested
    field's destination ``DARTS__EPOCHS``); None (argparse's own) without a long flag."""
    long = [f for f in flags if f.startswith("--")]
    return long[0][2:].upper().replace("-", "_") if long else None


def add_options(parser: argparse.ArgumentParser, cls: type, skip: Sequence[str] = ()) -> None:
    """Add an option for every CLI field of ``cls`` (dotted names in ``skip`` are left out)."""
    for leaf in leaf_fields(cls):
        option = leaf.option
        if option is None or leaf.name in skip:
            continue
        default, kind = leaf.default(), leaf.kind
        shown = "" if leaf.required or default in (None, {}, ()) or kind == "bool" else f" (default {default})"
        kwargs: dict[str, Any] = {"dest": leaf.dest, "default": argparse.SUPPRESS, "help": option.help + shown}
        if leaf.required:
            kwargs["required"] = True
        if kind == "bool":
            if _base_type(leaf.info.annotation)[1]:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["action"] = "store_false" if default is True else "store_true"
        elif kind == "dict":
            kwargs.update(action="append", metavar=option.metavar or "KEY=VALUE")
        elif kind == "tuple":
            kwargs.update(nargs="*", type=leaf.parse(), metavar=option.metavar or _metavar(option.flags))
        else:
            kwargs.update(type=leaf.parse(), metavar=option.metavar or _metavar(option.flags))
            if leaf.choices is not None:
                kwargs["choices"] = leaf.choices
        parser.add_argument(*option.flags, **kwargs)


def from_args(cls: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """The settings ``cls`` from parsed arguments (absent options keep the defaults); ``overrides``
    (top-level field names) win over the arguments."""
    values: dict[str, Any] = {}
    for leaf in leaf_fields(cls):
        if leaf.option is None or not hasattr(args, leaf.dest):
            continue
        value = getattr(args, leaf.dest)
        if leaf.kind == "dict":
            value = key_values(value, leaf.option.flags[0])
        elif leaf.kind == "tuple":
            value = tuple(value)
        target = values
        for head in leaf.path[:-1]:
            target = target.setdefault(head, {})
        target[leaf.path[-1]] = value
    return cls(**{**values, **overrides})


def _implied(settings: Settings, leaf: Leaf, default: Any) -> bool:
    """Whether leaving the field at its default rebuilds ``settings`` anyway (a normalised default,
    e.g. ``data_source="auto"`` that resolves to the ``sample`` the settings hold)."""
    try:
        return settings.replace(**{leaf.name: default}) == settings
    except ZcptError:  # the default is not valid with the other fields: the option is needed
        return False


def to_argv(settings: Settings, skip: Sequence[str] = ()) -> list[str]:
    """Command-line arguments that rebuild ``settings``: each CLI field whose value its default
    would not give (defaults that normalise to the settings' value are left out)."""
    argv: list[str] = []
    for leaf in leaf_fields(type(settings)):
        option = leaf.option
        if option is None or leaf.name in skip:
            continue
        value, default = get_path(settings, leaf.path), leaf.default()
        if not leaf.required and (value == default or _implied(settings, leaf, default)):
            continue
        flag = option.flags[0]
        if leaf.kind == "bool":
            if _base_type(leaf.info.annotation)[1]:
                if value is None:
                    raise ZcptError(f"{leaf.name}=None cannot be written as an option (it is not the default)")
                argv.append(flag if value else "--no-" + flag[2:])
            else:
                argv.append(flag)
        elif leaf.kind == "dict":
            for key, item in value.items():
                argv += [flag, format_key_value(key, item)]
        elif leaf.kind == "tuple":
            argv += [flag, *map(str, value)]
        elif value is None:
            raise ZcptError(f"{leaf.name}=None cannot be written as an option (default {default!r})")
        else:
            argv += [flag, str(value)]
    return argv


__all__ = ["Settings", "Result", "opt", "plain", "explain", "parse_key_value", "key_values", "format_key_value", "leaf_fields",
           "identity_fields", "add_options", "from_args", "to_argv"]
