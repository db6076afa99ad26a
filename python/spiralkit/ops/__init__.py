"""Sparse ops with torch.nn.functional semantics, on numpy arrays or CPU torch tensors."""

from spiralkit.ops.activation import ACTIVATIONS
from spiralkit.ops.conv import conv2d
from spiralkit.ops.linear import linear

__all__ = ["ACTIVATIONS", "conv2d", "linear"]
