"""One results store: a folder of typed records, used by the CLI, the notebooks, the reports and
``zcpt reproduce``.

``ResultStore(root)`` maps a run spec to its record file (:meth:`~ResultStore.path_for`: ``root /
spec.record_name()``), finds complete records (:meth:`~ResultStore.find`), saves them atomically
(:meth:`~ResultStore.save`), lists what is still missing (:meth:`~ResultStore.missing`) and turns
every record it holds into one tidy table (:meth:`~ResultStore.table`).

Concurrency: :meth:`~ResultStore.run` computes a spec under a **claim** -- a ``<record>.claim``
file created exclusively (``O_CREAT | O_EXCL``) holding the owner's host, pid and a heartbeat the
owner refreshes every :data:`HEARTBEAT_SECONDS`. A second process asking for the same spec waits
for the claim to go and then reads the record instead of computing it. A claim is **stale** (taken
over) when its owner is a dead process on this host, or its heartbeat is older than
:data:`STALE_SECONDS` (an owner on another host that stopped). Records are only ever replaced by
atomic renames, so a reader sees the old record or the new one, never half of one.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

from ..errors import DamagedFileError, ZcptError
from ..files import atomic_write_json, read_json
from ..paths import default_results_dir, resolve
from .records import Record, record_from_json
from .specs import RunSpec

CLAIM_SUFFIX = ".claim"
HEARTBEAT_SECONDS = 20.0
STALE_SECONDS = 300.0
POLL_SECONDS = 1.0


class ClaimedError(ZcptError, RuntimeError):
    """Another live process is computing this spec (raised only when not waiting)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def identity_diff(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """``"field: stored -> wanted"`` for every identity field that differs."""
    keys = list(dict.fromkeys([*wanted, *stored]))
    return [f"{k}: {stored.get(k)!r} -> {wanted.get(k)!r}" for k in keys if stored.get(k) != wanted.get(k)]


class Claim:
    """A held claim on a spec's record (see the module docstring); refreshes its heartbeat."""

    def __init__(self, path: Path):
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def start(self) -> "Claim":
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class ResultStore:
    """A folder of result records (default: ``$ZCPT_HOME/runs``, else ``./runs``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = resolve(root) if root is not None else default_results_dir()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    # ------------------------------------------------------------------ locations
    def path_for(self, spec: RunSpec) -> Path:
        """The record file of ``spec``."""
        return self.root / spec.record_name()

    def artifacts_for(self, spec: RunSpec) -> Path:
        """A folder for the spec's checkpoints and caches (next to its record)."""
        path = self.path_for(spec)
        return path.parent if path.name == "result.json" else path.with_suffix("")

    # ------------------------------------------------------------------ reading
    def read(self, path: str | os.PathLike) -> Record:
        """The record in file ``path`` (clear error if it is damaged or no record)."""
        return record_from_json(read_json(path), where=str(path))

    def load(self, spec: RunSpec) -> Optional[Record]:
        """The record of ``spec`` in any status (None if absent). A record there whose identity
        differs (a hash collision, an edited file) is an error naming the fields."""
        path = self.path_for(spec)
        if not path.exists():
            return None
        try:
            record = self.read(path)
        except DamagedFileError as exc:
            raise DamagedFileError(f"{exc}. Move it aside, or rerun with --force to compute it again") from None
        stored, wanted = record.spec.identity(), spec.identity()
        if stored != wanted:
            raise ZcptError(f"{path} holds a run with a different configuration ("
                            + "; ".join(identity_diff(stored, wanted))
                            + "); use another --out folder or --force to start over")
        return record

    def find(self, spec: RunSpec) -> Optional[Record]:
        """The *complete* record of ``spec``, or None."""
        record = self.load(spec)
        return record if record is not None and record.complete else None

    def missing(self, specs: Iterable[RunSpec]) -> list[RunSpec]:
        """The specs without a complete record here (in the given order, duplicates dropped)."""
        out, seen = [], set()
        for spec in specs:
            key = (spec.KIND, spec.record_name())
            if key in seen:
                continue
            seen.add(key)
            if self.find(spec) is None:
                out.append(spec)
        return out

    def paths(self) -> list[Path]:
        """Every JSON file below the root that could be a record (claims and caches left out)."""
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.rglob("*.json")
                      if not p.name.startswith(".") and not p.name.startswith("naswot-scores-")
                      and p.name != "run.json")

    def records(self, kinds: Optional[Sequence[str]] = None, warn: bool = True) -> list[Record]:
        """Every record in the store (of ``kinds``), unreadable files skipped with a warning."""
        out = []
        for path in self.paths():
            try:
                rec = self.read(path)
            except ZcptError as exc:
                if warn:
                    print(f"zcpt: skipping {path}: {exc}", file=sys.stderr)
                continue
            if kinds is None or rec.KIND in kinds:
                out.append(rec)
        return out

    def table(self, kinds: Optional[Sequence[str]] = None):
        """A tidy :class:`pandas.DataFrame`, one row per record: kind, status, identity fields,
        selected architecture, test error per dataset (% , mean over the record's runs), rank,
        seconds per stage, and the record's ``path``."""
        import pandas as pd

        rows = []
        for path in self.paths():
            try:
                rec = self.read(path)
            except ZcptError:
                continue
            if kinds is None or rec.KIND in kinds:
                rows.append({**rec.summary_row(), "path": str(path.relative_to(self.root))})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ writing
    def save(self, record: Record) -> Path:
        """Write ``record`` atomically to its spec's path."""
        return atomic_write_json(self.path_for(record.spec), record.to_json())

    # ------------------------------------------------------------------ claims
    def _claim_path(self, spec: RunSpec) -> Path:
        path = self.path_for(spec)
        return path.with_name(path.name + CLAIM_SUFFIX)

    def claim_info(self, spec: RunSpec) -> Optional[dict[str, Any]]:
        """The live claim on ``spec`` (host, pid, since), or None if unclaimed or stale."""
        path = self._claim_path(spec)
        try:
            info = json.loads(path.read_text() or "{}")
            age = time.time() - path.stat().st_mtime
        except (FileNotFoundError, json.JSONDecodeError, OSError):
            return None if not path.exists() else {"host": "?", "pid": -1, "since": "?", "age": 0.0}
        if info.get("host") == socket.gethostname() and not _pid_alive(int(info.get("pid", -1))):
            return None
        if age > STALE_SECONDS:
            return None
        return dict(info, age=age)

    def _try_claim(self, spec: RunSpec) -> Optional[Claim]:
        path = self._claim_path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.claim_info(spec) is not None:
                    return None
                # stale: move it aside (only one process wins the rename), then claim afresh
                aside = path.with_name(f"{path.name}.stale.{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    os.replace(path, aside)
                    aside.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "since": time.strftime("%Y-%m-%dT%H:%M:%S")}, fh)
            return Claim(path).start()
        return None

    @contextlib.contextmanager
    def claim(self, spec: RunSpec, wait: bool = True, log=None) -> Iterator[Optional[Claim]]:
        """Hold the claim on ``spec`` for the ``with`` block. If another live process holds it:
        with ``wait``, wait until it is released (yields None if the record is then complete),
        else raise :class:`ClaimedError`."""
        said = False
        while True:
            claim = self._try_claim(spec)
            if claim is not None:
                break
            info = self.claim_info(spec) or {}
            if not wait:
                raise ClaimedError(f"{self.path_for(spec)} is being computed by pid {info.get('pid')} on "
                                   f"{info.get('host')} (since {info.get('since')})")
            if not said and log is not None:
                log(f"waiting: {self.path_for(spec)} is being computed by pid {info.get('pid')} on "
                    f"{info.get('host')} (since {info.get('since')})")
                said = True
            time.sleep(POLL_SECONDS)
            if self.find(spec) is not None:
                yield None
                return
        try:
            yield claim
        finally:
            claim.release()

    # ------------------------------------------------------------------ running
    def run(self, spec: RunSpec, progress: bool = False, force: bool = False, wait: bool = True,
            **resources: Any) -> Record:
        """The complete record of ``spec``: found here, or computed under a claim (resuming a
        partial record; ``force`` starts over) and saved here."""
        if not force:
            found = self.find(spec)
            if found is not None:
                return found
        log = (lambda msg: print(f"zcpt: {msg}", file=sys.stderr)) if progress else None
        with self.claim(spec, wait=wait, log=log) as held:
            if held is None:  # another process finished it while we waited
                found = self.find(spec)
                assert found is not None
                return found
            if not force:
                found = self.find(spec)
                if found is not None:
                    return found
            return spec.execute(self, progress=progress, force=force, **resources)


def as_store(store: "ResultStore | str | os.PathLike | None") -> Optional[ResultStore]:
    """``store`` as a :class:`ResultStore` (a folder path becomes one; None stays None)."""
    if store is None or isinstance(store, ResultStore):
        return store
    return ResultStore(store)
