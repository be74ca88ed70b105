"""Where the toolkit writes: the results store, relative to the working directory or ``$ZCPT_HOME``.

Nothing is ever resolved against the installed package: with a normal (non-editable) install the
package lives in site-packages, which is no place for results. Relative paths a user gives
(``--out runs``, ``results_dir="runs/paper"``) are taken from the current working directory, as
every command-line tool does.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

HOME_ENV_VAR = "ZCPT_HOME"
RESULTS_DIR_NAME = "runs"


def home() -> Path:
    """``$ZCPT_HOME`` if set, else the current working directory. A ``$ZCPT_HOME`` that is not an
    existing folder is an error (an explicit setting is never silently replaced by another place)."""
    value = os.environ.get(HOME_ENV_VAR)
    if not value:
        return Path.cwd()
    path = Path(value).expanduser()
    if not path.is_dir():
        from .errors import MissingFileError

        state = "is a file" if path.exists() else "does not exist"
        raise MissingFileError(f"{HOME_ENV_VAR}={value} {state}; set it to an existing folder (the results go "
                               f"into its runs/), or unset it to use the working directory")
    return path


def default_results_dir() -> Path:
    """The default results store: ``<home>/runs``."""
    return home() / RESULTS_DIR_NAME


def resolve(path: str | os.PathLike | None) -> Optional[Path]:
    """``path`` as an absolute folder (relative to the working directory); None / "" stay None."""
    if path is None or str(path) == "":
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path.cwd() / p


def display(path: Optional[Path], default: str = "runs") -> str:
    """``path`` for a printed command: relative to the working directory when below it."""
    if path is None:
        return default
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)
