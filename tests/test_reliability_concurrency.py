"""Concurrency on caches and the honest report of concurrent sweeps (issue 25, class 5).

Two real processes at once, bounded in time: two NASWOT runs of one setting (seeds 0 and 1) on one
store leave the same score cache as running them one after the other (no lost update: the cache
is merged under its file lock), and the same records; two ``zcpt reproduce`` runs on one store
split the work, and each reports what it computed and what the other computed meanwhile -- each
spec is computed exactly once.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from zcpt_analysis.files import update_json

NASWOT = ["baseline", "naswot", "--n-samples", "40", "--batch-size", "8", "--network-option", "C=2",
          "--network-option", "N=1", "--quiet"]


def _zcpt(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zcpt_analysis", "--threads", "1", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=30)
        raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return out + err


def _cache(root: Path) -> dict:
    (path,) = root.glob("naswot-scores-*.json")
    return json.loads(path.read_text())


def _untimed(path: Path) -> dict:
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in ("timing", "created", "seconds")}


def test_two_naswot_runs_at_once_keep_every_cached_score(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("ZCPT_DATA", str(shared_data))
    env = dict(os.environ, ZCPT_DATA=str(shared_data))
    together, in_a_row = tmp_path / "together", tmp_path / "in-a-row"
    procs = [_zcpt([*NASWOT, "--seed", str(seed), "--out", str(together)], env) for seed in (0, 1)]
    for proc in procs:
        _finish(proc)
    from zcpt_analysis.cli import parse_specs
    from zcpt_analysis.runs import ResultStore

    for seed in (0, 1):  # the undisturbed reference, here
        (spec,) = parse_specs([*NASWOT, "--seed", str(seed)])
        ResultStore(in_a_row).run(spec)

    cache, reference = _cache(together), _cache(in_a_row)
    assert len(reference["scores"]) > 40  # the two seeds sample different architectures
    assert cache == reference  # nothing lost, identical scores
    records = sorted(in_a_row.glob("naswot-nwot-*.json"))
    assert len(records) == 2
    for record in records:
        assert _untimed(together / record.name) == _untimed(record)


def test_update_json_merges_concurrent_updates_from_threads(tmp_path):
    path = tmp_path / "cache.json"

    def add(start: int) -> None:
        for k in range(start, start + 20):
            update_json(path, lambda old, k=k: {**(old or {}), str(k): k})

    threads = [threading.Thread(target=add, args=(start,)) for start in (0, 100, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert json.loads(path.read_text()) == {str(k): k for s in (0, 100, 200) for k in range(s, s + 20)}


SUMMARY = re.compile(r"(\d+) planned: (\d+) already stored, (\d+) computed, (?:(\d+) computed by another process "
                     r"meanwhile, )?(\d+) failed")


def test_two_reproduce_runs_at_once_report_what_each_computed(tmp_path, shared_data):
    env = dict(os.environ, ZCPT_DATA=str(shared_data))
    store = tmp_path / "store"
    args = ["reproduce", "table4", "--only", "kind=naswot", "--executor", "serial", "--results-dir", str(store)]
    procs = [_zcpt(args, env) for _ in range(2)]
    texts = [_finish(proc) for proc in procs]
    counts = []
    for text in texts:
        (match,) = SUMMARY.findall(text)
        planned, stored, computed, elsewhere, failed = (int(v or 0) for v in match)
        assert failed == 0 and stored + computed + elsewhere == planned == 4, text
        counts.append((computed, elsewhere, stored))
    assert sum(c for c, _, _ in counts) == 4, texts  # every spec computed exactly once, by one of them
    for (_, elsewhere, stored), (other_computed, _, _) in zip(counts, counts[::-1]):
        assert elsewhere + stored == other_computed  # what one did not compute, the other did
    assert len([p for p in store.glob("naswot-*-s*.json") if not p.name.startswith("naswot-scores-")]) == 4
