"""The step-through logic (zcpt_analysis.widgets.StepThrough), driven without a browser: steps,
back, reset, run to end; the final architecture is the search iteration's; the ipywidgets UI."""
from __future__ import annotations

import pytest

from zcpt_analysis.errors import StateError
from zcpt_analysis.scoring import ScoringContext, score_edge
from zcpt_analysis.runs.specs import SearchSpec
from zcpt_analysis.searches.zcpt import ZeroCostPT
from zcpt_analysis.widgets import StepThrough, StepThroughWidget, result_markdown, view_figures

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
    assert f"keeps **{step['chosen']}**" in text and "best-acc would keep" in text
    st.run_to_end()
    assert "rank **" in result_markdown(st.view())


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

    w = StepThroughWidget(make_config=make_config, images=cifar_sample, bench=bench)
    assert made == [("nb201", "nwot", "random", 0)]
    assert w.back_button.disabled and not w.next_button.disabled
    assert w.status.value.startswith("0/6 edges discretized") and "proxy nwot" in w.status.value
    w.next_button.click()
    w.next_button.click()
    w.back_button.click()
    assert w.stepper.position == 1 and w.stepper.computed == 2 and w.progress.value == 1 and w.progress.max == 6
    assert "1/6 edges discretized" in w.status.value
    shown = w.output.outputs
    assert "keeps **" in shown[0]["data"]["text/markdown"]
    assert [set(o["data"]) for o in shown[1:]] == [{"application/vnd.plotly.v1+json", "text/html"}] * 2
    statuses = []
    w.status.observe(lambda change: statuses.append(change["new"]), names="value")
    w.end_button.click()
    assert w.stepper.at_end and w.next_button.disabled and w.end_button.disabled
    # run to end reports its progress edge by edge while it works
    assert [s for s in statuses if "run to end: deciding edge" in s][0].startswith("<i>run to end: deciding edge 2 of 6")
    assert any("deciding edge 6 of 6" in s for s in statuses) and w.progress.value == 6
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

    w = StepThroughWidget(make_config=make_config, images=cifar_sample, bench=bench)
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

    w = StepThroughWidget(make_config=lambda *a: _config(), images=cifar_sample, bench=bench)
    bundle = w._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.box.model_id
    assert bundle["text/plain"] == NO_KERNEL_TEXT and "VBox" not in bundle["text/plain"]
    assert "needs a running Jupyter kernel" in bundle["text/html"] and "--allow-root" in bundle["text/html"]


def test_widget_draws_the_darts_genotype_at_the_end(cifar_sample):
    def make_config(space, proxy, order, seed):
        return SearchSpec(space=space, proxy=proxy, order=order, seed=seed, supernet_options={"C": 1, "layers": 3},
                          network_options={"C": 1, "layers": 3}, batch_size=4, N=1, V=1, device="cpu",
                          data_source="sample")

    w = StepThroughWidget(space="darts-s2", make_config=make_config, images=cifar_sample)
    w.end_button.click()
    assert w.stepper.at_end and "28/28 edges discretized" in w.status.value
    outputs = w.output.outputs
    text = outputs[0]["data"]["text/markdown"]
    assert "genotype drawn below" in text and "{" not in text  # no raw dict
    svg = outputs[-1]["data"]["image/svg+xml"]
    assert svg.startswith("<svg") and svg.count("cell</text>") == 2


def test_bad_iteration_is_rejected(cifar_sample):
    from zcpt_analysis.errors import ZcptError

    with pytest.raises(ZcptError, match="iteration must be >= 0"):
        StepThrough(_config(), iteration=-1, images=cifar_sample)
