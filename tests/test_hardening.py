"""Every bad input and bad file gets one clear error, early, and nothing set explicitly is ignored.

Each case runs the ``zcpt`` CLI in-process (``zcpt_analysis.cli.main``) and asserts a non-zero exit,
no exception escaping (so no traceback), a message naming the bad value and what is valid, and --
through the ``no_work`` sentinels -- that it failed before any search iteration, training, data
loading, scoring or benchmark conversion started. Environment variables, a closed pipe and kill -9
run in subprocesses (exit status, real signals).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_run import run_cli
from zcpt_analysis.runs import ResultStore, SearchRecord, SearchSpec

TINY = ["--supernet-option", "C=2", "--supernet-option", "N=1", "--network-option", "C=2", "--network-option", "N=1"]
SEARCH = ["search", "-N", "1", "-V", "1", "--batch-size", "8", *TINY, "--quiet"]
BARE_SEARCH = ["search", "-N", "1", "-V", "1", "--batch-size", "8", "--quiet"]  # a case adds its supernet option
TINY_SPEC = dict(N=1, V=1, batch_size=8, device="cpu", supernet_options={"C": 2, "N": 1},
                 network_options={"C": 2, "N": 1})
TRAIN = ["train", "--genotype", "DARTS_V2", "--epochs", "1", "--no-progress"]
DARTS_S2 = ["--space", "darts-s2", "--supernet-option", "C=1", "--supernet-option", "layers=3"]


@pytest.fixture
def no_work(monkeypatch):
    """Make every expensive entry point fail the test: a case must be rejected before any of them."""
    from zcpt_analysis import data, scoring, train
    from zcpt_analysis.cli import bench as cli_bench
    from zcpt_analysis.searches import baselines, darts, zcpt

    def started(what):
        def fail(*args, **kwargs):
            raise AssertionError(f"{what} started before the bad input was reported")
        return fail

    monkeypatch.setattr(zcpt.ZeroCostPT, "search_iteration", started("a search iteration"))
    monkeypatch.setattr(data, "load_images", started("loading images"))
    monkeypatch.setattr(train, "_load_split", started("loading training images"))
    monkeypatch.setattr(scoring, "score_operations", started("operation scoring"))
    monkeypatch.setattr(baselines, "naswot_run", started("NASWOT scoring"))
    monkeypatch.setattr(cli_bench, "read_tables", started("reading the conversion source"))
    monkeypatch.setattr(darts, "trained_supernet_of", started("supernet training"))




def assert_rejected(rc: int, text: str, *patterns: str) -> None:
    assert rc != 0, text
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if "error" in line]
    assert len(lines) == 1, text  # one readable line
    for pattern in patterns:
        assert pattern in lines[0], (pattern, lines[0])


@pytest.fixture
def bad(tmp_path, shared_data):
    """Bad files and folders of every kind the cases need."""
    (tmp_path / "afile").write_text("x")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notjson.json").write_text("not json at all {")
    garbage = tmp_path / "garbage-bench"
    garbage.mkdir()
    (garbage / "test_accuracy_mean.csv").write_bytes(b"\x9a\xfe\x00garbage" * 200)
    cut = tmp_path / "cut-bench"
    cut.mkdir()
    (cut / "cifar10_test_trials.csv").write_text("index,arch_str\n1,")  # no accuracy column
    nb201_record = tmp_path / "nb201-record.json"
    spec = SearchSpec(**TINY_SPEC)
    record = SearchRecord(spec=spec, status="searching", created="")
    nb201_record.write_text(json.dumps(record.to_json()))
    darts = SearchSpec(space="darts-s2", N=2, V=1, batch_size=4, supernet_options={"C": 1, "layers": 3})
    unfinished = tmp_path / "unfinished.json"
    unfinished.write_text(json.dumps(SearchRecord(spec=darts, status="searching", created="").to_json()))
    return tmp_path


# (id, argv with {tmp}, fragments the one error line must contain: the bad value and what is valid)
CASES = [
    # silently wrong in the first release
    ("search-batch-0", [*SEARCH, "--batch-size", "0"], ["batch_size", "at least 1", "got 0"]),
    ("search-batch-1-nwot", [*SEARCH, "--batch-size", "1"], ["batch_size 1", "nwot", "at least 2"]),
    ("supernet-N-0", [*BARE_SEARCH, "--supernet-option", "N=0"], ["supernet option N", "at least 1", "got 0"]),
    ("bench-top-k-neg", ["bench", "top", "-k", "-1"], ["-k", "positive integer", "got -1"]),
    ("bench-top-k-0", ["bench", "top", "-k", "0"], ["-k", "positive integer", "got 0"]),
    ("random-runs-0", ["baseline", "random", "--runs", "0", "--out", "{tmp}/r"], ["runs", "at least 1", "got 0"]),
    ("random-runs-neg", ["baseline", "random", "--runs", "-1", "--out", "{tmp}/r"], ["runs", "at least 1", "got -1"]),
    ("threads-0", ["--threads", "0", "bench", "top"], ["--threads", "at least 1", "got 0"]),
    ("threads-neg", ["--threads", "-4", "bench", "top"], ["--threads", "at least 1", "got -4"]),
    # tracebacks in the first release
    ("train-layers-1", [*TRAIN, "--layers", "1"], ["layers", "at least 3", "got 1"]),
    ("train-C-0", [*TRAIN, "--C", "0"], ["C must be", "at least 1", "got 0"]),
    ("train-lr-neg", [*TRAIN, "--lr", "-1"], ["learning_rate", "greater than 0", "got -1"]),
    ("train-genotype-binary", ["train", "--genotype", "{tmp}/binary.json"], ["binary.json", "not a text file",
                                                                             "genotype JSON"]),
    ("train-genotype-not-json", ["train", "--genotype", "{tmp}/notjson.json"], ["notjson.json", "valid JSON",
                                                                                "Genotype(...)"]),
    ("train-genotype-nb201", ["train", "--genotype", "{tmp}/nb201-record.json"], ["nb201-record.json", "nb201",
                                                                                   "DARTS"]),
    ("train-genotype-unfinished", ["train", "--genotype", "{tmp}/unfinished.json"], ["unfinished.json", "unfinished",
                                                                                     "0/2 iterations", "zcpt search"]),
    ("supernet-foo", [*SEARCH, "--supernet-option", "foo=1"], ["'foo'", "valid nb201 supernet options: C, N"]),
    ("network-foo", [*SEARCH, "--network-option", "foo=2"], ["'foo'", "valid nb201 network options: C, N"]),
    ("proxy-foo", [*SEARCH, "--proxy-option", "foo=2"], ["'foo'", "valid nwot proxy options: mode, hooks"]),
    ("supernet-C-0", [*BARE_SEARCH, "--supernet-option", "C=0"], ["supernet option C", "at least 1", "got 0"]),
    ("train-portion-0", [*SEARCH, "--train-portion", "0"], ["train_portion", "(0, 1]", "got 0"]),
    ("train-portion-2", [*SEARCH, "--train-portion", "2"], ["train_portion", "(0, 1]", "got 2"]),
    ("train-portion-neg", [*SEARCH, "--train-portion", "-0.5"], ["train_portion", "(0, 1]", "got -0.5"]),
    ("score-batch-0", ["proxies", "score", "0", "--batch-size", "0"], ["batch_size", "at least 1", "got 0"]),
    ("naswot-batch-0", ["baseline", "naswot", "--batch-size", "0", "--out", "{tmp}/r"], ["batch_size", "at least 1",
                                                                                       "got 0"]),
    ("arch-minus-1", ["bench", "query", "-1"], ["index -1", "out of range", "0..15624"]),
    # output locations: a file, below a file
    ("search-out-file", [*SEARCH, "--out", "{tmp}/afile"], ["afile", "is a file", "folder"]),
    ("search-out-below-file", [*SEARCH, "--out", "{tmp}/afile/sub"], ["afile/sub", "sits below", "is a file"]),
    ("random-out-file", ["baseline", "random", "--out", "{tmp}/afile"], ["afile", "is a file"]),
    ("naswot-out-file", ["baseline", "naswot", "--n-samples", "2", "--seed", "0", "--out", "{tmp}/afile"],
     ["afile", "is a file"]),
    ("darts-out-file", ["darts", "--supernet-option", "C=2", "--supernet-option", "N=1", "--out", "{tmp}/afile"],
     ["afile", "is a file"]),
    ("convert-out-file", ["bench", "convert", "{tmp}/binary.json", "--out", "{tmp}/afile"], ["afile", "is a file"]),
    ("train-out-file", [*TRAIN, "--out", "{tmp}/afile"], ["afile", "is a file"]),
    ("train-run-dir-file", [*TRAIN, "--run-dir", "{tmp}/afile"], ["afile", "run folder", "is a file"]),
    ("scores-export-below-file", ["scores", "--methods", "zc-pt", "--out", "{tmp}/s", "--export", "{tmp}/afile/x.csv"],
     ["afile", "export file", "is a file"]),
    ("results-csv-below-file", ["results", "table", "--out", "{tmp}/s", "--csv", "{tmp}/afile/t.csv"],
     ["afile", "is a file"]),
    # benchmark problems: before the search starts
    ("search-bench-garbage", [*SEARCH, "--bench", "{tmp}/garbage-bench", "--out", "{tmp}/s"],
     ["test_accuracy_mean.csv", "damaged", "zcpt bench convert"]),
    ("search-bench-wrong-columns", [*SEARCH, "--bench", "{tmp}/cut-bench", "--out", "{tmp}/s"],
     ["cifar10_test_trials.csv", "missing columns", "zcpt bench convert"]),
    ("search-bench-missing", [*SEARCH, "--bench", "{tmp}/no-such-bench", "--out", "{tmp}/s"],
     ["no-such-bench", "not found"]),
    ("bench-top-garbage", ["bench", "top", "--bench", "{tmp}/garbage-bench"], ["test_accuracy_mean.csv", "damaged"]),
    ("darts-bench-garbage", ["darts", "--supernet-option", "C=2", "--supernet-option", "N=1", "--out", "{tmp}/s",
                             "--bench", "{tmp}/garbage-bench"], ["test_accuracy_mean.csv", "damaged"]),
    # siblings found on the way
    ("supernet-C-text", [*BARE_SEARCH, "--supernet-option", "C=abc"], ["supernet option C", "integer", "'abc'"]),
    ("darts-layers-2", ["search", *DARTS_S2[:-1], "layers=2", "--quiet"], ["supernet option layers", "at least 3",
                                                                          "got 2"]),
    ("darts-training-supernet-foo", ["darts", "--supernet-option", "foo=1"], ["'foo'", "valid nb201 supernet options"]),
    ("darts-epochs-neg", ["darts", "--epochs", "-1"], ["epochs", "at least 0", "-1"]),
    ("scores-supernet-N-0", ["scores", "--methods", "zc-pt", "--supernet-option", "N=0"], ["supernet option N",
                                                                                         "at least 1"]),
    ("scores-alpha-epoch", ["scores", "--methods", "darts", "--epochs", "3", "--darts-alpha-epoch", "9"],
     ["darts_alpha_epoch", "[0, 3]", "got 9"]),
    ("proxy-mode-bogus", [*SEARCH, "--proxy-option", "mode=bogus"], ["mode", "one of eval, train, as-is", "'bogus'"]),
    ("proxy-chunk-0", [*SEARCH, "--proxy-option", "chunk_size=0"], ["chunk_size", "at least 1", "got 0"]),
    ("score-batch-1-nwot", ["proxies", "score", "0", "--batch-size", "1"], ["batch_size 1", "nwot", "at least 2"]),
    ("score-option-foo", ["proxies", "score", "0", "-o", "foo=2"], ["foo", "valid options", "mode"]),
    ("search-device", [*SEARCH, "--device", "gpu"], ["'gpu'", "auto, cpu, cuda"]),
    ("demo-device", ["demo", "--device", "gpu", "--out", "{tmp}/d"], ["'gpu'", "auto, cpu, cuda"]),
    ("naswot-too-many", ["baseline", "naswot", "--n-samples", "20000", "--seed", "0"], ["n_samples", "15,625",
                                                                                       "20,000"]),
    ("random-no-benchmark", ["baseline", "random", "--space", "darts"], ["'darts'", "benchmark", "nb201"]),
    ("search-dataset-of-space", [*SEARCH, "--dataset", "svhn", "--data-source", "synthetic"],
     ["'svhn'", "valid datasets for nb201: cifar10, cifar100, imagenet16-120"]),
    ("seeds-twice", [*SEARCH, "--seeds", "0", "0"], ["--seeds", "seed(s) 0", "once"]),
    ("train-batch-1", [*TRAIN, "--batch-size", "1"], ["batch_size", "at least 2", "got 1"]),
    ("train-both-outputs", [*TRAIN, "--out", "{tmp}/s", "--run-dir", "{tmp}/r"], ["--out", "--run-dir", "not both"]),
    ("scores-export-suffix", ["scores", "--methods", "zc-pt", "--export", "{tmp}/x.txt"], ["x.txt", ".csv or .json"]),
    ("scores-iterative-table1", ["scores", "--iterative", "--table1"], ["--table1", "iterative"]),
    ("scores-table1-darts", ["scores", "--methods", "zc-pt", "--space", "darts", "--table1"], ["Table 1", "darts"]),
    ("scores-no-store-force", ["scores", "--methods", "zc-pt", "--no-store", "--force"], ["--force", "--no-store"]),
    ("results-kind", ["results", "table", "--kind", "serch"], ["'serch'", "zcpt-search"]),
    ("bench-query-dataset", ["bench", "query", "0", "--dataset", "cifar10-valid"], ["cifar10-valid", "cifar100"]),
]


@pytest.mark.parametrize("argv, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_error_before_any_work(argv, fragments, bad, no_work, capsys):
    rc, text = run_cli([a.format(tmp=bad) for a in argv], capsys)
    assert_rejected(rc, text, *[f.format(tmp=bad) for f in fragments])


@pytest.mark.parametrize("variable, command", [
    ("ZCPT_DATA", ["bench", "top"]),
    ("ZCPT_DATA", [*SEARCH, "--out", "runs"]),
    ("ZCPT_BENCH", ["bench", "top"]),
    ("ZCPT_HOME", SEARCH),
    ("ZCPT_HOME", ["results", "table"]),
])
@pytest.mark.parametrize("state", ["missing", "file"])
def test_an_environment_variable_pointing_nowhere_is_an_error(variable, command, state, bad, no_work, monkeypatch,
                                                              capsys):
    value = bad / "afile" if state == "file" and variable != "ZCPT_BENCH" else bad / "no-such-folder"
    monkeypatch.setenv(variable, str(value))
    monkeypatch.chdir(bad)
    rc, text = run_cli(command, capsys)
    assert_rejected(rc, text, f"{variable}={value}", "unset it")


def test_environment_errors_exit_non_zero_without_traceback_in_a_real_process(tmp_path):
    env = dict(os.environ, ZCPT_DATA=str(tmp_path / "missing"))
    proc = subprocess.run([sys.executable, "-m", "zcpt_analysis", "bench", "top"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"ZCPT_DATA={tmp_path / 'missing'} does not exist" in proc.stderr


def test_a_closed_pipe_ends_quietly(shared_data):
    env = dict(os.environ, ZCPT_DATA=str(shared_data))
    proc = subprocess.Popen([sys.executable, "-m", "zcpt_analysis", "bench", "top", "-k", "5000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()  # like `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert first.strip().startswith(b"1 ") and "Traceback" not in err and "Error" not in err


def test_unwritable_output_folders_fail_before_any_work(tmp_path, no_work, capsys):
    """As a normal user a read-only folder; as root (who may write anywhere) sysfs, which nobody can
    create folders in."""
    if os.geteuid() == 0:
        target = Path("/sys/zcpt-test-out")
        if not Path("/sys").is_dir() or target.exists():
            pytest.skip("no unwritable location for root here")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "out"
    for argv in ([*SEARCH, "--out", target], ["baseline", "random", "--out", target],
                 [*TRAIN, "--run-dir", target], ["results", "table", "--csv", target / "t.csv"]):
        rc, text = run_cli(argv, capsys)
        assert_rejected(rc, text, str(target), "cannot write into")
    assert not target.exists()


@pytest.mark.parametrize("damage", ["cut short", "empty", "JSON list", "folder"])
def test_a_damaged_record_names_the_file_and_the_way_out(damage, tmp_path, no_work, capsys):
    spec = SearchSpec(**TINY_SPEC)
    path = ResultStore(tmp_path).path_for(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    good = json.dumps(SearchRecord(spec=spec, status="searching", created="").to_json())
    if damage == "folder":
        path.mkdir()
    else:
        path.write_text({"cut short": good[:40], "empty": "", "JSON list": "[1, 2]"}[damage])
    rc, text = run_cli([*SEARCH, "--device", "cpu", "--out", tmp_path], capsys)
    assert_rejected(rc, text, str(path), "it aside")
    if damage != "folder":
        assert "--force" in text
    else:  # --force cannot replace a folder: it says so before any work, too
        rc, text = run_cli([*SEARCH, "--device", "cpu", "--out", tmp_path, "--force"], capsys)
        assert_rejected(rc, text, str(path), "is a folder")


def test_a_record_of_another_configuration_names_the_fields_that_differ(tmp_path, no_work, capsys):
    spec = SearchSpec(**TINY_SPEC)
    store = ResultStore(tmp_path)
    other = SearchRecord(spec=spec.replace(seed=3, proxy="synflow"), status="searching", created="")
    store.path_for(spec).write_text(json.dumps(other.to_json()))
    rc, text = run_cli([*SEARCH, "--device", "cpu", "--out", tmp_path], capsys)
    assert_rejected(rc, text, "different configuration", "proxy: 'synflow' -> 'nwot'", "seed: 3 -> 0")


def test_a_damaged_training_checkpoint_is_named_on_resume(tmp_path, capsys):
    run = ["train", "--genotype", "DARTS_V2", "--epochs", "2", "--train-limit", "8", "--test-limit", "8", "--C", "2",
           "--layers", "3", "--batch-size", "8", "--no-auxiliary", "--no-progress", "--run-dir", tmp_path / "run"]
    assert run_cli([*run, "--stop-after", "1"], capsys)[0] == 0
    ckpt = tmp_path / "run" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    rc, text = run_cli([*run, "--resume"], capsys)
    assert_rejected(rc, text, str(ckpt), "damaged", "aside to start over")


def test_a_damaged_supernet_checkpoint_is_named_on_resume(tmp_path, capsys):
    run = ["darts", "--epochs", "1", "--steps-per-epoch", "1", "--eval-max-images", "8", "--batch-size", "8",
           "--supernet-option", "C=2", "--supernet-option", "N=1", "--device", "cpu", "--quiet", "--out", tmp_path]
    assert run_cli(run, capsys)[0] == 0
    (record,) = tmp_path.glob("darts/*/darts.json")
    record.unlink()  # the record goes, the checkpoint stays: the next run resumes from it
    (ckpt,) = tmp_path.glob("darts/*/supernet/checkpoint.pt")
    ckpt.write_bytes(ckpt.read_bytes()[:300])
    rc, text = run_cli(run, capsys)
    assert_rejected(rc, text, str(ckpt), "damaged", "--force")


def test_the_builders_check_their_arguments_when_called_directly():
    from zcpt_analysis.errors import ZcptError
    from zcpt_analysis.spaces import get_space

    with pytest.raises(ZcptError, match="N must be at least 1, got 0"):
        get_space("nb201").supernet(num_classes=10, seed=0, N=0)
    with pytest.raises(ZcptError, match="layers must be at least 3, got 1"):
        get_space("darts").network("DARTS_V2", layers=1)
    assert get_space("nb201").supernet(num_classes=10, seed=0, C=2, N=1).trunk.N == 1


# ----------------------------------------------------------------------------- crash safety: real kill -9
KILLED = ["-N", "4", "-V", "30", "--batch-size", "16", "--seed", "1", "--device", "cpu", "--supernet-option", "C=2",
          "--supernet-option", "N=1", "--network-option", "C=4", "--network-option", "N=1", "--quiet"]


def _search_process(out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zcpt_analysis", "--threads", "1", "search", *KILLED, "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _kill_when(proc: subprocess.Popen, path: Path, ready, timeout: float = 120.0) -> dict:
    """SIGKILL ``proc`` as soon as its record satisfies ``ready``; returns the record it left."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            record = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            record = None
        if record is not None and ready(record):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return json.loads(path.read_text())
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"the search ended before it could be killed (rc {proc.wait()})")


def _result(path: Path) -> dict:
    record = json.loads(path.read_text())
    def untimed(obj):
        if isinstance(obj, dict):
            return {k: untimed(v) for k, v in obj.items() if k != "seconds"}
        return [untimed(v) for v in obj] if isinstance(obj, list) else obj

    return untimed({k: record[k] for k in ("status", "selected", "candidates", "iterations", "validation_batches")})


@pytest.mark.slow
def test_kill_9_in_search_and_validation_resumes_to_the_uninterrupted_result(tmp_path, shared_data):
    env = dict(os.environ, ZCPT_DATA=str(shared_data))
    spec_args = ["search", *KILLED]
    from zcpt_analysis.cli import parse_specs

    (spec,) = parse_specs(spec_args)
    reference, killed = ResultStore(tmp_path / "reference"), ResultStore(tmp_path / "killed")
    path = killed.path_for(spec)

    proc = _search_process(killed.root, env)
    left = _kill_when(proc, path, lambda r: r["status"] == "searching" and 1 <= len(r["iterations"]) < spec.N)
    assert left["status"] == "searching" and left["iterations"]
    proc = _search_process(killed.root, env)  # resumes (and takes over the dead process's claim)
    left = _kill_when(proc, path, lambda r: r["status"] == "validating" and 1 <= r["validation_batches"] < spec.V)
    assert len(left["iterations"]) == spec.N and left["status"] == "validating"
    resumed = _search_process(killed.root, env)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()

    reference.run(spec)  # uninterrupted, in this process (one thread, like the killed ones)
    assert _result(path) == _result(reference.path_for(spec))
    assert _result(path)["status"] == "complete" and not list(killed.root.glob("*.claim"))


def test_option_text_that_looks_like_json_round_trips():
    """A text value such as "1" is written so that it reads back as text (the round trip of the
    spec commands relies on it; no proxy option of the registry takes such a value any more)."""
    from zcpt_analysis.options import format_key_value, parse_key_value

    for value in ("1", "true", "null", "[1]", "plain", 1, 2.5, True, None, [1, "a"]):
        assert parse_key_value(format_key_value("k", value)) == ("k", value)
