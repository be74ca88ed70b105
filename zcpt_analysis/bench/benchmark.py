"""Query NAS-Bench-201 test accuracies: per trial, seed-mean, rank and percentile.

Conventions (state them wherever a number is shown):

* accuracies are test accuracies in percent after 200 epochs (``hp='200'``), never the 12-epoch
  results; ``cifar10`` is NAS-Bench-201's train+valid -> test split (not ``cifar10-valid``);
* ``mean`` is the seed-mean: the mean of the per-trial table when the dataset has one, else the
  seed-mean table;
* ``rank`` = 1 + number of architectures with a strictly higher mean (1 = best);
* ``percentile`` = 100 * (number of architectures with a strictly lower mean) / (N - 1), so the
  best architecture is at 100 and the worst at 0.
"""
from __future__ import annotations

import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, computed_field

from ..datadir import data_dir
from ..errors import InvalidArchError, MissingFileError, ZcptError
from ..options import Result, Settings, opt
from ..nb201_arch import Arch, ArchLike, parse_arch
from .table import (DATASETS, DOWNLOAD_HINT, MEAN_FILE, TidyTables, canonical_dataset, read_tidy_folder,
                    trials_file, validate_tables)

BENCH_ENV_VAR = "ZCPT_BENCH"


class BenchResult(Result):
    """NAS-Bench-201 results of one architecture on one dataset (200 epochs, accuracies in %):
    ``mean`` is the seed-mean test accuracy, ``error`` = 100 - ``mean`` (what the paper's tables
    report), ``trial_errors`` the per-training-trial errors. ``dataset`` names the dataset a query
    asked for (not stored: records keep results by dataset)."""

    model_config = ConfigDict(frozen=True)

    index: int = -1
    trials: tuple[float, ...] = ()
    mean: float
    rank: int = 0
    percentile: float = math.nan
    num_archs: int = 0
    dataset: Optional[str] = Field(None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error(self) -> float:
        """Mean test error in % (100 - mean accuracy)."""
        return 100.0 - self.mean

    @computed_field  # type: ignore[prop-decorator]
    @property
    def trial_errors(self) -> tuple[float, ...]:
        return tuple(100.0 - t for t in self.trials)


Benchmark = dict[str, BenchResult]
"""Benchmark results of one architecture by dataset."""


class NB201Benchmark:
    """NAS-Bench-201 results for all architectures, from tidy tables (see :mod:`.table`), checked
    once here (:func:`~.table.validate_tables`; ``complete``: every table must cover all 15,625
    architectures -- tables of a few architectures, for tests, pass ``complete=False``)."""

    def __init__(self, tables: TidyTables, source: str = "<memory>", complete: bool = True):
        validate_tables(tables, source, complete)
        self.source = source
        self._trials = {d: df.copy() for d, df in tables.trials.items()}
        self._means_raw = tables.means
        names = pd.concat([df[["index", "arch_str"]] for df in ([tables.means] if tables.means is not None else [])
                           + list(tables.trials.values())]).drop_duplicates("index")
        self._arch_by_index: dict[int, str] = dict(zip(names["index"].astype(int), names["arch_str"]))
        self._index_by_arch: dict[str, int] = {s: i for i, s in self._arch_by_index.items()}
        self._mean_tables: dict[str, pd.DataFrame] = {}

    # ------------------------------------------------------------------ lookup of names
    @property
    def datasets(self) -> tuple[str, ...]:
        """Datasets with results, in canonical order."""
        have = set(self._trials)
        if self._means_raw is not None:
            have |= {d for d in DATASETS if d in self._means_raw.columns}
        return tuple(d for d in DATASETS if d in have)

    @property
    def num_archs(self) -> int:
        return len(self._arch_by_index)

    def index_of(self, arch: ArchLike) -> int:
        """Official NAS-Bench-201 index of ``arch``."""
        key = parse_arch(arch).to_string()
        if key not in self._index_by_arch:
            raise InvalidArchError(f"architecture {key} is not in the benchmark ({self.source})")
        return self._index_by_arch[key]

    def arch_of(self, index: int) -> Arch:
        """The architecture with official index ``index``."""
        if int(index) not in self._arch_by_index:
            raise InvalidArchError(f"architecture index {index} is out of range: the benchmark's indices are "
                                   f"0..{self.num_archs - 1}")
        return Arch.from_string(self._arch_by_index[int(index)])

    def resolve(self, arch: ArchLike | int) -> Arch:
        """``arch`` as an :class:`Arch`: an official arch string, an index (``int`` or a text such as
        ``"42"``; a negative one is out of range, not a malformed string), or op names / indices."""
        if isinstance(arch, int) and not isinstance(arch, bool):
            return self.arch_of(arch)
        if isinstance(arch, str) and is_index(arch):
            return self.arch_of(int(arch))
        return parse_arch(arch)

    def _dataset(self, dataset: str) -> str:
        name = canonical_dataset(dataset)
        if name not in self.datasets:
            raise ZcptError(f"the benchmark at {self.source} has no results for {name}; it has: "
                            f"{', '.join(self.datasets)}")
        return name

    # ------------------------------------------------------------------ tables
    def trials_table(self, dataset: str) -> pd.DataFrame:
        """Per-trial test accuracies ``index, arch_str, trial, test_accuracy`` (empty if unavailable)."""
        name = self._dataset(dataset)
        if name in self._trials:
            return self._trials[name]
        return pd.DataFrame(columns=["index", "arch_str", "trial", "test_accuracy"])

    def mean_table(self, dataset: str) -> pd.DataFrame:
        """One row per architecture: ``index, arch_str, mean, n_trials, rank, percentile``, by index."""
        name = self._dataset(dataset)
        if name not in self._mean_tables:
            if name in self._trials:
                grouped = self._trials[name].groupby("index")["test_accuracy"]
                df = pd.DataFrame({"mean": grouped.mean(), "n_trials": grouped.size()})
            else:
                raw = self._means_raw.set_index("index")  # type: ignore[union-attr]
                df = pd.DataFrame({"mean": raw[name], "n_trials": 0})
            df = df.sort_index()
            df.insert(0, "arch_str", [self._arch_by_index[int(i)] for i in df.index])
            means = df["mean"].to_numpy()
            order = np.sort(means)
            n = len(means)
            higher = n - np.searchsorted(order, means, side="right")
            lower = np.searchsorted(order, means, side="left")
            df["rank"] = (1 + higher).astype(int)
            df["percentile"] = 100.0 * lower / max(n - 1, 1)
            df.index.name = "index"
            self._mean_tables[name] = df.reset_index()
        return self._mean_tables[name]

    # ------------------------------------------------------------------ queries
    def query(self, arch: ArchLike, dataset: str = "cifar10") -> BenchResult:
        """Test accuracy of ``arch`` on ``dataset``: per trial, seed-mean, rank and percentile."""
        arch = parse_arch(arch)
        name = self._dataset(dataset)
        index = self.index_of(arch)
        row = self.mean_table(name).iloc[self._row_of(name, index)]
        trials: tuple[float, ...] = ()
        if name in self._trials:
            t = self._trials[name]
            trials = tuple(float(v) for v in t.loc[t["index"] == index].sort_values("trial")["test_accuracy"])
        return BenchResult(index=index, trials=trials, mean=float(row["mean"]), rank=int(row["rank"]),
                           percentile=float(row["percentile"]), num_archs=len(self.mean_table(name)), dataset=name)

    def _row_of(self, dataset: str, index: int) -> int:
        table = self.mean_table(dataset)
        pos = int(np.searchsorted(table["index"].to_numpy(), index))
        if pos >= len(table) or int(table["index"].iloc[pos]) != index:
            raise InvalidArchError(f"index {index} has no {dataset} result in the benchmark ({self.source})")
        return pos

    def summary(self, arch: ArchLike, datasets: tuple[str, ...] | None = None) -> Benchmark:
        """``{dataset: BenchResult}`` for ``datasets`` (default: every dataset present)."""
        return {d: self.query(arch, d) for d in (datasets or self.datasets) if canonical_dataset(d) in self.datasets}

    def top(self, dataset: str = "cifar10", k: int = 5) -> pd.DataFrame:
        """The ``k`` best architectures by seed-mean accuracy (ties broken by index)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ZcptError(f"k must be a positive number of architectures, got {k!r}")
        return self.mean_table(dataset).sort_values(["mean", "index"], ascending=[False, True]).head(k).reset_index(
            drop=True)


class BenchField(Settings):
    """Which NAS-Bench-201 results a run looks its architectures up in (where, not what: not part
    of a result's identity)."""

    bench: Optional[str] = opt(None, "--bench", identity=False, metavar="PATH",
                               help="NAS-Bench-201 tables folder, official .pth or NATS-Bench file "
                                    "(default: $ZCPT_BENCH or the shared data's nb201/)")

    def load_bench(self) -> "NB201Benchmark":
        return load_benchmark(self.bench)

    def bench_for_run(self, has_benchmark: bool) -> Optional["NB201Benchmark"]:
        """The benchmark a run looks its result up in, loaded before the run starts: a ``bench`` (or
        ``$ZCPT_BENCH``, ``$ZCPT_DATA``) that cannot be read, or a damaged benchmark, is an error
        now, not after the work; None for a space without a benchmark, or when the default
        benchmark is absent (the record then says why it has no benchmark results)."""
        if not has_benchmark:
            return None
        if self.bench is None and not os.environ.get(BENCH_ENV_VAR):
            folder = data_dir(required=False)  # a $ZCPT_DATA that points nowhere raises here
            if folder is None or not (folder / "nb201").exists():
                return None
        return self.load_bench()


def is_index(text: str) -> bool:
    """Whether ``text`` is an integer (an architecture index, possibly out of range such as ``-1``)."""
    return re.fullmatch(r"\s*[+-]?\d+\s*", str(text)) is not None


def default_bench_path() -> Path:
    """``$ZCPT_BENCH`` if set (it must exist), else ``<data folder>/nb201``."""
    value = os.environ.get(BENCH_ENV_VAR)
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            raise MissingFileError(f"{BENCH_ENV_VAR}={value} does not exist; set it to a NAS-Bench-201 tables "
                                   "folder, official .pth or NATS-Bench file, or unset it to use the shared data's "
                                   "nb201/")
        return path
    folder = data_dir(required=False)
    if folder is None:
        raise MissingFileError(f"no NAS-Bench-201 benchmark configured. {DOWNLOAD_HINT}")
    return folder / "nb201"


def read_tables(path: str | Path) -> TidyTables:
    """Tidy tables from a tidy folder, an official NAS-Bench-201 ``.pth`` or a NATS-Bench file/folder."""
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingFileError(f"NAS-Bench-201 benchmark not found at {path}. {DOWNLOAD_HINT}")
    kind = _benchmark_kind(path)
    if kind == "official":
        from .official import read_official
        return read_official(path)
    if kind == "nats":
        from .nats import read_nats
        return read_nats(path)
    if kind == "tidy":
        return read_tidy_folder(path)
    raise MissingFileError(f"cannot read a NAS-Bench-201 benchmark from {path}: expected a folder of tidy CSV "
                           f"tables, an official NAS-Bench-201 .pth, or a NATS-Bench topology file. {DOWNLOAD_HINT}")


def _benchmark_kind(path: Path) -> str | None:
    """``'official'``, ``'nats'``, ``'tidy'`` or None (unknown), from the layout, name and first bytes.

    Folders: ``meta.pickle.pbz2`` inside -> NATS-Bench; tidy CSV tables inside -> tidy; else a name
    containing ``NATS`` -> NATS-Bench (its reader explains what is missing); else tidy (ditto).
    Files: ``.pth`` -> official; ``.pbz2`` / ``.pickle`` or a ``NATS`` name -> NATS-Bench; otherwise the
    first bytes decide (bz2 -> NATS-Bench, torch zip or pickle -> official).
    """
    if path.is_dir():
        if (path / "meta.pickle.pbz2").is_file():
            return "nats"
        if (path / MEAN_FILE).is_file() or any((path / trials_file(d)).is_file() for d in DATASETS):
            return "tidy"
        return "nats" if "NATS" in path.name.upper() else "tidy"
    if not path.is_file():
        return None
    name = path.name.lower()
    if name.endswith(".pth"):
        return "official"
    if name.endswith((".pbz2", ".pickle")) or "nats" in name:
        return "nats"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:  # unreadable: read_tables reports it
        return None
    if head.startswith(b"BZh"):
        return "nats"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return "official"
    return None


@lru_cache(maxsize=4)
def _load_cached(path: str, complete: bool) -> NB201Benchmark:
    return NB201Benchmark(read_tables(path), source=path, complete=complete)


def load_benchmark(path: str | Path | None = None, complete: bool = True) -> NB201Benchmark:
    """Load (and cache) the benchmark at ``path`` (default: :func:`default_bench_path`), checked
    when loaded (``complete=False`` accepts tables of only some architectures)."""
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ZcptError(f"the benchmark path must be a folder or file path, got {type(path).__name__} {path!r:.80}")
    resolved = Path(path).expanduser() if path is not None else default_bench_path()
    return _load_cached(str(resolved.resolve()), bool(complete))
