"""2-D convolution on NCHW input with a SparseWeight: torch.nn.functional.conv2d semantics."""

from __future__ import annotations

import numpy as np

from spiralkit._arrays import from_user_array, to_user_array
from spiralkit._native import lib
from spiralkit.ops._common import check_bias, check_weight
from spiralkit.ops.activation import activation_code
from spiralkit.sparse import SparseWeight

_F32 = np.dtype(np.float32)


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return items


def conv_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None):
    """x (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out); the same array kind as ``x``."""
    # Fast path for the common inference call (small convolutions take microseconds): float32
    # C-contiguous NCHW numpy x, int geometry, numpy bias or None, no activation, valid sizes.
    # Anything else takes the checked path below with its precise error messages.
    if (
        activation is None
        and type(x) is np.ndarray
        and type(w) is SparseWeight
        and x.ndim == 4
        and x.dtype == _F32
        and x.flags.c_contiguous
        and len(w._shape) == 4
        and type(stride) is int and type(padding) is int and type(dilation) is int and type(groups) is int
        and stride >= 1 and padding >= 0 and dilation >= 1 and groups >= 1
        and x.shape[1] == w._shape[1] * groups
        and w._shape[0] % groups == 0
        and x.shape[2] + 2 * padding >= dilation * (w._shape[2] - 1) + 1
        and x.shape[3] + 2 * padding >= dilation * (w._shape[3] - 1) + 1
        and (bias is None or (type(bias) is np.ndarray and bias.dtype == _F32 and bias.shape == (w._shape[0],)
                              and bias.flags.c_contiguous))
    ):
        kh, kw = w._shape[2], w._shape[3]
        return lib().conv2d(x, w._packed, bias, kh, kw, stride, stride, padding, padding, dilation, dilation, groups, 0)
    w = check_weight(w)
    if len(w.shape) != 4:
        raise ValueError(f"w: expected a 4-D conv weight (C_out, C_in/groups, kh, kw), got shape {w.shape}")
    c_out, c_in_g, kh, kw = w.shape
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    if c_out % groups:
        raise ValueError(f"groups: C_out={c_out} of w is not divisible by groups={groups}")
    arr, kind = from_user_array(x, "x")
    unbatched = arr.ndim == 3
    if unbatched:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"x: expected a 4-D (N, C, H, W) or 3-D (C, H, W) array, got {arr.ndim}-D")
    batch, c_in, h, wd = arr.shape
    if c_in != c_in_g * groups:
        raise ValueError(
            f"x: expected C={c_in_g * groups} channels (w's C_in/groups={c_in_g} x groups={groups}), got {c_in}"
        )
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(wd, kw, sw, pw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"x: input {h}x{wd} is smaller than the dilated kernel {kh}x{kw} (dilation {dh},{dw}) after padding"
        )
    b = check_bias(bias, c_out)
    out = lib().conv2d(arr, w.native, b, kh, kw, sh, sw, ph, pw, dh, dw, groups, activation_code(activation))
    if unbatched:
        out = out[0]
    return to_user_array(out, kind)
