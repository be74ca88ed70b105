"""Validation of values at the boundaries: numbers with a valid range, and the ``KEY=VALUE`` options
that are passed through to a builder or a proxy (``--supernet-option C=8``, ``--proxy-option mode=train``).

A builder declares what it accepts in its signature, once: the parameter names are the valid keys,
the annotations their types, and ``Annotated[int, Range(1)]`` (:data:`PositiveInt`, ...) their
ranges. :func:`check_arguments` checks a dict of options against such a signature *without calling
it* (so a run spec can reject a bad option before any work starts), and :func:`checked` applies the
same check whenever the builder is called. Every failure is a :class:`~zcpt_analysis.errors.ZcptError`
whose message names the bad value and what would be valid.
"""
from __future__ import annotations

import collections.abc
import functools
import inspect
import math
import numbers
import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Iterable, Mapping, Optional, TypeVar

from .errors import UnknownNameError, ZcptError, short_repr

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a number (``None``: unbounded); ``high_open`` excludes ``high``,
    ``low_open`` excludes ``low``."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def __str__(self) -> str:
        """``"at least 1"``, ``"in [0, 1)"``, ...; ``""`` when unbounded."""
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f"{'greater than' if self.low_open else 'at least'} {_num(self.low)}"
        if self.low is None:
            return f"{'less than' if self.high_open else 'at most'} {_num(self.high)}"
        return f"in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class Choices:
    """The valid values of a text option."""

    values: tuple[str, ...]

    def __str__(self) -> str:
        return "one of " + ", ".join(self.values)


PositiveInt = Annotated[int, Range(1)]
NonNegativeFloat = Annotated[float, Range(0)]


def _num(value: Optional[float]) -> str:
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


# ----------------------------------------------------------------------------- single values
def check_range(name: str, value: Any, valid: Range, integer: bool = False) -> Any:
    """``value`` if it is a number (an integer if ``integer``) within ``valid``, else a clear error."""
    kind = "an integer" if integer else "a finite number"
    number = numbers.Integral if integer else numbers.Real
    bounds = f" {valid}" if str(valid) else ""
    if isinstance(value, bool) or not isinstance(value, number):
        raise ZcptError(f"{name} must be {kind}{bounds}, got {short_repr(value)}")
    if not math.isfinite(value):
        raise ZcptError(f"{name} must be {kind}{bounds}, got {short_repr(value)}")
    if not valid.contains(value):
        raise ZcptError(f"{name} must be {valid}, got {short_repr(value)}")
    return value


def check_value(name: str, value: Any, annotation: Any) -> None:
    """``value`` fits ``annotation``: ``int`` / ``float`` / ``bool`` / ``str``, ``Optional[...]``,
    ``Sequence[str]``, ``Annotated[T, Range(...) | Choices(...)]``; other annotations accept anything."""
    base, rules = annotation, ()
    if typing.get_origin(base) is Annotated:
        base, *meta = typing.get_args(base)
        rules = tuple(meta)
    args = typing.get_args(base)
    if typing.get_origin(base) is typing.Union and type(None) in args:
        if value is None:
            return
        rest = [a for a in args if a is not type(None)]
        base = rest[0] if len(rest) == 1 else Any
        if typing.get_origin(base) is Annotated:
            base, *meta = typing.get_args(base)
            rules = rules + tuple(meta)
    valid = next((r for r in rules if isinstance(r, Range)), None)
    if base is bool:
        if not isinstance(value, bool):
            raise ZcptError(f"{name} must be true or false, got {value!r}")
    elif base is int:
        check_range(name, value, valid or Range(), integer=True)
    elif base is float:
        check_range(name, value, valid or Range())
    elif base is str:
        if not isinstance(value, str):
            raise ZcptError(f"{name} must be text, got {value!r}")
    elif typing.get_origin(base) in (list, tuple, collections.abc.Sequence) and typing.get_args(base)[:1] == (str,):
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ZcptError(f"{name} must be a list of names, got {value!r}")
    for rule in rules:
        if isinstance(rule, Choices) and value not in rule.values:
            raise ZcptError(f"{name} must be {rule}, got {value!r}")


def check_device(device: Any) -> None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether CUDA is there is checked when work starts:
    a spec may be planned on one machine and run on another)."""
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device.strip().lower()):
        raise UnknownNameError("device", device, ("auto", "cpu", "cuda", "cuda:N"))


# ----------------------------------------------------------------------------- pass-through options
def option_names(fn: Callable[..., Any], fixed: Iterable[str] = ()) -> list[str]:
    """The keyword arguments ``fn`` accepts (its named parameters minus ``fixed``; a ``**kwargs``
    catch-all is not a valid key)."""
    skip = set(fixed)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind in kinds and p.name not in skip]


@functools.lru_cache(maxsize=256)
def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target = inspect.unwrap(fn)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: check names only
        return {}


def check_arguments(what: str, fn: Callable[..., Any], options: Mapping[str, Any], fixed: Iterable[str] = (),
                    rules: Optional[Mapping[str, Any]] = None) -> None:
    """Check ``options`` against ``fn``'s signature without calling it: every key must be one of
    :func:`option_names` (``fixed`` ones are set by the caller), every value must fit the
    parameter's annotation and the extra ``rules`` (name -> ``Range`` / ``Choices``)."""
    fixed = tuple(fixed)
    valid = option_names(fn, fixed)
    for key in options:
        if key in fixed:
            raise ZcptError(f"{what} {key!r} cannot be set (the caller sets it); valid {what}s: "
                            f"{', '.join(valid) or 'none'}")
        if key not in valid:
            raise ZcptError(f"unknown {what} {key!r}; valid {what}s: {', '.join(valid) or 'none'}")
    hints = _hints(fn)
    for key, value in options.items():
        annotation = hints.get(key, Any)
        rule = (rules or {}).get(key)
        if rule is not None:
            annotation = Annotated[annotation, rule]
        check_value(f"{what} {key}", value, annotation)


def checked(what: str) -> Callable[[F], F]:
    """Decorate a builder so that every call checks its keyword arguments (see :func:`check_arguments`);
    its signature (what :func:`check_arguments` reads) stays the builder's."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            check_arguments(what, fn, kwargs)
            return fn(*args, **kwargs)

        return call  # type: ignore[return-value]

    return wrap
