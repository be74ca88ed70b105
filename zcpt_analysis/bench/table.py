"""The tidy NAS-Bench-201 table format that every benchmark lookup goes through.

A benchmark folder holds

* ``<dataset>_test_trials.csv`` -- columns ``index, arch_str, trial, test_accuracy``: test accuracy
  (%) after 200 epochs, one row per training trial (any of the three datasets may be present);
* ``test_accuracy_mean.csv`` -- columns ``index, arch_str, cifar10, cifar100, ImageNet16-120``:
  seed-mean test accuracy (%) after 200 epochs.

``index`` is the official NAS-Bench-201 / NATS-Bench topology index. ``zcpt bench convert`` writes
this format from the official ``.pth`` and NATS-Bench files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DamagedFileError, MissingFileError, UnknownNameError
from ..files import atomic_write_text

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
_ALIASES = {d.lower(): d for d in DATASETS} | {"imagenet16": "ImageNet16-120", "imagenet": "ImageNet16-120",
                                                "imagenet-16": "ImageNet16-120", "imagenet16-120": "ImageNet16-120",
                                                "c10": "cifar10", "c100": "cifar100"}
TRIAL_COLUMNS = ["index", "arch_str", "trial", "test_accuracy"]
MEAN_FILE = "test_accuracy_mean.csv"
NUM_ARCHS = 15625
"""Architectures of NAS-Bench-201 (5 ops on 6 edges); official indices run 0..15624."""
_OPS = "(?:none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)"
ARCH_PATTERN = rf"\|{_OPS}~0\|\+\|{_OPS}~0\|{_OPS}~1\|\+\|{_OPS}~0\|{_OPS}~1\|{_OPS}~2\|"
"""An official NAS-Bench-201 architecture string."""

DOWNLOAD_HINT = (
    "Get NAS-Bench-201 results either as the official NAS-Bench-201-v1_1-096897.pth "
    "(https://github.com/D-X-Y/NAS-Bench-201) or as the NATS-Bench topology file NATS-tss-v1_0-3ffb9-simple "
    "(https://github.com/D-X-Y/NATS-Bench), then run `zcpt bench convert PATH --out DIR` once and use "
    "`--bench DIR` (or set ZCPT_BENCH=DIR). In this project the converted tables are in ../shared/data/nb201/.")


def canonical_dataset(name: str) -> str:
    """``cifar10`` / ``cifar100`` / ``ImageNet16-120`` from a name or common alias."""
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key == "cifar10-valid":
        error = UnknownNameError("benchmark dataset", name, DATASETS)
        error.args = (f"{error.args[0]} (cifar10-valid is a different NAS-Bench-201 split, trained on train only; "
                      "the paper reports 'cifar10')",)
        raise error
    raise UnknownNameError("benchmark dataset", name, DATASETS)


def trials_file(dataset: str) -> str:
    return f"{canonical_dataset(dataset)}_test_trials.csv"


@dataclass
class TidyTables:
    """In-memory tidy tables: per-trial tables by dataset and the seed-mean table."""

    trials: dict[str, pd.DataFrame] = field(default_factory=dict)
    means: pd.DataFrame | None = None

    def write(self, folder: str | Path) -> list[Path]:
        """Write the tables into ``folder`` (atomically, file by file); returns the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for dataset, df in self.trials.items():
            path = folder / trials_file(dataset)
            atomic_write_text(path, df[TRIAL_COLUMNS].to_csv(index=False))
            written.append(path)
        if self.means is not None:
            path = folder / MEAN_FILE
            cols = ["index", "arch_str"] + [d for d in DATASETS if d in self.means.columns]
            atomic_write_text(path, self.means[cols].to_csv(index=False))
            written.append(path)
        return written


def read_tidy_folder(folder: str | Path) -> TidyTables:
    """Read every tidy table present in ``folder``; error if there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"NAS-Bench-201 table folder {folder} does not exist. {DOWNLOAD_HINT}")
    tables = TidyTables()
    for dataset in DATASETS:
        path = folder / trials_file(dataset)
        if path.exists():
            tables.trials[dataset] = _read_table(path, TRIAL_COLUMNS, numeric=["index", "trial", "test_accuracy"])
    mean_path = folder / MEAN_FILE
    if mean_path.exists():
        df = _read_table(mean_path, ["index", "arch_str"], numeric=["index"])
        _check_numeric(df, [d for d in DATASETS if d in df.columns], mean_path, allow_missing=True)
        tables.means = df
    if not tables.trials and tables.means is None:
        raise MissingFileError(f"no NAS-Bench-201 tables ({MEAN_FILE} or <dataset>_test_trials.csv) in {folder}. "
                               f"{DOWNLOAD_HINT}")
    return tables


_REBUILD = "Re-create the folder with `zcpt bench convert SOURCE --out DIR`."


def _read_table(path: Path, required: list[str], numeric: list[str]) -> pd.DataFrame:
    """One tidy CSV table; a file that is not one (binary, cut short, wrong columns or values)
    raises :class:`DamagedFileError` naming it."""
    if path.is_dir():
        raise DamagedFileError(f"{path} is a folder, not a CSV table. {_REBUILD}")
    try:
        df = pd.read_csv(path)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DamagedFileError(f"{path} is damaged (not a readable CSV table: {type(exc).__name__}: "
                               f"{(str(exc).splitlines() or [''])[0]}). {_REBUILD}") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DamagedFileError(f"{path} is not a tidy NAS-Bench-201 table: missing columns {missing} "
                               f"(has {list(df.columns)[:8]}). {_REBUILD}")
    _check_numeric(df, numeric, path)
    return df


def _check_numeric(df: pd.DataFrame, columns: list[str], path: Path, allow_missing: bool = False) -> None:
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c]) or (not allow_missing and df[c].isna().any())]
    if bad or df.empty:
        raise DamagedFileError(f"{path} is damaged: " + (f"column(s) {bad} hold missing or non-numeric values"
                                                         if bad else "it has no rows") + f". {_REBUILD}")


def validate_tables(tables: TidyTables, source: str, complete: bool = True) -> None:
    """Check what was loaded, once, before any query: integer indices in 0..15624, one row per
    (index, trial) and per index, well-formed architecture strings, one architecture per index and
    one index per architecture across the tables, accuracies in [0, 100] and -- ``complete`` --
    every dataset's table covering all 15,625 architectures (a cut table would answer with wrong
    ranks). A :class:`DamagedFileError` names ``source``, the table and what is wrong."""
    parts = [(f"{trials_file(d)}", df, ["test_accuracy"], ["index", "trial"], d) for d, df in tables.trials.items()]
    if tables.means is not None:
        parts.append((MEAN_FILE, tables.means, [d for d in DATASETS if d in tables.means.columns], ["index"], None))
    arch_of: dict[int, tuple[str, str]] = {}
    for name, df, accuracy_columns, key, dataset in parts:
        where = f"the NAS-Bench-201 table {name} of {source}"
        index = df["index"].to_numpy()
        whole = pd.api.types.is_integer_dtype(df["index"]) or bool((index == index.round()).all())
        if not whole or index.min() < 0 or index.max() >= NUM_ARCHS:
            wrong = df["index"][(index < 0) | (index >= NUM_ARCHS) | (index != index.round())]
            raise DamagedFileError(f"{where}: architecture indices must be integers in 0..{NUM_ARCHS - 1}, found "
                                   f"{_example(wrong)}. {_REBUILD}")
        twice = df.duplicated(key)
        if twice.any():
            raise DamagedFileError(f"{where}: {int(twice.sum())} repeated row(s) of the same {' and '.join(key)} "
                                   f"(first: index {int(df['index'][twice].iloc[0])}). {_REBUILD}")
        malformed = ~df["arch_str"].astype(str).str.fullmatch(ARCH_PATTERN)
        if malformed.any():
            raise DamagedFileError(f"{where}: {int(malformed.sum())} malformed architecture string(s) (first: "
                                   f"{str(df['arch_str'][malformed].iloc[0])[:80]!r}); valid: "
                                   "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with the 5 NAS-Bench-201 ops. " + _REBUILD)
        for column in accuracy_columns:
            values = df[column].dropna()
            bad = values[(values < 0) | (values > 100)]
            if len(bad):
                raise DamagedFileError(f"{where}: {column} accuracies must be percentages in [0, 100], found "
                                       f"{_example(bad)}. {_REBUILD}")
        pairs = df[["index", "arch_str"]].drop_duplicates()
        for column, other in (("index", "arch_str"), ("arch_str", "index")):
            twice = pairs[column].duplicated(keep=False)
            if twice.any():
                first = pairs[column][twice].iloc[0]
                others = sorted(map(str, pairs.loc[pairs[column] == first, other]))[:3]
                raise DamagedFileError(f"{where}: {column} {first} has {len(others)} different {other} values ("
                                       f"{', '.join(others)}); each architecture has one index. {_REBUILD}")
        for i, arch in zip(pairs["index"].astype(int), pairs["arch_str"]):
            seen, seen_in = arch_of.setdefault(i, (arch, name))
            if seen != arch:
                raise DamagedFileError(f"the NAS-Bench-201 tables of {source} disagree: index {i} is {arch} in {name} "
                                       f"but {seen} in {seen_in}. {_REBUILD}")
        if complete:
            for column in accuracy_columns if dataset is None else [dataset]:
                covered = df.loc[df[column].notna(), "index"].nunique() if dataset is None else df["index"].nunique()
                if covered != NUM_ARCHS:
                    raise DamagedFileError(f"{where} covers {covered:,} of the {NUM_ARCHS:,} architectures for "
                                           f"{column}: ranks and the best architecture would be wrong; use the whole "
                                           f"table. {_REBUILD}")


def _example(values: pd.Series, count: int = 3) -> str:
    shown = [repr(v.item() if hasattr(v, "item") else v) for v in values.iloc[:count]]
    return ", ".join(shown) + (f" and {len(values) - count} more" if len(values) > count else "")
