"""Zero-Cost-PT speed: a straightforward reference implementation vs the library, same inputs.

(a) ``reference`` -- the zc-pt step as the published code does it: for every perturbation a deep
    copy of the supernet, one full forward in which *every* op runs (a weight-0 op on a zeroed
    input, ``none`` as a multiply by zero), nwot hooks on every module whose type name contains
    "ReLU", ``K = c cᵀ + (1-c)(1-c)ᵀ`` with two float32 matmuls per hook, ``numpy.linalg.slogdet``;
    nothing batched, nothing cached.
(b) ``library`` -- ``ZeroCostPT.search_iteration`` with the same seed, i.e. the same alpha,
    minibatches and edge order, in ``supernet_mode="published"`` (the same scores as (a)) with the
    library's optimisations (``engine="batched"``: all perturbations of an edge in one forward,
    weight-0 ops skipped with their exact nwot contribution added, one exact kernel product per
    distinct tensor, the fused no-grad cell forward of ``zcpt_analysis.fastpath``, channels-last
    convolutions on CPU). ``library-fast`` is the library's default semantics (``supernet_mode="fast"``),
    shown for its time only (its scores differ by design). ``library-plain`` is (b) with the fused
    forward off and plain float32 kernel products: the report checks that (b) gives *bitwise* the
    same scores (the exactness of the fast paths on a real run). ``library-simple``: one forward per
    perturbation; ``library-bf16``: (b) with ``precision="bf16"`` (approximate).

``--proxy snip`` (or another gradient proxy) compares ``library`` (batched gradients) with
``library-simple`` (one proxy call per perturbation) instead: the reference is nwot's.

Each variant runs in a fresh subprocess (clean peak memory). The report gives proxy evaluations
per second, the wall time of one search iteration and of the validation stage (V minibatches on
the candidate's standalone network), peak memory, the ratio (a)/(b), and whether (a) and (b)
chose the same op on every edge.

    python benchmarks/search_speed.py --quick          # batch 64, one iteration, V=0: the ratio line
    python benchmarks/search_speed.py --space nb201 --batch-sizes 64 256
    python benchmarks/search_speed.py --proxy snip --batch-sizes 64 --validation-batches 0
    python benchmarks/search_speed.py --space darts --batch-sizes 64 --validation-batches 10
    python benchmarks/search_speed.py --space darts --supernet-options '{"C": 8, "layers": 5}'  # CPU-sized
    python benchmarks/search_speed.py --scale            # iteration time vs batch, cells, |E|
    python benchmarks/search_speed.py --gram --threads 2 # nwot's exact Gram backends: codes + product

Every variant's process sets up the allocator as ``zcpt`` does (``zcpt_analysis.allocator``;
``ZCPT_MALLOC=off`` leaves it alone).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zcpt_analysis import allocator, fastpath  # noqa: E402
from zcpt_analysis.files import atomic_write_json  # noqa: E402
from zcpt_analysis.searches.op_selection import choose_zc_pt  # noqa: E402
from zcpt_analysis.runtime import derive_seed  # noqa: E402
from zcpt_analysis.runs import SearchSpec  # noqa: E402
from zcpt_analysis.searches.zcpt import ZeroCostPT  # noqa: E402


# ------------------------------------------------------------------------------- (a) reference
def reference_nwot(model: torch.nn.Module, inputs: torch.Tensor) -> float:
    """The published ``Jocab_Score``: deep copy, eval, hooks on 'ReLU' type names, two matmuls."""
    model = copy.deepcopy(model)
    model.eval()
    n = inputs.shape[0]
    state = {"K": torch.zeros(n, n, device=inputs.device)}

    def hook(module, inp, out):
        x = inp[0] if isinstance(inp, tuple) else inp
        x = x.reshape(x.size(0), -1)
        c = (x > 0).float()
        state["K"] = state["K"] + c @ c.t() + (1.0 - c) @ (1.0 - c.t())

    for module in model.modules():
        if "ReLU" in str(type(module)):
            module.register_forward_hook(hook)
    with torch.no_grad():
        model(inputs)
    return float(np.linalg.slogdet(state["K"].cpu().numpy())[1])


def reference_iteration(run: ZeroCostPT) -> dict:
    """One search iteration, random or fixed order, the straightforward way (same seeds as (b))."""
    import random

    cfg = run.settings
    supernet = run.space.supernet(num_classes=run.pool.num_classes, seed=cfg.seed, **cfg.supernet_options)
    supernet = supernet.to(run.device)
    supernet.supernet_mode = "published"  # every op runs; weight-0 ops on zeroed inputs
    supernet.redraw_alpha(run.alpha_seed(0))
    sampler = run._sampler(derive_seed(cfg.seed, 2, 0))
    rng = random.Random(derive_seed(cfg.seed, 3, 0))
    steps, evaluations = [], 0
    while supernet.undiscretized_edges():
        remaining = supernet.undiscretized_edges()
        edge = remaining[0] if cfg.order == "fixed" else rng.choice(remaining)
        inputs, _ = sampler.sample()
        scores = {}
        for o in range(supernet.num_ops):
            with supernet.perturbed(edge, o):
                scores[supernet.candidates[edge][o]] = reference_nwot(supernet, inputs)
            evaluations += 1
        chosen = choose_zc_pt(scores)
        supernet.discretize(edge, chosen)
        steps.append({"edge": edge, "chosen": chosen, "scores": scores})
    # NB201: the discretized supernet is the architecture; DARTS needs topology selection after the
    # op selection timed here, so only the chosen ops are compared there
    arch = str(run.space.to_json(supernet.derive())) if run.space.name == "nb201" else None
    return {"steps": steps, "evaluations": evaluations, "arch": arch}


# ------------------------------------------------------------------------------- one variant
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


VARIANTS = ("reference", "library", "library-fast", "library-plain", "library-simple", "library-bf16")


def run_variant(args: argparse.Namespace) -> dict:
    allocator.configure()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.variant == "library-plain":
        os.environ["ZCPT_NWOT_GRAM"] = "float32"  # plain float32 kernel products
    supernet_mode = "fast" if args.variant == "library-fast" or args.proxy != "nwot" else "published"
    cfg = SearchSpec(space=args.space, proxy=args.proxy, order=args.order, N=1, V=max(1, args.validation_batches),
                     batch_size=args.batch_size, seed=args.seed, device=args.device, supernet_mode=supernet_mode,
                     supernet_options=json.loads(args.supernet_options), data_source=args.data_source,
                     engine="simple" if args.variant == "library-simple" else ("auto" if args.proxy == "nwot" else
                                                                                "batched"),
                     channels_last=None if args.variant != "library-simple" else False,
                     precision="bf16" if args.variant == "library-bf16" else "fp32")
    run = ZeroCostPT(cfg, progress=False)
    device = run.device
    run.pool  # load data before timing
    _sync(device)
    started = time.perf_counter()
    if args.variant == "reference":
        result = reference_iteration(run)
        search_seconds = time.perf_counter() - started
        chosen = [(s["edge"], s["chosen"]) for s in result["steps"]]
        scores = [s["scores"] for s in result["steps"]]
        evaluations, arch = result["evaluations"], result["arch"]
        validation_seconds = None
        engine = "reference"
    else:
        plain = fastpath.disabled() if args.variant == "library-plain" else contextlib.nullcontext()
        with plain:
            run.supernet  # build (and convert) before timing
            _sync(device)
            started = time.perf_counter()
            entry = run.search_iteration(0)
            _sync(device)
            search_seconds = time.perf_counter() - started
            chosen = [(s.edge, s.chosen) for s in entry.steps]
            scores = [s.scores for s in entry.steps]
            evaluations, arch = entry.evaluations, str(entry.arch)
            run.result.iterations.append(entry)
            validation_seconds = None
            if args.validation_batches > 0:
                started = time.perf_counter()
                run.validate()
                _sync(device)
                validation_seconds = time.perf_counter() - started
        engine = run.engine()
    return {"variant": args.variant, "space": args.space, "proxy": args.proxy, "batch_size": args.batch_size,
            "seed": args.seed, "supernet_options": json.loads(args.supernet_options), "device": str(device),
            "threads": torch.get_num_threads(), "engine": engine,
            "channels_last": run.channels_last if args.variant != "reference" else False,
            "evaluations": evaluations, "search_seconds": search_seconds,
            "evaluations_per_second": evaluations / search_seconds, "validation_batches": args.validation_batches,
            "validation_seconds": validation_seconds, "peak_memory_mb": _peak_memory_mb(device),
            "chosen": chosen, "scores": scores, "arch": arch}


def spawn(variant: str, args: argparse.Namespace, batch_size: int, supernet_options: dict) -> dict:
    out = Path(args.work_dir) / (f"{args.space}-{args.proxy}-{variant}-b{batch_size}-"
                                 f"{abs(hash(json.dumps(supernet_options)))}.json")
    cmd = [sys.executable, __file__, "--variant", variant, "--space", args.space, "--proxy", args.proxy,
           "--batch-size", str(batch_size),
           "--seed", str(args.seed), "--device", args.device, "--order", args.order,
           "--validation-batches", str(args.validation_batches), "--supernet-options", json.dumps(supernet_options),
           "--data-source", args.data_source, "--result", str(out)] + (["--threads", str(args.threads)]
                                                                         if args.threads else [])
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


# ------------------------------------------------------------------------------- report
def compare(args: argparse.Namespace) -> list[dict]:
    rows = []
    for batch_size in args.batch_sizes:
        results = {v: spawn(v, args, batch_size, json.loads(args.supernet_options)) for v in args.variants}
        base = results.get("reference") or results.get("library-simple")
        lib = results.get("library")
        row = {"space": args.space, "proxy": args.proxy, "batch_size": batch_size, "results": results}
        if base and lib:
            row["ratio"] = base["search_seconds"] / lib["search_seconds"]
            row["same_choices"] = base["chosen"] == lib["chosen"]
            row["baseline"] = base["variant"]
        if lib and "library-plain" in results:
            row["fused_equals_plain"] = results["library-plain"]["scores"] == lib["scores"]
        if lib and "library-simple" in results and args.proxy != "nwot":
            row["batched_equals_simple"] = results["library-simple"]["scores"] == lib["scores"]
        if lib and "library-bf16" in results:
            row["bf16_same_choices"] = results["library-bf16"]["chosen"] == lib["chosen"]
        rows.append(row)
        print(f"\n{args.space} {args.proxy} batch {batch_size} ({results[args.variants[-1]]['device']}, "
              f"{results[args.variants[-1]]['threads']} threads)")
        print(f"  {'variant':<16}{'evals':>6}{'evals/s':>9}{'iteration s':>13}{'validation s':>14}{'peak MB':>9}")
        for v, r in results.items():
            val = f"{r['validation_seconds']:.1f} (V={r['validation_batches']})" if r["validation_seconds"] else "-"
            print(f"  {v:<16}{r['evaluations']:>6}{r['evaluations_per_second']:>9.2f}{r['search_seconds']:>13.1f}"
                  f"{val:>14}{r['peak_memory_mb']:>9.0f}")
        if "ratio" in row:
            print(f"  ratio {row['baseline']} / library: {row['ratio']:.2f}x; identical chosen ops: "
                  f"{row['same_choices']}")
        for key, what in (("fused_equals_plain", "library (fused, deduplicated) vs library-plain: bitwise equal scores"),
                          ("batched_equals_simple", "batched vs one call per perturbation: bitwise equal scores"),
                          ("bf16_same_choices", "library-bf16 vs library: same chosen ops")):
            if key in row:
                print(f"  {what}: {row[key]}")
    return rows


def scale(args: argparse.Namespace) -> list[dict]:
    """One library search iteration (default fast semantics) vs batch size, cells and |E|."""
    grid = [("nb201", b, {"N": 5}) for b in (16, 64, 256)]
    grid += [("nb201", 64, {"N": n}) for n in (1, 3)]
    grid += [("darts", 64, {"C": 8, "layers": layers}) for layers in (3, 5, 8)]  # C=8 keeps this CPU-sized
    rows = []
    print(f"\n{'space':<7}{'|E|':>4}{'batch':>7}{'cells':>7}{'evals':>7}{'iteration s':>13}{'evals/s':>9}")
    for space, batch, opts in grid:
        sub = argparse.Namespace(**{**vars(args), "space": space, "validation_batches": 0})
        r = spawn("library-fast", sub, batch, opts)
        edges = 6 if space == "nb201" else 28
        cells = 3 * opts["N"] if space == "nb201" else opts["layers"]
        rows.append({**r, "edges": edges, "cells": cells})
        print(f"{space:<7}{edges:>4}{batch:>7}{cells:>7}{r['evaluations']:>7}{r['search_seconds']:>13.1f}"
              f"{r['evaluations_per_second']:>9.2f}")
    return rows


def gram_backends(threads: int | None) -> list[dict]:
    """Seconds (best of 5) of nwot's codes and exact Gram product of 256 x n activations, per backend:
    what :func:`zcpt_analysis.proxies.code_gram.default_backend` chooses among."""
    from zcpt_analysis.proxies import code_gram

    if threads:
        torch.set_num_threads(threads)
    cpu = torch.device("cpu")
    rows = []
    for units in (16384, 8192, 4096):  # NB201's three stages at C=16
        x = torch.randn(256, units, generator=torch.Generator().manual_seed(units))
        row: dict = {"units": units}
        for backend in code_gram.BACKENDS:
            if backend != "float32" and not code_gram._verified(backend, cpu):
                row[backend] = None  # not exact (or not available) here
                continue
            best = float("inf")
            for _ in range(6):
                started = time.perf_counter()
                c = code_gram.codes(x, backend)
                code_gram.gram(c, c, backend)
                best = min(best, time.perf_counter() - started)
            row[backend] = best
        rows.append(row)
        print(f"256 x {units:5d} codes: " + "   ".join(f"{b} {'-' if row[b] is None else f'{row[b] * 1e3:.1f} ms'}"
                                                       for b in code_gram.BACKENDS))
    print(f"default on this CPU with {torch.get_num_threads()} threads: {code_gram.default_backend(cpu)}")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="nb201")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    p.add_argument("--variants", nargs="+", default=None, choices=VARIANTS,
                   help="default: reference library library-fast (nwot), library-simple library (other proxies)")
    p.add_argument("--proxy", default="nwot", help="nwot (vs the reference) or a gradient proxy (vs one call per "
                   "perturbation)")
    p.add_argument("--quick", action="store_true",
                   help="batch 64, one iteration, V=0, reference vs library: the headline ratio (< 5 min)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--order", default="random", choices=["random", "fixed"])
    p.add_argument("--device", default="auto")
    p.add_argument("--validation-batches", type=int, default=100, help="V for the validation-stage timing")
    p.add_argument("--supernet-options", default="{}", help='JSON, e.g. {"C": 16, "N": 5}')
    p.add_argument("--data-source", default="sample")
    p.add_argument("--scale", action="store_true", help="iteration time vs batch size, cells and |E|")
    p.add_argument("--gram", action="store_true", help="time nwot's exact Gram backends (codes + product)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads of every variant (default: torch's)")
    p.add_argument("--work-dir", default="runs/search_speed")
    p.add_argument("--out", default=None, help="write all results to this JSON file")
    p.add_argument("--variant", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.batch_sizes, args.validation_batches = [64], 0
        args.variants = args.variants or ["reference", "library"]
    if args.variants is None:
        args.variants = ["reference", "library", "library-fast"] if args.proxy == "nwot" else ["library-simple",
                                                                                              "library"]
    if "reference" in args.variants and args.proxy != "nwot":
        p.error("the reference variant is nwot's; for other proxies compare library-simple and library")
    if args.variant:  # child process
        atomic_write_json(args.result, run_variant(args))
        return
    print(f"search_speed: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, CUDA: {torch.cuda.is_available()}, allocator: {allocator.configure()}")
    if args.gram:
        rows = gram_backends(args.threads)
        if args.out:
            atomic_write_json(args.out, {"gram": rows})
        return
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = {"scale": scale(args)} if args.scale else {"compare": compare(args)}
    if args.quick:
        row = report["compare"][0]
        print(f"\nquick: reference {row['results']['reference']['search_seconds']:.1f} s / library "
              f"{row['results']['library']['search_seconds']:.1f} s per search iteration = {row['ratio']:.2f}x "
              f"(goal >= 10x); identical chosen ops: {row['same_choices']}")
    report["wall_seconds"] = time.perf_counter() - started
    if args.out:
        atomic_write_json(args.out, report)
    print(f"\ntotal wall time {report['wall_seconds']:.0f}s")


if __name__ == "__main__":
    main()
