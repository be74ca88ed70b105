"""A prepared check of the paper's settings on a GPU: one command, each step within its own time budget.

    python benchmarks/gpu_check.py --out runs/gpu_check              # on a CUDA machine (~5 min)
    python benchmarks/gpu_check.py --smoke --out /tmp/gpu_check      # tiny settings; runs on the CPU

Steps (``--steps`` picks some; ``--budget STEP=SECONDS`` changes a budget):

1. ``tests``    -- the CUDA-marked tests (``pytest -m cuda tests/test_gpu.py``): CPU and CUDA decisions,
                   repeatability, host syncs in the hot loops, exact nwot Gram products at the paper's
                   sizes, bf16 under CUDA autocast;
2. ``nb201``    -- one NB201 Zero-Cost-PT search as the ``paper`` preset runs it (nwot, random order,
                   N=10, V=100, batch 256, seed 0, the published ``block-input`` execution):
                   end-to-end time, search / validation split, peak GPU memory, the selected
                   architecture and its NAS-Bench-201 test errors;
3. ``darts``    -- the ``paper`` preset's DARTS-space search (N=10, V=100, batch 64, seed 0); when the
                   first iteration shows N=10 does not fit the budget, it stops there, validates the
                   candidate(s) it has and projects the N=10 time;
4. ``training`` -- a few steps of DARTS supernet training (the ``paper`` preset's Table 4 supernet)
                   and of the final 600-epoch protocol (heavy C=36 / 20 cells, and mobile): seconds
                   per epoch, and from them the GPU time of Tables 4-6 on this device;
5. ``bf16``     -- step 2's search with ``precision="bf16"``: its time, and whether any decision or
                   the selected architecture differs from step 2's.

Each step runs in its own process (forked from this one, which never touches CUDA; ``tests`` is a
pytest subprocess): a step past its budget is stopped and recorded as ``over budget`` with what
it had reported so far, a step that fails is recorded with its error, and the rest go on. At the
end ``summary.json`` and ``summary.md`` in ``--out`` hold the device (name, torch / CUDA / cuDNN
versions), every step's status, time, budget and figures, and the paper's figures to compare with
(labelled as the paper's). Each step's output is in ``steps/<step>.log``.

``--smoke`` runs every step at tiny sizes (supernets with 4 / 1 channels, the DARTS search in the
S1 subspace, N=1-2, V=1, a few images) on the CPU unless CUDA is there: it exercises the code
paths, its numbers say nothing (the projections of Tables 4-6 are left out).
Without ``--smoke``, ``--device cuda`` (the default) on a machine without CUDA is an error.
Data: the shared 400-image CIFAR-10 sample unless ``--data-root`` names the full dataset (search
and training times per step do not depend on which images; the projections scale to full CIFAR-10).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import inspect
import json
import math
import multiprocessing
import os
import platform
import resource
import signal
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS: tuple[str, ...] = ("tests", "nb201", "darts", "training", "bf16")
TITLES: dict[str, str] = {
    "environment": "device and library versions",
    "tests": "CUDA-marked tests (pytest -m cuda)",
    "nb201": "NB201 Zero-Cost-PT search, paper setting",
    "darts": "DARTS-space Zero-Cost-PT search, paper setting",
    "training": "DARTS supernet training and the final 600-epoch protocol: seconds per epoch",
    "bf16": "NB201 paper-setting search with precision=bf16",
}
BUDGETS: dict[str, float] = {"tests": 45, "nb201": 75, "darts": 50, "training": 40, "bf16": 60}
"""Seconds per step on a GPU: 4.5 minutes in all (5 with starting the steps), so that one device
call can run the whole check and leave time to run it again."""
SMOKE_BUDGETS: dict[str, float] = {name: 120 for name in STEPS}
ENVIRONMENT_BUDGET = 60.0
CUDA_TESTS = "tests/test_gpu.py"
"""The file of the CUDA-marked tests (the only one: ``tests/test_gpu_check.py`` checks it), run alone
so that the device's time does not go to collecting the whole suite."""
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL for a step past its budget
DARTS_MARGIN = 0.8  # the DARTS search continues past N=1 only if its projected search fits 80 % of the budget
FULL_CIFAR10 = {"search_half": 25_000, "train": 50_000, "test": 10_000}
"""Images of full CIFAR-10 that the per-epoch projections scale to (DARTS-PT's search split
uses half of the training set for the weights and half for alpha / validation)."""
SVHN_TRAIN = 73_257
TRAINING_STEPS = {"supernet": 10, "final": 10}
"""Timed training steps per measurement (after one warm-up epoch / steps)."""


# ============================================================================= step helpers (run in the child)
@dataclass
class StepContext:
    """What a step needs: the check's options, its own budget and start, its files."""

    name: str
    smoke: bool
    device: str
    data_root: Optional[str]
    out: Path
    budget: float
    started: float
    threads: Optional[int] = None

    @property
    def progress_path(self) -> Path:
        return self.out / "steps" / f"{self.name}.progress.json"

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def report(self, figures: dict[str, Any]) -> None:
        """Figures so far (kept if the step is stopped at its budget)."""
        from zcpt_analysis.files import atomic_write_json

        atomic_write_json(self.progress_path, figures)


def _torch_device(ctx: StepContext):
    import torch

    from zcpt_analysis.runtime import resolve_device

    device = resolve_device(ctx.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    return device


def _synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory(device) -> dict[str, float]:
    """Peak GPU memory allocated by torch in this step (GB), or the process's peak RSS on the CPU."""
    import torch

    if device.type == "cuda":
        return {"peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 3),
                "peak_gpu_memory_reserved_gb": round(torch.cuda.max_memory_reserved(device) / 2 ** 30, 3)}
    return {"peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 3)}


def _preset(ctx: StepContext):
    from zcpt_analysis.experiments.presets import preset

    return preset("paper", data_root=ctx.data_root, device=ctx.device)


def nb201_spec(ctx: StepContext, precision: str = "fp32"):
    """The ``paper`` preset's NB201 search at seed 0 (smoke: the same settings at tiny sizes)."""
    from zcpt_analysis.experiments.presets import TINY_NB201

    spec = _preset(ctx).runs("nb201-search").at(0, precision=precision)
    if ctx.smoke:
        spec = spec.replace(N=1, V=1, batch_size=8, supernet_options=dict(TINY_NB201),
                            network_options=dict(TINY_NB201))
    return spec


def darts_spec(ctx: StepContext):
    """The ``paper`` preset's DARTS-space search at seed 0 (smoke: tiny networks in the S1 subspace,
    two ops per edge -- the same code as the full space at a twentieth of its CPU time --, N=2, V=1)."""
    from zcpt_analysis.experiments.presets import TINY_DARTS

    spec = _preset(ctx).runs("darts-search").at(0)
    if ctx.smoke:
        spec = spec.replace(space="darts-s1", N=2, V=1, batch_size=4, supernet_options=dict(TINY_DARTS),
                            network_options=dict(TINY_DARTS))
    return spec


def _decisions(result) -> list[list[list[Any]]]:
    """Per search iteration, the ``[edge, chosen op]`` of every decision in order."""
    return [[[s.edge, s.chosen] for s in it.steps] for it in result.iterations]


def _search_figures(spec, result, started: float) -> dict[str, Any]:
    timing = result.timing
    return {"setting": {k: v for k, v in spec.to_json().items() if k not in ("data_root", "device")},
            "data": result.data, "engine": result.engine, "iterations_done": len(result.iterations),
            "validation_batches_done": result.validation_batches,
            "search_seconds": timing.get("search"), "validation_seconds": timing.get("validation"),
            "wall_seconds": round(time.perf_counter() - started, 3),
            "iteration_seconds": [it.seconds for it in result.iterations]}


def run_nb201(ctx: StepContext, precision: str = "fp32") -> dict[str, Any]:
    """Step 2 (and 5 with ``precision="bf16"``): the paper-setting NB201 search, timed end to end."""
    from zcpt_analysis.searches.zcpt import ZeroCostPT

    device = _torch_device(ctx)
    spec = nb201_spec(ctx, precision)
    started = time.perf_counter()
    result = ZeroCostPT(spec, progress=False,
                        checkpoint=lambda r: ctx.report(_search_figures(spec, r, started))).run()
    _synchronize(device)
    figures = _search_figures(spec, result, started)
    figures["end_to_end_seconds"] = figures.pop("wall_seconds")
    figures.update(_peak_memory(device))
    figures["selected"] = str(result.selected.arch)
    figures["nb201_test_error"] = {d: round(r.error, 2) for d, r in result.selected.benchmark.items()}
    figures["benchmark_error"] = result.benchmark_error
    figures["candidates"] = len(result.candidates)
    figures["decisions"] = _decisions(result)
    return figures


def run_bf16(ctx: StepContext) -> dict[str, Any]:
    """Step 5: step 2's search in bf16, compared with step 2's decisions and selection."""
    figures = run_nb201(ctx, "bf16")
    ref_path = ctx.out / "steps" / "nb201.json"
    ref = json.loads(ref_path.read_text()) if ref_path.exists() else {}
    fp32 = ref.get("figures") or {}
    if ref.get("status") != "ok" or "decisions" not in fp32:
        figures["compared_with_fp32"] = f"no complete fp32 run to compare with (step nb201: {ref.get('status', 'not run')})"
        return figures
    figures.update(compare_decisions(fp32["decisions"], figures["decisions"]))
    figures["same_selection"] = fp32["selected"] == figures["selected"]
    figures["fp32_selected"] = fp32["selected"]
    figures["fp32_end_to_end_seconds"] = fp32["end_to_end_seconds"]
    return figures


def compare_decisions(a: list[list[list[Any]]], b: list[list[list[Any]]]) -> dict[str, Any]:
    """How two searches' decisions (per iteration, ``[edge, op]`` in order) differ: the decisions
    compared, those that differ, and the first difference (iteration, position, both choices)."""
    compared = differing = 0
    first = None
    for i, (xs, ys) in enumerate(zip(a, b)):
        for k, (x, y) in enumerate(zip(xs, ys)):
            compared += 1
            if list(x) != list(y):
                differing += 1
                if first is None:
                    first = {"iteration": i, "position": k, "fp32": list(x), "bf16": list(y)}
    return {"decisions_compared": compared, "decisions_differing": differing, "first_difference": first,
            "same_decisions": differing == 0 and len(a) == len(b) and all(len(x) == len(y) for x, y in zip(a, b))}


class _StopSearch(Exception):
    """Raised from the checkpoint when the remaining search iterations do not fit the budget."""


def darts_projection(search_seconds: float, iterations: int, N: int, elapsed: float, budget: float) -> dict[str, Any]:
    """Whether a DARTS search that took ``search_seconds`` for ``iterations`` iterations, ``elapsed``
    seconds into a step of ``budget`` seconds, may go on to ``N`` iterations (its projected search
    fits :data:`DARTS_MARGIN` of the budget), and the projected search seconds of all ``N``."""
    per_iteration = search_seconds / max(iterations, 1)
    remaining = per_iteration * (N - iterations)
    return {"per_iteration_seconds": round(per_iteration, 3), "projected_search_seconds": round(per_iteration * N, 3),
            "continue": elapsed + remaining <= DARTS_MARGIN * budget}


def run_darts(ctx: StepContext) -> dict[str, Any]:
    """Step 3: the DARTS-space search; N=1 and a projection of N=10 when N=10 does not fit."""
    from zcpt_analysis.searches.zcpt import ZeroCostPT

    device = _torch_device(ctx)
    spec = darts_spec(ctx)
    started = time.perf_counter()
    decision: dict[str, Any] = {}

    def checkpoint(result) -> None:
        ctx.report(_search_figures(spec, result, started))
        done = len(result.iterations)
        if result.status == "searching" and done == 1 and spec.N > 1:
            decision.update(darts_projection(result.timing["search"], done, spec.N, ctx.elapsed(), ctx.budget))
            if not decision["continue"]:
                raise _StopSearch

    search = ZeroCostPT(spec, progress=False, checkpoint=checkpoint)
    try:
        result = search.run()
        stopped = False
    except _StopSearch:  # validate the candidate found so far, as a search with N=1 would
        result = ZeroCostPT(spec.replace(N=len(search.result.iterations)), progress=False, result=search.result,
                            checkpoint=lambda r: ctx.report(_search_figures(spec, r, started))).run()
        stopped = True
    _synchronize(device)
    figures = _search_figures(spec, result, started)
    figures["end_to_end_seconds"] = figures.pop("wall_seconds")
    figures.update(_peak_memory(device))
    figures["selected"] = str(result.selected.arch)
    figures["candidates"] = len(result.candidates)
    figures["stopped_after_iterations"] = len(result.iterations) if stopped else None
    if stopped:
        per_candidate = (result.timing.get("validation") or 0.0) / max(len(result.candidates), 1)
        projected = decision["projected_search_seconds"] + per_candidate * spec.N
        figures["projected_N"] = spec.N
        figures["projected_seconds"] = round(projected, 1)
        figures["projection"] = (f"search: {decision['per_iteration_seconds']:.1f} s per iteration x {spec.N}; "
                                 f"validation: {per_candidate:.1f} s per candidate x {spec.N} distinct candidates "
                                 "(an upper bound: repeated candidates are validated once)")
    else:
        figures["projected_seconds"] = None
    return figures


def _images(ctx: StepContext, train: bool = True):
    from zcpt_analysis.data import load_images

    return load_images("cifar10", "auto", ctx.data_root, train=train)


def _supernet_epoch(ctx: StepContext, device) -> dict[str, Any]:
    """Seconds per epoch of the ``paper`` preset's DARTS supernet training (Table 4's supernets),
    from :data:`TRAINING_STEPS` timed bilevel steps and as many validation batches."""
    import torch

    from zcpt_analysis.evaluation import evaluate
    from zcpt_analysis.experiments.presets import TINY_NB201
    from zcpt_analysis.searches.supernet_training import BilevelTrainer, FixedBatches, SearchData
    from zcpt_analysis.spaces import get_space

    spec = _preset(ctx).spec("darts")
    if ctx.smoke:
        spec = spec.replace(supernet_options=dict(TINY_NB201), **{"darts.batch_size": 8})
    cfg = spec.darts
    images = spec.load_images()
    data = SearchData.from_images(images, cfg.train_portion)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        supernet = get_space(spec.space).supernet(num_classes=images.num_classes, seed=spec.seed,
                                                  **spec.supernet_options)
    trainer = BilevelTrainer(supernet, data, cfg, seed=spec.seed, device=device)
    steps = 1 if ctx.smoke else TRAINING_STEPS["supernet"]
    trainer.train_epoch(steps=1 if ctx.smoke else 2)  # warm-up (cuDNN algorithm choice, allocator)
    _synchronize(device)
    t0 = time.perf_counter()
    trainer.train_epoch(steps=steps)
    _synchronize(device)
    per_step = (time.perf_counter() - t0) / steps
    batches = FixedBatches(data.valid, cfg.batch_size, seed=0, augment=cfg.augment, device=device,
                           max_images=steps * cfg.batch_size)
    evaluate(trainer.model, batches)
    _synchronize(device)
    t0 = time.perf_counter()
    evaluate(trainer.model, batches)
    _synchronize(device)
    per_eval_batch = (time.perf_counter() - t0) / len(batches)
    steps_per_epoch = math.ceil(FULL_CIFAR10["search_half"] / cfg.batch_size)
    evals = 1 if cfg.eval_every else 0  # validation of the whole held-out half every eval_every epochs
    epoch = steps_per_epoch * per_step + evals / max(cfg.eval_every, 1) * steps_per_epoch * per_eval_batch
    return {"space": spec.space, "supernet_options": spec.supernet_options or "paper (C=16, N=5)",
            "arch_update": cfg.arch_update, "batch_size": cfg.batch_size, "timed_steps": steps,
            "seconds_per_step": round(per_step, 4), "seconds_per_validation_batch": round(per_eval_batch, 4),
            "steps_per_epoch_full_cifar10": steps_per_epoch, "seconds_per_epoch": round(epoch, 2),
            "epochs": cfg.epochs, "seconds_per_supernet": round(epoch * cfg.epochs, 1)}


def _final_epoch(ctx: StepContext, setting: str) -> dict[str, Any]:
    """Seconds per epoch of the final training protocol (600 epochs, batch 96, cutout, drop path,
    auxiliary head) in ``setting``: three epochs (smoke: two) over a slice of the training set with a
    test slice of the same proportion as full CIFAR-10's, the first a warm-up; scaled to the full
    dataset."""
    from zcpt_analysis.runs.runners import run_train
    from zcpt_analysis.runs.specs import TrainSpec
    from zcpt_analysis.train import TrainConfig

    batch = 8 if ctx.smoke else TrainConfig().batch_size
    train_images = len(_images(ctx, train=True))
    limit = min(train_images, batch * (1 if ctx.smoke else TRAINING_STEPS["final"]))
    test_limit = max(2, round(limit * FULL_CIFAR10["test"] / FULL_CIFAR10["train"]))
    small = dict(C=2, layers=3) if ctx.smoke else {}
    data = dict(data_source="auto", data_root=ctx.data_root, device=ctx.device)
    config = TrainConfig(setting=setting, batch_size=batch, train_limit=limit, test_limit=test_limit,
                         stop_after_epochs=2 if ctx.smoke else 3, **small, **data)
    record = run_train(TrainSpec(genotype="ZCPT_RANDOM_C10_SEED0", config=config))
    seconds = [row["epoch_seconds"] for row in record.history]
    timed = seconds[1:] if len(seconds) > 1 else seconds
    per_image_epoch = sum(timed) / len(timed) / limit
    epoch = per_image_epoch * FULL_CIFAR10["train"]
    return {"setting": setting, "genotype": "ZCPT_RANDOM_C10_SEED0", "params_m": round(record.params_millions, 3),
            "batch_size": batch, "train_images": limit, "test_images": test_limit,
            "epoch_seconds_measured": [round(s, 3) for s in seconds],
            "seconds_per_epoch": round(epoch, 2), "epochs": config.epochs,
            "seconds_per_training": round(epoch * config.epochs, 1)}


def table_costs(supernet: dict[str, Any], heavy: dict[str, Any], mobile: dict[str, Any],
                search_seconds: Optional[float]) -> list[dict[str, Any]]:
    """GPU time of Tables 4-6 on this device from the per-epoch figures: one row per table with
    the number of runs the ``paper`` preset plans (its seeds, orders, spaces and datasets; the four
    training seeds of every searched cell) and their total in GPU hours."""
    from zcpt_analysis import paper
    from zcpt_analysis.experiments.darts_tables import genotype_table
    from zcpt_analysis.experiments.presets import preset
    from zcpt_analysis.experiments.targets import plan

    p = preset("paper")
    train_seeds = len(inspect.signature(genotype_table).parameters["train_seeds"].default)
    supernets = {s.shared_supernet() for s in plan(["table4"], "paper") if s.shared_supernet()}
    rows = [{"table": "Table 4", "what": f"{len(supernets)} DARTS supernets (DARTS, DARTS-PT, fix alpha; "
             f"{supernet['epochs']} epochs each; DARTS-PT's projection not included)",
             "runs": len(supernets), "gpu_hours": round(len(supernets) * supernet["seconds_per_supernet"] / 3600, 2)}]
    searches = len(p.default("darts_orders")) * len(p.seeds["darts-search"])
    trainings = searches * train_seeds
    hours = trainings * heavy["seconds_per_training"] / 3600
    what = f"{trainings} final trainings ({searches} searched cells x {train_seeds} seeds, heavy, 600 epochs)"
    if search_seconds is not None:
        hours += searches * search_seconds / 3600
        what += f" + {searches} searches"
    rows.append({"table": "Table 5", "what": what, "runs": trainings, "gpu_hours": round(hours, 2)})
    hours, trainings = 0.0, 0
    for dataset in p.default("subspace_datasets"):
        n = len(paper.TABLE6_SPACES) * len(p.default("subspace_seeds")) * train_seeds
        per = heavy if dataset == "cifar10" else mobile
        scale = SVHN_TRAIN / FULL_CIFAR10["train"] if dataset == "svhn" else 1.0
        hours += n * per["seconds_per_training"] * scale / 3600
        trainings += n
    rows.append({"table": "Table 6", "what": f"{trainings} final trainings (S1-S4 x {len(p.default('subspace_datasets'))} "
                 f"datasets x {len(p.default('subspace_seeds'))} search seeds x {train_seeds} seeds; heavy on CIFAR-10, "
                 "mobile otherwise; searches not included)", "runs": trainings, "gpu_hours": round(hours, 2)})
    return rows


def run_training(ctx: StepContext) -> dict[str, Any]:
    """Step 4: seconds per epoch of supernet training and of the final training, and Tables 4-6's cost."""
    device = _torch_device(ctx)
    figures: dict[str, Any] = {"supernet": _supernet_epoch(ctx, device)}
    ctx.report(figures)
    figures["final_heavy"] = _final_epoch(ctx, "heavy")
    ctx.report(figures)
    figures["final_mobile"] = _final_epoch(ctx, "mobile")
    darts = ctx.out / "steps" / "darts.json"
    search_seconds = None
    if darts.exists():
        d = json.loads(darts.read_text()).get("figures") or {}
        search_seconds = d.get("projected_seconds") or d.get("end_to_end_seconds")
    if not ctx.smoke:
        figures["table_costs"] = table_costs(figures["supernet"], figures["final_heavy"], figures["final_mobile"],
                                             search_seconds)
    figures.update(_peak_memory(device))
    return figures


def run_environment(ctx: StepContext) -> dict[str, Any]:
    """The device and library versions (in a child: this process never initialises CUDA)."""
    import torch

    from zcpt_analysis.environment import environment

    env: dict[str, Any] = {"torch": torch.__version__, "cuda_build": torch.version.cuda,
                           "cuda_available": torch.cuda.is_available(), "python": platform.python_version(),
                           "platform": platform.platform(), "cpu_threads": torch.get_num_threads()}
    if ctx.device == "cpu" or env["cuda_available"]:  # resolving a CUDA device sets the toolkit's TF32 policy
        env["zcpt_environment"] = environment(_torch_device(ctx))
    if env["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        env.update({"device_name": props.name, "gpu_memory_gb": round(props.total_memory / 2 ** 30, 1),
                    "compute_capability": f"{props.major}.{props.minor}", "device_count": torch.cuda.device_count(),
                    "cudnn": torch.backends.cudnn.version(),
                    "tf32": {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                             "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32}})
        try:
            env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, timeout=20).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            env["driver"] = None
    return env


STEP_FUNCTIONS: dict[str, Callable[[StepContext], dict[str, Any]]] = {
    "environment": run_environment, "nb201": run_nb201, "darts": run_darts, "training": run_training,
    "bf16": run_bf16}


def _child(ctx: StepContext) -> None:
    """The body of a forked step process: run the step, write ``steps/<name>.json``."""
    from zcpt_analysis.files import atomic_write_json

    log = open(ctx.out / "steps" / f"{ctx.name}.log", "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    if ctx.threads:
        import torch

        torch.set_num_threads(ctx.threads)
    ctx.started = time.perf_counter()
    try:
        figures = STEP_FUNCTIONS[ctx.name](ctx)
        outcome = {"status": "ok", "figures": figures, "error": None}
    except BaseException as exc:  # noqa: BLE001 -- recorded, the other steps go on
        traceback.print_exc()
        outcome = {"status": "failed", "figures": _progress(ctx), "error": f"{type(exc).__name__}: {exc}"}
    outcome["seconds"] = round(time.perf_counter() - ctx.started, 2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    atomic_write_json(ctx.out / "steps" / f"{ctx.name}.json", outcome)
    log.flush()
    os._exit(0)


def _progress(ctx: StepContext) -> dict[str, Any]:
    try:
        return json.loads(ctx.progress_path.read_text())
    except (OSError, ValueError):
        return {}


# ============================================================================= the steps (run by this process)
def run_forked(ctx: StepContext) -> dict[str, Any]:
    """Run one step in a forked process within its budget (stopped past it)."""
    for stale in (ctx.out / "steps" / f"{ctx.name}.json", ctx.progress_path):
        stale.unlink(missing_ok=True)
    process = multiprocessing.get_context("fork").Process(target=_child, args=(ctx,))
    started = time.perf_counter()
    process.start()
    process.join(ctx.budget)
    over = process.is_alive()
    if over:
        process.terminate()
        process.join(STOP_GRACE)
        if process.is_alive():
            process.kill()
            process.join()
    seconds = round(time.perf_counter() - started, 2)
    path = ctx.out / "steps" / f"{ctx.name}.json"
    if over:
        return {"status": "over budget", "seconds": seconds, "figures": _progress(ctx),
                "error": f"stopped after its budget of {ctx.budget:.0f} s; figures: what it had reported"}
    if not path.exists():
        return {"status": "failed", "seconds": seconds, "figures": _progress(ctx),
                "error": f"the step's process ended with exit code {process.exitcode} and wrote no result "
                         f"(see steps/{ctx.name}.log)"}
    outcome = json.loads(path.read_text())
    outcome["seconds"] = seconds
    return outcome


def run_tests(ctx: StepContext) -> dict[str, Any]:
    """Step 1: ``pytest -m cuda`` in a subprocess (its own session: stopped whole past the budget)."""
    xml = ctx.out / "steps" / "tests.xml"
    xml.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "-rs",
           f"--junitxml={xml}", CUDA_TESTS]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    started = time.perf_counter()
    with open(ctx.out / "steps" / "tests.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            rc = proc.wait(timeout=ctx.budget)
            over = False
        except subprocess.TimeoutExpired:
            over, rc = True, None
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    figures = {"command": " ".join(cmd[1:]), **junit_counts(xml)}
    seconds = round(time.perf_counter() - started, 2)
    if over:
        return {"status": "over budget", "seconds": seconds, "figures": figures,
                "error": f"pytest stopped after its budget of {ctx.budget:.0f} s"}
    ok = rc in (0, 5) and not figures.get("failed") and not figures.get("errors")  # 5: nothing collected
    return {"status": "ok" if ok else "failed", "seconds": seconds, "figures": figures,
            "error": None if ok else f"pytest exit code {rc} (see steps/tests.log)"}


def junit_counts(xml: Path) -> dict[str, Any]:
    """Passed / failed / error / skipped counts of a pytest JUnit XML file, with the failures'
    messages and the skip reasons."""
    if not xml.exists():
        return {"junit": "no report written"}
    root = ET.parse(xml).getroot()
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures, skips = [], {}
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            counts["passed"] += 1
        elif outcome.tag == "skipped":
            counts["skipped"] += 1
            reason = outcome.get("message", "")
            skips[reason] = skips.get(reason, 0) + 1
        else:
            counts["failed" if outcome.tag == "failure" else "errors"] += 1
            failures.append({"test": name, "message": (outcome.get("message") or "")[:500]})
    return {**counts, "failures": failures, "skip_reasons": skips}


# ============================================================================= summary
def paper_figures() -> dict[str, Any]:
    """The paper's figures this check is compared with (the paper's, not measured here)."""
    from zcpt_analysis import paper

    return {"darts_search_minutes_N10": paper.SEARCH_COST_FACTS["zcpt_darts_total_minutes"],
            "gpu": paper.SEARCH_COST_FACTS["gpu"],
            "table5_search_cost_gpu_days_random": paper.TABLE5["Zero-Cost-PT (random)"].cost_gpu_days,
            "table5_search_cost_gpu_days_global_op_iter": paper.TABLE5["Zero-Cost-PT (global-op-iter)"].cost_gpu_days}


def comparison_rows(steps: dict[str, dict[str, Any]], paper: dict[str, Any], smoke: bool) -> list[dict[str, Any]]:
    """Measured (or projected) search costs next to the paper's (a smoke run's are not comparable)."""
    rows = []
    darts = steps.get("darts", {})
    d = darts.get("figures") or {}
    seconds = d.get("projected_seconds") or (d.get("end_to_end_seconds") if darts.get("status") == "ok" else None)
    kind = f"projected from N={d.get('stopped_after_iterations')}" if d.get("projected_seconds") else "measured"
    if smoke:
        kind = "smoke run (tiny settings): not comparable"
    rows.append({"figure": "DARTS-space search, N=10 V=100 batch 64 (minutes)",
                 "here": None if seconds is None else round(seconds / 60, 2), "how": kind if seconds else "not run",
                 "paper": f"{paper['darts_search_minutes_N10']} ({paper['gpu']})"})
    rows.append({"figure": "Table 5 search cost, random order (GPU-days)",
                 "here": None if seconds is None else float(f"{seconds / 86400:.3g}"), "how": kind if seconds else "not run",
                 "paper": paper["table5_search_cost_gpu_days_random"]})
    nb = steps.get("nb201", {})
    n = nb.get("figures") or {}
    done = nb.get("status") == "ok"
    rows.append({"figure": "NB201 search, N=10 V=100 batch 256 (minutes)",
                 "here": round(n["end_to_end_seconds"] / 60, 2) if done else None,
                 "how": ("smoke run (tiny settings): not comparable" if smoke else "measured") if done
                 else nb.get("status", "not run"), "paper": "not stated"})
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value).replace("|", "\\|")


def _key_figures(name: str, figures: dict[str, Any]) -> str:
    """A one-line digest of a step's figures for the overview table."""
    f = figures or {}
    if name == "tests":
        return ", ".join(f"{f[k]} {k}" for k in ("passed", "failed", "errors", "skipped") if f.get(k)) or "-"
    if name in ("nb201", "bf16", "darts"):
        parts = []
        for key, label in (("end_to_end_seconds", "total"), ("search_seconds", "search"),
                           ("validation_seconds", "validation")):
            if f.get(key) is not None:
                parts.append(f"{label} {f[key]:.1f} s")
        if f.get("peak_gpu_memory_gb") is not None:
            parts.append(f"peak {f['peak_gpu_memory_gb']} GB")
        if f.get("projected_seconds"):
            parts.append(f"N={f['projected_N']} projected {f['projected_seconds']:.0f} s")
        if f.get("nb201_test_error"):
            parts.append(f"C10 error {f['nb201_test_error'].get('cifar10')} %")
        if "same_decisions" in f:
            parts.append(f"{f['decisions_differing']}/{f['decisions_compared']} decisions differ, "
                         f"same selection: {f['same_selection']}")
        if not parts and f.get("iterations_done") is not None:
            parts.append(f"{f['iterations_done']} iterations, {f.get('validation_batches_done', 0)} validation batches")
        return "; ".join(parts) or "-"
    if name == "training":
        parts = [f"{label} {f[k]['seconds_per_epoch']} s/epoch" for k, label in
                 (("supernet", "supernet"), ("final_heavy", "heavy"), ("final_mobile", "mobile")) if k in f]
        return "; ".join(parts) or "-"
    return "-"


def markdown(summary: dict[str, Any]) -> str:
    env = summary["environment"]
    lines = [f"# GPU check{' (smoke: tiny settings, numbers say nothing)' if summary['smoke'] else ''}", "",
             f"`{summary['command']}` -- {summary['started']} to {summary['finished']} "
             f"({summary['total_seconds']:.0f} s)", "",
             f"Device: **{env.get('device_name') or summary['device']}** (`--device {summary['device']}`); torch "
             f"{env.get('torch', '?')} (CUDA build {env.get('cuda_build') or '-'}), cuDNN {env.get('cudnn') or '-'}, "
             f"driver {env.get('driver') or '-'}, GPU memory {env.get('gpu_memory_gb') or '-'} GB; data: "
             f"{summary['data']}.", "",
             "| step | status | seconds | budget | key figures |", "|---|---|---|---|---|"]
    for name, step in summary["steps"].items():
        lines.append(f"| {name}: {TITLES[name]} | {step['status']} | {step.get('seconds', 0):.1f} | "
                     f"{step['budget_seconds']:.0f} | {_cell(_key_figures(name, step.get('figures')))} |")
    lines += ["", "## Next to the paper", "", "| figure | here | how | paper (the paper's figure) |", "|---|---|---|---|"]
    for row in summary["comparison"]:
        lines.append(f"| {row['figure']} | {_cell(row['here'])} | {row['how']} | {_cell(row['paper'])} |")
    training = summary["steps"].get("training", {}).get("figures") or {}
    if training.get("table_costs"):
        lines += ["", "## GPU time of Tables 4-6 on this device (projected from the seconds per epoch)", "",
                  "| table | runs | GPU hours | what |", "|---|---|---|---|"]
        for row in training["table_costs"]:
            lines.append(f"| {row['table']} | {row['runs']} | {row['gpu_hours']} | {row['what']} |")
    lines += ["", "## Steps in detail", ""]
    for name, step in summary["steps"].items():
        lines.append(f"### {name} -- {step['status']}")
        if step.get("error"):
            lines.append(f"\n{step['error']}\n")
        figures = {k: v for k, v in (step.get("figures") or {}).items() if k not in ("decisions", "setting")}
        lines += ["", "```json", json.dumps(figures, indent=1, default=str)[:4000], "```", ""]
    return "\n".join(lines) + "\n"


# ============================================================================= command line
def preload() -> None:
    """Import torch and the toolkit once here, so that every forked step starts without importing
    them again. This process never initialises CUDA (a forked child could not use it then)."""
    import importlib

    import torch

    for module in ("evaluation", "experiments.presets", "runs.runners", "searches.supernet_training",
                   "searches.zcpt"):
        importlib.import_module(f"zcpt_analysis.{module}")
    if torch.cuda.is_initialized():
        raise RuntimeError("gpu_check initialised CUDA before forking its steps")


def parse_budgets(items: list[str], smoke: bool) -> dict[str, float]:
    budgets = dict(SMOKE_BUDGETS if smoke else BUDGETS)
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in STEPS:
            raise SystemExit(f"--budget {item!r}: expected STEP=SECONDS with STEP one of {', '.join(STEPS)}")
        try:
            budgets[name] = float(value)
        except ValueError:
            raise SystemExit(f"--budget {item!r}: {value!r} is not a number of seconds") from None
        if budgets[name] <= 0:
            raise SystemExit(f"--budget {item!r}: the budget must be positive")
    return budgets


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny settings (CPU unless CUDA is there)")
    p.add_argument("--out", default="runs/gpu_check", help="folder of summary.json, summary.md and steps/")
    p.add_argument("--device", default=None, help="cuda (default), cuda:N, cpu or auto; with --smoke the default "
                   "is cuda when available, else cpu")
    p.add_argument("--data-root", default=None, help="the full CIFAR-10 (torchvision folder); default: the shared "
                   "400-image sample")
    p.add_argument("--threads", type=int, default=None, help="torch threads of each step (default: 1 with --smoke "
                   "on the CPU, else torch's default)")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="the steps to run (in this order)")
    p.add_argument("--budget", action="append", default=[], metavar="STEP=SECONDS", help="a step's time budget")
    args = p.parse_args(argv)
    budgets = parse_budgets(args.budget, args.smoke)
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be at least 1, got {args.threads}")
    out = Path(args.out)
    (out / "steps").mkdir(parents=True, exist_ok=True)
    from zcpt_analysis.checks import check_device

    device = args.device or "cuda"
    try:
        check_device(device)
    except ValueError as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    preload()
    started_at = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()

    def context(name: str, budget: float, dev: str) -> StepContext:
        threads = args.threads or (1 if args.smoke and dev == "cpu" else None)
        return StepContext(name, args.smoke, dev, args.data_root, out, budget, time.perf_counter(), threads)

    env_step = run_forked(context("environment", ENVIRONMENT_BUDGET, "cpu"))
    env = env_step.get("figures") or {}
    if env_step["status"] != "ok":
        print(f"gpu_check: could not read the environment: {env_step.get('error')}", file=sys.stderr)
        return 2
    if device == "auto":
        device = "cuda" if env.get("cuda_available") else "cpu"
    if device.startswith("cuda") and not env.get("cuda_available"):
        if args.smoke and args.device is None:
            device = "cpu"
        else:
            print(f"gpu_check: --device {device} needs CUDA, and torch {env.get('torch')} sees no CUDA device here "
                  f"(CUDA build: {env.get('cuda_build') or 'none'}). Run on a GPU machine, or use --smoke "
                  "(tiny settings on the CPU) or --device cpu.", file=sys.stderr)
            return 2
    if device != "cpu":  # the versions as the run's device sees them
        env = run_forked(context("environment", ENVIRONMENT_BUDGET, device)).get("figures") or env
    data = f"full CIFAR-10 at {args.data_root}" if args.data_root else "the shared 400-image CIFAR-10 sample"
    steps: dict[str, dict[str, Any]] = {}
    for name in args.steps:
        ctx = context(name, budgets[name], device)
        print(f"[gpu_check] {name}: {TITLES[name]} (budget {budgets[name]:.0f} s) ...", flush=True)
        outcome = run_tests(ctx) if name == "tests" else run_forked(ctx)
        outcome["budget_seconds"] = budgets[name]
        steps[name] = outcome
        print(f"[gpu_check] {name}: {outcome['status']} in {outcome['seconds']:.1f} s -- "
              f"{_key_figures(name, outcome.get('figures'))}" + (f" ({outcome['error']})" if outcome.get("error") else ""),
              flush=True)
    paper = paper_figures()
    summary = {"check": "gpu_check", "smoke": args.smoke, "device": device, "data": data,
               "command": " ".join(["python benchmarks/gpu_check.py", *(argv if argv is not None else sys.argv[1:])]),
               "started": started_at.isoformat(timespec="seconds"),
               "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "total_seconds": round(time.perf_counter() - t0, 1), "environment": env, "budgets": budgets,
               "steps": steps, "paper": paper, "comparison": comparison_rows(steps, paper, args.smoke)}
    from zcpt_analysis.files import atomic_write_json, atomic_write_text

    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", markdown(summary))
    print(f"[gpu_check] summary: {out / 'summary.json'}, {out / 'summary.md'}")
    return 0 if all(s["status"] == "ok" for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
