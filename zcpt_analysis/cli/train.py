"""``zcpt train``: train a DARTS genotype from scratch with the DARTS evaluation protocol."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..data import SOURCES
from ..runtime import DEVICE_CHOICES
from ..train import TRAIN_DATASETS, TRAIN_SETTINGS, TrainConfig, resolve_genotype, train


def register(sub: argparse._SubParsersAction) -> None:
    d = TrainConfig()
    p = sub.add_parser("train", help="train a DARTS genotype (600-epoch DARTS protocol, checkpoint/resume)",
                       description="Train the evaluation network of a DARTS genotype: heavy (C=36, 20 layers) "
                                   "for CIFAR-10, mobile (C=16, 8 layers) for CIFAR-100/SVHN; SGD lr 0.025 cosine, "
                                   "batch 96, cutout 16, drop-path 0.2, auxiliary head 0.4, grad clip 5.")
    p.add_argument("--genotype", required=True,
                   help="genotype JSON file, search result record (top-level 'genotype'/'selected'), a "
                        "Genotype(...) string, or a known name such as DARTS_V2")
    p.add_argument("--dataset", default=d.dataset, help=f"one of {', '.join(TRAIN_DATASETS)} (default {d.dataset})")
    p.add_argument("--setting", default=None, help=f"{'|'.join(TRAIN_SETTINGS)} (default: heavy for cifar10, "
                                                    "mobile otherwise, as in the paper)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.learning_rate, help="initial learning rate (cosine to 0)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--data-root", default=None, help="folder of the torchvision dataset (downloaded if online)")
    p.add_argument("--data-source", default=d.data_source, choices=[s for s in SOURCES if s != "png"],
                   help="auto (full if --data-root, else the shared CIFAR-10 sample), sample, full, synthetic")
    p.add_argument("--device", default=d.device, help=f"{'|'.join(DEVICE_CHOICES)} or cuda:N")
    p.add_argument("--out", default=None, help="run folder (default runs/train/<genotype>-<dataset>-<setting>-seed<N>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--C", type=int, default=None, help="override the setting's initial channels")
    p.add_argument("--layers", type=int, default=None, help="override the setting's number of cells")
    p.add_argument("--no-auxiliary", action="store_true", help="train without the auxiliary head")
    p.add_argument("--cutout", type=int, default=d.cutout, help="cutout length (0 disables)")
    p.add_argument("--drop-path", type=float, default=d.drop_path_prob, help="final drop-path probability")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images (smoke runs)")
    p.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, help="epochs between checkpoints")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="end this session after N epochs (checkpointed; continue with --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar / per-epoch lines")
    p.set_defaults(func=_run)


def _default_out(genotype_arg: str, dataset: str, setting: str, seed: int) -> Path:
    stem = Path(genotype_arg).stem if Path(genotype_arg).is_file() else genotype_arg
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:40].strip("_") or "genotype"
    return Path("runs") / "train" / f"{stem}-{dataset}-{setting}-seed{seed}"


def _run(args: argparse.Namespace) -> int:
    genotype = resolve_genotype(args.genotype)
    dataset = args.dataset.strip().lower()
    setting = args.setting or ("heavy" if dataset == "cifar10" else "mobile")
    cfg = TrainConfig(dataset=dataset, setting=setting, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.lr, seed=args.seed, data_source=args.data_source, data_root=args.data_root,
                      device=args.device, C=args.C, layers=args.layers, auxiliary=not args.no_auxiliary,
                      cutout=args.cutout, drop_path_prob=args.drop_path, train_limit=args.train_limit,
                      test_limit=args.test_limit, checkpoint_every=args.checkpoint_every,
                      stop_after_epochs=args.stop_after, progress=not args.no_progress).validate()
    out = Path(args.out) if args.out else _default_out(args.genotype, cfg.dataset, cfg.setting, cfg.seed)
    print(f"genotype {genotype}")
    summary = train(genotype, cfg, out, resume=args.resume)
    print(f"{summary['params']:,} parameters = {summary['params_millions']:.2f}M (auxiliary head excluded); "
          f"{summary['epochs_completed']}/{cfg.epochs} epochs; final test accuracy "
          f"{summary.get('final_test_acc', float('nan')):.2f}% (best {summary.get('best_test_acc', float('nan')):.2f}%)")
    print(f"results in {out}/ (result.json, log.csv, checkpoint.pt)")
    return 0
