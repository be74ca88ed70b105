"""How often does ``--precision bf16`` change a zc-pt decision, and what does it do to the architectures?

Along the fp32 search trajectories of the NB201 paper setting (nwot, random order, batch 256) for
several seeds, every decision is scored twice on the *same* state and minibatch: in fp32 (which
drives the trajectory, as a normal search) and under bf16 autocast. An iteration in which some
decision differs is then re-run as the bf16 search would run it (same seeds: same alpha,
minibatches and edge order), and the NAS-Bench-201 CIFAR-10 test errors of its fp32 and bf16
architectures are compared. Optionally (``--validation-batches``) the fp32 candidates of each seed
are scored by the validation stage in both precisions, to see whether the winner changes.

Resumable: every decision is appended to ``--out`` (JSON lines) as it is computed; a re-run skips
what is there and continues. ``--report`` prints the summary of what has been computed.

    /work/wt/heavy python benchmarks/bf16_decisions.py --threads 1 --seeds 0 1 2 3 -N 10 \\
        --out runs/bf16_decisions.jsonl           # 240 decisions; hours on a 2-core AVX2 CPU
    python benchmarks/bf16_decisions.py --report --out runs/bf16_decisions.jsonl
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from zcpt_analysis.runs import SearchSpec  # noqa: E402
from zcpt_analysis.searches.op_selection import choose_zc_pt, select_candidate  # noqa: E402
from zcpt_analysis.searches.zcpt import ZeroCostPT, ZcPtEdgeEvaluator  # noqa: E402


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by an interruption: recomputed
                break
    return rows


def append(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()


class PairedEvaluator(ZcPtEdgeEvaluator):
    """fp32 scores (returned: they drive the search) and bf16 scores of every decision, same inputs."""

    def __init__(self, base: ZcPtEdgeEvaluator, key: dict, done: dict, path: Path):
        super().__init__(base.supernet, base.scorer, base.sampler, base.batched, base.channels_last, base.precision)
        self.key, self.done, self.path, self.step = key, done, path, 0

    def __call__(self, edges: list[int]) -> dict:
        inputs, targets = self.sampler.sample()  # drawn even when the decision is recorded: same stream
        (edge,) = edges
        key = (self.key["seed"], self.key["iteration"], self.step)
        self.step += 1
        if key in self.done:
            return {edge: self.done[key]["fp32"]}
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        fp32 = self.batched.scores(edge, inputs, targets)
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16):
            bf16 = self.batched.scores(edge, inputs, targets)
        row = {"kind": "decision", "seed": key[0], "iteration": key[1], "step": key[2], "edge": edge, "fp32": fp32,
               "bf16": bf16, "fp32_chosen": choose_zc_pt(fp32), "bf16_chosen": choose_zc_pt(bf16)}
        append(self.path, row)
        self.done[key] = row
        return {edge: fp32}


def spec_for(args: argparse.Namespace, seed: int, precision: str = "fp32") -> SearchSpec:
    return SearchSpec(proxy="nwot", order="random", N=args.N, V=max(1, args.validation_batches), seed=seed,
                      batch_size=args.batch_size, data_source=args.data_source, data_root=args.data_root,
                      precision=precision)


def study(args: argparse.Namespace) -> None:
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = load(path)
    done = {(r["seed"], r["iteration"], r["step"]): r for r in rows if r["kind"] == "decision"}
    archs = {(r["seed"], r["iteration"], r["precision"]): r for r in rows if r["kind"] == "arch"}
    for seed in args.seeds:
        run = ZeroCostPT(spec_for(args, seed), progress=False)
        bf16_run = None
        for i in range(args.N):
            if (seed, i, "fp32") not in archs:
                make = run._edge_evaluator
                run._edge_evaluator = lambda s, _make=make, _i=i: PairedEvaluator(
                    _make(s), {"seed": seed, "iteration": _i}, done, path)
                try:
                    entry = run.search_iteration(i)
                finally:
                    run._edge_evaluator = make
                row = {"kind": "arch", "seed": seed, "iteration": i, "precision": "fp32", "arch": str(entry.arch)}
                append(path, row)
                archs[(seed, i, "fp32")] = row
            differs = any(done[(seed, i, k)]["fp32_chosen"] != done[(seed, i, k)]["bf16_chosen"]
                          for k in range(6) if (seed, i, k) in done)
            if differs and (seed, i, "bf16") not in archs:
                bf16_run = bf16_run or ZeroCostPT(spec_for(args, seed, "bf16"), progress=False)
                entry = bf16_run.search_iteration(i)
                row = {"kind": "arch", "seed": seed, "iteration": i, "precision": "bf16", "arch": str(entry.arch),
                       "steps": [{"edge": s.edge, "chosen": s.chosen} for s in entry.steps]}
                append(path, row)
                archs[(seed, i, "bf16")] = row
            print(f"seed {seed} iteration {i}: done ({len(done)} decisions so far)", flush=True)
        if args.validation_batches and not any(r["kind"] == "validation" and r["seed"] == seed for r in rows):
            fp32_archs = [archs[(seed, i, "fp32")]["arch"] for i in range(args.N)]
            validation(args, seed, run, list(dict.fromkeys(fp32_archs)), path)


def validation(args: argparse.Namespace, seed: int, run: ZeroCostPT, cands: list[str], path: Path) -> None:
    """The fp32 candidates (distinct, in order of discovery) scored by the validation stage in both
    precisions (same minibatches)."""
    from zcpt_analysis.runtime import derive_seed
    from zcpt_analysis.searches.zcpt import arch_seed

    parsed = [run.space.to_json(run.space.parse(c)) for c in cands]
    nets = [run.space.network(run.space.parse(c), num_classes=run.pool.num_classes,
                              seed=arch_seed(seed, a)).to(run.device) for c, a in zip(cands, parsed)]
    sampler = run._sampler(derive_seed(seed, 4))
    scores = {"fp32": [[] for _ in cands], "bf16": [[] for _ in cands]}
    for _ in range(args.validation_batches):
        inputs, targets = sampler.sample()
        for k, net in enumerate(nets):
            scores["fp32"][k].append(run.scorer(net, inputs, targets))
            with torch.autocast(inputs.device.type, dtype=torch.bfloat16):
                scores["bf16"][k].append(run.scorer(net, inputs, targets))
    winners = {p: cands[select_candidate(s)[0]] for p, s in scores.items()}
    append(path, {"kind": "validation", "seed": seed, "V": args.validation_batches, "candidates": cands,
                  "scores": scores, "winners": winners})


def report(args: argparse.Namespace) -> None:
    rows = load(Path(args.out))
    decisions = [r for r in rows if r["kind"] == "decision"]
    differ = [r for r in decisions if r["fp32_chosen"] != r["bf16_chosen"]]
    print(f"{len(decisions)} decisions (seeds {sorted({r['seed'] for r in decisions})}, batch {args.batch_size}): "
          f"{len(differ)} differ between fp32 and bf16 ({100 * len(differ) / max(1, len(decisions)):.1f} %)")
    gaps = [sorted(r["fp32"].values())[1] - sorted(r["fp32"].values())[0] for r in decisions if len(r["fp32"]) > 1]
    if gaps:
        print(f"  fp32 margin (2nd lowest - lowest score): median {sorted(gaps)[len(gaps) // 2]:.3g}")
    for r in differ:
        print(f"  seed {r['seed']} it {r['iteration']} step {r['step']} edge {r['edge']}: fp32 {r['fp32_chosen']} "
              f"vs bf16 {r['bf16_chosen']}")
    archs = {(r["seed"], r["iteration"], r["precision"]): r["arch"] for r in rows if r["kind"] == "arch"}
    pairs = [(archs[k], archs.get((k[0], k[1], "bf16"), archs[k])) for k in archs if k[2] == "fp32"]
    try:
        from zcpt_analysis.bench import load_benchmark

        bench = load_benchmark()
        err = lambda a: bench.summary(a, datasets=("cifar10",))["cifar10"]["error"]  # noqa: E731
        e32 = [err(a) for a, _ in pairs]
        e16 = [err(b) for _, b in pairs]
        changed = sum(a != b for a, b in pairs)
        print(f"{len(pairs)} search iterations: {changed} end in another architecture under bf16; mean CIFAR-10 "
              f"test error of the iterations' architectures fp32 {sum(e32) / len(e32):.3f} % vs bf16 "
              f"{sum(e16) / len(e16):.3f} %")
    except Exception as exc:  # the benchmark tables are optional for the decision counts
        print(f"(NAS-Bench-201 lookup unavailable: {exc})")
    for r in rows:
        if r["kind"] == "validation":
            print(f"seed {r['seed']} validation (V={r['V']}): winner fp32 {r['winners']['fp32']}, bf16 "
                  f"{r['winners']['bf16']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("-N", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--validation-batches", type=int, default=0, help="also compare the validation winners (V)")
    p.add_argument("--data-source", default="auto")
    p.add_argument("--data-root", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default="runs/bf16_decisions.jsonl")
    p.add_argument("--report", action="store_true", help="only print the summary of --out")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.report:
        study(args)
    report(args)


if __name__ == "__main__":
    main()
