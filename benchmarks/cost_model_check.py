"""The cost model of `zcpt reproduce --dry-run` against measured runs, and the cpu preset's execution.

For each checked spec (smoke preset specs and `cpu`-preset specs), in one process with one torch
thread (what an estimate means: seconds of one core):

1. the estimate of the cost model on an empty store (this machine's calibration, measured by this
   script into a fresh cache folder in the same period as the runs, so that both see the same load);
2. the spec computed into a fresh store, wall seconds measured around it;
3. the ratios measured / estimated, of the run's CPU seconds (what the estimate predicts: one core's
   work, whatever else runs) and of its wall seconds (what a user waits; on this shared machine
   longer than the CPU time while other work competes). Goal: within 2x, i.e. 0.5-2.0.

``--execution`` also times the `cpu` preset's NB201 search (seed 0: N=10, V=20, batch 64, nwot,
random order) with the fast execution and with the paper's (``block-input``, ``hooks=published``),
one after the other; the default spec list already holds both, so this only repeats them.

Every timing is printed with the 1-minute load average before and after it (the machine is shared).

    python benchmarks/cost_model_check.py                   # smoke + cpu specs (~15 min on 2 busy cores)
    python benchmarks/cost_model_check.py --only smoke      # the smoke specs (~1 min)
    python benchmarks/cost_model_check.py --json out.json   # also write the figures
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def checked_specs(only: str) -> list[tuple[str, object]]:
    """(label, spec) of the specs to check."""
    from zcpt_analysis.experiments.presets import preset

    out = []
    if only in ("all", "smoke"):
        smoke = preset("smoke")
        out += [("smoke nb201-search", smoke.runs("nb201-search").at(0)),
                ("smoke darts-search", smoke.runs("darts-search").at(0)),
                ("smoke naswot", smoke.runs("naswot").at(0)),
                ("smoke scores zc-pt", smoke.runs("scores").at(0, method="zc-pt")),
                ("smoke proxy-study", smoke.runs("proxy-study").at(0)),
                ("smoke darts", smoke.runs("darts").at(0))]
    if only in ("all", "cpu"):
        cpu = preset("cpu")
        search = cpu.runs("nb201-search").at(0)
        out += [("cpu nb201-search (paper execution)", search),
                ("cpu nb201-search (fast execution)", search.replace(supernet_mode="fast")),
                ("cpu naswot", cpu.runs("naswot").at(0)),
                ("cpu scores zc-pt", cpu.runs("scores").at(0, method="zc-pt")),
                ("cpu darts-s1 search", cpu.runs("darts-search").at(0, space="darts-s1"))]
    return out


def load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("all", "smoke", "cpu"), default="all")
    parser.add_argument("--execution", action="store_true", help="repeat the cpu search in both executions")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="zcpt-cost-check-"))
    os.environ["ZCPT_CACHE_DIR"] = str(work / "cache")
    from zcpt_analysis.runs.calibration import Calibration
    from zcpt_analysis.runs.costs import CostModel
    from zcpt_analysis.runs.store import ResultStore

    specs = checked_specs(args.only)
    if args.execution:  # both executions once more, after everything else
        specs += [(f"again: {label}", s) for label, s in specs if label.startswith("cpu nb201-search")]
    print(f"calibrating (fresh cache {work / 'cache'}), load {load()}", flush=True)
    start = time.perf_counter()
    costs = CostModel(calibration=Calibration())
    estimates = {label: costs.estimate(spec) for label, spec in specs}
    print(f"calibration: {time.perf_counter() - start:.1f} s for {len(costs.work.calibration.units)} units, "
          f"load {load()}", flush=True)
    rows = []
    for i, (label, spec) in enumerate(specs):
        est = estimates[label]
        store = ResultStore(work / f"store{i}")
        before = load()
        start, cpu_start = time.perf_counter(), time.process_time()
        record = store.run(spec)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        row = {"spec": label, "record": spec.record_name(), "estimate_s": round(est.seconds, 1), "source": est.source,
               "measured_cpu_s": round(cpu, 1), "measured_wall_s": round(wall, 1), "record_s": round(record.seconds, 1),
               "ratio_cpu": round(cpu / est.seconds, 2) if est.seconds > 0 else None,
               "ratio_wall": round(wall / est.seconds, 2) if est.seconds > 0 else None, "load_before": before,
               "load_after": load()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| spec | estimate (core-s) | source | measured CPU s | wall s | CPU / estimate | wall / estimate | "
          "load before / after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['spec']} | {r['estimate_s']} | {r['source']} | {r['measured_cpu_s']} | {r['measured_wall_s']} | "
              f"{r['ratio_cpu']} | {r['ratio_wall']} | {r['load_before']} / {r['load_after']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "units": costs.work.calibration.units}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
