"""Inverted-residual chains (1x1 expand, depthwise, 1x1 project, optional residual) run as one
fused op in bands of output rows: the plan shows the fused head, outputs match ONNX Runtime at
every band/thread/batch split, and chains the driver cannot take (narrow rows, a shared
intermediate) stay unfused and correct."""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import spiralkit  # noqa: E402

FUSED = "fused block"


class InvertedResidual(torch.nn.Module):
    def __init__(self, cin, cout, expand, stride=1, kernel=3, dilation=1, act=torch.nn.ReLU6, residual=True):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand > 1:
            layers += [torch.nn.Conv2d(cin, hidden, 1, bias=False), torch.nn.BatchNorm2d(hidden), act()]
        pad = dilation * (kernel - 1) // 2
        layers += [torch.nn.Conv2d(hidden, hidden, kernel, stride, pad, dilation=dilation, groups=hidden, bias=False),
                   torch.nn.BatchNorm2d(hidden), act(),
                   torch.nn.Conv2d(hidden, cout, 1, bias=False), torch.nn.BatchNorm2d(cout)]
        self.body = torch.nn.Sequential(*layers)
        self.residual = residual and stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def _fused_min_width():
    """Narrow rows fuse where the per-plane depthwise is not behind the channel-blocked one."""
    return {"avx512": 1, "avx2": 16}.get(spiralkit._C.info()["kernels"]["f32-dwconv"]["isa"], 32)


def _randomize(module, sparsity, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics: the fold is exercised
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, torch.nn.Conv2d) and m.groups == 1 and sparsity:
                m.weight.copy_(spiralkit.prune_to_pattern(m.weight.detach(), "4x1", sparsity))
    return module.eval()


def _export(module, shape):
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.zeros(shape),), buf, input_names=["x"], output_names=["y"], opset_version=17,
                      dynamo=False, dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    return onnx.load_from_string(buf.getvalue())


def _run_and_compare(module, shape, close, threads=(1, 2), batches=(1, 3)):
    model = _export(module, shape)
    engine = None
    for t in threads:
        engine = spiralkit.compile(model, threads=t)
        for b in batches:
            x = np.random.default_rng(b).standard_normal((b,) + tuple(shape[1:])).astype(np.float32)
            with torch.no_grad():
                want = module(torch.from_numpy(x)).numpy()
            close([engine.run([x])[0]], [want])
    return engine


@pytest.mark.parametrize(
    "cin,cout,expand,stride,kernel,dilation,hw",
    [
        (8, 8, 4, 1, 3, 1, (40, 36)),    # residual, stride 1
        (8, 12, 6, 2, 3, 1, (69, 70)),   # stride 2 on odd rows, no residual
        (16, 16, 1, 1, 3, 1, (33, 32)),  # no expand (MobileNet-v2's first block)
        (256, 256, 1, 1, 3, 1, (40, 64)),  # no expand, bands of 10 rows read in place
        (256, 128, 1, 2, 3, 1, (41, 64)),  # no expand, stride 2, several bands
        (256, 256, 1, 1, 5, 1, (23, 64)),  # no expand, 5x5 (the padded-copy depthwise path)
        (8, 8, 3, 1, 5, 1, (36, 40)),    # 5x5 depthwise
        (8, 8, 2, 1, 3, 2, (36, 34)),    # dilated depthwise
        (8, 8, 256, 1, 3, 1, (32, 32)),  # 2048 channels x 32 columns: one-row bands
        (4, 4, 64, 1, 3, 1, (32, 64)),   # 256 channels x 64 columns: several rows per band
        (16, 16, 6, 1, 3, 1, (14, 14)),  # MobileNet's narrow planes (fused where the depthwise reads unpadded)
        (16, 24, 6, 2, 3, 1, (7, 7)),    # stride 2 down to 4x4
        (16, 16, 6, 1, 3, 1, (2, 2)),    # planes of 4 pixels
        (16, 24, 6, 2, 3, 1, (2, 2)),    # stride 2 down to one pixel
        (16, 16, 6, 1, 3, 1, (1, 1)),    # one pixel
    ],
)
@pytest.mark.parametrize("sparsity", [0.0, 0.8])
def test_fused_block_matches_torch(cin, cout, expand, stride, kernel, dilation, hw, sparsity, close):
    torch.manual_seed(0)
    module = _randomize(InvertedResidual(cin, cout, expand, stride, kernel, dilation), sparsity, seed=1)
    engine = _run_and_compare(module, (1, cin) + hw, close)
    kernels = [layer["kernel"] for layer in engine.layers()]
    pad = dilation * (kernel - 1) // 2
    out_w = (hw[1] + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    fused = out_w >= _fused_min_width()
    assert sum(k.startswith(FUSED) for k in kernels) == int(fused), kernels
    assert sum(k.startswith("fused into") for k in kernels) == ((2 if expand > 1 else 1) if fused else 0), kernels


@pytest.mark.parametrize("act,fused", [(torch.nn.ReLU, True), (torch.nn.Identity, True), (torch.nn.Hardswish, False)])
def test_fused_block_activations(act, fused, close):
    # Hard-swish is its own node (no conv epilogue runs it): the chain breaks, the result holds.
    torch.manual_seed(0)
    module = _randomize(InvertedResidual(8, 8, 4, act=act), 0.0, seed=2)
    engine = _run_and_compare(module, (1, 8, 34, 40), close, threads=(2,))
    assert any(layer["kernel"].startswith(FUSED) for layer in engine.layers()) == fused


def test_narrow_rows_fuse_only_where_the_per_plane_depthwise_keeps_up(close):
    # The AVX-512 depthwise reads the plane with masked loads and fuses at any width; AVX2 (8
    # lanes) from 16 columns; NEON and scalar copy each plane into a padded scratch: from 32.
    torch.manual_seed(0)
    module = _randomize(InvertedResidual(8, 8, 4), 0.0, seed=3)
    engine = _run_and_compare(module, (1, 8, 14, 14), close)
    assert any(layer["kernel"].startswith(FUSED) for layer in engine.layers()) == (14 >= _fused_min_width())


class WideningBlockInside(torch.nn.Module):
    """A stem conv, a depthwise + project block that widens 16 -> 32 (no residual), a pool: the
    block's input dies at the block and its output is an intermediate, so a memory plan that
    dated the output from the project node would give both the same bytes while the fused block
    still reads its input."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.block = InvertedResidual(16, 32, 1)

    def forward(self, x):
        return self.block(self.stem(x)).mean((2, 3))


def test_fused_block_output_never_shares_its_inputs_bytes(close):
    torch.manual_seed(0)
    module = _randomize(WideningBlockInside(), 0.0, seed=5)
    engine = _run_and_compare(module, (1, 3, 40, 40), close)
    assert any(layer["kernel"].startswith(FUSED) for layer in engine.layers())


class SharedExpand(torch.nn.Module):
    """The expanded tensor also feeds a second branch: fusing would lose it."""

    def __init__(self):
        super().__init__()
        self.block = InvertedResidual(8, 8, 4, residual=False)

    def forward(self, x):
        e = self.block.body[:3](x)
        return self.block.body[3:](e).mean() + e.mean()


def test_shared_intermediate_stays_unfused(close):
    torch.manual_seed(0)
    module = _randomize(SharedExpand(), 0.0, seed=4)
    engine = _run_and_compare(module, (1, 8, 36, 36), close, batches=(1,))
    kernels = [layer["kernel"] for layer in engine.layers()]
    assert not any(k.startswith("fused into") and "conv.0" in k for k in kernels)
    assert sum(k.startswith("fused into") for k in kernels) <= 1  # at most depthwise + project


def test_fused_block_survives_save_load(tmp_path):
    torch.manual_seed(0)
    module = _randomize(InvertedResidual(8, 8, 4), 0.8, seed=5)
    engine = spiralkit.compile(_export(module, (1, 8, 40, 40)), threads=2)
    x = np.random.default_rng(0).standard_normal((2, 8, 40, 40)).astype(np.float32)
    engine.save(tmp_path / "block.spk")
    loaded = spiralkit.load(tmp_path / "block.spk")
    assert any(layer["kernel"].startswith(FUSED) for layer in loaded.layers())
    np.testing.assert_array_equal(loaded.run([x])[0], engine.run([x])[0])
