"""The ``zcpt`` command line. Each subcommand lives in its own module with a ``register`` function.

Commands that compute results build their options from a run spec (:mod:`zcpt_analysis.runs.specs`)
and set ``specs=`` to a function turning parsed arguments into the list of specs they compute, so
:func:`parse_specs` reads any such command back into specs (``parse_specs(spec.to_argv()) == [spec]``).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings
from collections import Counter
from typing import Iterator, Sequence, TextIO

from ..allocator import configure
from ..errors import ZcptError

COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("bench", "query NAS-Bench-201 results (200-epoch test accuracy)"),
    "search": ("search", "run Zero-Cost-PT (Algorithm 1 / 2)"),
    "baseline": ("search", "NAS-Bench-201 baselines: random architectures, NASWOT"),
    "demo": ("search", "a short Zero-Cost-PT run on NAS-Bench-201 with the shared CIFAR-10 sample"),
    "train": ("train", "train a DARTS genotype (600-epoch DARTS protocol, checkpoint/resume)"),
    "proxies": ("proxies", "zero-cost proxies: list them, score an NAS-Bench-201 architecture"),
    "scores": ("scores", "operation scores g(A_0, e, o) of the seven scoring methods (section 3)"),
    "darts": ("darts", "train a DARTS supernet and derive its architecture (argmax alpha)"),
    "darts-pt": ("darts", "DARTS-PT: perturbation-based selection on a trained supernet"),
    "results": ("results", "the records in a results store: a table, or convert first-release files"),
    "reproduce": ("reproduce", "compute every run the paper's tables need (Dask cluster or serial), then optionally "
                               "report"),
    "report": ("report", "execute the notebooks (papermill) and render HTML reports with an index"),
}
"""Each subcommand (in --help order): the module of :mod:`zcpt_analysis.cli` whose ``register`` adds
it, and its one-line help (the module's ``add_parser`` reads it here: :func:`command_help`)."""
SUBCOMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))
"""Modules of :mod:`zcpt_analysis.cli` that each add subcommands."""


def command_help(name: str) -> str:
    """The one-line help of the subcommand ``name`` (:data:`COMMANDS`)."""
    return COMMANDS[name][1]


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The ``zcpt`` parser with every subcommand (``command="*"``), or with only ``command``'s module
    registered in full and the other subcommands as names with their help (what ``zcpt --help``
    shows): a command imports only what it needs, and ``zcpt --help`` / ``--version`` no heavy
    library (torch, pandas' users) at all."""
    from .. import __version__
    from .options import positive_int

    parser = argparse.ArgumentParser(prog="zcpt", description="Zero-Cost-PT analysis toolkit: operation scores, "
                                     "zero-cost proxies, Zero-Cost-PT search and NAS-Bench-201 lookups.")
    parser.add_argument("--version", action="version", version=f"zcpt-analysis {__version__}")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="torch intra-op CPU threads (default: torch's; use 1 when several jobs share the CPUs)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    full = set(SUBCOMMAND_MODULES) if command == "*" else {COMMANDS[command][0]} if command in COMMANDS else set()
    registered: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if module in full and module not in registered:
            importlib.import_module(f"{__name__}.{module}").register(sub)
            registered.add(module)
        elif module not in full:
            sub.add_parser(name, help=help_text)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (the first word after the global options), None if none."""
    args = list(argv)
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--threads":
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return None


def parse_specs(argv: Sequence[str]) -> list:
    """The run specs a ``zcpt`` command computes (``argv`` with or without the leading ``zcpt``)."""
    argv = list(argv)
    if argv and argv[0] == "zcpt":
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    if not hasattr(args, "specs"):
        raise ZcptError(f"`zcpt {args.command}` computes no run spec")
    return args.specs(args)


@contextlib.contextmanager
def gathered_warnings(stream: TextIO | None = None) -> Iterator[None]:
    """Hold back the warnings raised inside the block (progress bars stay whole) and print each
    distinct one afterwards on one line, with how often it was raised, to ``stream`` (stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            counts = Counter((w.category.__name__, str(w.message)) for w in caught)
            for (category, message), n in counts.items():
                times = f" ({n} times)" if n > 1 else ""
                print(f"zcpt: warning: {category}: {' '.join(message.split())}{times}", file=stream or sys.stderr)


LOG_PROGRESS: dict[str, str] = {"TQDM_POSITION": "0", "TQDM_MININTERVAL": "30"}
"""tqdm's settings when stderr is not a terminal (a log file, a pipe): no cursor movements between
nested bars, an update every 30 s at most (a variable the user set is kept)."""


def progress_for_logs() -> None:
    """Progress bars that read well in a log when stderr is not a terminal (:data:`LOG_PROGRESS`)."""
    if not sys.stderr.isatty():
        for key, value in LOG_PROGRESS.items():
            os.environ.setdefault(key, value)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    progress_for_logs()
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        configure()  # keep freed memory for reuse (see allocator.py; ZCPT_MALLOC=off opts out)
        with gathered_warnings():
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
