"""Read NATS-Bench topology-search-space (``tss``) files into tidy tables.

Two layouts are read, both through the ``nats_bench`` package (``nats_bench.create(path, 'tss', ...)``):

* a folder -- ``NATS-tss-v1_0-3ffb9-simple`` (or ``-full``) -- holding ``meta.pickle.pbz2`` (the
  architecture strings) and one ``<index>.pickle.pbz2`` per architecture (named ``000123`` or
  ``123``), read with ``fast_mode=True`` one architecture at a time (memory stays small);
* the single archive ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (a bz2-compressed pickle of
  ``{meta_archs, arch2infos, evaluated_indexes}``), read with ``fast_mode=False``.

Results are the 200-epoch ones (``hp='200'``), with the same test splits, trial numbering and
seed-mean table as the official NAS-Bench-201 reader (:mod:`.official`); ``cifar10-valid`` is never read.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Iterator

from ..errors import MissingFileError
from .official import (HP, SharedDict, check_archive_dict, check_topology_archs, require_package,
                       tables_from_arch_results)
from .table import DOWNLOAD_HINT, TidyTables

META_FILE = "meta.pickle.pbz2"
"""The file that marks a NATS-Bench per-architecture folder (it holds ``meta_archs``)."""

PICKLE_EXT = ".pickle.pbz2"

_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError,
                                                 TypeError, AttributeError, ImportError, AssertionError, IndexError)
"""What ``nats_bench`` / ``bz2`` / ``pickle`` raise on a file that is not a NATS-Bench archive."""


def is_nats_folder(path: str | Path) -> bool:
    """Whether ``path`` is a NATS-Bench per-architecture folder (it holds ``meta.pickle.pbz2``)."""
    return (Path(path) / META_FILE).is_file()


def read_nats(path: str | Path, *, progress: bool = True) -> TidyTables:
    """Per-trial and seed-mean 200-epoch test accuracies (%) from a NATS-Bench topology file or folder.

    ``path`` is the ``NATS-tss-v1_0-3ffb9-simple`` (or ``-full``) folder or the single
    ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` archive. Returns tidy tables for ``cifar10`` (split
    ``ori-test``), ``cifar100`` and ``ImageNet16-120`` (split ``x-test``), one row per training seed,
    plus the seed-mean table; higher is better. Raises :class:`MissingFileError` if the path is missing
    or not a NATS-Bench topology archive, and :class:`~.official.MissingPackageError` if ``nats_bench``
    is not installed.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingFileError(f"NATS-Bench topology file or folder {path} does not exist (expected the "
                               f"NATS-tss-v1_0-3ffb9-simple folder or NATS-tss-v1_0-3ffb9.pickle.pbz2). "
                               f"{DOWNLOAD_HINT}")
    nats_bench = require_package("nats_bench", "nats_bench", "NATS-Bench files")
    fast_mode = path.is_dir()
    if fast_mode:
        if not is_nats_folder(path):
            raise MissingFileError(f"{path} is not a NATS-Bench topology folder: it has no {META_FILE} (expected "
                                   f"the unpacked NATS-tss-v1_0-3ffb9-simple folder: {META_FILE} plus one "
                                   f"<index>{PICKLE_EXT} per architecture). {DOWNLOAD_HINT}")
        meta: Any = _pickle_load(nats_bench, path / META_FILE)
        if not isinstance(meta, dict) or "meta_archs" not in meta:
            raise MissingFileError(f"{path / META_FILE} is not a NATS-Bench meta file: expected a dict with "
                                   f"'meta_archs'. {DOWNLOAD_HINT}")
        check_topology_archs(meta["meta_archs"], path, "NATS-Bench topology folder")
        source: Any = str(path)
    else:
        data = _pickle_load(nats_bench, path)
        check_archive_dict(data, path, "NATS-Bench topology archive")
        source = SharedDict(data)  # hand the loaded dict over: decompressed once, not deep-copied
    try:
        api = nats_bench.create(source, "tss", fast_mode=fast_mode, verbose=False)
    except _READ_ERRORS as exc:
        raise MissingFileError(f"nats_bench could not read {path} as a NATS-Bench topology archive "
                               f"({type(exc).__name__}: {exc}). {DOWNLOAD_HINT}") from exc

    def records() -> Iterator[tuple[int, str, Any]]:
        for index in range(len(api)):
            if fast_mode:
                _load_one(api, path, index)
            hp2results = api.arch2infos_dict.get(index)
            if hp2results is None:  # not evaluated in this archive
                continue
            if HP not in hp2results:
                raise MissingFileError(f"{path}: architecture {index} has no 200-epoch results (hp keys "
                                       f"{sorted(hp2results)}, need {HP!r}). {DOWNLOAD_HINT}")
            yield index, api.meta_archs[index], hp2results[HP]
            if fast_mode:  # forget it again: the -full folder also holds the trained weights
                del api.arch2infos_dict[index]
                api.evaluated_indexes.discard(index)

    return tables_from_arch_results(records(), total=len(api), source=str(path), desc="NATS-Bench tss (hp=200)",
                                    progress=progress)


def _load_one(api: Any, folder: Path, index: int) -> None:
    """Load architecture ``index`` from its ``<index>.pickle.pbz2`` file in ``folder`` into ``api``."""
    try:
        api.reload(str(folder), index)
    except _READ_ERRORS as exc:
        raise MissingFileError(f"NATS-Bench folder {folder}: cannot read the results of architecture {index} "
                               f"(expected {index:06d}{PICKLE_EXT} or {index}{PICKLE_EXT}; "
                               f"{type(exc).__name__}: {exc}). Is the folder completely unpacked? "
                               f"{DOWNLOAD_HINT}") from exc


def _pickle_load(nats_bench: Any, path: Path) -> Any:
    """Load one bz2-compressed pickle with ``nats_bench``'s loader, as a clear error if it is not one."""
    try:
        return nats_bench.pickle_load(str(path))
    except _READ_ERRORS as exc:
        raise MissingFileError(f"cannot read {path} as a NATS-Bench file (a bz2-compressed pickle; "
                               f"{type(exc).__name__}: {exc}). Expected the NATS-tss-v1_0-3ffb9-simple folder or "
                               f"NATS-tss-v1_0-3ffb9.pickle.pbz2. {DOWNLOAD_HINT}") from exc

