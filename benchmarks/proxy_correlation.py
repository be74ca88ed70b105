"""Proxy study over NAS-Bench-201 (see :mod:`zcpt_analysis.proxy_study` for the setting): every
zero-cost proxy on the same architectures and minibatch, rank-correlated with the CIFAR-10,
CIFAR-100 and ImageNet16-120 test accuracies, next to the published (reference) correlations.

The same study is a spec kind of the results store (``zcpt proxies study``, planned by ``zcpt
reproduce``); this script writes it under a file prefix instead, and can split it between
processes. Results stream to ``<out>.jsonl`` (a header line with the setting, then one line per
scored architecture; an interrupted run resumes where it stopped -- also after adding proxies).
``<out>.json`` (summary), ``<out>.csv`` (scores and accuracies per architecture) and ``<out>.md``
(the report table) are rewritten atomically every ``--report-every`` architectures and at the end.
Run it on one thread per process; on several cores, one process per core, each with its own
``--shard``:

    python benchmarks/proxy_correlation.py --num-archs 1000 --threads 1 --shard 0/2 &
    python benchmarks/proxy_correlation.py --num-archs 1000 --threads 1 --shard 1/2
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Optional

import torch

from zcpt_analysis.errors import ZcptError
from zcpt_analysis.files import atomic_write_json, atomic_write_text
from zcpt_analysis.proxies import proxy_names
from zcpt_analysis.proxies.published import NB201_DATASETS
from zcpt_analysis.proxy_study import (DEFAULT_ENSEMBLES, DEFAULT_PROXIES, ProxyStudy, ProxyStudySettings,
                                       REFERENCE_NOTE)

DATASET_LABELS = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "IN16"}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "proxy_study"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ["proxy"]
    for ds in NB201_DATASETS:
        d = DATASET_LABELS[ds]
        head += [f"ρ {d}", f"ref ρ {d}", f"τ {d}"]
    head += ["ρ with params", "s / arch", "n", "non-finite"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['proxy']}`"]
        for ds in NB201_DATASETS:
            cells += [_fmt(r[f"{ds} rho"], 3), _fmt(r[f"{ds} reference rho"]), _fmt(r[f"{ds} tau"], 3)]
        cells += [_fmt(r["rho with params"], 3), _fmt(r["seconds per arch"], 2), str(r["n"]), str(r["non_finite"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(out: Path, study: ProxyStudy) -> list[dict]:
    """Rewrite ``<out>.json`` / ``.csv`` / ``.md`` from the stream (architectures scored so far)."""
    summary = study.summary()
    if not summary.rows:
        return []
    rows, config, check = summary.rows, summary.config, summary.sample_check
    atomic_write_json(out.with_suffix(".json"), {"config": config, "num_archs": summary.num_archs,
                                                 "planned_archs": summary.planned_archs, "proxies": summary.proxies,
                                                 "ensembles": summary.ensembles, "reference_note": REFERENCE_NOTE,
                                                 "sample_check": check, "timing": summary.timing_note, "rows": rows})
    atomic_write_text(out.with_suffix(".csv"), study.csv_text())
    text = (f"# Proxy study: {summary.num_archs} random NAS-Bench-201 architectures\n\n"
            f"Spearman ρ / Kendall τ with the seed-mean test accuracy (200 epochs) of each dataset; one "
            f"minibatch of {config['batch_size']} CIFAR-10 images (the shared sample, seed {config['seed']}) for "
            f"every proxy and dataset. {REFERENCE_NOTE}. ρ with params: the proxy's rank correlation with the "
            f"parameter count. s / arch: contended wall time per architecture.\n\n" + markdown_table(rows) + "\n")
    if check:
        text += ("\n**Sample check.** `params` has no randomness, so its ρ differs from the whole space's only "
                 f"through the sample: over all {len(study.arch_of):,} architectures ρ(params) is "
                 + " / ".join(f"{check['space'][ds]:.3f}" for ds in NB201_DATASETS)
                 + f" ({' / '.join(DATASET_LABELS[ds] for ds in NB201_DATASETS)}), in this sample "
                 f"({summary.num_archs} architectures) "
                 + " / ".join(f"{check['sample'][ds]:.3f}" for ds in NB201_DATASETS)
                 + ". Proxies that track size (high ρ with params) inherit about that difference.\n")
    atomic_write_text(out.with_suffix(".md"), text)
    return rows


# ----------------------------------------------------------------------------- main
def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``0 <= K < N``."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard must look like K/N (e.g. 0/2), not {text!r}") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= K < N")
    return k, n


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-archs", type=int, default=1000, help="architectures to sample (default 1000)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64; at most 400)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample, weights and minibatch (default 0)")
    parser.add_argument("--proxies", default=",".join(DEFAULT_PROXIES),
                        help="comma-separated name[:key=value...] (default: every proxy and the published variants); "
                             f"registered: {', '.join(proxy_names())}")
    parser.add_argument("--ensembles", nargs="*", default=list(DEFAULT_ENSEMBLES), metavar="A,B,...",
                        help="rank-average ensembles of study proxies, each a comma-separated list "
                             f"(default: {' '.join(DEFAULT_ENSEMBLES)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"results prefix: <out>.jsonl / .json / .csv / .md (default {DEFAULT_OUT})")
    parser.add_argument("--limit", type=int, default=None,
                        help="score at most this many architectures in this invocation (cost estimates)")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="K/N",
                        help="score only the K-th of N interleaved parts of the sample (0-based; default 0/1 = all); "
                             "N processes with K = 0..N-1 may share one --out: each stream line is one appended write")
    parser.add_argument("--report-every", type=int, default=25, help="rewrite the report every N archs (default 25)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from the stream")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--bench", default=None, help="NAS-Bench-201 tables (default: the shared data folder)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    try:  # unknown proxy / option, a bad ensemble: one clear error before any work
        settings = ProxyStudySettings(num_archs=args.num_archs, batch_size=args.batch_size, seed=args.seed,
                                      proxies=tuple(p for p in args.proxies.split(",") if p.strip()),
                                      ensembles=tuple(args.ensembles), device=args.device, bench=args.bench)
    except ZcptError as exc:
        parser.error(str(exc))
    out: Path = args.out
    try:
        study = ProxyStudy(settings, out.with_suffix(".jsonl"))
    except ZcptError as exc:
        raise SystemExit(f"error: {exc}") from None
    started = time.perf_counter()
    if not args.report_only:
        done = study.stream.done()
        planned = study.todo(done=done)
        todo = study.todo(args.shard, done)[: args.limit]
        print(f"{len(study.indices)} architectures x {len(study.labels)} proxies; {len(todo)} to score now "
              f"({len(study.indices) - len(planned)} complete in {study.stream.path})", flush=True)

        def scored(k: int) -> None:
            if k % 10 == 0 or k == len(todo):
                elapsed = time.perf_counter() - started
                print(f"  {k}/{len(todo)} scored, {elapsed:.0f}s, {elapsed / k:.1f}s/arch, "
                      f"eta {elapsed / k * (len(todo) - k) / 3600:.1f}h", flush=True)
            if k % args.report_every == 0:
                write_report(out, study)

        study.score(todo, scored)
    rows = write_report(out, study)
    if not rows:
        print("fewer than 3 architectures are complete: no report yet")
        return 0
    print()
    print(out.with_suffix(".md").read_text())
    print(f"results: {out.with_suffix('.jsonl')} (stream), {out.with_suffix('.json')}, {out.with_suffix('.csv')}, "
          f"{out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
