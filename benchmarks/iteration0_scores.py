"""Iteration-0 operation scores of all seven scoring methods on NAS-Bench-201, with Table 1, the
Figure 2 correlation matrix and the Table A2 comparison, next to the paper's numbers.

    nice -n 10 python benchmarks/iteration0_scores.py            # the CPU budget below (~15-25 min, 2 cores)
    python benchmarks/iteration0_scores.py --paper --device cuda  # the paper's settings (GPU, full CIFAR-10)

What is computed (seed 0 by default; every method's table is cached by its full configuration in
``--results-dir``, so a rerun only prints):

* best-acc / avg-acc: from the NAS-Bench-201 tables in ../shared/data/nb201 (exact, no budget);
* zc-pt / disc-zc: ``--proxy`` (nwot) on the untrained supernet of ``--zc-supernet`` (default the
  paper's C=16, N=5) with ``--zc-batch-size`` distinct augmented images per edge (paper: 256);
* disc-acc / darts-pt / darts: a supernet of ``--train-supernet`` trained with DARTS
  (DARTS-PT's optimiser settings) for ``--epochs`` epochs on the search split of the images, then
  disc-acc fine-tunes each discretized copy for ``--disc-epochs`` epochs, darts-pt perturbs the
  trained supernet, darts reads softmax(alpha) after ``--darts-alpha-epoch`` epochs.

Default CPU budget (real CIFAR-10 sample, 400 training images split 200 / 200): zero-cost methods
on the paper's C=16, N=5 supernet with batches of 64 (the sample cannot give 256 distinct images
per batch *and* stay fast on 2 cores); training methods on a reduced C=8, N=1 supernet, 20 epochs of
4 steps (batch 64), alpha read after 12 epochs (60 % of training, as the paper's 60 of 100),
disc-acc fine-tuning 1 epoch. The paper: full CIFAR-10 (25k / 25k), C=16, N=5, 100 epochs,
alpha after 60, disc-acc 5 epochs, batch 256 for zero-cost scores (``--paper``).

Paper numbers are printed in columns labelled "paper"; everything measured is labelled "measured".
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from zcpt_analysis.scoring.analysis import correlation_matrix, table1, table_a2_comparison
from zcpt_analysis.paper import TABLE1 as PAPER_TABLE1
from zcpt_analysis.files import atomic_write_json, atomic_write_text
from zcpt_analysis.runs import ResultStore, ScoresSpec
from zcpt_analysis.scoring import ScoringContext
from zcpt_analysis.searches.supernet_training import DartsConfig

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "iteration0_scores.json"


def _shape(text: str) -> dict:
    out = {}
    for part in text.split(","):
        k, _, v = part.partition("=")
        out[k.strip()] = int(v)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--zc-supernet", default="C=16,N=5", help="supernet shape of zc-pt / disc-zc (paper: C=16,N=5)")
    p.add_argument("--zc-batch-size", type=int, default=64, help="zero-cost minibatch (paper: 256)")
    p.add_argument("--train-supernet", default="C=8,N=1", help="supernet shape of the training methods "
                   "(paper: C=16,N=5)")
    p.add_argument("--epochs", type=int, default=20, help="supernet training epochs (paper: 100)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--disc-epochs", type=int, default=1, help="disc-acc fine-tuning epochs (paper: 5)")
    p.add_argument("--darts-alpha-epoch", type=int, default=12, help="darts: alpha after this epoch (paper: 60)")
    p.add_argument("--data-source", default="sample", choices=("sample", "full"))
    p.add_argument("--data-root", default=None)
    p.add_argument("--paper", action="store_true", help="the paper's settings (needs --data-source full and a GPU)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads on CPU (1 is fastest on a "
                   "loaded 2-core machine)")
    p.add_argument("--results-dir", default=None, help="results store (default ./runs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.paper:
        args.zc_supernet = args.train_supernet = "C=16,N=5"
        args.zc_batch_size, args.epochs, args.disc_epochs, args.darts_alpha_epoch = 256, 100, 5, 60
    torch.set_num_threads(args.threads)
    t_start = time.time()
    store = ResultStore(args.results_dir)
    common = dict(seed=args.seed, device=args.device, data_source=args.data_source, data_root=args.data_root)
    darts = DartsConfig(epochs=args.epochs, batch_size=args.batch_size, eval_every=5)
    groups = {"best-acc, avg-acc": [ScoresSpec(method=m, **common) for m in ("best-acc", "avg-acc")],
              "zc-pt, disc-zc": [ScoresSpec(method=m, supernet_options=_shape(args.zc_supernet), proxy=args.proxy,
                                            proxy_batch_size=args.zc_batch_size, **common) for m in ("zc-pt", "disc-zc")],
              "supernet + disc-acc, darts-pt, darts": [
                  ScoresSpec(method=m, supernet_options=_shape(args.train_supernet), darts=darts,
                             disc_epochs=args.disc_epochs, darts_alpha_epoch=args.darts_alpha_epoch, **common)
                  for m in ("disc-acc", "darts-pt", "darts")]}
    timings: dict[str, float] = {}
    tables, compute_s = [], {}  # compute_s: seconds each table took when it was computed (the first training
    bench = None                 # method includes the supernet training)
    for label, specs in groups.items():
        t0 = time.time()
        context = ScoringContext(settings=specs[0], bench=bench)
        context.checkpoint_dir = str(store.root / specs[0].supernet_folder())  # the trained supernet, if any
        for spec in specs:
            record = store.run(spec, progress=not args.quiet, context=context)
            tables.append(record.table())
            compute_s[spec.method] = record.timing.get("scoring")
        bench = context.get_bench()
        timings[label] = time.time() - t0
    run = context.trained_run()

    table = pd.concat(tables, ignore_index=True)
    table["seed"] = args.seed
    ops = list(dict.fromkeys(table["op"]))
    wide = table.pivot_table(index=["method", "edge"], columns="op", values="score", sort=False)[ops]
    t1 = table1(table, bench)
    corr = correlation_matrix(table)
    a2 = table_a2_comparison(table)
    wall = time.time() - t_start

    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.max_rows", 200)
    print(f"# iteration-0 operation scores, NAS-Bench-201, seed {args.seed} (measured)")
    print(f"# zero-cost: {args.proxy} on untrained supernet {args.zc_supernet}, batch {args.zc_batch_size}; "
          f"training: supernet {args.train_supernet}, {args.epochs} epochs (final valid acc "
          f"{run.valid_acc[-1]:.1f}%), disc-acc {args.disc_epochs} epoch(s), alpha after {args.darts_alpha_epoch}; "
          f"data: {context.get_images().source}")
    print(wide.round(3).to_string())
    print("\n# Table A2, best-acc and avg-acc: measured vs paper (first four ops; paper lost avg_pool_3x3)")
    for m in ("best-acc", "avg-acc"):
        sub = a2[a2["method"] == m]
        print(f"{m:<9} matching to 2 decimals: {int((sub['diff'].abs() < 0.005).sum())}/{len(sub)}   "
              f"max |measured - paper| {sub['diff'].abs().max():.2f}   "
              f"diff range {sub['diff'].min():+.2f} .. {sub['diff'].max():+.2f}")
    print("\n# Figure 2: mean per-edge Spearman rho, sign-adjusted (measured)")
    print(corr.round(2).to_string())
    print("\n# Table 1: architecture each method selects at iteration 0 (NB201 CIFAR-10, mean over trials)")
    show = t1[["method", "error_measured", "rank_measured", "error_paper", "rank_paper", "arch"]].copy()
    show.columns = ["method", "error measured [%]", "rank measured", "error paper [%]", "rank paper", "arch measured"]
    print(show.to_string(index=False, float_format=lambda v: "" if math.isnan(v) else f"{v:.2f}"))
    print("\n# compute time when first computed (s; disc-acc includes the supernet training): "
          + ", ".join(f"{k}: {v:.0f}" for k, v in compute_s.items() if v is not None))
    print("# wall time of this run (s, ~0 = read from the cache): "
          + ", ".join(f"{k}: {v:.0f}" for k, v in timings.items()) + f"; total {wall:.0f} s")

    record = {
        "kind": "iteration0-scores", "seed": args.seed,
        "config": {"proxy": args.proxy, "zc_supernet": args.zc_supernet, "zc_batch_size": args.zc_batch_size,
                   "train_supernet": args.train_supernet, "darts": darts.to_json(), "disc_epochs": args.disc_epochs,
                   "darts_alpha_epoch": args.darts_alpha_epoch, "data": context.get_images().source,
                   "device": args.device, "threads": args.threads},
        "supernet_valid_acc": run.valid_acc, "timings_s": timings, "wall_s": wall, "compute_s": compute_s,
        "scores": table.to_dict(orient="records"),
        "table1": t1.to_dict(orient="records"),
        "figure2_spearman": {a: {b: corr.loc[a, b] for b in corr.columns} for a in corr.index},
        "table_a2_comparison": a2.to_dict(orient="records"),
        "paper_table1": {m: {"error": r.error, "rank": r.rank} for m, r in PAPER_TABLE1.items()},
    }
    atomic_write_json(args.out, record)
    atomic_write_text(args.out.with_suffix(".csv"), table.to_csv(index=False))
    print(f"# wrote {args.out} and {args.out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
