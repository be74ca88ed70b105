"""``zcpt scores``: compute (and store) the operation scores of section 3 and print them."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import ZcptError
from ..options import add_options, from_args
from ..runs.specs import IterativeSpec, ScoresSpec
from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    from ..scoring import METHOD_NAMES

    p = sub.add_parser("scores", help=command_help("scores"),
                       description="Compute the iteration-0 operation scores of the chosen methods, store every "
                                   "method's table (one record per method) in --out, and print them (rows: method "
                                   "and edge, columns: ops). Perturbation scores (darts-pt, zc-pt) are printed as "
                                   "computed: lower = more important op.")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), metavar="METHOD",
                   help=f"any of {', '.join(METHOD_NAMES)} (default: all)")
    add_options(p, IterativeSpec, skip=("methods",))
    p.add_argument("--iterative", action="store_true",
                   help="the iterative setting of A.1.1 (Figure A1): per method, score all undiscretized edges, "
                        "discretize the next edge (canonical order) with the method's choice, repeat; prints the "
                        "mean per-edge Spearman rho with --reference per iteration")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="results store (default: $ZCPT_HOME/runs, else ./runs)")
    p.add_argument("--no-store", action="store_true", help="compute without reading or writing the store")
    p.add_argument("--force", action="store_true", help="recompute and overwrite stored tables")
    p.add_argument("--export", default=None, metavar="FILE",
                   help="also write the tidy table to this file (.csv or .json)")
    p.add_argument("--table1", action="store_true", help="print Table 1 (architecture selected per method, nb201)")
    p.add_argument("--correlations", action="store_true", help="print the Figure 2 Spearman matrix")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_scores, specs=_specs)


def _specs(args: argparse.Namespace) -> list:
    if args.iterative:
        for flag in ("table1", "correlations"):
            if getattr(args, flag, False):
                raise ZcptError(f"--{flag} applies to the iteration-0 scores only; drop --iterative or --{flag}")
        return [from_args(IterativeSpec, args, methods=tuple(args.methods))]
    for flag, dest in (("--reference", "reference"), ("--retrain-epochs", "retrain_epochs")):
        if hasattr(args, dest):
            raise ZcptError(f"{flag} applies to the iterative setting only; add --iterative or drop {flag}")
    return [from_args(ScoresSpec, args, method=m) for m in dict.fromkeys(args.methods)]


def _scores(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..scoring.analysis import correlation_matrix, table1
    from ..files import check_file_target
    from ..runs.spec import execute
    from ..runs.store import ResultStore
    from ..scoring import ScoringContext

    specs = _specs(args)
    if args.table1:
        from ..spaces import get_space

        if not get_space(specs[0].space).has_benchmark:
            raise ZcptError(f"Table 1 needs NAS-Bench-201; space {specs[0].space} has no benchmark (drop --table1)")
    if args.export:
        check_file_target(args.export, "export file (--export)", suffixes=(".csv", ".json"))
    if args.no_store:
        for flag, given in (("--force", args.force), ("--out", args.out is not None)):
            if given:
                raise ZcptError(f"{flag} has no effect with --no-store (nothing is read or written); drop one")
        store = None
    else:
        store = ResultStore(args.out)
        for spec in (specs if args.force else store.missing(specs)):
            store.ensure_writable(spec)
    context = ScoringContext(settings=specs[0])
    if args.iterative:
        return _iterative(args, specs[0], store, context)
    tables = []
    for spec in specs:
        if store is None:
            record = execute(spec, None, progress=not args.quiet, context=context)
        else:
            record = store.run(spec, progress=not args.quiet, force=args.force, context=context)
        tables.append(record.table())
    table = pd.concat(tables, ignore_index=True)
    first = specs[0]
    wide = table.pivot_table(index=["method", "edge"], columns="op", values="score", sort=False)
    ops = list(dict.fromkeys(table["op"]))
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
        print(f"operation scores g(A_0, e, o), space {first.space}, seed {first.seed} "
              "(perturbation methods darts-pt / zc-pt: lower = more important op)")
        print(wide[ops].round(4).to_string())
        if args.correlations:
            print("\nmean per-edge Spearman rho (sign-adjusted, Figure 2):")
            print(correlation_matrix(table).round(2).to_string())
        if args.table1:
            t1 = table1(table, context.get_bench())
            print("\nTable 1 (architecture selected per method; measured vs paper):")
            print(t1.to_string(index=False, float_format=lambda v: "" if math.isnan(v) else f"{v:.2f}"))
    _export(table, args.export)
    return 0


def _iterative(args: argparse.Namespace, spec: IterativeSpec, store, context) -> int:
    """``zcpt scores --iterative``: Figure A1's data (rho with the reference per iteration)."""
    import pandas as pd

    from ..scoring.analysis import figure_a1_data
    from ..runs.spec import execute

    if store is None:
        record = execute(spec, None, progress=not args.quiet, context=context)
    else:
        record = store.run(spec, progress=not args.quiet, force=args.force, context=context)
    table = record.table()
    rho = figure_a1_data(table, reference=spec.reference).pivot(index="method", columns="iteration", values="rho")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"iterative setting (A.1.1), space {spec.space}, seed {spec.seed}: mean per-edge Spearman rho with "
              f"{spec.reference} over the undiscretized edges (columns: number of discretized edges)")
        print(rho.round(3).to_string())
    _export(table, args.export)
    return 0


def _export(table, out: str | None) -> None:
    from ..files import atomic_write_json, atomic_write_text

    if not out:
        return
    path = Path(out)
    if path.suffix == ".json":
        atomic_write_json(path, table.to_dict(orient="records"))
    else:
        atomic_write_text(path, table.to_csv(index=False))
    print(f"\nwrote {path}")
