"""The proxy registry: name -> :class:`ProxySpec` (function + metadata).

Every proxy module registers itself on import with :func:`register_proxy`; adding a proxy is
adding one file (and its import in ``proxies/__init__.py``). A spec is called as the search calls
it: ``spec.fn(net, inputs, targets, loss_fn=None, **options) -> float`` (higher is better; the
NaN/inf policy is in :mod:`zcpt_analysis.proxies.policy`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..registry import Registry

ProxyFn = Callable[..., float]


@dataclass(frozen=True)
class ProxySpec:
    """A registered zero-cost proxy.

    * ``needs_labels``: the proxy uses ``targets`` (a loss); it raises without them.
    * ``needs_gradients``: it runs a backward pass (parameters must be differentiable).
    * ``higher_is_better``: always ``True`` here -- every proxy is signed so that larger = better.
    * ``cost``: passes per call (what dominates its run time).
    * ``chunking``: whether ``chunk_size=`` reproduces the unchunked value.
    * ``default_mode``: the network mode it scores in unless ``mode=`` says otherwise.
    * ``reference``: where the definition comes from.
    * ``sign``: how the registered value relates to the published quantity (``"as published"``,
      or e.g. ``"negated: ..."`` where the paper ranks lower values first).
    * ``relative``: the score of one network is only meaningful against the other networks it is
      compared with (the rank-average ``ensemble``): ``fn`` then returns the component scores
      (:class:`~zcpt_analysis.proxies.ensemble.ComponentScores`), and consumers turn the values of
      one comparison set into floats with :func:`~zcpt_analysis.proxies.ensemble.comparable`.

    Published rank correlations with NAS-Bench-201 accuracy live in
    :data:`zcpt_analysis.proxies.published.PUBLISHED_CORRELATIONS`.
    """

    name: str
    fn: ProxyFn
    needs_labels: bool
    needs_gradients: bool
    higher_is_better: bool
    cost: str
    chunking: str
    default_mode: str
    reference: str
    description: str
    sign: str = "as published"
    relative: bool = False

    def __call__(self, net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
                 loss_fn: Any = None, **options: Any) -> float:
        return self.fn(net, inputs, targets, loss_fn=loss_fn, **options)


PROXIES: Registry[ProxySpec] = Registry("proxy")
"""Every registered proxy, in registration order (the six of Abdelfattah et al., nwot, the baselines,
then the proxies published since and the ensemble)."""
register_proxy = PROXIES.register
get_proxy = PROXIES.get
proxy_names = PROXIES.names


def compute_proxy(name: str, net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
                  **options: Any) -> float:
    """Score ``net`` on the minibatch ``(inputs, targets)`` with proxy ``name`` (higher is better).

    ``options`` go to the proxy (``mode=``, ``chunk_size=``, ``device=``, ``loss_fn=``, ...).
    """
    spec = get_proxy(name)
    loss_fn = options.pop("loss_fn", None)
    return spec.fn(net, inputs, targets, loss_fn=loss_fn, **options)


# ----------------------------------------------------------------------------- option validation
CALLER_SET: tuple[str, ...] = ("net", "inputs", "targets", "loss_fn")
"""Proxy parameters the scorer always sets itself (never ``--proxy-option`` keys)."""

MIN_BATCH: dict[str, tuple[int, str]] = {
    "nwot": (2, "it compares the activation codes of the images of a minibatch; with one image its score is "
                "log(number of ReLU units), the same for any input"),
    "jacob_cov": (2, "it correlates the input gradients of the images of a minibatch"),
}
"""Proxies whose score is undefined below a minibatch size: (smallest size, why)."""


def _option_rules(name: str) -> dict[str, Any]:
    from ..checks import Choices, Range
    from .base import LOSS_REDUCTIONS, MODES
    from .nwot import HOOK_CHOICES

    rules: dict[str, Any] = {"mode": Choices(MODES), "loss_reduction": Choices(LOSS_REDUCTIONS), "chunk_size": Range(1)}
    if name == "nwot":
        rules["hooks"] = Choices(HOOK_CHOICES)
    return rules


def option_names(name: str, fixed: tuple[str, ...] = CALLER_SET) -> list[str]:
    """The options proxy ``name`` accepts (``mode``, ``chunk_size``, ...; not those in ``fixed``)."""
    from ..checks import option_names as names

    return names(get_proxy(name).fn, fixed)


def check_options(name: str, options: dict[str, Any], fixed: tuple[str, ...] = CALLER_SET,
                  what: str = "proxy option") -> None:
    """Check ``options`` of proxy ``name`` before any scoring: known keys, values of the right
    type and range (a clear :class:`~zcpt_analysis.errors.ZcptError` naming the valid keys otherwise)."""
    from ..checks import check_arguments

    spec = get_proxy(name)
    check_arguments(f"{spec.name} {what}", spec.fn, options, fixed=fixed, rules=_option_rules(spec.name))


def check_batch_size(name: str, batch_size: int, flag: str = "batch_size") -> None:
    """Proxy ``name`` can score minibatches of ``batch_size`` images (see :data:`MIN_BATCH`)."""
    from ..errors import ZcptError

    spec = get_proxy(name)
    minimum, why = MIN_BATCH.get(spec.name, (1, ""))
    if batch_size < minimum:
        raise ZcptError(f"{flag} {batch_size} is too small for {spec.name}: it needs at least {minimum} images "
                        f"({why})" if why else f"{flag} must be at least {minimum}, got {batch_size}")


def parse_proxy_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """``"name[:key=value[:key=value...]]"`` -> ``(label, registered name, options)``, e.g.
    ``"nwot:mode=train"`` -> ``("nwot:mode=train", "nwot", {"mode": "train"})`` (values parsed as
    :func:`~zcpt_analysis.options.parse_key_value` does). Unknown proxies and options the proxy
    does not accept are clear errors."""
    from ..options import parse_key_value

    name, *items = str(text).strip().split(":")
    spec = get_proxy(name)
    options = dict(parse_key_value(item, f"option of proxy {spec.name!r}") for item in items)
    check_options(spec.name, options)
    label = spec.name + "".join(f":{k}={v}" for k, v in options.items())
    return label, spec.name, options
