"""The curated Python API (``import zcpt_analysis as zc``): one call per everyday task.

* :func:`score_arch` -- a zero-cost proxy's score of one NAS-Bench-201 architecture;
* :func:`search` -- one Zero-Cost-PT search, returning its typed record;
* :func:`score_operations` -- the operation scores ``g(A_0, e, o)`` of the seven methods;
* :func:`plot_figure2` -- Figure 2 (the correlation heatmap) of a score table;
* :func:`load_benchmark`, :class:`ResultStore`;
* :func:`reproduce` -- compute what the paper's tables need (here, or on a Dask cluster).
"""
from __future__ import annotations

import inspect
import os
from typing import Any, Optional, Sequence

from .bench import load_benchmark
from .errors import ZcptError, short_repr
from .proxies.arch_scores import score_arch
from .runs.records import SearchRecord
from .runs.specs import ScoresSpec, SearchSpec
from .runs.store import ResultStore, as_store


def _names(value: Any, what: str) -> list[str]:
    """``value`` as a list of names: a single name is a one-element list (never split into its
    characters); anything but a name or a non-empty list of names is a :class:`ZcptError`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ZcptError(f"{what} must be a name or a non-empty list of names, got {type(value).__name__} "
                    f"{short_repr(value)}")


def _store(store: Any) -> Optional[ResultStore]:
    """``store`` as a :class:`ResultStore` (a folder path becomes one; None stays None)."""
    if store is not None and not isinstance(store, (ResultStore, str, os.PathLike)):
        raise ZcptError(f"store must be a ResultStore or a folder path, got {type(store).__name__} {short_repr(store)}")
    return as_store(store)


def search(store: Any = None, progress: bool = True, **settings: Any) -> SearchRecord:
    """Run (or read from ``store``) one Zero-Cost-PT search; ``settings`` are the fields of
    :class:`~zcpt_analysis.runs.specs.SearchSpec` (``space="nb201", proxy="nwot",
    order="random", N=10, V=100, batch_size=None, seed=0, ...``). Without a store the search runs
    in memory; with one (a :class:`ResultStore` or its folder) it resumes and is saved there."""
    spec = SearchSpec(**settings)
    return spec.run(_store(store), progress=progress)


def score_operations(methods: Sequence[str] = ("best-acc", "avg-acc", "disc-acc", "darts-pt", "disc-zc", "zc-pt",
                                               "darts"),
                     store: Any = None, progress: bool = False, **settings: Any):
    """The tidy table of iteration-0 operation scores of ``methods`` (columns ``edge, op, method,
    score, higher_is_better, for_correlation, ...``; perturbation methods are lower-is-better).
    ``settings`` are the fields of :class:`~zcpt_analysis.runs.specs.ScoresSpec` (``seed``,
    ``proxy``, ``proxy_batch_size``, ``supernet_options``, ``darts``, ...); tables are read from /
    saved into ``store`` when given."""
    import pandas as pd

    specs = [ScoresSpec(method=m, **settings) for m in _names(methods, "methods")]
    from .scoring import ScoringContext

    context = ScoringContext(settings=specs[0])
    store = _store(store)
    tables = [s.run(store, progress=progress, context=context).table() for s in specs]
    return pd.concat(tables, ignore_index=True)


def plot_figure2(score_table: Any, title: Optional[str] = "Figure 2: mean per-edge Spearman rho"):
    """Figure 2 of a score table: the heatmap of the mean per-edge Spearman correlation between
    every pair of methods (sign-adjusted: positive = the methods agree on which ops are strong)."""
    import pandas as pd

    from .scoring.analysis import correlation_matrix
    from .viz import heatmap_figure

    if not isinstance(score_table, pd.DataFrame):
        raise ZcptError(f"plot_figure2 needs the score table of zc.score_operations() (a pandas DataFrame), got "
                        f"{type(score_table).__name__} {short_repr(score_table)}")
    return heatmap_figure(correlation_matrix(score_table), title=title)


def reproduce(targets: Optional[Sequence[str]] = None, preset: str = "smoke", store: Any = None, client: Any = None,
              **options: Any):
    """Compute what the paper's ``targets`` (``"table2"``, ...; default all) need in ``preset``
    (``smoke``, ``cpu``, ``paper``) into ``store`` (a :class:`ResultStore` or folder; default
    ``runs/<preset>``), skipping what is stored. With a Dask ``client`` (e.g.
    ``Client(zcpt_analysis.runs.sweep.local_cluster(workers=2))``, or one of a dask-jobqueue
    cluster) every spec is one task on its cluster -- the dashboard link is printed -- without one
    the specs run here, one after the other. ``options``: ``seeds``, ``only``, ``data_root``,
    ``device``, ``dry_run``, ``report``, ``progress``, ``executor``, ``scheduler``, ``workers``,
    ``threads_per_worker`` (see :func:`zcpt_analysis.experiments.reproduce.reproduce`).

    Returns a :class:`~zcpt_analysis.runs.sweep.SweepResult` (``.ok``, ``.failed``, ``.table()``,
    ``.summary()``), or the plan with ``dry_run=True``."""
    from .experiments.reproduce import reproduce as _reproduce

    valid = [n for n, p in inspect.signature(_reproduce).parameters.items() if p.kind == p.KEYWORD_ONLY]
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise ZcptError(f"unknown reproduce option(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    seeds = options.get("seeds")
    if seeds is not None:
        seeds = [seeds] if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
        if not isinstance(seeds, (list, tuple)) or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
            raise ZcptError(f"seeds must be a list of integer seeds (e.g. [0, 1]), got {short_repr(seeds)}")
        options["seeds"] = list(seeds)
    if isinstance(options.get("only"), str):
        options["only"] = [options["only"]]
    if "executor" not in options:
        options["executor"] = "dask" if client is not None or options.get("scheduler") else "serial"
    return _reproduce(_names(targets, "targets") if targets is not None else None, preset, _store(store), client,
                      **options)


__all__ = ["score_arch", "search", "score_operations", "plot_figure2", "load_benchmark", "ResultStore", "reproduce",
           "ZcptError"]
