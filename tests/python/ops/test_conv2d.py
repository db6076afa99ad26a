"""spiralkit.ops.conv2d against torch.nn.functional.conv2d on the dense weight."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spiralkit
from testing_utils import PATTERNS, max_rel_error, sparsity_for

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACTS = {None: lambda t: t, "relu": F.relu, "relu6": F.relu6, "gelu": F.gelu, "silu": F.silu, "sigmoid": torch.sigmoid}

GEOMETRIES = [
    # (c_in, c_out, h, w, kernel, stride, padding, dilation, groups)
    (3, 8, 9, 9, 3, 1, 1, 1, 1),
    (8, 16, 7, 7, 1, 1, 0, 1, 1),
    (4, 8, 10, 11, 3, 2, 1, 1, 1),
    (4, 8, 10, 10, 3, 1, 2, 2, 1),
    (8, 8, 6, 6, 3, 1, 1, 1, 8),  # depthwise
    (8, 16, 6, 5, 3, 1, 1, 1, 4),  # grouped
    (6, 6, 9, 9, (3, 1), (2, 1), (1, 0), 1, 1),
    (5, 4, 5, 5, 5, 1, 0, 1, 1),  # kernel as large as the input
    (3, 16, 130, 130, 3, 2, 1, 1, 1),  # a stem: small weights, 65-wide rows (row-by-row direct path)
    (3, 12, 20, 70, 3, 1, 1, 1, 1),  # row-by-row at stride 1 (70 columns, 12 rows: panel tails)
]


def _conv_weight(rng, c_in, c_out, kernel, groups, pattern):
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    w = rng.standard_normal((c_out, c_in // groups, kh, kw)).astype(np.float32)
    return spiralkit.prune_to_pattern(w, pattern, sparsity_for(pattern))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_matches_torch(rng, pattern, geometry):
    c_in, c_out, h, wd, kernel, stride, padding, dilation, groups = geometry
    w = _conv_weight(rng, c_in, c_out, kernel, groups, pattern)
    x = rng.standard_normal((2, c_in, h, wd)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, pattern), b, stride, padding, dilation, groups)
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding, dilation, groups)
    assert got.shape == tuple(want.shape)
    assert max_rel_error(got, want.numpy()) < 1e-5


@pytest.mark.parametrize("activation", list(ACTS))
def test_fused_activation(rng, activation):
    w = _conv_weight(rng, 4, 8, 3, 1, "4x1")
    x = rng.standard_normal((1, 4, 6, 6)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, "4x1"), b, padding=1, activation=activation)
    want = ACTS[activation](F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=1))
    assert max_rel_error(got, want.numpy()) < 1e-5


def test_unbatched_torch_non_contiguous(rng):
    w = _conv_weight(rng, 4, 8, 3, 1, "2:4")
    x = torch.randn(4, 7, 6).transpose(1, 2)  # (4, 6, 7), non-contiguous
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, "2:4"), padding=1)
    assert isinstance(got, torch.Tensor) and got.shape == (8, 6, 7)
    want = F.conv2d(x, torch.from_numpy(w), padding=1)
    assert max_rel_error(got.numpy(), want.numpy()) < 1e-5


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"stride": -1}, "stride: expected values >= 1"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
        ({"groups": 3}, "groups"),
        ({"stride": (1, 2, 3)}, "stride: expected an int or a pair"),
        ({"activation": "tanh"}, "activation"),
    ],
)
def test_bad_arguments(rng, kwargs, match):
    sw = spiralkit.pack(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "dense")
    x = rng.standard_normal((1, 4, 6, 6)).astype(np.float32)
    with pytest.raises(ValueError, match=match):
        spiralkit.ops.conv2d(x, sw, **kwargs)


def test_bad_inputs(rng):
    sw = spiralkit.pack(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "dense")
    with pytest.raises(ValueError, match="float32"):
        spiralkit.ops.conv2d(np.ones((1, 4, 6, 6)), sw)
    with pytest.raises(ValueError, match="channels"):
        spiralkit.ops.conv2d(np.ones((1, 5, 6, 6), np.float32), sw)
    with pytest.raises(ValueError, match="4-D"):
        spiralkit.ops.conv2d(np.ones((6, 6), np.float32), sw)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        spiralkit.ops.conv2d(np.ones((1, 4, 2, 2), np.float32), sw)
    with pytest.raises(ValueError, match="4-D conv weight"):
        spiralkit.ops.conv2d(np.ones((1, 4, 6, 6), np.float32), spiralkit.pack(np.ones((8, 4), np.float32), "dense"))


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 2),
    groups=st.sampled_from([1, 2, 3]),
    cin_g=st.integers(1, 4),
    cout_g=st.integers(1, 5),
    size=st.integers(1, 9),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    pattern=st.sampled_from(PATTERNS),
    seed=st.integers(0, 2**16),
)
def test_random_geometries(batch, groups, cin_g, cout_g, size, kernel, stride, padding, dilation, pattern, seed):
    if size + 2 * padding < dilation * (kernel - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    w = _conv_weight(rng, cin_g * groups, cout_g * groups, kernel, groups, pattern)
    x = rng.standard_normal((batch, cin_g * groups, size, size)).astype(np.float32)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, pattern), None, stride, padding, dilation, groups)
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding, dilation, groups).numpy()
    assert max_rel_error(got, want) < 1e-5
