"""Read the official NAS-Bench-201 archive (``NAS-Bench-201-v1_*.pth``) into tidy tables.

The archive is read through the ``nas-bench-201`` package (module ``nas_201_api``), always with the
200-epoch results (``hp='200'``, the archive's ``full`` entry), never the package's 12-epoch
default. Test accuracy is the metric ``get_more_info`` reports as ``test-accuracy``:

* ``cifar10`` (trained on train+valid): split ``ori-test`` (the CIFAR-10 test set);
* ``cifar100`` and ``ImageNet16-120``: split ``x-test`` (the held-out half of the original test set).

``cifar10-valid`` (trained on the train split only) is a different dataset and is never read.
Each training run (seed) becomes one row; ``trial`` numbers the seeds 0, 1, 2 in increasing seed
order and the seed itself is kept in a ``seed`` column (not written by :meth:`TidyTables.write`).

The helpers here (:func:`tables_from_arch_results`, :func:`require_package`) are shared with
:mod:`.nats`, whose ``ArchResults`` / ``ResultsCount`` classes have the same interface.
"""
from __future__ import annotations

import importlib
import math
import pickle
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Iterator

import pandas as pd

from ..errors import MissingFileError, ZcptError
from .table import DATASETS, DOWNLOAD_HINT, TRIAL_COLUMNS, TidyTables

HP: str = "200"
"""The hyper-parameter key of the 200-epoch results (the paper's numbers)."""

FULL_EPOCHS: int = 200
"""Number of training epochs every ``hp='200'`` result must have."""

TEST_SPLITS: dict[str, str] = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
"""Metric split that holds the test accuracy of each dataset (as in ``get_more_info``)."""

OFFICIAL_KEYS: tuple[str, ...] = ("meta_archs", "arch2infos", "evaluated_indexes")
"""Top-level keys of an official NAS-Bench-201 archive (and of a single-file NATS-Bench archive)."""


class MissingPackageError(ZcptError, ImportError):
    """An optional package needed to read a benchmark file is not installed."""


def require_package(module: str, pip_name: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingPackageError` saying which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackageError(
            f"reading {purpose} needs the Python package {pip_name!r} (module {module!r}), which is not "
            f"installed ({exc}). Install it with `pip install {pip_name}`, or convert the file on a machine "
            f"that has it (`zcpt bench convert PATH --out DIR`) and use the tidy tables. {DOWNLOAD_HINT}") from exc


def read_official(path: str | Path, *, progress: bool = True) -> TidyTables:
    """Per-trial and seed-mean 200-epoch test accuracies (%) from an official NAS-Bench-201 ``.pth``.

    ``path`` is ``NAS-Bench-201-v1_0-e61699.pth`` or ``NAS-Bench-201-v1_1-096897.pth``. Returns tidy
    tables for ``cifar10`` (split ``ori-test``), ``cifar100`` and ``ImageNet16-120`` (split ``x-test``),
    one row per training seed, plus the seed-mean table; accuracies are in percent, higher is better.
    Raises :class:`MissingFileError` if the file is missing or is not a NAS-Bench-201 archive, and
    :class:`MissingPackageError` if ``nas-bench-201`` is not installed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingFileError(f"official NAS-Bench-201 archive {path} does not exist or is not a file "
                               f"(expected NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth). "
                               f"{DOWNLOAD_HINT}")
    nas_201_api = require_package("nas_201_api", "nas-bench-201", "the official NAS-Bench-201 .pth")
    data = _load_pth(path)
    check_archive_dict(data, path, "official NAS-Bench-201 .pth")
    first = next(iter(data["arch2infos"].values()), None)
    if not isinstance(first, dict) or "full" not in first:
        keys = sorted(first) if isinstance(first, dict) else type(first).__name__
        raise MissingFileError(f"{path} is not an official NAS-Bench-201 archive: its per-architecture entries "
                               f"have {keys} instead of the 'full' (200-epoch) and 'less' (12-epoch) results. "
                               f"{DOWNLOAD_HINT}")
    try:
        api = nas_201_api.NASBench201API(SharedDict(data), verbose=False)
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MissingFileError(f"nas_201_api could not read {path} as a NAS-Bench-201 archive "
                               f"({type(exc).__name__}: {exc}). {DOWNLOAD_HINT}") from exc

    def records() -> Iterator[tuple[int, str, Any]]:
        for index in range(len(api)):
            hp2results = api.arch2infos_dict.get(index)
            if hp2results is None:  # not evaluated in this archive version
                continue
            if HP not in hp2results:
                raise MissingFileError(f"{path}: architecture {index} has no 200-epoch results (hp keys "
                                       f"{sorted(hp2results)}, need {HP!r}). {DOWNLOAD_HINT}")
            yield index, api.meta_archs[index], hp2results[HP]

    return tables_from_arch_results(records(), total=len(api), source=str(path),
                                    desc="NAS-Bench-201 (hp=200)", progress=progress)


def check_archive_dict(data: object, path: Path, kind: str) -> None:
    """Raise :class:`MissingFileError` unless ``data`` is a benchmark dict with :data:`OFFICIAL_KEYS`."""
    if not isinstance(data, dict):
        raise MissingFileError(f"{path} is not a valid {kind}: it holds a {type(data).__name__}, expected a dict with "
                               f"keys {', '.join(OFFICIAL_KEYS)}. {DOWNLOAD_HINT}")
    missing = [k for k in OFFICIAL_KEYS if k not in data]
    if missing:
        raise MissingFileError(f"{path} is not a valid {kind}: missing keys {missing} "
                               f"(has {sorted(map(str, data))[:10]}; expected {', '.join(OFFICIAL_KEYS)}). "
                               f"{DOWNLOAD_HINT}")
    check_topology_archs(data["meta_archs"], path, kind)


def check_topology_archs(meta_archs: object, path: Path, kind: str) -> None:
    """Raise :class:`MissingFileError` unless ``meta_archs`` is a non-empty list of NAS-Bench-201 arch strings.

    This tells the topology space apart from NATS-Bench's size space (``'64:64:64:64:64'``).
    """
    if not isinstance(meta_archs, (list, tuple)) or not meta_archs or not str(meta_archs[0]).startswith("|"):
        first = meta_archs[0] if isinstance(meta_archs, (list, tuple)) and meta_archs else meta_archs
        raise MissingFileError(f"{path} is not a valid {kind} of the NAS-Bench-201 topology space: its first "
                               f"architecture is {first!r}, expected an arch string like "
                               f"'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' (NATS-Bench's size space, NATS-sss, is not "
                               f"supported). {DOWNLOAD_HINT}")


def tables_from_arch_results(records: Iterable[tuple[int, str, Any]], *, total: int, source: str,
                             desc: str, progress: bool = True) -> TidyTables:
    """Tidy tables from ``(index, arch_str, ArchResults)`` triples of 200-epoch results.

    ``ArchResults`` is the class of ``nas_201_api`` or ``nats_bench`` (same interface). For each of
    ``cifar10`` / ``cifar100`` / ``ImageNet16-120`` present, every seed gives one row with the final-epoch
    accuracy on the split in :data:`TEST_SPLITS`; the seed-mean table holds the mean over seeds (NaN
    where an architecture has no result on a dataset). Shows a tqdm progress bar unless ``progress``
    is false.
    """
    from tqdm import tqdm

    rows: dict[str, list[tuple[int, str, int, float, int]]] = {d: [] for d in DATASETS}
    means: list[dict[str, Any]] = []
    for index, arch_str, arch_results in tqdm(records, total=total, desc=desc, unit="arch", disable=not progress,
                                              dynamic_ncols=True):
        mean_row: dict[str, Any] = {"index": int(index), "arch_str": str(arch_str)}
        names = set(arch_results.get_dataset_names())
        for dataset, split in TEST_SPLITS.items():
            if dataset not in names:
                mean_row[dataset] = math.nan
                continue
            accs = []
            for trial, seed in enumerate(sorted(arch_results.get_dataset_seeds(dataset))):
                acc = _final_test_accuracy(arch_results, dataset, split, seed, index, source)
                rows[dataset].append((int(index), str(arch_str), trial, acc, int(seed)))
                accs.append(acc)
            mean_row[dataset] = sum(accs) / len(accs) if accs else math.nan
        means.append(mean_row)
    trials = {d: pd.DataFrame(r, columns=TRIAL_COLUMNS + ["seed"]).sort_values(["index", "trial"], ignore_index=True)
              for d, r in rows.items() if r}
    if not trials:
        raise MissingFileError(f"{source} holds no 200-epoch results for any of {', '.join(DATASETS)} "
                               f"(read {len(means)} architectures). {DOWNLOAD_HINT}")
    mean_df = pd.DataFrame(means, columns=["index", "arch_str", *DATASETS])
    mean_df = mean_df[["index", "arch_str", *[d for d in DATASETS if d in trials]]]
    return TidyTables(trials=trials, means=mean_df.sort_values("index", ignore_index=True))


def _final_test_accuracy(arch_results: Any, dataset: str, split: str, seed: int, index: int, source: str) -> float:
    """Final-epoch accuracy on ``split`` of one 200-epoch training run (error if it is not 200 epochs)."""
    result = arch_results.query(dataset, seed)
    epochs = result.get_total_epoch()
    if epochs != FULL_EPOCHS:
        raise MissingFileError(f"{source}: architecture {index}, {dataset}, seed {seed} was trained for {epochs} "
                               f"epochs under hp={HP!r}, expected {FULL_EPOCHS}; the file is not a NAS-Bench-201 "
                               f"/ NATS-Bench archive this reader understands. {DOWNLOAD_HINT}")
    try:
        return float(result.get_eval(split)["accuracy"])
    except (KeyError, ValueError) as exc:
        raise MissingFileError(f"{source}: architecture {index}, {dataset}, seed {seed} has no final {split!r} "
                               f"accuracy (evaluated on {result.get_eval_set()}; {dataset} needs {split!r}). "
                               f"{DOWNLOAD_HINT}") from exc


class SharedDict(dict):  # type: ignore[type-arg]
    """A dict that deep-copies as itself.

    ``NASBench201API`` and ``NATStopology`` deep-copy a dict argument; the v1_1 archive takes several GB in memory, so
    the readers hand them this wrapper instead (the APIs only read it, as do the readers).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> "SharedDict":
        return self


def _load_pth(path: Path) -> Any:
    """``torch.load`` the archive: safely first, then -- only for types outside torch's allowlist -- fully.

    The official archives predate ``weights_only`` loading and may pickle plain Python/NumPy
    objects; they are loaded in full as ``nas_201_api`` itself does (only load files from the
    official download). Files that are not torch archives at all give :class:`MissingFileError`.
    """
    import torch

    def unreadable(exc: BaseException) -> MissingFileError:
        return MissingFileError(f"cannot read {path} as an official NAS-Bench-201 archive (torch.load failed: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
                                f"Expected NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth. "
                                f"{DOWNLOAD_HINT}")

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc) and "Unsupported class" not in str(exc):
            raise unreadable(exc) from exc
    except Exception as exc:  # torch raises KeyError/RuntimeError/EOFError/... on non-archives
        raise unreadable(exc) from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise unreadable(exc) from exc
