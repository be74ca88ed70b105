"""Every notebook executes with the ``smoke`` parameters: ``zcpt report`` itself runs them all once
per session (the ``smoke_report`` fixture of conftest.py: papermill, kernel ``python3``, one shared
``--results-dir``, so a notebook reuses what an earlier one computed, e.g. ``iteration0_selection``
the scores of ``operation_scores``), and these tests read what it wrote: executed notebooks without
errors or stderr noise, a report folder under 30 MB, a quiet console. The report runner reports
failing notebooks without stopping (tiny notebooks written here). Run one notebook by hand with
``zcpt report --notebooks NAME``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from zcpt_analysis.reports import (NOTEBOOK_ORDER, list_notebooks, notebook_parameters,
                                   notebooks_dir, parse_parameters, run_reports)

NOTEBOOKS = list_notebooks()


def test_every_expected_notebook_exists():
    assert NOTEBOOKS == list(NOTEBOOK_ORDER)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_parameters_cell_and_no_outputs(name):
    nb = nbformat.read(str(notebooks_dir() / f"{name}.ipynb"), as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert re.search(r'^preset = "smoke"', tagged[0].source, re.M), "the default preset is smoke"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit notebooks with outputs cleared"
    assert notebook_parameters(notebooks_dir() / f"{name}.ipynb")["preset"] == '"smoke"'
    assert nb.metadata["kernelspec"]["name"] == "python3"


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _plotly(nb) -> list[dict]:
    return [o["data"]["application/vnd.plotly.v1+json"] for o in _outputs(nb)
            if "application/vnd.plotly.v1+json" in o.get("data", {})]


def _run(smoke_report, name: str) -> dict:
    out, console, summary = smoke_report
    runs = {r["name"]: r for r in summary.get("notebooks", [])}
    assert name in runs, f"zcpt report did not run {name}:\n{console[-3000:]}"
    return runs[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_with_smoke_parameters(name, smoke_report):
    run = _run(smoke_report, name)
    print(f"smoke notebook {name}: {run['seconds']:.1f} s (kernel start included)")
    # a smoke run takes seconds; minutes mean paper-sized work slipped into the smoke preset
    assert run["seconds"] < 180, f"{name} took {run['seconds']:.0f} s in the smoke preset"
    assert run["status"] == "ok", f"{name} failed at cell {run['error'] and run['error']['cell']}: {run['error']}"
    nb = nbformat.read(run["ipynb"], as_version=4)
    errors = [o for o in _outputs(nb) if o.get("output_type") == "error"]
    assert not errors
    # expected warnings are summarised in prose; nothing lands in a stderr box
    stderr = ["".join(o["text"]) for o in _outputs(nb) if o.get("output_type") == "stream" and o["name"] == "stderr"]
    assert not stderr, stderr
    assert _plotly(nb), "every notebook shows at least one plotly figure"
    # the injected parameters cell carries the smoke preset
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'preset = "smoke"' in injected[0].source
    text = "\n".join(o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
                     for o in _outputs(nb))
    assert "Traceback" not in text and "VBox(children" not in text
    assert "NaN" not in text  # missing numbers are "n/a", explained next to the table
    if name == "step_through":
        assert "decisions computed: 3 (was 3)" in text  # back + next replays the cached decision
        assert "needs a running Jupyter kernel" in text  # the widget's stand-in without a kernel


@pytest.mark.slow
def test_report_folder_is_small_and_the_console_quiet(smoke_report):
    out, console, summary = smoke_report
    assert summary["ok"] == len(NOTEBOOKS) and summary["failed"] == 0, console[-3000:]
    assert f"{len(NOTEBOOKS)}/{len(NOTEBOOKS)} notebook(s) ok" in console
    # kernel chatter is dropped: ipykernel's TCP warning, the shutdown interrupt's KeyboardInterrupt
    assert "KeyboardInterrupt" not in console and "without encryption" not in console, console
    assert "[IPKernelApp]" not in console, console
    files = [p for p in out.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"report folder: {total / 1e6:.1f} MB in {len(files)} files")
    assert total < 30e6, f"report folder is {total / 1e6:.1f} MB"
    # plotly.js ships once, beside the pages; no page or notebook inlines it
    assert (out / "plotly.min.js").stat().st_size > 1e6
    for p in files:
        if p.suffix in (".html", ".ipynb"):
            assert "plotly.js v" not in p.read_text()[:2_000_000], f"{p.name} inlines plotly.js"
    page = (out / "step_through.html").read_text()
    assert re.search(r'<script[^>]* src="plotly.min.js"', page)
    assert "needs a running Jupyter kernel" in page and "--allow-root" in page


@pytest.mark.slow
def test_operation_scores_report_reproduces_table_a2_best_acc_and_shows_figure2(smoke_report):
    nb = nbformat.read(_run(smoke_report, "operation_scores")["ipynb"], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("best_acc = "))
    table = cell.outputs[0]["data"]["text/plain"]
    # Table A2, best-acc, edge 1<-0: none / skip / 1x1 / 3x3 / avg-pool from the real per-trial table
    assert re.search(r"1<-0\s+94\.15\s+94\.18\s+94\.44\s+94\.68\s+93\.86", table), table
    assert re.search(r"3<-0\s+94\.16\s+94\.68\s+94\.03\s+94\.04\s", table), table
    heatmaps = [d for d in _plotly(nb) for t in d["data"] if t.get("type") == "heatmap"]
    assert len(heatmaps) == 2  # measured and paper (recomputed from Table A2)
    for fig in heatmaps:
        trace = fig["data"][0]
        assert trace["texttemplate"] == "%{text}"
        labels = [v for row in trace["text"] for v in row]
        assert "1.00" in labels and all(re.fullmatch(r"-?\d\.\d\d|n/a", v) for v in labels)
    paper_fig = heatmaps[1]["data"][0]
    i, j = paper_fig["y"].index("zc-pt"), paper_fig["x"].index("best-acc")
    assert paper_fig["text"][i][j] == "0.73"
    # the numbers that differ from the paper, or are missing, are explained where they are shown
    notes = "\n".join(o["data"].get("text/markdown", "") for o in _outputs(nb) if "data" in o)
    assert re.search(r"avg-acc, measured - paper:\*\* \+\d\.\d\d to \+\d\.\d\d points", notes), notes
    assert "disc-acc gives every op on every edge the same score (12.50)" in notes
    assert "Expected in the smoke preset" in notes


@pytest.mark.slow
def test_iteration0_selection_summarises_the_expected_ties_once(smoke_report):
    nb = nbformat.read(_run(smoke_report, "iteration0_selection")["ipynb"], as_version=4)
    notes = [o["data"]["text/markdown"] for o in _outputs(nb) if "text/markdown" in o.get("data", {})]
    ties = [n for n in notes if "TiedScoresWarning" in n]
    # disc-acc ties on all 6 edges, darts-pt on some: one note, with the count and the reason
    assert len(ties) == 1 and re.match(r"\*\*Note: ([6-9]|1[0-2]) `TiedScoresWarning` warning\(s\)\*\*", ties[0]), ties
    assert "disc-acc and darts-pt" in ties[0] and "disc-acc on edge 1&lt;-0" in ties[0]


# ----------------------------------------------------------------------------- the report runner
def _write_notebook(path: Path, body: str, params: str = 'preset = "smoke"\nvalue = 1') -> None:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem} title"), p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture
def tiny_notebooks(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    _write_notebook(folder / "a_fails.ipynb", "raise ValueError(f'broken on purpose, value={value}')")
    _write_notebook(folder / "b_works.ipynb", "print('value is', value * 2)")
    return folder


@pytest.mark.slow
def test_failing_notebook_is_reported_and_does_not_stop_the_others(tiny_notebooks, tmp_path):
    logs: list[str] = []
    runs = run_reports(None, "smoke", tmp_path / "out", {"value": 21, "unused": 1}, folder=tiny_notebooks,
                       progress=False, log=logs.append)
    assert [r.name for r in runs] == ["a_fails", "b_works"]
    failed, ok = runs
    assert failed.status == "failed" and ok.status == "ok"
    assert failed.error["ename"] == "ValueError" and "broken on purpose, value=21" in failed.error["evalue"]
    assert failed.error["cell"] is not None
    assert ok.parameters == {"preset": "smoke", "value": 21} and ok.ignored_parameters == ["unused"]
    assert any("a_fails: FAILED" in line and "ValueError" in line for line in logs)
    index = (tmp_path / "out" / "index.html").read_text()
    assert "failed" in index and "broken on purpose, value=21" in index and "b_works.html" in index
    assert "a_fails.html" in index  # the failed notebook is rendered too, with its traceback
    assert "torch" in index and "papermill" in index  # library versions
    executed = nbformat.read(str(tmp_path / "out" / "b_works.ipynb"), as_version=4)
    assert "value is 42" in executed.cells[-1].outputs[0]["text"]
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["ok"] == 1 and summary["failed"] == 1 and summary["preset"] == "smoke"


@pytest.mark.slow
def test_cli_report_exit_status_and_index(tiny_notebooks, tmp_path, capsys):
    from zcpt_analysis.cli import main

    rc = main(["report", "--notebooks-dir", str(tiny_notebooks), "--notebooks", "b_works", "--out",
               str(tmp_path / "r"), "-p", "value=5", "--quiet"])
    assert rc == 0
    assert (tmp_path / "r" / "b_works.html").exists() and (tmp_path / "r" / "index.html").exists()
    assert "1/1 notebook(s) ok" in capsys.readouterr().out
    rc = main(["report", "--notebooks-dir", str(tiny_notebooks), "--out", str(tmp_path / "r2"), "--quiet"])
    assert rc == 1


def test_cli_report_rejects_bad_input(capsys):
    from zcpt_analysis.cli import main

    assert main(["report", "--notebooks", "no_such_notebook"]) == 2
    assert "unknown notebook 'no_such_notebook'" in capsys.readouterr().err
    assert main(["report", "-p", "not-a-parameter"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--preset", "huge"])


def test_parse_parameters():
    assert parse_parameters(["seeds=[0, 1]", "data_root=/data/c10", "compute_missing=true", "N=3"]) == {
        "seeds": [0, 1], "data_root": "/data/c10", "compute_missing": True, "N": 3}


def test_kernel_stderr_drops_only_the_known_chatter():
    import io
    import os

    from zcpt_analysis.reports import _forward_stderr

    read_fd, write_fd = os.pipe()
    lines = ["[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication ...\n",
             "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n",
             "double free or corruption (out)\n",
             "[IPKernelApp] ERROR | Exception in message handler:\n"]
    os.write(write_fd, "".join(lines).encode())
    os.close(write_fd)
    sink = io.StringIO()
    _forward_stderr(read_fd, sink)
    assert sink.getvalue() == lines[2] + lines[3]  # real errors still reach the console
