"""``zcpt search``, ``zcpt baseline`` and ``zcpt demo``: Zero-Cost-PT and its NAS-Bench-201 baselines."""
from __future__ import annotations

import argparse
from typing import Any, Optional, Sequence

from ..runs.specs import NaswotSpec, RandomSpec, SearchSpec
from .options import add_run_options, spec_command, store_of
from . import command_help

DEMO = SearchSpec(space="nb201", proxy="nwot", order="random", N=2, V=4, batch_size=64, seed=0, dataset="cifar10")
"""The embedded default of ``zcpt demo``: a short NAS-Bench-201 run on the shared CIFAR-10 sample."""


SHOWN_RUNS = 10
"""`zcpt baseline random` lists its runs one a line up to this many (more: --verbose)."""


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("search", help=command_help("search"),
                       description="Run Zero-Cost-PT. Interrupted runs resume from their record in --out.")
    spec_command(s, SearchSpec, _search)
    add_run_options(s)

    b = sub.add_parser("baseline", help=command_help("baseline"))
    bsub = b.add_subparsers(dest="baseline", metavar="BASELINE")
    bsub.required = True
    r = bsub.add_parser("random", help="a uniformly random architecture per run")
    spec_command(r, RandomSpec, _random, seeds=None)
    add_run_options(r)
    r.add_argument("--verbose", action="store_true",
                   help=f"one line per run (default: only with at most {SHOWN_RUNS} runs; the statistics always)")
    n = bsub.add_parser("naswot", help="score N sampled standalone networks with a proxy, keep the best")
    spec_command(n, NaswotSpec, _naswot, default_seeds=(0, 1, 2, 3))
    add_run_options(n)

    d = sub.add_parser("demo", help=command_help("demo"))
    d.add_argument("--out", default="runs/demo", help="results store (default runs/demo)")
    d.add_argument("--device", default="auto", help="auto | cpu | cuda")
    d.set_defaults(func=_demo, specs=lambda args: [DEMO.replace(device=args.device)])


# ---------------------------------------------------------------------------- commands
def _search(args: argparse.Namespace) -> int:
    specs = args.specs(args)
    store = store_of(args, specs)
    records = []
    for spec in specs:
        record = store.run(spec, progress=not args.quiet, force=args.force)
        records.append(record)
        print_run(record, store.path_for(spec))
    if len(records) > 1:
        first = records[0].spec
        print_statistics("Zero-Cost-PT", [r.selected for r in records], first.proxy, first.order)
    return 0


def print_run(record: Any, path: Any = None) -> None:
    """A short human summary of one search record."""
    spec, sel = record.spec, record.selected
    timing = record.timing
    print(f"\nZero-Cost-PT {spec.space} proxy={spec.proxy} order={spec.order} N={spec.N} V={spec.V} "
          f"batch={spec.batch_size} seed={spec.seed}")
    print(f"  {len(record.candidates)} distinct candidate(s) from {len(record.iterations)} iteration(s); "
          f"search {timing.get('search', 0):.1f}s, validation {timing.get('validation', 0):.1f}s")
    print(f"  selected: {sel.arch}")
    for dataset, b in sel.benchmark.items():
        trials = " / ".join(f"{e:.2f}" for e in b.trial_errors) if b.trial_errors else "seed-mean"
        print(f"    {dataset:<15} test error {b.error:.2f}%  (trials: {trials})  rank {b.rank:,}")
    if record.benchmark_error:
        print(f"  benchmark: {record.benchmark_error}")
    if path is not None:
        print(f"  record: {path}")


def print_statistics(label: str, selections: Sequence[Any], proxy: Optional[str] = None, order: Optional[str] = None,
                     reference: Optional[dict] = None) -> None:
    """Mean ± std of test error over runs, next to the paper's row when it published one."""
    from ..experiments import zcpt_reference
    from ..runs.records import error_statistics

    if reference is None and proxy is not None and order is not None:
        reference = zcpt_reference(proxy, order)
    stats = error_statistics(selections)
    print(f"\n{label}: test error over {len(selections)} run(s) (mean ± std over runs of the seed-mean error, as the paper)")
    for dataset, s in stats.items():
        paper = f"   paper: {reference[dataset]}" if reference and dataset in reference else ""
        print(f"  {dataset:<15} measured: {s['mean']:.2f} ± {s['std']:.2f}  (n={s['n']}){paper}")


def _random(args: argparse.Namespace) -> int:
    from ..paper import TABLE4_METHODS

    (spec,) = args.specs(args)
    store = store_of(args, [spec], force=True)
    record = store.run(spec, force=True)  # a benchmark lookup: cheap, always recomputed
    if args.verbose or len(record.picks) <= SHOWN_RUNS:
        for seed, pick in zip(record.seeds, record.picks):
            b = pick.benchmark["cifar10"]
            print(f"seed {seed:>4}  C10 error {b.error:6.2f}%  rank {b.rank:>6,}  {pick.arch}")
    else:
        print(f"{len(record.picks)} random architectures (--verbose lists each; `zcpt results table` reads the record)")
    print_statistics("Random", record.picks, reference=TABLE4_METHODS["Random"])
    print(f"records: {store.path_for(spec)}")
    return 0


def _naswot(args: argparse.Namespace) -> int:
    from ..paper import TABLE4_METHODS

    specs = args.specs(args)
    store = store_of(args, specs)
    records = []
    bench = specs[0].load_bench()
    for spec in specs:
        rec = store.run(spec, progress=not args.quiet, force=args.force, bench=bench)
        b = rec.selected.benchmark["cifar10"]
        print(f"seed {spec.seed:>3}  C10 error {b.error:6.2f}%  rank {b.rank:>6,}  {rec.selected.arch}")
        records.append(rec)
    proxy = specs[0].proxy
    print_statistics(f"NASWOT({proxy})", [r.selected for r in records], reference=TABLE4_METHODS.get(f"NASWOT({proxy})"))
    paths = [str(store.path_for(spec)) for spec in specs]
    print(f"records: {paths[0]}" if len(paths) == 1 else f"records: {len(paths)} in {store.root} ({paths[0]} ...)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    (spec,) = args.specs(args)
    store = store_of(args, [spec], force=True)
    print("zcpt demo: Zero-Cost-PT on NAS-Bench-201 (nwot, random order, N=2, V=4, batch 64) on the shared real "
          "CIFAR-10 sample.\nThe paper's setting is N=10, V=100, batch 256: `zcpt search` (see README).")
    record = store.run(spec, progress=True, force=True)
    print_run(record, store.path_for(spec))
    return 0
