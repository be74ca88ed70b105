"""Step through one Zero-Cost-PT search iteration, edge by edge (a JupyterLab widget).

The logic is a plain object, :class:`StepThrough`, built on
:meth:`ZeroCostPT.iteration_steps <zcpt_analysis.searches.zcpt.ZeroCostPT.iteration_steps>`: each
:meth:`~StepThrough.next` makes (or replays) one zc-pt decision -- the op whose removal lowers the
proxy score most is kept on the next edge of the ordering -- and leaves the supernet discretized
that far; :meth:`~StepThrough.back` undoes the last decision (``supernet.undo()``), :meth:`~StepThrough.reset`
returns to ``A_0`` and :meth:`~StepThrough.run_to_end` finishes the iteration (with topology
selection in the DARTS spaces). Decisions are computed once and cached, so *back* then *next*
replays the cached decision instead of re-scoring; the final architecture is therefore exactly
``ZeroCostPT(config).search_iteration(iteration).arch``.

:meth:`~StepThrough.view` returns a plain dict (the state, the current decision, the oracle
best-acc / avg-acc scores of the decided edge from NAS-Bench-201 via :mod:`zcpt_analysis.scoring`,
and at the end the architecture with its benchmark accuracy and rank); :func:`view_figures` draws
it (the supernet cell with discretized edges highlighted, and bar charts of the candidate ops'
scores); :class:`StepThroughWidget` is the ipywidgets UI (pick space, proxy, ordering and seed;
next / back / reset / run to end / cancel, preset) driving a :class:`StepThrough`; it computes in a
background thread with every control disabled meanwhile, so a double click makes one step, and a
long step can be cancelled (:class:`StepCancelled`).

Caveat: the S4 space's ``noise`` op draws from the global torch RNG, which the search seeds at the
start of the iteration; code that draws random numbers between two steps changes later noise.
"""
from __future__ import annotations

import contextlib
import html
import inspect
import threading
import time
from typing import Any, Callable, Iterator, Optional

from .cell_diagrams import display_edge_name
from .errors import StateError, ZcptError
from .searches.orderings import Step

ORACLE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc")
ORACLE = "best-acc"
"""The oracle the proxy's choices are compared with (the op whose best consistent architecture is
most accurate on NAS-Bench-201)."""


class StepCancelled(ZcptError):
    """A decision being computed was cancelled; the stepper stays where it was before it."""


@contextlib.contextmanager
def _cancellable(module: Any, cancel: Optional[threading.Event]) -> Iterator[None]:
    """While inside, every forward call of ``module``'s submodules first checks ``cancel`` and
    raises :class:`StepCancelled` once it is set (so a step stops within one layer's work); the
    checks change no result."""
    if cancel is None:
        yield
        return

    def check(*_: Any) -> None:
        if cancel.is_set():
            raise StepCancelled("cancelled")

    handles = [m.register_forward_pre_hook(check) for m in module.modules()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class _RecordingEvaluator:
    """An edge evaluator that keeps the scores of its last call (a global ordering scores every
    open edge: the widget shows why the chosen edge won); everything else is the wrapped one's."""

    def __init__(self, inner: Any):
        self._inner = inner
        self.last: dict[int, dict[str, float]] = {}

    def __call__(self, edges: list[int]) -> Any:
        out = self._inner(edges)
        self.last = {e: dict(s) for e, s in out.items()}
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class StepThrough:
    """One Zero-Cost-PT search iteration, one edge decision at a time (see the module docstring).

    ``config`` is a :class:`~zcpt_analysis.runs.specs.SearchSpec`; ``images`` optionally the
    image set the proxy minibatches come from; ``bench`` the NAS-Bench-201 benchmark (default:
    loaded on first use; NAS-Bench-201 space only).
    """

    def __init__(self, config: Any, iteration: int = 0, images: Any = None, bench: Any = None):
        if iteration < 0:
            raise ZcptError(f"iteration must be >= 0, got {iteration}")
        self.config = config
        self.iteration = int(iteration)
        self._images = images
        self.search = self._new_search()
        self._bench = bench
        self._evaluated: list[dict[int, dict[str, float]]] = []
        self._steps: list[Step] = []
        self._generator = None
        self._started = 0.0
        self._final: Optional[dict[str, Any]] = None
        self._final_pruned: list[int] = []
        self._at_final = False
        self._oracle: dict[int, dict[str, dict[str, float]]] = {}
        self.position = 0
        """Number of decisions applied to the supernet (0 = ``A_0``)."""
        self.computed = 0
        """Number of decisions actually computed (replays from the cache do not count)."""

    def _new_search(self) -> Any:
        """A fresh :class:`~zcpt_analysis.searches.zcpt.ZeroCostPT` whose edge evaluator records
        what it scored (:class:`_RecordingEvaluator`)."""
        from .searches.zcpt import ZeroCostPT

        search = ZeroCostPT(self.config, progress=False, images=self._images)
        make_evaluator = search._edge_evaluator
        search._edge_evaluator = lambda seed: _RecordingEvaluator(make_evaluator(seed))
        return search

    # ---------------------------------------------------------------- state
    @property
    def supernet(self):
        """The supernet, discretized as far as :attr:`position`."""
        return self.search.supernet

    @property
    def num_edges(self) -> int:
        return self.supernet.num_edges

    @property
    def at_end(self) -> bool:
        """Every edge is discretized."""
        return self.position == self.num_edges

    @property
    def steps(self) -> list[Step]:
        """The decisions applied so far, in order."""
        return list(self._steps[: self.position])

    @property
    def has_benchmark(self) -> bool:
        return bool(self.search.space.has_benchmark)

    def bench(self) -> Any:
        if self._bench is None:
            from .bench import load_benchmark

            self._bench = load_benchmark(self.config.bench)
        return self._bench

    # ---------------------------------------------------------------- moves
    def next(self, cancel: Optional[threading.Event] = None) -> Step:
        """Decide (or replay) the next edge and discretize it; returns the decision. ``cancel``:
        setting this event stops a decision being computed (:class:`StepCancelled`; the stepper
        stays at its position, and the next computed decision first recomputes -- identically --
        the cached ones the cancelled search had made, since a search cannot resume mid-step)."""
        if self.at_end:
            raise StateError("every edge is already discretized; use back() or reset()")
        if self.position < len(self._steps):
            step = self._steps[self.position]
            self.supernet.discretize(step.edge, step.chosen)
        else:
            step = self._compute(cancel)
        self.position += 1
        return step

    def _compute(self, cancel: Optional[threading.Event]) -> Step:
        if self._generator is None:
            if self._steps:  # after a cancellation: a fresh search, brought to where the old one was
                self.search = self._new_search()
            self._generator = self.search.iteration_steps(self.iteration)
            self._started = time.perf_counter()
            for k, cached in enumerate(self._steps):
                again = self._advance(cancel)
                if (again.edge, again.chosen) != (cached.edge, cached.chosen):  # pragma: no cover - determinism
                    raise StateError(f"recomputing decision {k + 1} after a cancellation gave edge {again.edge_name} "
                                     f"-> {again.chosen}, not {cached.edge_name} -> {cached.chosen}")
        step = self._advance(cancel)
        self._steps.append(step)
        self._evaluated.append(self.search._evaluator.last)
        self.computed += 1
        return step

    def _advance(self, cancel: Optional[threading.Event]) -> Step:
        """The search generator's next decision (a cancellation drops the generator)."""
        assert self._generator is not None
        try:
            with _cancellable(self.supernet, cancel):
                return next(self._generator)
        except StepCancelled:
            self._generator = None
            raise
        except StopIteration as exc:  # pragma: no cover - the supernet state says otherwise
            raise StateError("the search iteration ended before every edge was discretized") from exc

    def back(self) -> Step:
        """Undo the last decision (it stays cached for the next :meth:`next`); returns it."""
        if self.position == 0:
            raise StateError("at A_0: there is no decision to undo")
        step = self._steps[self.position - 1]
        if self._at_final:  # topology selection pruned edges: rebuild the state before it
            self.supernet.reset()
            for s in self._steps[: self.position - 1]:
                self.supernet.discretize(s.edge, s.chosen)
            self._at_final = False
        else:
            self.supernet.undo()
        self.position -= 1
        return step

    def reset(self) -> None:
        """Back to ``A_0`` (cached decisions are kept)."""
        while self.position > 0:
            self.back()

    def run_to_end(self, cancel: Optional[threading.Event] = None) -> dict[str, Any]:
        """Make every remaining decision and return :meth:`result` (``cancel``: as in :meth:`next`;
        the decisions made before it stay)."""
        while not self.at_end:
            self.next(cancel)
        return self.result()

    def result(self) -> dict[str, Any]:
        """The finished iteration: its record entry (``arch``, ``steps``, topology for DARTS) plus,
        on NAS-Bench-201, ``benchmark`` (CIFAR-10 test accuracy per trial, seed-mean, error, rank)."""
        if not self.at_end:
            raise StateError(f"{self.num_edges - self.position} edge(s) are not discretized yet; use run_to_end()")
        if self._final is None:
            entry = self.search.finish_iteration(self.iteration, self._steps, self._started).to_json()
            if self.has_benchmark:
                entry["benchmark"] = {"dataset": "cifar10", **self.bench().query(entry["arch"], "cifar10").to_json()}
            self._final = entry
            self._final_pruned = [e for e, s in enumerate(self.supernet.state) if s.pruned]
        elif not self._at_final:
            # replaying to the end after a back(): re-apply the cached topology decisions
            for e in self._final_pruned:
                self.supernet.prune_edge(e)
        self._at_final = True
        return self._final

    # ---------------------------------------------------------------- what to show
    def oracle_scores(self, k: int) -> dict[str, dict[str, float]]:
        """best-acc / avg-acc of the ops of decision ``k``'s edge on the state before it (``A_k``),
        from NAS-Bench-201 (:func:`zcpt_analysis.scoring.score_edge`); ``{}`` without a benchmark."""
        if not self.has_benchmark:
            return {}
        if k not in self._oracle:
            from .scoring import ScoringContext, score_edge

            ctx = ScoringContext(bench=self.bench())
            state = {s.edge: s.chosen for s in self._steps[:k]}
            step = self._steps[k]
            self._oracle[k] = {m: score_edge(m, state, step.edge, ctx, ops=list(step.scores)) for m in ORACLE_METHODS}
        return self._oracle[k]

    def view(self) -> dict[str, Any]:
        """Plain data of the current state: position, chosen op per edge, the last decision (edge,
        zc-pt scores, chosen op, oracle scores) and, at the end, the result."""
        sn = self.supernet
        last = self._steps[self.position - 1] if self.position else None
        view: dict[str, Any] = {
            "space": self.config.space, "proxy": self.config.proxy, "order": self.config.order, "seed": self.config.seed,
            "iteration": self.iteration, "position": self.position, "num_edges": self.num_edges,
            "edge_names": list(sn.edge_names), "chosen": list(sn.chosen_ops()),
            "pruned": [s.pruned for s in sn.state], "remaining": [len(s.remaining) for s in sn.state],
            "step": None, "oracle": {}, "result": None, "recap": None,
        }
        if last is not None:
            k = self.position - 1
            evaluated = self._evaluated[k] if k < len(self._evaluated) else {}
            view["step"] = {"index": k, "edge": last.edge, "edge_name": last.edge_name,
                            "display_name": display_edge_name(last.edge_name), "scores": dict(last.scores),
                            "chosen": last.chosen, "evaluations": last.evaluations,
                            "edges_scored": {sn.edge_names[e]: s for e, s in evaluated.items()}}
            view["oracle"] = self.oracle_scores(k)
        if self.at_end:
            view["result"] = self.result()
            view["pruned"] = [s.pruned for s in sn.state]
            view["recap"] = self.recap()
        return view

    def recap(self) -> list[dict[str, Any]]:
        """One row per decision applied: ``decision`` (1-based), ``edge`` (drawn node names),
        ``kept`` (the proxy's choice), ``oracle`` (best-acc's choice; None without a benchmark) and
        ``agrees`` (None without a benchmark)."""
        rows = []
        for k, step in enumerate(self.steps):
            pick = oracle_pick(self.oracle_scores(k).get(ORACLE, {}))
            rows.append({"decision": k + 1, "edge": display_edge_name(step.edge_name), "kept": step.chosen,
                         "oracle": pick[0] if pick else None, "agrees": (step.chosen in pick) if pick else None})
        return rows


def oracle_pick(scores: dict[str, float]) -> list[str]:
    """The ops with the highest finite score (ties: all of them; [] for no finite score)."""
    valid = {o: v for o, v in scores.items() if v == v}
    if not valid:
        return []
    top = max(valid.values())
    return [o for o, v in valid.items() if v == top]


# ============================================================================= drawing
def view_figures(view: dict[str, Any], compact: bool = False) -> dict[str, Any]:
    """Plotly figures of a :meth:`StepThrough.view`: ``cell`` (the supernet cell: decided edges in
    their op's colour and line style, the edge just decided with a wide grey halo, open edges grey
    and dotted) and, after a decision, ``scores`` (bar charts of zc-pt's S(A - (e, o)) -- lower
    keeps the op -- next to the oracle best-acc / avg-acc; bars in the ops' colours, each method's
    pick ★, the kept op outlined black). ``compact``: the sizes of the widget, where the diagram and
    the bars stand side by side."""
    from .viz import edge_scores_figure, edge_scores_info, supernet_cell_figure, supernet_cell_info

    step = view["step"]
    current = step["edge"] if step else None
    info = supernet_cell_info(view["edge_names"], view["chosen"], current=current, pruned=view["pruned"],
                              num_candidates=view["remaining"])
    title = (f"{view['space']} supernet after {view['position']}/{view['num_edges']} decisions"
             + (f"<br><span style='font-size:12px'>last: edge {step['display_name']} keeps {step['chosen']}</span>"
                if step else " (A_0)"))
    darts_like = any(info["cells"])
    size = dict(width=500 if darts_like else 450, unit_px=74 if darts_like else 95) if compact else {}
    figures: dict[str, Any] = {"cell": supernet_cell_figure(info, title=title, **size)}
    if step:
        scores = {"zc-pt S(A-(e,o))": step["scores"], **view["oracle"]}
        directions = {"zc-pt S(A-(e,o))": False, **{m: True for m in view["oracle"]}}
        figures["scores"] = edge_scores_figure(edge_scores_info(scores, directions, chosen=step["chosen"]),
                                               title=f"ops on edge {step['display_name']}<br><span style='font-size:"
                                                     f"11px'>kept: {step['chosen']} (black outline); ★ each "
                                                     "method's pick</span>",
                                               height=400 if compact else 420)
    return figures


def genotype_of(view: dict[str, Any]) -> Optional[Any]:
    """The selected DARTS genotype of a finished :meth:`StepThrough.view` (None before the end and
    on NAS-Bench-201, whose architecture is a string)."""
    res = view["result"]
    if not res or isinstance(res["arch"], str):
        return None
    from .spaces.genotypes import parse_genotype

    return parse_genotype(res["arch"])


def _key_name(order: str) -> Optional[str]:
    """What a global ordering ranks the open edges by (None: the ordering does not compare edges)."""
    if order.startswith("global-op"):
        return "best op score (lowest S)"
    if order.startswith("global-edge"):
        return "mean op score"
    return None


def why_this_edge(view: dict[str, Any]) -> Optional[str]:
    """One sentence on why a global ordering decided this edge (the open edges it scored, ranked by
    the ordering's key); None for orderings that do not compare edges, or a single scored edge."""
    step, order = view["step"], view["order"]
    key = _key_name(order)
    if not step or key is None or len(step["edges_scored"]) < 2:
        if step and key is not None and order.endswith("-once"):
            return (f"Why this edge: `{order}` ranked the edges once, on A_0, by their {key}; this is the next edge of "
                    "that ranking.")
        return None
    import math

    def value(scores: dict[str, float]) -> float:
        finite = [v for v in scores.values() if v == v]
        if not finite:
            return math.inf
        return min(finite) if order.startswith("global-op") else sum(finite) / len(finite)

    ranked = sorted(step["edges_scored"].items(), key=lambda kv: value(kv[1]))
    shown = ", ".join(f"{display_edge_name(name)} {value(scores):.4g}" for name, scores in ranked[:4])
    more = f" (and {len(ranked) - 4} more)" if len(ranked) > 4 else ""
    return (f"Why this edge: `{order}` scored all {len(ranked)} open edges and takes the one whose {key} is "
            f"lowest: {shown}{more}.")


def result_markdown(view: dict[str, Any]) -> str:
    """A short Markdown account of the current decision (what was kept and why, whether the oracle
    best-acc agrees) or the final result (a DARTS genotype is named, not printed: draw it with
    :func:`zcpt_analysis.viz.genotype_svg` of :func:`genotype_of`)."""
    step = view["step"]
    lines = [f"**{view['space']}**, proxy **{view['proxy']}**, order **{view['order']}**, seed {view['seed']}, "
             f"iteration {view['iteration']}: {view['position']}/{view['num_edges']} edges discretized."]
    if step:
        lines.append(f"**Decision {step['index'] + 1}: edge `{step['display_name']}` keeps {step['chosen']}** -- "
                     f"removing it lowers the {view['proxy']} score most ({step['evaluations']} proxy evaluations).")
        why = why_this_edge(view)
        if why:
            lines.append(why)
        pick = oracle_pick(view["oracle"].get(ORACLE, {}))
        if pick:
            best = view["oracle"][ORACLE][pick[0]]
            if step["chosen"] in pick:
                lines.append(f"The oracle agrees: {ORACLE} (NAS-Bench-201) would keep **{step['chosen']}** too "
                             f"({best:.2f}%).")
            else:
                lines.append(f"**The proxy disagrees with the oracle**: {ORACLE} (NAS-Bench-201) would keep "
                             f"**{' / '.join(pick)}** ({best:.2f}%), not {step['chosen']} "
                             f"({view['oracle'][ORACLE].get(step['chosen'], float('nan')):.2f}%).")
    res = view["result"]
    if res:
        if isinstance(res["arch"], str):
            lines.append(f"Selected architecture: `{res['arch']}`")
        else:
            kept = sum(not p for p in view["pruned"])
            lines.append(f"Selected architecture: the genotype drawn below (topology selection kept {kept} of "
                         f"{view['num_edges']} edges, two inputs per intermediate node; intermediate nodes are "
                         "numbered 0-3 in both drawings, as in the DARTS paper).")
        b = res.get("benchmark")
        if b:
            trials = " / ".join(f"{t:.2f}" for t in b["trials"])
            lines.append(f"NAS-Bench-201 CIFAR-10 test accuracy (200 epochs): mean **{b['mean']:.2f}%** "
                         f"(trials {trials}), error {b['error']:.2f}%, rank **{b['rank']:,}** of {b['num_archs']:,}.")
    return "\n\n".join(lines)


def recap_table(view: dict[str, Any]) -> Any:
    """The decisions of a finished :meth:`StepThrough.view` as a DataFrame: decision, edge, the op
    the proxy kept, best-acc's choice and whether they agree (no oracle columns without a benchmark)."""
    import pandas as pd

    rows = view["recap"] or []
    df = pd.DataFrame(rows, columns=["decision", "edge", "kept", "oracle", "agrees"])
    if df["oracle"].isna().all():
        return df[["decision", "edge", "kept"]].rename(columns={"kept": f"kept ({view['proxy']})"})
    df["agrees"] = df["agrees"].map({True: "yes", False: "NO"})
    return df.rename(columns={"kept": f"kept ({view['proxy']})", "oracle": f"{ORACLE}'s choice"})


def recap_summary(view: dict[str, Any]) -> str:
    """One line under the recap: agreement count and the final architecture's error and rank."""
    rows = view["recap"] or []
    known = [r for r in rows if r["agrees"] is not None]
    parts = [f"the proxy agreed with {ORACLE} on {sum(r['agrees'] for r in known)} of {len(known)} decisions"
             if known else f"{len(rows)} decisions (no oracle: this space has no benchmark)"]
    b = (view["result"] or {}).get("benchmark")
    if b:
        parts.append(f"final architecture: CIFAR-10 error {b['error']:.2f}%, rank {b['rank']:,} of {b['num_archs']:,}")
    return "; ".join(parts) + "."


def recap_html(view: dict[str, Any]) -> str:
    """:func:`recap_table` and :func:`recap_summary` as a compact HTML block (disagreements bold)."""
    df = recap_table(view)
    head = "".join(f"<th style='text-align:left;padding:1px 8px'>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        strong = "agrees" in df.columns and row["agrees"] == "NO"
        cells = "".join(f"<td style='padding:1px 8px'>{'<b>' if strong else ''}{html.escape(str(v))}"
                        f"{'</b>' if strong else ''}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return (f"<div class='zcpt-recap'><b>Recap of the iteration</b>: {html.escape(recap_summary(view))}"
            "<div style='max-height: 16em; overflow: auto;'><table style='border-collapse: collapse; font-size: 12px;'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></div>")


NO_KERNEL_TEXT = ("Interactive step-through widget: it needs a running Jupyter kernel. Open this notebook in "
                  "JupyterLab (`jupyter lab notebooks/`; as root add `--allow-root`) and run all cells "
                  "(Run > Run All Cells); the static walk-through above shows the same decisions.")
"""What the widget's output shows where no kernel drives it (an HTML report, a saved notebook)."""
NO_KERNEL_HTML = ('<div style="border: 1px dashed #888; padding: 0.6em 0.9em; background: #fafafa; color: #333;">'
                  "<b>Interactive step-through widget</b>: it needs a running Jupyter kernel. Open this notebook "
                  "in JupyterLab (<code>jupyter lab notebooks/</code>; as root add <code>--allow-root</code>) and "
                  "run all cells (<i>Run &gt; Run All Cells</i>). The static walk-through above shows the same "
                  "decisions.</div>")


def _markdown_output(text: str) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {"text/markdown": text, "text/plain": text}, "metadata": {}}


class StepThroughWidget:
    """The ipywidgets UI, laid out to fit a 1400x900 screen: one row of settings (preset, space,
    proxy, ordering, seed, *build*), one row of buttons (back / next / reset / run to end / cancel,
    a progress bar and a status line), the decision in words, and side by side the cell diagram
    (left) and the score bars of the last decision (right); at the end a recap of every decision
    (right, above the bars) and, in the DARTS spaces, the selected genotype (left, below the cell).

    Work runs in a background thread (``background=False``: in the caller's thread, for scripts):
    while it runs every control is disabled (a second click is ignored, so a double click makes one
    step), the status line says what is being computed and *cancel* stops it (:class:`StepCancelled`:
    the widget stays where it was). Changing a setting rebuilds the stepper at once (back to
    ``A_0``); *build* rebuilds with the same settings (dropping cached decisions). If a rebuild
    fails, the step buttons stay disabled and the status line says why. ``make_config(space, proxy,
    order, seed[, preset])`` builds the search configuration (default:
    :func:`zcpt_analysis.experiments.search_settings` of the preset and ``data_root``); the preset
    dropdown shows only where it accepts ``preset``. Where no kernel runs it (HTML report, saved
    notebook) its output shows :data:`NO_KERNEL_HTML`."""

    def __init__(self, preset: str = "smoke", space: str = "nb201", proxy: str = "nwot", order: str = "random",
                 seed: int = 0, make_config: Optional[Callable[..., Any]] = None, images: Any = None,
                 bench: Any = None, data_root: Optional[str] = None, background: bool = True):
        import ipywidgets as w

        from .experiments import PRESETS
        from .proxies import proxy_names
        from .searches.orderings import ORDERINGS
        from .spaces import space_names

        self.data_root, self.background = data_root, background
        self._make_config = make_config or self._default_config
        self._takes_preset = make_config is None or "preset" in inspect.signature(make_config).parameters
        self._images, self._bench = images, bench
        def sized(width: int, label: int = 50) -> dict[str, Any]:
            return dict(layout=w.Layout(width=f"{width}px", flex="0 0 auto"), style={"description_width": f"{label}px"})

        self.preset = w.Dropdown(options=list(PRESETS), value=preset, description="preset", **sized(155),
                                 tooltip="smoke: tiny supernet (seconds); cpu / paper: the paper's supernet sizes")
        if not self._takes_preset:
            self.preset.layout.display = "none"
        self.space = w.Dropdown(options=[s for s in space_names() if s != "darts-full"], value=space,
                                description="space", **sized(170, 45))
        self.proxy = w.Dropdown(options=proxy_names(), value=proxy, description="proxy", **sized(175, 45))
        self.order = w.Dropdown(options=list(ORDERINGS), value=order, description="ordering", **sized(235, 60))
        self.seed = w.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed", **sized(120, 36))
        small = w.Layout(width="auto", flex="0 0 auto")  # never squeezed to "..."
        self.build_button = w.Button(description="build", icon="cogs", layout=small,
                                     tooltip="rebuild the supernet from these settings (drops cached decisions)")
        self.next_button = w.Button(description="next", icon="step-forward", tooltip="decide the next edge",
                                    button_style="primary", layout=small)
        self.back_button = w.Button(description="back", icon="step-backward", tooltip="undo the last decision",
                                    layout=small)
        self.reset_button = w.Button(description="reset", icon="undo", tooltip="back to A_0 (decisions stay cached)",
                                     layout=small)
        self.end_button = w.Button(description="run to end", icon="fast-forward", tooltip="decide every remaining edge",
                                   layout=small)
        self.cancel_button = w.Button(description="cancel", icon="stop", disabled=True, layout=small,
                                      tooltip="stop the decision being computed (the widget stays where it was)")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="edges", bar_style="info",
                                      layout=w.Layout(width="210px"), style={"description_width": "42px"})
        self.status = w.HTML()
        self.summary = w.Output(layout=w.Layout(margin="0"))
        self.cell_out = w.Output(layout=w.Layout(flex="0 0 auto"))
        self.scores_out = w.Output(layout=w.Layout(flex="1 1 0", min_width="360px"))
        self.build_button.on_click(lambda _: self.build())
        self.next_button.on_click(lambda _: self._start(self._next))
        self.back_button.on_click(lambda _: self._start(lambda cancel: self._require().back(), background=False))
        self.reset_button.on_click(lambda _: self._start(lambda cancel: self._require().reset(), background=False))
        self.end_button.on_click(lambda _: self._start(self._run_to_end))
        self.cancel_button.on_click(lambda _: self.cancel())
        for control in (self.preset, self.space, self.proxy, self.order, self.seed):
            control.observe(self._settings_changed, names="value")
        self.controls = (self.preset, self.space, self.proxy, self.order, self.seed, self.build_button)
        self.box = w.VBox([w.HBox(list(self.controls)),
                           w.HBox([self.back_button, self.next_button, self.reset_button, self.end_button,
                                   self.cancel_button, self.progress, self.status],
                                  layout=w.Layout(align_items="center")),
                           self.summary,
                           w.HBox([self.cell_out, self.scores_out], layout=w.Layout(align_items="flex-start"))])
        self.box.add_class("zcpt-step-through")
        for out, name in ((self.summary, "zcpt-summary"), (self.cell_out, "zcpt-cell"), (self.scores_out, "zcpt-scores")):
            out.add_class(name)
        self.stepper: Optional[StepThrough] = None
        self._built_for: Optional[tuple] = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._worker: Optional[threading.Thread] = None
        self.build()

    def _default_config(self, space: str, proxy: str, order: str, seed: int, preset: str = "smoke") -> Any:
        from .experiments import search_settings

        return search_settings(preset, space, data_root=self.data_root).at(seed, proxy=proxy, order=order)

    def settings(self) -> tuple[str, str, str, int, str]:
        """(space, proxy, ordering, seed, preset) as the controls show them."""
        return self.space.value, self.proxy.value, self.order.value, int(self.seed.value), self.preset.value

    @property
    def busy(self) -> bool:
        """A step (or run to end) is being computed."""
        return self._lock.locked()

    @property
    def stale(self) -> bool:
        """The dropdowns show other settings than the stepper was built for (a rebuild failed)."""
        return self.stepper is None or self._built_for != self.settings()

    def build(self) -> Optional[StepThrough]:
        """A new :class:`StepThrough` from the dropdowns (at ``A_0``); on a bad setting the status
        line shows the error and the step buttons stay disabled. While a step is computed it is
        cancelled first."""
        self.cancel(wait=True)
        settings = self.settings()
        self._set_buttons(False)
        self.status.value = f"<i>building the {settings[0]} supernet ({settings[4]} preset) ...</i>"
        try:
            args = settings[:4] + ((settings[4],) if self._takes_preset else ())
            config = self._make_config(*args)
            self.stepper = StepThrough(config, images=self._images, bench=self._bench)
        except ZcptError as exc:
            self.stepper, self._built_for = None, None
            self.status.value = (f"<b style='color:#d62728'>cannot build with these settings: {type(exc).__name__}: "
                                 f"{html.escape(str(exc))}</b> -- change a setting or press build")
            return None
        self._built_for = settings
        self.refresh()
        return self.stepper

    def _settings_changed(self, change: dict) -> None:
        """A dropdown changed: rebuild for the new settings (decisions of the old ones are dropped)."""
        old = f"{change['owner'].description} {change['old']}"
        if self.build() is not None:
            self.status.value += f" -- rebuilt after the change ({old} -> {change['new']})"

    def _require(self) -> StepThrough:
        if self.stale:
            raise StateError("settings changed -- press build")
        assert self.stepper is not None
        return self.stepper

    # ---------------------------------------------------------------- work
    def _start(self, work: Callable[[threading.Event], Any], background: Optional[bool] = None) -> bool:
        """Run ``work(cancel_event)`` with every control disabled, in a background thread unless
        ``background`` is False; refused (returns False) while other work runs."""
        if not self._lock.acquire(blocking=False):
            return False  # a click while busy: the controls are disabled, the click came too early
        self._cancel.clear()
        for c in (*self.controls, self.next_button, self.back_button, self.reset_button, self.end_button):
            c.disabled = True
        if self.background if background is None else background:
            self.cancel_button.disabled = False
            self._worker = threading.Thread(target=self._work, args=(work,), name="zcpt-step-through", daemon=True)
            self._worker.start()
        else:
            self._work(work)
        return True

    def _work(self, work: Callable[[threading.Event], Any]) -> None:
        try:
            work(self._cancel)
        except StepCancelled:
            self._finish(note="cancelled: the decision being computed was dropped; the widget is where it was")
        except ZcptError as exc:
            self._finish(error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # pragma: no cover - shown, not lost in a thread
            self._finish(error=f"unexpected {type(exc).__name__}: {exc}")
        else:
            self._finish()

    def _finish(self, note: str = "", error: str = "") -> None:
        """Redraw (or show the error), re-enable the controls, then accept clicks again."""
        try:
            self.cancel_button.disabled = True
            for c in self.controls:
                c.disabled = False
            if error:
                usable = self.stepper is not None and not self.stale
                self._set_buttons(usable)
                if usable:
                    self._refresh_buttons()
                self.status.value = f"<b style='color:#d62728'>{html.escape(error)}</b>"
                return
            self.refresh()
            if note:
                self.status.value += f" -- <b>{html.escape(note)}</b>"
        finally:
            self._lock.release()

    def wait(self, timeout: float = 600.0) -> None:
        """Until the running work (if any) has finished (scripts and tests)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise StateError(f"the step-through is still computing after {timeout:.0f} s")

    def cancel(self, wait: bool = False) -> None:
        """Stop the work being computed (it stops within one layer's forward pass); ``wait``: until
        it has stopped."""
        if self.busy:
            self._cancel.set()
            self.status.value = "<i>cancelling ...</i>"
            if wait and self._worker is not None and self._worker is not threading.current_thread():
                self.wait()

    def _next(self, cancel: threading.Event) -> None:
        st = self._require()
        if not st.at_end:
            catch_up = st.position == len(st._steps) and st._generator is None and st._steps
            self.status.value = (f"<i>deciding edge {st.position + 1} of {st.num_edges}"
                                 + (" (first recomputing the decisions before it, after a cancel)" if catch_up else "")
                                 + " ... (cancel stops it)</i>")
        st.next(cancel)

    def _run_to_end(self, cancel: threading.Event) -> None:
        """Every remaining decision, with the progress bar and status line updated per edge."""
        st = self._require()
        started = time.perf_counter()
        while not st.at_end:
            self.status.value = (f"<i>run to end: deciding edge {st.position + 1} of {st.num_edges} "
                                 f"({time.perf_counter() - started:.1f} s) ... (cancel stops it)</i>")
            st.next(cancel)
            self.progress.value = st.position
        if not st.has_benchmark:
            self.status.value = "<i>run to end: topology selection (two inputs per node) ...</i>"
        st.result()

    # ---------------------------------------------------------------- drawing
    def _set_buttons(self, enabled: bool) -> None:
        for b in (self.next_button, self.back_button, self.reset_button, self.end_button):
            b.disabled = not enabled

    def _refresh_buttons(self) -> None:
        st = self._require()
        self.back_button.disabled = self.reset_button.disabled = st.position == 0
        self.next_button.disabled = self.end_button.disabled = st.at_end

    def refresh(self) -> None:
        """Redraw from the stepper's :meth:`~StepThrough.view`: the decision in words, the cell
        diagram (and DARTS genotype) on the left, the recap (at the end) and the bars on the right.

        The outputs are set on the Output widgets' state (not captured from the kernel's output
        stream), which renders the same in JupyterLab, from any thread, and never waits on a frontend."""
        from .viz import figure_bundle, genotype_svg

        st = self._require()
        view = st.view()
        self._refresh_buttons()
        self.progress.max, self.progress.value = st.num_edges, st.position
        space, proxy, order, seed, preset = self._built_for or self.settings()
        self.status.value = (f"{st.position}/{st.num_edges} edges discretized; {st.computed} decision(s) computed "
                             f"<span style='color:#777'>({space}, proxy {proxy}, order {order}, seed {seed}, "
                             f"{preset} preset)</span>")
        self.summary.outputs = (_markdown_output(result_markdown(view)),)
        figures = view_figures(view, compact=True)
        left = [{"output_type": "display_data", "data": figure_bundle(figures["cell"]), "metadata": {}}]
        genotype = genotype_of(view)
        if genotype is not None:
            left.append({"output_type": "display_data", "metadata": {},
                         "data": {"image/svg+xml": genotype_svg(genotype, scale=70), "text/plain": str(genotype)}})
        right = []
        if view["recap"]:
            text = recap_table(view).to_string(index=False) + "\n" + recap_summary(view)
            right.append({"output_type": "display_data", "metadata": {},
                          "data": {"text/html": recap_html(view), "text/plain": text}})
        if "scores" in figures:
            right.append({"output_type": "display_data", "data": figure_bundle(figures["scores"]), "metadata": {}})
        self.cell_out.outputs = tuple(left)
        self.scores_out.outputs = tuple(right)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget view for a live kernel, and :data:`NO_KERNEL_HTML` / :data:`NO_KERNEL_TEXT` for
        whatever renders the output without one (nbconvert's HTML, an untrusted saved notebook)."""
        bundle = dict(self.box._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"], bundle["text/html"] = NO_KERNEL_TEXT, NO_KERNEL_HTML
        return bundle
