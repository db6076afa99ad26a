"""Argument checks shared by the ops: each names the argument, the expected and the actual value."""

from __future__ import annotations

from spiralkit._arrays import from_user_array
from spiralkit.sparse import SparseWeight


def check_weight(w) -> SparseWeight:
    if not isinstance(w, SparseWeight):
        raise ValueError(f"w: expected a spiralkit.SparseWeight (see spiralkit.pack), got {type(w).__name__}")
    return w


def check_bias(bias, n_out: int):
    if bias is None:
        return None
    arr, _ = from_user_array(bias, "bias")
    if arr.shape != (n_out,):
        raise ValueError(f"bias: expected shape ({n_out},), got {tuple(arr.shape)}")
    return arr
