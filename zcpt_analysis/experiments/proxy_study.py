"""The proxy study (:mod:`zcpt_analysis.proxy_study`) read back for the proxies notebook.

The study scores every registered proxy on the same random NAS-Bench-201 architectures and
minibatch and rank-correlates the scores with the test accuracies of all three datasets. A preset's
study is a run spec (kind ``proxy-study``, planned by ``zcpt reproduce``): its record is read from
the preset's store (the smoke preset computes its small one on the spot); without it, the summary
the repository ships (``benchmarks/results/proxy_study.json``, written by
``benchmarks/proxy_correlation.py``) is shown, saying so. Reference values are labelled
"reference" (published, not measured here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from ..files import read_json
from ..proxies.published import NB201_DATASETS
from .collect import collect, store_of
from .formatting import DATASET_LABELS
from .presets import preset as preset_of
from .presets import preset_results_dir

STUDY_FILE = Path("benchmarks") / "results" / "proxy_study.json"
"""The study's summary, relative to the repository root."""
STUDY_COMMAND = "python benchmarks/proxy_correlation.py --num-archs 1000 --threads 1"
"""What writes :data:`STUDY_FILE` (a preset's own study: ``zcpt proxies study``, see the presets)."""


def repository_root() -> Path:
    """The checkout this package runs from (``benchmarks/`` lives there, not in an installed wheel)."""
    return Path(__file__).resolve().parents[2]


@dataclass
class StudyResult:
    """The study laid out for display: ``table`` (measured rho/tau next to the reference rho per
    dataset, rho with params, seconds per architecture), ``bars`` (rows for
    :func:`~zcpt_analysis.viz.error_bars_figure`: measured vs reference rho), ``matrix`` (measured rho
    per proxy and dataset, and with params), ``note`` (setting, or why nothing is shown)."""

    table: pd.DataFrame
    bars: pd.DataFrame
    matrix: pd.DataFrame
    note: str
    meta: dict = field(default_factory=dict)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def proxy_study(preset: Optional[str] = None, *, results_dir: Any = None, compute_missing: Optional[bool] = None,
                progress: bool = False, path: Optional[Path] = None) -> StudyResult:
    """The study of ``preset`` (its record in ``results_dir``, default the preset's store; computed
    when missing if ``compute_missing``, default: the preset's), else the summary at ``path``
    (default: the repository's :data:`STUDY_FILE`)."""
    from ..viz import error_bars_info

    source = ""
    if preset is not None and path is None:
        runs = preset_of(preset, compute_missing=compute_missing).runs("proxy-study")
        spec = runs.specs()[0]
        store = store_of(preset_results_dir(preset, results_dir))
        found = collect([spec], store, runs.compute_missing, progress)
        if not found.missing:
            return _laid_out(found.records[0].to_json(), "")
        command = spec.command(store.root if store else None)
        source = (f"The {preset} preset's study is {found.reasons[0]}: `{command}`. Shown instead: the study "
                  "this repository ships (measured when it was committed, not by this run). ")
    path = Path(path) if path is not None else repository_root() / STUDY_FILE
    if not path.exists():
        empty = pd.DataFrame()
        return StudyResult(empty, error_bars_info([]), empty,
                           source + f"The proxy study has not been run here ({path} is missing): `{STUDY_COMMAND}`.")
    return _laid_out(read_json(path), source)


def _laid_out(data: dict[str, Any], source: str) -> StudyResult:
    """A study summary (a record's JSON or the shipped summary) as tables, bars and a note."""
    from ..viz import error_bars_info

    rows, bars, matrix = [], [], {}
    for r in data["rows"]:
        item: dict[str, Any] = {"proxy": r["proxy"]}
        for ds in NB201_DATASETS:
            d = DATASET_LABELS[ds]
            rho, ref = _num(r[f"{ds} rho"]), r[f"{ds} reference rho"]
            item[f"{d} ρ measured"] = round(rho, 3)
            item[f"{d} ρ reference"] = "–" if ref is None else ref
            item[f"{d} ρ diff"] = round(rho - ref, 3) if ref is not None else math.nan
            item[f"{d} τ measured"] = round(_num(r[f"{ds} tau"]), 3)
            bars.append({"label": r["proxy"], "group": d, "source": "measured", "mean": rho, "std": None})
            if ref is not None:
                published = r["reference source"] or "published"  # the legend names where the value comes from
                bars.append({"label": r["proxy"], "group": d, "source": published, "mean": ref, "std": None})
        item["ρ with params"] = round(_num(r["rho with params"]), 3)
        item["s / arch (contended)"] = round(_num(r["seconds per arch"]), 2)
        item["reference source"] = r["reference source"] or "–"
        item["non-finite scores"] = r["non_finite"]
        rows.append(item)
        matrix[r["proxy"]] = {**{DATASET_LABELS[ds]: _num(r[f"{ds} rho"]) for ds in NB201_DATASETS},
                              "params": _num(r["rho with params"])}
    cfg = data["config"]
    timing = data.get("timing_note") or data.get("timing")
    note = source + (f"{data['num_archs']} random NAS-Bench-201 architectures (of {data['planned_archs']} planned), "
                     f"one minibatch of {cfg['batch_size']} real CIFAR-10 images ({cfg['data']}, seed {cfg['seed']}) "
                     f"for every proxy and every dataset's accuracies; {data['reference_note']}. Timings: {timing}.")
    check = data.get("sample_check")
    if check:  # params has no randomness: its whole-space vs sample rho is the sample's own effect
        note += (" Sample check: ρ(params) is " + " / ".join(f"{check['space'][ds]:.3f}" for ds in NB201_DATASETS)
                 + " over the whole space and " + " / ".join(f"{check['sample'][ds]:.3f}" for ds in NB201_DATASETS)
                 + f" in this sample ({' / '.join(DATASET_LABELS[ds] for ds in NB201_DATASETS)}).")
    return StudyResult(pd.DataFrame(rows), error_bars_info(bars), pd.DataFrame(matrix).T, note, data)


__all__ = ["STUDY_COMMAND", "STUDY_FILE", "StudyResult", "proxy_study", "repository_root"]
