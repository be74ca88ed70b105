"""``zcpt results``: what a results store holds (one table), and conversion of first-release files."""
from __future__ import annotations

import argparse

from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("results", help=command_help("results"))
    cmds = r.add_subparsers(dest="results_command", metavar="ACTION")
    cmds.required = True

    t = cmds.add_parser("table", help="one row per record: kind, identity, selected architecture, errors, seconds")
    t.add_argument("--out", default=None, metavar="DIR", help="results store (default: $ZCPT_HOME/runs, else ./runs)")
    t.add_argument("--kind", action="append", default=None, help="only these record kinds (repeatable)")
    t.add_argument("--csv", default=None, metavar="FILE", help="write the table to a CSV file instead of printing it")
    t.set_defaults(func=_table)

    m = cmds.add_parser("migrate", help="convert a folder of first-release result files into the store")
    m.add_argument("source", help="folder (or file) of records written by zcpt-analysis before the results layer")
    m.add_argument("--out", default=None, metavar="DIR", help="results store to write (default: ./runs)")
    m.set_defaults(func=_migrate)


def _table(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..files import atomic_write_text, check_file_target
    from ..runs.spec import SPECS
    from ..runs.store import ResultStore

    for kind in args.kind or []:
        SPECS.get(kind)  # an unknown kind is an error naming the valid ones, not an empty table
    if args.csv:
        check_file_target(args.csv, "table file (--csv)")
    store = ResultStore(args.out)
    table = store.table(kinds=[SPECS.get(k).KIND for k in args.kind] if args.kind else None)
    if args.csv:
        atomic_write_text(args.csv, table.to_csv(index=False))
        print(f"wrote {len(table)} row(s) to {args.csv}")
        return 0
    if table.empty:
        print(f"no records in {store.root}")
        return 0
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from ..runs.legacy import migrate
    from ..runs.store import ResultStore

    store = ResultStore(args.out)
    store.ensure_writable()
    report = migrate(args.source, store)
    for src, dst in report.converted:
        print(f"converted {src} -> {dst}")
    for src in report.already:
        print(f"kept      {src} (already in the current format or in the store)")
    for src, why in report.skipped:
        print(f"skipped   {src}: {why}")
    print(f"{len(report.converted)} converted, {len(report.already)} kept, {len(report.skipped)} skipped; "
          f"store: {store.root}")
    return 0
