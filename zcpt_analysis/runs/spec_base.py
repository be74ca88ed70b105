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

    def bench_for_run(self, space: str):
        """The benchmark a run in ``space`` looks its result up in, loaded before the run starts: a
        ``bench`` (or ``$ZCPT_BENCH``, ``$ZCPT_DATA``) that cannot be read, or a damaged benchmark, is
        an error now, not after the work; only the default benchmark being absent is not (None: the
        record then says why it has no benchmark results)."""
        import os

        from ..bench.benchmark import BENCH_ENV_VAR
        from ..datadir import data_dir
        from ..spaces import get_space

        if not get_space(space).has_benchmark:
            return None
        if self.bench is None and not os.environ.get(BENCH_ENV_VAR):
            folder = data_dir(required=False)  # a $ZCPT_DATA that points nowhere raises here
            if folder is None or not (folder / "nb201").exists():
                return None
        return self.load_bench()


def _space_name(space: str) -> str:
    from ..spaces import get_space

    return get_space(space).name


def _proxy_name(proxy: str) -> str:
    from ..proxies import get_proxy

    return get_proxy(proxy).name


def _positive(**values: Any) -> None:
    """Each value (by field name) is None or an integer >= 1."""
    from ..checks import at_least

    at_least(1, **values)


def _check_options(space: str, proxy: Optional[str] = None, proxy_options: Optional[dict] = None,
                   batch_size: Optional[int] = None, batch_flag: str = "batch_size",
                   supernet_options: Optional[dict] = None, network_options: Optional[dict] = None) -> None:
    """The pass-through options of a spec, checked before any work: ``proxy_options`` against the
    proxy's parameters, the minibatch size against what the proxy needs, ``supernet_options`` /
    ``network_options`` against the space's builders (names, types, ranges)."""
    from ..checks import check_arguments
    from ..spaces import get_space

    if proxy is not None:
        from ..proxies.registry import check_batch_size, check_options

        check_options(proxy, dict(proxy_options or {}))
        if batch_size is not None:
            check_batch_size(proxy, batch_size, batch_flag)
    sp = get_space(space)
    if supernet_options is not None:
        check_arguments(f"{sp.name} supernet option", sp.supernet, supernet_options, fixed=("num_classes", "seed"))
    if network_options is not None:
        check_arguments(f"{sp.name} network option", sp.network, network_options,
                        fixed=("arch", "num_classes", "seed"))


def _check_dataset(space: str, dataset: str) -> None:
    """``dataset`` is one the space's networks are built for (``SearchSpace.datasets``)."""
    from ..spaces import get_space

    sp = get_space(space)
    if dataset not in sp.datasets:
        raise ZcptError(f"the {sp.name} space has no networks for dataset {dataset!r}; valid datasets for {sp.name}: "
                        f"{', '.join(sp.datasets)}")


def _check_benchmark_space(space: str, what: str) -> None:
    """``space`` has benchmark results (``what`` -- a baseline -- looks its architectures up there)."""
    from ..spaces import get_space, space_names

    if not get_space(space).has_benchmark:
        with_bench = [n for n in space_names() if get_space(n).has_benchmark]
        raise ZcptError(f"{what} needs benchmark results and space {space!r} has none; valid spaces: "
                        f"{', '.join(with_bench)}")


def spec_from_json(obj: dict[str, Any], strict: bool = True) -> RunSpec:
    """A spec from its JSON form with a ``kind`` key (as records store it)."""
    obj = dict(obj)
    kind = obj.pop("kind", None)
    if kind is None:
        raise ZcptError("a spec's JSON needs its 'kind'")
    return spec_class(kind).from_json(obj, strict=strict)
