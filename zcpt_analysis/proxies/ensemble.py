"""``ensemble`` -- rank average of a user-given list of proxies (set-relative).

A rank is only defined within a set of networks, so the ensemble has two parts:

* per network, :func:`ensemble` computes the component scores (``proxies``, e.g.
  ``"nwot,synflow"`` or ``["nwot:mode=train", "synflow"]``; each ``name[:key=value...]``) and returns
  them as :class:`ComponentScores` -- which deliberately cannot be turned into a float;
* per comparison set (the remaining ops of an edge, the candidates on one validation minibatch,
  the architectures of a correlation study), :func:`comparable` replaces each network's component
  scores by its **mean normalised rank**

      R(a) = (1 / |P|) Σ_{p ∈ P} (rank_p(a) - 1) / (m_p - 1)        (higher is better),

  ``rank_p`` the average rank (1 = lowest score; ties share the mean rank) of ``a``'s score among
  the ``m_p`` networks with a non-NaN score for proxy ``p`` (``-inf`` ranks lowest; ``m_p = 1``
  gives 0.5). A network whose component score is NaN is left out of that component's ranking and
  averaged over the others (NaN if all are NaN). Without NaN this orders networks exactly as the
  plain average rank. This is the rank-sum combination TE-NAS uses to prune operations.

Consumers that compare networks (Zero-Cost-PT's edge decisions and validation stage, topology
selection) call :func:`comparable` on each set; ordinary proxy values pass through unchanged.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from scipy import stats
from torch import nn

from .base import DeviceLike
from .policy import ProxyInputError
from .registry import get_proxy, parse_proxy_variant, proxy

DEFAULT_COMPONENTS: tuple[str, ...] = ("nwot", "synflow")
"""The ensemble's components when ``proxies`` is not given (Zero-Cost-PT's two best proxies)."""


class ComponentScores(tuple):
    """The component scores of one network (a tuple of floats, with ``names``). Relative: compare
    a set of them with :func:`comparable`; ``float()`` raises."""

    names: tuple[str, ...]

    def __new__(cls, names: Sequence[str], values: Sequence[float]) -> "ComponentScores":
        obj = super().__new__(cls, tuple(float(v) for v in values))
        obj.names = tuple(names)
        return obj

    def __float__(self) -> float:
        raise ProxyInputError("an ensemble score is relative: rank the networks being compared with "
                              "zcpt_analysis.proxies.ensemble.comparable(...) (one network alone has no rank)")

    def __reduce__(self):  # pickling keeps the names
        return (ComponentScores, (self.names, tuple(self)))


def parse_components(proxies: Union[str, Sequence[str], None]) -> list[tuple[str, str, dict[str, Any]]]:
    """``"nwot,synflow:log=true"`` or a list of such items -> ``[(label, name, options)]``."""
    if proxies is None:
        items: list[str] = list(DEFAULT_COMPONENTS)
    elif isinstance(proxies, str):
        items = [p for p in proxies.split(",") if p.strip()]
    else:
        items = [str(p) for p in proxies]
    if not items:
        raise ProxyInputError("the ensemble needs at least one component proxy (proxies=nwot,synflow)")
    parsed = [parse_proxy_variant(item) for item in items]
    nested = [label for label, name, _ in parsed if get_proxy(name).relative]
    if nested:
        raise ProxyInputError(f"an ensemble cannot contain a set-relative proxy ({', '.join(nested)})")
    labels = [label for label, _, _ in parsed]
    if len(set(labels)) != len(labels):
        raise ProxyInputError(f"the ensemble lists a component twice: {', '.join(labels)}")
    return parsed


def rank_average(rows: Sequence[Sequence[float]]) -> list[float]:
    """Mean normalised rank (see the module docstring) of each row of component scores."""
    if not rows:
        return []
    table = np.asarray(rows, dtype=float)
    if table.ndim != 2:
        raise ProxyInputError("rank_average needs one row of component scores per network")
    n, k = table.shape
    normalised = np.full((n, k), np.nan)
    for j in range(k):
        valid = ~np.isnan(table[:, j])
        m = int(valid.sum())
        if m == 1:
            normalised[valid, j] = 0.5
        elif m > 1:
            normalised[valid, j] = (stats.rankdata(table[valid, j]) - 1.0) / (m - 1.0)
    out = []
    for i in range(n):
        row = normalised[i][~np.isnan(normalised[i])]
        out.append(float(row.mean()) if row.size else math.nan)
    return out


def comparable(scores: Union[Mapping[Any, Any], Sequence[Any]]) -> Any:
    """The scores of one comparison set as floats: a set of :class:`ComponentScores` becomes the
    networks' mean normalised ranks; plain proxy values are returned unchanged (as floats). Keeps
    the container kind (dict in, dict out; list in, list out)."""
    is_map = isinstance(scores, Mapping)
    keys = list(scores.keys()) if is_map else None
    values = list(scores.values()) if is_map else list(scores)
    relative = [isinstance(v, ComponentScores) for v in values]
    if not any(relative):
        floats = [float(v) for v in values]
    else:
        if not all(relative):
            raise ProxyInputError("a comparison set mixes ensemble component scores with plain scores")
        names = {v.names for v in values}
        if len(names) != 1:
            raise ProxyInputError(f"a comparison set mixes ensembles of different components: {sorted(names)}")
        floats = rank_average([tuple(v) for v in values])
    return dict(zip(keys, floats)) if is_map else floats


@proxy(
    "ensemble",
    cost="the sum of its components' costs",
    chunking="per component (give chunk_size to a component: proxies=nwot:chunk_size=32,...)",
    default_mode="per component",
    reference="rank averaging of zero-cost proxies (TE-NAS's rank sum); components default to nwot, synflow",
    description="mean normalised rank of the component proxies within the set of networks compared",
    sign="mean rank within the compared set",
    relative=True,
)
def ensemble(net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None, loss_fn: Any = None, *,
             proxies: Union[str, Sequence[str], None] = None, device: DeviceLike = None) -> ComponentScores:
    """The component scores of ``net`` (rank them within a set with :func:`comparable`)."""
    parsed = parse_components(proxies)
    values = []
    for label, name, options in parsed:
        spec = get_proxy(name)
        if spec.needs_labels and targets is None:
            raise ProxyInputError(f"ensemble component {label!r} needs labels: pass targets")
        opts = dict(options)
        if device is not None and "device" not in opts:
            opts["device"] = device
        values.append(float(spec.fn(net, inputs, targets, loss_fn=loss_fn, **opts)))
    return ComponentScores([label for label, _, _ in parsed], values)
