"""DARTS-space results: Table 5 (DARTS space, CIFAR-10), Table 6 (S1-S4 x three datasets) and
Table A1 (ImageNet), measured next to the paper. Searched cells come from Zero-Cost-PT records;
test errors from the store's training records (``zcpt train``, the 600-epoch DARTS protocol)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .. import paper
from ..errors import ZcptError
from ..paths import display
from ..runs.records import TrainRecord
from ..runs.specs import TrainSpec
from ..train import TrainConfig
from .collect import NOT_COMPUTED, NOT_TRAINED, Pending, Runs, commands, store_of
from .formatting import DATASET_LABELS, comparison, fmt
from .nb201_tables import zcpt_runs
from .presets import SpecSeeds

# ============================================================================= DARTS spaces (Tables 5, 6, A1)
def training_results(results_dir: Any) -> list[TrainRecord]:
    """Every training record (``zcpt train``) in the results store ``results_dir``."""
    store = store_of(results_dir)
    return store.records(kinds=["train"], warn=False) if store is not None else []  # type: ignore[return-value]


@dataclass(frozen=True)
class Trained:
    """One training of a genotype: its seed, final test error (%) and progress."""

    seed: int
    error: float
    epochs_completed: int
    epochs: int

    @property
    def complete(self) -> bool:
        return self.epochs_completed >= self.epochs


def trained_errors(results: Sequence[TrainRecord], genotype: Any, dataset: str) -> list[Trained]:
    """The trainings of ``genotype`` on ``dataset`` among ``results`` (error = 100 - final test
    accuracy, %)."""
    from ..spaces.genotypes import parse_genotype

    g = parse_genotype(genotype)
    out = []
    for r in results:
        cfg = r.spec.config  # type: ignore[attr-defined]
        if cfg.dataset != dataset.lower() or r.final_test_acc is None:
            continue
        try:
            same = g.same_architecture(r.genotype)
        except ZcptError:
            continue
        if same:
            out.append(Trained(cfg.seed, 100.0 - float(r.final_test_acc), r.epochs_completed, cfg.epochs))
    return out


def pooled_errors(results: Sequence[TrainRecord], genotypes: Sequence["GenotypeRow"], dataset: str) -> list[float]:
    """Test errors of every *complete* training of every genotype in ``genotypes`` on ``dataset``,
    pooled over search seeds x training seeds (how A.5 averages)."""
    return [f.error for g in genotypes for f in trained_errors(results, g.genotype, dataset) if f.complete]


def train_specs(genotype_spec: str, dataset: str, seeds: Sequence[int]) -> list[TrainSpec]:
    """The final trainings (600 epochs, DARTS protocol) of one genotype, one per training seed."""
    return [TrainSpec(genotype=genotype_spec, config=TrainConfig(dataset=dataset, seed=s)) for s in seeds]


@dataclass
class GenotypeRow:
    """A genotype shown in a DARTS-space table: where it comes from, its parameters, training."""

    label: str
    genotype: Any
    source: str
    spec: str  # what `zcpt train --genotype` accepts for it
    seconds: Optional[float] = None


def plan_darts_search(search: SpecSeeds, orders: Sequence[str]) -> list:
    return [s for order in orders for s in search.specs(order=order)]


def darts_search(search: SpecSeeds, orders: Sequence[str], results_dir: Any = None,
                 progress: bool = False) -> tuple[dict[str, Runs], list[GenotypeRow], list[Pending]]:
    """Zero-Cost-PT runs on a DARTS space for every ordering and seed, with the searched genotypes."""
    from ..spaces.genotypes import parse_genotype

    store = store_of(results_dir)
    space, dataset = search.spec.space, search.spec.dataset  # type: ignore[attr-defined]
    runs, genotypes, pending = {}, [], []
    for order in orders:
        r = zcpt_runs(search, f"Zero-Cost-PT {space} {dataset}, order {order}", store, progress, order=order)
        runs[order] = r
        if r.pending:
            pending.append(r.pending)
        for rec in r.records:
            g = parse_genotype(rec.selected.arch)
            path = store.path_for(rec.spec) if store is not None else None
            spec = display(path) if path is not None and path.exists() else json.dumps(g.to_json())
            genotypes.append(GenotypeRow(f"{order} seed {rec.spec.seed}", g, f"searched ({search.preset} preset)",
                                         spec, rec.seconds))
    return runs, genotypes, pending


def genotype_table(rows: Sequence[GenotypeRow], dataset: str, setting: str, num_classes: int,
                   results_dir: Any = None, train_seeds: Sequence[int] = (0, 1, 2, 3),
                   label_prefix: str = "") -> tuple[pd.DataFrame, list[Pending]]:
    """Per genotype: parameters (millions, auxiliary head excluded) in ``setting``, and the test
    error of its final trainings on ``dataset`` found in the store ("not trained" with the ``zcpt
    train`` commands otherwise)."""
    from ..spaces.darts import param_count

    store = store_of(results_dir)
    results = training_results(store)
    out, pending = [], []
    for row in rows:
        params = param_count(row.genotype, setting, num_classes=num_classes) / 1e6
        found = trained_errors(results, row.genotype, dataset)
        done = [f for f in found if f.complete]
        partial = [f for f in found if not f.complete]
        if done:
            errs = np.array([f.error for f in done])
            error = fmt(float(errs.mean()), float(errs.std()) if len(errs) > 1 else None)
            best = round(float(errs.min()), 2)
            epochs = sorted({f.epochs for f in done})
            note = f"{len(done)} training run(s), {'/'.join(map(str, epochs))} epochs"
        else:
            error, best = NOT_TRAINED, NOT_TRAINED
            note = (f"training in progress ({', '.join(f'{f.epochs_completed}/{f.epochs}' for f in partial)} epochs)"
                    if partial else "no training record found")
            pending.append(Pending(f"final training of {label_prefix}{row.label} on {dataset}",
                                   commands(train_specs(row.spec, dataset, train_seeds), store),
                                   f"{NOT_TRAINED} (600 epochs per run, DARTS protocol)"))
        out.append({"genotype": f"{label_prefix}{row.label}", "source": row.source,
                    f"params (M, {setting})": round(params, 3), "test error avg": error, "test error best": best,
                    "training": note, "search seconds": None if row.seconds is None else round(row.seconds, 1)})
    return pd.DataFrame(out), pending


def published_genotypes(prefix: str) -> list[GenotypeRow]:
    """The Zero-Cost-PT genotypes released by the authors whose name starts with ``prefix`` (e.g.
    ``ZCPT_RANDOM_C10``): the cells the paper trained (data, not measured results)."""
    from ..spaces.genotypes import GENOTYPES

    return [GenotypeRow(name, g, "released by the authors", name) for name, g in GENOTYPES.items()
            if name.startswith(prefix)]


def table5(search: SpecSeeds, orders: Sequence[str], results_dir: Any = None,
           progress: bool = False) -> dict[str, Any]:
    """Table 5 (DARTS space, CIFAR-10): searched genotypes per ordering with parameters (heavy
    setting), search cost and final test error where training results exist, next to the paper;
    plus the parameter counts of the authors' released cells against the paper's Params column."""
    runs, genotypes, pending = darts_search(search, orders, results_dir, progress)
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
    from ..spaces.genotypes import GENOTYPES

    darts_v2 = genotype_param_count(GENOTYPES["DARTS_V2"], "heavy", 10)
    released.append({"cells": "DARTS_V2 (DARTS paper)", "paper row": "DARTS",
                     "params (M) measured, mean of 4 cells": round(darts_v2, 3), "params (M) paper": paper.TABLE5["DARTS"].params_m,
                     "diff": round(darts_v2 - paper.TABLE5["DARTS"].params_m, 3)})
    return {"runs": runs, "genotypes": genotypes, "per_genotype": per_genotype, "zcpt_rows": pd.DataFrame(rows),
            "other_rows": pd.DataFrame(others), "released": pd.DataFrame(released),
            "pending": pending + train_pending}


def genotype_param_count(genotype: Any, setting: str, num_classes: int) -> float:
    """Parameters in millions (auxiliary head excluded) of ``genotype`` in ``setting``."""
    from ..spaces.darts import param_count

    return param_count(genotype, setting, num_classes=num_classes) / 1e6


def table6(search_by_dataset: Mapping[str, SpecSeeds], spaces: Sequence[str] = paper.TABLE6_SPACES,
           results_dir: Any = None, progress: bool = False) -> dict[str, Any]:
    """Table 6 (S1-S4 x CIFAR-10 / CIFAR-100 / SVHN): searched genotypes (random order) per space and
    dataset, their parameters (heavy for CIFAR-10, mobile otherwise) and test errors where
    training results exist, next to the paper's Zero-Cost-PT, DARTS and DARTS-PT columns."""
    rows, per_genotype, genotypes, pending = [], [], {}, []
    results = training_results(results_dir)
    for dataset, base in search_by_dataset.items():
        num_classes = 100 if dataset == "cifar100" else 10
        setting = "heavy" if dataset == "cifar10" else "mobile"
        for space in spaces:
            runs, gens, pend = darts_search(base.replace(space=space), ["random"], results_dir, progress)
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


def table_a1(search: SpecSeeds, results_dir: Any = None, progress: bool = False) -> dict[str, Any]:
    """Table A1 (ImageNet): the cells searched on CIFAR-10 (random order, this preset) and the
    authors' released cells, with their ImageNet-setting parameters (C=48, 14 layers, 1000 classes)
    and search time next to the paper. Accuracy: read from ``result.json`` files with dataset
    ``imagenet`` under ``results_dir`` (same format as ``zcpt train``'s) where present; the toolkit
    itself has no ImageNet training pipeline (``zcpt train`` trains CIFAR-10 / CIFAR-100 / SVHN), so
    otherwise every accuracy is "not trained"."""
    runs, searched, pending = darts_search(search, ["random"], results_dir, progress)
    results = training_results(results_dir)
    rows = []
    for g in searched + published_genotypes("ZCPT_IMAGENET") + published_genotypes("ZCPT_RANDOM_C10"):
        trained = [f for f in trained_errors(results, g.genotype, "imagenet") if f.complete]
        top1 = fmt(float(np.mean([f.error for f in trained])),
                   float(np.std([f.error for f in trained])) if len(trained) > 1 else None) if trained else \
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
    summary_df = comparison(summary).rename(columns={"measured": "params (M) measured, mean",
                                                          "paper": "params (M) paper (Zero-Cost-PT)"})
    published = pd.DataFrame([{"method": name, "top-1 paper": str(r.top1), "top-5 paper": str(r.top5),
                               "params (M) paper": r.params_m if r.params_m is not None else "-",
                               "search time (GPU days) paper": r.search_gpu_days} for name, r in paper.TABLE_A1.items()])
    return {"runs": runs, "table": table, "summary": summary_df, "paper": published, "pending": pending}


def plan_table6(search_by_dataset: Mapping[str, SpecSeeds], spaces: Sequence[str] = paper.TABLE6_SPACES) -> list:
    """The searches of Table 6 (random order, every space and dataset); the trainings depend on
    the searched cells and are planned once those exist (:func:`genotype_table`'s pending list)."""
    return [s for base in search_by_dataset.values() for space in spaces
            for s in base.specs(space=space, order="random")]
