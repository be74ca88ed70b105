"""The proxy registry: name -> :class:`ProxySpec` (function + metadata).

Every proxy module registers its function where it is defined, with the :func:`proxy` decorator
(as timm registers models with ``@register_model``)::

    @proxy("nwot", needs_gradients=False, min_batch=2, ...)
    def nwot(net, inputs, targets=None, loss_fn=None, *, mode="eval", ...) -> float: ...

Adding a proxy is adding one file (and its import in ``proxies/__init__.py``). Everything other
code needs to know about a proxy -- its minimum batch, the options of a setting, which batched
search engine applies -- is a field of its :class:`ProxySpec`, so no code outside ``proxies/``
branches on a proxy's name (and this module imports no proxy module). A spec is called as the
search calls it: ``spec.fn(net, inputs, targets, loss_fn=None, **options) -> float`` (higher is
better; the NaN/inf policy is in :mod:`zcpt_analysis.proxies.policy`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from ..registry import Registry

ProxyFn = Callable[..., float]
LayerSaliency = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

BATCHED_ENGINES: tuple[str, ...] = ("fast_nwot", "fast_gradients")
"""Values of :attr:`ProxySpec.batched_engine`: the batched search engine of
:mod:`zcpt_analysis.searches.fast_nwot` (one stacked no-grad forward, exact activation-code kernels)
or of :mod:`zcpt_analysis.searches.fast_gradients` (stacked forward/backward passes)."""

BATCHED_KINDS: tuple[str, ...] = ("weight-saliency", "channel-fisher", "input-jacobian", "synaptic-flow")
"""Values of :attr:`ProxySpec.batched_kind`: what the ``fast_gradients`` engine computes per copy --
``Σ_layers layer_saliency(W, ∂L/∂W)`` of the loss (``weight-saliency``), Fisher's per-channel
``a ⊙ ∂L/∂a`` of the layer outputs (``channel-fisher``), the input Jacobian's correlation spectrum
(``input-jacobian``) or synaptic flow of the ``|θ|`` network on one all-ones input (``synaptic-flow``)."""

EXACT_WITHOUT_BATCH_COUPLING = "exact without batch-coupled layers (not with train-mode BatchNorm)"
"""The chunking statement of most proxies (the :func:`proxy` default)."""


def _frozen(mapping: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


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

    Facts the rest of the toolkit reads instead of testing the proxy's name:

    * ``min_batch`` / ``min_batch_reason``: the smallest minibatch the score is defined for, and
      why (:func:`check_batch_size`).
    * ``option_choices``: option -> its valid text values, checked before any scoring
      (:func:`check_options`).
    * ``naswot_options``: the options a NASWOT baseline run scores with unless it names its own
      (nwot: ``mode=train``, the original NASWOT's batch statistics).
    * ``published_zcpt_options``: the options that give the published Zero-Cost-PT NB201 code's
      computation of this proxy (nwot: ``hooks=published``, forward hooks on every module whose
      type name contains ``ReLU``, the ``ReLUConvBN`` wrappers included). The paper preset sets
      them, and a search in a published supernet execution mode (``published`` / ``block-input``,
      where what the hooks see depends on those wrappers) uses them as defaults.
    * ``reference_options``: the options its published NB201 correlation
      (:mod:`.published`) was measured with (swap: ``regular=true``); :attr:`reference_label`.
    * ``batched_engine``: the batched zc-pt search engine that scores all perturbations of an edge
      at once (one of :data:`BATCHED_ENGINES`; ``None``: one proxy call per perturbation only),
      ``batched_kind`` what the ``fast_gradients`` engine computes (:data:`BATCHED_KINDS`),
      ``layer_saliency`` the per-layer term ``f(W, ∂L/∂W)`` of a ``weight-saliency`` proxy,
      ``batched_options`` the proxy options that engine accepts, and ``auto_batched`` whether the
      search's ``auto`` engine choice uses it (it pays on CPU).
    * ``parameter_count``: the score is the network's parameter count (no data, no randomness;
      the proxy study checks its sample against the whole space with it).

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
    min_batch: int = 1
    min_batch_reason: str = ""
    option_choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    naswot_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    published_zcpt_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    reference_options: Mapping[str, str] = field(default_factory=dict, hash=False)
    batched_engine: Optional[str] = None
    batched_kind: Optional[str] = None
    layer_saliency: Optional[LayerSaliency] = None
    batched_options: frozenset[str] = frozenset()
    auto_batched: bool = False
    parameter_count: bool = False

    def __post_init__(self) -> None:
        # read-only copies: a caller that wants to change options takes dict(spec.naswot_options)
        object.__setattr__(self, "option_choices", _frozen({k: tuple(v) for k, v in dict(self.option_choices).items()}))
        for name in ("naswot_options", "published_zcpt_options", "reference_options"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "batched_options", frozenset(self.batched_options))
        if self.min_batch < 1:
            raise ValueError(f"proxy {self.name!r}: min_batch must be at least 1, got {self.min_batch}")
        if self.batched_engine is not None and self.batched_engine not in BATCHED_ENGINES:
            raise ValueError(f"proxy {self.name!r}: batched_engine must be one of {BATCHED_ENGINES}, "
                             f"got {self.batched_engine!r}")
        if (self.batched_engine == "fast_gradients") != (self.batched_kind is not None):
            raise ValueError(f"proxy {self.name!r}: batched_kind is required with (and only with) "
                             "batched_engine='fast_gradients'")
        if self.batched_kind is not None and self.batched_kind not in BATCHED_KINDS:
            raise ValueError(f"proxy {self.name!r}: batched_kind must be one of {BATCHED_KINDS}, "
                             f"got {self.batched_kind!r}")
        if (self.batched_kind == "weight-saliency") != (self.layer_saliency is not None):
            raise ValueError(f"proxy {self.name!r}: layer_saliency is required with (and only with) "
                             "batched_kind='weight-saliency'")
        if self.auto_batched and self.batched_engine is None:
            raise ValueError(f"proxy {self.name!r}: auto_batched needs a batched_engine")

    @property
    def reference_label(self) -> str:
        """``name[:key=value...]``: the variant whose published correlation is quoted
        (:func:`~zcpt_analysis.proxies.published.published_for` of it)."""
        return self.name + "".join(f":{k}={v}" for k, v in self.reference_options.items())

    def __call__(self, net: nn.Module, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None,
                 loss_fn: Any = None, **options: Any) -> float:
        return self.fn(net, inputs, targets, loss_fn=loss_fn, **options)


PROXIES: Registry[ProxySpec] = Registry("proxy")
"""Every registered proxy, in registration order (the six of Abdelfattah et al., nwot, the baselines,
then the proxies published since and the ensemble)."""
register_proxy = PROXIES.register
get_proxy = PROXIES.get
proxy_names = PROXIES.names


def proxy(name: str, *, cost: str, default_mode: str = "as-is", reference: str, description: str,
          needs_labels: bool = False, needs_gradients: bool = True, higher_is_better: bool = True,
          chunking: str = EXACT_WITHOUT_BATCH_COUPLING, **facts: Any) -> Callable[[ProxyFn], ProxyFn]:
    """Register the decorated function as proxy ``name`` (a :class:`ProxySpec`); the function is
    returned unchanged. The defaults are the common case -- no labels, a backward pass, the caller's
    network mode (``as-is``), exact chunking without batch-coupled layers -- so a registration
    states what differs; ``facts`` are the other :class:`ProxySpec` fields (``sign``,
    ``min_batch``, ``batched_engine``, ...)."""

    def register(fn: ProxyFn) -> ProxyFn:
        register_proxy(ProxySpec(name=name, fn=fn, needs_labels=needs_labels, needs_gradients=needs_gradients,
                                 higher_is_better=higher_is_better, cost=cost, chunking=chunking,
                                 default_mode=default_mode, reference=reference, description=description, **facts))
        return fn

    return register


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


def _option_rules(spec: ProxySpec) -> dict[str, Any]:
    from ..checks import Choices, Range
    from .base import LOSS_REDUCTIONS, MODES

    rules: dict[str, Any] = {"mode": Choices(MODES), "loss_reduction": Choices(LOSS_REDUCTIONS), "chunk_size": Range(1)}
    rules.update((key, Choices(values)) for key, values in spec.option_choices.items())
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
    check_arguments(f"{spec.name} {what}", spec.fn, options, fixed=fixed, rules=_option_rules(spec))


def check_batch_size(name: str, batch_size: int, flag: str = "batch_size") -> None:
    """Proxy ``name`` can score minibatches of ``batch_size`` images (:attr:`ProxySpec.min_batch`)."""
    from ..errors import ZcptError

    spec = get_proxy(name)
    minimum, why = spec.min_batch, spec.min_batch_reason
    if batch_size < minimum:
        raise ZcptError(f"{flag} {batch_size} is too small for {spec.name}: it needs at least {minimum} images "
                        f"({why})" if why else f"{flag} must be at least {minimum}, got {batch_size}")


def parse_proxy_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """``"name[:key=value[:key=value...]]"`` -> ``(label, registered name, options)``, e.g.
    ``"nwot:mode=train"`` -> ``("nwot:mode=train", "nwot", {"mode": "train"})`` (values parsed as
    :func:`~zcpt_analysis.options.parse_key_value` does). Unknown proxies and options the proxy
    does not accept are clear errors."""
    from ..options import key_values

    name, *items = str(text).strip().split(":")
    spec = get_proxy(name)
    options = key_values(items, f"option of proxy {spec.name!r}")
    check_options(spec.name, options)
    label = spec.name + "".join(f":{k}={v}" for k, v in options.items())
    return label, spec.name, options
