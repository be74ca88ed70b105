"""Zero-Cost-PT on NAS-Bench-201 for several seeds, next to the paper's published row.

Runs (or resumes) ``zcpt search`` for every seed on the real CIFAR-10 sample (or ``--data-root``
with the full dataset), looks the selected architectures up in the real NAS-Bench-201 tables and
prints CIFAR-10 / CIFAR-100 / ImageNet16-120 test error mean ± std over search seeds of the selected
architecture's seed-mean error (the paper's convention) next to the paper's Table 2 / 3 / 4 row
(its setting: N=10, V=100, batch 256), with wall times.

    python benchmarks/nb201_search.py --proxy nwot --order random --seeds 0 1 2 3 -N 10 -V 100
    python benchmarks/nb201_search.py --proxy synflow
    python benchmarks/nb201_search.py --order global-op-iter
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zcpt_analysis.experiments import zcpt_reference  # noqa: E402
from zcpt_analysis.runs import ResultStore, SearchSpec, error_statistics  # noqa: E402
from zcpt_analysis.files import atomic_write_json  # noqa: E402
from zcpt_analysis.searches.orderings import ORDERINGS  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--order", default="random", choices=ORDERINGS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("-N", type=int, default=10)
    p.add_argument("-V", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--supernet-mode", default="fast", choices=("fast", "published"))
    p.add_argument("--data-source", default="auto")
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default="runs/nb201_search")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    records, started = [], time.perf_counter()
    for seed in args.seeds:
        spec = SearchSpec(proxy=args.proxy, order=args.order, N=args.N, V=args.V, batch_size=args.batch_size,
                          seed=seed, supernet_mode=args.supernet_mode, data_source=args.data_source, data_root=args.data_root,
                          device=args.device)
        records.append(ResultStore(args.out).run(spec, progress=not args.quiet))

    print(f"\nZero-Cost-PT on NAS-Bench-201: proxy={args.proxy} order={args.order} N={args.N} V={args.V} "
          f"batch={args.batch_size} supernet_mode={args.supernet_mode} data={records[0].data['source']} "
          f"(pool {records[0].data['pool_size']} images) engine={records[0].engine}")
    print(f"{'seed':>4} {'cands':>5} {'C10 err':>8} {'C100 err':>9} {'IN16 err':>9} {'C10 rank':>9} "
          f"{'search s':>9} {'valid s':>8}  selected")
    for rec in records:
        b = rec.selected.benchmark
        t = rec.timing
        print(f"{rec.spec.seed:>4} {len(rec.candidates):>5} {b['cifar10'].error:>8.2f} "
              f"{b['cifar100'].error:>9.2f} {b['ImageNet16-120'].error:>9.2f} {b['cifar10'].rank:>9,} "
              f"{t['search']:>9.0f} {t['validation']:>8.0f}  {rec.selected.arch}")
    stats = error_statistics([r.selected for r in records])
    reference = zcpt_reference(args.proxy, args.order)
    same_setting = (args.N, args.V, args.batch_size) == (10, 100, 256)
    print("\ntest error (%), mean ± std over search seeds of the selected architecture's seed-mean error")
    if reference and not same_setting:
        print("  (the paper's row is for N=10, V=100, batch 256 on full CIFAR-10; this run's setting differs)")
    for dataset, s in stats.items():
        paper = f"   paper: {reference[dataset]}" if reference else "   paper: (no published row for this proxy/order)"
        print(f"  {dataset:<15} measured: {s['mean']:.2f} ± {s['std']:.2f} (n={s['n']}){paper}")
    wall = time.perf_counter() - started
    search_s = sum(r.timing["search"] for r in records)
    valid_s = sum(r.timing["validation"] for r in records)
    print(f"\ntime in records: search {search_s:.0f}s, validation {valid_s:.0f}s "
          f"({search_s / len(records) / args.N:.1f}s per search iteration); this invocation {wall:.0f}s "
          f"(resumed runs count only what ran now)")
    summary = {"args": vars(args), "statistics": stats, "paper_setting": "N=10, V=100, batch 256",
               "paper": {d: str(v) for d, v in reference.items()} if reference else None,
               "runs": [{"seed": r.spec.seed, "selected": r.selected.to_json(), "timing": r.timing,
                         "candidates": len(r.candidates)} for r in records]}
    atomic_write_json(Path(args.out) / f"summary-{args.proxy}-{args.order}-N{args.N}-V{args.V}-b{args.batch_size}-"
                      f"{args.supernet_mode}.json", summary)


if __name__ == "__main__":
    main()
