"""Published rank correlations of the proxies with NAS-Bench-201 test accuracy (reference values).

One source of truth for the numbers ``zcpt proxies list`` prints and the proxy study
(``benchmarks/proxy_correlation.py``) puts next to its measured ones. They are *published*
values -- never measured here -- each with its source and setting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

NB201_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")


@dataclass(frozen=True)
class PublishedCorrelation:
    """Published Spearman rho of one proxy with NAS-Bench-201 test accuracy, per dataset."""

    source: str
    setting: str
    spearman: Mapping[str, float] = field(default_factory=dict)


SUITE_ZERO = "Krishnakumar et al. 2022 (NAS-Bench-Suite-Zero, NeurIPS D&B), Fig. 2"
SUITE_ZERO_SETTING = "1,000 random NAS-Bench-201 architectures, Spearman rho with test accuracy"


def _suite_zero(c10: float, c100: float, in16: float) -> PublishedCorrelation:
    return PublishedCorrelation(SUITE_ZERO, SUITE_ZERO_SETTING,
                                {"cifar10": c10, "cifar100": c100, "ImageNet16-120": in16})


PUBLISHED_CORRELATIONS: dict[str, PublishedCorrelation] = {
    "nwot": _suite_zero(0.77, 0.80, 0.77),
    "synflow": _suite_zero(0.73, 0.76, 0.75),
    "jacob_cov": _suite_zero(0.75, 0.71, 0.71),
    "snip": _suite_zero(0.58, 0.63, 0.57),
    "grad_norm": _suite_zero(0.58, 0.63, 0.57),
    "grasp": _suite_zero(0.51, 0.54, 0.55),
    "fisher": _suite_zero(0.50, 0.54, 0.48),
    "params": _suite_zero(0.72, 0.73, 0.69),
    "flops": _suite_zero(0.69, 0.71, 0.67),
    "zen": _suite_zero(0.35, 0.35, 0.39),
    "epe_nas": _suite_zero(0.70, 0.60, 0.33),
    "l2_norm": _suite_zero(0.68, 0.72, 0.69),
    "plain": _suite_zero(-0.26, -0.21, -0.22),
    "meco": PublishedCorrelation("Jiang et al. 2023 (MeCo, NeurIPS)",
                                 "NATS-Bench TSS (= NAS-Bench-201), CIFAR-10, Spearman rho", {"cifar10": 0.89}),
    "swap(regularised)": PublishedCorrelation("Peng et al. 2024 (SWAP-NAS, ICLR)",
                                              "regularised SWAP-Score, NAS-Bench-201, CIFAR-100 validation accuracy",
                                              {"cifar100": 0.90}),
}
"""Proxy (or variant) -> published correlation. ``swap(regularised)`` is ``swap`` with
``regular=true``; proxies without an entry (zico, swap, ntk, ensemble) have no reference number
in the sources this project quotes."""


def published_for(label: str) -> PublishedCorrelation | None:
    """The published correlation for a proxy label (``name`` or ``name:key=value...``): its base
    proxy's entry (a variant is compared with the published number of its proxy), except that
    ``swap`` has one only with ``regular=true``."""
    name, _, options = label.partition(":")
    if name == "swap":
        return PUBLISHED_CORRELATIONS["swap(regularised)"] if "regular=true" in options.lower() else None
    return PUBLISHED_CORRELATIONS.get(name)
