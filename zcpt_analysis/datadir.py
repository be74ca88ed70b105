"""Where the reference data lives: ``$ZCPT_DATA`` (which must then exist), else ``../shared/data``
beside the project.

The shared data folder holds the NAS-Bench-201 tables (``nb201/``), CIFAR image samples
(``images/``) and the DARTS subspace op lists (``darts/``); see ``../shared/data/README.md``.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import MissingFileError

ENV_VAR = "ZCPT_DATA"
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def candidate_data_dirs() -> list[Path]:
    """Places searched for the data folder, in order: only ``$ZCPT_DATA`` when it is set."""
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR]).expanduser()]
    return [Path.cwd() / ".." / "shared" / "data", _PROJECT_ROOT / ".." / "shared" / "data",
            Path.cwd() / "shared" / "data"]


def data_dir(required: bool = True) -> Path | None:
    """The data folder; raises :class:`MissingFileError` (saying where it was looked for) if absent.
    A ``$ZCPT_DATA`` that is not a folder is always an error (never a silent fallback)."""
    value = os.environ.get(ENV_VAR)
    if value and not Path(value).expanduser().is_dir():
        state = "is a file" if Path(value).expanduser().exists() else "does not exist"
        raise MissingFileError(f"{ENV_VAR}={value} {state}; set it to the folder holding nb201/, images/ and "
                               "darts/ (in this project: ../shared/data), or unset it")
    for d in candidate_data_dirs():
        if d.is_dir():
            return d.resolve()
    if not required:
        return None
    looked = ", ".join(str(d) for d in candidate_data_dirs())
    raise MissingFileError(f"reference data folder not found (looked in: {looked}). Set {ENV_VAR} to the folder "
                           "holding nb201/, images/ and darts/ (in this project: ../shared/data).")


def data_file(*parts: str) -> Path:
    """A file inside the data folder, with a clear error if it is missing."""
    path = data_dir().joinpath(*parts)  # type: ignore[union-attr]
    if not path.exists():
        raise MissingFileError(f"{path} does not exist; expected {'/'.join(parts)} inside the data folder "
                               f"({ENV_VAR}={data_dir()})")
    return path
