"""The proxy study over NAS-Bench-201: every zero-cost proxy on the same architectures and
minibatch, rank-correlated with the CIFAR-10, CIFAR-100 and ImageNet16-120 test accuracies, next
to the published (reference) correlations.

Setting: a seeded, prefix-stable random sample of NAS-Bench-201 architectures (the first k of one
seeded permutation of all 15,625, so a larger sample extends a smaller one); each is built as its
standalone network (C=16, N=5, 10 classes, weights from ``seed``, a fresh network in train mode as
in the reference code's NAS-Bench-201 experiments) and scored by every proxy on **one** fixed,
seeded minibatch of the real CIFAR-10 sample (``images/cifar10_sample.npz``, standard augmentation).
Only CIFAR-10 images are available offline, so the CIFAR-100 and ImageNet16-120 correlations are
those of CIFAR-10-input scores with the other datasets' accuracies (the published ones score each
dataset's own images with a matching classifier head).

Proxies are ``name`` or ``name:key=value:...`` (``nwot:mode=train`` is the original NASWOT setting;
``ntk:num_samples=16`` TE-NAS's NTK batch). Rank-average ensembles (each a comma-separated component
list) are computed from the stored component scores over the sample, as
:func:`zcpt_analysis.proxies.comparable` ranks any comparison set.

Scores stream to a JSON-lines file (:class:`ScoreStream`: a header line with the setting, then one
line per scored architecture, appended and flushed one architecture at a time), so memory stays
flat and an interrupted study resumes where it stopped -- also after adding proxies. Correlations
are positive when a higher score goes with a higher accuracy (every proxy is signed higher-is-better).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator
from scipy import stats

from .bench.benchmark import BenchField
from .errors import ZcptError
from .options import Result, Seed, opt
from .proxies import get_proxy, parse_proxy_variant, rank_average
from .proxies.published import NB201_DATASETS, published_for
from .runtime import resolve_device
from .spaces import get_space

DEFAULT_PROXIES: tuple[str, ...] = (
    "synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "nwot:mode=train", "params", "flops",
    "meco", "meco:hooks=published", "zico", "swap", "swap:regular=true:mu=1073:sigma=1500000", "zen", "zen:bn=running",
    "epe_nas", "l2_norm", "plain", "ntk:num_samples=16")
"""The study's proxies. ``swap`` regularised: mu = 1073 thousand parameters (the largest NB201
network with 10 classes), sigma = 1.5e6 -- our choice: the published code ships no NB201 values."""
DEFAULT_ENSEMBLES: tuple[str, ...] = ("nwot:mode=train,synflow", "nwot:mode=train,synflow,jacob_cov",
                                      "meco,zico,swap")
REFERENCE_NOTE = ("reference = published values (not measured here): NAS-Bench-Suite-Zero Fig. 2 (1,000 random "
                  "NB201 archs) unless the row says otherwise; MeCo: NATS-TSS CIFAR-10; SWAP: regularised, "
                  "CIFAR-100 validation accuracy")
TIMING_NOTE = "seconds per architecture on this machine, with other jobs running (contended)"
SAMPLE_IMAGES = 400
"""Training images of the shared CIFAR-10 sample (the largest minibatch without repeats)."""


class ProxyStudySettings(BenchField):
    """The study's setting: how many architectures, which minibatch, which proxies and ensembles."""

    num_archs: int = opt(1000, "--num-archs", help="architectures to sample (at least 3: a rank correlation "
                         "needs pairs)", ge=3)
    batch_size: int = opt(64, "--batch-size", help="minibatch size (at most 400, the shared sample)", ge=1,
                          le=SAMPLE_IMAGES)
    seed: Seed = opt(0, "--seed", help="seed of the sample, weights and minibatch")
    proxies: tuple[str, ...] = opt(DEFAULT_PROXIES, "--proxies", metavar="PROXY",
                                   help="proxies name[:key=value...] (default: every proxy and the published variants)")
    ensembles: tuple[str, ...] = opt(DEFAULT_ENSEMBLES, "--ensembles", metavar="A,B,...",
                                     help="rank-average ensembles of study proxies, each a comma-separated list")
    device: str = opt("cpu", "--device", identity=False, help="cpu, cuda or auto")

    @field_validator("proxies")
    @classmethod
    def _proxies(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        parsed = [parse_proxy_variant(p) for p in proxies if p.strip()]  # unknown proxy / option: an error now
        relative = [label for label, name, _ in parsed if get_proxy(name).relative]
        if relative:
            raise ZcptError(f"{', '.join(relative)}: give ensembles with --ensembles (they rank the sample)")
        labels = [label for label, _, _ in parsed]
        if len(set(labels)) != len(labels):
            raise ZcptError("a proxy is listed twice in --proxies")
        return tuple(p.strip() for p in proxies if p.strip())

    @model_validator(mode="after")
    def _ensembles_of_study_proxies(self) -> "ProxyStudySettings":
        labels = self.labels()
        for comp in self.ensembles:
            for c in comp.split(","):
                if c.strip() and parse_proxy_variant(c)[0] not in labels:
                    raise ZcptError(f"ensemble {comp!r}: {c!r} is not one of the study's --proxies")
        return self

    def variants(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(label, registered name, options)`` of every study proxy."""
        return [parse_proxy_variant(p) for p in self.proxies]

    def labels(self) -> list[str]:
        return [label for label, _, _ in self.variants()]

    def stream_config(self, images_source: str) -> dict[str, Any]:
        """The stream's header: what every score in it depends on (scores of another setting never mix)."""
        return {"batch_size": self.batch_size, "seed": self.seed, "data": images_source, "augment": True,
                "network": "NB201 standalone C=16 N=5, 10 classes, fresh init from seed, train mode",
                "accuracy": "seed-mean test accuracy, 200 epochs", "device": resolve_device(self.device).type}


class ProxyStudyResult(Result):
    """The study's summary: one row per proxy and ensemble (``<dataset> rho`` / ``tau`` /
    ``reference rho``, ``rho with params``, ``seconds per arch``, ``n``, ``non_finite``), the
    architectures complete so far out of the planned ones, and the sample check of ``params``."""

    status: str = "running"
    config: dict[str, Any] = Field(default_factory=dict)
    num_archs: int = 0
    planned_archs: int = 0
    proxies: list[str] = Field(default_factory=list)
    ensembles: list[str] = Field(default_factory=list)
    reference_note: str = REFERENCE_NOTE
    sample_check: Optional[dict[str, dict[str, float]]] = None
    timing_note: str = TIMING_NOTE
    rows: list[dict[str, Any]] = Field(default_factory=list)
    timing: dict[str, float] = Field(default_factory=dict)


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
    """A JSON-lines file: a header ``{"config": ...}`` then one ``{"index", "arch", "scores",
    "seconds"}`` line per scored architecture (several lines of one index merge). A torn last line
    (an interrupted write) is cut off when the stream is opened; a stream of another setting is an
    error."""

    def __init__(self, path: Path, config: dict[str, Any]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists() or self.path.stat().st_size == 0:
            with open(self.path, "w") as fh:
                fh.write(json.dumps({"config": config}) + "\n")
            return
        with open(self.path, "rb") as fh:
            data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):  # torn last line
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
        header = json.loads(data.split(b"\n", 1)[0])
        if header.get("config") != config:
            raise ZcptError(f"{self.path} holds results for another setting ({header.get('config')}); use another "
                            "output")

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


def study_rows(records: dict[int, dict], indices: list[int], labels: list[str], ensembles: Iterable[str],
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


# ----------------------------------------------------------------------------- the study
class ProxyStudy:
    """One study: its sample, minibatch and stream; :meth:`score` appends what is missing,
    :meth:`summary` correlates what the stream holds."""

    def __init__(self, settings: ProxyStudySettings, stream_path: Path, bench: Any = None, images: Any = None):
        from .data import MinibatchSampler, load_sample

        self.settings = settings
        self.device = resolve_device(settings.device)
        bench = bench if bench is not None else settings.load_bench()
        tables = {ds: bench.mean_table(ds).set_index("index") for ds in NB201_DATASETS}
        self.accuracy = {ds: {int(i): float(v) for i, v in t["mean"].items()} for ds, t in tables.items()}
        self.arch_of = {int(i): str(a) for i, a in tables["cifar10"]["arch_str"].items()}
        self.indices = sample_indices(settings.num_archs, self.arch_of, settings.seed)
        self.images = images if images is not None else load_sample("train")
        self.inputs, self.targets = MinibatchSampler(self.images, settings.batch_size, seed=settings.seed,
                                                     device=self.device).sample()
        self.space = get_space("nb201")
        self.config = settings.stream_config(self.images.source)
        self.stream = ScoreStream(stream_path, self.config)
        self.variants = settings.variants()
        self.labels = [label for label, _, _ in self.variants]
        self._params_of: Optional[dict[int, float]] = None

    def todo(self, shard: tuple[int, int] = (0, 1), done: Optional[dict[int, set[str]]] = None
             ) -> list[tuple[int, list[tuple[str, str, dict]]]]:
        """The architectures of ``shard`` (the K-th of N interleaved parts of the sample) with the
        proxies still missing for them (``done``: the stream's :meth:`ScoreStream.done`, read now
        when not given)."""
        done = self.stream.done() if done is None else done
        k, n = shard
        todo = [(i, [p for p in self.variants if p[0] not in done.get(i, set())]) for i in self.indices[k::n]]
        return [(i, ps) for i, ps in todo if ps]

    def score(self, todo: list[tuple[int, list[tuple[str, str, dict]]]],
              on_scored: Optional[Callable[[int], None]] = None) -> None:
        """Score and append every architecture of ``todo``; ``on_scored(k)`` after the k-th."""
        for k, (index, missing) in enumerate(todo, 1):
            self.stream.append(score_architecture(self.space, index, self.arch_of[index], missing, self.inputs,
                                                  self.targets, self.images.num_classes, self.settings.seed,
                                                  self.device))
            if on_scored is not None:
                on_scored(k)

    def parameter_count_label(self) -> Optional[str]:
        """The study proxy whose score is the parameter count (``params`` without options), if any."""
        return next((label for label, name, options in self.variants
                     if get_proxy(name).parameter_count and not options), None)

    def _complete(self, records: dict[int, dict[str, Any]]) -> list[int]:
        """The sample's architectures ``records`` (the stream's) hold a score of every study proxy for."""
        return [i for i in self.indices if i in records and all(lab in records[i]["scores"] for lab in self.labels)]

    def summary(self, result: Optional[ProxyStudyResult] = None) -> ProxyStudyResult:
        """The correlations of the architectures complete so far (no rows below 3 of them), filled into
        ``result`` (a new :class:`ProxyStudyResult` by default)."""
        result = result if result is not None else ProxyStudyResult()
        records = self.stream.records()
        done = self._complete(records)
        result.config, result.planned_archs, result.num_archs = self.config, len(self.indices), len(done)
        result.proxies, result.ensembles = list(self.labels), list(self.settings.ensembles)
        result.status = "complete" if len(done) == len(self.indices) else "running"
        if len(done) < 3:
            result.rows, result.sample_check = [], None
            return result
        params_label = self.parameter_count_label()
        result.rows = study_rows(records, done, self.labels, self.settings.ensembles, self.accuracy, params_label)
        if params_label:
            if self._params_of is None:
                self._params_of = space_params(self.space, self.arch_of, self.images.num_classes)
            result.sample_check = sample_check(self._params_of, done,
                                               {i: records[i]["scores"][params_label] for i in done}, self.accuracy)
        return result

    def csv_text(self) -> str:
        """Scores and accuracies per complete architecture (one CSV row each)."""
        records = self.stream.records()
        lines = ["index,arch_str," + ",".join(f"{d}_test_acc" for d in NB201_DATASETS) + "," + ",".join(self.labels)]
        for i in self._complete(records):
            accs = ",".join(str(self.accuracy[d][i]) for d in NB201_DATASETS)
            lines.append(f"{i},{records[i]['arch']},{accs}," + ",".join(str(records[i]["scores"][lab])
                                                                         for lab in self.labels))
        return "\n".join(lines) + "\n"


def run_proxy_study(settings: ProxyStudySettings, stream_path: Path, progress: bool = False,
                    result: Optional[ProxyStudyResult] = None, bench: Any = None, images: Any = None,
                    report_every: int = 25, checkpoint: Optional[Callable[[ProxyStudyResult], None]] = None,
                    ) -> ProxyStudyResult:
    """Score every architecture of the sample that the stream at ``stream_path`` lacks (resuming it),
    passing the summary to ``checkpoint`` every ``report_every`` architectures and at the end."""
    from tqdm.auto import tqdm

    study = ProxyStudy(settings, stream_path, bench=bench, images=images)
    todo = study.todo()
    started = time.perf_counter()
    bar = tqdm(total=len(todo), desc="proxy study architectures", disable=not progress)

    def scored(k: int) -> None:
        bar.update(1)
        if k % report_every == 0 and checkpoint is not None:
            checkpoint(study.summary(result))

    study.score(todo, scored)
    bar.close()
    result = study.summary(result)
    result.timing["scoring"] = round(result.timing.get("scoring", 0.0) + time.perf_counter() - started, 3)
    if checkpoint is not None:
        checkpoint(result)
    return result
