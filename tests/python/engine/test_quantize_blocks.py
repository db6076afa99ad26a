"""int8 engines and inverted-residual blocks: where the expanded tensor is large, the planner runs
the block as the fp32 fused block (on the dequantized int8 weights) instead of its int8 layers;
small blocks stay int8; kernel choice 3 forces a quantized layer onto the fp32 kernels. Outputs
stay within the int8 error of ONNX Runtime's int8 run of the same model, and the plan survives
save/load."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime.quantization")

import spiralkit  # noqa: E402
from spiralkit.bench.models import InvertedResidual  # noqa: E402
from spiralkit.bench.ort_int8 import quantize_ort_int8, rel_err  # noqa: E402

from int8_testing import INT8_VS_FP32, INT8_VS_ORT_INT8  # noqa: E402
from int8_testing import batches as _batches, export as _export, ort_run as _ort, prune_1x4 as _prune_1x4  # noqa: E402

SHAPE = (1, 3, 64, 64)
FP32_BLOCK = "(fp32: faster than its int8 layers)"


class ThreeBlocks(torch.nn.Module):
    """Expanded tensors of 1 MiB (64 x 64 x 64 fp32) and 512 KiB (32 x 32 x 128), fused fp32 when the
    1x1 weights are <= 25 % dense, and 16 KiB (8 x 8 x 64: int8 layers at any density) per image."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.big = InvertedResidual(16, 16, 1, 4)
        self.down1 = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.mid = InvertedResidual(16, 16, 1, 8)
        self.down2 = torch.nn.Conv2d(16, 16, 3, stride=4, padding=1)
        self.small = InvertedResidual(16, 16, 1, 4)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.big(torch.relu(self.stem(x)))
        x = self.mid(torch.relu(self.down1(x)))
        x = self.small(torch.relu(self.down2(x)))
        return self.fc(x.mean(dim=(2, 3)))


def _model(sparsity, seed=11):
    torch.manual_seed(seed)
    model = ThreeBlocks()
    with torch.no_grad():  # BatchNorm that does something (the fold is part of what is checked)
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 2.0)
    if sparsity:
        _prune_1x4(model, sparsity)
    return model


def _block_kernels(engine):
    """block name -> the kernel of its expand convolution (the fused head when fused)."""
    out = {}
    for layer in engine.layers():
        for block in ("big", "mid", "small"):
            if layer["op"] == "Conv2d" and f"/{block}/" in layer["name"] and block not in out:
                out[block] = layer["kernel"]
    return out


@pytest.mark.parametrize("sparsity,fused", [(0.0, False), (0.9, True)], ids=["dense", "1x4-90"])
def test_large_sparse_blocks_run_fused_fp32_the_rest_int8(sparsity, fused, tmp_path):
    fp32 = _export(_model(sparsity), SHAPE, tmp_path / "m.onnx")
    calib = _batches(SHAPE, 4)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    kernels = _block_kernels(engine)
    for block in ("big", "mid"):
        assert kernels[block].startswith("fused block") == fused, kernels
        assert kernels[block].endswith(FP32_BLOCK) == fused, kernels
        assert kernels[block].startswith("int8 ") == (not fused), kernels
    assert kernels["small"].startswith("int8 "), kernels
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    for x in _batches(SHAPE, 2, seed=31):
        got = engine.run(x)[0]
        assert rel_err(got, _ort(qdq, x)) < INT8_VS_ORT_INT8
        assert rel_err(got, _ort(fp32, x)) < INT8_VS_FP32


def test_choice_fp32_runs_quantized_layers_on_fp32_kernels_and_survives_save(tmp_path):
    fp32 = _export(_model(0.8), SHAPE, tmp_path / "m.onnx")
    calib = _batches(SHAPE, 4)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    x = _batches(SHAPE, 1, seed=41)[0]
    int8_out = engine.run(x)[0]
    n = len(engine.layers())
    engine._native.set_kernel_choices([3] * n)
    kernels = [l["kernel"] for l in engine.layers() if l["op"] in ("Conv2d", "Linear")]
    assert all(k.startswith(("fused block", "fused into")) or k.endswith("(fp32 by choice)") for k in kernels), kernels
    # The blocks the fp32 plan fuses stay fused (how many depends on the CPU: AVX2 fuses rows of
    # at least 16 columns, so not the 8 x 8 block; AVX-512 every width).
    fp32_kernels = [l["kernel"] for l in spiralkit.compile(fp32, calib[0]).layers() if l["op"] in ("Conv2d", "Linear")]
    fused = sum(k.startswith("fused block") for k in fp32_kernels)
    assert fused >= 2 and sum(k.startswith("fused block") for k in kernels) == fused, (kernels, fp32_kernels)
    got = engine.run(x)[0]
    want = _ort(fp32, x)
    # fp32 arithmetic on the int8 weights: only the weights' rounding separates it from fp32.
    assert rel_err(got, want) < rel_err(int8_out, want)
    assert rel_err(got, want) < 0.02
    engine.save(tmp_path / "m.spk")
    loaded = spiralkit.load(tmp_path / "m.spk")
    assert [l["choice"] for l in loaded.layers() if l["op"] in ("Conv2d", "Linear")] == [3] * len(kernels)
    np.testing.assert_array_equal(loaded.run(x)[0], got)


def test_tuning_an_int8_engine_keeps_its_fused_fp32_blocks(tmp_path):
    fp32 = _export(_model(0.9), SHAPE, tmp_path / "m.onnx")
    calib = _batches(SHAPE, 4)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib, tune=True, tune_repeats=1)
    kernels = _block_kernels(engine)
    assert kernels["big"].endswith(FP32_BLOCK) and kernels["mid"].endswith(FP32_BLOCK), kernels
    assert kernels["small"].startswith("int8 "), kernels
    x = _batches(SHAPE, 1, seed=51)[0]
    assert rel_err(engine.run(x)[0], _ort(fp32, x)) < INT8_VS_FP32
