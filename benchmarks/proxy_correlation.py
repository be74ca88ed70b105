"""Proxy study over NAS-Bench-201: every zero-cost proxy on the same architectures and minibatch,
rank-correlated with the CIFAR-10, CIFAR-100 and ImageNet16-120 test accuracies, next to the
published (reference) correlations.

Setting: a seeded, prefix-stable random sample of NAS-Bench-201 architectures (the first k of one
seeded permutation of all 15,625, so a larger sample extends a smaller one); each is built as its
standalone network (C=16, N=5, 10 classes, weights from ``--seed``, a fresh network in train mode
as in the reference code's NAS-Bench-201 experiments) and scored by every proxy on **one** fixed,
seeded minibatch of the real CIFAR-10 sample (``images/cifar10_sample.npz``, standard augmentation).
Only CIFAR-10 images are available offline, so the CIFAR-100 and ImageNet16-120 correlations are
those of CIFAR-10-input scores with the other datasets' accuracies (the published ones score each
dataset's own images with a matching classifier head).

Proxies are ``name`` or ``name:key=value:...`` (``nwot:mode=train`` is the original NASWOT
setting; ``ntk:num_samples=16`` TE-NAS's NTK batch). Rank-average ensembles (``--ensembles``, each a
comma-separated component list) are computed from the stored component scores over the sample,
as :func:`zcpt_analysis.proxies.comparable` ranks any comparison set.

Results stream to ``<out>.jsonl`` (a header line with the setting, then one line per scored
architecture; appended and flushed one architecture at a time, so memory stays flat and an
interrupted run resumes where it stopped -- also after adding proxies). ``<out>.json`` (summary),
``<out>.csv`` (scores and accuracies per architecture) and ``<out>.md`` (the report table) are
rewritten atomically every ``--report-every`` architectures and at the end. Run it on one thread
per process; on several cores, one process per core, each with its own ``--shard``:

    python benchmarks/proxy_correlation.py --num-archs 1000 --threads 1 --shard 0/2 &
    python benchmarks/proxy_correlation.py --num-archs 1000 --threads 1 --shard 1/2
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch
from scipy import stats

from zcpt_analysis.bench import load_benchmark
from zcpt_analysis.data import MinibatchSampler, load_sample
from zcpt_analysis.files import atomic_write_json, atomic_write_text
from zcpt_analysis.proxies import get_proxy, parse_proxy_variant, proxy_names, rank_average
from zcpt_analysis.proxies.published import NB201_DATASETS, published_for
from zcpt_analysis.runtime import resolve_device
from zcpt_analysis.spaces import get_space

DEFAULT_PROXIES: tuple[str, ...] = (
    "synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "nwot:mode=train", "params", "flops",
    "meco", "meco:hooks=published", "zico", "swap", "swap:regular=true:mu=1073:sigma=1500000", "zen", "zen:bn=running",
    "epe_nas", "l2_norm", "plain", "ntk:num_samples=16")
"""The study's proxies. ``swap`` regularised: mu = 1073 thousand parameters (the largest NB201
network with 10 classes), sigma = 1.5e6 -- our choice: the published code ships no NB201 values."""
DEFAULT_ENSEMBLES: tuple[str, ...] = ("nwot:mode=train,synflow", "nwot:mode=train,synflow,jacob_cov",
                                      "meco,zico,swap")
DATASET_LABELS = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "IN16"}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "proxy_study"
REFERENCE_NOTE = ("reference = published values (not measured here): NAS-Bench-Suite-Zero Fig. 2 (1,000 random "
                  "NB201 archs) unless the row says otherwise; MeCo: NATS-TSS CIFAR-10; SWAP: regularised, "
                  "CIFAR-100 validation accuracy")


# ----------------------------------------------------------------------------- sample and stream
def sample_indices(num_archs: int, all_indices: Iterable[int], seed: int) -> list[int]:
    """A prefix-stable seeded sample: the first ``num_archs`` of one seeded permutation."""
    order = sorted(int(i) for i in all_indices)
    random.Random(seed).shuffle(order)
    return order[:num_archs]


def encode(value: float) -> Any:
    """JSON has no NaN/inf: keep them as strings."""
    return value if math.isfinite(value) else str(value)


class ScoreStream:
    """``<out>.jsonl``: a header ``{"config": ...}`` then one ``{"index", "arch", "scores",
    "seconds"}`` line per scored architecture (several lines of one index merge). A torn last line
    (an interrupted write) is cut off when the stream is opened."""

    def __init__(self, path: Path, config: dict[str, Any]):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.stat().st_size == 0:
            with open(path, "w") as fh:
                fh.write(json.dumps({"config": config}) + "\n")
            return
        with open(path, "rb") as fh:
            data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):  # torn last line
            with open(path, "r+b") as fh:
                fh.truncate(keep)
        header = json.loads(data.split(b"\n", 1)[0])
        if header.get("config") != config:
            raise SystemExit(f"error: {path} holds results for another setting ({header.get('config')}); "
                             "pass a different --out")

    def lines(self) -> Iterable[dict[str, Any]]:
        with open(self.path) as fh:
            next(fh)
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def done(self) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for rec in self.lines():
            out.setdefault(int(rec["index"]), set()).update(rec["scores"])
        return out

    def records(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for rec in self.lines():
            merged = out.setdefault(int(rec["index"]), {"arch": rec["arch"], "scores": {}, "seconds": {}})
            merged["scores"].update({k: float(v) for k, v in rec["scores"].items()})
            merged["seconds"].update(rec["seconds"])
        return out

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def score_architecture(space: Any, index: int, arch_str: str, proxies: list[tuple[str, str, dict]],
                       inputs: torch.Tensor, targets: torch.Tensor, num_classes: int, seed: int,
                       device: torch.device) -> dict[str, Any]:
    """One stream line: the scores and seconds of ``proxies`` on the architecture's network."""
    net = space.network(space.parse(arch_str), num_classes=num_classes, seed=seed).to(device)
    scores, seconds = {}, {}
    for label, name, options in proxies:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate archs warn by design; counted as non-finite
            value = get_proxy(name).fn(net, inputs, targets, loss_fn=None, **options)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds[label] = round(time.perf_counter() - start, 4)
        scores[label] = encode(float(value))
    return {"index": index, "arch": arch_str, "scores": scores, "seconds": seconds}


# ----------------------------------------------------------------------------- correlations
def rank_correlations(scores: np.ndarray, target: np.ndarray) -> tuple[float, float, int, int]:
    """Spearman rho, Kendall tau (tau-b), pairs used, non-finite scores among them; NaN scores are
    dropped, -inf/+inf kept at their end of the ranking."""
    valid = ~np.isnan(scores) & ~np.isnan(target)
    non_finite = int((~np.isfinite(scores[valid])).sum())
    if valid.sum() < 3:
        return math.nan, math.nan, int(valid.sum()), non_finite
    ranks = stats.rankdata(scores[valid])  # ranks handle +-inf
    rho = float(stats.spearmanr(ranks, target[valid]).statistic)
    tau = float(stats.kendalltau(ranks, target[valid]).statistic)
    return rho, tau, int(valid.sum()), non_finite


def ensemble_label(components: str) -> str:
    return f"ensemble({components})"


def study_rows(records: dict[int, dict], indices: list[int], labels: list[str], ensembles: list[str],
               accuracy: dict[str, dict[int, float]], params_label: Optional[str]) -> list[dict[str, Any]]:
    """One row per proxy label and ensemble: rho / tau per dataset, reference rho, rho with params,
    seconds per architecture (ensembles: the sum of their components')."""
    columns = {lab: np.array([records[i]["scores"].get(lab, math.nan) for i in indices], dtype=float)
               for lab in labels}
    seconds = {lab: [records[i]["seconds"][lab] for i in indices if lab in records[i]["seconds"]] for lab in labels}
    items: list[tuple[str, np.ndarray, float]] = [(lab, columns[lab], float(np.mean(seconds[lab])) if seconds[lab]
                                                   else math.nan) for lab in labels]
    for comp in ensembles:
        parts = [parse_proxy_variant(c)[0] for c in comp.split(",") if c.strip()]
        missing = [p for p in parts if p not in columns]
        if missing:
            raise SystemExit(f"error: ensemble {comp!r} needs proxies that are not in the study: {', '.join(missing)}")
        ranked = np.array(rank_average(np.stack([columns[p] for p in parts], axis=1).tolist()), dtype=float)
        items.append((ensemble_label(comp), ranked, float(sum(np.mean(seconds[p]) for p in parts))))
    params = columns.get(params_label) if params_label else None
    rows = []
    for label, values, cost in items:
        row: dict[str, Any] = {"proxy": label}
        ref = published_for(label) if not label.startswith("ensemble(") else None
        for ds in NB201_DATASETS:
            target = np.array([accuracy[ds][i] for i in indices], dtype=float)
            rho, tau, n, non_finite = rank_correlations(values, target)
            row[f"{ds} rho"], row[f"{ds} tau"] = rho, tau
            row[f"{ds} reference rho"] = ref.spearman.get(ds) if ref else None
            row["n"], row["non_finite"] = n, non_finite
        row["reference source"] = ref.source if ref else None
        row["rho with params"] = (rank_correlations(values, params)[0] if params is not None and label != params_label
                                  else (1.0 if label == params_label else math.nan))
        row["seconds per arch"] = cost
        rows.append(row)
    return rows


def space_params(space: Any, arch_of: dict[int, str], num_classes: int) -> dict[int, float]:
    """The parameter count of every architecture of the space, as the all-``none`` network's plus
    one term per edge op (NAS-Bench-201 cells share one width per stage, so an op adds the same
    count on every edge: five networks in all; :func:`sample_check` verifies it on the sample)."""
    def count(ops: list[str]) -> float:
        return float(get_proxy("params").fn(space.network(space.parse(ops), num_classes=num_classes), None))

    ops_of = {index: space.parse(arch).ops for index, arch in arch_of.items()}
    base = count(["none"] * 6)
    per_op = {op: count([op] + ["none"] * 5) - base for op in sorted({op for ops in ops_of.values() for op in ops})}
    return {index: base + sum(per_op[op] for op in ops) for index, ops in ops_of.items()}


def sample_check(params_of: dict[int, float], indices: list[int], measured: dict[int, float],
                 accuracy: dict[str, dict[int, float]]) -> dict[str, dict[str, float]]:
    """rho of ``params`` (no randomness) with each dataset's accuracy over the whole space and over
    the sample: the part of any row's difference from a reference that the sample alone explains.
    ``params_of`` must agree with the ``params`` the study ``measured`` on the sample."""
    wrong = {i: (v, params_of[i]) for i, v in measured.items() if v != params_of[i]}
    if wrong:
        raise RuntimeError(f"space-wide parameter counts disagree with the measured ones (measured, computed): {wrong}")
    everything = sorted(params_of)
    return {where: {ds: float(stats.spearmanr([params_of[i] for i in idx], [accuracy[ds][i] for i in idx]).statistic)
                    for ds in NB201_DATASETS}
            for where, idx in (("space", everything), ("sample", indices))}


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


def write_report(out: Path, stream: ScoreStream, config: dict, indices: list[int], labels: list[str],
                 ensembles: list[str], accuracy: dict[str, dict[int, float]],
                 params_of: Optional[dict[int, float]] = None) -> list[dict]:
    """Rewrite ``<out>.json`` / ``.csv`` / ``.md`` from the stream (architectures scored so far);
    with ``params_of`` (every architecture's parameter count) the report adds the sample check."""
    records = stream.records()
    done = [i for i in indices if i in records and all(lab in records[i]["scores"] for lab in labels)]
    if len(done) < 3:
        return []
    params_label = "params" if "params" in labels else None
    rows = study_rows(records, done, labels, ensembles, accuracy, params_label)
    check = (sample_check(params_of, done, {i: records[i]["scores"][params_label] for i in done}, accuracy)
             if params_of and params_label else None)
    meta = {"config": config, "num_archs": len(done), "planned_archs": len(indices), "proxies": labels,
            "ensembles": ensembles, "reference_note": REFERENCE_NOTE, "sample_check": check,
            "timing": "seconds per architecture on this machine, with other jobs running (contended)"}
    atomic_write_json(out.with_suffix(".json"), {**meta, "rows": rows})
    csv = ["index,arch_str," + ",".join(f"{d}_test_acc" for d in NB201_DATASETS) + "," + ",".join(labels)]
    for i in done:
        accs = ",".join(str(accuracy[d][i]) for d in NB201_DATASETS)
        csv.append(f"{i},{records[i]['arch']},{accs}," + ",".join(str(records[i]["scores"][lab]) for lab in labels))
    atomic_write_text(out.with_suffix(".csv"), "\n".join(csv) + "\n")
    text = (f"# Proxy study: {len(done)} random NAS-Bench-201 architectures\n\n"
            f"Spearman ρ / Kendall τ with the seed-mean test accuracy (200 epochs) of each dataset; one "
            f"minibatch of {config['batch_size']} CIFAR-10 images (the shared sample, seed {config['seed']}) for "
            f"every proxy and dataset. {REFERENCE_NOTE}. ρ with params: the proxy's rank correlation with the "
            f"parameter count. s / arch: contended wall time per architecture.\n\n" + markdown_table(rows) + "\n")
    if check:
        text += ("\n**Sample check.** `params` has no randomness, so its ρ differs from the whole space's only "
                 f"through the sample: over all {len(params_of):,} architectures ρ(params) is "
                 + " / ".join(f"{check['space'][ds]:.3f}" for ds in NB201_DATASETS)
                 + f" ({' / '.join(DATASET_LABELS[ds] for ds in NB201_DATASETS)}), in this sample ({len(done)} architectures) "
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

    if args.num_archs < 3:
        parser.error("--num-archs must be at least 3 (a rank correlation needs pairs)")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    try:
        proxies = [parse_proxy_variant(p) for p in args.proxies.split(",") if p.strip()]
    except Exception as exc:  # unknown proxy / option: one clear error before any work
        parser.error(str(exc))
    relative = [label for label, name, _ in proxies if get_proxy(name).relative]
    if relative:
        parser.error(f"{', '.join(relative)}: give ensembles with --ensembles (they rank the sample)")
    labels = [label for label, _, _ in proxies]
    if len(set(labels)) != len(labels):
        parser.error("a proxy is listed twice in --proxies")
    for comp in args.ensembles:
        for c in comp.split(","):
            if c.strip() and parse_proxy_variant(c)[0] not in labels:
                parser.error(f"ensemble {comp!r}: {c!r} is not one of the study's --proxies")

    bench = load_benchmark(args.bench)
    tables = {ds: bench.mean_table(ds).set_index("index") for ds in NB201_DATASETS}
    accuracy = {ds: {int(i): float(v) for i, v in t["mean"].items()} for ds, t in tables.items()}
    arch_of = tables["cifar10"]["arch_str"]
    indices = sample_indices(args.num_archs, arch_of.index, args.seed)
    images = load_sample("train")
    inputs, targets = MinibatchSampler(images, args.batch_size, seed=args.seed, device=device).sample()
    space = get_space("nb201")
    config = {"batch_size": args.batch_size, "seed": args.seed, "data": images.source, "augment": True,
              "network": "NB201 standalone C=16 N=5, 10 classes, fresh init from seed, train mode",
              "accuracy": "seed-mean test accuracy, 200 epochs", "device": device.type}
    out: Path = args.out
    stream = ScoreStream(out.with_suffix(".jsonl"), config)
    params_of = (space_params(space, {int(i): str(a) for i, a in arch_of.items()}, images.num_classes)
                 if "params" in labels else None)
    started = time.perf_counter()
    if not args.report_only:
        done = stream.done()
        shard, shards = args.shard  # over sample positions: stable across resumes
        todo = [(i, [p for p in proxies if p[0] not in done.get(i, set())]) for i in indices[shard::shards]]
        todo = [(i, ps) for i, ps in todo if ps][: args.limit]
        print(f"{len(indices)} architectures x {len(labels)} proxies; {len(todo)} to score now "
              f"({sum(1 for i in indices if not [p for p in proxies if p[0] not in done.get(i, set())])} "
              f"complete in {stream.path})", flush=True)
        for k, (index, missing) in enumerate(todo, 1):
            stream.append(score_architecture(space, index, str(arch_of[index]), missing, inputs, targets,
                                             images.num_classes, args.seed, device))
            if k % 10 == 0 or k == len(todo):
                elapsed = time.perf_counter() - started
                print(f"  {k}/{len(todo)} scored, {elapsed:.0f}s, {elapsed / k:.1f}s/arch, "
                      f"eta {elapsed / k * (len(todo) - k) / 3600:.1f}h", flush=True)
            if k % args.report_every == 0:
                write_report(out, stream, config, indices, labels, args.ensembles, accuracy, params_of)
    rows = write_report(out, stream, config, indices, labels, args.ensembles, accuracy, params_of)
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
