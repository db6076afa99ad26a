"""SparseLinear / SparseConv2d: inference modules whose weight is a packed SparseWeight.

They run spiralkit's kernels on CPU float32 tensors. They hold no trainable parameters: train
(and mask) the dense model, then :func:`spiralkit.sparsify` it for deployment.
"""

from __future__ import annotations

import torch
from torch import nn

import spiralkit
from spiralkit.ops import conv2d as sparse_conv2d
from spiralkit.ops import linear as sparse_linear


def _bias_array(bias):
    return None if bias is None else bias.detach().to(torch.float32).contiguous().numpy().copy()


class SparseLinear(nn.Module):
    def __init__(self, weight: torch.Tensor, bias, pattern: str, activation=None):
        super().__init__()
        self.weight_packed = spiralkit.pack(weight.detach().to(torch.float32).cpu().contiguous().numpy(), pattern)
        self.bias_values = _bias_array(bias)
        self.in_features = weight.shape[1]
        self.out_features = weight.shape[0]
        self.activation = activation

    @classmethod
    def from_dense(cls, layer: nn.Linear, pattern: str, activation=None) -> "SparseLinear":
        return cls(layer.weight, layer.bias, pattern, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return sparse_linear(x, self.weight_packed, self.bias_values, self.activation)

    def extra_repr(self) -> str:
        w = self.weight_packed
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, pattern='{w.pattern}', "
            f"sparsity={w.sparsity:.3f}, activation={self.activation}"
        )


class SparseConv2d(nn.Module):
    def __init__(self, weight: torch.Tensor, bias, pattern: str, stride, padding, dilation, groups, activation=None):
        super().__init__()
        if isinstance(padding, str):
            raise ValueError(f"padding: string padding '{padding}' is not supported; give explicit sizes")
        self.weight_packed = spiralkit.pack(weight.detach().to(torch.float32).cpu().contiguous().numpy(), pattern)
        self.bias_values = _bias_array(bias)
        self.stride, self.padding, self.dilation, self.groups = tuple(stride), tuple(padding), tuple(dilation), groups
        self.activation = activation

    @classmethod
    def from_dense(cls, layer: nn.Conv2d, pattern: str, activation=None) -> "SparseConv2d":
        if layer.padding_mode != "zeros":
            raise ValueError(f"padding_mode: only 'zeros' is supported, got '{layer.padding_mode}'")
        return cls(layer.weight, layer.bias, pattern, layer.stride, layer.padding, layer.dilation, layer.groups, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return sparse_conv2d(
                x, self.weight_packed, self.bias_values, self.stride, self.padding, self.dilation, self.groups,
                self.activation,
            )

    def extra_repr(self) -> str:
        w = self.weight_packed
        return (
            f"shape={w.shape}, stride={self.stride}, padding={self.padding}, groups={self.groups}, "
            f"pattern='{w.pattern}', sparsity={w.sparsity:.3f}"
        )
