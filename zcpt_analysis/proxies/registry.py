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

    def __call__(self, net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
                 loss_fn: Any = None, **options: Any) -> float:
        return self.fn(net, inputs, targets, loss_fn=loss_fn, **options)


PROXIES: Registry[ProxySpec] = Registry("proxy")
"""Every registered proxy, in registration order (the six of Abdelfattah et al., nwot, baselines)."""
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
