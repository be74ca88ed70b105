"""One results store: a folder of typed records, used by the CLI, the notebooks, the reports and
``zcpt reproduce``.

``ResultStore(root)`` maps a run spec to its record file (:meth:`~ResultStore.path_for`: ``root /
spec.record_name()``), finds complete records (:meth:`~ResultStore.find`), saves them atomically
(:meth:`~ResultStore.save`), lists what is still missing (:meth:`~ResultStore.missing`) and turns
every record it holds into one tidy table (:meth:`~ResultStore.table`).

Concurrency: :meth:`~ResultStore.run` computes a spec while it holds an operating-system lock
(``flock``, through :mod:`filelock`) on ``<record>.lock``. The process that holds the lock computes
the spec; another one waits (saying once who computes it) and then reads the record, or, with
``wait=False``, stops with :class:`ClaimedError`. Threads of one process exclude each other as
well (a per-path thread lock). The kernel drops the lock when its process ends, however it ends
(``kill -9`` included), so a dead owner's spec is taken over at once; nothing else -- no file's
contents, age or times -- ever decides who computes. The holder writes its host, pid and start time
to ``<record>.claim`` for the waiting message and :meth:`~ResultStore.claim_info` only, and removes
it when it lets go. Lock files stay in place (removing one would let two processes lock two
different files); they are no records. Records are only ever replaced by atomic renames, so a
reader sees the old record or the new one, never half of one.

Limitation: the guarantee is the file system's ``flock``. Local file systems have it, and so do
NFSv4 mounts and Linux NFS clients since 2.6.12, which emulate ``flock`` with ``fcntl`` byte-range
locks held by the server (so workers on several hosts sharing one store exclude each other). Not
every network file system does (NFSv3 without a lock daemon, some SMB/CIFS, sshfs and other FUSE
mounts): there, processes on different hosts may compute the same spec at once; where ``flock``
is missing altogether, filelock refuses or falls back to a plain lock file (with a warning) that a
killed owner leaves behind. Run the workers of one store on a file system with working locks.
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

from filelock import FileLock, Timeout

from ..errors import DamagedFileError, ZcptError
from ..files import (OutputLocationError, atomic_write_json, ensure_dir, file_kind, is_disk_full, read_json,
                     remove_stale_temporaries)
from ..paths import default_results_dir, resolve
from .records import Record, record_from_json
from .spec import RunSpec, execute

LOCK_SUFFIX = ".lock"
"""``<record>.lock``: the file whose OS lock the process computing the record holds."""
OWNER_SUFFIX = ".claim"
"""``<record>.claim``: who holds the lock (host, pid, since), for messages only."""
POLL_SECONDS = 1.0
"""How long one attempt to take a lock waits (a waiter looks for the finished record in between)."""

_GUARDS: dict[str, threading.Lock] = {}
_GUARDS_LOCK = threading.Lock()
_SWEPT: set[str] = set()
"""Stores whose dead writers' temporary files this process has removed (once per store)."""


class ClaimedError(ZcptError, RuntimeError):
    """Another process (or thread) holds this spec's lock (raised only when not waiting)."""


def _thread_guard(path: Path) -> threading.Lock:
    """The in-process lock of lock file ``path``: threads of one process exclude each other even
    where the file system's locks belong to a process rather than to an open file (NFS)."""
    with _GUARDS_LOCK:
        return _GUARDS.setdefault(str(path), threading.Lock())


def _locked_elsewhere(path: Path) -> bool:
    """Whether a thread of this process or another process holds lock file ``path`` now."""
    if _thread_guard(path).locked():
        return True
    probe = FileLock(path, thread_local=False)
    try:
        probe.acquire(blocking=False)
    except Timeout:
        return True
    except OSError:
        return False  # it cannot be locked at all: claim() says why
    probe.release()
    return False


def _lock_error(exc: OSError, path: Path) -> OutputLocationError:
    """One clear error for a lock or owner file that cannot be written (a full disk above all)."""
    if is_disk_full(exc):
        return OutputLocationError(f"cannot start the run: the disk is full (no space left for {path}); free some "
                                   "space there and run the same command again to resume")
    return OutputLocationError(f"cannot lock {path}: {exc.strerror or exc}; check that the results store's folder "
                               "can be written")


def identity_diff(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """``"field: stored -> wanted"`` for every identity field that differs."""
    keys = list(dict.fromkeys([*wanted, *stored]))
    return [f"{k}: {stored.get(k)!r} -> {wanted.get(k)!r}" for k in keys if stored.get(k) != wanted.get(k)]


class Claim:
    """This process's hold on a spec: the OS lock on its lock file, the thread guard and the
    owner-info file (see the module docstring)."""

    def __init__(self, lock: FileLock, guard: threading.Lock, owner: Path):
        self.lock, self.guard, self.owner = lock, guard, owner
        self.held = True

    def release(self) -> None:
        """Let go (a second call does nothing). The owner file is removed while the lock is still
        ours, so this never touches another holder's files; the lock file stays."""
        if not self.held:
            return
        self.held = False
        try:
            with contextlib.suppress(OSError):
                self.owner.unlink()
            self.lock.release()
        finally:
            self.guard.release()


class ResultStore:
    """A folder of result records (default: ``$ZCPT_HOME/runs``, else ``./runs``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is not None and not isinstance(root, (str, os.PathLike)):
            raise ZcptError(f"a results store is a folder path, got {type(root).__name__} {root!r:.80}")
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
        kind = file_kind(path)
        if kind == "missing":
            return None
        if kind != "a file" or path.is_symlink():
            kind = "a symbolic link" if kind == "a file" else kind
            raise DamagedFileError(f"the record {path} is {kind}, not a regular file; move it aside to compute the "
                                   "run")
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
        """Every JSON file below the root that could be a record (claims and caches left out); a
        root that is not a folder is an error (never an empty store)."""
        kind = file_kind(self.root)
        if kind == "missing":
            return []
        if kind != "a folder":
            raise OutputLocationError(f"the results store {self.root} is {kind}, not a folder; give the folder of "
                                      "the records")
        return sorted(p for p in self.root.rglob("*.json")
                      if not p.name.startswith(".") and not p.name.startswith("naswot-scores-")
                      and p.name != "run.json")

    def _readable(self, warn: bool) -> Iterator[tuple[Path, Record]]:
        """``(path, record)`` of every file that holds a record; anything else (a damaged file, a
        dangling symlink, a folder, a named pipe, ...) is skipped with one warning naming it."""
        for path in self.paths():
            try:
                rec = self.read(path)
            except ZcptError as exc:
                if warn:
                    print(f"zcpt: skipping {path}: {exc}", file=sys.stderr)
                continue
            yield path, rec

    def records(self, kinds: Optional[Sequence[str]] = None, warn: bool = True) -> list[Record]:
        """Every record in the store (of ``kinds``), unreadable files skipped with a warning."""
        return [rec for _, rec in self._readable(warn) if kinds is None or rec.KIND in kinds]

    def table(self, kinds: Optional[Sequence[str]] = None, warn: bool = True, columns: str | Sequence[str] = "default"):
        """A tidy :class:`pandas.DataFrame`, one row per record (unreadable files skipped with a
        warning). ``columns="all"``: kind, status, identity fields, selected architecture, test error
        per dataset (%, mean over the record's runs), rank, seconds per stage, and the record's
        ``path``; ``"default"``: those a person reads first (:data:`TABLE_COLUMNS`); or a list of
        names (see :func:`summary_table`)."""
        return summary_table([{**rec.summary_row(), "path": str(path.relative_to(self.root))}
                              for path, rec in self._readable(warn) if kinds is None or rec.KIND in kinds], columns)

    # ------------------------------------------------------------------ writing
    def ensure_writable(self, spec: Optional[RunSpec] = None) -> Path:
        """Check, before any work, that this store (and ``spec``'s record) can be written: the
        folders are created if missing; one that is a file, sits below a file or cannot be written,
        and a record path that is a folder, are an :class:`~zcpt_analysis.files.OutputLocationError`."""
        ensure_dir(self.root, "results store")
        if str(self.root) not in _SWEPT:
            _SWEPT.add(str(self.root))
            self.remove_stale_temporaries()
        if spec is not None:
            path = self.path_for(spec)
            kind = file_kind(path)
            if path.is_symlink() or kind not in ("a file", "missing"):
                kind = "a symbolic link" if kind == "a file" else kind
                raise OutputLocationError(f"the record {path} is {kind}, not a regular file; move it aside to "
                                          "compute the run")
            ensure_dir(path.parent, "folder of the record")
        return self.root

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove the temporary files that writers killed mid-write left in the store (see
        :func:`~zcpt_analysis.files.remove_stale_temporaries`; a live writer's are kept). Done
        once per process and store when the store is first opened for writing."""
        return remove_stale_temporaries(self.root)

    def save(self, record: Record) -> Path:
        """Write ``record`` atomically to its spec's path."""
        return atomic_write_json(self.path_for(record.spec), record.to_json())

    # ------------------------------------------------------------------ claims
    def _lock_path(self, spec: RunSpec) -> Path:
        path = self.path_for(spec)
        return path.with_name(path.name + LOCK_SUFFIX)

    def _claim_path(self, spec: RunSpec) -> Path:
        """The owner-info file of ``spec`` (written by the process that holds its lock)."""
        path = self.path_for(spec)
        return path.with_name(path.name + OWNER_SUFFIX)

    def _owner(self, spec: RunSpec) -> dict[str, Any]:
        """Host, pid and since from the owner-info file ("?" for what it does not say)."""
        try:
            info = json.loads(self._claim_path(spec).read_text())
        except (OSError, ValueError):
            info = None
        info = info if isinstance(info, dict) else {}
        return {key: info.get(key, "?") for key in ("host", "pid", "since")}

    def claim_info(self, spec: RunSpec) -> Optional[dict[str, Any]]:
        """Who holds ``spec``'s lock now (host, pid, since), or None if nobody does (a snapshot)."""
        path = self._lock_path(spec)
        return self._owner(spec) if path.is_file() and _locked_elsewhere(path) else None

    def _check_lock_files(self, spec: RunSpec) -> None:
        for path in (self._lock_path(spec), self._claim_path(spec)):
            if path.is_dir():
                raise OutputLocationError(f"{path} is a folder where the run's lock file belongs; move it aside to "
                                          "compute the run")

    @staticmethod
    def _write_owner(path: Path) -> None:
        """Write this process's host, pid and start time to ``path`` (for messages only)."""
        try:
            path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                        "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        except OSError as exc:
            raise _lock_error(exc, path) from None

    def _try_claim(self, spec: RunSpec, timeout: float) -> Optional[Claim]:
        """``spec``'s lock, if no other thread or process holds it within ``timeout`` seconds."""
        path = self._lock_path(spec)
        guard = _thread_guard(path)
        if not guard.acquire(timeout=timeout):
            return None
        lock = FileLock(path, thread_local=False)
        try:
            lock.acquire(timeout=timeout)
        except BaseException as exc:
            guard.release()
            if isinstance(exc, Timeout):  # before OSError: filelock's Timeout is a TimeoutError
                return None
            if isinstance(exc, OSError):
                raise _lock_error(exc, path) from None
            raise
        claim = Claim(lock, guard, self._claim_path(spec))
        try:
            self._write_owner(claim.owner)
        except BaseException:
            claim.release()  # removes what the failed write left
            raise
        return claim

    @contextlib.contextmanager
    def claim(self, spec: RunSpec, wait: bool = True, log=None) -> Iterator[Optional[Claim]]:
        """Hold ``spec``'s lock for the ``with`` block (yields the :class:`Claim`). If another
        thread or process holds it: with ``wait``, wait (saying so once through ``log``) and yield
        None as soon as the record is complete; else raise :class:`ClaimedError`."""
        self.ensure_writable(spec)
        self._check_lock_files(spec)
        said = False
        while (held := self._try_claim(spec, POLL_SECONDS)) is None:
            owner = self._owner(spec)
            message = (f"{self.path_for(spec)} is being computed by pid {owner['pid']} on {owner['host']} "
                       f"(since {owner['since']})")
            if not wait:
                raise ClaimedError(message)
            if not said and log is not None:
                log(f"waiting: {message}")
                said = True
            if self.find(spec) is not None:
                yield None
                return
        try:
            yield held
        finally:
            held.release()

    # ------------------------------------------------------------------ running
    def run(self, spec: RunSpec, progress: bool = False, force: bool = False, wait: bool = True,
            **resources: Any) -> Record:
        """The complete record of ``spec``: found here, or computed under a claim (resuming a
        partial record; ``force`` starts over) and saved here."""
        return self.run_and_tell(spec, progress, force, wait, **resources)[0]

    def run_and_tell(self, spec: RunSpec, progress: bool = False, force: bool = False, wait: bool = True,
                     **resources: Any) -> tuple[Record, bool]:
        """:meth:`run`, and whether this call computed the record (False: it was complete here
        already, or another process completed it while this one waited for its lock)."""
        if not force:
            found = self.find(spec)
            if found is not None:
                return found, False
        log = (lambda msg: print(f"zcpt: {msg}", file=sys.stderr)) if progress else None
        with self.claim(spec, wait=wait, log=log) as held:
            if held is None:  # another process finished it while we waited
                found = self.find(spec)
                assert found is not None
                return found, False
            if not force:
                found = self.find(spec)
                if found is not None:
                    return found, False
            return execute(spec, self, progress=progress, force=force, **resources), True


def as_store(store: "ResultStore | str | os.PathLike | None") -> Optional[ResultStore]:
    """``store`` as a :class:`ResultStore` (a folder path becomes one; None stays None)."""
    if store is None or isinstance(store, ResultStore):
        return store
    return ResultStore(store)


TABLE_COLUMNS: tuple[str, ...] = ("kind", "status", "space", "proxy", "order", "method", "N", "V", "supernet_mode",
                                  "n_samples", "runs", "num_archs", "seed", "selected", "cifar10 error", "cifar10 rank",
                                  "seconds")
"""The columns of :meth:`ResultStore.table` by default (those the records have): kind, status, the
key settings, the selected architecture, its CIFAR-10 error and rank, and the seconds it took."""


def summary_table(rows: Sequence[dict[str, Any]], columns: str | Sequence[str] = "default"):
    """The :class:`pandas.DataFrame` of summary ``rows``: ``columns`` ``"all"``, ``"default"``
    (:data:`TABLE_COLUMNS` that occur) or a list of names (an unknown one is an error naming the
    valid ones; none are valid of an empty table). A column whose values are all integers has the
    nullable integer dtype (``20``, not ``20.0``, where a row lacks it)."""
    import pandas as pd

    every = list(dict.fromkeys(k for row in rows for k in row))
    if columns == "all":
        chosen = every
    elif columns == "default":
        chosen = [c for c in TABLE_COLUMNS if c in every]
    else:
        chosen = list(columns)
        unknown = [c for c in chosen if c not in every]
        if unknown and rows:
            raise ZcptError(f"unknown table column(s) {', '.join(unknown)}; valid: {', '.join(every)}")
        chosen = [c for c in chosen if c in every]
    table = pd.DataFrame([{c: row.get(c) for c in chosen} for row in rows], columns=chosen)
    for c in chosen:
        values = [row[c] for row in rows if row.get(c) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            table[c] = table[c].astype("Int64")
    return table
