import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spiralkit
from spiralkit.patterns import pattern_mask


@pytest.mark.parametrize(
    "name,kind,fields",
    [
        ("dense", "dense", {}),
        ("unstructured", "unstructured", {}),
        ("channel", "channel", {}),
        ("4x1", "block", {"rows": 4, "cols": 1}),
        ("16x16", "block", {"rows": 16, "cols": 16}),
        ("1x4-cin", "block", {"rows": 1, "cols": 4, "along_cin": True}),
        ("2:4", "nm", {"n": 2, "m": 4}),
        (" 4:8 ", "nm", {"n": 4, "m": 8}),
    ],
)
def test_parse_pattern(name, kind, fields):
    pat = spiralkit.parse_pattern(name)
    assert pat.kind == kind
    for key, value in fields.items():
        assert getattr(pat, key) == value
    assert spiralkit.parse_pattern(pat.name) == pat


@pytest.mark.parametrize("bad", ["", "4x", "0x4", "4:4", "5:4", "0:4", "sparse", "2:300", "1x4-cout", "2:4-cin"])
def test_parse_pattern_rejects(bad):
    with pytest.raises(ValueError, match="pattern"):
        spiralkit.parse_pattern(bad)


def _groups_ok(keep, n, m):
    rows, k = keep.shape
    for start in range(0, k, m):
        if (keep[:, start : start + m].sum(axis=1) > n).any():
            return False
    return True


@pytest.mark.parametrize("pattern", ["unstructured", "4x1", "8x1", "1x4", "16x16", "3x5", "2:4", "4:8", "1:4", "channel"])
@pytest.mark.parametrize("sparsity", [0.5, 0.8, 0.95])
def test_prune_to_pattern_hits_sparsity_and_pattern(rng, pattern, sparsity):
    w = rng.standard_normal((37, 70)).astype(np.float32)
    pruned = spiralkit.prune_to_pattern(w, pattern, sparsity)
    achieved = float((pruned == 0).mean())
    pat = spiralkit.parse_pattern(pattern)
    if pat.kind == "nm":
        # At most N of every M kept (a short last group keeps at most min(N, its size)).
        most_kept = 37 * sum(min(pat.n, 70 - g) for g in range(0, 70, pat.m))
        assert achieved >= max(sparsity, 1 - most_kept / w.size) - 1 / w.size
        assert _groups_ok(pruned != 0, pat.n, pat.m)
    elif pat.kind == "channel":
        assert abs(achieved - sparsity) <= 1 / 37
        assert set(np.unique((pruned != 0).sum(axis=1))) <= {0, 70}
    else:
        # Blocks move in block-sized steps; the edge blocks are smaller.
        step = pat.rows * pat.cols / w.size if pat.kind == "block" else 1 / w.size
        assert abs(achieved - sparsity) <= step + 1e-9
    if pat.kind != "channel":
        spiralkit.pack(pruned, pattern)  # packs without complaint: the zeros follow the pattern
    kept = pruned != 0
    np.testing.assert_array_equal(pruned[kept], w[kept])


def test_magnitude_keeps_the_largest(rng):
    w = rng.standard_normal((8, 16)).astype(np.float32)
    pruned = spiralkit.prune_to_pattern(w, "unstructured", 0.75)
    threshold = np.sort(np.abs(w).ravel())[-32]
    assert (np.abs(pruned[pruned != 0]) >= threshold).all()


def test_nm_keeps_top_n_in_each_group():
    scores = np.array([[1, 4, 3, 2, 9, 8, 0, 7]], dtype=np.float64)
    keep = pattern_mask(scores, "2:4", 0.5)
    np.testing.assert_array_equal(keep, [[False, True, True, False, True, True, False, False]])


def test_block_mask_uses_mean_so_edge_blocks_compete_fairly():
    scores = np.ones((5, 4))
    scores[4, :] = 10.0  # the partial last 4x1 block row holds the largest values
    keep = pattern_mask(scores, "4x1", 0.8)
    assert keep[4].all()


def test_conv_weight_is_viewed_as_n_by_k(rng):
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    pruned = spiralkit.prune_to_pattern(w, "4x1", 0.5)
    assert pruned.shape == w.shape
    spiralkit.pack(pruned, "4x1")


def test_cin_blocks_group_input_channels_at_each_tap(rng):
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    pruned = spiralkit.prune_to_pattern(w, "1x4-cin", 0.75)
    nz = (pruned != 0).transpose(0, 2, 3, 1).reshape(8, 9, 2, 4).sum(-1)  # per (row, tap, channel quad)
    assert ((nz == 0) | (nz == 4)).all()
    assert (pruned == 0).mean() == pytest.approx(0.75, abs=0.02)
    sw = spiralkit.pack(pruned, "1x4-cin")
    assert sw.pattern == "1x4-cin"
    np.testing.assert_array_equal(sw.to_dense(), pruned)
    # Blocks along K (PyTorch's order) are not blocks along C_in: packing names the difference.
    with pytest.raises(ValueError, match="1x4-cin"):
        spiralkit.pack(spiralkit.prune_to_pattern(w, "1x4", 0.75), "1x4-cin")
    # Linear and 1x1 weights read both the same way.
    lin = rng.standard_normal((8, 16)).astype(np.float32)
    np.testing.assert_array_equal(spiralkit.prune_to_pattern(lin, "1x4-cin", 0.5), spiralkit.prune_to_pattern(lin, "1x4", 0.5))
    one = rng.standard_normal((8, 16, 1, 1)).astype(np.float32)
    np.testing.assert_array_equal(spiralkit.prune_to_pattern(one, "1x4-cin", 0.5), spiralkit.prune_to_pattern(one, "1x4", 0.5))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_sparsity_out_of_range(rng, bad):
    with pytest.raises(ValueError, match="sparsity"):
        spiralkit.prune_to_pattern(rng.standard_normal((4, 4)).astype(np.float32), "unstructured", bad)


def test_dense_admits_no_sparsity(rng):
    with pytest.raises(ValueError, match="dense"):
        spiralkit.prune_to_pattern(rng.standard_normal((4, 4)).astype(np.float32), "dense", 0.5)


def test_prune_to_pattern_returns_torch_for_torch():
    torch = pytest.importorskip("torch")
    w = torch.randn(16, 8)
    out = spiralkit.prune_to_pattern(w, "2:4", 0.5)
    assert isinstance(out, torch.Tensor) and out.shape == w.shape


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    pattern=st.sampled_from(["unstructured", "4x1", "8x1", "1x4", "3x5", "2:4", "1:4", "4:8"]),
    sparsity=st.floats(0.0, 0.97),
    seed=st.integers(0, 2**16),
)
def test_prune_then_pack_roundtrip_random(rows, cols, pattern, sparsity, seed):
    w = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)
    pruned = spiralkit.prune_to_pattern(w, pattern, sparsity)
    packed = spiralkit.pack(pruned, pattern)
    np.testing.assert_array_equal(packed.to_dense(), pruned)
    assert packed.nnz == int((pruned != 0).sum())
