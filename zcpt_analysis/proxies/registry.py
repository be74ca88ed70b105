"""The proxy registry: name -> :class:`ProxySpec` (function + metadata).

Every proxy module registers itself on import with :func:`register_proxy`; adding a proxy is
adding one file (and its import in ``proxies/__init__.py``). A spec is called as the search calls
it: ``spec.fn(net, inputs, targets, loss_fn=None, **options) -> float`` (higher is better; the
NaN/inf policy is in :mod:`zcpt_analysis.proxies.policy`).
"""
from __future__ import annotations

import inspect
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


CALL_ARGUMENTS: frozenset[str] = frozenset({"net", "inputs", "targets", "loss_fn"})
"""Proxy parameters that are not options (the caller passes them)."""


def proxy_options_of(spec: ProxySpec) -> list[str]:
    """The keyword options ``spec.fn`` accepts (``[]`` plus anything when it takes ``**kwargs``)."""
    params = inspect.signature(spec.fn).parameters.values()
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in CALL_ARGUMENTS]


def check_proxy_options(spec: ProxySpec, options: Any) -> None:
    """Raise a clear :class:`~.policy.ProxyInputError` if ``spec.fn`` does not accept one of ``options``."""
    from .policy import ProxyInputError

    accepted = proxy_options_of(spec)
    takes_any = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(spec.fn).parameters.values())
    bad = [k for k in options if k not in accepted and not takes_any]
    if bad:
        raise ProxyInputError(f"proxy {spec.name!r} has no option {', '.join(map(repr, bad))} "
                              f"(its options: {', '.join(accepted) or 'none'})")


def parse_proxy_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """``"name[:key=value[:key=value...]]"`` -> ``(label, registered name, options)``, e.g.
    ``"nwot:mode=train"`` -> ``("nwot:mode=train", "nwot", {"mode": "train"})`` (values parsed as
    :func:`~zcpt_analysis.options.parse_key_value` does). Unknown proxies and options the proxy
    does not accept are clear errors."""
    from ..options import parse_key_value

    name, *items = str(text).strip().split(":")
    spec = get_proxy(name)
    options = dict(parse_key_value(item, f"option of proxy {spec.name!r}") for item in items)
    check_proxy_options(spec, options)
    label = spec.name + "".join(f":{k}={v}" for k, v in options.items())
    return label, spec.name, options
