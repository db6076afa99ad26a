"""y = activation(x @ W.T + bias), W a SparseWeight: torch.nn.functional.linear semantics."""

from __future__ import annotations

import numpy as np

from spiralkit._arrays import from_user_array, to_user_array
from spiralkit._native import lib
from spiralkit.ops._common import check_bias, check_weight
from spiralkit.ops.activation import activation_code
from spiralkit.sparse import SparseWeight

_F32 = np.dtype(np.float32)


def linear(x, w, bias=None, activation=None):
    """x of shape (..., K) -> (..., N). Returns the same array kind as ``x``."""
    # Fast path for the common inference call (a GEMV costs microseconds, so checks count):
    # float32 C-contiguous (M, K) numpy x, numpy bias or None, no activation. Anything else, or
    # any mismatch, takes the checked path below with its precise error messages.
    if (
        activation is None
        and type(x) is np.ndarray
        and type(w) is SparseWeight
        and x.ndim == 2
        and x.dtype == _F32
        and x.flags.c_contiguous
        and len(w._shape) == 2
        and x.shape[1] == w._shape[1]
        and (bias is None or (type(bias) is np.ndarray and bias.dtype == _F32 and bias.shape == (w._shape[0],)
                             and bias.flags.c_contiguous))
    ):
        return lib().linear(x, w._packed, bias, 0)
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
