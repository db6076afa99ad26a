"""y = activation(x @ W.T + bias), W a SparseWeight: torch.nn.functional.linear semantics."""

from __future__ import annotations

from spiralkit._arrays import from_user_array, to_user_array
from spiralkit._native import lib
from spiralkit.ops._common import check_bias, check_weight
from spiralkit.ops.activation import activation_code


def linear(x, w, bias=None, activation=None):
    """x of shape (..., K) -> (..., N). Returns the same array kind as ``x``."""
    w = check_weight(w)
    if len(w.shape) != 2:
        raise ValueError(f"w: expected a 2-D linear weight, got a {len(w.shape)}-D weight of shape {w.shape}")
    n_out, k = w.matrix_shape
    arr, kind = from_user_array(x, "x")
    if arr.ndim < 1:
        raise ValueError("x: expected at least 1 dimension (..., K), got a scalar")
    if arr.shape[-1] != k:
        raise ValueError(f"x: expected last dimension K={k} to match w, got {arr.shape[-1]} (shape {tuple(arr.shape)})")
    b = check_bias(bias, n_out)
    act = activation_code(activation)
    rows = arr.reshape(-1, k)
    out = lib().linear(rows, w.native, b, act)
    return to_user_array(out.reshape(*arr.shape[:-1], n_out), kind)
