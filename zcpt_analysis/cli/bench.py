"""``zcpt bench``: query, top-k and conversion of NAS-Bench-201 results."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bench import canonical_dataset, load_benchmark, read_tables
from ..bench.table import DATASETS
from .options import positive_int
from . import command_help


def add_bench_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", default=None, metavar="PATH",
                        help="NAS-Bench-201 tables folder, official .pth or NATS-Bench file "
                             "(default: $ZCPT_BENCH or ../shared/data/nb201)")


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help=command_help("bench"))
    cmds = bench.add_subparsers(dest="bench_command", metavar="ACTION")
    cmds.required = True

    q = cmds.add_parser("query", help="test accuracy, rank and percentile of one architecture")
    q.add_argument("arch", help="official arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2| or an index")
    q.add_argument("--dataset", default="cifar10", help=f"one of {', '.join(DATASETS)} or 'all' (default cifar10)")
    q.add_argument("--json", action="store_true", help="print JSON")
    add_bench_option(q)
    q.set_defaults(func=_query)

    t = cmds.add_parser("top", help="the k best architectures by seed-mean test accuracy")
    t.add_argument("--dataset", default="cifar10")
    t.add_argument("-k", type=positive_int, default=5, help="how many architectures (default 5)")
    add_bench_option(t)
    t.set_defaults(func=_top)

    c = cmds.add_parser("convert", help="convert the official .pth or a NATS-Bench file into tidy CSV tables")
    c.add_argument("source", help="NAS-Bench-201-v1_*.pth, or a NATS-tss-v1_0-3ffb9-simple folder / .pickle.pbz2")
    c.add_argument("--out", required=True, help="folder to write the tidy tables into")
    c.set_defaults(func=_convert)


def _query(args: argparse.Namespace) -> int:
    from ..bench.benchmark import is_index
    from ..nb201_arch import parse_arch

    wanted = None if args.dataset == "all" else (canonical_dataset(args.dataset),)
    if not is_index(args.arch):
        parse_arch(args.arch)  # a malformed arch string fails before the benchmark is read
    bench = load_benchmark(args.bench)
    arch = bench.resolve(args.arch)
    datasets = wanted or bench.datasets
    results = [bench.query(arch, d) for d in datasets]
    if args.json:
        print(json.dumps([{"arch": str(arch), "index": r.index, "dataset": r.dataset, "trials": list(r.trials),
                           "mean": r.mean, "error": r.error, "rank": r.rank, "percentile": r.percentile}
                          for r in results], indent=2))
        return 0
    first = results[0]
    print(f"arch   {arch}\nindex  {first.index}")
    for r in results:
        trials = " / ".join(f"{t:.2f}" for t in r.trials) if r.trials else "n/a (seed-mean table only)"
        print(f"{r.dataset:<15} mean test acc {r.mean:.2f}%  (error {r.error:.2f}%)  rank {r.rank:,}/{r.num_archs:,}"
              f"  percentile {r.percentile:.2f}  trials: {trials}")
    return 0


def _top(args: argparse.Namespace) -> int:
    dataset = canonical_dataset(args.dataset)
    bench = load_benchmark(args.bench)
    table = bench.top(dataset, args.k)
    for row in table.itertuples():
        print(f"{row.rank:>6}  {row.mean:6.2f}%  index {row.index:>5}  {row.arch_str}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from ..files import ensure_dir

    if not Path(args.source).expanduser().exists():
        read_tables(args.source)  # the not-found error, with where to get the benchmark (before any output)
    ensure_dir(args.out, "output folder (--out)", keep=False)  # before reading the source (minutes for a .pth)
    print(f"reading {args.source} (200-epoch test accuracy; cifar10: ori-test, cifar100 / ImageNet16-120: x-test)",
          file=sys.stderr)
    tables = read_tables(args.source)
    written = tables.write(Path(args.out))
    for path in written:
        print(f"wrote {path}")
    for dataset, df in tables.trials.items():
        print(f"  {dataset}: {len(df):,} trials of {df['index'].nunique():,} architectures")
    print(f"use it with: zcpt bench query ARCH --bench {args.out}   (or export ZCPT_BENCH={args.out})")
    return 0
