"""One NB201 Zero-Cost-PT search in the paper's setting, timed end to end (search, validation, total, peak RSS,
system CPU time, minor page faults, the allocator set-up).

The paper's setting: nwot, random order, N=10 search iterations, V=100 validation minibatches,
batch 256, the published execution (``--supernet-mode block-input``, nwot hooks ``published``, as
the ``paper`` preset runs it; issue 30's goal on the 2-core CPU: < 600 s, < 4 GB). Short runs
(``-N 1 -V 4``) give the per-unit costs -- seconds per search iteration and per candidate-minibatch
of the validation -- and the projection of the full run from them (``--project-candidates``: the
number of distinct candidates the full run validates, 7 for seed 0). The run starts fresh (no resume:
it is a timing), prints the selected architecture and its NAS-Bench-201 test error, and writes a
summary with every step's scores and every validation score, so that two runs can be compared
**bitwise** with ``--compare``:

    python benchmarks/paper_setting.py --threads 2 --out runs/paper_setting/fast.json
    python benchmarks/paper_setting.py --threads 2 --plain --out runs/paper_setting/plain.json \\
        --compare runs/paper_setting/fast.json      # fast paths off: the same bits?
    git worktree add /tmp/zcpt-before bd8a437        # the code before issue 14
    python benchmarks/paper_setting.py --threads 2 --code-root /tmp/zcpt-before \\
        --out runs/paper_setting/before.json --compare runs/paper_setting/fast.json

The allocator set-up of :mod:`zcpt_analysis.allocator` is applied as ``zcpt`` applies it
(``ZCPT_MALLOC=off`` leaves glibc malloc alone; a ``--code-root`` without that module runs with
whatever the environment gives: ``GLIBC_TUNABLES``, ``LD_PRELOAD``). ``--compare`` exits with
status 1 when the step or validation scores or the selection differ.

``--plain`` turns the fused forward off and multiplies codes with plain float32 products (the
straightforward path of the same code). When the selected architectures differ, ``--compare``
says whether the validation totals of the two winners are an exact tie.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-N", type=int, default=10)
    p.add_argument("-V", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--order", default="random")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    p.add_argument("--data-source", default="auto")
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--supernet-options", default="{}", help="JSON (default: the paper's C=16, N=5)")
    p.add_argument("--supernet-mode", default="block-input", help="the search's supernet mode (default "
                   "block-input: the published execution, the paper preset's; 'fast' for the default of `zcpt search`)")
    p.add_argument("--proxy-options", default="{}", help="JSON proxy options (block-input adds hooks=published)")
    p.add_argument("--project-candidates", type=int, default=7, help="distinct candidates of the full run, for the "
                   "projection of its time (default 7: the paper-setting search, seed 0)")
    p.add_argument("--plain", action="store_true", help="fast paths off (fused forward, deduplicated kernels)")
    p.add_argument("--code-root", default=None, help="import zcpt_analysis from this checkout (e.g. the code "
                   "before a change)")
    p.add_argument("--out", default="runs/paper_setting/summary.json", help="summary JSON")
    p.add_argument("--compare", default=None, help="another run's summary: are scores and selection identical?")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    sys.path.insert(0, args.code_root or str(Path(__file__).resolve().parents[1]))
    if args.plain:
        os.environ["ZCPT_NWOT_GRAM"] = "float32"

    import contextlib

    import torch

    from zcpt_analysis.runs import SearchSpec
    from zcpt_analysis.searches.zcpt import ZeroCostPT

    try:
        from zcpt_analysis import allocator

        allocator.configure()  # what `zcpt` and the API do before computing
        allocation = allocator.describe()
    except ImportError:  # code from before issue 30
        allocation = _allocation_from_environment()
    if args.threads:
        torch.set_num_threads(args.threads)
    extra = {"precision": args.precision} if args.precision != "fp32" else {}
    if args.supernet_mode != "fast":
        extra["supernet_mode"] = args.supernet_mode
    spec = SearchSpec(proxy=args.proxy, order=args.order, N=args.N, V=args.V, batch_size=args.batch_size,
                      seed=args.seed, data_source=args.data_source, data_root=args.data_root, device=args.device,
                      supernet_options=json.loads(args.supernet_options),
                      proxy_options=json.loads(args.proxy_options), **extra)
    plain = contextlib.nullcontext()
    if args.plain:
        from zcpt_analysis import fastpath

        plain = fastpath.disabled()
    run = ZeroCostPT(spec, progress=not args.quiet)
    run.pool  # data loading is not timed
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with plain:
        run.search()
        searched = time.perf_counter()
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        run.validate()
        validated = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    run.attach_benchmark()
    rec = run.result
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # Linux: KiB
    search_s, validation_s = searched - started, validated - searched
    per_iteration = search_s / args.N
    per_candidate_batch = validation_s / (len(rec.candidates) * args.V)
    projection = 10 * per_iteration + args.project_candidates * 100 * per_candidate_batch
    user_s, sys_s = usage.ru_utime - usage0.ru_utime, usage.ru_stime - usage0.ru_stime
    cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)  # noqa: E731
    search_cpu, validation_cpu = cpu(usage0, usage1), cpu(usage1, usage)
    minor_faults = usage.ru_minflt - usage0.ru_minflt
    bench = rec.selected.benchmark or {}
    c10 = bench.get("cifar10")
    summary = {
        "spec": spec.to_json(), "code_root": args.code_root, "plain": args.plain, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "device": str(run.device), "engine": rec.engine, "data": rec.data,
        "search_seconds": search_s, "validation_seconds": validation_s, "total_seconds": search_s + validation_s,
        "peak_rss_gb": peak_gb, "user_seconds": user_s, "sys_seconds": sys_s, "minor_page_faults": minor_faults,
        "search_cpu_seconds": search_cpu, "validation_cpu_seconds": validation_cpu,
        "allocator": allocation, "load_average": os.getloadavg(), "search_seconds_per_iteration": per_iteration,
        "validation_seconds_per_candidate_batch": per_candidate_batch,
        "projected_paper_seconds": projection, "projected_candidates": args.project_candidates, "selected": str(rec.selected.arch), "selected_total": rec.selected.score,
        "cifar10_error": None if c10 is None else c10.error,
        "steps": [[{"edge": s.edge, "chosen": s.chosen, "scores": s.scores} for s in it.steps]
                  for it in rec.iterations],
        "candidates": [{"arch": str(c.arch), "scores": c.scores, "total": c.total} for c in rec.candidates],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(f"\nNB201 paper setting (N={args.N}, V={args.V}, batch {args.batch_size}, seed {args.seed}, {rec.data['source']}"
          f" data, {torch.get_num_threads()} threads{', plain' if args.plain else ''}{', ' + args.precision})")
    print(f"  search {search_s:.1f} s   validation {validation_s:.1f} s ({len(rec.candidates)} candidates)   "
          f"total {search_s + validation_s:.1f} s   peak RSS {peak_gb:.2f} GB   (goal: < 600 s, < 4 GB)")
    print(f"  {per_iteration:.1f} s / search iteration   {per_candidate_batch:.3f} s / candidate-minibatch   "
          f"projected N=10, V=100, {args.project_candidates} candidates: {projection:.0f} s")
    print(f"  CPU seconds: search {search_cpu:.1f} ({search_cpu / args.N:.1f} / iteration), validation "
          f"{validation_cpu:.1f} ({validation_cpu / (len(rec.candidates) * args.V):.3f} / candidate-minibatch)")
    print(f"  user {user_s:.1f} s   sys {sys_s:.1f} s   minor page faults {minor_faults / 1e6:.2f} M   "
          f"allocator: {allocation}   load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"  selected {rec.selected.arch}" + (f"  CIFAR-10 test error {c10.error:.2f} %" if c10 else ""))
    if args.compare and not compare(summary, json.loads(Path(args.compare).read_text())):
        sys.exit(1)


def _allocation_from_environment() -> str:
    """The allocator set-up of code that does not set one up itself (what the environment gives)."""
    import platform

    for key in ("LD_PRELOAD", "GLIBC_TUNABLES"):
        if os.environ.get(key):
            return f"{key}={os.environ[key]}"
    name, version = platform.libc_ver()
    return f"{name} {version} default" if name else "platform default"


def compare(a: dict, b: dict) -> bool:
    """Print whether two summaries have bitwise equal scores and the same selection (or an exact
    tie); returns whether scores and selection are the same."""
    same_steps = a["steps"] == b["steps"]
    same_validation = [c["scores"] for c in a["candidates"]] == [c["scores"] for c in b["candidates"]]
    print(f"  vs {b.get('code_root') or 'this code'}{' (plain)' if b.get('plain') else ''}: step scores bitwise "
          f"equal: {same_steps}; validation scores bitwise equal: {same_validation}; same selection: "
          f"{a['selected'] == b['selected']}")
    if a["selected"] != b["selected"]:
        totals = {c["arch"]: c["total"] for c in a["candidates"]}
        tie = b["selected"] in totals and totals[b["selected"]] == totals[a["selected"]]
        print(f"  the other run's winner {'ties exactly' if tie else 'does NOT tie'} with this run's in this run's "
              f"validation totals")
    return same_steps and same_validation and a["selected"] == b["selected"]


if __name__ == "__main__":
    main()
