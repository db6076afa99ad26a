"""torch modules over spiralkit's native sparse ops, and ``sparsify`` which swaps them in."""

from spiralkit.nn.modules import SparseConv2d, SparseLinear
from spiralkit.nn.sparsify import choose_pattern, sparsify

__all__ = ["SparseConv2d", "SparseLinear", "choose_pattern", "sparsify"]
