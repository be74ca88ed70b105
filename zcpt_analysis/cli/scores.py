"""``zcpt scores``: compute (and cache) the operation scores of section 3 and print them."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import ZcptError
from ..runtime import DEVICE_CHOICES
from .options import key_values


def add_training_options(p: argparse.ArgumentParser) -> None:
    """Supernet-training options shared by ``zcpt scores``, ``zcpt darts`` and ``zcpt darts-pt``."""
    p.add_argument("--epochs", type=int, default=100, help="supernet training epochs (DARTS-PT: 100)")
    p.add_argument("--batch-size", type=int, default=64, help="training / validation minibatch (DARTS-PT: 64)")
    p.add_argument("--arch-update", default="first-order", choices=("first-order", "second-order", "fixed"),
                   help="alpha update: first-order DARTS (DARTS-PT), second-order, or fixed (DARTS-PT's 'blank')")
    p.add_argument("--learning-rate", type=float, default=0.025)
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="cap the steps of an epoch (default: one pass over the training half)")
    p.add_argument("--eval-max-images", type=int, default=None,
                   help="cap the validation images of every evaluation (default: the whole validation half)")
    p.add_argument("--train-portion", type=float, default=0.5)
    p.add_argument("--supernet-option", action="append", metavar="KEY=VALUE",
                   help="supernet shape, e.g. C=8 or N=1 (default: the paper's, C=16 N=5 for nb201)")


def add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="cifar10", help="search dataset (default cifar10)")
    p.add_argument("--data-source", default="sample", choices=("sample", "full", "png", "synthetic"),
                   help="sample: the shared 400-image CIFAR-10 sample; full: torchvision data under --data-root")
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--bench", default=None, metavar="PATH", help="NAS-Bench-201 tables (default: $ZCPT_BENCH or "
                   "../shared/data/nb201)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def darts_config_from_args(args: argparse.Namespace):
    from ..search.darts import DartsConfig

    return DartsConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                       arch_update=args.arch_update, steps_per_epoch=args.steps_per_epoch,
                       eval_max_images=args.eval_max_images, train_portion=args.train_portion)


def register(sub: argparse._SubParsersAction) -> None:
    from ..scoring import METHOD_NAMES

    p = sub.add_parser("scores", help="operation scores g(A_0, e, o) of the seven scoring methods (section 3)",
                       description="Compute the iteration-0 operation scores of the chosen methods, cache every "
                                   "method's table by its full configuration, and print them (rows: method and "
                                   "edge, columns: ops). Perturbation scores (darts-pt, zc-pt) are printed as "
                                   "computed: lower = more important op.")
    p.add_argument("--space", default="nb201")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), metavar="METHOD",
                   help=f"any of {', '.join(METHOD_NAMES)} (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy", default="nwot", help="zero-cost proxy of zc-pt / disc-zc (default nwot)")
    p.add_argument("--proxy-option", action="append", metavar="KEY=VALUE", help="proxy option, e.g. mode=train")
    p.add_argument("--proxy-batch-size", type=int, default=None,
                   help="zero-cost minibatch (default: the space's, 256 for nb201)")
    p.add_argument("--supernet-mode", default="fast", choices=("fast", "published"))
    p.add_argument("--disc-epochs", type=int, default=5, help="fine-tuning epochs of disc-acc (paper: 5)")
    p.add_argument("--darts-alpha-epoch", type=int, default=None,
                   help="take the darts score (softmax alpha) after this many epochs (paper: 60; default: last)")
    p.add_argument("--avg-acc-over", default="arch-mean", choices=("arch-mean", "trials"))
    add_training_options(p)
    add_data_options(p)
    p.add_argument("--cache-dir", default=None, help="results store (default $ZCPT_CACHE or runs/cache)")
    p.add_argument("--no-cache", action="store_true", help="compute without reading or writing the store")
    p.add_argument("--recompute", action="store_true", help="recompute and overwrite cached tables")
    p.add_argument("--out", default=None, help="also write the tidy table to this .csv or .json file")
    p.add_argument("--table1", action="store_true", help="print Table 1 (architecture selected per method, nb201)")
    p.add_argument("--correlations", action="store_true", help="print the Figure 2 Spearman matrix")
    p.add_argument("--iterative", action="store_true",
                   help="the iterative setting of A.1.1 (Figure A1): per method, score all undiscretized edges, "
                        "discretize the next edge (canonical order) with the method's choice, repeat; prints the "
                        "mean per-edge Spearman rho with --reference per iteration")
    p.add_argument("--reference", default="best-acc", help="reference method of --iterative (default best-acc)")
    p.add_argument("--retrain-epochs", type=int, default=5,
                   help="--iterative: fine-tuning epochs of darts-pt / disc-acc after each decision (paper: 5)")
    p.set_defaults(func=_scores)


def _scores(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis import correlation_matrix, table1
    from ..cache import ScoreCache, cached_scores
    from ..runtime import resolve_device
    from ..scoring import ScoringContext, get_method, score_operations
    from ..spaces import get_space

    space = get_space(args.space)
    methods = [get_method(m).name for m in args.methods]
    ctx = ScoringContext(space=space.name, seed=args.seed, supernet_kwargs=key_values(args.supernet_option,
                                                                                       "--supernet-option"),
                         supernet_mode=args.supernet_mode, device=str(resolve_device(args.device)),
                         progress=not args.quiet, bench_path=args.bench, avg_acc_over=args.avg_acc_over,
                         dataset=args.dataset, data_source=args.data_source, data_root=args.data_root,
                         proxy=args.proxy, proxy_options=key_values(args.proxy_option, "--proxy-option"),
                         proxy_batch_size=args.proxy_batch_size or space.default_batch_size,
                         darts=darts_config_from_args(args), disc_epochs=args.disc_epochs,
                         darts_alpha_epoch=args.darts_alpha_epoch)
    if any(get_method(m).network == "untrained" for m in methods):
        from ..proxies import get_proxy

        get_proxy(args.proxy)  # unknown proxy: clear error before any work
    if args.iterative:
        return _iterative(args, ctx, methods)
    if args.no_cache:
        table = score_operations(ctx, methods)
    else:
        table = cached_scores(ctx, methods, ScoreCache(args.cache_dir), recompute=args.recompute)
    wide = table.pivot_table(index=["method", "edge"], columns="op", values="score", sort=False)
    ops = list(dict.fromkeys(table["op"]))
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
        print(f"operation scores g(A_0, e, o), space {space.name}, seed {args.seed} "
              "(perturbation methods darts-pt / zc-pt: lower = more important op)")
        print(wide[ops].round(4).to_string())
        if args.correlations:
            print("\nmean per-edge Spearman rho (sign-adjusted, Figure 2):")
            print(correlation_matrix(table).round(2).to_string())
        if args.table1:
            if not space.has_benchmark:
                raise ZcptError(f"Table 1 needs NAS-Bench-201; space {space.name} has no benchmark")
            t1 = table1(table, ctx.get_bench())
            print("\nTable 1 (architecture selected per method; measured vs paper):")
            print(t1.to_string(index=False, float_format=lambda v: "" if math.isnan(v) else f"{v:.2f}"))
    _write_table(table, args.out)
    return 0


def _iterative(args: argparse.Namespace, ctx, methods: list[str]) -> int:
    """``zcpt scores --iterative``: Figure A1's data (rho with the reference per iteration)."""
    import pandas as pd

    from ..analysis import figure_a1_data, iterative_scores
    from ..cache import ScoreCache, cached_iterative_scores

    if args.no_cache:
        table = iterative_scores(ctx, methods, reference=args.reference, retrain_epochs=args.retrain_epochs)
    else:
        table = cached_iterative_scores(ctx, methods, ScoreCache(args.cache_dir), reference=args.reference,
                                        retrain_epochs=args.retrain_epochs, recompute=args.recompute)
    rho = figure_a1_data(table, reference=args.reference).pivot(index="method", columns="iteration", values="rho")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"iterative setting (A.1.1), space {ctx.space}, seed {ctx.seed}: mean per-edge Spearman rho with "
              f"{args.reference} over the undiscretized edges (columns: number of discretized edges)")
        print(rho.round(3).to_string())
    _write_table(table, args.out)
    return 0


def _write_table(table, out: str | None) -> None:
    from ..results import atomic_write_json, atomic_write_text

    if not out:
        return
    path = Path(out)
    if path.suffix == ".json":
        atomic_write_json(path, table.to_dict(orient="records"))
    else:
        atomic_write_text(path, table.to_csv(index=False))
    print(f"\nwrote {path}")
