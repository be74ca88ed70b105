"""The results store's locks (zcpt_analysis/runs/store.py): an OS file lock decides who computes a
spec; the owner-info file only feeds messages. Real processes hold and lose the locks here (a
holder subprocess, ``kill -9``); every wait is bounded."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from zcpt_analysis.errors import ZcptError
from zcpt_analysis.files import OutputLocationError
from zcpt_analysis.runs import RandomSpec, ResultStore
from zcpt_analysis.runs.store import LOCK_SUFFIX, OWNER_SUFFIX, ClaimedError

SPEC = RandomSpec(runs=3)
HOLDER = textwrap.dedent("""
    import sys, time
    from zcpt_analysis.runs.specs import RandomSpec
    from zcpt_analysis.runs.store import ResultStore
    with ResultStore(sys.argv[1]).claim(RandomSpec(runs=3)) as held:
        assert held
        print("held", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def store(tmp_path) -> ResultStore:
    return ResultStore(tmp_path)


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """The threads that computed a record, counted where it is saved (each save takes 0.2 s, so
    overlaps would show). The tests give ``run`` the preloaded benchmark."""
    calls: list[int] = []
    save = ResultStore.save

    def counted(self, record):
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return save(self, record)

    monkeypatch.setattr(ResultStore, "save", counted)
    return calls


def side_file(store: ResultStore, suffix: str) -> Path:
    path = store.path_for(SPEC)
    return path.with_name(path.name + suffix)


@contextlib.contextmanager
def holder(store: ResultStore) -> Iterator[subprocess.Popen]:
    """Another process holding ``SPEC``'s lock (killed at the end)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready and proc.stdout.readline() == "held\n", proc.stderr.read() if proc.poll() is not None else ""
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


# ----------------------------------------------------------------------------- 1. damaged files never block
JUNK = {"garbage": b"\x00\xff\xfe not json", "empty": b"",
        # someone else's JSON naming a live process (pid 1) on this host: the old design waited for it
        "foreign": json.dumps({"pid": 1, "host": socket.gethostname(), "since": "1970-01-01T00:00:00"}).encode(),
        "not-a-dict": b"[1, 2, 3]"}


@pytest.mark.parametrize("suffix", [LOCK_SUFFIX, OWNER_SUFFIX])
@pytest.mark.parametrize("junk", list(JUNK))
def test_damaged_empty_or_foreign_lock_files_never_block_a_run(store, computed, bench, suffix, junk):
    side_file(store, suffix).write_bytes(JUNK[junk])
    assert store.claim_info(SPEC) is None
    start = time.monotonic()
    assert store.run(SPEC, bench=bench).complete and len(computed) == 1
    assert time.monotonic() - start < 3
    assert store.paths() == [store.path_for(SPEC)]  # lock and owner files are no records
    assert not side_file(store, OWNER_SUFFIX).exists() and store.claim_info(SPEC) is None


@pytest.mark.parametrize("suffix", [LOCK_SUFFIX, OWNER_SUFFIX])
def test_a_folder_in_place_of_a_lock_file_is_one_clear_error_before_any_work(store, computed, bench, suffix):
    folder = side_file(store, suffix)
    folder.mkdir(parents=True)
    with pytest.raises(OutputLocationError) as error:
        store.run(SPEC, bench=bench)
    message = str(error.value)
    assert str(folder) in message and "is a folder" in message and "move it aside" in message
    assert "\n" not in message and computed == [] and store.find(SPEC) is None


# ----------------------------------------------------------------------------- 2. a dead owner is taken over
def test_a_killed_owners_spec_is_taken_over_at_once(store):
    with holder(store) as proc:
        assert store.claim_info(SPEC)["pid"] == proc.pid
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        start = time.monotonic()
        with store.claim(SPEC, wait=False) as held:
            assert held and time.monotonic() - start < 1.5
            assert store.claim_info(SPEC)["pid"] == os.getpid()  # its owner file now names us
    assert store.claim_info(SPEC) is None and not side_file(store, OWNER_SUFFIX).exists()


# ----------------------------------------------------------------------------- 3. a live owner is never taken over
def test_a_live_owner_is_never_taken_over_whatever_the_file_times_say(store, bench):
    with holder(store) as proc:
        lock, owner = side_file(store, LOCK_SUFFIX), side_file(store, OWNER_SUFFIX)
        for path in (lock, owner):
            os.utime(path, (0, 0))  # 1970: older than any staleness rule
        who = f"{store.path_for(SPEC)} is being computed by pid {proc.pid} on {socket.gethostname()} (since "
        with pytest.raises(ClaimedError, match=f"pid {proc.pid} on"):
            with store.claim(SPEC, wait=False):
                pytest.fail("took the lock of a live process")

        said, got = [], []

        def waiter() -> None:
            with store.claim(SPEC, log=said.append) as held:
                got.append(held)

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert got == [] and len(said) == 1 and said[0].startswith(f"waiting: {who}")  # it waits, saying so once
        store.save(SPEC.run(None, bench=bench))  # the record, complete (as the owner writes it)
        thread.join(timeout=5)
        assert not thread.is_alive() and got == [None] and len(said) == 1  # it returned the record
        # neither the refused nor the waiting claim touched the holder's files
        assert store.claim_info(SPEC)["pid"] == proc.pid and lock.exists() and owner.exists()


def test_threads_of_one_process_never_compute_one_spec_twice(store, computed, bench):
    results: list = [None] * 4

    def run(i: int) -> None:
        results[i] = store.run(SPEC, bench=bench)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert len(computed) == 1 and all(r is not None and r.complete for r in results)
    assert len({json.dumps(r.to_json(), sort_keys=True) for r in results}) == 1

    with store.claim(SPEC) as held:  # held by this thread: another thread is refused
        refused: list = []

        def other() -> None:
            try:
                with store.claim(SPEC, wait=False):
                    refused.append(False)
            except ClaimedError as exc:
                refused.append(str(exc))

        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        thread.join(timeout=5)
        assert held and len(refused) == 1 and f"pid {os.getpid()}" in refused[0]


# ----------------------------------------------------------------------------- 4. a full disk
def _full_owner_file(monkeypatch) -> None:
    write_text = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.endswith(OWNER_SUFFIX):
            self.touch()  # created, then the disk ran out: an empty file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)


def _full_lock_file(monkeypatch) -> None:
    real_open = os.open

    def full(path, flags, *args, **kwargs):
        if os.fspath(path).endswith(LOCK_SUFFIX) and flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", full)


@pytest.mark.parametrize("suffix, fill", [(OWNER_SUFFIX, _full_owner_file), (LOCK_SUFFIX, _full_lock_file)],
                         ids=["owner-file", "lock-file"])
def test_a_full_disk_is_one_clear_error_and_the_next_run_starts_at_once(store, computed, bench, monkeypatch,
                                                                        suffix, fill):
    with monkeypatch.context() as patch:
        fill(patch)
        with pytest.raises(ZcptError, match="the disk is full") as error:
            store.run(SPEC, bench=bench)
    message = str(error.value)
    assert str(side_file(store, suffix)) in message and "\n" not in message and computed == []
    assert not side_file(store, OWNER_SUFFIX).exists() and store.claim_info(SPEC) is None
    start = time.monotonic()
    assert store.run(SPEC, bench=bench).complete and len(computed) == 1
    assert time.monotonic() - start < 3


# ----------------------------------------------------------------------------- 5. release
def test_release_never_removes_a_lock_held_by_someone_else(store):
    with store.claim(SPEC) as mine:
        assert mine
    with holder(store) as proc:
        mine.release()  # released already: does nothing now that another process holds the lock
        assert store.claim_info(SPEC)["pid"] == proc.pid and side_file(store, OWNER_SUFFIX).exists()
        with pytest.raises(ClaimedError):
            with store.claim(SPEC, wait=False):
                pass
        assert store.claim_info(SPEC)["pid"] == proc.pid and side_file(store, OWNER_SUFFIX).exists()


def test_a_dask_task_waits_for_the_cluster_lock_of_its_spec(tmp_path, shared_data):
    """On a Dask cluster the scheduler's lock of the record (not only the store's file lock) keeps
    tasks off a spec: where the file system had no working locks, it would still decide."""
    from distributed import Client, Lock

    from zcpt_analysis.runs.sweep import cluster_lock_name, local_cluster, run_task

    store = ResultStore(tmp_path)
    with local_cluster(workers=1, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        lock = Lock(cluster_lock_name(tmp_path, SPEC))  # held by this client
        assert lock.acquire(timeout=10)
        task = client.submit(run_task, SPEC, str(tmp_path), pure=False)
        time.sleep(3)
        assert not task.done() and store.find(SPEC) is None and not store._lock_path(SPEC).exists()
        lock.release()
        assert task.result(timeout=60)["ok"] and store.find(SPEC) is not None
