import numpy as np
import pytest

import spiralkit
from testing_utils import PATTERNS, sparsity_for


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (33, 65), (64, 64), (12, 3, 3, 3)])
def test_roundtrip_exact(rng, pattern, shape):
    w = rng.standard_normal(shape).astype(np.float32)
    w = spiralkit.prune_to_pattern(w, pattern, sparsity_for(pattern))
    sw = spiralkit.pack(w, pattern)
    back = sw.to_dense()
    assert back.dtype == np.float32 and back.shape == shape
    np.testing.assert_array_equal(back, w)
    assert sw.pattern == spiralkit.parse_pattern(pattern).name
    assert sw.shape == shape
    assert sw.nnz == int(np.count_nonzero(w))
    assert sw.sparsity == pytest.approx(1 - sw.nnz / w.size)


def test_nbytes_counts_values_and_indices(rng):
    raw = rng.standard_normal((64, 128)).astype(np.float32)
    w = spiralkit.prune_to_pattern(raw, "unstructured", 0.9)
    sw = spiralkit.pack(w, "unstructured")
    # CSR: nnz fp32 values + nnz int32 columns + (rows + 1) int32 row pointers
    assert sw.nbytes == sw.nnz * 8 + 65 * 4
    dense = spiralkit.pack(w, "dense")
    assert dense.nbytes == w.nbytes
    blocks = spiralkit.pack(spiralkit.prune_to_pattern(raw, "4x1", 0.9), "4x1")
    assert blocks.nbytes < dense.nbytes


def test_torch_input_roundtrips_as_torch():
    torch = pytest.importorskip("torch")
    w = spiralkit.prune_to_pattern(torch.randn(16, 8), "4x1", 0.5)
    sw = spiralkit.pack(w, "4x1")
    back = sw.to_dense()
    assert isinstance(back, torch.Tensor)
    assert torch.equal(back, w)


def test_non_contiguous_weight(rng):
    w = spiralkit.prune_to_pattern(rng.standard_normal((32, 16)).astype(np.float32), "unstructured", 0.5)
    sw = spiralkit.pack(w.T, "unstructured")  # a transposed view
    np.testing.assert_array_equal(sw.to_dense(), w.T)


def test_block_violation_names_the_block(rng):
    w = np.ones((8, 4), dtype=np.float32)
    w[5, 2] = 0.0
    with pytest.raises(ValueError, match=r"block at rows 4\.\.7, columns 2\.\.2"):
        spiralkit.pack(w, "4x1")


def test_nm_violation_names_the_group():
    w = np.zeros((2, 8), dtype=np.float32)
    w[1, 4:7] = 1.0
    with pytest.raises(ValueError, match=r"row 1, group of columns 4\.\.7"):
        spiralkit.pack(w, "2:4")


@pytest.mark.parametrize(
    "weight,match",
    [
        (np.ones((4, 4), dtype=np.float64), "float32"),
        (np.ones(4, dtype=np.float32), "2-D"),
        (np.ones((2, 2, 2), dtype=np.float32), "2-D"),
        (np.ones((0, 4), dtype=np.float32), "non-empty"),
        (np.array([[np.nan, 1]], dtype=np.float32), "NaN"),
        ([[1.0, 2.0]], "numpy float32 array"),
    ],
)
def test_bad_weights(weight, match):
    with pytest.raises(ValueError, match=match):
        spiralkit.pack(weight, "dense")


def test_channel_pattern_is_not_packable(rng):
    with pytest.raises(ValueError, match="channel"):
        spiralkit.pack(np.ones((4, 4), dtype=np.float32), "channel")
