"""``zcpt search``, ``zcpt baseline`` and ``zcpt demo``: Zero-Cost-PT and its NAS-Bench-201 baselines."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..results import atomic_write_json
from ..runtime import DEVICE_CHOICES
from ..search.orderings import ORDERINGS
from .options import key_values

DEMO = dict(space="nb201", proxy="nwot", order="random", N=2, V=4, batch_size=64, seed=0, dataset="cifar10")
"""The embedded default of ``zcpt demo``: a short NAS-Bench-201 run on the shared CIFAR-10 sample."""


def _add_data_options(p: argparse.ArgumentParser, batch_size: int | None) -> None:
    p.add_argument("--dataset", default="cifar10", help="dataset for proxy inputs (default cifar10)")
    p.add_argument("--data-source", default="auto", choices=("auto", "sample", "png", "full", "synthetic"),
                   help="auto: the full dataset when --data-root is given, else the shared CIFAR-10 sample")
    p.add_argument("--data-root", default=None, help="folder of the full dataset (torchvision / ImageNet16 format)")
    if batch_size is not None:
        p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--bench", default=None, metavar="PATH", help="NAS-Bench-201 tables (default: $ZCPT_BENCH or "
                   "../shared/data/nb201)")
    p.add_argument("--out", default="runs", help="folder for result records (default runs/)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("search", help="run Zero-Cost-PT (Algorithm 1 / 2)",
                       description="Run Zero-Cost-PT. Interrupted runs resume from their record in --out.")
    s.add_argument("--space", default="nb201", help="search space (nb201, darts, darts-s1..s4, ...)")
    s.add_argument("--proxy", default="nwot", help="zero-cost proxy (see `zcpt proxies list`)")
    s.add_argument("--order", default="random", choices=ORDERINGS, help="edge discretization ordering")
    s.add_argument("-N", type=int, default=10, help="search iterations (default 10)")
    s.add_argument("-V", type=int, default=100, help="validation minibatches (default 100)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--seeds", type=int, nargs="+", default=None, help="several seeds; prints mean ± std")
    s.add_argument("--compat", default="fast", choices=("fast", "published"),
                   help="published: run the supernet and nwot hooks as the published code does")
    s.add_argument("--train-portion", type=float, default=None)
    s.add_argument("--proxy-option", action="append", metavar="KEY=VALUE", help="proxy option, e.g. mode=train")
    s.add_argument("--supernet-option", action="append", metavar="KEY=VALUE", help="supernet option, e.g. C=8")
    s.add_argument("--network-option", action="append", metavar="KEY=VALUE",
                   help="option of the validation stage's standalone networks, e.g. C=8")
    s.add_argument("--topology", default="algorithm2", choices=("algorithm2", "iterative"),
                   help="DARTS topology selection (Algorithm 2, or the published code's iterative removal)")
    s.add_argument("--engine", default="auto", choices=("auto", "batched", "simple"),
                   help="batched: all perturbations of an edge in one forward (nwot, eval mode); simple: one "
                        "forward per perturbation (any proxy); auto: batched when it applies")
    s.add_argument("--channels-last", default=None, action=argparse.BooleanOptionalAction,
                   help="NHWC convolutions (default: on CPU)")
    s.add_argument("--published-once-order", action="store_true",
                   help="global-*-once: discretize in the published code's order (reverse canonical, see "
                        "search/orderings.py) instead of the ranking section 4.2 describes")
    s.add_argument("--force", action="store_true", help="start over even if a record exists")
    _add_data_options(s, batch_size=None)
    s.add_argument("--batch-size", type=int, default=None, help="proxy minibatch size (default: the space's, "
                   "256 for nb201, 64 for darts)")
    s.set_defaults(func=_search)

    b = sub.add_parser("baseline", help="NAS-Bench-201 baselines: random architectures, NASWOT")
    bsub = b.add_subparsers(dest="baseline", metavar="BASELINE")
    bsub.required = True
    r = bsub.add_parser("random", help="a uniformly random architecture per run")
    r.add_argument("--runs", type=int, default=4)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--bench", default=None, metavar="PATH")
    r.add_argument("--out", default="runs/baselines", help="folder for the records (random-n{RUNS}-s{SEED}.json)")
    r.set_defaults(func=_random)
    n = bsub.add_parser("naswot", help="score N sampled standalone networks with a proxy, keep the best")
    n.add_argument("--proxy", default="nwot")
    n.add_argument("--n-samples", type=int, default=1000)
    n.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    n.add_argument("--score-seed", type=int, default=0, help="seed of the fixed minibatch and network inits")
    n.add_argument("--proxy-option", action="append", metavar="KEY=VALUE")
    n.add_argument("--network-option", action="append", metavar="KEY=VALUE", help="standalone network option, e.g. C=8")
    _add_data_options(n, batch_size=128)
    n.set_defaults(func=_naswot)

    d = sub.add_parser("demo", help="a short Zero-Cost-PT run on NAS-Bench-201 with the shared CIFAR-10 sample")
    d.add_argument("--out", default="runs/demo")
    d.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    d.set_defaults(func=_demo)


# ---------------------------------------------------------------------------- commands
def _search(args: argparse.Namespace) -> int:
    from ..search.zcpt import ZcptConfig, error_statistics, run_zcpt
    from ..spaces import get_space

    space = get_space(args.space)
    seeds = args.seeds if args.seeds else [args.seed]
    records = []
    for seed in seeds:
        config = ZcptConfig(space=space.name, proxy=args.proxy, order=args.order, N=args.N, V=args.V,
                            batch_size=args.batch_size or space.default_batch_size, seed=seed, dataset=args.dataset,
                            data_source=args.data_source, data_root=args.data_root, train_portion=args.train_portion,
                            device=args.device, compat=args.compat,
                            proxy_options=key_values(args.proxy_option, "--proxy-option"),
                            supernet_options=key_values(args.supernet_option, "--supernet-option"),
                            network_options=key_values(args.network_option, "--network-option"),
                            topology=args.topology, bench=args.bench, engine=args.engine,
                            channels_last=args.channels_last, published_once_order=args.published_once_order)
        record = run_zcpt(config, out_dir=args.out, progress=not args.quiet, force=args.force)
        records.append(record)
        print_run(record, Path(args.out) / config.result_name())
    if len(records) > 1:
        print_statistics("Zero-Cost-PT", records, error_statistics(records), args.proxy, args.order)
    return 0


def print_run(record: dict[str, Any], path: Path | None = None) -> None:
    """A short human summary of one search record."""
    cfg, sel = record["config"], record["selected"]
    cands = record["candidates"]
    timing = record.get("timing", {})
    print(f"\nZero-Cost-PT {cfg['space']} proxy={cfg['proxy']} order={cfg['order']} N={cfg['N']} V={cfg['V']} "
          f"batch={cfg['batch_size']} seed={cfg['seed']}")
    print(f"  {len(cands)} distinct candidate(s) from {len(record['iterations'])} iteration(s); "
          f"search {timing.get('search_seconds', 0):.1f}s, validation {timing.get('validation_seconds', 0):.1f}s")
    print(f"  selected: {sel['arch']}")
    for dataset, b in (sel.get("benchmark") or {}).items():
        trials = " / ".join(f"{e:.2f}" for e in b["trial_errors"]) if b["trial_errors"] else "seed-mean"
        print(f"    {dataset:<15} test error {b['error']:.2f}%  (trials: {trials})  rank {b['rank']:,}")
    if record.get("benchmark_error"):
        print(f"  benchmark: {record['benchmark_error']}")
    if path is not None:
        print(f"  record: {path}")


def print_statistics(label: str, records: list[dict[str, Any]], stats: dict[str, dict[str, float]],
                     proxy: str | None = None, order: str | None = None, reference: dict | None = None) -> None:
    """Mean ± std of test error over runs, next to the paper's row when it published one."""
    from ..paper import zcpt_reference

    if reference is None and proxy is not None and order is not None:
        reference = zcpt_reference(proxy, order)
    print(f"\n{label}: test error over {len(records)} run(s) (mean ± std over runs of the seed-mean error, as the paper)")
    for dataset, s in stats.items():
        paper = f"   paper: {reference[dataset]}" if reference and dataset in reference else ""
        print(f"  {dataset:<15} measured: {s['mean']:.2f} ± {s['std']:.2f}  (n={s['n']}){paper}")


def _random(args: argparse.Namespace) -> int:
    from ..bench import load_benchmark
    from ..paper import TABLE4_METHODS
    from ..search.baselines import random_baseline
    from ..search.zcpt import error_statistics

    records = random_baseline(load_benchmark(args.bench), runs=args.runs, seed=args.seed)
    for rec in records:
        b = rec["selected"]["benchmark"]["cifar10"]
        print(f"seed {rec['config']['seed']:>4}  C10 error {b['error']:6.2f}%  rank {b['rank']:>6,}  {rec['selected']['arch']}")
    print_statistics("Random", records, error_statistics(records), reference=TABLE4_METHODS["Random"])
    path = atomic_write_json(Path(args.out) / f"random-n{args.runs}-s{args.seed}.json", records)
    print(f"records: {path}")
    return 0


def _naswot(args: argparse.Namespace) -> int:
    from ..bench import load_benchmark
    from ..paper import TABLE4_METHODS
    from ..search.baselines import NaswotConfig, NaswotScoreTable, naswot_run
    from ..search.zcpt import error_statistics

    options = key_values(args.proxy_option, "--proxy-option") if args.proxy_option else None
    cfg = NaswotConfig(proxy=args.proxy, n_samples=args.n_samples, batch_size=args.batch_size,
                       score_seed=args.score_seed, dataset=args.dataset, data_source=args.data_source,
                       data_root=args.data_root, device=args.device, proxy_options=options, bench=args.bench,
                       network_options=key_values(args.network_option, "--network-option"))
    out = Path(args.out)
    table = NaswotScoreTable(cfg, out / cfg.score_table_name())
    bench = load_benchmark(args.bench)
    records = []
    for seed in args.seeds:
        rec = naswot_run(table, seed, bench=bench, progress=not args.quiet)
        atomic_write_json(out / f"naswot-{args.proxy}-n{args.n_samples}-s{seed}.json", rec)
        b = rec["selected"]["benchmark"]["cifar10"]
        print(f"seed {seed:>3}  C10 error {b['error']:6.2f}%  rank {b['rank']:>6,}  {rec['selected']['arch']}")
        records.append(rec)
    print_statistics(f"NASWOT({args.proxy})", records, error_statistics(records),
                     reference=TABLE4_METHODS.get(f"NASWOT({args.proxy})"))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ..search.zcpt import ZcptConfig, run_zcpt

    config = ZcptConfig(device=args.device, **DEMO)  # type: ignore[arg-type]
    print("zcpt demo: Zero-Cost-PT on NAS-Bench-201 (nwot, random order, N=2, V=4, batch 64) on the shared real "
          "CIFAR-10 sample.\nThe paper's setting is N=10, V=100, batch 256: `zcpt search` (see README).")
    record = run_zcpt(config, out_dir=args.out, force=True)
    print_run(record, Path(args.out) / config.result_name())
    return 0
