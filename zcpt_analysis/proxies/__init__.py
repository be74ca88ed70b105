"""Zero-cost proxies: score any ``nn.Module`` on one minibatch; higher is always better.

Look a proxy up by name in the registry and call it the way the search does::

    spec = get_proxy("nwot")
    score = spec.fn(net, inputs, targets, loss_fn=None, mode="eval")   # or compute_proxy("nwot", ...)

Registered (one module each): ``synflow``, ``snip``, ``grasp``, ``fisher``, ``grad_norm``,
``jacob_cov`` (Abdelfattah et al. 2021), ``nwot`` (Mellor et al. 2021, Zero-Cost-PT's default),
the baselines ``params`` and ``flops``, the proxies published since -- ``meco`` (Jiang et al.
2023), ``zico`` (Li et al. 2023), ``swap`` (Peng et al. 2024), ``zen`` (Lin et al. 2021),
``epe_nas`` (Lopes et al. 2021), ``l2_norm`` and ``plain`` (NAS-Bench-Suite-Zero), ``ntk`` (TE-NAS's
negated NTK condition number) -- and the set-relative rank-average ``ensemble``. Their published
NAS-Bench-201 correlations are in :mod:`.published`. Every proxy leaves the network exactly as it found it
(parameters, buffers, ``requires_grad``, ``.grad``, dtype, training flags, hooks) without copying
it. The shared NaN/inf policy is documented in :mod:`zcpt_analysis.proxies.policy`.

Each proxy registers itself where it is defined, with the :func:`~.registry.proxy` decorator; what
other code needs to know about it (minimum batch, the options of the NASWOT baseline or of the
published code, which batched search engine applies, ...) is a field of its :class:`ProxySpec`,
never a test of its name.
"""
# Importing a proxy module registers it (its @proxy decorator); this order is the registry's (and `zcpt proxies list`'s) order.
from . import synflow  # noqa: F401  isort:skip
from . import snip  # noqa: F401  isort:skip
from . import grasp  # noqa: F401  isort:skip
from . import fisher  # noqa: F401  isort:skip
from . import grad_norm  # noqa: F401  isort:skip
from . import jacob_cov  # noqa: F401  isort:skip
from . import nwot  # noqa: F401  isort:skip
from . import params  # noqa: F401  isort:skip
from . import flops  # noqa: F401  isort:skip
from . import meco  # noqa: F401  isort:skip
from . import zico  # noqa: F401  isort:skip
from . import swap  # noqa: F401  isort:skip
from . import zen  # noqa: F401  isort:skip
from . import epe_nas  # noqa: F401  isort:skip
from . import l2_norm  # noqa: F401  isort:skip
from . import plain  # noqa: F401  isort:skip
from . import ntk  # noqa: F401  isort:skip
from . import ensemble  # noqa: F401  isort:skip
from .base import MODES, scored_layers
from .policy import (DegenerateNetworkWarning, ProxyInputError, ProxyNaNWarning, ProxyOverflowWarning, ProxyWarning,
                     nan_safe_argbest, ranking_value)
from .ensemble import ComponentScores, comparable, rank_average
from .registry import ProxySpec, compute_proxy, get_proxy, parse_proxy_variant, proxy, proxy_names, register_proxy

__all__ = ["MODES", "scored_layers", "DegenerateNetworkWarning", "ProxyInputError", "ProxyNaNWarning",
           "ProxyOverflowWarning", "ProxyWarning", "nan_safe_argbest", "ranking_value", "ProxySpec", "compute_proxy",
           "get_proxy", "proxy", "proxy_names", "register_proxy", "ComponentScores", "comparable", "rank_average",
           "parse_proxy_variant"]
