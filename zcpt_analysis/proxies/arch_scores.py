"""Score one NAS-Bench-201 architecture with zero-cost proxies: what ``zcpt proxies score`` prints
and ``zcpt_analysis.score_arch`` returns.

The network is the standalone NAS-Bench-201 network of the architecture (C=16, N=5, weights from
``seed``), scored on one seeded minibatch (distinct images, the paper's augmentation unless
``augment=False``). Every proxy is signed so that higher is better.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

import torch

from ..bench.benchmark import is_index
from ..checks import Range, check_range
from ..errors import ZcptError
from ..options import MAX_SEED
from .registry import CALLER_SET, check_batch_size, check_options, get_proxy, option_names, proxy_names

RESERVED_OPTIONS: frozenset[str] = frozenset({"net", "inputs", "targets", "loss_fn", "device"})
"""Proxy parameters a caller cannot set as options (the scorer fixes them)."""


@dataclass(frozen=True)
class ProxyScore:
    proxy: str
    score: float
    seconds: float


@dataclass
class ArchScores:
    """The scores of one architecture, with everything that determined them."""

    arch: str
    dataset: str
    num_classes: int
    data: str
    batch_size: int
    seed: int
    augment: bool
    device: str
    options: dict[str, Any]
    scores: list[ProxyScore] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _accepts(fn: Any, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def score_arch_table(arch: Any, proxies: Sequence[str] = ("nwot",), dataset: str = "cifar10", batch_size: int = 64,
                     seed: int = 0, data_source: str = "auto", data_root: Optional[str] = None, device: str = "auto",
                     augment: bool = True, options: Optional[dict[str, Any]] = None, bench: Any = None) -> ArchScores:
    """Every proxy in ``proxies`` (``"all"`` = every registered one but the set-relative ensemble) on ``arch`` (an arch string or
    a benchmark index). ``options`` go to each selected proxy that accepts them; an option no
    selected proxy accepts is an error."""
    from ..data import MinibatchSampler, load_images
    from ..errors import InvalidArchError, short_repr
    from ..runtime import resolve_device
    from ..spaces import get_space
    from ..spaces.nb201 import Arch

    if isinstance(arch, bool) or not isinstance(arch, (int, str, Arch)):
        raise InvalidArchError(f"arch must be a NAS-Bench-201 architecture string (|op~0|+|op~0|op~1|+...) or a "
                               f"benchmark index (0..15624), got {type(arch).__name__} {short_repr(arch)}")
    if isinstance(proxies, str) or not all(isinstance(p, str) for p in proxies):
        raise ZcptError(f"proxies must be a list of proxy names, got {short_repr(proxies)}")
    names = list(proxies)
    if any(str(n).strip().lower() == "all" for n in names):  # 'all': every proxy that scores one network alone
        names = [n for n in proxy_names() if not get_proxy(n).relative]
    else:
        names = [get_proxy(n).name for n in names]
    specs = [get_proxy(n) for n in dict.fromkeys(names)]
    relative = [s.name for s in specs if s.relative]
    if relative:
        raise ZcptError(f"{', '.join(relative)} ranks networks against each other; one architecture has no rank. "
                        "Score its components instead (e.g. --proxy nwot --proxy synflow)")
    options = dict(options or {})
    bad = sorted(k for k in options if k in RESERVED_OPTIONS)
    if bad:
        raise ZcptError(f"option(s) {', '.join(bad)} cannot be set as proxy options (use --device; the rest is fixed)")
    unused = [k for k in options if not any(_accepts(s.fn, k) for s in specs)]
    if unused:
        valid = sorted({k for s in specs for k in option_names(s.name, CALLER_SET + ("device",))})
        raise ZcptError(f"no selected proxy accepts option(s) {', '.join(unused)} (proxies: "
                        f"{', '.join(s.name for s in specs)}; valid options: {', '.join(valid) or 'none'})")
    for spec in specs:  # types and ranges of the options each proxy takes
        check_options(spec.name, {k: v for k, v in options.items() if _accepts(spec.fn, k)})
    check_range("batch_size", batch_size, Range(1), integer=True)
    check_range("seed", seed, Range(0, MAX_SEED), integer=True)
    for spec in specs:
        check_batch_size(spec.name, batch_size)
    dev = resolve_device(device)
    space = get_space("nb201")
    if isinstance(arch, int) or is_index(str(arch)):
        from ..bench import load_benchmark

        parsed = (bench if bench is not None else load_benchmark()).resolve(arch)
    else:
        parsed = space.parse(str(arch).strip())
    images = load_images(dataset, data_source, data_root)
    inputs, targets = MinibatchSampler(images, batch_size, seed=seed, augment=augment, device=dev).sample()
    net = space.network(parsed, num_classes=images.num_classes, seed=seed).to(dev)
    result = ArchScores(parsed.to_string(), images.name, images.num_classes, images.source, batch_size, seed, augment,
                        str(dev), options)
    for spec in specs:
        start = time.perf_counter()
        value = spec.fn(net, inputs, targets, loss_fn=None, device=dev,
                        **{k: v for k, v in options.items() if _accepts(spec.fn, k)})
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        result.scores.append(ProxyScore(spec.name, float(value), time.perf_counter() - start))
    return result


def score_arch(arch: Any, proxy: str = "nwot", dataset: str = "cifar10", batch_size: int = 64, seed: int = 0,
               data_source: str = "auto", data_root: Optional[str] = None, device: str = "auto", augment: bool = True,
               **options: Any) -> float:
    """The score of ``proxy`` (higher is better) for NAS-Bench-201 architecture ``arch`` (an arch
    string or an index): its standalone network (C=16, N=5, weights from ``seed``) on one seeded
    minibatch of ``batch_size`` images -- exactly what ``zcpt proxies score`` prints."""
    if not isinstance(proxy, str):
        raise ZcptError(f"proxy must be a proxy name (e.g. 'nwot'), got {type(proxy).__name__} {proxy!r:.80}")
    table = score_arch_table(arch, [proxy], dataset, batch_size, seed, data_source, data_root, device, augment, options)
    return table.scores[0].score
