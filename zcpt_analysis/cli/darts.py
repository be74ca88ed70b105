"""``zcpt darts`` and ``zcpt darts-pt``: the DARTS and DARTS-PT baselines (Table 4's NB201 rows)."""
from __future__ import annotations

import argparse

from ..runs.specs import DartsPTSpec, DartsSpec
from .options import add_run_options, spec_command, store_of
from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("darts", help=command_help("darts"),
                       description="DARTS supernet training (DARTS-PT's NB201 settings by default); checkpoints "
                                   "every epoch into the store (--out) and resumes from there.")
    spec_command(d, DartsSpec, _darts)
    add_run_options(d, force_flags=("--force", "--restart"))

    p = sub.add_parser("darts-pt", help=command_help("darts-pt"),
                       description="Train (or resume) the supernet, then run DARTS-PT's projection with "
                                   "fine-tuning between decisions. --fix-alpha trains and fine-tunes with alpha "
                                   "frozen (DARTS-PT's 'blank' experiments, 'DARTS-PT (fix alpha)'). The supernet "
                                   "is shared with `zcpt darts` of the same training settings.")
    spec_command(p, DartsPTSpec, _darts_pt)
    add_run_options(p, force_flags=("--force", "--restart"))


def _print_bench(benchmark: dict) -> None:
    for d, r in benchmark.items():
        trials = " / ".join(f"{t:.2f}" for t in r.trials) or "seed-mean only"
        print(f"  {d:<15} mean test error {r.error:.2f}%  rank {r.rank:,}/{r.num_archs:,}  trials {trials}")


def _run(args: argparse.Namespace, label) -> int:
    specs = args.specs(args)
    store = store_of(args, specs)
    for spec in specs:
        record = store.run(spec, progress=not args.quiet, force=args.force)
        print(f"{label(spec)} on {spec.space}, seed {spec.seed}: {record.arch}")
        _print_bench(record.benchmark)
        print(f"wrote {store.path_for(spec)}")
    return 0


def _darts(args: argparse.Namespace) -> int:
    return _run(args, lambda spec: f"DARTS ({spec.darts.arch_update}), {spec.darts.epochs} epochs,")


def _darts_pt(args: argparse.Namespace) -> int:
    return _run(args, lambda spec: "DARTS-PT (fix alpha)" if spec.fix_alpha else "DARTS-PT")
