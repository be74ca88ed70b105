"""Fast zc-pt with nwot: all perturbations of an edge in one batched forward, exact kernels.

``S(A_t - (e, o))`` for the |O| ops of an edge is computed in **one** forward pass over |O|
stacked copies of the minibatch (:meth:`Supernet.perturbation_plan`: copy ``g`` weights op
``o_g`` by 0). BatchNorm runs in eval mode (the Zero-Cost-PT setting), so the copies do not
interact and each copy's activations are those of its own perturbed supernet.

The nwot kernel of copy ``g`` is accumulated exactly (integer-valued, as :mod:`..proxies.nwot`):
every hooked module call contributes ``(n + s_g s_gᵀ) / 2`` with ``s_g`` the ±1 codes of copy
``g``, *except* calls inside the op removed in copy ``g``, which do not exist in that supernet:

* ``supernet_mode="fast"`` (the library default): they contribute nothing -- exactly the nwot score of
  the supernet in ``fast`` mode (removed and weight-0 ops are not run);
* ``supernet_mode="published"``: the published code runs a weight-0 op on a zeroed input, so every
  hooked module inside it sees a sample-independent input and contributes ``n`` to *every* entry
  of ``K`` (``n·J``). That constant is added for the removed op of each copy and for every other op
  the fast forward skips (ops of discretized edges, ...), with ``n`` taken from a one-off batch-1
  calibration forward in ``published`` mode. The result equals nwot of the supernet in
  ``published`` mode, without running any weight-0 op.
* ``supernet_mode="block-input"``: as ``published``, except that a weight-0 op that zeroes its input
  *inside* (``ReLUConvBN(x, block_input=True)``, the published NB201 code) is itself called on the
  real input: a hook on the op module (the ``ReLUConvBN`` wrapper) codes ``x``, only the modules
  inside it contribute ``n·J``. For the removed op of the edge this is the call the batched
  forward makes anyway; for ops the fast forward skips on other edges, the codes of the edge's
  input are taken at its ``MixedOp``. The result equals nwot of the supernet in ``block-input`` mode.

Hooked calls on the same tensor (the ``ReLUConvBN`` wrapper and its ReLU; the ops of an edge and
the edges reading the same node) share one batched product (:class:`..proxies.nwot.TensorMemo`),
computed by the exact Gram backends of :mod:`..proxies.code_gram`; the supernet's no-grad forward
shares first layers and folds identity BatchNorms (:mod:`..fastpath`) with the same bits. A
convolution's result for a sample does not depend on the other samples of its batch (checked by
the tests), so the scores equal :func:`..proxies.nwot.nwot` on the individual perturbed supernets
exactly (``tests/test_fast_nwot.py``; ``benchmarks/search_speed.py`` compares the chosen ops with a
straightforward reference).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import nn

from ..proxies.code_gram import codes_dtype, default_backend
from ..proxies.nwot import TensorMemo, binary_codes, hooked_modules, kernel_logdets, sign_product
from ..proxies.policy import finalize
from ..supernet import SUPERNET_MODES, Supernet



class FastNwotPerturbations:
    """nwot scores of ``A_t - (e, o)`` for all remaining ops ``o`` of an edge, in one forward."""

    def __init__(self, supernet: Supernet, hooks: str = "relu", supernet_mode: str = "fast",
                 channels_last: bool = False):
        if supernet_mode not in SUPERNET_MODES:
            raise ValueError(f"supernet_mode must be one of {SUPERNET_MODES}, got {supernet_mode!r}")
        self.supernet, self.hooks, self.supernet_mode = supernet, hooks, supernet_mode
        self.channels_last = channels_last
        self.modules = hooked_modules(supernet, hooks)
        self.owner: dict[nn.Module, tuple[int, int]] = {}  # hooked module -> (edge, op) of its MixedOp
        self._op_modules: dict[tuple[int, int], list[list[nn.Module]]] = {}
        # block-input: hooked op modules that zero their input inside see the real input even at
        # weight 0 -- not owned by the op (MixedOp -> op indices of such modules)
        self._outer: dict[nn.Module, list[int]] = {}
        hooked = set(map(id, self.modules))
        for mixed in supernet.mixed_ops():
            for o, op in enumerate(mixed.ops):
                outer = supernet_mode == "block-input" and id(op) in hooked and getattr(op, "accepts_block_input", False)
                inside = [m for m in op.modules() if id(m) in hooked and not (outer and m is op)]
                if outer:
                    self._outer.setdefault(mixed, []).append(o)
                for m in inside:
                    self.owner[m] = (mixed.edge, o)
                self._op_modules.setdefault((mixed.edge, o), []).append(inside)
        self._units: dict[tuple[int, ...], dict[int, int]] = {}

    # ---------------------------------------------------------------- published constant
    def _calibrate(self, shape: tuple[int, ...], device: torch.device) -> dict[int, int]:
        """Units per sample of every hooked module call (one batch-1 forward, every op run)."""
        key = tuple(shape[1:])
        if key not in self._units:
            units: dict[int, int] = {}
            handles = [m.register_forward_pre_hook(
                lambda mod, args: units.__setitem__(id(mod), units.get(id(mod), 0) + args[0][0].numel()))
                for m in self.modules]
            saved = self.supernet.supernet_mode
            training = [m.training for m in self.supernet.modules()]
            try:
                self.supernet.supernet_mode = "block-input" if self.supernet_mode == "block-input" else "published"
                self.supernet.eval()  # no BatchNorm statistics update
                with torch.no_grad():
                    self.supernet(torch.zeros((1, *key), device=device))
            finally:
                self.supernet.supernet_mode = saved
                for m, flag in zip(self.supernet.modules(), training):
                    m.training = flag
                for h in handles:
                    h.remove()
            self._units[key] = units
        return self._units[key]

    def _skipped_units(self, units: dict[int, int], edge: int) -> int:
        """Units of hooked modules inside ops the fast forward does not run (other than ``edge``)."""
        sn = self.supernet
        total = 0
        for e in range(sn.num_edges):
            if e == edge:
                continue
            running = set(sn.remaining_ops(e))
            for o in range(sn.num_ops):
                if o in running and sn.candidates[e][o] != "none":
                    continue
                for module_list in self._op_modules.get((e, o), []):
                    total += sum(units[id(m)] for m in module_list)
        return total

    # ---------------------------------------------------------------- scores
    def scores(self, edge: int | str, inputs: torch.Tensor, targets: Optional[torch.Tensor] = None) -> dict[str, float]:
        """``{op: nwot(A_t - (edge, op))}`` over the remaining ops of ``edge`` (lower = more important)."""
        sn = self.supernet
        e = sn.edge_index(edge)
        ops = sn.remaining_ops(e)
        groups, batch = len(ops), inputs.shape[0]
        plan = sn.perturbation_plan(e, ops)
        x = inputs.repeat(groups, *([1] * (inputs.dim() - 1)))
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        acc = torch.zeros(groups, batch, batch, dtype=torch.float64, device=inputs.device)
        units = [0] * groups  # units counted per copy (host ints: no device round trips)
        excluded = [0] * groups  # units of the removed op's hooked calls, per copy
        removed_at = {o: g for g, o in enumerate(ops)}
        backend = default_backend(inputs.device)
        memo = TensorMemo()  # one product per distinct tensor, added once per hooked call on it
        everywhere = torch.ones(groups, 1, 1, dtype=torch.float64, device=inputs.device)

        def hook(module: nn.Module, args: tuple) -> None:
            t = args[0]
            product = memo.get(t)
            if product is None:
                c = binary_codes(t, groups * batch, codes_dtype(0, backend)).reshape(groups, batch, -1)
                product = sign_product(c, c, backend)
                memo.put(t, product)
            n = t[0].numel()
            owner = self.owner.get(module)
            if owner is not None and owner[0] == e and owner[1] in removed_at:
                g = removed_at[owner[1]]  # this call does not exist in copy g's supernet
                mask = everywhere.clone()
                mask[g] = 0.0
                acc.addcmul_(product, mask)
                for k in range(groups):
                    if k != g:
                        units[k] += n
                excluded[g] += n
            else:
                acc.add_(product)
                units[:] = [u + n for u in units]

        def outer_hook(count: int) -> Callable[[nn.Module, tuple], None]:
            def run(module: nn.Module, args: tuple) -> None:  # `count` skipped op modules coding this input
                for _ in range(count):
                    hook(module, args)
            return run

        handles = [m.register_forward_pre_hook(hook) for m in self.modules]
        for mixed, outer_ops in self._outer.items():  # block-input: skipped ops' wrappers see the edge input
            if mixed.edge != e:
                running = set(sn.remaining_ops(mixed.edge))
                count = sum(1 for o in outer_ops if o not in running)
                if count:
                    handles.append(mixed.register_forward_pre_hook(outer_hook(count)))
        training = [m.training for m in sn.modules()]
        try:
            sn.eval()
            with torch.no_grad():
                sn.forward_with_plan(x, plan)
        finally:
            for h in handles:
                h.remove()
            for m, flag in zip(sn.modules(), training):
                m.training = flag
        memo.clear()
        offset = torch.tensor(units, dtype=torch.float64, device=inputs.device).view(-1, 1, 1)
        kernels = acc.add_(offset).mul_(0.5)
        if self.supernet_mode != "fast":
            skipped = self._skipped_units(self._calibrate(tuple(inputs.shape), inputs.device), e)
            constant = torch.tensor([x + skipped for x in excluded], dtype=torch.float64, device=inputs.device)
            kernels.add_(constant.view(-1, 1, 1))
        out = {}
        for g, (sign, value) in enumerate(kernel_logdets(kernels)):
            name = sn.candidates[e][ops[g]]
            if sign == 0 or value == -math.inf:
                out[name] = finalize("nwot", -math.inf, degenerate="the kernel K is singular")
            else:
                out[name] = finalize("nwot", value)
        return out
