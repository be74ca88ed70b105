"""What each notebook computes: presets, result lookup and computation, measured-vs-paper tables.

The notebooks in ``notebooks/`` call these functions and only display what they return (tables,
plotly figures, notes). Every experiment is described by *settings* resolved from a **preset**:

* ``smoke``: CPU, the shared real CIFAR-10 sample, tiny networks (NB201 supernet C=4, N=1; DARTS
  C=1, 3 layers), one seed, N=1, V=1, a few training steps -- it exercises every code path in
  seconds; its numbers say nothing about the paper's.
* ``paper``: the paper's configuration (N=10, V=100, batch 256 / 64, seeds 0-3, C=16 / N=5
  supernets, 100-epoch DARTS supernets, ...), meant for a GPU.

Measured numbers come from running the library, or from result records written earlier by the
CLI (``zcpt search --out DIR``, ``zcpt baseline naswot --out DIR``, ``zcpt darts/darts-pt --out``,
``zcpt scores --cache-dir``, ``zcpt train --out``) in a ``results_dir``, so the ``paper`` preset
reuses GPU runs. A setting's ``compute_missing`` (smoke: True, paper: False) says whether a missing
result is computed on the spot or reported as :class:`Pending` -- "not yet computed" with the exact
command that computes it. Nothing here ever substitutes a paper number for a measured one: paper
numbers (:mod:`zcpt_analysis.paper`) only appear in columns labelled "paper".

Record lookup ignores where and how a run was executed (device, data folder, benchmark path): a
record matches when every setting that determines its result (space, proxy, ordering, N, V,
batch size, seed, dataset, network sizes, options) equals the requested one; the data source each
record used is shown next to its numbers.
"""
from __future__ import annotations

import dataclasses
import json
import math
import platform
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from . import paper
from .datadir import _PROJECT_ROOT
from .errors import UnknownNameError, ZcptError
from .results import atomic_write_json, read_json

PRESETS: tuple[str, ...] = ("smoke", "paper")
NOT_COMPUTED = "not yet computed"
NOT_TRAINED = "not trained"
NOT_IN_PAPER = "not in the paper"

TINY_NB201: dict[str, int] = {"C": 4, "N": 1}
"""Smoke preset: NAS-Bench-201 supernet / standalone networks with 4 channels, 1 cell per stage."""
TINY_DARTS: dict[str, int] = {"C": 1, "layers": 3}
"""Smoke preset: DARTS supernet / validation networks with 1 channel and 3 cells (the minimum that
has both cell types)."""

DATASET_LABELS: dict[str, str] = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "ImageNet-16",
                                  "svhn": "SVHN"}


# ============================================================================= basics
def check_preset(preset: str) -> str:
    """``preset`` if it is ``smoke`` or ``paper`` (clear error otherwise)."""
    if preset not in PRESETS:
        raise UnknownNameError("preset", preset, PRESETS)
    return preset


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a report depends on (``"-"`` where not installed)."""
    from importlib import metadata

    from . import __version__

    out = {"zcpt_analysis": __version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "pandas", "scipy", "plotly", "papermill", "nbconvert", "ipywidgets"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def setup(preset: str, threads: Optional[int] = None, plotly: bool = True) -> dict[str, Any]:
    """Notebook preamble: check ``preset``, limit torch to ``threads`` intra-op threads (smoke
    default: 1, since two threads thrash on a shared 2-core machine), load plotly.js for figures
    shown with :func:`zcpt_analysis.viz.show` (JupyterLab and offline HTML), widen pandas output. Returns the preset, threads and versions."""
    import torch

    check_preset(preset)
    if threads is None and preset == "smoke":
        threads = 1
    if threads:
        torch.set_num_threads(int(threads))
    if plotly:
        from .viz import setup_notebook

        setup_notebook()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", 120)
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
    return "Images: the shared real CIFAR-10 sample (400 training images)."


def resolve_dir(path: str | Path | None) -> Optional[Path]:
    """``path`` as a folder: relative paths are taken from the project root (None stays None)."""
    if path is None or str(path) == "":
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else _PROJECT_ROOT / p


PAPER_RESULTS_DIR = "runs/paper"
"""Where the paper preset looks for result records when no ``results_dir`` is given (relative to
the project root); the commands it prints for missing results write there."""


def default_results_dir(preset: str, results_dir: str | Path | None = None) -> Optional[Path]:
    """The results folder of a notebook: ``results_dir`` if given; else none for the smoke preset
    (results are computed in memory) and :data:`PAPER_RESULTS_DIR` for the paper preset."""
    check_preset(preset)
    if results_dir is not None and str(results_dir) != "":
        return resolve_dir(results_dir)
    return resolve_dir(PAPER_RESULTS_DIR) if preset == "paper" else None


def _show_path(path: Optional[Path], default: str) -> str:
    """A path for a printed command: relative to the project root when inside it."""
    if path is None:
        return default
    try:
        return str(path.resolve().relative_to(_PROJECT_ROOT.resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Pending:
    """A result a notebook could not produce in its preset: what it is, why, and the exact
    command that computes it (run from the project root)."""

    what: str
    command: str
    reason: str = NOT_COMPUTED

    def to_markdown(self) -> str:
        return f"- **{self.what}**: {self.reason}. Compute it with\n\n  ```\n  {self.command}\n  ```"


def pending_markdown(pending: Sequence[Pending], title: str = "Not yet computed") -> str:
    """Markdown listing ``pending`` results and their commands (a one-liner when nothing is pending)."""
    if not pending:
        return "Everything in this notebook was computed (or read from result records) for this preset."
    return (f"**{title}** (the tables show \"{NOT_COMPUTED}\" or \"{NOT_TRAINED}\" for these; run the commands from "
            "the project root, then run this notebook again with the same `results_dir`):\n\n"
            + "\n".join(p.to_markdown() for p in pending))


def show_pending(pending: Sequence[Pending], title: str = "Not yet computed") -> None:
    """Display :func:`pending_markdown` in a notebook."""
    from IPython.display import Markdown, display

    display(Markdown(pending_markdown(pending, title)))


def fmt(mean: Optional[float], std: Optional[float] = None, decimals: int = 2) -> str:
    """``"5.97 ± 0.17"`` (or ``"5.97"``); :data:`NOT_COMPUTED` for a missing / NaN mean."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return NOT_COMPUTED
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def settings_table(settings: Any) -> pd.DataFrame:
    """A two-column table (setting, value) of a settings dataclass, for the notebook's header."""
    rows = [{"setting": f.name, "value": json.dumps(getattr(settings, f.name), default=str)
             if isinstance(getattr(settings, f.name), (dict, list, tuple)) else str(getattr(settings, f.name))}
            for f in dataclasses.fields(settings)]
    return pd.DataFrame(rows)


def _bench(bench: Any = None) -> Any:
    from .bench import load_benchmark

    return bench if bench is not None else load_benchmark()


# ============================================================================= Zero-Cost-PT settings
@dataclass(frozen=True)
class SearchSettings:
    """Zero-Cost-PT settings of a preset (everything of :class:`~zcpt_analysis.search.zcpt.ZcptConfig`
    except the per-row proxy / ordering / seed)."""

    preset: str
    space: str
    N: int
    V: int
    batch_size: int
    seeds: tuple[int, ...]
    dataset: str = "cifar10"
    data_source: str = "auto"
    data_root: Optional[str] = None
    device: str = "auto"
    supernet_options: dict = field(default_factory=dict)
    network_options: dict = field(default_factory=dict)
    compute_missing: bool = False

    def config(self, seed: int, proxy: str = "nwot", order: str = "random", **changes: Any):
        """The :class:`ZcptConfig` of one run (``changes`` override any field, e.g. ``N=100``)."""
        from .search.zcpt import ZcptConfig

        values = dict(space=self.space, proxy=proxy, order=order, N=self.N, V=self.V, batch_size=self.batch_size,
                      seed=int(seed), dataset=self.dataset, data_source=self.data_source, data_root=self.data_root,
                      device=self.device, supernet_options=dict(self.supernet_options),
                      network_options=dict(self.network_options))
        values.update(changes)
        return ZcptConfig(**values)


def search_settings(preset: str, space: str = "nb201", *, N: Optional[int] = None, V: Optional[int] = None,
                    batch_size: Optional[int] = None, seeds: Optional[Sequence[int]] = None, dataset: str = "cifar10",
                    data_source: Optional[str] = None, data_root: Optional[str] = None, device: Optional[str] = None,
                    compute_missing: Optional[bool] = None) -> SearchSettings:
    """Zero-Cost-PT settings of ``preset`` for ``space`` (any argument overrides the preset).

    smoke: N=1, V=1, seed 0, tiny networks (:data:`TINY_NB201` / :data:`TINY_DARTS`), batch 8
    (NB201) / 4 (DARTS), the shared CIFAR-10 sample, CPU, computed on the spot.
    paper: N=10, V=100, seeds 0-3, the paper's network sizes, batch 256 (NB201) / 64 (DARTS),
    data ``auto`` (the full dataset when ``data_root`` is given), read from result records.
    """
    from .spaces import get_space

    check_preset(preset)
    sp = get_space(space)
    nb201 = sp.name == "nb201"
    if preset == "smoke":
        tiny = dict(TINY_NB201 if nb201 else TINY_DARTS)
        base = dict(N=1, V=1, batch_size=8 if nb201 else 4, seeds=(0,), data_source="sample", device="cpu",
                    supernet_options=tiny, network_options=dict(tiny), compute_missing=True)
    else:
        base = dict(N=10, V=100, batch_size=sp.default_batch_size, seeds=(0, 1, 2, 3), data_source="auto",
                    device="auto", supernet_options={}, network_options={}, compute_missing=False)
    for key, value in dict(N=N, V=V, batch_size=batch_size, data_source=data_source, device=device,
                           compute_missing=compute_missing).items():
        if value is not None:
            base[key] = value
    if seeds is not None:
        base["seeds"] = tuple(int(s) for s in seeds)
    if not base["seeds"]:
        raise ZcptError("at least one seed is needed")
    return SearchSettings(preset=preset, space=sp.name, dataset=dataset, data_root=data_root, **base)


MATCH_FIELDS: tuple[str, ...] = ("space", "proxy", "order", "N", "V", "batch_size", "seed", "dataset", "compat",
                                 "proxy_options", "supernet_options", "network_options", "topology",
                                 "published_once_order", "train_portion")
"""Fields of a Zero-Cost-PT config that determine its result (device, data folder and benchmark
path do not, so a record computed elsewhere matches)."""


def find_record(config: Any, results_dir: str | Path | None) -> tuple[Optional[dict], Optional[str]]:
    """The complete Zero-Cost-PT record of ``config`` in ``results_dir`` (the file name
    :meth:`ZcptConfig.result_name` that ``zcpt search --out`` writes), or ``(None, why)``."""
    folder = resolve_dir(results_dir)
    if folder is None:
        return None, "no results_dir given"
    path = folder / config.result_name()
    if not path.exists():
        return None, f"no matching record in {_show_path(folder, str(folder))}"
    try:
        record = read_json(path)
    except (OSError, ValueError) as exc:
        return None, f"{path} is unreadable ({exc})"
    stored = record.get("config", {})
    wanted = config.to_json()
    diff = [k for k in MATCH_FIELDS if stored.get(k) != wanted.get(k)]
    if record.get("kind") != "zcpt-search" or diff:
        return None, f"{path} holds another configuration (differs in {', '.join(diff) or 'kind'})"
    if record.get("status") != "complete":
        done = len(record.get("iterations", []))
        return None, f"{path} is incomplete ({done}/{config.N} iterations, status {record.get('status')}): resume it"
    return record, None


def search_command(configs: Sequence[Any], out: str | Path | None) -> str:
    """The exact ``zcpt search`` command computing ``configs`` (same settings, several seeds)."""
    if not configs:
        raise ValueError("no configurations")
    cfg = configs[0]
    for other in configs[1:]:
        a, b = other.to_json(), cfg.to_json()
        a.pop("seed"), b.pop("seed")
        if a != b:
            raise ValueError("search_command needs configurations that differ only in their seed")
    if cfg.published_once_order:
        raise ZcptError("published_once_order has no `zcpt search` option")
    seeds = [str(c.seed) for c in configs]
    parts = ["zcpt", "search", "--space", cfg.space, "--proxy", cfg.proxy, "--order", cfg.order, "-N", str(cfg.N),
             "-V", str(cfg.V), "--batch-size", str(cfg.batch_size)]
    parts += ["--seed", seeds[0]] if len(seeds) == 1 else ["--seeds", *seeds]
    parts += ["--dataset", cfg.dataset]
    if cfg.data_source != "auto":
        parts += ["--data-source", cfg.data_source]
    if cfg.data_root:
        parts += ["--data-root", str(cfg.data_root)]
    if cfg.device != "auto":
        parts += ["--device", cfg.device]
    if cfg.compat != "fast":
        parts += ["--compat", cfg.compat]
    if cfg.train_portion is not None:
        parts += ["--train-portion", str(cfg.train_portion)]
    if cfg.topology != "algorithm2":
        parts += ["--topology", cfg.topology]
    for flag, options in (("--proxy-option", cfg.proxy_options), ("--supernet-option", cfg.supernet_options),
                          ("--network-option", cfg.network_options)):
        for key, value in options.items():
            parts += [flag, f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    parts += ["--out", _show_path(resolve_dir(out), "runs")]
    return shlex.join(parts)


@dataclass
class Runs:
    """The Zero-Cost-PT records of one table row (one configuration over several seeds)."""

    label: str
    configs: list
    records: list[dict]
    pending: Optional[Pending] = None

    @property
    def complete(self) -> bool:
        return self.pending is None

    @property
    def seeds_done(self) -> list[int]:
        return [r["config"]["seed"] for r in self.records]

    def stats(self) -> dict[str, dict[str, float]]:
        """Test error mean ± std per dataset over the available records (:func:`error_statistics`)."""
        from .search.zcpt import error_statistics

        return error_statistics(self.records) if self.records else {}

    def data_sources(self) -> str:
        return ", ".join(sorted({str((r.get("data") or {}).get("source", "?")) for r in self.records})) or "-"


def zcpt_runs(settings: SearchSettings, label: str, results_dir: str | Path | None = None, progress: bool = False,
              images: Any = None, **changes: Any) -> Runs:
    """Zero-Cost-PT records of ``settings`` (one per seed) with ``changes`` (proxy, order, N, ...).

    Each seed's record is read from ``results_dir`` if a matching complete one is there; otherwise
    it is computed when ``settings.compute_missing`` (and saved into ``results_dir`` if given and
    the file name is free), else it is left :class:`Pending` with the ``zcpt search`` command.
    """
    from .search.zcpt import run_zcpt

    configs = [settings.config(seed, **changes) for seed in settings.seeds]
    folder = resolve_dir(results_dir)
    records, missing, reasons = [], [], []
    for cfg in configs:
        record, why = find_record(cfg, folder)
        if record is None and settings.compute_missing:
            out = folder if folder is not None and not (folder / cfg.result_name()).exists() else None
            record = run_zcpt(cfg, out_dir=out, progress=progress, images=images)
        if record is None:
            missing.append(cfg)
            reasons.append(why or NOT_COMPUTED)
        else:
            records.append(record)
    pending = None
    if missing:
        seeds = ", ".join(str(c.seed) for c in missing)
        reason = reasons[0] if len(set(reasons)) == 1 else "; ".join(dict.fromkeys(reasons))
        pending = Pending(f"{label} (seed {seeds})", search_command(missing, folder), f"{NOT_COMPUTED} ({reason})")
    return Runs(label, configs, records, pending)


# ============================================================================= tables: test error, measured vs paper
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
    statistics as :func:`~zcpt_analysis.search.zcpt.error_statistics` computes them: mean ± std over
    runs of the selected architecture's seed-mean test error, the paper's convention; or "not yet
    computed"), ``<D> n`` (runs), ``<D> paper`` (the paper's mean ± std) and ``<D> diff``
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
    from .viz import error_bars_info

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


def _mean_evaluations(runs: Runs) -> Any:
    vals = [it["evaluations"] for r in runs.records for it in r["iterations"]]
    return round(float(np.mean(vals)), 1) if vals else NOT_COMPUTED


def table2(settings: SearchSettings, results_dir: str | Path | None = None, orders: Optional[Sequence[str]] = None,
           proxy: str = "nwot", progress: bool = False) -> TableResult:
    """Table 2: Zero-Cost-PT test error by edge-discretization ordering (NB201, all three datasets),
    with the number of proxy evaluations per search iteration (measured and the paper's formula)."""
    from .search.orderings import ORDERINGS, expected_evaluations

    orders = list(orders or ORDERINGS)
    rows, pending, runs = [], [], {}
    for order in orders:
        r = zcpt_runs(settings, f"Zero-Cost-PT {proxy}, order {order}", results_dir, progress, proxy=proxy, order=order)
        runs[order] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(order, r.stats(), paper.TABLE2_ORDERINGS.get(order) if proxy == "nwot" else None,
                        {"# perturbations (paper formula)": paper.TABLE2_PERTURBATION_FORMULAS.get(order, "-"),
                         "evaluations / iteration (formula, NB201)": expected_evaluations(order, 5, 6),
                         "evaluations / iteration (measured)": _mean_evaluations(r),
                         "seeds": len(r.records), "data": r.data_sources()}))
    return TableResult(error_table(rows, label="order"), error_bars(rows), pending, runs)


def table3(settings: SearchSettings, results_dir: str | Path | None = None, proxies: Optional[Sequence[str]] = None,
           order: str = "random", progress: bool = False) -> TableResult:
    """Table 3: Zero-Cost-PT test error by zero-cost proxy (random order, NB201)."""
    proxies = list(proxies or paper.TABLE3_PROXIES)
    rows, pending, runs = [], [], {}
    for proxy in proxies:
        r = zcpt_runs(settings, f"Zero-Cost-PT {proxy}, order {order}", results_dir, progress, proxy=proxy, order=order)
        runs[proxy] = r
        if r.pending:
            pending.append(r.pending)
        distinct = len({str(rec["selected"]["arch"]) for rec in r.records}) if r.records else NOT_COMPUTED
        rows.append(Row(proxy, r.stats(), paper.TABLE3_PROXIES.get(proxy) if order == "random" else None,
                        {"distinct selected archs": distinct, "seeds": len(r.records), "data": r.data_sources()}))
    return TableResult(error_table(rows, label="proxy"), error_bars(rows), pending, runs)


# ============================================================================= baselines (Table 4)
@dataclass(frozen=True)
class BaselineSettings:
    """Settings of the NAS-Bench-201 baselines of Table 4 in a preset."""

    preset: str
    random_runs: int
    naswot_samples: int
    naswot_seeds: tuple[int, ...]
    naswot_batch_size: int
    darts_seeds: tuple[int, ...]
    darts: Any  # DartsConfig
    darts_pt: Any  # DartsPTConfig
    supernet_options: dict
    data_source: str
    data_root: Optional[str]
    device: str
    compute_missing: bool


def baseline_settings(preset: str, *, random_runs: Optional[int] = None, naswot_samples: Optional[int] = None,
                      naswot_seeds: Optional[Sequence[int]] = None, darts_seeds: Optional[Sequence[int]] = None,
                      data_root: Optional[str] = None, device: Optional[str] = None,
                      compute_missing: Optional[bool] = None) -> BaselineSettings:
    """Baseline settings of ``preset``.

    smoke: 100 random architectures (benchmark lookups), NASWOT with 5 samples x 2 runs (batch 16),
    DARTS / DARTS-PT on the tiny NB201 supernet for 2 epochs of 2 steps, projection without
    fine-tuning (``proj_intv=0``), 32 validation images; computed on the spot.
    paper: 100 random architectures, NASWOT N=1000 over 500 runs (Table 4 footnote 2, batch 128),
    DARTS / DARTS-PT with DARTS-PT's settings (100 epochs, batch 64, ``proj_intv=5``), seeds 0-3;
    read from result records.
    """
    from .search.darts import DartsConfig
    from .search.darts_pt import DartsPTConfig

    check_preset(preset)
    if preset == "smoke":
        s = dict(random_runs=100, naswot_samples=5, naswot_seeds=(0, 1), naswot_batch_size=16, darts_seeds=(0,),
                 darts=DartsConfig(epochs=2, batch_size=16, steps_per_epoch=2, eval_max_images=32),
                 darts_pt=DartsPTConfig(proj_intv=0, eval_max_images=32), supernet_options=dict(TINY_NB201),
                 data_source="sample", device="cpu", compute_missing=True)
    else:
        s = dict(random_runs=100, naswot_samples=1000, naswot_seeds=tuple(range(500)), naswot_batch_size=128,
                 darts_seeds=(0, 1, 2, 3), darts=DartsConfig(), darts_pt=DartsPTConfig(), supernet_options={},
                 data_source="full" if data_root else "sample", device="auto", compute_missing=False)
    if random_runs is not None:
        s["random_runs"] = int(random_runs)
    if naswot_samples is not None:
        s["naswot_samples"] = int(naswot_samples)
    if naswot_seeds is not None:
        s["naswot_seeds"] = tuple(int(x) for x in naswot_seeds)
    if darts_seeds is not None:
        s["darts_seeds"] = tuple(int(x) for x in darts_seeds)
    if device is not None:
        s["device"] = device
    if compute_missing is not None:
        s["compute_missing"] = bool(compute_missing)
    return BaselineSettings(preset=preset, data_root=data_root, **s)


def _records_from_benchmark(summaries: Sequence[tuple[int, dict]]) -> list[dict]:
    """Records in the Zero-Cost-PT format (``selected.benchmark[d].trial_errors``) from DARTS-style
    benchmark summaries (``{d: {"trials", "error", ...}}``), so :func:`error_statistics` applies."""
    out = []
    for seed, bench in summaries:
        b = {d: {"error": v["error"], "trial_errors": [100.0 - t for t in v.get("trials", [])]} for d, v in bench.items()}
        out.append({"config": {"seed": seed}, "selected": {"benchmark": b}})
    return out


def random_rows(settings: BaselineSettings, bench: Any = None) -> tuple[Row, list[dict]]:
    """Table 4's Random row: ``random_runs`` uniformly random architectures looked up in NB201."""
    from .search.baselines import random_baseline
    from .search.zcpt import error_statistics

    records = random_baseline(_bench(bench), runs=settings.random_runs, seed=0)
    return Row("Random", error_statistics(records), paper.TABLE4_METHODS["Random"],
               {"runs": len(records), "source": "benchmark lookup"}), records


def naswot_runs(settings: BaselineSettings, proxy: str, results_dir: str | Path | None = None,
                bench: Any = None, progress: bool = False, images: Any = None) -> Runs:
    """NASWOT(``proxy``) runs (one per seed): read ``naswot-<proxy>-n<N>-s<seed>.json`` records from
    ``results_dir`` (as ``zcpt baseline naswot --out`` writes them) or compute them."""
    from .search.baselines import NaswotConfig, NaswotScoreTable, naswot_run

    folder = resolve_dir(results_dir)
    cfg = NaswotConfig(proxy=proxy, n_samples=settings.naswot_samples, batch_size=settings.naswot_batch_size,
                       data_source=settings.data_source if settings.preset == "paper" else "sample",
                       data_root=settings.data_root, device=settings.device)
    label = f"NASWOT({proxy})"
    records, missing = [], []
    table = None
    for seed in settings.naswot_seeds:
        rec = None
        if folder is not None:
            path = folder / f"naswot-{proxy}-n{settings.naswot_samples}-s{seed}.json"
            if path.exists():
                stored = read_json(path)
                c = stored.get("config", {})
                if (c.get("proxy"), c.get("n_samples"), c.get("batch_size"), c.get("score_seed"), c.get("dataset"),
                        c.get("proxy_options")) == (proxy, cfg.n_samples, cfg.batch_size, cfg.score_seed, cfg.dataset,
                                                    cfg.effective_proxy_options()):
                    rec = stored
        if rec is None and settings.compute_missing:
            if table is None:
                path = folder / cfg.score_table_name() if folder is not None else None
                table = NaswotScoreTable(cfg, path, images=images)
            rec = naswot_run(table, seed, bench=_bench(bench), progress=progress)
            if folder is not None:
                atomic_write_json(folder / f"naswot-{proxy}-n{settings.naswot_samples}-s{seed}.json", rec)
        if rec is None:
            missing.append(seed)
        else:
            records.append(rec)
    pending = None
    if missing:
        seeds = _seed_list(missing)
        cmd = (f"zcpt baseline naswot --proxy {proxy} --n-samples {settings.naswot_samples} "
               f"--batch-size {settings.naswot_batch_size} --seeds {seeds}"
               + (f" --data-source full --data-root {shlex.quote(settings.data_root)}" if settings.data_root else "")
               + f" --out {shlex.quote(_show_path(folder, 'runs'))}")
        pending = Pending(f"{label} ({len(missing)} runs)", cmd)
    return Runs(label, [cfg], records, pending)


def _seed_list(seeds: Sequence[int]) -> str:
    """Seeds for a shell command: ``$(seq a b)`` for a long contiguous range, else the list."""
    seeds = list(seeds)
    if len(seeds) > 8 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"$(seq {seeds[0]} {seeds[-1]})"
    return " ".join(str(s) for s in seeds)


DARTS_VARIANTS: dict[str, tuple[str, str, str]] = {
    # variant: (Table 4 label, run folder variant as the CLI names it, record file)
    "darts": ("DARTS", "darts", "darts.json"),
    "darts-pt": ("DARTS-PT", "darts", "darts-pt.json"),
    "darts-pt-fix-alpha": ("DARTS-PT (fix alpha)", "blank", "darts-pt-fix-alpha.json"),
}


def darts_folder(results_dir: Path, variant: str, seed: int, space: str = "nb201") -> Path:
    """The run folder ``zcpt darts`` / ``zcpt darts-pt`` use by default, under ``results_dir``:
    ``darts/<space>-<darts|blank>-seed<seed>``."""
    return results_dir / "darts" / f"{space}-{DARTS_VARIANTS[variant][1]}-seed{seed}"


def _darts_flags(settings: BaselineSettings) -> list[str]:
    from .search.darts import DartsConfig

    d, default = settings.darts, DartsConfig()
    flags = []
    for name, flag in (("epochs", "--epochs"), ("batch_size", "--batch-size"), ("learning_rate", "--learning-rate"),
                       ("steps_per_epoch", "--steps-per-epoch"), ("eval_max_images", "--eval-max-images"),
                       ("train_portion", "--train-portion")):
        if getattr(d, name) != getattr(default, name):
            flags += [flag, str(getattr(d, name))]
    for key, value in settings.supernet_options.items():
        flags += ["--supernet-option", f"{key}={value}"]
    flags += ["--data-source", "full" if settings.data_root else settings.data_source]
    if settings.data_root:
        flags += ["--data-root", settings.data_root]
    if settings.device != "auto":
        flags += ["--device", settings.device]
    return flags


def darts_command(settings: BaselineSettings, variant: str, seeds: Sequence[int], results_dir: Optional[Path]) -> str:
    """The ``zcpt darts`` / ``zcpt darts-pt`` command(s) producing ``variant``'s records."""
    from .search.darts_pt import DartsPTConfig

    sub = "darts" if variant == "darts" else "darts-pt"
    flags = ["--space", "nb201"] + _darts_flags(settings)
    if variant != "darts":
        pt, default = settings.darts_pt, DartsPTConfig()
        if variant == "darts-pt-fix-alpha":
            flags.append("--fix-alpha")
        if pt.proj_intv != default.proj_intv:
            flags += ["--proj-intv", str(pt.proj_intv)]
        if pt.edge_decision != default.edge_decision:
            flags += ["--edge-decision", pt.edge_decision]
        if pt.bn_mode != default.bn_mode:
            flags += ["--bn-mode", pt.bn_mode]
        if pt.eval_max_images is not None and settings.darts.eval_max_images is None:
            flags += ["--eval-max-images", str(pt.eval_max_images)]
    base = _show_path(results_dir, "runs")
    folder = f"{base}/darts/nb201-{DARTS_VARIANTS[variant][1]}-seed"
    seeds = list(seeds)
    if len(seeds) == 1:
        return shlex.join(["zcpt", sub, "--seed", str(seeds[0]), *flags, "--out", f"{folder}{seeds[0]}"])
    return (f"for s in {' '.join(map(str, seeds))}; do "
            + shlex.join(["zcpt", sub, *flags]) + f' --seed "$s" --out "{folder}$s"; done')


def _read_darts_record(folder: Path, variant: str, settings: BaselineSettings) -> Optional[dict]:
    path = folder / DARTS_VARIANTS[variant][2]
    if not path.exists():
        return None
    rec = read_json(path)
    if variant == "darts":
        run_file = folder / "supernet" / "run.json"
        run = read_json(run_file) if run_file.exists() else {}
        if run.get("config") != settings.darts.to_json():
            return None
    else:
        want_darts = settings.darts.to_json()
        if variant == "darts-pt-fix-alpha":
            want_darts = dict(want_darts, arch_update="fixed")
        want_pt = dict(settings.darts_pt.to_json(), fix_alpha=variant == "darts-pt-fix-alpha")
        if rec.get("darts_config") != want_darts or rec.get("config") != want_pt:
            return None
    return rec


def _compute_darts(settings: BaselineSettings, seed: int, results_dir: Optional[Path], bench: Any,
                   progress: bool) -> dict[str, dict]:
    """Train the tiny supernets and derive DARTS, DARTS-PT and DARTS-PT (fix alpha) for one seed
    (as ``zcpt darts`` / ``zcpt darts-pt`` do; records written in their layout when
    ``results_dir`` is given)."""
    import torch

    from .data import load_images
    from .runtime import resolve_device
    from .search.darts import SearchData, argmax_architecture, benchmark_summary, train_supernet
    from .search.darts_pt import run_darts_pt
    from .spaces import get_space

    space = get_space("nb201")
    device = resolve_device(settings.device)
    images = load_images("cifar10", "full" if settings.data_root else settings.data_source, settings.data_root)
    data = SearchData.from_images(images, settings.darts.train_portion)
    out: dict[str, dict] = {}
    for fixed in (False, True):
        config = settings.darts.replace(arch_update="fixed") if fixed else settings.darts
        variant_dir = darts_folder(results_dir, "darts-pt-fix-alpha" if fixed else "darts", seed) \
            if results_dir is not None else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            supernet = space.supernet(num_classes=images.num_classes, seed=seed, **settings.supernet_options)
        run = train_supernet(supernet, data, config, seed=seed, device=device,
                             out_dir=variant_dir / "supernet" if variant_dir else None, progress=progress)
        if not fixed:
            arch = argmax_architecture(run.supernet)
            rec = {"method": "darts", "space": space.name, "seed": seed, "arch": space.to_json(arch),
                   "run": str(variant_dir / "supernet") if variant_dir else None,
                   "final_valid_acc": run.valid_acc[-1] if run.valid_acc else None,
                   "benchmark": benchmark_summary(arch, bench)}
            if variant_dir is not None:
                atomic_write_json(variant_dir / "darts.json", rec)
            out["darts"] = rec
        pt = dataclasses.replace(settings.darts_pt, fix_alpha=fixed)
        variant = "darts-pt-fix-alpha" if fixed else "darts-pt"
        result = run_darts_pt(run, data, config, pt, seed=seed, device=device, bench=bench, space=space,
                              progress=progress,
                              out_path=variant_dir / DARTS_VARIANTS[variant][2] if variant_dir else None)
        out[variant] = result.to_json()
    return out


def darts_baselines(settings: BaselineSettings, results_dir: str | Path | None = None, bench: Any = None,
                    progress: bool = False) -> dict[str, Runs]:
    """DARTS, DARTS-PT and DARTS-PT (fix alpha) runs on NB201: records from ``results_dir`` (the
    layout of ``zcpt darts --out`` / ``zcpt darts-pt --out``) or computed (smoke)."""
    folder = resolve_dir(results_dir)
    bench = _bench(bench)
    found: dict[str, list[tuple[int, dict]]] = {v: [] for v in DARTS_VARIANTS}
    missing: dict[str, list[int]] = {v: [] for v in DARTS_VARIANTS}
    for seed in settings.darts_seeds:
        recs = {v: _read_darts_record(darts_folder(folder, v, seed), v, settings) if folder is not None else None
                for v in DARTS_VARIANTS}
        if any(r is None for r in recs.values()) and settings.compute_missing:
            computed = _compute_darts(settings, seed, folder, bench, progress)
            recs = {v: recs[v] or computed[v] for v in DARTS_VARIANTS}
        for v, rec in recs.items():
            if rec is None:
                missing[v].append(seed)
            else:
                found[v].append((seed, rec))
    out = {}
    for v, (label, _, _) in DARTS_VARIANTS.items():
        pending = Pending(f"{label} (seeds {', '.join(map(str, missing[v]))})",
                          darts_command(settings, v, missing[v], folder)) if missing[v] else None
        records = _records_from_benchmark([(s, r.get("benchmark") or {}) for s, r in found[v]])
        for rec, (_, raw) in zip(records, found[v]):
            rec["selected"]["arch"] = raw.get("arch")
        out[v] = Runs(label, [], records, pending)
    return out


def table4(search: SearchSettings, baselines: BaselineSettings, results_dir: str | Path | None = None,
           bench: Any = None, progress: bool = False) -> TableResult:
    """Table 4: Zero-Cost-PT (nwot, synflow) next to Random, DARTS, DARTS-PT (and fix alpha) and
    NASWOT (nwot, synflow) on NAS-Bench-201 (test error %, all three datasets)."""
    bench = _bench(bench)
    rows, pending, runs = [], [], {}
    random_row, random_records = random_rows(baselines, bench)
    rows.append(random_row)
    runs["Random"] = random_records
    for v, r in darts_baselines(baselines, results_dir, bench, progress).items():
        runs[r.label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(r.label, r.stats(), paper.TABLE4_METHODS[r.label], {"runs": len(r.records),
                                                                           "source": "supernet training"}))
    for proxy in ("synflow", "nwot"):
        r = naswot_runs(baselines, proxy, results_dir, bench, progress)
        runs[r.label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(r.label, r.stats(), paper.TABLE4_METHODS[r.label],
                        {"runs": len(r.records), "source": f"{baselines.naswot_samples} samples per run"}))
    for proxy in ("synflow", "nwot"):
        label = f"Zero-Cost-PT({proxy})"
        r = zcpt_runs(search, label, results_dir, progress, proxy=proxy, order="random")
        runs[label] = r
        if r.pending:
            pending.append(r.pending)
        rows.append(Row(label, r.stats(), paper.TABLE4_METHODS[label],
                        {"runs": len(r.records), "source": f"N={search.N}, V={search.V}"}))
    return TableResult(error_table(rows), error_bars(rows), pending, runs)


# ============================================================================= Figure 3: N and V
def select_subset(record: dict, N: int, V: int) -> dict[str, Any]:
    """The candidates and selection a run with ``N`` search and ``V`` validation iterations would
    have made, derived exactly from a record with at least as many of both.

    Exact because iteration ``i`` of a run depends only on its seed and ``i`` (alpha, minibatches
    and edge order are seeded per iteration), and the ``j``-th validation minibatch and every
    candidate network's initialisation only on the seed (and architecture): a run with ``N``
    iterations is the first ``N`` iterations of a longer one, and a candidate's total over ``V``
    minibatches is the sum of its first ``V`` scores. Returns ``{"N", "V", "candidates": [{"arch",
    "total"}], "distinct", "selected"}`` (candidates in order of discovery, as the search ranks ties).
    """
    from .search.op_selection import select

    iterations = record.get("iterations", [])
    have_n, have_v = len(iterations), int(record.get("validation", {}).get("batches_done", 0))
    if not 1 <= N <= have_n:
        raise ZcptError(f"the record has {have_n} search iterations; cannot derive N={N}")
    if not 1 <= V <= have_v:
        raise ZcptError(f"the record has {have_v} validation minibatches; cannot derive V={V}")
    scores = {str(c["arch"]): c["scores"] for c in record["candidates"]}
    order: dict[str, Any] = {}
    for it in iterations[:N]:
        order.setdefault(str(it["arch"]), it["arch"])
    cands = []
    for key, arch in order.items():
        vals = np.asarray(scores[key][:V], dtype=float)
        total = float(np.nansum(vals)) if not np.all(np.isnan(vals)) else math.nan
        cands.append({"arch": arch, "total": total})
    best = select({str(c["arch"]): c["total"] for c in cands}, maximize=True, what=f"validation (N={N}, V={V})")
    return {"N": N, "V": V, "candidates": cands, "distinct": len(cands), "selected": order[best]}


@dataclass
class NVResult:
    """Figure 3 data: per (order, seed, N, V) the selection; candidate points; a summary table."""

    selections: pd.DataFrame
    points: pd.DataFrame
    distribution: pd.DataFrame
    summary: pd.DataFrame
    facts: pd.DataFrame
    pending: list[Pending]


def nv_ablation(settings: SearchSettings, N_values: Sequence[int], V_values: Sequence[int],
                orders: Sequence[str] = ("random",), proxy: str = "nwot", results_dir: str | Path | None = None,
                bench: Any = None, progress: bool = False) -> NVResult:
    """Figure 3: one run per (order, seed) with ``max(N_values)`` and ``max(V_values)``, from which
    every smaller (N, V) selection is derived (:func:`select_subset`). CIFAR-10 test accuracy from
    NAS-Bench-201 (per training trial for the distributions, seed-mean for the scatter)."""
    bench = _bench(bench)
    n_max, v_max = max(N_values), max(V_values)
    sel_rows, point_rows, dist_rows, pending = [], [], [], []
    for order in orders:
        runs = zcpt_runs(settings, f"Zero-Cost-PT {proxy}, order {order}, N={n_max}, V={v_max}", results_dir,
                         progress, proxy=proxy, order=order, N=n_max, V=v_max)
        if runs.pending:
            pending.append(runs.pending)
        for rec in runs.records:
            seed = rec["config"]["seed"]
            for N in N_values:
                for V in V_values:
                    sub = select_subset(rec, N, V)
                    res = bench.query(sub["selected"], "cifar10")
                    sel_rows.append({"order": order, "seed": seed, "N": N, "V": V, "distinct": sub["distinct"],
                                     "selected": str(sub["selected"]), "accuracy": res.mean, "error": res.error,
                                     "rank": res.rank})
                    for t in res.trials:
                        dist_rows.append({"order": order, "seed": seed, "N": N, "V": V, "accuracy": t})
                    if V == v_max:
                        for c in sub["candidates"]:
                            acc = bench.query(c["arch"], "cifar10").mean
                            point_rows.append({"order": order, "seed": seed, "N": N, "arch": str(c["arch"]),
                                               "validation_total": c["total"], "accuracy": acc,
                                               "selected": str(c["arch"]) == str(sub["selected"])})
    selections = pd.DataFrame(sel_rows, columns=["order", "seed", "N", "V", "distinct", "selected", "accuracy", "error",
                                                 "rank"])
    distribution = pd.DataFrame(dist_rows, columns=["order", "seed", "N", "V", "accuracy"])
    summary_rows = []
    for (order, N, V), grp in selections.groupby(["order", "N", "V"], sort=True):
        errs = grp["error"].to_numpy(dtype=float)  # seed-mean error of each seed's selection
        summary_rows.append({"order": order, "N": N, "V": V, "seeds": grp["seed"].nunique(),
                             "distinct archs (mean over seeds)": round(float(grp["distinct"].mean()), 2),
                             "C10 test error measured (mean ± std over seeds)": fmt(float(errs.mean()),
                                                                                   float(errs.std())),
                             "best rank": int(grp["rank"].min())})
    summary = pd.DataFrame(summary_rows)
    facts = []
    for order in orders:
        for N, label in ((100, "distinct_archs_N100"),):
            hit = selections[(selections["order"] == order) & (selections["N"] == N) & (selections["V"] == v_max)]
            measured = round(float(hit["distinct"].mean()), 2) if len(hit) else (
                NOT_COMPUTED if N in N_values else f"N={N} not in this preset")
            facts.append({"fact": f"distinct architectures with N={N} ({order})", "measured": measured,
                          "paper": paper.FIGURE3_FACTS[label] if order == "random" else NOT_IN_PAPER})
        if 1000 in N_values and 100 in N_values:
            a = selections[(selections["order"] == order) & (selections["N"] == 1000) & (selections["V"] == v_max)]
            b = selections[(selections["order"] == order) & (selections["N"] == 100) & (selections["V"] == v_max)]
            ratio = round(float(a["distinct"].mean() / b["distinct"].mean()), 2) if len(a) and len(b) else NOT_COMPUTED
        else:
            ratio = "N=100 and N=1000 not in this preset"
        facts.append({"fact": f"distinct architectures N=1000 / N=100 ({order})", "measured": ratio,
                      "paper": paper.FIGURE3_FACTS["distinct_archs_N1000_vs_N100"] if order == "random" else NOT_IN_PAPER})
    return NVResult(selections, pd.DataFrame(point_rows, columns=["order", "seed", "N", "arch", "validation_total",
                                                                  "accuracy", "selected"]),
                    distribution, summary, paper.comparison(facts) if facts else pd.DataFrame(), pending)


# ============================================================================= operation scores (Fig. 2, Table 1, A1)
@dataclass(frozen=True)
class ScoreSettings:
    """Settings of the operation-score experiments (section 3) in a preset."""

    preset: str
    seeds: tuple[int, ...]
    methods: tuple[str, ...]
    supernet_options: dict
    proxy: str
    proxy_batch_size: int
    darts: Any  # DartsConfig
    disc_epochs: int
    darts_alpha_epoch: Optional[int]
    retrain_epochs: int
    data_source: str
    data_root: Optional[str]
    device: str
    compute_missing: bool


def score_settings(preset: str, *, seeds: Optional[Sequence[int]] = None, methods: Optional[Sequence[str]] = None,
                   data_root: Optional[str] = None, device: Optional[str] = None,
                   compute_missing: Optional[bool] = None, proxy: str = "nwot") -> ScoreSettings:
    """Operation-score settings of ``preset``.

    smoke: seed 0, all seven methods on the tiny NB201 supernet (C=4, N=1), zero-cost minibatches
    of 8, a DARTS supernet trained 2 epochs of 2 steps (batch 16, 32 validation images), disc-acc
    without fine-tuning (0 epochs; paper: 5), no retraining in the iterative setting; computed.
    paper: the paper's C=16, N=5 supernet, minibatches of 256, 100-epoch DARTS supernet (DARTS-PT's
    settings), disc-acc fine-tuned 5 epochs, darts alpha after 60 epochs, 5 retraining epochs in the
    iterative setting, the full CIFAR-10 when ``data_root`` is given (else the shared sample); read
    from the score cache.
    """
    from .scoring import METHOD_NAMES, get_method
    from .search.darts import DartsConfig

    check_preset(preset)
    if preset == "smoke":
        s = dict(seeds=(0,), supernet_options=dict(TINY_NB201), proxy_batch_size=8,
                 darts=DartsConfig(epochs=2, batch_size=16, steps_per_epoch=2, eval_max_images=32), disc_epochs=0,
                 darts_alpha_epoch=None, retrain_epochs=0, data_source="sample", device="cpu", compute_missing=True)
    else:
        s = dict(seeds=(0,), supernet_options={}, proxy_batch_size=256, darts=DartsConfig(), disc_epochs=5,
                 darts_alpha_epoch=60, retrain_epochs=5, data_source="full" if data_root else "sample", device="auto",
                 compute_missing=False)
    if seeds is not None:
        s["seeds"] = tuple(int(x) for x in seeds)
    if device is not None:
        s["device"] = device
    if compute_missing is not None:
        s["compute_missing"] = bool(compute_missing)
    names = tuple(get_method(m).name for m in (methods or METHOD_NAMES))
    return ScoreSettings(preset=preset, methods=names, proxy=proxy, data_root=data_root, **s)


ITERATIVE_SMOKE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc", "zc-pt", "disc-zc", "darts")
"""Methods of the iterative setting in the smoke preset: darts-pt and disc-acc retrain (or
fine-tune) after every discretization, which is too slow for a CPU smoke run."""


def iterative_settings(preset: str, *, seeds: Optional[Sequence[int]] = None,
                       methods: Optional[Sequence[str]] = None, data_root: Optional[str] = None,
                       device: Optional[str] = None, compute_missing: Optional[bool] = None) -> ScoreSettings:
    """Settings of the iterative setting (Figure A1): :func:`score_settings` with, in the smoke
    preset, the methods :data:`ITERATIVE_SMOKE_METHODS`, and in the paper preset all seven methods
    over seeds 0-3 (A.1.1 averages over four seeds)."""
    check_preset(preset)
    if methods is None and preset == "smoke":
        methods = ITERATIVE_SMOKE_METHODS
    if seeds is None and preset == "paper":
        seeds = (0, 1, 2, 3)
    return score_settings(preset, seeds=seeds, methods=methods, data_root=data_root, device=device,
                          compute_missing=compute_missing)


PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "smoke": {"nv_N_values": [1, 2, 4], "nv_V_values": [1, 2], "nv_orders": ["random"],
              "darts_orders": ["random"], "subspace_datasets": ["cifar10"], "subspace_seeds": [0],
              "table2_orders": None, "table3_proxies": None},
    "paper": {"nv_N_values": [10, 100, 1000], "nv_V_values": [1, 10, 100], "nv_orders": ["random", "global-edge-iter"],
              "darts_orders": ["random", "global-op-iter"], "subspace_datasets": ["cifar10", "cifar100", "svhn"],
              "subspace_seeds": list(paper.TABLE6_ZCPT_SEEDS), "table2_orders": None, "table3_proxies": None},
}
"""Per-preset defaults of notebook parameters that are lists (None = every ordering / proxy).
Figure 3's N values are the paper's (10, 100, 1000); its V values are not stated in the text."""


def preset_default(preset: str, key: str, value: Any = None) -> Any:
    """``value`` if given, else the preset's default for ``key`` (:data:`PRESET_DEFAULTS`)."""
    check_preset(preset)
    if value is not None:
        return value
    if key not in PRESET_DEFAULTS[preset]:
        raise UnknownNameError("preset default", key, sorted(PRESET_DEFAULTS[preset]))
    return PRESET_DEFAULTS[preset][key]


def scoring_context(settings: ScoreSettings, seed: int, bench: Any = None):
    """The :class:`~zcpt_analysis.scoring.ScoringContext` of one seed, built exactly as
    ``zcpt scores`` builds it from :func:`scores_command`'s options (so the cache keys agree)."""
    from .runtime import resolve_device
    from .scoring import ScoringContext

    return ScoringContext(space="nb201", seed=int(seed), supernet_kwargs=dict(settings.supernet_options),
                          supernet_mode="fast", device=str(resolve_device(settings.device)), progress=False,
                          bench=_bench(bench), avg_acc_over="arch-mean", dataset="cifar10",
                          data_source=settings.data_source, data_root=settings.data_root, proxy=settings.proxy,
                          proxy_options={}, proxy_batch_size=settings.proxy_batch_size, darts=settings.darts,
                          disc_epochs=settings.disc_epochs, darts_alpha_epoch=settings.darts_alpha_epoch)


def scores_command(settings: ScoreSettings, seed: int, methods: Sequence[str], cache_dir: Optional[Path]) -> str:
    """The ``zcpt scores`` command that computes ``methods``' iteration-0 tables into the cache."""
    from .search.darts import DartsConfig

    parts = ["zcpt", "scores", "--methods", *methods, "--seed", str(seed), "--proxy", settings.proxy,
             "--proxy-batch-size", str(settings.proxy_batch_size), "--disc-epochs", str(settings.disc_epochs)]
    if settings.darts_alpha_epoch is not None:
        parts += ["--darts-alpha-epoch", str(settings.darts_alpha_epoch)]
    d, default = settings.darts, DartsConfig()
    parts += ["--epochs", str(d.epochs), "--batch-size", str(d.batch_size)]
    for name, flag in (("learning_rate", "--learning-rate"), ("arch_update", "--arch-update"),
                       ("steps_per_epoch", "--steps-per-epoch"), ("eval_max_images", "--eval-max-images"),
                       ("train_portion", "--train-portion")):
        if getattr(d, name) != getattr(default, name):
            parts += [flag, str(getattr(d, name))]
    for key, value in settings.supernet_options.items():
        parts += ["--supernet-option", f"{key}={value}"]
    parts += ["--data-source", settings.data_source]
    if settings.data_root:
        parts += ["--data-root", settings.data_root]
    if settings.device != "auto":
        parts += ["--device", settings.device]
    if cache_dir is not None:
        parts += ["--cache-dir", _show_path(cache_dir, "runs/cache")]
    return shlex.join(parts)


def operation_scores(settings: ScoreSettings, cache_dir: str | Path | None = None, bench: Any = None,
                     progress: bool = False) -> tuple[pd.DataFrame, list[Pending]]:
    """Iteration-0 operation scores ``g(A_0, e, o)`` of ``settings.methods`` for every seed: the
    tidy table of :func:`~zcpt_analysis.scoring.score_operations` with a ``seed`` column.

    With ``cache_dir`` (or the paper preset, which uses the default store) every method's table is
    read from / written to the score cache (:mod:`zcpt_analysis.cache`); a missing table is computed
    when ``settings.compute_missing``, else reported as :class:`Pending` with the ``zcpt scores``
    command.
    """
    from .cache import ScoreCache, cached_scores
    from .scoring import get_method, score_operations

    bench = _bench(bench)
    folder = resolve_dir(cache_dir)
    cache = ScoreCache(folder) if folder is not None else (ScoreCache() if settings.preset == "paper" else None)
    tables, pending = [], []
    for seed in settings.seeds:
        ctx = scoring_context(settings, seed, bench)
        ctx.progress = progress
        missing: list[str] = []
        reason = NOT_COMPUTED
        for m in settings.methods:
            table = None
            if cache is not None:
                try:
                    table = cache.load(ctx.config_for(m))
                except ZcptError as exc:  # e.g. the full dataset is not available here
                    reason = f"{NOT_COMPUTED} ({exc})"
                    missing.append(m)
                    continue
            if table is None and (settings.compute_missing or get_method(m).network == "none"):
                # the benchmark-only methods (best-acc, avg-acc) are exact and fast in every preset
                table = cached_scores(ctx, [m], cache) if cache is not None else score_operations(ctx, [m])
            if table is None:
                missing.append(m)
            else:
                tables.append(table.assign(seed=seed))
        if missing:
            pending.append(Pending(f"operation scores {', '.join(missing)} (seed {seed})",
                                   scores_command(settings, seed, missing, cache.root if cache else None), reason))
    from .scoring import TABLE_COLUMNS

    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[*TABLE_COLUMNS, "seed"])
    return table, pending


def table_a2(table: pd.DataFrame, seed: Optional[int] = None) -> pd.DataFrame:
    """Table A2 measured next to the paper: rows (method, edge), columns (op, measured | paper |
    diff), values in the paper's convention (darts-pt and zc-pt multiplied by -1). The paper's
    ``avg_pool_3x3`` column is missing from our copy ("n/a" there)."""
    from .scoring import get_method

    if seed is not None and "seed" in table.columns:
        table = table[table["seed"] == seed]
    ops = list(dict.fromkeys(table["op"])) or list(paper.TABLE_A2_OPS)
    rows = []
    for method in [m for m in paper.TABLE_A2 if m in set(table["method"])]:
        sign = 1.0 if get_method(method).higher_is_better else -1.0
        sub = table[table["method"] == method]
        for i, edge in enumerate(paper.TABLE_A2_EDGES):
            item: dict[tuple[str, str], Any] = {("", "method"): method, ("", "edge"): edge}
            for op in ops:
                hit = sub[(sub["edge"] == edge) & (sub["op"] == op)]
                measured = sign * float(hit["score"].mean()) if len(hit) else math.nan
                p = paper.TABLE_A2[method][i][paper.TABLE_A2_OPS.index(op)] if op in paper.TABLE_A2_OPS else None
                item[(op, "measured")] = round(measured, 2)
                item[(op, "paper")] = p if p is not None else "n/a"
                item[(op, "diff")] = round(measured - p, 2) if p is not None else math.nan
            rows.append(item)
    df = pd.DataFrame(rows)
    if not df.empty:
        df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df


def oracle_rows(table: pd.DataFrame, method: str = "best-acc") -> pd.DataFrame:
    """``method``'s measured scores as a small edges x ops table (2 decimals): Table A2's layout."""
    sub = table[table["method"] == method]
    if "seed" in sub.columns and len(sub):
        sub = sub[sub["seed"] == sub["seed"].iloc[0]]
    wide = sub.pivot_table(index="edge", columns="op", values="score", sort=False).round(2)
    return wide.reindex(index=[e for e in paper.TABLE_A2_EDGES if e in wide.index],
                        columns=[o for o in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
                                 if o in wide.columns])


def figure2(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Figure 2 measured and from the paper: ``measured`` (mean per-edge Spearman rho over all
    measured ops and seeds), ``measured_4ops`` (the same on Table A2's four ops),
    ``paper_recomputed`` (:func:`paper.figure2_from_table_a2`) and ``vs_best_acc`` (each method's
    rho with best-acc: measured, measured on 4 ops, paper recomputed, difference)."""
    from .analysis import correlation_matrix

    measured = correlation_matrix(table)
    four = correlation_matrix(table[table["op"].isin(paper.TABLE_A2_OPS)])
    ref = paper.figure2_from_table_a2()
    rows = []
    for m in measured.index:
        p = float(ref.loc[m, "best-acc"]) if m in ref.index else math.nan
        v4 = float(four.loc[m, "best-acc"]) if "best-acc" in four.columns else math.nan
        rows.append({"method": m, "rho vs best-acc measured": round(float(measured.loc[m, "best-acc"]), 3)
                     if "best-acc" in measured.columns else math.nan,
                     "measured (Table A2's 4 ops)": round(v4, 3),
                     "paper (recomputed from Table A2, 4 ops)": round(p, 3), "diff (4 ops)": round(v4 - p, 3)})
    return {"measured": measured, "measured_4ops": four, "paper_recomputed": ref, "vs_best_acc": pd.DataFrame(rows)}


def table1_comparison(table: pd.DataFrame, bench: Any = None) -> pd.DataFrame:
    """Table 1 per seed: the architecture each method selects from its iteration-0 scores, its
    mean CIFAR-10 test error and rank (measured) next to the paper's error and rank."""
    from .analysis import table1

    bench = _bench(bench)
    seeds = sorted(table["seed"].unique()) if "seed" in table.columns else [None]
    rows = []
    for seed in seeds:
        sub = table[table["seed"] == seed] if seed is not None else table
        t1 = table1(sub.drop(columns=["seed"], errors="ignore"), bench)
        for _, r in t1.iterrows():
            p = paper.TABLE1.get(r["method"])
            rows.append({"seed": seed, "method": r["method"], "error measured": round(float(r["error_measured"]), 2),
                         "error paper": p.error if p else math.nan,
                         "error diff": round(float(r["error_measured"]) - p.error, 2) if p else math.nan,
                         "rank measured": int(r["rank_measured"]), "rank paper": p.rank if p else math.nan,
                         "trials": int(r["trials_measured"]), "arch measured": r["arch"]})
    return pd.DataFrame(rows)


def iterative_table(settings: ScoreSettings, results_dir: str | Path | None = None, bench: Any = None,
                    reference: str = "best-acc", progress: bool = False) -> tuple[pd.DataFrame, list[Pending]]:
    """The iterative setting of A.1.1 (Figure A1) for every seed: the tidy table of
    :func:`~zcpt_analysis.analysis.iterative_scores` with a ``seed`` column.

    Each seed's table is stored in ``results_dir/iterative/`` keyed by the hash of its full
    configuration and reused; missing ones are computed when ``settings.compute_missing``, else
    reported with the ``zcpt report`` command that computes them."""
    from . import __version__
    from .analysis import iterative_scores
    from .cache import config_hash

    bench = _bench(bench)
    folder = resolve_dir(results_dir)
    tables, missing = [], []
    for seed in settings.seeds:
        key = {"kind": "iterative-scores", "library_version": __version__, "seed": seed, "reference": reference,
               "methods": list(settings.methods), "retrain_epochs": settings.retrain_epochs,
               "settings": {k: v for k, v in dataclasses.asdict(settings).items()
                            if k not in ("seeds", "device", "compute_missing", "preset")}}
        key = json.loads(json.dumps(key, default=str))
        path = folder / "iterative" / f"iterative-{config_hash(key)}.json" if folder is not None else None
        table = None
        if path is not None and path.exists():
            stored = read_json(path)
            if stored.get("config") == key:
                table = pd.DataFrame(stored["rows"])
        if table is None and settings.compute_missing:
            ctx = scoring_context(settings, seed, bench)
            ctx.progress = progress
            t0 = time.time()
            table = iterative_scores(ctx, settings.methods, reference=reference,
                                     retrain_epochs=settings.retrain_epochs)
            if path is not None:
                atomic_write_json(path, {"config": key, "seconds": round(time.time() - t0, 2),
                                         "rows": table.to_dict(orient="records")})
        if table is None:
            missing.append(seed)
        else:
            tables.append(table.assign(seed=seed))
    pending = []
    if missing:
        params = [f"preset={settings.preset}", "compute_missing=true",
                  f"results_dir={_show_path(folder, 'runs/paper')}", f"seeds={json.dumps(list(missing))}"]
        if settings.data_root:
            params.append(f"data_root={settings.data_root}")
        cmd = shlex.join(["zcpt", "report", "--preset", settings.preset, "--notebooks", "iterative_scores",
                          *[x for p in params[1:] for x in ("--param", p)]])
        pending.append(Pending(f"iterative operation scores (seeds {', '.join(map(str, missing))})", cmd))
    from .scoring import METHOD_NAMES

    excluded = [m for m in METHOD_NAMES if m not in settings.methods]
    if excluded:
        cmd = shlex.join(["zcpt", "report", "--preset", "paper", "--notebooks", "iterative_scores", "--param",
                          "compute_missing=true", "--param", f"results_dir={_show_path(folder, 'runs/paper')}"])
        pending.append(Pending(f"iterative trajectories of {', '.join(excluded)}", cmd,
                               f"{NOT_COMPUTED} (not in the {settings.preset} preset's methods)"))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return table, pending


# ============================================================================= DARTS spaces (Tables 5, 6, A1)
def training_results(results_dir: str | Path | None) -> list[dict]:
    """Every ``result.json`` written by ``zcpt train`` under ``results_dir`` (recursively)."""
    folder = resolve_dir(results_dir)
    if folder is None or not folder.exists():
        return []
    out = []
    for path in sorted(folder.rglob("result.json")):
        try:
            obj = read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and "genotype" in obj and "config" in obj:
            out.append(dict(obj, _path=str(path)))
    return out


def trained_errors(results: Sequence[dict], genotype: Any, dataset: str) -> list[dict]:
    """Training results of ``genotype`` on ``dataset``: ``{"seed", "error", "epochs_completed",
    "epochs", "complete", "path"}`` (error = 100 - final test accuracy, %)."""
    from .spaces.genotypes import parse_genotype

    g = parse_genotype(genotype)
    out = []
    for r in results:
        cfg = r.get("config", {})
        if str(cfg.get("dataset", "")).lower() != dataset.lower():
            continue
        try:
            same = g.same_architecture(r["genotype"])
        except ZcptError:
            continue
        if same and r.get("final_test_acc") is not None:
            out.append({"seed": cfg.get("seed"), "error": 100.0 - float(r["final_test_acc"]),
                        "epochs_completed": int(r.get("epochs_completed", 0)), "epochs": int(cfg.get("epochs", 0)),
                        "complete": int(r.get("epochs_completed", 0)) >= int(cfg.get("epochs", 0)),
                        "path": r.get("_path")})
    return out


def pooled_errors(results: Sequence[dict], genotypes: Sequence["GenotypeRow"], dataset: str) -> list[float]:
    """Test errors of every *complete* training of every genotype in ``genotypes`` on ``dataset``,
    pooled over search seeds x training seeds (how A.5 averages)."""
    return [f["error"] for g in genotypes for f in trained_errors(results, g.genotype, dataset) if f["complete"]]


def train_command(genotype_spec: str, dataset: str, seeds: Sequence[int], out_prefix: str) -> str:
    """The ``zcpt train`` command(s) of the final trainings (600 epochs, DARTS protocol), one per
    training seed, into ``<out_prefix><seed>``."""
    seeds = list(seeds)
    if len(seeds) == 1:
        return shlex.join(["zcpt", "train", "--genotype", genotype_spec, "--dataset", dataset, "--seed", str(seeds[0]),
                           "--out", f"{out_prefix}{seeds[0]}"])
    return (f"for s in {' '.join(map(str, seeds))}; do "
            + shlex.join(["zcpt", "train", "--genotype", genotype_spec, "--dataset", dataset])
            + f' --seed "$s" --out {shlex.quote(out_prefix)}"$s"; done')


@dataclass
class GenotypeRow:
    """A genotype shown in a DARTS-space table: where it comes from, its parameters, training."""

    label: str
    genotype: Any
    source: str
    spec: str  # what `zcpt train --genotype` accepts for it
    seconds: Optional[float] = None


def darts_search(settings: SearchSettings, orders: Sequence[str], results_dir: str | Path | None = None,
                 progress: bool = False) -> tuple[dict[str, Runs], list[GenotypeRow], list[Pending]]:
    """Zero-Cost-PT runs on a DARTS space for every ordering and seed, with the searched genotypes."""
    from .spaces.genotypes import parse_genotype

    folder = resolve_dir(results_dir)
    runs, genotypes, pending = {}, [], []
    for order in orders:
        r = zcpt_runs(settings, f"Zero-Cost-PT {settings.space} {settings.dataset}, order {order}", folder, progress,
                      order=order)
        runs[order] = r
        if r.pending:
            pending.append(r.pending)
        for rec in r.records:
            cfg = rec["config"]
            path = folder / settings.config(cfg["seed"], order=order).result_name() if folder is not None else None
            g = parse_genotype(rec["selected"]["arch"])
            spec = str(_show_path(path, "")) if path is not None and path.exists() else json.dumps(g.to_json())
            timing = rec.get("timing", {})
            genotypes.append(GenotypeRow(f"{order} seed {cfg['seed']}", g, f"searched ({settings.preset} preset)", spec,
                                         float(timing.get("search_seconds", 0)) + float(timing.get("validation_seconds", 0))))
    return runs, genotypes, pending


def genotype_table(rows: Sequence[GenotypeRow], dataset: str, setting: str, num_classes: int,
                   results_dir: str | Path | None = None, train_seeds: Sequence[int] = (0, 1, 2, 3),
                   label_prefix: str = "") -> tuple[pd.DataFrame, list[Pending]]:
    """Per genotype: parameters (millions, auxiliary head excluded) in ``setting``, and the test
    error of its final trainings on ``dataset`` found under ``results_dir`` ("not trained" with the
    ``zcpt train`` commands otherwise)."""
    from .spaces.darts import param_count

    results = training_results(results_dir)
    folder = resolve_dir(results_dir)
    base = _show_path(folder, "runs")
    out, pending = [], []
    for row in rows:
        params = param_count(row.genotype, setting, num_classes=num_classes) / 1e6
        found = trained_errors(results, row.genotype, dataset)
        done = [f for f in found if f["complete"]]
        partial = [f for f in found if not f["complete"]]
        if done:
            errs = np.array([f["error"] for f in done])
            error = fmt(float(errs.mean()), float(errs.std()) if len(errs) > 1 else None)
            best = round(float(errs.min()), 2)
            epochs = sorted({f["epochs"] for f in done})
            note = f"{len(done)} training run(s), {'/'.join(map(str, epochs))} epochs"
        else:
            error, best = NOT_TRAINED, NOT_TRAINED
            note = (f"training in progress ({', '.join(str(f['epochs_completed']) + '/' + str(f['epochs']) for f in partial)}"
                    " epochs)") if partial else "no result.json found"
            slug = "".join(ch if ch.isalnum() else "_" for ch in f"{label_prefix}{row.label}").strip("_")
            pending.append(Pending(f"final training of {label_prefix}{row.label} on {dataset}",
                                   train_command(row.spec, dataset, train_seeds, f"{base}/train/{slug}-{dataset}-seed"),
                                   f"{NOT_TRAINED} (600 epochs per run, DARTS protocol)"))
        out.append({"genotype": f"{label_prefix}{row.label}", "source": row.source,
                    f"params (M, {setting})": round(params, 3), "test error avg": error, "test error best": best,
                    "training": note, "search seconds": None if row.seconds is None else round(row.seconds, 1)})
    return pd.DataFrame(out), pending


def published_genotypes(prefix: str) -> list[GenotypeRow]:
    """The Zero-Cost-PT genotypes released by the authors whose name starts with ``prefix`` (e.g.
    ``ZCPT_RANDOM_C10``): the cells the paper trained (data, not measured results)."""
    from .spaces.genotypes import GENOTYPES

    return [GenotypeRow(name, g, "released by the authors", name) for name, g in GENOTYPES.items()
            if name.startswith(prefix)]


def table5(settings: SearchSettings, orders: Sequence[str], results_dir: str | Path | None = None,
           progress: bool = False) -> dict[str, Any]:
    """Table 5 (DARTS space, CIFAR-10): searched genotypes per ordering with parameters (heavy
    setting), search cost and final test error where training results exist, next to the paper;
    plus the parameter counts of the authors' released cells against the paper's Params column."""
    runs, genotypes, pending = darts_search(settings, orders, results_dir, progress)
    per_genotype, train_pending = genotype_table(genotypes, "cifar10", "heavy", 10, results_dir)
    results = training_results(results_dir)
    rows = []
    for order in ("random", "global-op-iter"):
        label = paper.TABLE5_ZCPT_ORDERS[order]
        p = paper.TABLE5[label]
        mine = [g for g in genotypes if g.label.startswith(order + " ")]
        r = runs.get(order)
        searched = bool(r is not None and r.records)
        errs = pooled_errors(results, mine, "cifar10")
        if searched:
            params = round(float(np.mean([genotype_param_count(g.genotype, "heavy", 10) for g in mine])), 2)
            cost = round(float(np.mean([g.seconds or 0.0 for g in mine])) / 86400, 5)
        else:
            params = cost = NOT_COMPUTED if order in orders else f"{NOT_COMPUTED} (not in this preset's orders)"
        none = NOT_TRAINED if searched else params
        rows.append({"method": label, "searched seeds": len(r.records) if r else 0,
                     "test error avg measured": fmt(float(np.mean(errs)), float(np.std(errs))) if errs else none,
                     "test error avg paper": str(p.avg),
                     "avg diff": round(float(np.mean(errs)) - p.avg.mean, 2) if errs else math.nan,
                     "test error best measured": round(float(np.min(errs)), 2) if errs else none,
                     "test error best paper": p.best,
                     "params (M) measured": params, "params (M) paper": p.params_m,
                     "params diff": round(params - p.params_m, 2) if isinstance(params, float) else math.nan,
                     "search cost (GPU days per search) measured": cost, "cost paper": p.cost_gpu_days})
    others = [{"method": name, "test error avg paper": str(row.avg), "test error best paper": row.best,
               "params (M) paper": row.params_m, "cost paper": row.cost_gpu_days}
              for name, row in paper.TABLE5.items() if not name.startswith("Zero-Cost-PT")]
    released = []
    for order, prefix in (("random", "ZCPT_RANDOM_C10"), ("global-op-iter", "ZCPT_GLOBAL_OP_ITER_C10")):
        cells = published_genotypes(prefix)
        counts = [genotype_param_count(g.genotype, "heavy", 10) for g in cells]
        label = paper.TABLE5_ZCPT_ORDERS[order]
        released.append({"cells": f"{prefix}_SEED0..3 (released)", "paper row": label,
                         "params (M) measured, mean of 4 cells": round(float(np.mean(counts)), 3),
                         "params (M) paper": paper.TABLE5[label].params_m,
                         "diff": round(float(np.mean(counts)) - paper.TABLE5[label].params_m, 3)})
    from .spaces.genotypes import GENOTYPES

    darts_v2 = genotype_param_count(GENOTYPES["DARTS_V2"], "heavy", 10)
    released.append({"cells": "DARTS_V2 (DARTS paper)", "paper row": "DARTS",
                     "params (M) measured, mean of 4 cells": round(darts_v2, 3), "params (M) paper": paper.TABLE5["DARTS"].params_m,
                     "diff": round(darts_v2 - paper.TABLE5["DARTS"].params_m, 3)})
    return {"runs": runs, "genotypes": genotypes, "per_genotype": per_genotype, "zcpt_rows": pd.DataFrame(rows),
            "other_rows": pd.DataFrame(others), "released": pd.DataFrame(released),
            "pending": pending + train_pending}


def genotype_param_count(genotype: Any, setting: str, num_classes: int) -> float:
    """Parameters in millions (auxiliary head excluded) of ``genotype`` in ``setting``."""
    from .spaces.darts import param_count

    return param_count(genotype, setting, num_classes=num_classes) / 1e6


def table6(settings_by_dataset: Mapping[str, SearchSettings], spaces: Sequence[str] = paper.TABLE6_SPACES,
           results_dir: str | Path | None = None, progress: bool = False) -> dict[str, Any]:
    """Table 6 (S1-S4 x CIFAR-10 / CIFAR-100 / SVHN): searched genotypes (random order) per space and
    dataset, their parameters (heavy for CIFAR-10, mobile otherwise) and test errors where
    training results exist, next to the paper's Zero-Cost-PT, DARTS and DARTS-PT columns."""
    rows, per_genotype, genotypes, pending = [], [], {}, []
    results = training_results(results_dir)
    for dataset, base in settings_by_dataset.items():
        num_classes = 100 if dataset == "cifar100" else 10
        setting = "heavy" if dataset == "cifar10" else "mobile"
        for space in spaces:
            s = dataclasses.replace(base, space=space)
            runs, gens, pend = darts_search(s, ["random"], results_dir, progress)
            pending += pend
            table, train_pending = genotype_table(gens, dataset, setting, num_classes, results_dir,
                                                  label_prefix=f"{space} {dataset} ")
            pending += train_pending
            genotypes[(dataset, space)] = gens
            per_genotype.append(table.assign(space=space, dataset=dataset))
            p = paper.TABLE6[dataset][space]
            errs = pooled_errors(results, gens, dataset)
            none = NOT_TRAINED if runs["random"].records else NOT_COMPUTED
            rows.append({"dataset": DATASET_LABELS.get(dataset, dataset), "space": space,
                         "searched seeds": len(runs["random"].records),
                         "Zero-Cost-PT avg measured": fmt(float(np.mean(errs)), float(np.std(errs))) if errs else none,
                         "Zero-Cost-PT avg paper": str(p.zcpt_avg),
                         "avg diff": round(float(np.mean(errs)) - p.zcpt_avg.mean, 2) if errs else math.nan,
                         "Zero-Cost-PT best measured": round(float(np.min(errs)), 2) if errs else none,
                         "Zero-Cost-PT best paper": p.zcpt_best,
                         "DARTS best (paper)": p.darts_best, "DARTS-PT best (paper)": p.darts_pt_best,
                         "DARTS-PT fix alpha best (paper)": p.darts_pt_fix_alpha_best,
                         "params (M) measured": round(float(table[f"params (M, {setting})"].mean()), 3) if len(table)
                         else NOT_COMPUTED})
    return {"table": pd.DataFrame(rows), "per_genotype": pd.concat(per_genotype, ignore_index=True) if per_genotype
            else pd.DataFrame(), "genotypes": genotypes, "pending": pending}


def table_a1(settings: SearchSettings, results_dir: str | Path | None = None, progress: bool = False) -> dict[str, Any]:
    """Table A1 (ImageNet): the cells searched on CIFAR-10 (random order, this preset) and the
    authors' released cells, with their ImageNet-setting parameters (C=48, 14 layers, 1000 classes)
    and search time next to the paper. Accuracy: read from ``result.json`` files with dataset
    ``imagenet`` under ``results_dir`` (same format as ``zcpt train``'s) where present; the toolkit
    itself has no ImageNet training pipeline (``zcpt train`` trains CIFAR-10 / CIFAR-100 / SVHN), so
    otherwise every accuracy is "not trained"."""
    runs, searched, pending = darts_search(settings, ["random"], results_dir, progress)
    results = training_results(results_dir)
    rows = []
    for g in searched + published_genotypes("ZCPT_IMAGENET") + published_genotypes("ZCPT_RANDOM_C10"):
        trained = [f for f in trained_errors(results, g.genotype, "imagenet") if f["complete"]]
        top1 = fmt(float(np.mean([f["error"] for f in trained])),
                   float(np.std([f["error"] for f in trained])) if len(trained) > 1 else None) if trained else \
            f"{NOT_TRAINED} (zcpt train has no ImageNet pipeline)"
        rows.append({"genotype": g.label, "source": g.source,
                     "params (M, ImageNet) measured": round(genotype_param_count(g.genotype, "imagenet", 1000), 3),
                     "top-1 error measured": top1,
                     "search time (GPU days) measured": round(g.seconds / 86400, 4) if g.seconds else "-"})
    table = pd.DataFrame(rows)
    zc = paper.TABLE_A1["Zero-Cost-PT (4 seeds)"]
    summary = []
    for label, subset in (("searched here (random order)", [r for r in rows if r["source"].startswith("searched")]),
                          ("released ZCPT_IMAGENET cells", [r for r in rows if r["genotype"].startswith("ZCPT_IMAGENET")]),
                          ("released ZCPT_RANDOM_C10 cells", [r for r in rows if r["genotype"].startswith("ZCPT_RANDOM")])):
        vals = [r["params (M, ImageNet) measured"] for r in subset]
        summary.append({"cells": label, "count": len(vals),
                        "measured": round(float(np.mean(vals)), 3) if vals else NOT_COMPUTED,
                        "paper": zc.params_m})
    summary_df = paper.comparison(summary).rename(columns={"measured": "params (M) measured, mean",
                                                          "paper": "params (M) paper (Zero-Cost-PT)"})
    published = pd.DataFrame([{"method": name, "top-1 paper": str(r.top1), "top-5 paper": str(r.top5),
                               "params (M) paper": r.params_m if r.params_m is not None else "-",
                               "search time (GPU days) paper": r.search_gpu_days} for name, r in paper.TABLE_A1.items()])
    return {"runs": runs, "table": table, "summary": summary_df, "paper": published, "pending": pending}
