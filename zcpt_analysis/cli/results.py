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
    t.add_argument("--columns", default="default", metavar="NAMES",
                   help="comma-separated columns, or 'all' (default: kind, status, key settings, selected "
                        "architecture, CIFAR-10 error and rank, seconds)")
    t.add_argument("--format", default="text", choices=FORMATS, help="how to print the table (default text)")
    t.add_argument("--csv", default=None, metavar="FILE", help="write the table to a CSV file instead of printing it")
    t.set_defaults(func=_table)

    m = cmds.add_parser("migrate", help="convert a folder of first-release result files into the store")
    m.add_argument("source", help="folder (or file) of records written by zcpt-analysis before the results layer")
    m.add_argument("--out", default=None, metavar="DIR", help="results store to write (default: ./runs)")
    m.set_defaults(func=_migrate)


def _table(args: argparse.Namespace) -> int:
    from ..files import atomic_write_text, check_file_target
    from ..runs.spec import SPECS
    from ..runs.store import ResultStore

    for kind in args.kind or []:
        SPECS.get(kind)  # an unknown kind is an error naming the valid ones, not an empty table
    if args.csv:
        check_file_target(args.csv, "table file (--csv)")
    store = ResultStore(args.out)
    columns = args.columns if args.columns in ("all", "default") else [c.strip() for c in args.columns.split(",")]
    table = store.table(kinds=[SPECS.get(k).KIND for k in args.kind] if args.kind else None, columns=columns)
    if args.csv:
        atomic_write_text(args.csv, table.to_csv(index=False))
        print(f"wrote {len(table)} row(s) to {args.csv}")
        return 0
    if table.empty and args.format == "text":
        print(f"no records in {store.root}")
        return 0
    print(render_table(table, args.format))
    return 0


FORMATS: tuple[str, ...] = ("text", "csv", "json", "markdown")


def render_table(table, fmt: str) -> str:
    """``table`` (a DataFrame) as ``text`` (aligned columns, every row and column), ``csv``,
    ``json`` (a list of row objects; missing values null) or ``markdown`` (a pipe table)."""
    import json

    if fmt == "csv":
        return table.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
        return json.dumps(rows, indent=1)
    if fmt == "markdown":
        head = "| " + " | ".join(map(str, table.columns)) + " |"
        rule = "|" + "|".join("---" for _ in table.columns) + "|"
        body = ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |"
                for row in table.itertuples(index=False)]
        return "\n".join([head, rule, *body])
    return table.to_string(index=False, na_rep="", max_colwidth=100)


def _plain(value):
    """A JSON value of a table cell (pandas' NA and NaN: None; numpy numbers: Python numbers)."""
    import pandas as pd

    if value is None or (not isinstance(value, (list, dict, tuple)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _cell(value) -> str:
    value = _plain(value)
    return "" if value is None else str(value)


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
