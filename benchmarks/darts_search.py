"""Zero-Cost-PT (Algorithm 2) on the DARTS CNN space and the RobustDARTS subspaces S1-S4.

For every space: a full-size untrained supernet (C=16, 8 cells, batch 64 as in A.5.2), zc-pt op
selection on all 28 edges in random order, topology selection (two inputs per node), then the
validation stage over the candidates; the selected genotype is saved as JSON with cell diagrams
(SVG) and its parameter counts in the heavy (CIFAR-10: C=36, 20 layers) and mobile (C=16, 8
layers) settings. Prints the wall time of every search iteration and of the validation stage.
Final accuracies need the 600-epoch training (``zcpt train``), which this benchmark does not run.

    python benchmarks/darts_search.py --spaces darts darts-s1 darts-s2 darts-s3 darts-s4 -N 1 -V 10
    python benchmarks/darts_search.py --spaces darts -N 10 -V 100 --device cuda --data-root data/cifar10
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zcpt_analysis.files import atomic_write_json, atomic_write_text  # noqa: E402
from zcpt_analysis.runs import ResultStore, SearchSpec  # noqa: E402
from zcpt_analysis.spaces import get_space  # noqa: E402
from zcpt_analysis.spaces.darts import param_count  # noqa: E402
from zcpt_analysis.viz import genotype_svg  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spaces", nargs="+", default=["darts", "darts-s1", "darts-s2", "darts-s3", "darts-s4"])
    p.add_argument("-N", type=int, default=1)
    p.add_argument("-V", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--order", default="random")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--data-source", default="auto")
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default="runs/darts_search")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    rows = []
    for name in args.spaces:
        started = time.perf_counter()
        spec = SearchSpec(space=name, proxy="nwot", order=args.order, N=args.N, V=args.V, batch_size=args.batch_size,
                          seed=args.seed, dataset=args.dataset, data_source=args.data_source, data_root=args.data_root,
                          device=args.device)
        record = ResultStore(out).run(spec, progress=not args.quiet)
        genotype = get_space(name).parse(record.selected.arch)
        stem = f"{name}-{args.dataset}-s{args.seed}"
        atomic_write_json(out / f"{stem}-genotype.json", {"space": name, "genotype": genotype.to_json()})
        atomic_write_text(out / f"{stem}-cells.svg", genotype_svg(genotype))
        heavy = param_count(genotype, "heavy", num_classes=10)
        mobile = param_count(genotype, "mobile", num_classes=100 if args.dataset == "cifar100" else 10)
        its = [it.seconds for it in record.iterations]
        rows.append({"space": name, "iteration_seconds": its, "validation_seconds": record.timing["validation"],
                     "evaluations_per_iteration": record.iterations[0].evaluations,
                     "candidates": len(record.candidates), "heavy_params": heavy, "mobile_params": mobile,
                     "genotype": genotype.to_json(), "engine": record.engine, "wall_seconds": time.perf_counter() - started})
        print(f"\n{name}: {len(its)} iteration(s), {rows[-1]['evaluations_per_iteration']} zc-pt evaluations each, "
              f"{sum(its) / len(its):.0f}s per iteration (+ topology); validation V={args.V}: "
              f"{record.timing['validation']:.0f}s; params heavy {heavy / 1e6:.2f}M, mobile {mobile / 1e6:.2f}M")
        print(f"  genotype: {genotype}")
    print(f"\n{'space':<10}{'s/iteration':>12}{'validation s':>14}{'heavy M':>9}{'mobile M':>10}")
    for r in rows:
        print(f"{r['space']:<10}{sum(r['iteration_seconds']) / len(r['iteration_seconds']):>12.0f}"
              f"{r['validation_seconds']:>14.0f}{r['heavy_params'] / 1e6:>9.2f}{r['mobile_params'] / 1e6:>10.2f}")
    atomic_write_json(out / f"summary-N{args.N}-V{args.V}-s{args.seed}.json", {"args": vars(args), "spaces": rows})


if __name__ == "__main__":
    main()
