"""Numbers published in the paper, for side-by-side "paper" columns. Never present them as measured.

Test errors in % (mean ± std over search seeds x training trials, as A.5 describes).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """A published mean ± std (``std`` may be None where the paper gives none)."""

    mean: float
    std: float | None = None

    def __str__(self) -> str:
        return f"{self.mean:.2f}" if self.std is None else f"{self.mean:.2f} ± {self.std:.2f}"


NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")

# Table 2: Zero-Cost-PT (nwot, N=10, V=100) on NAS-Bench-201 by edge ordering.
TABLE2_ORDERINGS: dict[str, dict[str, Published]] = {
    "fixed": {"cifar10": Published(5.98, 0.50), "cifar100": Published(27.60, 1.63), "ImageNet16-120": Published(54.23, 0.93)},
    "global-op-iter": {"cifar10": Published(5.69, 0.19), "cifar100": Published(26.80, 0.51), "ImageNet16-120": Published(53.64, 0.40)},
    "global-op-once": {"cifar10": Published(6.30, 0.57), "cifar100": Published(28.96, 1.66), "ImageNet16-120": Published(55.04, 1.47)},
    "global-edge-iter": {"cifar10": Published(6.23, 0.45), "cifar100": Published(28.42, 0.59), "ImageNet16-120": Published(54.39, 0.47)},
    "global-edge-once": {"cifar10": Published(6.30, 0.57), "cifar100": Published(28.96, 1.66), "ImageNet16-120": Published(55.04, 1.47)},
    "random": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}
TABLE2_EVALUATIONS = {"fixed": 30, "global-op-iter": 105, "global-op-once": 55, "global-edge-iter": 105,
                      "global-edge-once": 55, "random": 30}

# Table 3: Zero-Cost-PT (random order, N=10, V=100) on NAS-Bench-201 by proxy.
TABLE3_PROXIES: dict[str, dict[str, Published]] = {
    "fisher": {"cifar10": Published(10.64, 1.27), "cifar100": Published(38.48, 1.96), "ImageNet16-120": Published(82.85, 12.63)},
    "grad_norm": {"cifar10": Published(10.55, 1.11), "cifar100": Published(38.43, 2.10), "ImageNet16-120": Published(80.71, 12.10)},
    "grasp": {"cifar10": Published(9.81, 3.42), "cifar100": Published(36.52, 6.33), "ImageNet16-120": Published(64.27, 8.82)},
    "snip": {"cifar10": Published(8.32, 2.02), "cifar100": Published(34.00, 4.03), "ImageNet16-120": Published(65.35, 11.04)},
    "synflow": {"cifar10": Published(6.24, 0.00), "cifar100": Published(28.89, 0.00), "ImageNet16-120": Published(58.56, 0.00)},
    "nwot": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}

# Table 4: comparison on NAS-Bench-201.
TABLE4_METHODS: dict[str, dict[str, Published]] = {
    "Random": {"cifar10": Published(13.39, 13.28), "cifar100": Published(39.17, 12.58), "ImageNet16-120": Published(66.87, 9.66)},
    "DARTS": {"cifar10": Published(45.70, 0.00), "cifar100": Published(84.39, 0.00), "ImageNet16-120": Published(83.68, 0.00)},
    "DARTS-PT": {"cifar10": Published(11.89, 0.00), "cifar100": Published(45.72, 6.26), "ImageNet16-120": Published(69.60, 4.40)},
    "DARTS-PT (fix alpha)": {"cifar10": Published(6.20, 0.00), "cifar100": Published(34.03, 2.24), "ImageNet16-120": Published(61.36, 1.91)},
    "NASWOT(synflow)": {"cifar10": Published(6.54, 0.62), "cifar100": Published(29.53, 2.13), "ImageNet16-120": Published(58.22, 4.18)},
    "NASWOT(nwot)": {"cifar10": Published(7.04, 0.80), "cifar100": Published(29.97, 1.16), "ImageNet16-120": Published(55.57, 2.07)},
    "Zero-Cost-PT(synflow)": {"cifar10": Published(6.24, 0.00), "cifar100": Published(28.89, 0.00), "ImageNet16-120": Published(58.56, 0.00)},
    "Zero-Cost-PT(nwot)": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}


def zcpt_reference(proxy: str, order: str) -> dict[str, Published] | None:
    """The paper's row for a Zero-Cost-PT NB201 configuration (N=10, V=100), if it published one."""
    if proxy == "nwot" and order in TABLE2_ORDERINGS:
        return TABLE2_ORDERINGS[order]
    if order == "random" and proxy in TABLE3_PROXIES:
        return TABLE3_PROXIES[proxy]
    return None
