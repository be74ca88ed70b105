"""DARTS (Table 4): train a supernet with bilevel optimisation (:mod:`.supernet_training`) and
derive its architecture from alpha (:func:`argmax_architecture`); :func:`run_darts` is one run of
:class:`DartsSettings`, checkpointed and resumable."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from pydantic import Field, model_validator

from ..bench.benchmark import Benchmark, BenchField
from ..data import DataFields, ImageSet
from ..errors import ZcptError
from ..options import Result, Seed, opt
from ..setting_checks import SpaceName, check_dataset, check_run_options
from ..supernet import Supernet
from .supernet_training import DartsConfig, DartsRun, SearchData, train_supernet


# ------------------------------------------------------------------------------------ derivation
def argmax_architecture(supernet: Supernet, alpha: Optional[torch.Tensor] = None):
    """The architecture DARTS derives from ``alpha`` (default: the supernet's own).

    Every undiscretized edge takes its remaining op with the largest alpha. In spaces with topology
    selection (DARTS cells) ``none`` is excluded and each node keeps the ``edges_per_node`` incoming
    edges whose best non-``none`` weight ``softmax(alpha)`` is largest (DARTS' genotype rule); in
    NAS-Bench-201 the plain argmax over all ops, ``none`` included, is taken (as DARTS-PT's
    ``genotype()``). The supernet's edge state is restored afterwards.
    """
    weights = torch.softmax((supernet.alpha if alpha is None else alpha).detach().cpu().float(), dim=-1)
    groups = supernet.topology_groups()
    exclude_none = bool(groups)
    saved = supernet.arch_state_dict()
    try:
        best: dict[int, tuple[int, float]] = {}
        for e in supernet.undiscretized_edges():
            ops = [o for o in supernet.remaining_ops(e)
                   if not (exclude_none and supernet.candidates[e][o] == "none")] or supernet.remaining_ops(e)
            o = max(ops, key=lambda i: float(weights[e, i]))
            best[e] = (o, float(weights[e, o]))
        for e, (o, _) in best.items():
            supernet.discretize(e, o)
        for _, edges in groups:
            live = [e for e in edges if not supernet.state[e].pruned]
            keep = sorted(live, key=lambda e: -best.get(e, (0, 1.0))[1])[: supernet.edges_per_node]
            for e in live:
                if e not in keep:
                    supernet.prune_edge(e)
        return supernet.derive()
    finally:
        supernet.load_arch_state_dict(saved)


def benchmark_summary(arch: Any, bench: Any = None, datasets: Sequence[str] = ("cifar10", "cifar100",
                                                                             "ImageNet16-120")) -> Benchmark:
    """NAS-Bench-201 test accuracies of ``arch`` (200 epochs; per trial and seed-mean), rank and error
    per dataset, for the datasets the benchmark has; ``{}`` if no benchmark is available."""
    if bench is None:
        try:
            from ..bench import load_benchmark
            bench = load_benchmark()
        except ZcptError:
            return {}
    return bench.summary(arch, tuple(datasets))


# ------------------------------------------------------------------------------------ one DARTS run
class DartsSettings(BenchField, DataFields):
    """A DARTS-trained supernet: the space, seed, shape, data and training hyper-parameters."""

    space: SpaceName = opt("nb201", "--space", help="search space")
    seed: Seed = opt(0, "--seed", help="seed of the supernet weights, alpha and data order")
    darts: DartsConfig = Field(default_factory=DartsConfig)
    supernet_options: dict[str, Any] = opt(None, "--supernet-option", factory=dict,
                                           help="supernet shape, e.g. C=8 or N=1 (default: the paper's, C=16 N=5 "
                                                "for nb201)")

    @model_validator(mode="after")
    def _check_with_space(self) -> "DartsSettings":
        check_dataset(self.space, self.dataset)
        check_run_options(self.space, supernet_options=self.supernet_options)
        return self


class DartsResult(Result):
    """DARTS on a space: the argmax-alpha architecture of the trained supernet (JSON form), its
    benchmark results (NAS-Bench-201 only), the last validation accuracy (%) and the epochs done."""

    arch: Any = None
    benchmark: Benchmark = Field(default_factory=dict)
    final_valid_acc: Optional[float] = None
    epochs_done: int = 0
    timing: dict[str, float] = Field(default_factory=dict)


def trained_supernet_of(settings: DartsSettings, out_dir: Optional[Path] = None, progress: bool = False,
                        force: bool = False, images: Optional[ImageSet] = None
                        ) -> tuple[DartsRun, SearchData, torch.device]:
    """The DARTS-trained supernet of ``settings``: trained (or resumed) with its checkpoints in
    ``out_dir`` (None: in memory); ``force`` retrains from scratch."""
    from ..runtime import resolve_device
    from ..spaces import get_space

    space = get_space(settings.space)
    device = resolve_device(settings.device)
    images = images if images is not None else settings.load_images()
    data = SearchData.from_images(images, settings.darts.train_portion)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        supernet = space.supernet(num_classes=images.num_classes, seed=settings.seed, **settings.supernet_options)
    run = train_supernet(supernet, data, settings.darts, seed=settings.seed, device=device, out_dir=out_dir,
                         resume=not force, progress=progress)
    return run, data, device


def run_darts(settings: DartsSettings, out_dir: Optional[Path] = None, progress: bool = False, force: bool = False,
              bench: Any = None, images: Optional[ImageSet] = None) -> DartsResult:
    """DARTS (Table 4): train the supernet of ``settings`` (checkpointed in ``out_dir``) and derive
    its argmax-alpha architecture, looked up in ``bench`` (NAS-Bench-201)."""
    from ..spaces import get_space
    from ..spaces.nb201 import Arch

    space = get_space(settings.space)
    run, _, _ = trained_supernet_of(settings, out_dir, progress, force, images)
    arch = argmax_architecture(run.supernet)
    result = DartsResult(arch=space.to_json(arch), final_valid_acc=run.valid_acc[-1] if run.valid_acc else None,
                         epochs_done=run.epochs_done, timing={"training": round(run.seconds, 3)})
    if isinstance(arch, Arch):
        result.benchmark = benchmark_summary(arch, bench if bench is not None else _bench_of(settings))
    return result


def _bench_of(settings: BenchField) -> Any:
    try:
        return settings.load_bench()
    except ZcptError:
        return None
