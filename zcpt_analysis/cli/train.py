"""``zcpt train``: train a DARTS genotype from scratch with the DARTS evaluation protocol."""
from __future__ import annotations

import argparse

from ..runs.specs import TrainSpec
from .options import spec_command
from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=command_help("train"),
                       description="Train the evaluation network of a DARTS genotype: heavy (C=36, 20 layers) "
                                   "for CIFAR-10, mobile (C=16, 8 layers) for CIFAR-100/SVHN; SGD lr 0.025 cosine, "
                                   "batch 96, cutout 16, drop-path 0.2, auxiliary head 0.4, grad clip 5. The run "
                                   "folder is <results store>/train/<genotype>-<dataset>-<setting>-seed<N>/ "
                                   "(or --run-dir); an interrupted run continues with --resume.")
    spec_command(p, TrainSpec, _run, seeds=None)
    p.add_argument("--out", default=None, metavar="DIR", help="results store (default: $ZCPT_HOME/runs, else ./runs)")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="train into this folder instead of the store's (checkpoint.pt, log.csv, result.json)")
    p.add_argument("--resume", action="store_true", help="continue the run in its folder from its checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar / per-epoch lines")


def _run(args: argparse.Namespace) -> int:
    from ..errors import ZcptError
    from ..files import ensure_dir
    from ..runs.runners import train_in_folder
    from ..runs.store import ResultStore

    (spec,) = args.specs(args)
    if args.run_dir and args.out:
        raise ZcptError("give --out (train into the results store) or --run-dir (train into that folder), not both")
    if args.run_dir:
        folder = ensure_dir(args.run_dir, "run folder (--run-dir)")
        print(f"genotype {spec.resolved_genotype()}")
        record = train_in_folder(spec, folder, resume=args.resume, progress=not args.no_progress)
    else:
        store = ResultStore(args.out)
        store.ensure_writable(spec)
        print(f"genotype {spec.resolved_genotype()}")
        folder = store.artifacts_for(spec)
        with store.claim(spec, wait=False):  # another process training the same run: a clear error
            record = train_in_folder(spec, folder, resume=args.resume, progress=not args.no_progress,
                                     save=store.save)
    final = record.final_test_acc if record.final_test_acc is not None else float("nan")
    best = record.best_test_acc if record.best_test_acc is not None else float("nan")
    print(f"{record.params:,} parameters = {record.params_millions:.2f}M (auxiliary head excluded); "
          f"{record.epochs_completed}/{spec.config.epochs} epochs; final test accuracy {final:.2f}% (best {best:.2f}%)")
    print(f"results in {folder}/ (result.json, log.csv, checkpoint.pt)")
    return 0
