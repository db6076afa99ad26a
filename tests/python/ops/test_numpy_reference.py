"""spiralkit.ops.linear / conv2d against a float64 numpy reference: no torch, so these also run in
the aarch64 CPython under qemu (scripts/test-aarch64.sh), where they exercise the NEON rows.

Shapes are chosen to cover each kernel family's paths: one row (GEMV) and several (GEMM), output
counts that are and are not a multiple of the 4/8-row tiles, 1x1 and kxk convolutions with stride,
padding, dilation, depthwise and grouped, and every fused activation."""

import math

import numpy as np
import pytest

import spiralkit
from testing_utils import PATTERNS, max_rel_error, sparsity_for

_erf = np.vectorize(math.erf)
REFERENCE_ACTIVATIONS = {
    None: lambda y: y,
    "relu": lambda y: np.maximum(y, 0.0),
    "relu6": lambda y: np.clip(y, 0.0, 6.0),
    "gelu": lambda y: 0.5 * y * (1.0 + _erf(y / math.sqrt(2.0))),  # exact (erf) GELU, torch's default
    "silu": lambda y: y / (1.0 + np.exp(-y)),
    "sigmoid": lambda y: 1.0 / (1.0 + np.exp(-y)),
}
TOL = 1e-5


def _pruned(rng, shape, pattern):
    w = rng.standard_normal(shape).astype(np.float32)
    return spiralkit.prune_to_pattern(w, pattern, sparsity_for(pattern))


def _linear_ref(x, w, b, activation):
    y = x.astype(np.float64) @ w.astype(np.float64).T + (0.0 if b is None else b.astype(np.float64))
    return REFERENCE_ACTIVATIONS[activation](y)


def _conv_ref(x, w, b, stride, padding, dilation, groups):
    """Direct convolution in float64 (PyTorch's conv2d semantics, cross-correlation)."""
    n, c_in, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, c_out, ho, wo))
    per_group = c_out // groups
    for g in range(groups):
        xs = xp[:, g * c_in_g:(g + 1) * c_in_g]
        wg = w[g * per_group:(g + 1) * per_group].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dilation:i * dilation + stride * (ho - 1) + 1:stride,
                           j * dilation:j * dilation + stride * (wo - 1) + 1:stride]
                out[:, g * per_group:(g + 1) * per_group] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    if b is not None:
        out += b.astype(np.float64)[None, :, None, None]
    return out


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("rows", [1, 5, 17])
def test_linear_matches_numpy(rng, pattern, rows):
    w = _pruned(rng, (24, 40), pattern)
    b = rng.standard_normal(24).astype(np.float32)
    x = rng.standard_normal((rows, 40)).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern), b)
    assert got.dtype == np.float32 and got.shape == (rows, 24)
    assert max_rel_error(got, _linear_ref(x, w, b, None)) < TOL


@pytest.mark.parametrize("activation", list(REFERENCE_ACTIVATIONS))
@pytest.mark.parametrize("pattern", ["dense", "4x1", "8x1", "2:4"])
def test_linear_fused_activation(rng, activation, pattern):
    w = _pruned(rng, (16, 32), pattern)
    b = rng.standard_normal(16).astype(np.float32)
    x = rng.standard_normal((3, 32)).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern), b, activation)
    assert max_rel_error(got, _linear_ref(x, w, b, activation)) < TOL


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (9, 33), (64, 96)])
def test_linear_odd_shapes_unstructured(rng, shape):
    n, k = shape
    w = _pruned(rng, (n, k), "unstructured")
    x = rng.standard_normal((2, k)).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, "unstructured"))
    assert max_rel_error(got, _linear_ref(x, w, None, None)) < TOL


CONV_GEOMETRIES = [
    # (c_in, c_out, size, kernel, stride, padding, dilation, groups)
    (16, 24, 7, 1, 1, 0, 1, 1),   # pointwise (sparse 1x1 path)
    (3, 8, 9, 3, 1, 1, 1, 1),     # stem-like 3x3
    (8, 16, 10, 3, 2, 1, 1, 1),   # strided
    (4, 8, 9, 3, 1, 2, 2, 1),     # dilated
    (8, 8, 6, 3, 1, 1, 1, 8),     # depthwise
    (8, 16, 6, 3, 1, 1, 1, 4),    # grouped
]


@pytest.mark.parametrize("pattern", ["dense", "unstructured", "4x1", "8x1", "1x4", "2:4"])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=lambda g: "c{}-{}_s{}_k{}_st{}_p{}_d{}_g{}".format(*g))
def test_conv2d_matches_numpy(rng, pattern, geometry):
    c_in, c_out, size, kernel, stride, padding, dilation, groups = geometry
    w = _pruned(rng, (c_out, c_in // groups, kernel, kernel), pattern)
    b = rng.standard_normal(c_out).astype(np.float32)
    x = rng.standard_normal((2, c_in, size, size)).astype(np.float32)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, pattern), b, stride=stride, padding=padding,
                               dilation=dilation, groups=groups)
    want = _conv_ref(x, w, b, stride, padding, dilation, groups)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert max_rel_error(got, want) < TOL


@pytest.mark.parametrize("activation", ["relu", "relu6", "silu"])
def test_conv2d_fused_activation(rng, activation):
    w = _pruned(rng, (16, 8, 1, 1), "4x1")
    b = rng.standard_normal(16).astype(np.float32)
    x = rng.standard_normal((1, 8, 5, 5)).astype(np.float32)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, "4x1"), b, activation=activation)
    want = REFERENCE_ACTIVATIONS[activation](_conv_ref(x, w, b, 1, 0, 1, 1))
    assert max_rel_error(got, want) < TOL
