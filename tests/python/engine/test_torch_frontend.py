"""``spiralkit.compile(torch_module, example)``: a CNN with BatchNorm, a residual and layers masked
by ``spiralkit.prune`` (the mask must be honoured, not the stored ``original``), and a small
transformer block; the engine's output equals the torch model's within 1e-4 of max |ref|."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spiralkit

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
from torch import nn  # noqa: E402

from spiralkit.compress import PruneConfig, get_mask  # noqa: E402

RTOL = 1e-4


def assert_close(got, want, rtol=RTOL):
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == np.float32
    err = float(np.abs(got - want).max())
    scale = float(np.abs(want).max())
    assert err <= rtol * scale, f"max abs error {err:.3g} > {rtol:g} x max|ref| {scale:.3g}"


class ResCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv_a = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv_b = nn.Conv2d(16, 32, 1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        y = torch.relu(self.bn1(self.stem(x)))
        y = torch.relu(self.bn2(self.conv_a(y)) + y)  # residual
        y = torch.relu(self.conv_b(y))
        y = nn.functional.max_pool2d(y, 2)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


@pytest.fixture
def masked_cnn():
    torch.manual_seed(0)
    model = ResCnn().eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.running_mean.copy_(torch.randn(16, generator=g) * 0.2)
            bn.running_var.copy_(torch.rand(16, generator=g) + 0.5)
            bn.weight.copy_(torch.rand(16, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(16, generator=g) * 0.1)
    spiralkit.prune(model, PruneConfig(criterion="magnitude", pattern="4x1", sparsity=0.75, allocation="uniform",
                                       skip_first=True, skip_last=False))
    assert get_mask(model.stem) is None and get_mask(model.conv_a) is not None and get_mask(model.fc) is not None
    # What an optimizer step does to the stored values at pruned positions must not show: the
    # module's weight is original * mask; an exporter that used `original` would be wrong.
    with torch.no_grad():
        for m in (model.conv_a, model.conv_b, model.fc):
            orig = m.parametrizations.weight.original
            orig.add_(0.05 * torch.randn(orig.shape, generator=g))
            assert (orig[~get_mask(m)] != 0).all()
    return model


def test_masked_cnn_matches_masked_torch(masked_cnn):
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = masked_cnn(x).numpy()
    engine = spiralkit.compile(masked_cnn, x, threads=1)
    assert_close(engine.run(x.numpy())[0], want)
    assert_close(engine(x), want)  # torch tensors are accepted too
    # The masks are what got packed: every masked layer at its 75 % sparsity, the stem dense.
    by_shape = {tuple(l["weight_shape"]): l for l in engine.layers() if "pattern" in l}
    for m in (masked_cnn.conv_a, masked_cnn.conv_b, masked_cnn.fc):
        layer = by_shape[tuple(m.weight.shape)]
        mask_sparsity = 1.0 - float(get_mask(m).float().mean())  # ~0.75 (fc: 10 rows, a partial 4x1 block)
        assert layer["sparsity"] == pytest.approx(mask_sparsity, abs=1e-6), layer
    assert by_shape[(16, 3, 3, 3)]["sparsity"] < 0.3
    # The model itself is left as it was (masks still on).
    assert get_mask(masked_cnn.conv_a) is not None
    # Another batch size on the same engine.
    x5 = torch.randn(5, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert_close(engine.run(x5.numpy())[0], masked_cnn(x5).numpy())


def test_masked_cnn_roundtrips_through_save(masked_cnn, tmp_path):
    x = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(4))
    engine = spiralkit.compile(masked_cnn, x)
    engine.save(tmp_path / "cnn.spk")
    loaded = spiralkit.load(tmp_path / "cnn.spk")
    with torch.no_grad():
        assert_close(loaded.run(x.numpy())[0], masked_cnn(x).numpy())


class Block(nn.Module):
    """A pre-LN transformer encoder block: multi-head self-attention (fused QKV projection,
    explicit matmul + softmax) and a GELU MLP, both with residuals. ``late_v``: V is reshaped
    only where it is used, so in the exported graph its Transpose comes after the Softmax."""

    def __init__(self, d=32, heads=4, hidden=64, late_v=False):
        super().__init__()
        self.late_v = late_v
        self.heads, self.dh = heads, d // heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        s, d = int(x.shape[1]), int(x.shape[2])
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)

        def split(t):
            return t.reshape(-1, s, self.heads, self.dh).transpose(1, 2)

        if not self.late_v:
            q, k, v = split(q), split(k), split(v)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh), dim=-1)
            ctx = att @ v
        else:
            att = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(self.dh), dim=-1)
            ctx = att @ split(v)
        x = x + self.proj(ctx.transpose(1, 2).reshape(-1, s, d))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


def _block(late_v=False):
    torch.manual_seed(0)
    block = Block(late_v=late_v).eval()
    with torch.no_grad():
        for ln in (block.ln1, block.ln2):
            ln.weight.normal_(1.0, 0.1)
            ln.bias.normal_(0.0, 0.1)
        for m in (block.qkv, block.fc1, block.fc2):  # some structured zeros, as a pruned model has
            w = m.weight.numpy()
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(spiralkit.prune_to_pattern(w, "4x1", 0.5))))
    return block


def test_transformer_block():
    block = _block()
    x = torch.randn(2, 8, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = block(x).numpy()
    engine = spiralkit.compile(block, x, threads=1)
    assert_close(engine.run(x.numpy())[0], want)
    assert engine.input_shapes[engine.input_names[0]] == (None, 8, 32)
    x3 = torch.randn(3, 8, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert_close(engine.run(x3.numpy())[0], block(x3).numpy())


def test_transformer_block_value_projected_after_softmax():
    # Regression: the fused attention node must come after V's Reshape/Transpose, which the
    # exporter emits after the Softmax here (was "input '/Transpose_2_output_0' is not defined").
    block = _block(late_v=True)
    x = torch.randn(2, 8, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = block(x).numpy()
    assert_close(spiralkit.compile(block, x, threads=1).run(x.numpy())[0], want)


def test_torch_module_needs_example_input():
    with pytest.raises(ValueError, match="example_input"):
        spiralkit.compile(Block())
