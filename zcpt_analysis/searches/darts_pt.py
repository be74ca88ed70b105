"""DARTS-PT: perturbation-based architecture selection on a trained supernet (Wang et al. 2021).

Procedure (``ruocwang/darts-pt``, ``nasbench201/projection.py`` and ``sota/cnn/projection.py``):

1. start from a supernet trained with DARTS (:func:`~zcpt_analysis.searches.darts.train_supernet`);
   for ``DARTS-PT (fix alpha)`` the supernet was trained with alpha frozen (DARTS-PT's ``blank``
   experiments: ``arch_update="fixed"``) and alpha stays frozen during fine-tuning too;
2. reset the weight optimiser to SGD at ``learning_rate / 10`` (momentum and weight decay as in
   training), keep the alpha optimiser;
3. for ``tune_epochs`` epochs: at every decision epoch, choose the next edge (``random``: uniform
   over the undecided edges; ``fixed``: canonical order), remove each of its ops in turn and
   measure the supernet's validation accuracy -- ``V(A - (e, o))``, BatchNorm in train mode, as
   ``infer(..., eval=False)`` -- and keep the op whose removal gives the **lowest** accuracy
   (``proj_crit="loss"``: the highest loss); then fine-tune one epoch (bilevel, alpha updated unless
   fixed);
4. in spaces with topology selection (DARTS cells), after all op decisions, for every node in turn
   repeatedly remove the incoming edge whose removal gives the *highest* accuracy until
   ``edges_per_node`` edges remain.

Schedules: NAS-Bench-201 (no topology step) has ``tune_epochs = proj_intv * (|E| - 1)`` with a
constant LR and decisions at epochs ``0, p, 2p, ...`` and at the last epoch (DARTS-PT:
``epoch % proj_intv == 0 or epoch == tune_epochs - 1``, i.e. 0, 5, 10, 15, 20, 24 for
``proj_intv=5``); DARTS cells have ``tune_epochs = proj_intv * (D - 1) + 1`` for ``D`` decisions
with the LR cosine-annealed from ``learning_rate / 10`` to ``learning_rate_min``. ``proj_intv=0``
makes all decisions back to back without fine-tuning.

In spaces with several cell types (DARTS: ``normal:`` and ``reduce:`` edges) every decision
epoch decides one edge (or node) of *each* cell type, as the reference does.

Deviation: all candidates of a decision are evaluated on the same fixed validation batches (the
reference re-iterates a shuffled, augmented loader per candidate).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import numpy as np
import torch
from pydantic import Field, model_validator


from ..options import Result, Settings, opt, plain
from ..supernet import Supernet
from ..runtime import derive_seed
from ..evaluation import BN_MODES, evaluate
from ..bench.benchmark import Benchmark
from .darts import DartsSettings, benchmark_summary
from .supernet_training import BilevelTrainer, DartsConfig, DartsRun, FixedBatches, SearchData

EDGE_DECISIONS: tuple[str, ...] = ("random", "fixed")
PROJ_CRITS: tuple[str, ...] = ("acc", "loss")


class DartsPTConfig(Settings):
    """Settings of the projection stage (defaults: DARTS-PT's ``darts-proj-201.sh``).

    ``finetune_lr=None`` means ``DartsConfig.learning_rate / 10``; ``eval_max_images`` caps the
    validation images of every perturbation evaluation (None: the whole validation half, as the
    reference); ``bn_mode`` is the BatchNorm mode of those evaluations (reference: ``train``).
    """

    proj_intv: int = opt(5, "--proj-intv", help="fine-tuning epochs between decisions (DARTS-PT: 5)", ge=0)
    edge_decision: Literal[EDGE_DECISIONS] = opt(  # type: ignore[valid-type]
        "random", "--edge-decision", help="order of the edge decisions")
    proj_crit: Literal[PROJ_CRITS] = opt(  # type: ignore[valid-type]
        "acc", "--proj-crit", help="keep the op whose removal lowers the validation accuracy most (acc) or raises "
        "the loss most (loss)")
    fix_alpha: bool = plain(False)
    finetune_lr: Optional[float] = plain(None)
    bn_mode: Literal[BN_MODES] = opt(  # type: ignore[valid-type]
        "train", "--bn-mode", help="BatchNorm mode of the perturbation evaluations (DARTS-PT: train)")
    eval_max_images: Optional[int] = plain(None)


class Decision(Result):
    """One projection decision: op selection on an edge, or topology selection on a node."""

    kind: str  # "op" or "edge"
    epoch: int
    target: str  # edge name, or node (topology group) name
    scores: dict[str, float]  # op -> V(A - (e, o)) [acc %]; or edge -> V(A without e)
    losses: dict[str, float]
    chosen: list[str]  # kept op, or kept edges
    seconds: float


@dataclass
class Projection:
    """Architecture selected by DARTS-PT's projection, its decisions and fine-tuning history."""

    arch: Any
    arch_json: Any
    decisions: list[Decision]
    config: DartsPTConfig
    darts_config: DartsConfig
    seed: int
    finetune_valid_acc: list[float] = field(default_factory=list)
    finetune_train_acc: list[float] = field(default_factory=list)
    benchmark: Benchmark = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"method": "darts-pt (fix alpha)" if self.config.fix_alpha else "darts-pt",
                "arch": self.arch_json, "seed": self.seed, "config": self.config.to_json(),
                "darts_config": self.darts_config.to_json(),
                "decisions": [d.to_json() for d in self.decisions],
                "finetune_valid_acc": self.finetune_valid_acc, "finetune_train_acc": self.finetune_train_acc,
                "benchmark": {d: r.to_json() for d, r in self.benchmark.items()}, "seconds": round(self.seconds, 3)}


def decision_schedule(num_decisions: int, proj_intv: int, topology: bool) -> tuple[list[int], int]:
    """(decision epochs, number of fine-tuning epochs) of DARTS-PT's projection stage."""
    d, p = num_decisions, proj_intv
    if d <= 0:
        return [], 0
    if p == 0:
        return [0] * d, 0
    if topology:
        return [i * p for i in range(d)], p * (d - 1) + 1
    epochs = [i * p for i in range(d - 1)]
    last = max(p * (d - 1) - 1, epochs[-1] + 1) if epochs else 0
    return epochs + [last], last + 1


def _cell_type(name: str) -> str:
    """The cell type of an edge or node name: the prefix before ``:`` (``normal``, ``reduce``), else ``""``."""
    return name.split(":", 1)[0] if ":" in name else ""


def cell_types(supernet: Supernet) -> list[str]:
    """Cell types of the supernet's edges in first-appearance order (``[""]`` for NAS-Bench-201)."""
    return list(dict.fromkeys(_cell_type(n) for n in supernet.edge_names))


def _score(model: Supernet, batches: FixedBatches, bn_mode: str) -> tuple[float, float]:
    res = evaluate(model, batches, bn_mode)
    return res.accuracy, res.loss


def _decide_op(model: Supernet, edge: int, batches: FixedBatches, cfg: DartsPTConfig, epoch: int) -> Decision:
    t0 = time.time()
    accs, losses = {}, {}
    for o in model.remaining_ops(edge):
        name = model.candidates[edge][o]
        with model.perturbed(edge, o):
            accs[name], losses[name] = _score(model, batches, cfg.bn_mode)
    if cfg.proj_crit == "acc":  # keep the op whose removal hurts most: lowest accuracy (first on ties)
        chosen = min(accs, key=accs.__getitem__)
    else:
        chosen = max(losses, key=losses.__getitem__)
    model.discretize(edge, chosen)
    return Decision(kind="op", epoch=epoch, target=model.edge_names[edge], scores=accs, losses=losses, chosen=[chosen],
                    seconds=time.time() - t0)


def _decide_topology(model: Supernet, node: str, edges: tuple[int, ...], batches: FixedBatches, cfg: DartsPTConfig,
                     epoch: int) -> Decision:
    t0 = time.time()
    live = [e for e in edges if not model.state[e].pruned]
    accs: dict[str, float] = {}
    losses: dict[str, float] = {}
    while len(live) > model.edges_per_node:
        round_acc, round_loss = {}, {}
        for e in live:
            with model.pruned(e):
                round_acc[e], round_loss[e] = _score(model, batches, cfg.bn_mode)
        # remove the least important edge: the highest accuracy (lowest loss) without it
        worst = max(live, key=round_acc.__getitem__) if cfg.proj_crit == "acc" else min(live, key=round_loss.__getitem__)
        accs.update({model.edge_names[e]: a for e, a in round_acc.items()})
        losses.update({model.edge_names[e]: v for e, v in round_loss.items()})
        model.prune_edge(worst)
        live.remove(worst)
    return Decision(kind="edge", epoch=epoch, target=node, scores=accs, losses=losses,
                    chosen=[model.edge_names[e] for e in live], seconds=time.time() - t0)


def run_darts_pt(trained: DartsRun | Supernet, data: SearchData, darts_config: DartsConfig = DartsConfig(),
                 config: DartsPTConfig = DartsPTConfig(), seed: int = 0, device: str | torch.device = "cpu",
                 bench: Any = None, space: Any = None, progress: bool = True) -> Projection:
    """DARTS-PT projection on a trained supernet (modified in place); returns the derived architecture.

    ``trained`` is a :class:`DartsRun` (its alpha optimiser state is continued) or a supernet.
    With ``config.fix_alpha`` alpha is not updated during fine-tuning. ``space`` (a registered
    :class:`~zcpt_analysis.spaces.SearchSpace`) serialises the architecture; NAS-Bench-201
    architectures are looked up in ``bench`` (default benchmark when available).
    """
    from tqdm.auto import tqdm

    t0 = time.time()
    supernet = trained.supernet if isinstance(trained, DartsRun) else trained
    finetune_lr = darts_config.learning_rate / 10 if config.finetune_lr is None else config.finetune_lr
    groups = supernet.topology_groups()
    types = cell_types(supernet)
    op_edges = {c: [e for e in supernet.undiscretized_edges() if _cell_type(supernet.edge_names[e]) == c] for c in types}
    node_groups = {c: [g for g in groups if _cell_type(g[0]) == c] for c in types}
    n_op = max((len(v) for v in op_edges.values()), default=0)
    n_topo = max((len(v) for v in node_groups.values()), default=0)
    decisions_todo: list[str] = ["op"] * n_op + ["edge"] * n_topo
    epochs, tune_epochs = decision_schedule(len(decisions_todo), config.proj_intv, bool(groups))
    arch_update = "fixed" if config.fix_alpha else darts_config.arch_update
    trainer = BilevelTrainer(supernet, data, darts_config, seed=derive_seed(seed, "darts-pt"), device=device,
                             lr=finetune_lr, lr_schedule="cosine" if groups else "constant",
                             total_epochs=max(tune_epochs, 1), arch_update=arch_update)
    if isinstance(trained, DartsRun) and trained.trainer is not None and trained.trainer.a_opt is not None \
            and trainer.a_opt is not None:
        trainer.a_opt.load_state_dict(trained.trainer.a_opt.state_dict())
    batches = FixedBatches(data.valid, darts_config.batch_size, seed=derive_seed(seed, "darts-pt-eval"),
                           augment=darts_config.augment, device=trainer.device,
                           max_images=config.eval_max_images if config.eval_max_images is not None
                           else darts_config.eval_max_images)
    rng = np.random.RandomState(derive_seed(seed, "edge-order"))
    result = Projection(None, None, [], config, darts_config, seed)

    def decide(epoch: int) -> None:
        kind = decisions_todo.pop(0)
        for c in types:  # one decision per cell type (normal and reduction cells), as DARTS-PT
            if kind == "op":
                remaining = [e for e in supernet.undiscretized_edges() if _cell_type(supernet.edge_names[e]) == c]
                if not remaining:
                    continue
                edge = int(rng.choice(remaining)) if config.edge_decision == "random" else remaining[0]
                result.decisions.append(_decide_op(supernet, edge, batches, config, epoch))
            else:
                todo = node_groups[c]
                if not todo:
                    continue
                pick = int(rng.randint(len(todo))) if config.edge_decision == "random" else 0
                name, edges = todo.pop(pick)
                result.decisions.append(_decide_topology(supernet, name, edges, batches, config, epoch))

    bar = tqdm(total=len(decisions_todo), desc="DARTS-PT decisions", disable=not progress)
    if tune_epochs == 0:
        while decisions_todo:
            decide(0)
            bar.update()
    for epoch in range(tune_epochs):
        while decisions_todo and epochs and epochs[0] == epoch:
            epochs.pop(0)
            decide(epoch)
            bar.update()
        train_acc, _ = trainer.train_epoch(progress=progress, desc=f"fine-tune {epoch + 1}/{tune_epochs}")
        result.finetune_train_acc.append(train_acc)
        result.finetune_valid_acc.append(evaluate(supernet, batches, "eval").accuracy)
    while decisions_todo:  # not reached with a consistent schedule; kept for safety
        decide(tune_epochs)
        bar.update()
    bar.close()
    arch = supernet.derive()
    result.arch = arch
    result.arch_json = space.to_json(arch) if space is not None else str(arch)
    from ..spaces.nb201 import Arch as NB201Arch

    if isinstance(arch, NB201Arch):
        result.benchmark = benchmark_summary(arch, bench)
    result.seconds = time.time() - t0
    return result


class DartsPTSettings(DartsSettings):
    """DARTS-PT: perturbation-based selection with fine-tuning on a DARTS-trained supernet;
    ``fix_alpha`` trains and fine-tunes with alpha frozen ("DARTS-PT (fix alpha)": the supernet is
    trained with ``darts.arch_update="fixed"`` and ``pt.fix_alpha`` follows ``fix_alpha``)."""

    fix_alpha: bool = opt(False, "--fix-alpha", help="alpha frozen in training and fine-tuning")
    pt: DartsPTConfig = Field(default_factory=DartsPTConfig)

    @model_validator(mode="before")
    @classmethod
    def _alpha_fixed_everywhere(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fix = bool(data.get("fix_alpha", False))
        darts, pt = data.get("darts", {}), data.get("pt", {})
        darts = darts.model_dump() if isinstance(darts, DartsConfig) else dict(darts)
        pt = pt.model_dump() if isinstance(pt, DartsPTConfig) else dict(pt)
        if fix:
            darts["arch_update"] = "fixed"
        pt["fix_alpha"] = fix
        return {**data, "darts": darts, "pt": pt}


class DartsPTResult(Result):
    """DARTS-PT: the projected architecture (JSON form), its benchmark results (NAS-Bench-201 only),
    every decision and the fine-tuning accuracies (%) after each fine-tuning epoch."""

    arch: Any = None
    benchmark: Benchmark = Field(default_factory=dict)
    decisions: list[Decision] = Field(default_factory=list)
    finetune_valid_acc: list[float] = Field(default_factory=list)
    finetune_train_acc: list[float] = Field(default_factory=list)
    timing: dict[str, float] = Field(default_factory=dict)


def run_darts_pt_settings(settings: DartsPTSettings, out_dir: Any = None, progress: bool = False,
                          force: bool = False, bench: Any = None, images: Any = None) -> DartsPTResult:
    """DARTS-PT of ``settings``: train (or resume, checkpoints in ``out_dir``) its supernet, then
    project with fine-tuning."""
    from ..spaces import get_space
    from .darts import _bench_of, trained_supernet_of

    space = get_space(settings.space)
    run, data, device = trained_supernet_of(settings, out_dir, progress, force, images)
    if bench is None and space.has_benchmark:
        bench = _bench_of(settings)
    projection = run_darts_pt(run, data, settings.darts, settings.pt, seed=settings.seed, device=device, bench=bench,
                              space=space, progress=progress)
    return DartsPTResult(arch=projection.arch_json, benchmark=projection.benchmark, decisions=projection.decisions,
                         finetune_valid_acc=projection.finetune_valid_acc,
                         finetune_train_acc=projection.finetune_train_acc,
                         timing={"training": round(run.seconds, 3), "projection": round(projection.seconds, 3)})
