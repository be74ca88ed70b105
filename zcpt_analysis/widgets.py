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
next / back / reset / run to end) driving a :class:`StepThrough`.

Caveat: the S4 space's ``noise`` op draws from the global torch RNG, which the search seeds at the
start of the iteration; code that draws random numbers between two steps changes later noise.
"""
from __future__ import annotations

import html
import time
from typing import Any, Callable, Optional

from .errors import StateError, ZcptError
from .searches.orderings import Step

ORACLE_METHODS: tuple[str, ...] = ("best-acc", "avg-acc")


class StepThrough:
    """One Zero-Cost-PT search iteration, one edge decision at a time (see the module docstring).

    ``config`` is a :class:`~zcpt_analysis.runs.specs.SearchSpec`; ``images`` optionally the
    image set the proxy minibatches come from; ``bench`` the NAS-Bench-201 benchmark (default:
    loaded on first use; NAS-Bench-201 space only).
    """

    def __init__(self, config: Any, iteration: int = 0, images: Any = None, bench: Any = None):
        from .searches.zcpt import ZeroCostPT

        if iteration < 0:
            raise ZcptError(f"iteration must be >= 0, got {iteration}")
        self.config = config
        self.iteration = int(iteration)
        self.search = ZeroCostPT(config, progress=False, images=images)
        self._bench = bench
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
    def next(self) -> Step:
        """Decide (or replay) the next edge and discretize it; returns the decision."""
        if self.at_end:
            raise StateError("every edge is already discretized; use back() or reset()")
        if self.position < len(self._steps):
            step = self._steps[self.position]
            self.supernet.discretize(step.edge, step.chosen)
        else:
            if self._generator is None:
                self._generator = self.search.iteration_steps(self.iteration)
                self._started = time.perf_counter()
            try:
                step = next(self._generator)
            except StopIteration as exc:  # pragma: no cover - the supernet state says otherwise
                raise StateError("the search iteration ended before every edge was discretized") from exc
            self._steps.append(step)
            self.computed += 1
        self.position += 1
        return step

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

    def run_to_end(self) -> dict[str, Any]:
        """Make every remaining decision and return :meth:`result`."""
        while not self.at_end:
            self.next()
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
            "step": None, "oracle": {}, "result": None,
        }
        if last is not None:
            view["step"] = {"index": self.position - 1, "edge": last.edge, "edge_name": last.edge_name,
                            "scores": dict(last.scores), "chosen": last.chosen, "evaluations": last.evaluations}
            view["oracle"] = self.oracle_scores(self.position - 1)
        if self.at_end:
            view["result"] = self.result()
            view["pruned"] = [s.pruned for s in sn.state]
        return view


# ============================================================================= drawing
def view_figures(view: dict[str, Any]) -> dict[str, Any]:
    """Plotly figures of a :meth:`StepThrough.view`: ``cell`` (the supernet cell: decided edges in
    their op's colour, the edge just decided with a red halo, open edges grey and dotted) and, after
    a decision, ``scores`` (bar charts of zc-pt's S(A - (e, o)) -- lower keeps the op -- next to
    the oracle best-acc / avg-acc)."""
    from .viz import edge_scores_figure, edge_scores_info, supernet_cell_figure, supernet_cell_info

    step = view["step"]
    current = step["edge"] if step else None
    info = supernet_cell_info(view["edge_names"], view["chosen"], current=current, pruned=view["pruned"],
                              num_candidates=view["remaining"])
    title = (f"{view['space']} supernet after {view['position']}/{view['num_edges']} decisions"
             + (f" (last: edge {step['edge_name']} -> {step['chosen']})" if step else " (A_0)"))
    figures: dict[str, Any] = {"cell": supernet_cell_figure(info, title=title)}
    if step:
        scores = {"zc-pt S(A-(e,o))": step["scores"], **view["oracle"]}
        directions = {"zc-pt S(A-(e,o))": False, **{m: True for m in view["oracle"]}}
        figures["scores"] = edge_scores_figure(edge_scores_info(scores, directions, chosen=step["chosen"]),
                                               title=f"candidate ops on edge {step['edge_name']} "
                                                     f"(chosen: {step['chosen']}, red outline)")
    return figures


def genotype_of(view: dict[str, Any]) -> Optional[Any]:
    """The selected DARTS genotype of a finished :meth:`StepThrough.view` (None before the end and
    on NAS-Bench-201, whose architecture is a string)."""
    res = view["result"]
    if not res or isinstance(res["arch"], str):
        return None
    from .spaces.genotypes import parse_genotype

    return parse_genotype(res["arch"])


def result_markdown(view: dict[str, Any]) -> str:
    """A short Markdown summary of the current step or the final result (a DARTS genotype is
    named, not printed: draw it with :func:`zcpt_analysis.viz.genotype_svg` of :func:`genotype_of`)."""
    step = view["step"]
    lines = [f"**{view['space']}**, proxy **{view['proxy']}**, order **{view['order']}**, seed {view['seed']}, "
             f"iteration {view['iteration']}: {view['position']}/{view['num_edges']} edges discretized."]
    if step:
        lines.append(f"Last decision: edge `{step['edge_name']}` keeps **{step['chosen']}** (the op whose removal "
                     f"lowers the proxy score most; {step['evaluations']} proxy evaluations).")
        for method, scores in view["oracle"].items():
            valid = {o: v for o, v in scores.items() if v == v}
            if valid:
                best = max(valid, key=valid.__getitem__)
                lines.append(f"{method} would keep **{best}** ({valid[best]:.2f}%).")
    res = view["result"]
    if res:
        if isinstance(res["arch"], str):
            lines.append(f"Selected architecture: `{res['arch']}`")
        else:
            kept = sum(not p for p in view["pruned"])
            lines.append(f"Selected architecture: the genotype drawn below (topology selection kept {kept} of "
                         f"{view['num_edges']} edges, two inputs per intermediate node; the drawing numbers the "
                         "intermediate nodes 0-3 as the DARTS paper does, the supernet diagram 2-5).")
        b = res.get("benchmark")
        if b:
            trials = " / ".join(f"{t:.2f}" for t in b["trials"])
            lines.append(f"NAS-Bench-201 CIFAR-10 test accuracy (200 epochs): mean **{b['mean']:.2f}%** "
                         f"(trials {trials}), error {b['error']:.2f}%, rank **{b['rank']:,}** of {b['num_archs']:,}.")
    return "\n\n".join(lines)


NO_KERNEL_TEXT = ("Interactive step-through widget: it needs a running Jupyter kernel. Open this notebook in "
                  "JupyterLab (`jupyter lab notebooks/`; as root add `--allow-root`) and run all cells "
                  "(Run > Run All Cells); the static walk-through above shows the same decisions.")
"""What the widget's output shows where no kernel drives it (an HTML report, a saved notebook)."""
NO_KERNEL_HTML = ('<div style="border: 1px dashed #888; padding: 0.6em 0.9em; background: #fafafa; color: #333;">'
                  "<b>Interactive step-through widget</b>: it needs a running Jupyter kernel. Open this notebook "
                  "in JupyterLab (<code>jupyter lab notebooks/</code>; as root add <code>--allow-root</code>) and "
                  "run all cells (<i>Run &gt; Run All Cells</i>). The static walk-through above shows the same "
                  "decisions.</div>")


class StepThroughWidget:
    """The ipywidgets UI: dropdowns for space, proxy, ordering, seed (and a *build* button), buttons
    next / back / reset / run to end, a progress bar, a status line and an output area with the
    cell diagram, the score bars, a summary and (DARTS, at the end) the selected genotype.

    Changing a setting rebuilds the stepper at once (back to ``A_0``, status line says so), so the
    diagram always shows the settings in the dropdowns; *build* rebuilds with the same settings
    (dropping cached decisions). If a rebuild fails, the step buttons stay disabled and the status
    line says why. ``make_config(space, proxy, order, seed)`` builds the search configuration
    (default: :func:`zcpt_analysis.experiments.search_settings` of ``preset`` and ``data_root``).
    Where no kernel runs it (HTML report, saved notebook) its output shows :data:`NO_KERNEL_HTML`."""

    def __init__(self, preset: str = "smoke", space: str = "nb201", proxy: str = "nwot", order: str = "random",
                 seed: int = 0, make_config: Optional[Callable[..., Any]] = None, images: Any = None,
                 bench: Any = None, data_root: Optional[str] = None):
        import ipywidgets as w

        from .proxies import proxy_names
        from .searches.orderings import ORDERINGS
        from .spaces import space_names

        self.preset, self.data_root = preset, data_root
        self._make_config = make_config or self._default_config
        self._images, self._bench = images, bench
        self.space = w.Dropdown(options=[s for s in space_names() if s != "darts-full"], value=space, description="space")
        self.proxy = w.Dropdown(options=proxy_names(), value=proxy, description="proxy")
        self.order = w.Dropdown(options=list(ORDERINGS), value=order, description="ordering")
        self.seed = w.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.build_button = w.Button(description="build", icon="cogs",
                                     tooltip="rebuild the supernet from these settings (drops cached decisions)")
        self.next_button = w.Button(description="next", icon="step-forward", tooltip="decide the next edge")
        self.back_button = w.Button(description="back", icon="step-backward", tooltip="undo the last decision")
        self.reset_button = w.Button(description="reset", icon="undo", tooltip="back to A_0 (decisions stay cached)")
        self.end_button = w.Button(description="run to end", icon="fast-forward", tooltip="decide every remaining edge")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="edges", bar_style="info")
        self.status = w.HTML()
        self.output = w.Output()
        self.build_button.on_click(lambda _: self.build())
        self.next_button.on_click(lambda _: self._act(self._next))
        self.back_button.on_click(lambda _: self._act(lambda: self._require().back()))
        self.reset_button.on_click(lambda _: self._act(lambda: self._require().reset()))
        self.end_button.on_click(lambda _: self._act(self._run_to_end))
        for control in (self.space, self.proxy, self.order, self.seed):
            control.observe(self._settings_changed, names="value")
        self.box = w.VBox([w.HBox([self.space, self.proxy]), w.HBox([self.order, self.seed, self.build_button]),
                           w.HBox([self.back_button, self.next_button, self.reset_button, self.end_button]),
                           w.HBox([self.progress, self.status]), self.output])
        self.stepper: Optional[StepThrough] = None
        self._built_for: Optional[tuple] = None
        self.build()

    def _default_config(self, space: str, proxy: str, order: str, seed: int) -> Any:
        from .experiments import search_settings

        return search_settings(self.preset, space, data_root=self.data_root).at(seed, proxy=proxy, order=order)

    def settings(self) -> tuple[str, str, str, int]:
        """(space, proxy, ordering, seed) as the dropdowns show them."""
        return self.space.value, self.proxy.value, self.order.value, int(self.seed.value)

    @property
    def stale(self) -> bool:
        """The dropdowns show other settings than the stepper was built for (a rebuild failed)."""
        return self.stepper is None or self._built_for != self.settings()

    def build(self) -> Optional[StepThrough]:
        """A new :class:`StepThrough` from the dropdowns (at ``A_0``); on a bad setting the status
        line shows the error and the step buttons stay disabled."""
        settings = self.settings()
        self._set_buttons(False)
        self.status.value = f"<i>building the {settings[0]} supernet ...</i>"
        try:
            config = self._make_config(*settings)
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

    def _next(self) -> None:
        st = self._require()
        if not st.at_end:
            self.status.value = f"<i>deciding edge {st.position + 1} of {st.num_edges} ...</i>"
        st.next()

    def _run_to_end(self) -> None:
        """Every remaining decision, with the progress bar and status line updated per edge."""
        st = self._require()
        started = time.perf_counter()
        while not st.at_end:
            self.status.value = (f"<i>run to end: deciding edge {st.position + 1} of {st.num_edges} "
                                 f"({time.perf_counter() - started:.1f} s) ...</i>")
            st.next()
            self.progress.value = st.position
        if not st.has_benchmark:
            self.status.value = "<i>run to end: topology selection (two inputs per node) ...</i>"
        st.result()

    def _act(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except ZcptError as exc:
            self.status.value = f"<b style='color:#d62728'>{type(exc).__name__}: {html.escape(str(exc))}</b>"
            return
        self.refresh()

    def _set_buttons(self, enabled: bool) -> None:
        for b in (self.next_button, self.back_button, self.reset_button, self.end_button):
            b.disabled = not enabled

    def refresh(self) -> None:
        """Redraw the output area from the stepper's :meth:`~StepThrough.view`.

        The outputs are set on the Output widget's state (not captured from the kernel's output
        stream), which renders the same in JupyterLab and never waits on a frontend."""
        from .viz import figure_bundle, genotype_svg

        st = self._require()
        view = st.view()
        self.back_button.disabled = self.reset_button.disabled = st.position == 0
        self.next_button.disabled = self.end_button.disabled = st.at_end
        self.progress.max, self.progress.value = st.num_edges, st.position
        space, proxy, order, seed = self._built_for or self.settings()
        self.status.value = (f"{st.position}/{st.num_edges} edges discretized; {st.computed} decision(s) computed "
                             f"<span style='color:#777'>({space}, proxy {proxy}, order {order}, seed {seed})</span>")
        text = result_markdown(view)
        outputs = [{"output_type": "display_data", "data": {"text/markdown": text, "text/plain": text}, "metadata": {}}]
        outputs += [{"output_type": "display_data", "data": figure_bundle(fig), "metadata": {}}
                    for fig in view_figures(view).values()]
        genotype = genotype_of(view)
        if genotype is not None:
            svg = genotype_svg(genotype)
            outputs.append({"output_type": "display_data", "data": {"image/svg+xml": svg, "text/plain": str(genotype)},
                            "metadata": {}})
        self.output.outputs = tuple(outputs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget view for a live kernel, and :data:`NO_KERNEL_HTML` / :data:`NO_KERNEL_TEXT` for
        whatever renders the output without one (nbconvert's HTML, an untrusted saved notebook)."""
        bundle = dict(self.box._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"], bundle["text/html"] = NO_KERNEL_TEXT, NO_KERNEL_HTML
        return bundle
