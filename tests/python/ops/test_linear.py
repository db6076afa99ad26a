"""spiralkit.ops.linear against torch.nn.functional.linear on the dense weight."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spiralkit
from testing_utils import PATTERNS, max_rel_error, sparsity_for

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACTS = {None: lambda t: t, "relu": F.relu, "relu6": F.relu6, "gelu": F.gelu, "silu": F.silu, "sigmoid": torch.sigmoid}


def _weight(rng, n, k, pattern):
    return spiralkit.prune_to_pattern(rng.standard_normal((n, k)).astype(np.float32), pattern, sparsity_for(pattern))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("activation", list(ACTS))
def test_matches_torch(rng, pattern, activation):
    w = _weight(rng, 37, 45, pattern)
    x = rng.standard_normal((2, 3, 45)).astype(np.float32)
    b = rng.standard_normal(37).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern), b, activation=activation)
    want = ACTS[activation](F.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b))).numpy()
    assert got.shape == (2, 3, 37)
    assert max_rel_error(got, want) < 1e-5


@pytest.mark.parametrize("pattern", ["4x1", "2:4", "unstructured"])
@pytest.mark.parametrize("rows", [0, 1, 7, 128])
def test_row_counts(rng, pattern, rows):
    w = _weight(rng, 24, 33, pattern)
    x = rng.standard_normal((rows, 33)).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern))
    assert got.shape == (rows, 24)
    if rows:
        assert max_rel_error(got, x @ w.T) < 1e-5


def test_k_equals_one_and_empty_rows(rng):
    w = np.zeros((9, 1), dtype=np.float32)
    w[3, 0] = 2.0
    x = rng.standard_normal((4, 1)).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, "unstructured"))
    np.testing.assert_allclose(got, x @ w.T, rtol=1e-6)


def test_all_zero_weight_gives_bias(rng):
    w = np.zeros((8, 16), dtype=np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    got = spiralkit.ops.linear(rng.standard_normal((3, 16)).astype(np.float32), spiralkit.pack(w, "4x1"), b, "relu")
    np.testing.assert_allclose(got, np.broadcast_to(np.maximum(b, 0), (3, 8)))


def test_torch_in_torch_out_and_non_contiguous(rng):
    w = _weight(rng, 16, 32, "4x1")
    x = torch.randn(32, 5).t()  # non-contiguous (5, 32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, "4x1"))
    assert isinstance(got, torch.Tensor)
    assert max_rel_error(got.numpy(), F.linear(x, torch.from_numpy(w)).numpy()) < 1e-5


def test_1d_input(rng):
    w = _weight(rng, 8, 12, "unstructured")
    x = rng.standard_normal(12).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, "unstructured"))
    assert got.shape == (8,)
    assert max_rel_error(got, w @ x) < 1e-5


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda sw: spiralkit.ops.linear(np.ones((2, 8), np.float64), sw), "x: expected dtype float32"),
        (lambda sw: spiralkit.ops.linear(np.ones((2, 9), np.float32), sw), "x: expected last dimension K=8"),
        (lambda sw: spiralkit.ops.linear(np.ones((2, 8), np.float32), sw, np.ones(3, np.float32)), r"bias: expected shape \(4,\)"),
        (lambda sw: spiralkit.ops.linear(np.ones((2, 8), np.float32), sw, activation="tanh"), "activation"),
        (lambda sw: spiralkit.ops.linear(np.ones((2, 8), np.float32), np.ones((4, 8), np.float32)), "w: expected a spiralkit.SparseWeight"),
        (lambda sw: spiralkit.ops.linear(np.float32(1.0), sw), "x: expected"),
    ],
)
def test_bad_inputs(make, match):
    sw = spiralkit.pack(np.ones((4, 8), dtype=np.float32), "dense")
    with pytest.raises(ValueError, match=match):
        make(sw)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 20),
    n=st.integers(1, 40),
    k=st.integers(1, 40),
    pattern=st.sampled_from(PATTERNS),
    sparsity=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**16),
)
def test_random_shapes(m, n, k, pattern, sparsity, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k)).astype(np.float32)
    w = spiralkit.prune_to_pattern(w, pattern, 0.0 if pattern == "dense" else sparsity)
    x = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern), b)
    want = F.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)).numpy()
    assert max_rel_error(got, want) < 1e-5
