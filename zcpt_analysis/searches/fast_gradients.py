"""Fast zc-pt with gradient proxies: the perturbations of an edge in stacked forward/backward passes.

``S(A_t - (e, o))`` for the ops ``o`` of an edge, for ``snip``, ``grad_norm``, ``fisher``,
``jacob_cov`` and ``synflow``, from copies of the minibatch stacked along the batch
(:meth:`Supernet.perturbation_plan`: copy ``g`` weights op ``o_g`` by 0), **equal bit for bit** to one
proxy call per perturbed supernet (``tests/test_fast_gradients.py``). What makes that hold:

* samples never interact except through train-mode BatchNorm (the supernet's own mode, which the
  ``as-is`` proxies keep, and fisher's ``train``): such BatchNorms run once per copy on the copy's
  rows, so every copy sees its own batch statistics;
* one backward of ``Σ_g L_g`` (one loss per copy, as the proxy computes it) gives every sample the
  gradient its own copy's backward would (the copies are independent), and a convolution's
  per-sample results do not depend on the rest of its batch;
* per-copy *weight* gradients (snip, grad_norm, synflow) are computed from each copy's rows of the
  layer's input and output gradient with the same kernel autograd uses
  (``aten.convolution_backward``; a ``Linear`` re-runs its cheap forward on the copy's rows);
* layers inside the op removed in copy ``g`` exist in that copy's batch (with weight 0) but not in
  its supernet: they are left out of copy ``g``'s sums, which are then taken over the same terms in
  the same order as the proxy's (the proxies' own reductions are reused).

Which proxies this engine scores, and how, is part of each proxy's registration
(:class:`~zcpt_analysis.proxies.registry.ProxySpec`): ``batched_engine="fast_gradients"``, its
``batched_kind`` (``weight-saliency`` with the proxy's ``layer_saliency`` term: snip, grad_norm;
``channel-fisher``: fisher; ``input-jacobian``: jacob_cov; ``synaptic-flow``: synflow) and the
``batched_options`` it accepts here; nothing here depends on a proxy's name.

Speed (NB201, C=16 N=5, batch 64, 1 CPU thread, contended): synflow 1.1x the one-call-per-
perturbation engine, fisher 1.07x, snip and jacob_cov 0.92x -- the total work is the same and nothing
is shared between perturbations after the first cell, so the search uses this engine by default
only for synflow (its registration's ``auto_batched``); ``--engine batched`` opts in for the others.

``grasp`` (a Hessian-vector product per copy) is not batched: it keeps the one-call-per-perturbation
engine. Copies are stacked ``max_stack // batch`` at a time (at least one) to bound memory, in the
minibatch's memory format. The search runs gradient proxies in NCHW by default (see
:class:`~zcpt_analysis.searches.zcpt.ZeroCostPT`): in channels-last, oneDNN's 1x1 convolution can
round differently for different batch sizes at small shapes, so stacked and single copies then agree
only to rounding.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from ..proxies.base import logits_of, prepare_targets, resolve_loss, scored_layers, scoring_state, sum_float64
from ..proxies.fisher import _channel_products
from ..proxies.gradients import finish_saliency
from ..proxies.jacob_cov import jacob_cov_from_jacobian
from ..proxies.policy import ProxyInputError, finalize
from ..proxies.registry import PROXIES, ProxySpec, get_proxy
from ..proxies.synflow import batchnorms_as_identity, synflow_tensors, synflow_value
from ..supernet import Supernet

ENGINE = "fast_gradients"
"""This engine's name in :attr:`ProxySpec.batched_engine <zcpt_analysis.proxies.registry.ProxySpec>`."""


def batched_spec(proxy: str) -> Optional[ProxySpec]:
    """The registration of ``proxy`` if this engine scores it (``None``: it does not, or no such proxy)."""
    spec = get_proxy(proxy) if proxy in PROXIES else None
    return spec if spec is not None and spec.batched_engine == ENGINE else None


def not_batchable(proxy: str, options: dict[str, Any], supernet_mode: str = "fast") -> Optional[str]:
    """Why ``proxy`` with ``options`` cannot use this engine (``None``: it can)."""
    spec = batched_spec(proxy)
    if spec is None:
        batched = [s.name for s in PROXIES if s.batched_engine is not None and s.batched_engine != ENGINE]
        batched += [s.name for s in PROXIES if s.batched_engine == ENGINE]
        return f"proxy {proxy!r} is not batched (batched proxies: {', '.join(batched)})"
    extra = set(options) - spec.batched_options
    if extra:
        return f"option(s) {', '.join(sorted(extra))} of {proxy} are not supported by the batched engine"
    if supernet_mode != "fast":
        return "the batched gradient engine runs the fast supernet semantics only"
    return None


@contextlib.contextmanager
def per_copy_batchnorm(net: nn.Module, rows: int) -> Iterator[None]:
    """Train-mode BatchNorms normalise each block of ``rows`` samples (one copy) on its own."""
    patched = []
    for m in net.modules():
        if isinstance(m, _BatchNorm) and m.training and "forward" not in m.__dict__:
            forward = type(m).forward

            def grouped(x: torch.Tensor, _m: nn.Module = m, _f: Any = forward) -> torch.Tensor:
                return torch.cat([_f(_m, part) for part in x.split(rows)])

            m.forward = grouped
            patched.append(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


class _Tape:
    """Forward hooks on the scored layers: every call's input and output (in call order)."""

    def __init__(self, layers: list[nn.Module]):
        self.index = {id(m): i for i, m in enumerate(layers)}
        self.calls: list[tuple[int, torch.Tensor, torch.Tensor, int]] = []
        self._handles = [m.register_forward_hook(self._hook) for m in layers]

    def _hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            self.calls.append((self.index[id(module)], args[0], output, output._version))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def _stack(x: torch.Tensor, copies: int) -> torch.Tensor:
    """``copies`` copies of the minibatch along the batch, in the minibatch's memory format."""
    xs = x.repeat(copies, *([1] * (x.dim() - 1)))
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        xs = xs.contiguous(memory_format=torch.channels_last)
    return xs


def _weight_grad(layer: nn.Module, weight: torch.Tensor, bias: Optional[torch.Tensor], a: torch.Tensor,
                 delta: torch.Tensor) -> torch.Tensor:
    """``∂L/∂W`` of one call from its input rows and output-gradient rows, as autograd computes it
    (``weight`` / ``bias``: the tensors the forward used)."""
    if isinstance(layer, nn.Conv2d):
        return torch.ops.aten.convolution_backward(delta, a, weight, None, list(layer.stride), list(layer.padding),
                                                   list(layer.dilation), False, [0] * len(layer.stride), layer.groups,
                                                   [False, True, False])[1]
    with torch.enable_grad():
        w = weight.detach().requires_grad_(True)
        return torch.autograd.grad(F.linear(a.detach(), w, None if bias is None else bias.detach()), w, delta)[0]


class GradientPerturbations:
    """Gradient-proxy scores of ``A_t - (e, o)`` for all remaining ops ``o`` of an edge (higher is better)."""

    def __init__(self, supernet: Supernet, proxy: str, options: Optional[dict[str, Any]] = None,
                 max_stack: int = 512):
        options = dict(options or {})
        reason = not_batchable(proxy, options, supernet.supernet_mode)
        if reason is None and any(type(m).__name__ == "NoiseOp" for m in supernet.modules()):
            reason = "the supernet has noise ops, which draw different noise for stacked copies"
        if reason:
            raise ProxyInputError(reason)
        self.spec: ProxySpec = get_proxy(proxy)
        self.supernet, self.proxy, self.options = supernet, self.spec.name, options
        self.kind = self.spec.batched_kind
        self.mode = options.get("mode", self.spec.default_mode)
        self.max_stack = max_stack
        self.layers = scored_layers(supernet)
        self.owner: dict[int, tuple[int, int]] = {}  # scored layer index -> (edge, op) of its MixedOp
        index = {id(m): i for i, m in enumerate(self.layers)}
        for mixed in supernet.mixed_ops():
            for o, op in enumerate(mixed.ops):
                for m in op.modules():
                    if id(m) in index:
                        self.owner[index[id(m)]] = (mixed.edge, o)

    def scores(self, edge: int | str, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None) -> dict[str, float]:
        """``{op: S(A_t - (edge, op))}`` over the remaining ops of ``edge``."""
        sn = self.supernet
        e = sn.edge_index(edge)
        ops = sn.remaining_ops(e)
        x = inputs.detach()
        # synaptic flow runs one all-ones input per copy, whatever the minibatch size
        per_pass = max(1, self.max_stack // max(1, x.shape[0] if self.kind != "synaptic-flow" else 1))
        values: list[float] = []
        for start in range(0, len(ops), per_pass):
            group = ops[start:start + per_pass]
            if self.kind == "synaptic-flow":
                values += self._synflow(e, group, x)
            elif self.kind == "input-jacobian":
                values += self._jacob_cov(e, group, x)
            else:
                values += self._loss_based(e, group, x, targets)
        return {sn.candidates[e][o]: v for o, v in zip(ops, values)}

    # ------------------------------------------------------------------ helpers
    def _absent(self, i: int, e: int, removed: int) -> bool:
        """Whether scored layer ``i`` is inside the op removed in this copy (absent from its supernet)."""
        return self.owner.get(i) == (e, removed)

    def _copy_weight_grads(self, calls, deltas, weights, biases, e: int, group: list[int], rows: int) -> list[list]:
        """Per copy, per scored layer: its weight gradient (``None`` where the copy has no such call)."""
        out = []
        for g, removed in enumerate(group):
            sl = slice(g * rows, (g + 1) * rows)
            grads: list[Optional[torch.Tensor]] = [None] * len(self.layers)
            for (i, a, _, _), delta in zip(calls, deltas):
                if delta is None or self._absent(i, e, removed):
                    continue
                part = _weight_grad(self.layers[i], weights[i], biases[i], a[sl], delta[sl])
                grads[i] = part if grads[i] is None else grads[i] + part
            out.append(grads)
        return out

    # ------------------------------------------------------------------ weight-saliency, channel-fisher
    def _loss_based(self, e: int, group: list[int], x: torch.Tensor, targets: Optional[torch.Tensor]) -> list[float]:
        sn, name = self.supernet, self.proxy
        loss_fn = resolve_loss(None, self.options.get("loss_reduction", "mean"))
        weights = [m.weight for m in self.layers]
        rows, G = x.shape[0], len(group)
        plan = sn.perturbation_plan(e, group)
        with scoring_state(sn, self.mode, None, grad_weights=weights) as dev, torch.enable_grad():
            xs = _stack(x.to(dev), G)
            y = prepare_targets(name, targets, x, dev)
            tape = _Tape(self.layers)
            try:
                with per_copy_batchnorm(sn, rows):
                    logits = logits_of(sn.forward_with_plan(xs, plan))
                losses = [loss_fn(logits[g * rows:(g + 1) * rows], y).reshape(()) for g in range(G)]
                calls = tape.calls
            finally:
                tape.remove()
            outputs = [z for _, _, z, _ in calls]
            deltas = torch.autograd.grad(torch.stack(losses).sum(), outputs, allow_unused=True) if outputs else []
            with torch.no_grad():
                if self.kind == "channel-fisher":
                    return [self._fisher_value(calls, deltas, e, removed, g, rows, dev) for g, removed in enumerate(group)]
                grads = self._copy_weight_grads(calls, deltas, weights, [m.bias for m in self.layers], e, group, rows)
                per_layer = self.spec.layer_saliency
                return [finish_saliency(name, sum_float64([per_layer(w, g) for w, g in zip(weights, copy)
                                                           if g is not None], dev).item()) for copy in grads]

    def _fisher_value(self, calls, deltas, e: int, removed: int, g: int, rows: int, dev: torch.device) -> float:
        name = self.proxy
        sl = slice(g * rows, (g + 1) * rows)
        squares: list[Optional[torch.Tensor]] = [None] * len(self.layers)
        for (i, _, act, version), delta in zip(calls, deltas):
            if act._version != version:
                raise ProxyInputError(f"{name}: the output of {type(self.layers[i]).__name__} layer #{i} was modified "
                                      f"in place after the layer (e.g. ReLU(inplace=True)); {name} needs the layer "
                                      "outputs unchanged")
            if delta is None or self._absent(i, e, removed):
                continue
            sq = _channel_products(self.layers[i], act[sl], delta[sl]).to(torch.float64).pow(2).sum(0)
            squares[i] = sq if squares[i] is None else squares[i] + sq
        terms = [sq.sum() * (0.5 * self.layers[i].weight[0].numel() / rows) for i, sq in enumerate(squares)
                 if sq is not None]
        return finish_saliency(name, sum_float64(terms, dev).item())

    # ------------------------------------------------------------------ input-jacobian
    def _jacob_cov(self, e: int, group: list[int], x: torch.Tensor) -> list[float]:
        sn, rows, G = self.supernet, x.shape[0], len(group)
        plan = sn.perturbation_plan(e, group)
        with scoring_state(sn, self.mode) as dev, torch.enable_grad():
            xs = _stack(x.to(dev), G).requires_grad_(True)
            with per_copy_batchnorm(sn, rows):
                out = logits_of(sn.forward_with_plan(xs, plan))
            grad = torch.autograd.grad(out.sum(), xs, allow_unused=True)[0] if out.requires_grad else None
            jac = (torch.zeros_like(xs) if grad is None else grad).reshape(xs.shape[0], -1).detach()
        values = []
        for g in range(G):
            value, degenerate = jacob_cov_from_jacobian(jac[g * rows:(g + 1) * rows])
            values.append(finalize(self.proxy, value, degenerate=degenerate))
        return values

    # ------------------------------------------------------------------ synaptic-flow
    def _synflow(self, e: int, group: list[int], x: torch.Tensor) -> list[float]:
        sn, G = self.supernet, len(group)
        log = bool(self.options.get("log", False))
        name = f"{self.proxy}(log)" if log else self.proxy
        names = {id(p): n for n, p in sn.named_parameters()}
        runner = _PlanRunner(sn, e, group)
        with scoring_state(sn, self.mode), torch.enable_grad():
            dev = next(iter(sn.parameters())).device
            tensors, _ = synflow_tensors(sn, dev)
            thetas = [tensors[names[id(m.weight)]].requires_grad_(True) for m in self.layers]
            tape = _Tape(self.layers)
            try:
                with batchnorms_as_identity(sn):
                    ones = torch.ones((G, *x.shape[1:]), dtype=torch.float64, device=dev)
                    out = logits_of(functional_call(runner, {f"net.{k}": v for k, v in tensors.items()}, (ones,)))
                    total = out.sum()
                calls = tape.calls
            finally:
                tape.remove()
            outputs = [z for _, _, z, _ in calls]
            deltas = torch.autograd.grad(total, outputs, allow_unused=True) if outputs and total.requires_grad \
                else [None] * len(outputs)
            with torch.no_grad():
                biases = [None if m.bias is None else tensors[names[id(m.bias)]] for m in self.layers]
                grads = self._copy_weight_grads(calls, deltas, thetas, biases, e, group, 1)
                return [synflow_value(name, thetas, copy, log) for copy in grads]


class _PlanRunner(nn.Module):
    """``net.forward_with_plan(x, net.perturbation_plan(edge, ops))`` as a module, so that under
    :func:`torch.func.functional_call` the plan is built from the substituted (float64) alpha."""

    def __init__(self, net: Supernet, edge: int, ops: list[int]):
        super().__init__()
        self.net, self.edge, self.ops = net, edge, ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_with_plan(x, self.net.perturbation_plan(self.edge, self.ops))
