"""pack(..., dtype="float16"): refused with UnsupportedError where the CPU has no fp16 arithmetic
(x86, Cortex-A72), and within fp16 rounding of the float32 result where it has (Cortex-A76/A78)."""
import numpy as np
import pytest

import spiralkit
from spiralkit import ops


def _weight(n=48, k=64, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k)).astype(np.float32)
    keep = rng.random((n // 4, k)) < 0.2  # 4x1 blocks, 80 % zero
    return w * np.repeat(keep, 4, axis=0)


def _has_fp16() -> bool:
    return spiralkit.info()["kernels"].get("f16-spmm", {}).get("isa") == "neonfp16"


def test_unknown_dtype_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="dtype"):
        spiralkit.pack(_weight(), "4x1", dtype="bfloat16")


def test_float32_is_the_default_dtype():
    assert spiralkit.pack(_weight(), "4x1").dtype == "float32"


@pytest.mark.skipif(_has_fp16(), reason="this CPU has fp16 arithmetic")
def test_float16_is_refused_without_fp16_arithmetic():
    with pytest.raises(spiralkit.UnsupportedError, match="FEAT_FP16"):
        spiralkit.pack(_weight(), "4x1", dtype="float16")


@pytest.mark.skipif(not _has_fp16(), reason="needs FEAT_FP16 (e.g. Cortex-A76)")
def test_float16_linear_and_pointwise_conv_match_float32_within_fp16_rounding():
    w = _weight()
    w16, w32 = spiralkit.pack(w, "4x1", dtype="float16"), spiralkit.pack(w, "4x1")
    assert w16.dtype == "float16"
    x = np.random.default_rng(1).standard_normal((5, w.shape[1])).astype(np.float32)
    y16, y32 = ops.linear(x, w16), ops.linear(x, w32)
    assert np.max(np.abs(y16 - y32)) <= 5e-3 * np.max(np.abs(y32))
    xc = np.random.default_rng(2).standard_normal((1, w.shape[1], 6, 7)).astype(np.float32)
    c16 = spiralkit.pack(w.reshape(*w.shape, 1, 1), "4x1", dtype="float16")
    c32 = spiralkit.pack(w.reshape(*w.shape, 1, 1), "4x1")
    z16, z32 = ops.conv2d(xc, c16), ops.conv2d(xc, c32)
    assert np.max(np.abs(z16 - z32)) <= 5e-3 * np.max(np.abs(z32))
