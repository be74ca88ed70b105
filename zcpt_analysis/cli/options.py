"""Execution options shared by the ``zcpt`` commands that compute results (not part of any spec)."""
from __future__ import annotations

import argparse
from typing import Any, Callable, Optional, Sequence

from ..options import add_options, from_args


def add_run_options(p: argparse.ArgumentParser, force_flags: Sequence[str] = ("--force",)) -> None:
    """``--out`` (the results store), ``--force`` (start over) and ``--quiet``."""
    p.add_argument("--out", default=None, metavar="DIR",
                   help="results store the records go into (default: $ZCPT_HOME/runs, else ./runs)")
    p.add_argument(*force_flags, dest="force", action="store_true",
                   help="compute again even if a (partial) record exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def spec_command(p: argparse.ArgumentParser, spec_cls: type, func: Callable[[argparse.Namespace], int],
                 seeds: Optional[str] = "--seeds", skip: Sequence[str] = (),
                 default_seeds: Optional[Sequence[int]] = None, **overrides: Any) -> None:
    """Give ``p`` the options of ``spec_cls`` (minus ``skip``), the run options and, with ``seeds``,
    an option computing one spec per seed; ``p``'s ``specs(args)`` builds the list of specs."""
    add_options(p, spec_cls, skip=skip)
    if seeds:
        p.add_argument(seeds, dest="seeds", type=int, nargs="+", default=None, metavar="SEED",
                       help="several seeds (one run each; prints mean ± std)"
                            + (f" (default {' '.join(map(str, default_seeds))})" if default_seeds else ""))

    def specs(args: argparse.Namespace) -> list:
        seed_list = getattr(args, "seeds", None)
        if seed_list is None and default_seeds is not None and not hasattr(args, "seed"):
            seed_list = list(default_seeds)
        if not seed_list:
            return [from_args(spec_cls, args, **overrides)]
        from ..errors import ZcptError

        if hasattr(args, "seed"):
            raise ZcptError("give either --seed or --seeds, not both")
        twice = sorted({s for s in seed_list if seed_list.count(s) > 1})
        if twice:
            raise ZcptError(f"--seeds lists seed(s) {', '.join(map(str, twice))} more than once; give each seed once")
        return [from_args(spec_cls, args, seed=s, **overrides) for s in seed_list]

    p.set_defaults(func=func, specs=specs)


def store_of(args: argparse.Namespace, specs: Sequence[Any] = (), force: Optional[bool] = None):
    """The results store named by ``--out`` (default store otherwise), checked before any work:
    it must be writable wherever one of ``specs`` still has to be computed -- all of them with
    ``force`` (default ``--force``) -- and a damaged record of one of them is reported now, too."""
    from ..runs.store import ResultStore

    store = ResultStore(args.out)
    force = bool(getattr(args, "force", False)) if force is None else force
    todo = list(specs) if force else store.missing(specs)
    for spec in todo:
        store.ensure_writable(spec)
    return store


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the error names the value and what is valid)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (at least 1), got {value}")
    return value
