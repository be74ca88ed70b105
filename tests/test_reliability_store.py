"""Reliability of the results store under hostile conditions (issue 25, classes 1 and 6).

Class 1: anything in a store that is not a readable record (a dangling symlink, a folder, a named
pipe, a symlink loop, binary bytes, JSON nested too deep or with a huge integer, a JSON list) is
skipped by the readers with one warning naming it, and a writer refuses a record path that is not
a regular file, in one line. Class 6: a full disk mid-run is one line saying so and that the run
resumes (and the resumed record equals an undisturbed run's); the temporary files of writers
killed with ``kill -9`` are removed when the store is next opened for writing, a live writer's
never. Every subprocess is bounded in time.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli_run import run_cli
from zcpt_analysis.errors import ZcptError
from zcpt_analysis.files import (TMP_SUFFIX, DiskFullError, atomic_write_json, read_json,
                                 remove_stale_temporaries)
from zcpt_analysis.runs import RandomSpec, ResultStore

SPEC = RandomSpec(runs=3)
RANDOM = ["baseline", "random", "--runs", "3"]




def hostile_entries(root: Path) -> dict[str, str]:
    """Files that are no readable record, by name -> the words the warning must contain."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dangling.json").symlink_to("/nonexistent/x.json")
    (root / "loop.json").symlink_to(root / "loop.json")
    (root / "folder.json").mkdir()
    os.mkfifo(root / "pipe.json")
    (root / "binary.json").write_bytes(bytes(range(256)))
    (root / "deep.json").write_text("[" * 100_000)
    (root / "hugeint.json").write_text("1" + "0" * 5000)
    (root / "list.json").write_text("[1, 2]")
    (root / "empty.json").write_text("")
    (root / "nested").mkdir()
    (root / "nested" / "cut.json").write_text('{"schema": 1, "kind": "random-baseline", "spec"')
    return {"dangling.json": "dangling symbolic link", "loop.json": "symbolic link loop", "folder.json": "folder",
            "pipe.json": "named pipe", "binary.json": "damaged", "deep.json": "damaged", "hugeint.json": "damaged",
            "list.json": "not a result record", "empty.json": "damaged", "cut.json": "damaged"}


# ----------------------------------------------------------------------------- class 1: readers
def test_readers_skip_every_non_record_with_one_warning_each(tmp_path, capsys):
    store = ResultStore(tmp_path / "store")
    reference = ResultStore(tmp_path / "reference")
    reference.run(SPEC)
    store.run(SPEC)
    expected = hostile_entries(store.root)

    table = store.table(columns="all")  # must neither hang on the pipe nor raise
    err = capsys.readouterr().err
    assert list(table["path"]) == [SPEC.record_name()]
    warnings = err.strip().splitlines()
    assert len(warnings) == len(expected), err
    for name, words in expected.items():
        (line,) = [w for w in warnings if f"/{name}:" in w]
        assert words in line and len(line) < 400 and line.startswith("zcpt: skipping"), line
    assert [r.spec for r in store.records(warn=False)] == [SPEC]
    assert store.read(store.path_for(SPEC)).model_dump() == reference.read(reference.path_for(SPEC)).model_dump()

    rc, text = run_cli(["results", "table", "--out", store.root], capsys)
    assert rc == 0 and "Traceback" not in text and "random-baseline" in text
    assert sum("skipping" in line for line in text.splitlines()) == len(expected)


def test_read_json_names_the_file_and_what_it_is(tmp_path):
    expected = hostile_entries(tmp_path)
    for name, words in expected.items():
        path = tmp_path / ("nested/" if name == "cut.json" else "") / name
        if name == "list.json":
            assert read_json(path) == [1, 2]
            continue
        with pytest.raises(ZcptError) as info:
            read_json(path)
        message = str(info.value)
        assert str(path) in message and words in message and "\n" not in message and len(message) < 400


def test_the_planner_reports_a_record_path_that_is_no_file(tmp_path, capsys):
    """``zcpt reproduce --dry-run`` with record paths that are a dangling symlink and a named pipe:
    no hang, no traceback; the plan marks them as conflicts naming the file."""
    from zcpt_analysis.experiments.reproduce import plan_entries

    store = ResultStore(tmp_path)
    entries = plan_entries(["table1"], "smoke", store)
    first, second = store.path_for(entries[0].spec), store.path_for(entries[1].spec)
    first.parent.mkdir(parents=True, exist_ok=True)
    second.parent.mkdir(parents=True, exist_ok=True)
    first.symlink_to("/nonexistent/x.json")
    os.mkfifo(second)
    rc, text = run_cli(["reproduce", "table1", "--preset", "smoke", "--results-dir", tmp_path, "--dry-run"], capsys)
    assert rc == 0 and "Traceback" not in text, text
    assert f"{first.name}" in text and "dangling symbolic link" in text and "named pipe" in text


@pytest.mark.parametrize("make, words", [
    (lambda p: p.symlink_to("/nonexistent/x.json"), "dangling symbolic link"),
    (lambda p: os.mkfifo(p), "named pipe"),
    (lambda p: p.mkdir(), "folder"),
    (lambda p: p.symlink_to(p), "symbolic link loop"),
])
def test_writers_refuse_a_record_path_that_is_not_a_regular_file(tmp_path, capsys, make, words):
    store = ResultStore(tmp_path)
    make(store.path_for(SPEC))
    rc, text = run_cli([*RANDOM, "--out", tmp_path], capsys)
    assert rc != 0 and "Traceback" not in text
    (line,) = [line for line in text.splitlines() if "error" in line]
    assert str(store.path_for(SPEC)) in line and words in line and "move it aside" in line
    with pytest.raises(ZcptError, match=words):
        store.run(SPEC)


def test_a_symlink_to_a_record_is_read_but_not_overwritten(tmp_path, capsys):
    store, elsewhere = ResultStore(tmp_path / "store"), ResultStore(tmp_path / "elsewhere")
    elsewhere.run(SPEC)
    store.root.mkdir()
    store.path_for(SPEC).symlink_to(elsewhere.path_for(SPEC))
    assert len(store.table(warn=False)) == 1  # readers follow it
    rc, text = run_cli([*RANDOM, "--out", store.root, "--force"], capsys)
    assert rc != 0 and "symbolic link" in text and "Traceback" not in text


# ----------------------------------------------------------------------------- class 6: a full disk
ENOSPC_RUNNER = textwrap.dedent("""
    import errno, os, sys
    real, calls, fail_at = os.fsync, [0], int(sys.argv[1])
    def fsync(fd):
        calls[0] += 1
        if calls[0] >= fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    os.fsync = fsync
    from zcpt_analysis.cli import main
    sys.exit(main(sys.argv[2:]))
""")
SEARCH = ["search", "-N", "2", "-V", "2", "--batch-size", "8", "--seed", "3", "--device", "cpu",
          "--supernet-option", "C=2", "--supernet-option", "N=1", "--network-option", "C=2", "--network-option", "N=1",
          "--quiet"]


def untimed(obj):
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if k not in ("seconds", "created", "updated", "timing")}
    return [untimed(v) for v in obj] if isinstance(obj, list) else obj


def test_a_full_disk_mid_run_is_one_line_and_the_run_resumes(tmp_path, shared_data, monkeypatch, fail_at=2):
    """The n-th file write of a search fails with ENOSPC (the first is the search's first partial
    record): one line saying the disk is full and that the run resumes; the partial record stays
    intact; the same command then finishes with the record of an undisturbed run."""
    monkeypatch.setenv("ZCPT_DATA", str(shared_data))
    env = dict(os.environ)
    full, clean = tmp_path / "full", tmp_path / "clean"
    proc = subprocess.run([sys.executable, "-c", ENOSPC_RUNNER, str(fail_at), "--threads", "1", *SEARCH, "--out",
                           str(full)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "disk is full" in lines[0] and "resume" in lines[0], proc.stderr
    (record,) = full.rglob("*.json")
    assert json.loads(record.read_text())["status"] != "complete"  # the partial record is intact JSON
    assert not list(full.rglob(f"*{TMP_SUFFIX}"))

    done = subprocess.run([sys.executable, "-m", "zcpt_analysis", "--threads", "1", *SEARCH, "--out", str(full)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    from zcpt_analysis.cli import parse_specs

    (spec,) = parse_specs(SEARCH)
    ResultStore(clean).run(spec)  # the undisturbed run, here (one torch thread, like the subprocesses)
    (resumed,), (reference,) = full.rglob("*.json"), clean.rglob("*.json")
    assert untimed(json.loads(resumed.read_text())) == untimed(json.loads(reference.read_text()))


def test_a_full_disk_while_saving_raises_the_one_line_error(tmp_path, monkeypatch):
    import errno

    atomic_write_json(tmp_path / "r.json", {"old": 1})

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(DiskFullError) as info:
        atomic_write_json(tmp_path / "r.json", {"new": 2})
    assert "disk is full" in str(info.value) and "r.json" in str(info.value) and "\n" not in str(info.value)
    assert json.loads((tmp_path / "r.json").read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# ----------------------------------------------------------------------------- class 6: stale temporaries
def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def test_temporaries_of_dead_writers_go_and_a_live_writers_stay(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        sub = tmp_path / "darts" / "x"
        sub.mkdir(parents=True)
        files = {
            "dead": sub / f".record.json.abc123.{_host()}-{dead.pid}{TMP_SUFFIX}",
            "live": tmp_path / f".record.json.def456.{_host()}-{live.pid}{TMP_SUFFIX}",
            "mine": tmp_path / f".other.json.ghi789.{_host()}-{os.getpid()}{TMP_SUFFIX}",
            "other-host": tmp_path / f".r.json.jkl012.otherhost-{dead.pid}{TMP_SUFFIX}",
            "old-other-host": tmp_path / f".q.json.mno345.otherhost-{dead.pid}{TMP_SUFFIX}",
            "old-unnamed": tmp_path / f".p.json.pqr678{TMP_SUFFIX}",
            "young-unnamed": tmp_path / f".o.json.stu901{TMP_SUFFIX}",
        }
        for path in files.values():
            path.write_text("{")
        day_ago = time.time() - 2 * 86400
        for key in ("old-other-host", "old-unnamed"):
            os.utime(files[key], (day_ago, day_ago))
        (tmp_path / "keep.json.tmp").write_text("not ours: no leading dot")

        store = ResultStore(tmp_path)
        store.ensure_writable(SPEC)  # opening the store for writing cleans up
        gone = {k for k, p in files.items() if not p.exists()}
        assert gone == {"dead", "old-other-host", "old-unnamed"}
        assert (tmp_path / "keep.json.tmp").exists()
        assert remove_stale_temporaries(tmp_path) == []  # nothing else is stale
    finally:
        live.kill()
        live.wait(timeout=10)


def test_kill_9_mid_write_leaves_a_temporary_that_the_next_run_removes(tmp_path):
    """A writer killed inside ``atomic_write`` (after the temporary is written, before the rename)
    leaves it; the next run of any spec on the store removes it and computes its record."""
    writer = textwrap.dedent("""
        import os, sys, time
        from zcpt_analysis import files
        def stuck(src, dst):
            print("writing", flush=True)
            time.sleep(60)
        files.os.replace = stuck
        files.atomic_write_json(sys.argv[1], {"x": 1})
    """)
    target = tmp_path / "random-n3-s0.json"
    proc = subprocess.Popen([sys.executable, "-c", writer, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n"
        (tmp,) = tmp_path.glob(f".*{TMP_SUFFIX}")
        ResultStore(tmp_path).remove_stale_temporaries()
        assert tmp.exists()  # its writer is alive
    finally:
        proc.kill()
        proc.wait(timeout=10)
    store = ResultStore(tmp_path)
    store.run(SPEC)
    assert not tmp.exists() and store.find(SPEC) is not None
