"""The NaN / infinity policy shared by every zero-cost proxy, and the proxies' error types.

Every proxy returns one Python ``float`` where **higher is better** (signs are built in:
``grasp`` and ``jacob_cov`` are already negated as in the reference code). Besides finite
values a proxy can return exactly three special values, each with a fixed meaning:

``-inf`` -- *degenerate network* (a defined, worst-possible value; emitted with a
    :class:`DegenerateNetworkWarning`). The network cannot tell its inputs apart in the proxy's
    sense, e.g. a NAS-Bench-201 cell of all ``none`` disconnects input from output:

    * ``nwot``: the kernel ``K`` is singular (``log|det K| = -inf``; identical binary codes for two
      inputs, which is also what a minibatch holding the same image twice produces);
    * ``jacob_cov``: the input-Jacobian is identically zero (the output does not depend on the
      input), so no correlation exists;
    * ``synflow`` with ``log=True``: the synaptic flow is exactly 0 (``log 0``).

    Gradient-saliency proxies (``snip``, ``grasp``, ``fisher``, ``grad_norm``, plain ``synflow``)
    return their exact value ``0.0`` (with a :class:`DegenerateNetworkWarning`) when no scored
    weight receives any gradient: 0 is already their minimum (``grasp``: a neutral value).

``+inf`` -- *overflow*: the true value is finite but exceeds the float range (only ``synflow``
    can get there in practice: use ``log=True``). Emitted with a :class:`ProxyOverflowWarning`.

``NaN`` -- *undefined*: the computation itself broke down (NaN/inf activations or gradients,
    ``inf - inf`` in an overflowing synflow, a Jacobian row that is constant while others are
    not, an eigen-decomposition that failed). Emitted with a :class:`ProxyNaNWarning`.

How consumers must treat them:

* **NaN never wins.** Choosing code ignores NaN (``searches.op_selection.select`` drops NaN before
  its arg max / arg min and raises if every score is NaN). Anything that ranks scores should use
  :func:`nan_safe_argbest` or :func:`ranking_value` (NaN -> the worst end) -- never a bare
  ``max`` or ``np.argmax``, which return NaN or its index depending on position.
* ``-inf`` is an ordinary, comparable value: it loses every arg max and wins every arg min (in
  zc-pt, the op whose removal makes the network degenerate is the most important one). When all
  candidates are ``-inf`` the choice is a tie, which ``select`` warns about.
* Correlation analyses drop NaN pairs and keep ``-inf`` (ranked last).
"""
from __future__ import annotations

import math
import warnings
from typing import Hashable, Mapping, Optional, Sequence, Union

import torch

from ..errors import ZcptError


class ProxyInputError(ZcptError, ValueError):
    """Bad input to a proxy: missing labels, wrong shapes, an unusable network output, ..."""


class ProxyWarning(UserWarning):
    """Base class of the warnings proxies emit when they return a special value."""


class DegenerateNetworkWarning(ProxyWarning):
    """The network is degenerate for this proxy; the returned value is ``-inf`` or ``0.0``."""


class ProxyOverflowWarning(ProxyWarning):
    """The proxy's value overflowed the float range (``+inf`` returned)."""


class ProxyNaNWarning(ProxyWarning):
    """The proxy's value is undefined (``NaN`` returned)."""


def finalize(name: str, value: Union[torch.Tensor, float], *, degenerate: Optional[str] = None,
             stacklevel: int = 3) -> float:
    """Turn a proxy's raw value into its returned ``float`` and emit the policy's warning.

    ``degenerate`` is the reason text when the proxy itself detected a degenerate network (the
    value is then ``-inf`` or ``0.0`` by definition). Otherwise ``+inf`` warns as an overflow,
    ``-inf`` as degenerate, and ``NaN`` as undefined.
    """
    out = float(value.item()) if isinstance(value, torch.Tensor) else float(value)
    if degenerate is not None:
        warnings.warn(f"{name}: degenerate network ({degenerate}); returning {out}", DegenerateNetworkWarning,
                      stacklevel=stacklevel)
    elif math.isnan(out):
        warnings.warn(f"{name}: the score is undefined (NaN): the computation produced NaN/inf values; "
                      "searches ignore NaN scores", ProxyNaNWarning, stacklevel=stacklevel)
    elif out == math.inf:
        warnings.warn(f"{name}: the score overflowed the float range (+inf)"
                      + ("; use synflow's log=True" if name.startswith("synflow") else ""),
                      ProxyOverflowWarning, stacklevel=stacklevel)
    elif out == -math.inf:
        warnings.warn(f"{name}: degenerate network (score -inf)", DegenerateNetworkWarning, stacklevel=stacklevel)
    return out


def ranking_value(score: float, higher_is_better: bool = True) -> float:
    """``score`` with NaN moved to the worst end (``-inf`` when maximising, ``+inf`` when minimising),
    for sorting. Ties between NaN and ``-inf`` are possible: use :func:`nan_safe_argbest` to choose."""
    if math.isnan(score):
        return -math.inf if higher_is_better else math.inf
    return score


def nan_safe_argbest(scores: Union[Mapping[Hashable, float], Sequence[float]],
                     higher_is_better: bool = True) -> Hashable:
    """Key (or index) of the best score, ignoring NaN; the first one wins ties.

    Raises :class:`ProxyInputError` when there are no scores or every score is NaN.
    """
    items = list(scores.items()) if isinstance(scores, Mapping) else list(enumerate(scores))
    valid = [(k, float(v)) for k, v in items if not math.isnan(float(v))]
    if not valid:
        raise ProxyInputError(f"no valid (non-NaN) score to choose from: {dict(items)}")
    best_key, best = valid[0]
    for k, v in valid[1:]:
        if (v > best) if higher_is_better else (v < best):
            best_key, best = k, v
    return best_key
