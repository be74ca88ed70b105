"""What every run spec shares (see :mod:`.specs` for the kinds): the :class:`RunSpec` mixin --
identity, record name, the command that computes it, ``run()`` -- and the registry of spec kinds.

A spec is the settings class of an algorithm (declared once, at the algorithm) plus this mixin:
``class SearchSpec(SearchSettings, RunSpec)``. Its **identity** is the settings that determine the
result (not the device, the data folder, the benchmark path or the engine); its record's name is
readable key fields plus ``-h<hash>`` of every other identity field that differs from its default.
"""
from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional, Protocol

from ..errors import ZcptError
from ..options import identity_fields, to_argv
from ..registry import Registry


class Store(Protocol):
    """What a spec asks of a results store (:class:`~.store.ResultStore`)."""

    def run(self, spec: "RunSpec", progress: bool = False, force: bool = False, **resources: Any) -> Any: ...


def short_hash(obj: Any, length: int = 8) -> str:
    """A short stable hash of a JSON value (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class RunSpec:
    """Mixin of every run spec (see the module docstring)."""

    KIND: ClassVar[str] = ""
    COMMAND: ClassVar[tuple[str, ...]] = ()
    READABLE: ClassVar[tuple[str, ...]] = ()
    """Identity fields that appear verbatim in the record name (the rest go into its hash)."""

    # -- identity
    def identity(self) -> dict[str, Any]:
        """The fields that determine this spec's result (with its kind), as JSON values."""
        return {"kind": self.KIND, **identity_fields(self)}  # type: ignore[arg-type]

    def key(self) -> str:
        """A short stable hash of the whole identity."""
        return short_hash(self.identity(), 12)

    def _default(self) -> "RunSpec":
        """The spec that :meth:`hashed_fields` compares with (all defaults)."""
        return type(self)()

    def hashed_fields(self) -> dict[str, Any]:
        """Identity fields outside :attr:`READABLE` that differ from their defaults."""
        mine, default = identity_fields(self), identity_fields(self._default())  # type: ignore[arg-type]
        return {k: v for k, v in mine.items() if k not in self.READABLE and v != default.get(k)}

    def name_suffix(self) -> str:
        """``-h<hash>`` of :meth:`hashed_fields` (empty when every such field has its default)."""
        extra = self.hashed_fields()
        return f"-h{short_hash(extra)}" if extra else ""

    def record_name(self) -> str:
        """The record's path inside a results store (may contain a folder)."""
        raise NotImplementedError

    def cost_key(self) -> tuple:
        """What the cost of this spec depends on (for estimates from stored records of the same key)."""
        return (self.KIND,)

    def shared_supernet(self) -> Optional[str]:
        """The store folder of a trained supernet this spec shares with other specs (None: none);
        specs that share one run one after the other, so that it is trained once."""
        return None

    # -- command line
    def to_argv(self) -> list[str]:
        """The ``zcpt`` command (as an argument list) that computes exactly this spec."""
        return ["zcpt", *self.COMMAND, *to_argv(self)]  # type: ignore[arg-type]

    def command(self, out: Optional[str | Path] = None) -> str:
        """:meth:`to_argv` as a shell command line, writing into the store ``out`` when given."""
        argv = self.to_argv() + (["--out", str(out)] if out is not None else [])
        return shlex.join(argv)

    # -- running
    def run(self, store: Optional[Store] = None, progress: bool = False, force: bool = False,
            **resources: Any) -> Any:
        """The record of this spec (a :class:`~.records.Record`): read from ``store`` if complete
        there, else computed (and saved there, under the spec's lock so that no two processes compute
        it at once). ``resources`` are optional preloaded inputs (``images=``, ``bench=``) that do
        not change the result."""
        if store is None:
            return execute(self, None, progress=progress, force=force, **resources)
        return store.run(self, progress=progress, force=force, **resources)


RUNNERS: dict[str, Callable[..., Any]] = {}
"""The runner of each spec kind (see :mod:`.runners`, which fills this)."""


def execute(spec: RunSpec, store: Optional[Store] = None, progress: bool = False, force: bool = False,
            **resources: Any) -> Any:
    """Compute (or resume) ``spec``, saving its record through ``store`` (a
    :class:`~.store.ResultStore`) if given; returns the record. Use :meth:`ResultStore.run` (or
    ``spec.run(store)``), which also holds the spec's lock. Sets up the allocator first
    (:func:`~zcpt_analysis.allocator.configure`: this is where every process starts computing)."""
    from ..allocator import configure

    configure()
    return RUNNERS[spec.KIND](spec, store, progress=progress, force=force, **resources)


SPECS: Registry[type] = Registry("run spec kind")
"""Every spec class by its kind (for records and the store)."""


def register_spec(cls: type) -> type:
    """Class decorator: register a spec kind under its ``KIND``."""
    cls.name = cls.KIND  # type: ignore[attr-defined]
    SPECS.register(cls)
    return cls


def spec_from_json(obj: dict[str, Any]) -> Any:
    """A spec from its JSON form with a ``kind`` key (as records store it)."""
    obj = dict(obj)
    kind = obj.pop("kind", None)
    if kind is None:
        raise ZcptError("a spec's JSON needs its 'kind'")
    return SPECS.get(kind).from_json(obj)
