"""What every table of :mod:`zcpt_analysis.experiments` shares: the notebook preamble, records
collected from the store (or "not yet computed" with the command that computes them), and the
measured-vs-paper formatting. Paper numbers come from :mod:`zcpt_analysis.paper` only and appear
only in columns labelled "paper"."""
from __future__ import annotations

import dataclasses
import json
import math
import platform
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import pandas as pd

from .. import paper
from ..errors import UnknownNameError, ZcptError
from ..paths import display, resolve
from ..runs.records import Record, error_statistics
from ..runs.specs import RunSpec
from ..runs.store import ResultStore

PRESETS: tuple[str, ...] = ("smoke", "cpu", "paper")
"""smoke: every code path in minutes (tiny networks); cpu: the paper's network sizes with budgets a
2-core CPU finishes; paper: the paper's configuration (GPU). See :mod:`.presets`."""
NOT_COMPUTED = "not yet computed"
NEEDS_GPU = "needs a GPU (it trains a supernet, which the cpu preset leaves out)"
NOT_TRAINED = "not trained"
NOT_IN_PAPER = "not in the paper"
DATASET_LABELS: dict[str, str] = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "ImageNet-16",
                                  "svhn": "SVHN"}
PAPER_RESULTS_DIR = "runs/paper"
"""Where the paper preset reads and writes records when no ``results_dir`` is given (relative to
the working directory); the commands it prints for missing results write there."""
PRESET_RESULTS_DIRS: dict[str, str] = {"smoke": "runs/smoke", "cpu": "runs/cpu", "paper": PAPER_RESULTS_DIR}
"""The results store of each preset when none is given: ``zcpt reproduce`` writes there and the
cpu / paper notebooks read there (smoke notebooks compute in memory unless given one)."""


# ============================================================================= basics
def check_preset(preset: str) -> str:
    """``preset`` if it is one of :data:`PRESETS` (clear error otherwise)."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    return preset


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a report depends on (``"-"`` where not installed)."""
    from importlib import metadata

    from .. import __version__

    out = {"zcpt_analysis": __version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "pandas", "scipy", "plotly", "papermill", "nbconvert", "ipywidgets"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def setup(preset: str, threads: Optional[int] = None) -> dict[str, Any]:
    """Notebook preamble: check ``preset``, limit torch to ``threads`` intra-op threads (smoke
    default: 1, since two threads thrash on a shared 2-core machine), widen pandas output. Figures
    are shown with :func:`zcpt_analysis.viz.show` (JupyterLab and the offline HTML reports). Returns
    the preset, threads and versions."""
    import torch

    check_preset(preset)
    if threads is None and preset == "smoke":
        threads = 1
    if threads:
        torch.set_num_threads(int(threads))
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", None)
    return {"preset": preset, "torch_threads": torch.get_num_threads(), **versions()}


def data_note(preset: str, data_root: Optional[str]) -> str:
    """A Markdown note on the images a notebook uses (the paper preset without ``data_root`` falls
    back on the shared 400-image CIFAR-10 sample, which the paper did not use)."""
    check_preset(preset)
    if data_root:
        return f"Images: the full dataset under `{data_root}`."
    if preset == "paper":
        return ("**Images: no `data_root` given, so the shared 400-image CIFAR-10 sample is used** (the printed "
                "commands too); pass `-p data_root=/path/to/cifar10` for the full dataset the paper used.")
    if preset == "cpu":
        return ("Images: the shared real CIFAR-10 sample (400 training images; the paper drew its minibatches from "
                "the full CIFAR-10: pass `-p data_root=/path/to/cifar10` for that).")
    return "Images: the shared real CIFAR-10 sample (400 training images)."


def default_results_dir(preset: str, results_dir: str | Path | None = None) -> Optional[Path]:
    """The results store of a notebook: ``results_dir`` if given (relative to the working
    directory); else none for the smoke preset (results are computed in memory) and the preset's
    :data:`PRESET_RESULTS_DIRS` entry for the others (``runs/cpu``, ``runs/paper``)."""
    check_preset(preset)
    if results_dir is not None and str(results_dir) != "":
        return resolve(results_dir)
    return resolve(PRESET_RESULTS_DIRS[preset]) if preset != "smoke" else None


def store_at(results_dir: str | Path | ResultStore | None) -> Optional[ResultStore]:
    """The :class:`ResultStore` of ``results_dir`` (None stays None: compute in memory)."""
    if results_dir is None or isinstance(results_dir, ResultStore):
        return results_dir
    return None if str(results_dir) == "" else ResultStore(results_dir)


def _setting_text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def settings_table(settings: Any) -> pd.DataFrame:
    """A two-column table (setting, value) of a settings dataclass, for the notebook's header; a
    nested dataclass (e.g. the DARTS training config) gets one row per field (``darts.epochs``),
    so no value is a long repr."""
    rows = []

    def add(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                add(value, f"{prefix}{f.name}.")
            else:
                rows.append({"setting": prefix + f.name, "value": _setting_text(value)})

    add(settings, "")
    return pd.DataFrame(rows)


def fmt(mean: Optional[float], std: Optional[float] = None, decimals: int = 2) -> str:
    """``"5.97 ± 0.17"`` (or ``"5.97"``); :data:`NOT_COMPUTED` for a missing / NaN mean."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return NOT_COMPUTED
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def bench(bench: Any = None) -> Any:
    """``bench``, or the default NAS-Bench-201 benchmark."""
    from ..bench import load_benchmark

    return bench if bench is not None else load_benchmark()


# ============================================================================= pending results
@dataclass(frozen=True)
class Pending:
    """A result a notebook could not produce in its preset: what it is, why, and the exact
    command that computes it (run from the working directory)."""

    what: str
    command: str
    reason: str = NOT_COMPUTED

    def to_markdown(self) -> str:
        return f"- **{self.what}**: {self.reason}. Compute it with\n\n  ```\n  {self.command}\n  ```"


def pending_markdown(pending: Sequence[Pending], title: str = "Not yet computed") -> str:
    """Markdown listing ``pending`` results and their commands (a one-liner when nothing is pending)."""
    if not pending:
        return "Everything in this notebook was computed (or read from result records) for this preset."
    return (f"**{title}** (the tables show \"{NOT_COMPUTED}\" or \"{NOT_TRAINED}\" for these; run the commands, "
            "then run this notebook again with the same `results_dir`):\n\n"
            + "\n".join(p.to_markdown() for p in pending))


def show_pending(pending: Sequence[Pending], title: str = "Not yet computed") -> None:
    """Display :func:`pending_markdown` in a notebook."""
    from IPython.display import Markdown, display as show

    show(Markdown(pending_markdown(pending, title)))


MULTI_SEED_KINDS: frozenset[str] = frozenset({"zcpt-search", "naswot", "darts", "darts-pt"})
"""Spec kinds whose command takes ``--seeds`` (one run per seed)."""


def _seed_list(seeds: Sequence[int]) -> str:
    """Seeds for a shell command: ``$(seq a b)`` for a long contiguous range, else the list."""
    seeds = list(seeds)
    if len(seeds) > 8 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"$(seq {seeds[0]} {seeds[-1]})"
    return " ".join(str(s) for s in seeds)


def _without_seed(argv: list[str]) -> tuple[list[str], int]:
    if "--seed" in argv:
        i = argv.index("--seed")
        return argv[:i] + argv[i + 2:], int(argv[i + 1])
    return argv, 0


def commands(specs: Sequence[RunSpec], store: Optional[ResultStore]) -> str:
    """The shell command(s) computing ``specs`` into ``store``: specs that differ only in their seed
    share one command (``--seeds``, or a ``for`` loop for commands without it)."""
    out = ["--out", display(store.root) if store is not None else "runs"]
    groups: dict[tuple[str, ...], list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(tuple(_without_seed(spec.to_argv())[0]), []).append(spec)
    lines = []
    for rest, group in groups.items():
        seeds = [_without_seed(s.to_argv())[1] for s in group]
        if len(group) == 1:
            lines.append(shlex.join(group[0].to_argv() + out))
        elif group[0].KIND in MULTI_SEED_KINDS:
            lines.append(shlex.join(list(rest) + out) + f" --seeds {_seed_list(seeds)}")
        else:
            lines.append(f"for s in {' '.join(map(str, seeds))}; do {shlex.join(list(rest) + out)} --seed \"$s\"; done")
    return "\n  ".join(lines)


@dataclass
class Collected:
    """Records of a list of specs: found in the store or computed, and what is still missing."""

    records: dict[int, Record] = field(default_factory=dict)  # index in ``specs`` -> record
    missing: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def found(self, specs: Sequence[RunSpec]) -> list[Record]:
        return [self.records[i] for i in range(len(specs)) if i in self.records]


def collect(specs: Sequence[RunSpec], store: Optional[ResultStore], compute: bool, progress: bool = False,
            **resources: Any) -> Collected:
    """For each spec: its complete record from ``store``, else (``compute``) the record computed now
    -- saved into ``store`` when there is one -- else it is missing (with the reason)."""
    out = Collected()
    for i, spec in enumerate(specs):
        record, why = None, NOT_COMPUTED
        if store is not None:
            try:
                record = store.find(spec)
                partial = record is None and store.load(spec) is not None
            except ZcptError as exc:
                record, partial, why = None, False, str(exc)
            if partial:
                why = f"{NOT_COMPUTED} (a partial record is in {display(store.root)}: rerun its command to resume)"
        if record is None and compute:
            record = spec.run(store, progress=progress, **resources)
        if record is None:
            out.missing.append(i)
            out.reasons.append(why)
        else:
            out.records[i] = record
    return out


def pending_for(what: str, specs: Sequence[RunSpec], collected: Collected, store: Optional[ResultStore],
                reason: Optional[str] = None) -> Optional[Pending]:
    """The :class:`Pending` entry of the missing specs of ``collected`` (None if nothing is missing)."""
    if not collected.missing:
        return None
    missing = [specs[i] for i in collected.missing]
    why = reason or "; ".join(dict.fromkeys(collected.reasons))
    if not why.startswith(NOT_COMPUTED) and not reason:
        why = f"{NOT_COMPUTED} ({why})"
    return Pending(what, commands(missing, store), why)


# ============================================================================= measured vs paper
def zcpt_reference(proxy: str, order: str) -> Optional[dict[str, paper.Published]]:
    """The paper's row for a Zero-Cost-PT NB201 configuration (N=10, V=100), if it published one."""
    if proxy == "nwot" and order in paper.TABLE2_ORDERINGS:
        return paper.TABLE2_ORDERINGS[order]
    if order == "random" and proxy in paper.TABLE3_PROXIES:
        return paper.TABLE3_PROXIES[proxy]
    return None


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, paper.Published):
        return value.mean
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def comparison(rows: Sequence[Mapping[str, Any]], measured: str = "measured", paper_key: str = "paper",
               diff: str = "diff") -> pd.DataFrame:
    """A DataFrame of ``rows`` with a ``diff`` column = measured - paper (NaN where either is
    missing or not a number, e.g. "not yet computed").

    ``rows`` are mappings with at least the ``measured`` and ``paper`` keys; a
    :class:`~zcpt_analysis.paper.Published` value contributes its mean to the difference and is
    shown as ``mean ± std``; a string (e.g. "not yet computed") or None gives a NaN difference.
    """
    out = []
    for row in rows:
        if measured not in row or paper_key not in row:
            raise KeyError(f"every comparison row needs {measured!r} and {paper_key!r} keys; got {sorted(row)}")
        r = dict(row)
        r[diff] = _as_float(r[measured]) - _as_float(r[paper_key])
        for key in (measured, paper_key):
            if isinstance(r[key], paper.Published):
                r[key] = str(r[key])
        out.append(r)
    return pd.DataFrame(out)


@dataclass
class Row:
    """One row of a measured-vs-paper test-error table."""

    label: str
    stats: Mapping[str, Mapping[str, float]]  # dataset -> {"mean", "std", "n"} (measured; {} = not computed)
    paper: Optional[Mapping[str, paper.Published]] = None
    extra: dict = field(default_factory=dict)


def error_table(rows: Sequence[Row], datasets: Sequence[str] = paper.NB201_DATASETS,
                label: str = "method") -> pd.DataFrame:
    """Wide table: ``label``, the rows' extra columns, then per dataset ``<D> measured`` (the rows'
    statistics as :func:`~zcpt_analysis.runs.records.error_statistics` computes them: mean ± std
    over runs of the selected architecture's seed-mean test error, the paper's convention; or "not
    yet computed"), ``<D> n`` (runs), ``<D> paper`` (the paper's mean ± std) and ``<D> diff``
    (measured mean - paper mean)."""
    out = []
    for r in rows:
        item: dict[str, Any] = {label: r.label, **r.extra}
        for d in datasets:
            name = DATASET_LABELS.get(d, d)
            s = r.stats.get(d) if r.stats else None
            p = (r.paper or {}).get(d)
            item[f"{name} measured"] = fmt(s["mean"], s["std"]) if s else NOT_COMPUTED
            item[f"{name} n"] = int(s["n"]) if s else 0
            item[f"{name} paper"] = str(p) if p is not None else NOT_IN_PAPER
            item[f"{name} diff"] = round(s["mean"] - p.mean, 2) if s and p is not None else math.nan
        out.append(item)
    return pd.DataFrame(out)


def error_bars(rows: Sequence[Row], datasets: Sequence[str] = paper.NB201_DATASETS) -> pd.DataFrame:
    """:func:`~zcpt_analysis.viz.error_bars_info` rows of ``rows`` (measured and paper per dataset)."""
    from ..viz import error_bars_info

    items = []
    for r in rows:
        for d in datasets:
            group = DATASET_LABELS.get(d, d)
            s = r.stats.get(d) if r.stats else None
            items.append({"label": r.label, "group": group, "source": "measured",
                          "mean": s["mean"] if s else None, "std": s["std"] if s else None})
            p = (r.paper or {}).get(d)
            if p is not None:
                items.append({"label": r.label, "group": group, "source": "paper", "mean": p.mean, "std": p.std})
    return error_bars_info(items)


@dataclass
class TableResult:
    """What a table notebook shows: the table, bar-chart data, pending work and the raw runs."""

    table: pd.DataFrame
    bars: pd.DataFrame
    pending: list[Pending]
    runs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Runs:
    """The records of one table row (one configuration over several seeds) and what is missing."""

    label: str
    specs: list[RunSpec]
    records: list[Record]
    pending: Optional[Pending] = None

    @property
    def complete(self) -> bool:
        return self.pending is None

    @property
    def seeds_done(self) -> list[int]:
        return [r.spec.seed for r in self.records]  # type: ignore[attr-defined]

    def selections(self) -> list[Any]:
        return [s for r in self.records for s in r.selections()]

    def stats(self) -> dict[str, dict[str, float]]:
        """Test error mean ± std per dataset over the available records."""
        return error_statistics(self.selections())

    def data_sources(self) -> str:
        return ", ".join(sorted({str(getattr(r, "data", {}).get("source", "?")) for r in self.records})) or "-"


def runs_of(label: str, specs: Sequence[RunSpec], store: Optional[ResultStore], compute: bool, progress: bool = False,
            reason: Optional[str] = None, **resources: Any) -> Runs:
    """:func:`collect` for one table row, as :class:`Runs` (with its :class:`Pending`, giving
    ``reason`` -- e.g. :data:`NEEDS_GPU` -- instead of the collected one when set)."""
    found = collect(specs, store, compute, progress, **resources)
    missing_seeds = ", ".join(str(getattr(specs[i], "seed", "?")) for i in found.missing)
    pending = pending_for(f"{label} (seed {missing_seeds})", specs, found, store, reason)
    return Runs(label, list(specs), found.found(specs), pending)


def unique(items: Iterable[RunSpec]) -> list[RunSpec]:
    """``items`` without repeats (same record), in order."""
    seen, out = set(), []
    for spec in items:
        key = (spec.KIND, spec.record_name())
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out
