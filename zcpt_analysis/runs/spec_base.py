"""What every run spec shares (see :mod:`.specs` for the kinds): the :class:`RunSpec` base --
identity, record names, commands, JSON, ``run()`` -- and the registry of spec kinds."""
from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from ..errors import ZcptError
from ..options import from_jsonable, identity_fields, opt, to_argv, to_jsonable
from ..registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .records import Record
    from .store import ResultStore


def _hash(obj: Any, length: int = 8) -> str:
    text = json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _set(spec: Any, **values: Any) -> None:
    for k, v in values.items():
        object.__setattr__(spec, k, v)


# ============================================================================= base
@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """Base of every run spec (see the module docstring)."""

    KIND: ClassVar[str] = ""
    COMMAND: ClassVar[tuple[str, ...]] = ()
    READABLE: ClassVar[tuple[str, ...]] = ()
    """Identity fields that appear verbatim in the record name (the rest go into its hash)."""

    # -- identity
    def identity(self) -> dict[str, Any]:
        """The fields that determine this spec's result (with its kind), as JSON values."""
        return {"kind": self.KIND, **identity_fields(self)}

    def key(self) -> str:
        """A short stable hash of the whole identity."""
        return _hash(self.identity(), 12)

    def _default(self) -> "RunSpec":
        return type(self)()

    def hashed_fields(self) -> dict[str, Any]:
        """Identity fields outside :attr:`READABLE` that differ from their defaults."""
        mine, default = identity_fields(self), identity_fields(self._default())
        return {k: v for k, v in mine.items() if k not in self.READABLE and v != default.get(k)}

    def name_suffix(self) -> str:
        """``-h<hash>`` of :meth:`hashed_fields` (empty when every such field has its default)."""
        extra = self.hashed_fields()
        return f"-h{_hash(extra)}" if extra else ""

    def record_name(self) -> str:
        """The record's path inside a results store (may contain a folder)."""
        raise NotImplementedError

    # -- command line
    def to_argv(self) -> list[str]:
        """The ``zcpt`` command (as an argument list) that computes exactly this spec."""
        return ["zcpt", *self.COMMAND, *to_argv(self)]

    def command(self, out: Optional[str | Path] = None) -> str:
        """:meth:`to_argv` as a shell command line, writing into the store ``out`` when given."""
        argv = self.to_argv() + (["--out", str(out)] if out is not None else [])
        return shlex.join(argv)

    # -- JSON
    def to_json(self) -> dict[str, Any]:
        return to_jsonable(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any], strict: bool = True) -> "RunSpec":
        return from_jsonable(cls, obj, strict=strict)

    def replace(self, **changes: Any) -> "RunSpec":
        """A copy with ``changes`` (dotted names reach nested settings: ``darts.epochs=3``)."""
        from ..options import replace

        return replace(self, **changes)

    # -- execution
    def execute(self, store: Optional["ResultStore"] = None, progress: bool = False, force: bool = False,
                **resources: Any) -> "Record":
        """Compute (or resume) this spec, saving through ``store`` if given; returns its record.
        Use :meth:`run` (or :meth:`ResultStore.run`), which also claims the spec in the store."""
        raise NotImplementedError

    def run(self, store: Optional["ResultStore"] = None, progress: bool = False, force: bool = False,
            **resources: Any) -> "Record":
        """The record of this spec: read from ``store`` if complete there, else computed (and saved
        there, under a claim so that no two processes compute it at once). ``resources`` are
        optional preloaded inputs (``images=``, ``bench=``) that do not change the result."""
        if store is None:
            return self.execute(None, progress=progress, force=force, **resources)
        return store.run(self, progress=progress, force=force, **resources)

    def cost_key(self) -> tuple:
        """What the cost of this spec depends on (for estimates from stored records of the same key)."""
        return (self.KIND,)


SPECS: Registry[type] = Registry("run spec kind")
"""Every spec class by its kind (for records and the store)."""


def _register(cls: type) -> type:
    cls.name = cls.KIND  # type: ignore[attr-defined]
    SPECS.register(cls)
    return cls


def spec_class(kind: str) -> type:
    """The spec class of ``kind``."""
    return SPECS.get(kind)


# ============================================================================= shared fields
@dataclass(frozen=True, kw_only=True)
class BenchField:
    bench: Optional[str] = opt(None, "--bench", identity=False, metavar="PATH",
                               help="NAS-Bench-201 tables folder, official .pth or NATS-Bench file "
                                    "(default: $ZCPT_BENCH or the shared data's nb201/)")

    def load_bench(self):
        from ..bench import load_benchmark

        return load_benchmark(self.bench)


def _space_name(space: str) -> str:
    from ..spaces import get_space

    return get_space(space).name


def _proxy_name(proxy: str) -> str:
    from ..proxies import get_proxy

    return get_proxy(proxy).name


def _positive(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and int(value) < 1:
            raise ZcptError(f"{name} must be at least 1, got {value}")


def spec_from_json(obj: dict[str, Any], strict: bool = True) -> RunSpec:
    """A spec from its JSON form with a ``kind`` key (as records store it)."""
    obj = dict(obj)
    kind = obj.pop("kind", None)
    if kind is None:
        raise ZcptError("a spec's JSON needs its 'kind'")
    return spec_class(kind).from_json(obj, strict=strict)
