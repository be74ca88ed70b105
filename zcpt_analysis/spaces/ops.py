"""Candidate operations and building blocks of the NAS-Bench-201 cell-based networks.

The modules mirror NAS-Bench-201's ``cell_operations`` so that a standalone network built here has
the same structure (and parameter count) as the one NAS-Bench-201 trained. The class names keep
the reference spelling (``ReLUConvBN`` ...) because the published Zero-Cost-PT code attaches its
nwot hooks to every module whose *type name* contains ``ReLU`` (see the nwot compatibility option).

Every op factory has the signature ``(C_in, C_out, stride, affine, track_running_stats)``.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

OpFactory = Callable[[int, int, int, bool, bool], nn.Module]


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d.

    ``forward(x, block_input=True)`` runs it on a zeroed input *inside* the module, as the
    published NB201 code runs a weight-0 op: hooks on this module still see ``x``, the inner ReLU
    sees zeros (the supernet's ``block-input`` mode).
    """

    accepts_block_input = True

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True, track_running_stats: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x: torch.Tensor, block_input: bool = False) -> torch.Tensor:
        return super().forward(x.mul(0.0) if block_input else x)


class Zero(nn.Module):
    """The ``none`` op: an all-zero output of the (strided) input's shape."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return x.mul(0.0)


class Identity(nn.Module):
    """The ``skip_connect`` op when input and output shapes agree."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def sequential_layers(self) -> tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]:
        """No layers: the op returns its input (see :mod:`zcpt_analysis.fastpath`)."""
        return (), ()


class FactorizedReduce(nn.Module):
    """Skip connection that changes channels and/or halves the resolution (two offset 1x1 convs)."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, got {stride}")
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            halves = [C_out // 2, C_out - C_out // 2]
            self.convs = nn.ModuleList(nn.Conv2d(C_in, c, 1, stride=2, padding=0, bias=False) for c in halves)
        else:
            self.conv = nn.Conv2d(C_in, C_out, 1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = self.relu(x)
            shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
            out = torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


class Pooling(nn.Module):
    """3x3 average/max pooling, preceded by a 1x1 ReLUConvBN when the channel count changes."""

    def __init__(self, C_in: int, C_out: int, stride: int, mode: str, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        self.preprocess = None if C_in == C_out else ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        if mode == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        elif mode == "max":
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ValueError(f"pooling mode must be 'avg' or 'max', got {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)

    def sequential_layers(self) -> tuple[tuple[nn.Module, ...], tuple[nn.Module, ...]]:
        """The inner modules :meth:`forward` calls and the layers it applies (see :mod:`zcpt_analysis.fastpath`)."""
        if self.preprocess is None:
            return (), (self.pool,)
        return (self.preprocess,), (*self.preprocess, self.pool)


class ResNetBasicblock(nn.Module):
    """NAS-Bench-201's residual reduction block between stages (stride 2, channels doubled)."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(C_in, C_out, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.downsample = None
        self.out_dim = C_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


def _skip(C_in: int, C_out: int, stride: int, affine: bool, track: bool) -> nn.Module:
    if stride == 1 and C_in == C_out:
        return Identity()
    return FactorizedReduce(C_in, C_out, stride, affine, track)


NB201_OPS: dict[str, OpFactory] = {
    "none": lambda C_in, C_out, stride, affine, track: Zero(stride),
    "skip_connect": _skip,
    "nor_conv_1x1": lambda C_in, C_out, stride, affine, track: ReLUConvBN(C_in, C_out, 1, stride, 0, 1, affine, track),
    "nor_conv_3x3": lambda C_in, C_out, stride, affine, track: ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track),
    "avg_pool_3x3": lambda C_in, C_out, stride, affine, track: Pooling(C_in, C_out, stride, "avg", affine, track),
}
"""NAS-Bench-201's five candidate operations, by their official names."""
