"""Candidate operations of the DARTS CNN search space (and the RobustDARTS ``noise`` op).

Structures follow DARTS (Liu et al. 2019) as DARTS-PT and Zero-Cost-PT use them:

* ``sep_conv_kxk``: (ReLU, depthwise kxk, pointwise 1x1, BN) twice, the first with the op's stride;
* ``dil_conv_kxk``: ReLU, depthwise kxk with dilation 2, pointwise 1x1, BN;
* ``max_pool_3x3`` / ``avg_pool_3x3`` (``count_include_pad=False``): in *search* cells followed by a
  ``BatchNorm2d(affine=False)`` (DARTS's ``MixedOp``); bare in evaluation networks;
* ``skip_connect``: identity, or :class:`FactorizedReduce` when the op has stride 2;
* ``none``: zeros of the (strided) input's shape; ``noise``: N(0, 1) of that shape, drawn afresh on
  every call from the global torch generator and independent of the input's values (RobustDARTS S4).

Every op factory has the DARTS signature ``(C, stride, affine) -> nn.Module`` (inside a cell every
op maps C channels to C channels). Module *class names* and *attribute names* follow the DARTS
code: the published Zero-Cost-PT nwot hooks every module whose type name contains ``ReLU`` (so the
:class:`ReLUConvBN` wrapper counts), and identical attribute names give an evaluation network the
same ``state_dict`` keys as DARTS's ``model.py`` (released DARTS checkpoints load as they are).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import UnknownNameError
from .ops import Identity, Zero  # shared with NAS-Bench-201 (same behaviour)

OpFactory = Callable[[int, int, bool], nn.Module]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d, as DARTS's cell preprocessing."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)

    def sequential_layers(self) -> tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]:
        """The inner modules :meth:`forward` calls and the layers it applies (see :mod:`zcpt_analysis.fastpath`)."""
        return (self.op,), tuple(self.op)


class DilConv(nn.Module):
    """ReLU -> dilated depthwise conv -> pointwise conv -> BN."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=C_in,
                      bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)

    def sequential_layers(self) -> tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]:
        """The inner modules :meth:`forward` calls and the layers it applies (see :mod:`zcpt_analysis.fastpath`)."""
        return (self.op,), tuple(self.op)


class SepConv(nn.Module):
    """Two stacked (ReLU, depthwise, pointwise, BN) blocks; only the first has the op's stride."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=1, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)

    def sequential_layers(self) -> tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]:
        """The inner modules :meth:`forward` calls and the layers it applies (see :mod:`zcpt_analysis.fastpath`)."""
        return (self.op,), tuple(self.op)


class NoiseOp(nn.Module):
    """``noise`` (RobustDARTS S4): ``N(mean, std**2)`` noise of the (strided) input's shape.

    The output depends on the input only through its shape, dtype and device; a new sample is drawn
    on every call (from the global torch generator, so ``torch.manual_seed`` makes it repeatable).
    No gradient flows through it.
    """

    def __init__(self, stride: int, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.stride, self.mean, self.std = stride, float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return torch.randn(x.shape, dtype=x.dtype, device=x.device) * self.std + self.mean


class FactorizedReduce(nn.Module):
    """Stride-2 skip connection: ReLU, two 1x1 stride-2 convs (the second on the input shifted by one
    pixel), concatenated to ``C_out`` channels, then BN.

    DARTS feeds the second conv ``x[:, :, 1:, 1:]``; here the input is zero-padded by one row and
    column before the shift, which gives identical outputs for even sizes (all sizes the DARTS
    networks see) and matching shapes for odd ones. Odd ``C_out`` is split ``C_out//2 + (C_out -
    C_out//2)`` (DARTS requires it even; for even ``C_out`` the layers are identical).
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


DARTS_OPS: dict[str, OpFactory] = {
    "none": lambda C, stride, affine: Zero(stride),
    "noise": lambda C, stride, affine: NoiseOp(stride, 0.0, 1.0),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": lambda C, stride, affine: Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
}
"""The DARTS candidate operations (plus RobustDARTS's ``noise``) by their DARTS names."""

PRIMITIVES: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                               "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
"""The 8 ops of the full DARTS space, in DARTS's order."""

PRIMITIVES_NO_NONE: tuple[str, ...] = PRIMITIVES[1:]
"""The 7 ops the DARTS-PT / Zero-Cost-PT DARTS experiments use (``none`` removed)."""


def check_op(name: str) -> str:
    """``name`` if it is a known DARTS op, else :class:`UnknownNameError` listing the valid ones."""
    if name not in DARTS_OPS:
        raise UnknownNameError("DARTS op", name, DARTS_OPS)
    return name


def make_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """The op ``name`` as in a DARTS evaluation network (pooling without BN)."""
    return DARTS_OPS[check_op(name)](C, stride, affine)


def make_search_op(name: str, C: int, stride: int) -> nn.Module:
    """The op ``name`` as in a DARTS search cell: ``affine=False`` BN, pooling followed by BN."""
    op = DARTS_OPS[check_op(name)](C, stride, False)
    if "pool" in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op
