"""zcpt-analysis: reproduce and extend *Zero-Cost Proxies Meet Differentiable Architecture Search*.

The curated API (``import zcpt_analysis as zc``; names load on first use)::

    zc.score_arch(arch, proxy="nwot")        # a proxy's score of one NAS-Bench-201 architecture
    zc.search(N=10, V=100, seed=0)           # one Zero-Cost-PT search -> SearchRecord
    zc.score_operations(seed=0)              # the seven operation scores (tidy DataFrame)
    zc.plot_figure2(table)                   # Figure 2 as a plotly Figure
    zc.load_benchmark()                      # NAS-Bench-201 results
    zc.ResultStore("runs")                   # the results store: find / save / table()
    zc.reproduce(["table2"], preset="cpu")   # compute what the paper's tables need (client=: on Dask)

Bad arguments raise :class:`zc.ZcptError` (its message names the value and what is valid).
"""
from .environment import VERSION as __version__

_API = {"score_arch", "search", "score_operations", "plot_figure2", "load_benchmark", "ResultStore", "reproduce",
        "ZcptError"}
_SPECS = {"SearchSpec", "NaswotSpec", "RandomSpec", "DartsSpec", "DartsPTSpec", "ScoresSpec", "IterativeSpec",
          "TrainSpec"}
__all__ = sorted(_API | _SPECS)


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _SPECS:
        from .runs import specs

        return getattr(specs, name)
    raise AttributeError(f"module 'zcpt_analysis' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
