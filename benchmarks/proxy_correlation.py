"""Rank correlation of every zero-cost proxy with NAS-Bench-201 CIFAR-10 accuracy (measured vs published).

Scores a seeded random sample of NAS-Bench-201 architectures -- each built as its standalone
network (C=16, N=5, weights from ``--seed``, fresh modules in train mode as in the reference's
NB201 experiments) -- on one fixed, seeded minibatch of the real CIFAR-10 sample
(``images/cifar10_sample.npz``, with the standard augmentation), with every proxy, and prints
Spearman's rho and Kendall's tau against the seed-mean CIFAR-10 test accuracy (200 epochs), next
to the values Abdelfattah et al. 2021 *published* (all 15,625 architectures, their own data
loader), plus the wall time per proxy.

Proxies are given as ``name`` or ``name:key=value:key=value`` (e.g. ``nwot:mode=train`` is the
original NASWOT setting, ``nwot`` alone the Zero-Cost-PT one). Results are written atomically to
``--out`` (JSON, plus a CSV of per-architecture scores) after every architecture; rerunning with
the same settings skips what is already scored, so an interrupted run resumes. Run it niced:

    nice -n 10 python benchmarks/proxy_correlation.py --num-archs 200 --batch-size 64 --seed 0
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from zcpt_analysis.bench import load_benchmark
from zcpt_analysis.options import parse_key_value
from zcpt_analysis.data import MinibatchSampler, load_sample
from zcpt_analysis.proxies import get_proxy, proxy_names
from zcpt_analysis.files import atomic_write_json, atomic_write_text, read_json
from zcpt_analysis.runtime import resolve_device
from zcpt_analysis.spaces import get_space

PUBLISHED_SPEARMAN = {"synflow": 0.74, "jacob_cov": 0.73, "grad_norm": 0.58, "snip": 0.58, "grasp": 0.48,
                      "fisher": 0.36}
PUBLISHED_SOURCE = ("Abdelfattah et al. 2021 (Zero-Cost Proxies for Lightweight NAS, ICLR), Table 1, "
                    "NAS-Bench-201 CIFAR-10, Spearman rho over all 15,625 architectures")
NWOT_PUBLISHED_NOTE = ("published nwot (Mellor et al. 2021) for NAS-Bench-201 CIFAR-10: not filled in -- the value "
                       "could not be checked against the paper offline; add it to PUBLISHED_SPEARMAN with its source")
DEFAULT_PROXIES = ("synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "nwot:mode=train",
                   "nwot:hooks=published", "params", "flops")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "proxy_correlation.json"


def parse_proxy(text: str) -> tuple[str, str, dict[str, Any]]:
    """``name[:key=value...]`` -> (label, registered name, options)."""
    name, *opts = text.strip().split(":")
    spec = get_proxy(name)
    options = dict(parse_key_value(o) for o in opts)
    label = spec.name + "".join(f":{k}={v}" for k, v in options.items())
    return label, spec.name, options


def sample_indices(num_archs: int, all_indices: list[int], seed: int) -> list[int]:
    """A prefix-stable seeded sample: the first k of one seeded permutation of all indices."""
    order = sorted(int(i) for i in all_indices)
    random.Random(seed).shuffle(order)
    return order[:num_archs]


def encode(value: float) -> Any:
    """JSON has no NaN/inf: keep them as strings."""
    return value if math.isfinite(value) else str(value)


def decode(value: Any) -> float:
    return float(value)


def correlation_table(records: dict[str, dict], labels: list[str]) -> list[dict[str, Any]]:
    """Spearman/Kendall of each proxy vs accuracy (NaN pairs dropped, -inf kept as the lowest rank)."""
    rows = []
    for label in labels:
        pairs = [(decode(r["scores"][label]), r["accuracy"]) for r in records.values() if label in r["scores"]]
        valid = [(s, a) for s, a in pairs if not math.isnan(s)]
        non_finite = sum(1 for s, _ in pairs if not math.isfinite(s))
        rho = tau = math.nan
        if len(valid) >= 3:
            scores, accs = np.array([s for s, _ in valid]), np.array([a for _, a in valid])
            ranks = stats.rankdata(scores)  # ranks handle -inf; spearman on ranks avoids inf arithmetic
            rho = float(stats.spearmanr(ranks, accs).statistic)
            tau = float(stats.kendalltau(ranks, accs).statistic)
        seconds = [r["seconds"][label] for r in records.values() if label in r["seconds"]]
        rows.append({"proxy": label, "spearman": rho, "kendall": tau, "n": len(valid), "non_finite": non_finite,
                     "published_spearman": PUBLISHED_SPEARMAN.get(label),
                     "seconds_per_arch": float(np.mean(seconds)) if seconds else math.nan,
                     "seconds_total": float(np.sum(seconds)) if seconds else 0.0})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'proxy':<22} {'measured rho':>12} {'measured tau':>12} {'n':>5} {'non-finite':>10} "
            f"{'published rho':>13} {'s/arch':>8} {'total s':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        pub = f"{r['published_spearman']:.2f}" if r["published_spearman"] is not None else "-"
        lines.append(f"{r['proxy']:<22} {r['spearman']:>12.3f} {r['kendall']:>12.3f} {r['n']:>5} "
                     f"{r['non_finite']:>10} {pub:>13} {r['seconds_per_arch']:>8.3f} {r['seconds_total']:>9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-archs", type=int, default=200, help="architectures to sample (default 200)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64; at most 400)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample, weights and minibatch (default 0)")
    parser.add_argument("--proxies", default=",".join(DEFAULT_PROXIES),
                        help="comma-separated name[:key=value...] (default: all proxies plus nwot variants); "
                             f"registered: {', '.join(proxy_names())}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results JSON (default {DEFAULT_OUT})")
    parser.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--bench", default=None, help="NAS-Bench-201 tables (default: the shared data folder)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    proxies = [parse_proxy(p) for p in args.proxies.split(",") if p.strip()]
    labels = [label for label, _, _ in proxies]

    bench = load_benchmark(args.bench)
    table = bench.mean_table("cifar10").set_index("index")
    indices = sample_indices(args.num_archs, list(table.index), args.seed)
    images = load_sample("train")
    inputs, targets = MinibatchSampler(images, args.batch_size, seed=args.seed, device=device).sample()
    space = get_space("nb201")

    config = {"batch_size": args.batch_size, "seed": args.seed, "data": images.source, "augment": True,
              "network": "NB201 standalone C=16 N=5, fresh init from seed, train mode",
              "accuracy": "cifar10 seed-mean test accuracy, 200 epochs", "device": str(device)}
    store: dict[str, Any] = {"config": config, "archs": {}}
    if args.out.exists():
        previous = read_json(args.out)
        if previous.get("config") != config:
            print(f"error: {args.out} holds results for another setting ({previous.get('config')}); "
                  "pass a different --out", file=sys.stderr)
            return 2
        store = previous
    records: dict[str, dict] = store["archs"]

    started = time.perf_counter()
    todo = [(i, [p for p in proxies if p[0] not in records.get(str(i), {}).get("scores", {})]) for i in indices]
    todo = [(i, ps) for i, ps in todo if ps]
    print(f"{len(indices)} architectures x {len(labels)} proxies; {len(todo)} architectures left to score "
          f"({len(indices) - len(todo)} resumed from {args.out})", flush=True)
    for done, (index, missing) in enumerate(todo, 1):
        arch = space.parse(table.loc[index, "arch_str"])
        rec = records.setdefault(str(index), {"arch": table.loc[index, "arch_str"],
                                              "accuracy": float(table.loc[index, "mean"]), "scores": {},
                                              "seconds": {}})
        net = space.network(arch, num_classes=images.num_classes, seed=args.seed).to(device)
        for label, name, options in missing:
            spec = get_proxy(name)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # degenerate archs warn by design; counted as non-finite below
                value = spec.fn(net, inputs, targets, loss_fn=None, **options)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            rec["seconds"][label] = time.perf_counter() - start
            rec["scores"][label] = encode(value)
        atomic_write_json(args.out, store)
        if done % 10 == 0 or done == len(todo):
            print(f"  {done}/{len(todo)} scored, {time.perf_counter() - started:.0f}s elapsed", flush=True)

    chosen = {str(i): records[str(i)] for i in indices}
    rows = correlation_table(chosen, labels)
    store["summary"] = {"num_archs": len(chosen), "rows": rows, "published_source": PUBLISHED_SOURCE}
    atomic_write_json(args.out, store)
    csv_lines = ["index,arch_str,accuracy," + ",".join(labels)]
    for i in indices:
        r = records[str(i)]
        csv_lines.append(f"{i},{r['arch']},{r['accuracy']}," + ",".join(str(r["scores"][lab]) for lab in labels))
    atomic_write_text(args.out.with_suffix(".csv"), "\n".join(csv_lines) + "\n")

    total_proxy_time = sum(r["seconds_total"] for r in rows)
    print(f"\nSpearman rho / Kendall tau vs NAS-Bench-201 CIFAR-10 seed-mean test accuracy (200 epochs), "
          f"{len(chosen)} random architectures (seed {args.seed}), batch {args.batch_size} of the real CIFAR-10 "
          f"sample, device {device}")
    print(format_table(rows))
    print(f"measured rho/tau: this run. published rho: {PUBLISHED_SOURCE} (not measured here).")
    print(NWOT_PUBLISHED_NOTE + ".")
    print(f"total proxy time {total_proxy_time:.0f}s; this invocation {time.perf_counter() - started:.0f}s; "
          f"results: {args.out} and {args.out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
