"""Files: output locations checked before any work (:func:`ensure_dir`, :func:`check_file_target`),
atomic writes (write to a temporary file in the same folder, then rename), and reading JSON files
and checkpoints with one clear error for a damaged file."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import DamagedFileError, ZcptError


class OutputLocationError(ZcptError, OSError):
    """An output location (results store, run folder, export file) cannot be written: it is a file,
    sits below a file, or the folder is not writable."""


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputLocationError(f"cannot write into {path.parent}: {_describe(exc)}") from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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


def read_json(path: str | Path) -> Any:
    """The JSON content of ``path``; a file that is not valid JSON (cut short, empty, binary)
    raises :class:`~zcpt_analysis.errors.DamagedFileError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise DamagedFileError(f"{path} is a folder, not a JSON file")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFileError(f"{path} is damaged (not valid JSON: {exc})") from exc


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
