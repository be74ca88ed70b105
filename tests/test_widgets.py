"""The step-through logic (zcpt_analysis.widgets.StepThrough), driven without a browser: steps,
back, reset, run to end, cancel; the final architecture is the search iteration's; the ipywidgets UI
(in the caller's thread, and in its background thread: a double click makes one step)."""
from __future__ import annotations

import pytest

from zcpt_analysis.errors import StateError
from zcpt_analysis.scoring import ScoringContext, score_edge
from zcpt_analysis.runs.specs import SearchSpec
from zcpt_analysis.searches.zcpt import ZeroCostPT
import threading

from zcpt_analysis.widgets import (StepCancelled, StepThrough, StepThroughWidget, recap_table, result_markdown,
                                   view_figures)

TINY = dict(supernet_options={"C": 4, "N": 1}, network_options={"C": 4, "N": 1}, batch_size=8, N=1, V=1,
            device="cpu", data_source="sample")


def _config(**kw) -> SearchSpec:
    return SearchSpec(**{**TINY, **kw})


@pytest.mark.parametrize("order,seed", [("random", 0), ("global-op-iter", 3)])
def test_final_architecture_is_the_search_iteration_result(cifar_sample, bench, order, seed):
    cfg = _config(order=order, seed=seed)
    expected = ZeroCostPT(cfg, progress=False, images=cifar_sample).search_iteration(0)
    st = StepThrough(cfg, images=cifar_sample, bench=bench)
    result = st.run_to_end()
    assert result["arch"] == expected.arch
    assert [s.scores for s in st.steps] == [s.scores for s in expected.steps]
    assert st.computed == 6 and st.at_end
    b = result["benchmark"]
    ref = bench.query(result["arch"], "cifar10")
    assert b["rank"] == ref.rank and b["mean"] == pytest.approx(ref.mean) and b["trials"] == list(ref.trials)
    # N=1: the iteration's architecture is the search's selection
    record = ZeroCostPT(cfg, progress=False, images=cifar_sample).run()
    assert record.selected.arch == result["arch"]


def test_next_back_reset_use_the_cache_and_undo_the_supernet(cifar_sample, bench):
    st = StepThrough(_config(seed=1), images=cifar_sample, bench=bench)
    assert st.position == 0 and st.supernet.chosen_ops() == (None,) * 6
    with pytest.raises(StateError, match="at A_0"):
        st.back()
    first = [st.next() for _ in range(3)]
    chosen_after_3 = st.supernet.chosen_ops()
    assert st.computed == 3 and st.position == 3
    assert sum(c is not None for c in chosen_after_3) == 3
    for s in first:
        assert chosen_after_3[s.edge] == s.chosen == min(s.scores, key=s.scores.get)  # zc-pt: arg min
    undone = st.back()
    assert undone is first[-1] and st.position == 2
    assert st.supernet.chosen_ops()[undone.edge] is None
    replayed = st.next()
    assert replayed is first[-1] and st.computed == 3  # replayed from the cache, not recomputed
    assert st.supernet.chosen_ops() == chosen_after_3
    st.reset()
    assert st.position == 0 and st.supernet.chosen_ops() == (None,) * 6
    assert [st.next() for _ in range(3)] == first and st.computed == 3
    result = st.run_to_end()
    assert st.computed == 6
    with pytest.raises(StateError, match="already discretized"):
        st.next()
    # back from the end and forward again: the same result, nothing recomputed
    st.back()
    assert not st.at_end
    with pytest.raises(StateError, match="not discretized yet"):
        st.result()
    st.next()
    assert st.result() is result and st.computed == 6
    assert st.supernet.derive().to_string() == result["arch"]


def test_view_has_the_decision_and_the_oracle_scores_of_its_state(cifar_sample, bench):
    st = StepThrough(_config(seed=2, order="fixed"), images=cifar_sample, bench=bench)
    view = st.view()
    assert view["step"] is None and view["oracle"] == {} and view["result"] is None
    st.next()
    st.next()
    view = st.view()
    step = view["step"]
    assert step["index"] == 1 and step["edge_name"] == "2<-0"  # fixed order: canonical edges
    assert set(step["scores"]) == {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
    first = st.steps[0]
    ctx = ScoringContext(bench=bench)
    expected = score_edge("best-acc", {first.edge: first.chosen}, step["edge"], ctx)
    assert view["oracle"]["best-acc"] == expected  # restricted to architectures consistent with A_1
    assert view["chosen"][first.edge] == first.chosen and view["chosen"][step["edge"]] == step["chosen"]
    figures = view_figures(view)
    assert set(figures) == {"cell", "scores"}
    cell_traces = figures["cell"].data
    assert any(t.meta == "current" for t in cell_traces) and any(t.meta == "discretized" for t in cell_traces)
    assert [t.type for t in figures["scores"].data] == ["bar", "bar", "bar"]
    text = result_markdown(view)
    assert f"edge `{step['display_name']}` keeps {step['chosen']}**" in text and step["display_name"] == "in→2"
    best = max(view["oracle"]["best-acc"], key=view["oracle"]["best-acc"].get)
    assert ("The oracle agrees" in text) == (best == step["chosen"])
    assert ("**The proxy disagrees with the oracle**" in text) == (best != step["chosen"])
    st.run_to_end()
    view = st.view()
    assert "rank **" in result_markdown(view)
    recap = recap_table(view)
    assert list(recap["decision"]) == [1, 2, 3, 4, 5, 6] and list(recap["kept (nwot)"]) == [s.chosen for s in st.steps]
    for k, row in recap.iterrows():
        oracle = st.oracle_scores(k)["best-acc"]
        assert row["best-acc's choice"] == max(oracle, key=oracle.get)
        assert row["agrees"] == ("yes" if row["kept (nwot)"] == row["best-acc's choice"] else "NO")


def test_oracle_scores_at_the_first_step_match_table_a2(cifar_sample, bench):
    st = StepThrough(_config(order="fixed"), images=cifar_sample, bench=bench)
    st.next()  # fixed order: edge 1<-0 first, decided on A_0
    best = {o: round(v, 2) for o, v in st.view()["oracle"]["best-acc"].items()}
    assert best == {"none": 94.15, "skip_connect": 94.18, "nor_conv_1x1": 94.44, "nor_conv_3x3": 94.68,
                    "avg_pool_3x3": 93.86}


def test_darts_space_with_topology_selection(cifar_sample):
    cfg = SearchSpec(space="darts-s2", supernet_options={"C": 1, "layers": 3}, network_options={"C": 1, "layers": 3},
                     batch_size=4, N=1, V=1, device="cpu", data_source="sample")
    expected = ZeroCostPT(cfg, progress=False, images=cifar_sample).search_iteration(0).arch
    st = StepThrough(cfg, images=cifar_sample)
    result = st.run_to_end()
    assert result["arch"] == expected and "benchmark" not in result
    pruned = [s.pruned for s in st.supernet.state]
    assert sum(pruned) == 12  # 14 edges per cell, 2 kept per node: 28 - 16
    st.back()  # undoes topology selection and the last decision
    assert not any(s.pruned for s in st.supernet.state) and st.position == st.num_edges - 1
    st.next()
    assert st.result()["arch"] == expected and [s.pruned for s in st.supernet.state] == pruned
    view = st.view()
    assert view["oracle"] == {} and view["result"]["arch"] == expected
    figures = view_figures(view)
    assert any(t.meta == "pruned" for t in figures["cell"].data)


def test_widget_buttons_drive_the_stepper(cifar_sample, bench):
    made = []

    def make_config(space, proxy, order, seed):
        made.append((space, proxy, order, seed))
        return _config(space=space, proxy=proxy, order=order, seed=seed)

    w = StepThroughWidget(make_config=make_config, images=cifar_sample, bench=bench, background=False)
    assert made == [("nb201", "nwot", "random", 0)]
    assert w.preset.layout.display == "none"  # this make_config takes no preset: no control that does nothing
    assert w.back_button.disabled and not w.next_button.disabled
    assert w.status.value.startswith("0/6 edges discretized") and "proxy nwot" in w.status.value
    w.next_button.click()
    w.next_button.click()
    w.back_button.click()
    assert w.stepper.position == 1 and w.stepper.computed == 2 and w.progress.value == 1 and w.progress.max == 6
    assert "1/6 edges discretized" in w.status.value
    assert "Decision 1: edge" in w.summary.outputs[0]["data"]["text/markdown"]
    plotly = {"application/vnd.plotly.v1+json", "text/html"}
    assert [set(o["data"]) for o in w.cell_out.outputs + w.scores_out.outputs] == [plotly] * 2  # side by side
    statuses = []
    w.status.observe(lambda change: statuses.append(change["new"]), names="value")
    w.end_button.click()
    assert w.stepper.at_end and w.next_button.disabled and w.end_button.disabled
    # run to end reports its progress edge by edge while it works
    assert [s for s in statuses if "run to end: deciding edge" in s][0].startswith("<i>run to end: deciding edge 2 of 6")
    assert any("deciding edge 6 of 6" in s for s in statuses) and w.progress.value == 6
    recap = w.scores_out.outputs[0]["data"]
    assert "Recap of the iteration" in recap["text/html"] and "decisions" in recap["text/plain"]
    w.reset_button.click()
    assert w.stepper.position == 0
    # changing a setting rebuilds at once: `next` never runs the old setting
    w.order.value = "fixed"
    assert made[-1] == ("nb201", "nwot", "fixed", 0) and w.stepper.position == 0
    assert "rebuilt after the change (ordering random -> fixed)" in w.status.value
    w.seed.value = 5
    assert made[-1] == ("nb201", "nwot", "fixed", 5) and w.stepper.config.seed == 5 and not w.stale
    w.next_button.click()
    assert w.stepper.config.order == "fixed" and w.stepper.steps[0].edge_name == "1<-0"  # fixed: canonical order
    w.build_button.click()
    assert made[-1] == ("nb201", "nwot", "fixed", 5) and w.stepper.position == 0 and w.stepper.computed == 0
    w.back_button.click()  # disabled in the UI; a programmatic click reports the error instead of raising
    assert "StateError" in w.status.value


def test_widget_refuses_next_after_a_failed_rebuild(cifar_sample, bench):
    from zcpt_analysis.errors import ZcptError

    def make_config(space, proxy, order, seed):
        if seed == 13:
            raise ZcptError("seed 13 is not allowed in this test")
        return _config(space=space, proxy=proxy, order=order, seed=seed)

    w = StepThroughWidget(make_config=make_config, images=cifar_sample, bench=bench, background=False)
    w.next_button.click()
    w.seed.value = 13
    assert "cannot build with these settings" in w.status.value and "seed 13 is not allowed" in w.status.value
    assert w.stale and w.next_button.disabled and w.end_button.disabled
    w.next_button.click()  # a programmatic click: refused with the reason, nothing runs on the old setting
    assert "settings changed -- press build" in w.status.value
    w.seed.value = 2
    assert not w.stale and not w.next_button.disabled and w.stepper.config.seed == 2


def test_widget_shows_a_placeholder_without_a_kernel(cifar_sample, bench):
    from zcpt_analysis.widgets import NO_KERNEL_TEXT

    w = StepThroughWidget(make_config=lambda *a: _config(), images=cifar_sample, bench=bench, background=False)
    bundle = w._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.box.model_id
    assert bundle["text/plain"] == NO_KERNEL_TEXT and "VBox" not in bundle["text/plain"]
    assert "needs a running Jupyter kernel" in bundle["text/html"] and "--allow-root" in bundle["text/html"]


def test_widget_draws_the_darts_genotype_at_the_end(cifar_sample):
    def make_config(space, proxy, order, seed):
        return SearchSpec(space=space, proxy=proxy, order=order, seed=seed, supernet_options={"C": 1, "layers": 3},
                          network_options={"C": 1, "layers": 3}, batch_size=4, N=1, V=1, device="cpu",
                          data_source="sample")

    w = StepThroughWidget(space="darts-s2", make_config=make_config, images=cifar_sample, background=False)
    w.end_button.click()
    assert w.stepper.at_end and "28/28 edges discretized" in w.status.value
    text = w.summary.outputs[0]["data"]["text/markdown"]
    assert "genotype drawn below" in text and "{" not in text  # no raw dict
    svg = w.cell_out.outputs[-1]["data"]["image/svg+xml"]
    assert svg.startswith("<svg") and svg.count("cell</text>") == 2
    recap = w.scores_out.outputs[0]["data"]["text/plain"]
    assert "28 decisions (no oracle" in recap and "normal cₖ₋₂→0" in recap  # nodes named as drawn


def test_bad_iteration_is_rejected(cifar_sample):
    from zcpt_analysis.errors import ZcptError

    with pytest.raises(ZcptError, match="iteration must be >= 0"):
        StepThrough(_config(), iteration=-1, images=cifar_sample)


def test_a_cancelled_step_leaves_the_stepper_where_it_was_and_recomputes_identically(cifar_sample, bench):
    cfg = _config(order="global-op-iter", proxy="synflow", seed=1)
    reference = StepThrough(cfg, images=cifar_sample, bench=bench).run_to_end()
    st = StepThrough(cfg, images=cifar_sample, bench=bench)
    first = st.next()
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(StepCancelled):
        st.next(cancelled)
    assert st.position == 1 and st.supernet.chosen_ops()[first.edge] == first.chosen
    assert sum(c is not None for c in st.supernet.chosen_ops()) == 1
    assert st.run_to_end()["arch"] == reference["arch"] and st.computed == 6
    # a global ordering says why its edge won: every open edge was scored
    view = st.view()
    st.reset()
    st.next()
    assert len(st.view()["step"]["edges_scored"]) == 6 and "scored all 6 open edges" in result_markdown(st.view())
    assert view["recap"] is not None


def test_widget_works_in_the_background_a_double_click_makes_one_step(cifar_sample, bench):
    started, release = threading.Event(), threading.Event()

    def make_config(space, proxy, order, seed, preset):
        return _config(space=space, proxy=proxy, order=order, seed=seed)

    w = StepThroughWidget(make_config=make_config, images=cifar_sample, bench=bench)
    assert w.preset.layout.display != "none"  # make_config takes the preset: the control shows
    real_next = w.stepper.next

    def slow_next(cancel=None):  # holds the worker until the test has clicked twice
        started.set()
        release.wait(30)
        return real_next(cancel)

    w.stepper.next = slow_next
    w.next_button.click()
    assert started.wait(30) and w.busy
    assert w.next_button.disabled and w.end_button.disabled and w.space.disabled and not w.cancel_button.disabled
    assert "cancel stops it" in w.status.value
    w.next_button.click()  # the second click of a double click: ignored while the first computes
    release.set()
    w.wait(60)
    assert w.stepper.position == 1 and w.stepper.computed == 1 and not w.busy
    assert not w.next_button.disabled and w.cancel_button.disabled and "1/6 edges discretized" in w.status.value
    # cancel: the step stops, the widget stays at 1/6
    started.clear()
    release.clear()
    w.next_button.click()
    assert started.wait(30)
    w.cancel_button.click()
    release.set()
    w.wait(60)
    assert w.stepper.position == 1 and "cancelled" in w.status.value and not w.next_button.disabled
    # the preset control rebuilds like the others
    w.preset.value = "cpu"
    assert "rebuilt after the change (preset smoke -> cpu)" in w.status.value and w.stepper.position == 0
