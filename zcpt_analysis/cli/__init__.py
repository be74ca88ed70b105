"""The ``zcpt`` command line. Each subcommand lives in its own module with a ``register`` function.

Commands that compute results build their options from a run spec (:mod:`zcpt_analysis.runs.specs`)
and set ``specs=`` to a function turning parsed arguments into the list of specs they compute, so
:func:`parse_specs` reads any such command back into specs (``parse_specs(spec.to_argv()) == [spec]``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from ..allocator import configure
from ..errors import ZcptError

SUBCOMMAND_MODULES: tuple[str, ...] = ("bench", "search", "train", "proxies", "scores", "darts", "results", "reproduce",
                                       "report")
"""Modules of :mod:`zcpt_analysis.cli` that each add one subcommand (in --help order)."""


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .options import positive_int

    parser = argparse.ArgumentParser(prog="zcpt", description="Zero-Cost-PT analysis toolkit: operation scores, "
                                     "zero-cost proxies, Zero-Cost-PT search and NAS-Bench-201 lookups.")
    parser.add_argument("--version", action="version", version=f"zcpt-analysis {__version__}")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="torch intra-op CPU threads (default: torch's; use 1 when several jobs share the CPUs)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def parse_specs(argv: Sequence[str]) -> list:
    """The run specs a ``zcpt`` command computes (``argv`` with or without the leading ``zcpt``)."""
    argv = list(argv)
    if argv and argv[0] == "zcpt":
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    if not hasattr(args, "specs"):
        raise ZcptError(f"`zcpt {args.command}` computes no run spec")
    return args.specs(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        configure()  # keep freed memory for reuse (see allocator.py; ZCPT_MALLOC=off opts out)
        return int(args.func(args) or 0)
    except ZcptError as exc:
        print(f"zcpt: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # whoever read our output stopped (`zcpt bench top -k 100 | head`): end quietly, as Unix tools do;
        # stdout goes to /dev/null so that the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        from ..files import disk_full_error, is_disk_full

        if not is_disk_full(exc):
            raise
        print(f"zcpt: error: {disk_full_error(exc.filename or 'a file')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zcpt: interrupted (completed work is checkpointed where the command supports it)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
