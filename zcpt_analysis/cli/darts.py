"""``zcpt darts`` and ``zcpt darts-pt``: the DARTS and DARTS-PT baselines (Table 4's NB201 rows)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .options import key_values
from .scores import add_data_options, add_training_options, darts_config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("darts", help="train a DARTS supernet and derive its architecture (argmax alpha)",
                       description="DARTS supernet training (DARTS-PT's NB201 settings by default); checkpoints "
                                   "every epoch into --out and resumes from there.")
    _common(d)
    d.set_defaults(func=_darts)

    p = sub.add_parser("darts-pt", help="DARTS-PT: perturbation-based selection on a trained supernet",
                       description="Train (or resume) the supernet, then run DARTS-PT's projection with "
                                   "fine-tuning between decisions. --fix-alpha trains and fine-tunes with alpha "
                                   "frozen (DARTS-PT's 'blank' experiments, 'DARTS-PT (fix alpha)').")
    _common(p)
    p.add_argument("--fix-alpha", action="store_true", help="alpha frozen in training and fine-tuning")
    p.add_argument("--proj-intv", type=int, default=5, help="fine-tuning epochs between decisions (DARTS-PT: 5)")
    p.add_argument("--edge-decision", default="random", choices=("random", "fixed"))
    p.add_argument("--proj-crit", default="acc", choices=("acc", "loss"))
    p.add_argument("--bn-mode", default="train", choices=("train", "eval"),
                   help="BatchNorm mode of the perturbation evaluations (DARTS-PT: train)")
    p.set_defaults(func=_darts_pt)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="nb201")
    p.add_argument("--seed", type=int, default=0)
    add_training_options(p)
    add_data_options(p)
    p.add_argument("--out", default=None, help="run folder (default runs/darts/<space>-<variant>-seed<seed>)")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")


def _prepare(args: argparse.Namespace, fix_alpha: bool = False):
    import torch

    from ..data import load_images
    from ..runtime import resolve_device
    from ..search.darts import SearchData, train_supernet
    from ..spaces import get_space

    space = get_space(args.space)
    config = darts_config_from_args(args)
    if fix_alpha:
        config = config.replace(arch_update="fixed")
    variant = "blank" if config.arch_update == "fixed" else "darts"
    out = Path(args.out) if args.out else Path("runs") / "darts" / f"{space.name}-{variant}-seed{args.seed}"
    device = resolve_device(args.device)
    images = load_images(args.dataset, args.data_source, args.data_root)
    data = SearchData.from_images(images, config.train_portion)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        supernet = space.supernet(num_classes=images.num_classes, seed=args.seed,
                                  **key_values(args.supernet_option, "--supernet-option"))
    run = train_supernet(supernet, data, config, seed=args.seed, device=device, out_dir=out / "supernet",
                         resume=not args.restart, progress=not args.quiet)
    return space, config, data, run, out, device


def _print_bench(summary: dict) -> None:
    for d, r in summary.items():
        trials = " / ".join(f"{t:.2f}" for t in r["trials"]) or "seed-mean only"
        print(f"  {d:<15} mean test error {r['error']:.2f}%  rank {r['rank']:,}/{r['num_archs']:,}  trials {trials}")


def _darts(args: argparse.Namespace) -> int:
    from ..bench import load_benchmark
    from ..results import atomic_write_json
    from ..search.darts import argmax_architecture, benchmark_summary
    from ..spaces.nb201 import Arch

    space, config, data, run, out, _ = _prepare(args)
    arch = argmax_architecture(run.supernet)
    record = {"method": "darts" if config.arch_update != "fixed" else "darts (alpha fixed)", "space": space.name,
              "seed": args.seed, "arch": space.to_json(arch), "run": str(out / "supernet"),
              "final_valid_acc": run.valid_acc[-1] if run.valid_acc else None}
    print(f"DARTS ({config.arch_update}) on {space.name}, seed {args.seed}, {run.epochs_done} epochs: {arch}")
    if isinstance(arch, Arch):
        record["benchmark"] = benchmark_summary(arch, load_benchmark(args.bench))
        _print_bench(record["benchmark"])
    atomic_write_json(out / "darts.json", record)
    print(f"wrote {out / 'darts.json'}")
    return 0


def _darts_pt(args: argparse.Namespace) -> int:
    from ..bench import load_benchmark
    from ..search.darts_pt import DartsPTConfig, run_darts_pt

    space, config, data, run, out, device = _prepare(args, fix_alpha=args.fix_alpha)
    pt = DartsPTConfig(proj_intv=args.proj_intv, edge_decision=args.edge_decision, proj_crit=args.proj_crit,
                       fix_alpha=args.fix_alpha, bn_mode=args.bn_mode)
    bench = load_benchmark(args.bench) if space.has_benchmark else None
    name = "darts-pt-fix-alpha.json" if args.fix_alpha else "darts-pt.json"
    result = run_darts_pt(run, data, config, pt, seed=args.seed, device=device, bench=bench, space=space,
                          progress=not args.quiet, out_path=out / name)
    label = "DARTS-PT (fix alpha)" if args.fix_alpha else "DARTS-PT"
    print(f"{label} on {space.name}, seed {args.seed}: {result.arch}")
    _print_bench(result.benchmark)
    print(f"wrote {out / name}")
    return 0
