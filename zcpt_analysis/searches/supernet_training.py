"""DARTS supernet training: bilevel optimisation of the weights ``w`` and the architecture ``alpha``.

Works for any :class:`~zcpt_analysis.supernet.Supernet` (NAS-Bench-201 now, the DARTS spaces once
they are registered): the weights are ``supernet.parameters()``, ``alpha`` is the supernet's
non-persistent buffer made to require gradients (the mixed ops use ``softmax(alpha)`` at every
forward, so optimising the buffer is optimising the architecture).

Defaults are DARTS-PT's NAS-Bench-201 search settings (``ruocwang/darts-pt``,
``nasbench201/train_search.py`` with ``exp_scripts/darts-201.sh``):

=====================  ==========================================================
epochs                 100 (``darts-proj-201.sh`` resumes the supernet of epoch 100)
weights                SGD, lr 0.025 cosine-annealed per epoch to 0.001, momentum 0.9,
                       weight decay 3e-4, gradient-norm clip 5 (weights only)
architecture           Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3
batch size             64 (both the weight and the alpha minibatches)
data                   the training set split in two halves (``train_portion`` 0.5): the
                       first half updates the weights, the second updates alpha and is the
                       validation set; both use the training augmentation (random crop,
                       flip), as DARTS-PT's loaders do
step                   alpha step on a validation minibatch first, then a weight step on a
                       training minibatch; every step draws fresh random minibatches and an
                       epoch has ``ceil(n_train / batch_size)`` steps (DARTS-PT calls
                       ``next(iter(queue))`` per step)
arch update            ``first-order`` (DARTS-PT's ``darts``), ``second-order`` (DARTS'
                       unrolled gradient with the finite-difference Hessian-vector product)
                       or ``fixed`` (DARTS-PT's ``blank``: alpha is never updated, "fix alpha")
=====================  ==========================================================

Training is checkpointed atomically (``checkpoint.pt`` in ``out_dir``, every ``ckpt_interval``
epochs) and resumes from it; alpha is recorded after every epoch (``DartsRun.alpha_history``).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data import ImageSet, MinibatchSampler, augment as _augment, search_split, to_device
from ..errors import StateError, UnknownNameError, ZcptError
from ..evaluation import evaluate
from ..files import atomic_torch_save, atomic_write_json, load_checkpoint
from ..options import Settings, opt, plain
from ..runtime import derive_seed
from ..supernet import Supernet

ARCH_UPDATES: tuple[str, ...] = ("first-order", "second-order", "fixed")
CHECKPOINT_FILE = "checkpoint.pt"
RUN_FILE = "run.json"


# ------------------------------------------------------------------------------------ config
class DartsConfig(Settings):
    """Hyper-parameters of supernet training (defaults: DARTS-PT on NAS-Bench-201, see module doc).

    ``steps_per_epoch=None`` means ``ceil(len(train half) / batch_size)``; ``eval_every`` evaluates
    the validation accuracy every that many epochs (0: only at the end); ``eval_max_images`` caps
    the number of validation images used by every evaluation (None: all).
    """

    epochs: int = opt(100, "--epochs", help="supernet training epochs (DARTS-PT: 100)", ge=0)
    batch_size: int = opt(64, "--batch-size", help="training / validation minibatch (DARTS-PT: 64)", ge=1)
    learning_rate: float = opt(0.025, "--learning-rate", help="initial weight learning rate (cosine-annealed)")
    learning_rate_min: float = plain(0.001)
    momentum: float = plain(0.9)
    weight_decay: float = plain(3e-4)
    grad_clip: float = plain(5.0)
    arch_learning_rate: float = plain(3e-4)
    arch_beta1: float = plain(0.5)
    arch_beta2: float = plain(0.999)
    arch_weight_decay: float = plain(1e-3)
    train_portion: float = opt(0.5, "--train-portion", gt=0, lt=1,
                               help="share of the training images that trains the weights (the rest trains alpha "
                                    "and is the validation set)")
    arch_update: Literal[ARCH_UPDATES] = opt(  # type: ignore[valid-type]
        "first-order", "--arch-update",
        help="alpha update: first-order DARTS (DARTS-PT), second-order, or fixed (DARTS-PT's 'blank')")
    steps_per_epoch: Optional[int] = opt(None, "--steps-per-epoch", ge=1,
                                         help="cap the steps of an epoch (default: one pass over the training half)")
    augment: bool = plain(True)
    eval_every: int = plain(1, identity=False)
    eval_max_images: Optional[int] = opt(None, "--eval-max-images",
                                         help="cap the validation images of every evaluation (default: all)")
    ckpt_interval: int = plain(1, identity=False, ge=1)


# ------------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class SearchData:
    """The two halves of the search-time training set: ``train`` (weights) and ``valid`` (alpha,
    validation accuracy), as DARTS-PT splits the CIFAR training set."""

    train: ImageSet
    valid: ImageSet

    @classmethod
    def from_images(cls, images: ImageSet, train_portion: float = 0.5) -> "SearchData":
        train, valid = search_split(images, train_portion)
        if len(train) == 0 or len(valid) == 0:
            raise ZcptError(f"cannot split {len(images)} images with train_portion={train_portion}: both halves "
                            "must be non-empty")
        return cls(train, valid)

    @property
    def source(self) -> str:
        return self.train.source or self.train.name


class FixedBatches:
    """Deterministic minibatches over (a seeded permutation of) an :class:`ImageSet`.

    Every iteration yields the same batches (same images, same augmentation), so all candidates of
    one decision are evaluated on identical data. ``augment=True`` applies the training
    augmentation, as DARTS-PT's validation queue (built on the augmented training set) does.
    """

    def __init__(self, images: ImageSet, batch_size: int, seed: int = 0, augment: bool = True,
                 device: str | torch.device = "cpu", max_images: Optional[int] = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        n = len(images) if max_images is None else min(int(max_images), len(images))
        if n < 1:
            raise ZcptError(f"no images to evaluate on ({images.source or images.name})")
        self.images, self.batch_size, self.seed = images, batch_size, int(seed)
        self.augment, self.device, self.n = augment, torch.device(device), n

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(self.images), generator=gen)[: self.n]
        for start in range(0, self.n, self.batch_size):
            idx = order[start:start + self.batch_size]
            x = self.images.images[idx]
            if self.augment and self.images.crop_padding > 0:
                x = _augment(x, self.images.crop_padding, gen)
            yield to_device(self.images.normalize(x), self.device), to_device(self.images.labels[idx], self.device)


# ------------------------------------------------------------------------------------ trainer
class BilevelTrainer:
    """One DARTS optimisation state: model, weight SGD, alpha Adam, LR schedule and data samplers.

    ``lr_schedule="cosine"`` anneals the weight LR from ``lr`` to ``config.learning_rate_min`` over
    ``total_epochs`` (supernet training); ``"constant"`` keeps ``lr`` (DARTS-PT's NAS-Bench-201
    fine-tuning between projections, at ``learning_rate / 10``).
    """

    def __init__(self, supernet: Supernet, data: SearchData, config: DartsConfig, seed: int = 0,
                 device: str | torch.device = "cpu", lr: Optional[float] = None, lr_schedule: str = "cosine",
                 total_epochs: Optional[int] = None, arch_update: Optional[str] = None):
        self.config = config
        self.arch_update = arch_update or config.arch_update
        if self.arch_update not in ARCH_UPDATES:
            raise UnknownNameError("arch update", self.arch_update, ARCH_UPDATES)
        if lr_schedule not in ("cosine", "constant"):
            raise UnknownNameError("LR schedule", lr_schedule, ("cosine", "constant"))
        self.device = torch.device(device)
        self.model = supernet.to(self.device)
        self.data = data
        self.alpha = self.model.alpha
        self.alpha.requires_grad_(self.arch_update != "fixed")
        self.weights = [p for p in self.model.parameters()]
        base_lr = config.learning_rate if lr is None else float(lr)
        self.w_opt = torch.optim.SGD(self.weights, base_lr, momentum=config.momentum,
                                     weight_decay=config.weight_decay)
        self.a_opt = None
        if self.arch_update != "fixed":
            self.a_opt = torch.optim.Adam([self.alpha], lr=config.arch_learning_rate,
                                          betas=(config.arch_beta1, config.arch_beta2),
                                          weight_decay=config.arch_weight_decay)
        self.scheduler = None
        if lr_schedule == "cosine":
            t_max = max(int(total_epochs if total_epochs is not None else config.epochs), 1)
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, float(t_max),
                                                                        eta_min=config.learning_rate_min)
        bs = config.batch_size
        for name, part in (("train", data.train), ("valid", data.valid)):
            if bs > len(part):
                raise ZcptError(f"batch size {bs} exceeds the {len(part)} images of the search {name} half "
                                f"({part.source or part.name}); use a smaller --batch-size or more data")
        self.train_sampler = MinibatchSampler(data.train, bs, seed=derive_seed(seed, "train"),
                                              augment=config.augment, device=self.device)
        self.valid_sampler = MinibatchSampler(data.valid, bs, seed=derive_seed(seed, "valid"),
                                              augment=config.augment, device=self.device)
        self.epoch = 0

    # -- properties
    @property
    def lr(self) -> float:
        return float(self.w_opt.param_groups[0]["lr"])

    @property
    def steps_per_epoch(self) -> int:
        if self.config.steps_per_epoch is not None:
            return self.config.steps_per_epoch
        return math.ceil(len(self.data.train) / self.config.batch_size)

    # -- one step
    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x)
        return F.cross_entropy(logits, y), logits

    def _alpha_step(self, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor) -> None:
        assert self.a_opt is not None
        self.a_opt.zero_grad(set_to_none=True)
        if self.arch_update == "first-order":
            loss, _ = self._loss(xv, yv)
            (grad,) = torch.autograd.grad(loss, [self.alpha], allow_unused=True)
            if grad is None:  # every edge discretized: alpha no longer enters the forward pass
                grad = torch.zeros_like(self.alpha)
        else:
            grad = self._unrolled_alpha_grad(x, y, xv, yv)
        self.alpha.grad = grad
        self.a_opt.step()

    def _unrolled_alpha_grad(self, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor,
                             yv: torch.Tensor) -> torch.Tensor:
        """DARTS' second-order alpha gradient: ``d/dalpha L_val(w - eta * dL_train/dw, alpha)``.

        The virtual step uses the current LR, momentum buffer and weight decay (as DARTS'
        ``_compute_unrolled_model``); the Hessian-vector product is the central finite difference
        with ``eps = 0.01 / ||dL_val/dw'||``.
        """
        eta, cfg = self.lr, self.config
        params = self.weights

        def grads(loss: torch.Tensor, wrt: list[torch.Tensor]) -> list[torch.Tensor]:
            gs = torch.autograd.grad(loss, wrt, allow_unused=True)
            return [torch.zeros_like(w) if g is None else g for g, w in zip(gs, wrt)]

        backup = [p.detach().clone() for p in params]
        g_train = grads(self._loss(x, y)[0], params)
        with torch.no_grad():
            for p, g in zip(params, g_train):
                buf = self.w_opt.state.get(p, {}).get("momentum_buffer")
                moment = cfg.momentum * buf if buf is not None else 0.0
                p.sub_(eta * (moment + g + cfg.weight_decay * p))
        val_grads = grads(self._loss(xv, yv)[0], [self.alpha] + params)
        d_alpha, d_w = val_grads[0], val_grads[1:]
        norm = torch.sqrt(sum((g * g).sum() for g in d_w))
        eps = 0.01 / max(float(norm), 1e-12)
        with torch.no_grad():
            for p, b, g in zip(params, backup, d_w):
                p.copy_(b + eps * g)
        g_pos = grads(self._loss(x, y)[0], [self.alpha])[0]
        with torch.no_grad():
            for p, b, g in zip(params, backup, d_w):
                p.copy_(b - eps * g)
        g_neg = grads(self._loss(x, y)[0], [self.alpha])[0]
        with torch.no_grad():
            for p, b in zip(params, backup):
                p.copy_(b)
        return (d_alpha - eta * (g_pos - g_neg) / (2 * eps)).detach()

    def step(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """One bilevel step; returns (training loss, correct, batch size) of the weight step, the first
        two as tensors on the device (no host synchronisation per step)."""
        self.model.train()
        x, y = self.train_sampler.sample()
        if self.a_opt is not None:
            xv, yv = self.valid_sampler.sample()
            self._alpha_step(x, y, xv, yv)
        self.w_opt.zero_grad(set_to_none=True)
        loss, logits = self._loss(x, y)
        loss.backward()
        self.alpha.grad = None
        nn.utils.clip_grad_norm_(self.weights, self.config.grad_clip)
        self.w_opt.step()
        return loss.detach(), (logits.detach().argmax(1) == y).sum(), int(y.numel())

    def train_epoch(self, steps: Optional[int] = None, progress: bool = False, desc: str = "") -> tuple[float, float]:
        """``steps`` bilevel steps (default: one epoch); returns (train accuracy %, mean loss)."""
        from tqdm.auto import tqdm

        n_steps = self.steps_per_epoch if steps is None else steps
        total = 0
        # accumulated on the device in float64: the same roundings as Python floats, one sync per epoch
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        for _ in tqdm(range(n_steps), desc=desc or f"epoch {self.epoch + 1}", leave=False, disable=not progress):
            loss, c, n = self.step()
            loss_sum += loss.double() * n
            correct += c
            total += n
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        return (100.0 * int(correct) / max(total, 1), float(loss_sum) / max(total, 1))

    # -- persistence
    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "arch": self.model.arch_state_dict(),
            "w_opt": self.w_opt.state_dict(),
            "a_opt": None if self.a_opt is None else self.a_opt.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "train_rng": self.train_sampler.generator.get_state(),
            "valid_rng": self.valid_sampler.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.model.load_arch_state_dict(state["arch"])
        self.w_opt.load_state_dict(state["w_opt"])
        if self.a_opt is not None and state.get("a_opt") is not None:
            self.a_opt.load_state_dict(state["a_opt"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.train_sampler.generator.set_state(state["train_rng"])
        self.valid_sampler.generator.set_state(state["valid_rng"])
        self.epoch = int(state["epoch"])


# ------------------------------------------------------------------------------------ results
@dataclass
class DartsRun:
    """A trained supernet with its history.

    ``alpha_history[k]`` is the raw alpha after ``k + 1`` epochs; ``alpha_init`` before training.
    Accuracies are in %; ``valid_acc[k]`` is None for epochs without evaluation.
    """

    config: DartsConfig
    seed: int
    supernet: Supernet
    alpha_init: torch.Tensor
    alpha_history: list[torch.Tensor] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_acc: list[Optional[float]] = field(default_factory=list)
    valid_loss: list[Optional[float]] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    data_source: str = ""
    trainer: Optional[BilevelTrainer] = field(default=None, repr=False)

    @property
    def epochs_done(self) -> int:
        return len(self.alpha_history)

    def alpha_at(self, epoch: Optional[int] = None) -> torch.Tensor:
        """Raw alpha after ``epoch`` epochs (None: the last one; 0: the initial draw)."""
        if epoch is None:
            return self.alpha_history[-1] if self.alpha_history else self.alpha_init
        if epoch == 0:
            return self.alpha_init
        if not 1 <= epoch <= len(self.alpha_history):
            raise ZcptError(f"no alpha after {epoch} epochs: this run has {len(self.alpha_history)} epochs "
                            f"(config.epochs={self.config.epochs})")
        return self.alpha_history[epoch - 1]

    def to_json(self) -> dict:
        net = self.supernet
        return {
            "config": self.config.to_json(), "seed": self.seed, "data_source": self.data_source,
            "edges": list(net.edge_names), "ops": [list(c) for c in net.candidates],
            "alpha_init": self.alpha_init.tolist(),
            "alpha_history": [a.tolist() for a in self.alpha_history],
            "train_acc": self.train_acc, "train_loss": self.train_loss, "valid_acc": self.valid_acc,
            "valid_loss": self.valid_loss, "lr": self.lr, "seconds": round(self.seconds, 3),
        }


def config_key(obj: Any) -> str:
    """Stable hash of a JSON-able object (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _supernet_signature(supernet: Supernet) -> dict:
    return {"class": type(supernet).__name__, "edges": list(supernet.edge_names),
            "ops": [list(c) for c in supernet.candidates],
            "params": int(sum(p.numel() for p in supernet.parameters()))}


def train_supernet(supernet: Supernet, data: SearchData, config: DartsConfig = DartsConfig(), seed: int = 0,
                   device: str | torch.device = "cpu", out_dir: str | Path | None = None, resume: bool = True,
                   progress: bool = True, eval_seed: Optional[int] = None,
                   stop_after_epochs: Optional[int] = None) -> DartsRun:
    """Train ``supernet`` (weights and alpha) with DARTS' bilevel optimisation; returns a :class:`DartsRun`.

    With ``out_dir``, a checkpoint is written atomically every ``config.ckpt_interval`` epochs and
    at the end, and ``run.json`` (the history) at the end; with ``resume=True`` an existing
    checkpoint of the *same* configuration (config, seed, supernet shape, data) is continued, one
    of another configuration is an error. Global RNGs are not used: data order, augmentation and
    validation batches come from generators derived from ``seed``, so an interrupted and resumed run
    ends exactly where an uninterrupted one does. ``stop_after_epochs`` trains at most that many
    epochs in this call (time-sliced jobs; resume later with the same ``out_dir``).
    """
    t0 = time.time()
    trainer = BilevelTrainer(supernet, data, config, seed=seed, device=device)
    alpha_init = supernet.alpha.detach().cpu().clone()
    run = DartsRun(config, seed, supernet, alpha_init, data_source=data.source, trainer=trainer)
    valid_batches = FixedBatches(data.valid, config.batch_size, seed=derive_seed(seed, "eval") if eval_seed is None
                                 else eval_seed, augment=config.augment, device=trainer.device,
                                 max_images=config.eval_max_images)
    signature = {"config": config.to_json(), "seed": seed, "supernet": _supernet_signature(supernet),
                 "data": [data.train.source, len(data.train), data.valid.source, len(data.valid)]}
    key = config_key(signature)
    ckpt = Path(out_dir) / CHECKPOINT_FILE if out_dir is not None else None
    if ckpt is not None and resume and ckpt.exists():
        state = load_checkpoint(ckpt, "move it aside (or rerun with --force) to train again",
                                map_location=trainer.device, weights_only=True)
        if state.get("key") != key:
            raise StateError(f"checkpoint {ckpt} belongs to another configuration (key {state.get('key')} != {key}); "
                             "use another output folder or resume=False to start over")
        trainer.load_state_dict(state["trainer"])
        hist = state["history"]
        run.alpha_init = hist["alpha_init"]
        run.alpha_history = list(hist["alpha_history"])
        for name in ("train_acc", "train_loss", "valid_acc", "valid_loss", "lr"):
            setattr(run, name, list(hist[name]))
        run.seconds = float(hist["seconds"])

    def save() -> None:
        if ckpt is None:
            return
        hist = {"alpha_init": run.alpha_init, "alpha_history": run.alpha_history, "train_acc": run.train_acc,
                "train_loss": run.train_loss, "valid_acc": run.valid_acc, "valid_loss": run.valid_loss,
                "lr": run.lr, "seconds": run.seconds + (time.time() - t0)}
        atomic_torch_save({"key": key, "signature": signature, "trainer": trainer.state_dict(), "history": hist}, ckpt)

    from tqdm.auto import tqdm

    start = trainer.epoch
    stop = config.epochs if stop_after_epochs is None else min(config.epochs, start + int(stop_after_epochs))
    bar = tqdm(range(start, stop), desc="DARTS supernet", disable=not progress, initial=start,
               total=config.epochs)
    for epoch in bar:
        lr = trainer.lr
        train_acc, train_loss = trainer.train_epoch(progress=progress)
        last = epoch + 1 == config.epochs
        if (config.eval_every and (epoch + 1) % config.eval_every == 0) or last:
            res = evaluate(trainer.model, valid_batches, "eval")
            v_acc, v_loss = res.accuracy, res.loss
        else:
            v_acc = v_loss = None
        run.alpha_history.append(trainer.alpha.detach().cpu().clone())
        run.train_acc.append(train_acc)
        run.train_loss.append(train_loss)
        run.valid_acc.append(v_acc)
        run.valid_loss.append(v_loss)
        run.lr.append(lr)
        bar.set_postfix(train=f"{train_acc:.1f}", valid="-" if v_acc is None else f"{v_acc:.1f}")
        if (epoch + 1) % config.ckpt_interval == 0 or last or epoch + 1 == stop:
            save()
    run.seconds += time.time() - t0
    if out_dir is not None:
        if not ckpt.exists():  # a zero-epoch call
            save()
        atomic_write_json(Path(out_dir) / RUN_FILE, run.to_json())
    return run


def copy_supernet(supernet: Supernet) -> Supernet:
    """A deep copy (weights, alpha, edge state) detached from any optimiser."""
    was = supernet.alpha.requires_grad
    supernet.alpha.requires_grad_(False)
    try:
        twin = copy.deepcopy(supernet)
    finally:
        supernet.alpha.requires_grad_(was)
    return twin
