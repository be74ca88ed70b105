"""What every search space provides to searches, scoring and notebooks (one registry entry each)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from torch import nn

from ..registry import Registry
from ..supernet import Supernet


@dataclass(frozen=True)
class SearchSpace:
    """A named search space.

    * ``supernet(num_classes=, seed=, **kw)`` builds the untrained supernet ``A_0`` (weights from
      ``seed``; alpha drawn from ``seed``);
    * ``network(arch, num_classes=, seed=)`` builds the standalone network of one architecture
      (used by the validation stage and the NASWOT baseline);
    * ``parse(obj)`` turns a string / JSON value into the space's architecture type, and
      ``to_json(arch)`` back (``str(arch)`` is a readable form);
    * ``random_arch(rng)`` samples an architecture uniformly;
    * ``has_benchmark``: architectures can be looked up in NAS-Bench-201.
    """

    name: str
    description: str
    supernet: Callable[..., Supernet]
    network: Callable[..., nn.Module]
    parse: Callable[[Any], Hashable]
    to_json: Callable[[Any], Any]
    random_arch: Callable[[random.Random], Hashable]
    has_benchmark: bool = False
    default_batch_size: int = 64
    datasets: tuple[str, ...] = ("cifar10", "cifar100", "svhn", "imagenet16-120", "synthetic")
    extras: dict[str, Any] = field(default_factory=dict)


SPACES: Registry[SearchSpace] = Registry("search space")
"""Every registered search space (``nb201``, ``darts``, ``darts-s1`` .. ``darts-s4``)."""
register_space = SPACES.register
get_space = SPACES.get


def space_names() -> list[str]:
    return sorted(SPACES.names())
