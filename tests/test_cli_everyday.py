"""The command line as a researcher meets it: start-up without torch, the results table's columns
and formats, warnings after the work, and the cost model behind `zcpt reproduce --dry-run`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

from zcpt_analysis.cli import _command_of, gathered_warnings, main
from zcpt_analysis.errors import ZcptError
from zcpt_analysis.runs.store import TABLE_COLUMNS, ResultStore, summary_table

NO_TORCH = """
import sys
from zcpt_analysis.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("TORCH" if "torch" in sys.modules else "NO-TORCH", file=sys.stderr)
"""


# ============================================================================= start-up
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["bench", "--help"], ["results", "--help"],
                                  ["bench", "top", "-k", "2"], ["scores", "--help"]])
def test_help_version_bench_and_results_do_not_import_torch(argv, shared_data):
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True, text=True, timeout=120)
    expected = "TORCH" if argv[0] == "scores" else "NO-TORCH"  # a command that computes imports what it needs
    assert proc.stderr.strip().splitlines()[-1] == expected, proc.stderr
    if argv == ["bench", "top", "-k", "2"]:
        assert len(proc.stdout.splitlines()) == 2 and "94.37%" in proc.stdout


def test_the_command_is_found_after_global_options_and_typos_are_errors(capsys):
    assert _command_of(["--threads", "2", "bench", "top"]) == "bench"
    assert _command_of(["--help"]) is None and _command_of([]) is None
    with pytest.raises(SystemExit):
        main(["serch"])
    assert "invalid choice: 'serch'" in capsys.readouterr().err


def test_nested_options_show_their_flag_names_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["scores", "--help"])
    out = capsys.readouterr().out
    assert "--epochs EPOCHS" in out and "DARTS__" not in out


# ============================================================================= warnings
def test_warnings_are_printed_after_the_work_once_each_with_a_count(capsys):
    with gathered_warnings():
        for _ in range(3):
            warnings.warn("nwot: degenerate network (no ReLU)\n  return sign * float(...)", UserWarning)
        warnings.warn("another one", RuntimeWarning)
        print("work done")
    out = capsys.readouterr()
    assert out.out == "work done\n"
    assert out.err.splitlines() == [
        "zcpt: warning: UserWarning: nwot: degenerate network (no ReLU) return sign * float(...) (3 times)",
        "zcpt: warning: RuntimeWarning: another one"]


# ============================================================================= results table
def test_summary_table_default_columns_integers_and_unknown_columns():
    rows = [{"kind": "zcpt-search", "status": "complete", "N": 20, "batch_size": 64, "seconds": 1.5, "path": "a"},
            {"kind": "random-baseline", "status": "complete", "runs": 100, "seconds": 0.2, "path": "b"}]
    table = summary_table(rows)
    assert list(table.columns) == [c for c in TABLE_COLUMNS if c in ("kind", "status", "N", "runs", "seconds")]
    assert str(table["N"].dtype) == "Int64" and "20.0" not in table.to_string()
    assert list(summary_table(rows, "all").columns) == ["kind", "status", "N", "batch_size", "seconds", "path", "runs"]
    assert list(summary_table(rows, ["path", "kind"]).columns) == ["path", "kind"]
    with pytest.raises(ZcptError, match="unknown table column.*bogus; valid: kind, status, N"):
        summary_table(rows, ["kind", "bogus"])
    assert summary_table([], ["anything"]).empty


def test_results_table_formats(tmp_path, capsys, shared_data):
    from zcpt_analysis.runs.specs import RandomSpec

    store = ResultStore(tmp_path)
    store.save(RandomSpec(runs=3).run(None))
    assert main(["results", "table", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split() == ["kind", "status", "space", "runs", "seed", "cifar10", "error", "seconds"]
    assert text[1].split()[:5] == ["random-baseline", "complete", "nb201", "3", "0"]  # integers as integers
    assert main(["results", "table", "--out", str(tmp_path), "--format", "json", "--columns", "kind,runs"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"kind": "random-baseline", "runs": 3}]
    assert main(["results", "table", "--out", str(tmp_path), "--format", "csv", "--columns", "kind,runs"]) == 0
    assert capsys.readouterr().out == "kind,runs\nrandom-baseline,3\n"
    assert main(["results", "table", "--out", str(tmp_path), "--format", "markdown", "--columns", "kind,runs"]) == 0
    assert capsys.readouterr().out.splitlines() == ["| kind | runs |", "|---|---|", "| random-baseline | 3 |"]
    assert main(["results", "table", "--out", str(tmp_path), "--columns", "kind,nope"]) == 2
    assert "unknown table column(s) nope; valid: kind" in capsys.readouterr().err
    assert main(["results", "table", "--out", str(tmp_path), "--columns", "all"]) == 0
    assert "path" in capsys.readouterr().out.splitlines()[0]


# ============================================================================= cost model and plan
def test_calibrated_estimates_for_every_smoke_spec_cached_per_machine(tmp_path, shared_data):
    from zcpt_analysis.experiments import plan
    from zcpt_analysis.runs.calibration import Calibration
    from zcpt_analysis.runs.costs import CostModel

    specs = plan(None, "smoke")
    calibration = Calibration(tmp_path / "calibration.json")
    costs = CostModel(calibration=calibration)
    estimates = {s.record_name(): costs.estimate(s) for s in specs}
    assert all(e is not None and e.seconds >= 0 for e in estimates.values())
    sources = {s.KIND: estimates[s.record_name()].source for s in specs}
    assert sources["zcpt-search"] == sources["naswot"] == sources["proxy-study"] == "calibrated"
    assert sources["darts"] == sources["darts-pt"] == "extrapolated"
    search = next(s for s in specs if s.KIND == "zcpt-search" and s.space == "nb201")
    # k x the iterations (and at most k x the candidates to validate): setup + k x the work of N
    one, two, four = (costs.estimate(search.replace(N=search.N * k)).seconds for k in (1, 2, 4))
    assert four - one == pytest.approx(3 * (two - one)) and two > one
    # cached: a second calibration of this machine measures nothing and gives the same estimates
    again = CostModel(calibration=Calibration(tmp_path / "calibration.json", measure=False))
    assert again.estimate(search) == estimates[search.record_name()]
    assert set(json.loads((tmp_path / "calibration.json").read_text())["units"]) == set(calibration.units)


def test_cpu_plan_lists_what_needs_a_gpu_with_commands_and_never_runs_it(tmp_path):
    from zcpt_analysis.experiments.reproduce import NEEDS_GPU, format_plan, plan_entries
    from zcpt_analysis.runs.costs import CostModel

    store = ResultStore(tmp_path)
    entries = plan_entries(None, "cpu", store, costs=CostModel())
    gpu = [e for e in entries if e.status == NEEDS_GPU]
    assert {e.spec.KIND for e in gpu} == {"darts", "darts-pt", "op-scores"}
    assert {e.spec.method for e in gpu if e.spec.KIND == "op-scores"} == {"disc-acc", "darts-pt", "darts"}
    assert all(not e.to_run and e.spec.device == "auto" for e in gpu)
    text = format_plan(entries, store, slots=2)
    assert f"{len(gpu)} need a GPU (listed, not run)" in text
    assert "zcpt darts-pt --seed 3 --fix-alpha --out" in text and "GPU time: the paper gives none" in text
    search = [e for e in entries if e.spec.KIND == "zcpt-search" and e.spec.space == "nb201"]
    assert search and all(e.spec.supernet_mode == "block-input" for e in search)  # the paper's execution


def test_progress_bars_in_a_log_have_no_cursor_movements(monkeypatch):
    from zcpt_analysis.cli import LOG_PROGRESS, progress_for_logs

    for key in LOG_PROGRESS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    progress_for_logs()
    env = {key: os.environ[key] for key in LOG_PROGRESS}
    assert env == LOG_PROGRESS
    nested = ("from tqdm.auto import tqdm\nfor i in tqdm(range(2), desc='outer'):\n"
              "    for j in tqdm(range(3), desc='inner', leave=False):\n        pass\n")
    proc = subprocess.run([sys.executable, "-c", nested], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})
    assert proc.returncode == 0 and "outer" in proc.stderr and "\x1b[A" not in proc.stderr


def test_only_narrows_the_gpu_list_too_without_rejecting_its_fields(tmp_path):
    from zcpt_analysis.experiments.reproduce import NEEDS_GPU, plan_entries
    from zcpt_analysis.runs.costs import CostModel

    entries = plan_entries(["table2", "table4"], "cpu", ResultStore(tmp_path), only=["order=random"],
                           costs=CostModel())
    assert entries and all(e.spec.order == "random" for e in entries)  # DARTS specs have no order: left out
    assert not [e for e in entries if e.status == NEEDS_GPU]
    darts = plan_entries(["table4"], "cpu", ResultStore(tmp_path), only=["seed=1"], costs=CostModel())
    assert {e.spec.KIND for e in darts if e.status == NEEDS_GPU} == {"darts", "darts-pt"}
