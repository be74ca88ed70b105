"""Wall time of one Table 2 sweep with `zcpt reproduce --executor serial` vs `--executor dask`.

Runs the same sweep twice into two fresh stores (one torch thread per spec in both), checks that
the records are identical (selected architecture and every per-step score), and prints the wall
times and the resulting Table 2 next to the paper's. Timings are only meaningful on an otherwise
idle machine.

    python benchmarks/reproduce_speed.py --preset cpu --seeds 0 1 --orders random fixed --out runs/reproduce_speed
    python benchmarks/reproduce_speed.py --preset smoke --out /tmp/reproduce_speed     # a check in a minute

(cpu preset, random + fixed x seeds 0 1: about 1 h serial + 0.5 h with two workers on a 2-core CPU.)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def comparable(obj):
    """A record's JSON without times, dates and versions."""
    if isinstance(obj, dict):
        return {k: comparable(v) for k, v in obj.items() if k not in ("seconds", "timing", "created", "environment")}
    if isinstance(obj, list):
        return [comparable(v) for v in obj]
    return obj


def records(root: Path) -> dict:
    return {p.name: comparable(json.loads(p.read_text())) for p in sorted(root.glob("zcpt-*.json"))}


def sweep(args: argparse.Namespace, root: Path, executor: list[str]) -> float:
    if root.exists() and any(root.iterdir()):
        sys.exit(f"{root} is not empty: a timing needs a fresh store (move it aside)")
    cmd = [sys.executable, "-m", "zcpt_analysis", "--threads", "1", "reproduce", "table2", "--preset", args.preset,
           "--seeds", *map(str, args.seeds), "--only", "order=" + ",".join(args.orders), "--results-dir", str(root),
           *executor]
    print("$ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu", choices=("smoke", "cpu", "paper"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--orders", nargs="+", default=["random", "fixed"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="runs/reproduce_speed", help="parent folder of the two fresh stores")
    args = p.parse_args()
    out = Path(args.out)
    serial = sweep(args, out / "serial", ["--executor", "serial", "--threads-per-worker", "1"])
    dask = sweep(args, out / "dask", ["--executor", "dask", "--workers", str(args.workers), "--threads-per-worker", "1",
                                      "--dashboard-address", "none"])
    same = records(out / "serial") == records(out / "dask")
    n = len(records(out / "dask"))

    from zcpt_analysis import experiments as ex

    settings = ex.search_settings(args.preset, seeds=args.seeds)
    table = ex.table2(settings, results_dir=out / "dask", orders=args.orders).table
    cols = ["order", "seeds"] + [c for c in table.columns if c.split()[-1] in ("measured", "paper")]
    summary = {"preset": args.preset, "seeds": args.seeds, "orders": args.orders, "specs": n,
               "serial_seconds": round(serial, 1), "dask_seconds": round(dask, 1), "workers": args.workers,
               "speedup": round(serial / dask, 2), "identical_records": same}
    print(f"\n{n} searches: serial {serial:.0f} s, dask with {args.workers} workers x 1 thread {dask:.0f} s "
          f"(speed-up {serial / dask:.2f}x); records identical: {same}\n")
    print(table[cols].to_string(index=False))
    (out / "summary.json").write_text(json.dumps({**summary, "table2": table[cols].to_dict("records")}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
