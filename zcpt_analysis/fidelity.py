"""zc-pt's nwot scores ``S(A - (e, o))`` under several execution / hook semantics from one forward.

The supernet's execution modes (:mod:`zcpt_analysis.supernet`) give the *same activations*; they
differ only in which hooked modules run and on what. So one forward of ``A - (e, o)`` in
``block-input`` mode (every op runs; the removed op is called on its real input and zeroes it
inside), with every module whose type name contains ``ReLU`` hooked, holds everything nwot needs
for each of the :data:`SEMANTICS`: a hooked call contributes its codes' kernel to a semantics
unless that semantics

* hooks only ``nn.ReLU`` and the module is not one (``hooks="relu"``);
* skips weight-0 ops (``fast``) and the call is inside the removed op;
* zeroes the removed op's input before calling it (``published``, the first release's model) and
  the call is the removed op's own module (its wrapper then codes all zeros: ``n`` added to every
  entry of ``K``; the modules inside it see zeros in every zero-input mode anyway).

Kernels are exact integers (as :mod:`zcpt_analysis.proxies.nwot`), so each score equals
``nwot(A - (e, o), mode=..., hooks=...)`` of the supernet in that execution mode whenever the
activations agree bit for bit -- adding an exactly-zero term does not change a float sum, which
``tests/test_fidelity.py`` checks on real data and the fidelity benchmark reports at full size.
Used by ``benchmarks/iteration0_fidelity.py``; one forward replaces one per semantics.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

import torch
from torch import nn

from .proxies.nwot import binary_codes, hooked_modules, sign_product
from .proxies.policy import finalize
from .supernet import Supernet

SEMANTICS: dict[str, tuple[str, str]] = {
    "ours": ("fast", "relu"),
    "hooks-only": ("fast", "published"),
    "zero-input-relu": ("block-input", "relu"),
    "published-v1": ("published", "published"),
    "block-input": ("block-input", "published"),
}
"""Semantics name -> (supernet execution mode, nwot ``hooks`` option). ``zero-input-relu`` is also
``("published", "relu")``: with ``nn.ReLU`` hooks only, where the input is zeroed does not matter."""


def perturbation_scores(supernet: Supernet, edge: int | str, inputs: torch.Tensor, *, bn_mode: str = "eval",
                        semantics: Optional[Mapping[str, tuple[str, str]]] = None) -> dict[str, dict[str, float]]:
    """``{semantics: {op: nwot(A_0 - (edge, op))}}`` for every op of ``edge`` of the untouched
    supernet ``A_0`` (lower = more important op, as zc-pt reads it), one forward per op. ``bn_mode``: ``eval`` (running
    statistics, the Zero-Cost-PT setting) or ``train`` (batch statistics; BatchNorm buffers are
    restored). The supernet's mode, state and training flags are left as they were."""
    sem = dict(SEMANTICS if semantics is None else semantics)
    for name, (mode, hooks) in sem.items():
        if mode not in ("fast", "published", "block-input") or hooks not in ("relu", "published"):
            raise ValueError(f"semantics {name!r}: unknown mode / hooks {(mode, hooks)}")
    if bn_mode not in ("eval", "train"):
        raise ValueError(f"bn_mode must be eval or train, got {bn_mode!r}")
    e = supernet.edge_index(edge)
    state = supernet.arch_state
    if state.t or any(state.removed_indices(i) for i in range(state.num_edges)) or any(state.pruned):
        raise ValueError("perturbation_scores is for A_0 (no discretized, removed or pruned op): the fast "
                         "semantics would also skip the other weight-0 ops")
    modules = hooked_modules(supernet, "published")
    owner: dict[nn.Module, tuple[int, int, bool]] = {}  # hooked module -> (edge, op, is the op module itself)
    hooked = set(map(id, modules))
    for mixed in supernet.mixed_ops():
        for o, op in enumerate(mixed.ops):
            for m in op.modules():
                if id(m) in hooked:
                    owner[m] = (mixed.edge, o, m is op)
    out: dict[str, dict[str, float]] = {name: {} for name in sem}
    saved_mode, flags = supernet.supernet_mode, [m.training for m in supernet.modules()]
    buffers = [(b, b.detach().clone()) for b in supernet.buffers()] if bn_mode == "train" else []
    try:
        supernet.supernet_mode = "block-input"
        supernet.train(bn_mode == "train")
        for o in supernet.remaining_ops(e):
            with supernet.perturbed(e, o), torch.no_grad():
                kernels = _kernels(supernet, inputs, modules, owner, (e, o), sem)
            for b, value in buffers:
                b.copy_(value)
            for name, kernel in kernels.items():
                sign, logabs = torch.linalg.slogdet(kernel)
                value = logabs.item()
                out[name][supernet.candidates[e][o]] = (
                    finalize("nwot", -math.inf, degenerate="the kernel K is singular")
                    if sign.item() == 0 or value == -math.inf else finalize("nwot", value))
    finally:
        supernet.supernet_mode = saved_mode
        for m, flag in zip(supernet.modules(), flags):
            m.training = flag
    return out


def _kernels(supernet: Supernet, x: torch.Tensor, modules: list[nn.Module],
             owner: Mapping[nn.Module, tuple[int, int, bool]], removed: tuple[int, int],
             sem: Mapping[str, tuple[str, str]]) -> dict[str, torch.Tensor]:
    n_batch = x.shape[0]
    acc = {name: torch.zeros(n_batch, n_batch, dtype=torch.float64, device=x.device) for name in sem}
    units = dict.fromkeys(sem, 0)
    const = dict.fromkeys(sem, 0)  # sign products of all-zero codes: n in every entry
    seen: dict[int, tuple[torch.Tensor, int, torch.Tensor]] = {}  # one product per input tensor and version

    def hook(module: nn.Module, args: tuple) -> None:
        t = args[0]
        prev = seen.get(id(t))
        if prev is not None and prev[0] is t and prev[1] == t._version:
            product = prev[2]
        else:
            codes = binary_codes(t, n_batch)
            product = sign_product(codes, codes)
            seen[id(t)] = (t, t._version, product)  # a cell's input feeds three edges
        n = t[0].numel()
        where = owner.get(module)
        inside = where is not None and (where[0], where[1]) == removed
        for name, (mode, hooks) in sem.items():
            if hooks == "relu" and not isinstance(module, nn.ReLU):
                continue
            if mode == "fast" and inside:
                continue  # the removed op does not run
            units[name] += n
            if mode == "published" and inside and where[2]:
                const[name] += n  # its own module is called on a zeroed input
            else:
                acc[name].add_(product)

    handles = [m.register_forward_pre_hook(hook) for m in modules]
    try:
        supernet(x)
    finally:
        for h in handles:
            h.remove()
        seen.clear()
    return {name: acc[name].add_(float(const[name] + units[name])).mul_(0.5) for name in sem}
