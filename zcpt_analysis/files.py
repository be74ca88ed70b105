"""Files: output locations checked before any work (:func:`ensure_dir`, :func:`check_file_target`),
atomic writes (write to a temporary file in the same folder, then rename), and reading JSON files
and checkpoints with one clear error for a damaged file."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .errors import DamagedFileError, ZcptError


class OutputLocationError(ZcptError, OSError):
    """An output location (results store, run folder, export file) cannot be written: it is a file,
    sits below a file, or the folder is not writable."""


TMP_SUFFIX = ".tmp"
"""Suffix of the temporary files of :func:`atomic_write` (``.<name>.<random>.<host>-<pid>.tmp``)."""


class DiskFullError(OutputLocationError):
    """The disk (or the user's quota) is full while writing a file; what was saved before is intact."""


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-space error (``ENOSPC``, or ``EDQUOT``: quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full_error(path: str | Path) -> DiskFullError:
    """The one-line error of a full disk while writing ``path``."""
    return DiskFullError(f"the disk is full (no space left to write {path}); the files saved before are intact: free "
                         "some space and run the same command again to resume")


def file_kind(path: str | Path) -> str:
    """What ``path`` is, in words with an article: ``"a file"`` (a regular one), ``"a folder"``,
    ``"missing"``, ``"a dangling symbolic link"``, ``"a named pipe"``, ``"a socket"``, ``"a device"``,
    ``"a symbolic link loop"`` (a symbolic link counts as what it points to)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a dangling symbolic link" if os.path.islink(path) else "missing"
    except NotADirectoryError:  # below a file: nothing can be there
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"an entry that cannot be read ({_describe(exc)})"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def ensure_dir(path: str | Path, what: str = "output folder", probe: bool = True, keep: bool = True) -> Path:
    """Create folder ``path`` (and its parents) if needed and (``probe``) check that files can be
    created in it, before any work is done; an :class:`OutputLocationError` says why not (``what``
    names it in the message, e.g. ``"results store (--out)"``). ``keep=False`` removes the folders
    it created once the check is done (a check that leaves nothing behind)."""
    path = Path(path)
    missing = []
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                where = "is" if parent == path else f"sits below {parent}, which is"
                raise OutputLocationError(f"cannot use {path} as the {what}: it {where} a file, not a folder; "
                                          "give a folder path")
            break
        missing.append(parent)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if probe:
            with tempfile.TemporaryFile(dir=path, prefix=".zcpt-write-check-"):
                pass
    except OSError as exc:
        raise OutputLocationError(f"cannot write into {path} (the {what}): {_describe(exc)}; give a folder you "
                                  "can write to") from None
    finally:
        if not keep:
            for folder in missing:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return path


def check_file_target(path: str | Path, what: str = "output file", suffixes: tuple[str, ...] = ()) -> Path:
    """Check, before any work, that file ``path`` can be written: not an existing folder, its folder
    usable (created if missing), and one of ``suffixes`` if given."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputLocationError(f"the {what} {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputLocationError(f"cannot write the {what} {path}: it is an existing folder; give a file path")
    ensure_dir(path.parent, f"folder of the {what}", keep=False)
    return path


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Create ``path`` atomically: ``write(tmp_path)`` fills a temporary file in the same folder,
    which then replaces ``path`` -- readers see the old file or the new one, never half of one."""
    path = Path(path)
    if path.is_dir():
        raise OutputLocationError(f"cannot write the file {path}: it is an existing folder; move it aside or give "
                                  "a file path")
    ensure_dir(path.parent, f"folder of {path.name}", probe=False)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_temporary_suffix(), dir=path.parent)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise OutputLocationError(f"cannot write into {path.parent}: {_describe(exc)}") from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    return path


def remove_stale_temporaries(folder: str | Path, max_age: float = 86400.0) -> list[Path]:
    """Remove the temporary files of :func:`atomic_write` below ``folder`` whose writer is gone (a
    writer killed with ``kill -9`` leaves its temporary file behind): those written on this host
    by a process that no longer runs, and -- a writer on another host of a shared file system, or
    a name from an older version, cannot be checked -- those unchanged for ``max_age`` seconds
    (a day). A live writer's file is never removed. Returns what was removed."""
    removed = []
    now, here = time.time(), _host_tag()
    for tmp in Path(folder).rglob(f".*{TMP_SUFFIX}"):
        try:
            info = tmp.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        host, pid = _writer_of(tmp.name)
        dead = host == here and pid is not None and not _pid_alive(pid)
        if dead or now - info.st_mtime > max_age:
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _host_tag() -> str:
    """This host's name as it appears in temporary file names (no dots or dashes)."""
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _temporary_suffix() -> str:
    """``.<host>-<pid>.tmp``: who writes a temporary file (see :func:`remove_stale_temporaries`)."""
    return f".{_host_tag()}-{os.getpid()}{TMP_SUFFIX}"


def _writer_of(name: str) -> tuple[str | None, int | None]:
    tag = name[: -len(TMP_SUFFIX)].rsplit(".", 1)[-1]
    host, _, pid = tag.rpartition("-")
    return (host, int(pid)) if host and pid.isdigit() else (None, None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by another user
        return True
    return True


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, write)


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """Atomically ``torch.save`` ``obj`` to ``path`` (checkpoints)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def update_json(path: str | Path, update: Callable[[Any], Any], timeout: float = 600.0) -> Any:
    """Read-modify-write JSON file ``path`` under an operating-system lock on ``<path>.lock``:
    ``update(current)`` (``None`` when the file does not exist yet) returns the new content, which
    is written atomically and returned. Concurrent updaters (processes or threads) take turns, so
    none loses another's update (caches that several runs extend at once)."""
    from filelock import FileLock, Timeout

    path = Path(path)
    lock = FileLock(str(path) + ".lock", thread_local=False)
    try:
        with lock.acquire(timeout=timeout):
            current = read_json(path) if path.exists() else None
            new = update(current)
            atomic_write_json(path, new)
            return new
    except Timeout:
        raise OutputLocationError(f"could not lock {path}.lock within {timeout:.0f} s (another process holds it); "
                                  "run again when it is done") from None


def read_json(path: str | Path) -> Any:
    """The JSON content of ``path``; a file that is not valid JSON (cut short, empty, binary)
    raises :class:`~zcpt_analysis.errors.DamagedFileError` naming it."""
    path = Path(path)
    kind = file_kind(path)
    if kind != "a file":
        raise DamagedFileError(f"{path} is {kind}, not a JSON file")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFileError(f"{path} is damaged (not valid JSON: {_first_line(exc)})") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a huge integer, nesting too deep
        raise DamagedFileError(f"{path} is damaged (JSON that cannot be read: {type(exc).__name__}: "
                               f"{_first_line(exc)})") from None
    except OSError as exc:
        raise DamagedFileError(f"{path} cannot be read ({_describe(exc)})") from None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).splitlines() or [""])[0]
    return text if len(text) <= limit else text[:limit] + "..."


def load_checkpoint(path: str | Path, hint: str, **kwargs: Any) -> Any:
    """``torch.load(path, map_location="cpu", **kwargs)``; a file torch cannot read (cut short,
    empty, not a checkpoint) raises :class:`DamagedFileError` naming it, followed by ``hint``
    (what the user can do, e.g. how to start over)."""
    import torch

    path = Path(path)
    if path.is_dir():
        raise DamagedFileError(f"checkpoint {path} is a folder, not a file; {hint}")
    kwargs.setdefault("map_location", "cpu")
    try:
        return torch.load(path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/EOFError/UnpicklingError/... on damage
        first = (str(exc).splitlines() or [""])[0].split(". ")[0]  # torch's messages run on for lines
        raise DamagedFileError(f"checkpoint {path} is damaged ({type(exc).__name__}: {first}); {hint}") from exc


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
