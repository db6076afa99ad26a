"""compile(quantize="int8"): calibrated fp32 models and ONNX Runtime's own QDQ files compile to the
same int8 plan; outputs agree with ONNX Runtime's int8 run of the same QDQ file within the
quantization error (and with fp32 within a few quantization steps); the artifact stores int8."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

import spiralkit  # noqa: E402
from spiralkit.bench.ort_int8 import quantize_ort_int8, rel_err  # noqa: E402

from int8_testing import INT8_VS_FP32, INT8_VS_ORT_INT8  # noqa: E402
from int8_testing import batches as _batches, export as _export, ort_run as _ort, prune_1x4 as _prune_1x4  # noqa: E402


class Mlp(torch.nn.Module):
    def __init__(self, k=64, h=256, n=32):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(k, h), torch.nn.Linear(h, h), torch.nn.Linear(h, n)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.nn.functional.gelu(self.fc1(x)))))


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.dw = torch.nn.Conv2d(16, 16, 3, padding=1, stride=2, groups=16)
        self.pw = torch.nn.Conv2d(16, 32, 1)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.pw(torch.relu(self.dw(torch.relu(self.c1(x))))))
        return self.fc(x.mean(dim=(2, 3)))


@pytest.mark.parametrize("build,shape", [(Mlp, (4, 64)), (Cnn, (1, 3, 16, 16))], ids=["mlp", "cnn"])
def test_qdq_file_matches_onnxruntime_int8(build, shape, tmp_path):
    torch.manual_seed(0)
    model = build()
    _prune_1x4(model, 0.8)
    fp32 = _export(model, shape, tmp_path / "m.onnx")
    calib = _batches(shape)
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    engine = spiralkit.compile(qdq, calib[0])
    kernels = [layer["kernel"] for layer in engine.layers() if layer["op"] in ("Linear", "Conv2d")]
    # Depthwise layers keep fp32 while the only int8 depthwise row is scalar (it was ~15x slower).
    assert kernels and all(k.startswith("int8 ") or k.startswith("depthwise (fp32") for k in kernels), kernels
    assert sum(k.startswith("int8 ") for k in kernels) >= len(kernels) - 1
    if build is Cnn:  # c1 hands the fp32-kernel depthwise its output as uint8 (dequantized there)
        assert kernels[0].endswith(", writes uint8") and ", reads uint8" in kernels[1], kernels
    if build is Mlp:  # fc1 -> GELU -> fc2 chain: one int8 pair, fc1's output never leaves the kernels' layout
        assert "with the next layer as one int8 pair" in kernels[0] and "as one int8 pair" in kernels[1], kernels
        assert engine.layers()[1]["fused_into"] == engine.layers()[0]["name"]
    for x in _batches(shape, 3, seed=99):
        want_int8, want_fp32 = _ort(qdq, x), _ort(fp32, x)
        got = engine.run(x)[0]
        assert rel_err(got, want_int8) < INT8_VS_ORT_INT8
        assert rel_err(got, want_fp32) < INT8_VS_FP32
        assert rel_err(got, want_fp32) > 1e-6  # it really ran int8


@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_calibrated_compile_matches_onnxruntime_int8(method, tmp_path):
    torch.manual_seed(1)
    model = Mlp()
    _prune_1x4(model, 0.9)
    fp32 = _export(model, (4, 64), tmp_path / "m.onnx")
    calib = _batches((4, 64))
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib, calibration_method=method)
    assert all(layer["kernel"].startswith("int8 ") for layer in engine.layers() if layer["op"] == "Linear")
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method=method, activation="uint8")
    for x in _batches((4, 64), 3, seed=7):
        got = engine.run(x)[0]
        assert rel_err(got, _ort(qdq, x)) < INT8_VS_ORT_INT8
        assert rel_err(got, _ort(fp32, x)) < INT8_VS_FP32


def test_int8_artifact_round_trips_and_is_3x_smaller(tmp_path):
    torch.manual_seed(2)
    model = Mlp(k=768, h=768, n=768)  # BERT-base width: the per-row scale and bias weigh what they do there
    _prune_1x4(model, 0.9)
    fp32 = _export(model, (2, 768), tmp_path / "m.onnx")
    calib = _batches((2, 768), 4)
    q = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    f = spiralkit.compile(fp32, calib[0], pattern="1x4")
    q.save(tmp_path / "q.spk")
    f.save(tmp_path / "f.spk")
    size_q, size_f = (tmp_path / "q.spk").stat().st_size, (tmp_path / "f.spk").stat().st_size
    assert size_f >= 3 * size_q, (size_f, size_q)
    loaded = spiralkit.load(tmp_path / "q.spk")
    x = _batches((2, 768), 1, seed=3)[0]
    np.testing.assert_array_equal(loaded.run(x)[0], q.run(x)[0])
    assert [l["kernel"] for l in loaded.layers()] == [l["kernel"] for l in q.layers()]


def test_int8_arguments_are_checked(tmp_path):
    fp32 = _export(Mlp(), (4, 64), tmp_path / "m.onnx")
    calib = _batches((4, 64), 2)
    with pytest.raises(ValueError, match="quantize"):
        spiralkit.compile(fp32, calib[0], quantize="int4", calibration=calib)
    with pytest.raises(ValueError, match="calibration"):
        spiralkit.compile(fp32, calib[0], quantize="int8")
    with pytest.raises(ValueError, match="calibration_method"):
        spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib, calibration_method="entropy")
    with pytest.raises(ValueError, match="calibration"):
        spiralkit.compile(fp32, calib[0], calibration=calib)
    with pytest.raises(ValueError, match="calibration"):
        spiralkit.compile(fp32, calib[0], quantize="int8", calibration=[])


class ConvChain(torch.nn.Module):
    """int8 convolutions feeding int8 convolutions (one value read by two of them), and a residual."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.side = torch.nn.Conv2d(16, 32, 1, stride=2)
        self.c3 = torch.nn.Conv2d(32, 32, 1)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        a = torch.relu(self.c1(x))
        b = torch.nn.functional.relu6(self.c2(a))
        c = torch.relu(self.c3(b) + self.side(a))
        return self.fc(c.mean(dim=(2, 3)))


def test_int8_convolutions_hand_uint8_to_int8_convolutions_within_a_rounding_step(tmp_path):
    import onnx

    torch.manual_seed(4)
    model = ConvChain()
    shape = (2, 3, 19, 17)  # 323 pixels: several 64-pixel tiles and a tail
    path = _export(model, shape, tmp_path / "m.onnx")
    calib = _batches(shape, 4)
    chained = spiralkit.compile(path, calib[0], quantize="int8", calibration=calib)
    kernels = {l["name"]: l["kernel"] for l in chained.layers() if l["op"] == "Conv2d"}
    writes = sorted(name for name, k in kernels.items() if k.endswith("writes uint8"))
    # c1 feeds c2 and side, c2 feeds c3; side carries the residual add, which reads c3's output
    # (uint8 with that value's own calibrated parameters); side feeds the mean: fp32.
    assert writes == ["/c1/Conv", "/c2/Conv", "/c3/Conv"], kernels
    # The same model with the chained values also graph outputs: they stay fp32 and every consumer
    # quantizes them itself. The requantizing epilogue is that quantization folded into one FMA
    # (qs8.h): a value within float rounding of a rounding tie may land one uint8 step apart, so the
    # two agree to a small fraction of the output, not bit for bit.
    m = onnx.load(path)
    relus = [n.output[0] for n in m.graph.node if n.op_type in ("Relu", "Clip")][:2]
    for name in relus:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    unchained = spiralkit.compile(m, calib[0], quantize="int8", calibration=calib)
    # (c3's output, read only by side's residual add, is uint8 in both.)
    assert [l["name"] for l in unchained.layers() if l["kernel"].endswith("writes uint8")] == ["/c3/Conv"]
    for x in _batches(shape, 3, seed=21):
        a, b = chained.run(x)[0], unchained.run(x)[0]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3 * np.abs(b).max())
        assert rel_err(chained.run(x)[0], _ort(path, x)) < INT8_VS_FP32


class PoolChain(torch.nn.Module):
    """ResNet's stem shape: an int8 convolution, a padded strided MaxPool, int8 convolutions after it."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.pool = torch.nn.MaxPool2d(3, stride=2, padding=1)
        self.c1 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 16, 1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        p = self.pool(torch.relu(self.stem(x)))
        y = torch.relu(self.c1(p)) + self.c2(p)
        return self.fc(y.mean(dim=(2, 3)))


def test_max_pool_between_int8_convolutions_passes_uint8_through(tmp_path):
    import onnx

    torch.manual_seed(5)
    shape = (2, 3, 37, 29)  # odd sizes: the pool's padding on every border, tiles with tails
    path = _export(PoolChain(), shape, tmp_path / "m.onnx")
    calib = _batches(shape, 4)
    chained = spiralkit.compile(path, calib[0], quantize="int8", calibration=calib)
    layers = chained.layers()
    assert [l["kernel"] for l in layers if l["op"] == "MaxPool"] == ["uint8"], layers
    assert any(l["kernel"].endswith("writes uint8") for l in layers if l["op"] == "Conv2d"), layers
    # The pool's output also a graph output: it stays fp32, the pool runs in fp32 and each
    # convolution after it quantizes its input itself. max commutes with a monotone quantization,
    # so the plans differ only where the stem's folded requantization (qs8.h) lands a near-tie one
    # step from quantizing its fp32 output.
    m = onnx.load(path)
    pooled = next(n.output[0] for n in m.graph.node if n.op_type == "MaxPool")
    m.graph.output.append(onnx.helper.make_empty_tensor_value_info(pooled))
    unchained = spiralkit.compile(m, calib[0], quantize="int8", calibration=calib)
    assert [l["kernel"] for l in unchained.layers() if l["op"] == "MaxPool"] != ["uint8"]
    for x in _batches(shape, 3, seed=22):
        a, b = chained.run(x)[0], unchained.run(x)[0]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3 * np.abs(b).max())
        assert rel_err(chained.run(x)[0], _ort(path, x)) < INT8_VS_FP32


class Bottlenecks(torch.nn.Module):
    """Two ResNet bottlenecks with identity shortcuts: each block's output feeds the next block's
    first convolution and its residual add."""

    def __init__(self, c=32, mid=8, blocks=3):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, c, 3, padding=1)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv2d(c, mid, 1), torch.nn.ReLU(), torch.nn.Conv2d(mid, mid, 3, padding=1),
                                torch.nn.ReLU(), torch.nn.Conv2d(mid, c, 1)) for _ in range(blocks))
        self.fc = torch.nn.Linear(c, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = torch.relu(block(x) + x)
        return self.fc(x.mean(dim=(2, 3)))


def test_identity_shortcuts_stay_uint8_within_the_int8_error_of_onnxruntime(tmp_path):
    torch.manual_seed(6)
    shape = (1, 3, 23, 21)
    fp32 = _export(Bottlenecks(), shape, tmp_path / "m.onnx")
    calib = _batches(shape, 6)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    kernels = [l["kernel"] for l in engine.layers() if l["op"] == "Conv2d"]
    # Every block reads the stem's or the previous block's uint8 output as its residual; blocks 1
    # and 2 write theirs as uint8, block 3 feeds the mean in fp32.
    assert sum("uint8 residual" in k for k in kernels) == 3, kernels
    assert sum("uint8 residual" in k and k.endswith("writes uint8") for k in kernels) == 2, kernels
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    for x in _batches(shape, 3, seed=23):
        got = engine.run(x)[0]
        assert rel_err(got, _ort(qdq, x)) < INT8_VS_ORT_INT8
        assert rel_err(got, _ort(fp32, x)) < INT8_VS_FP32


class TwoDepthwise(torch.nn.Module):
    """A 3x3 depthwise layer (the dot-product rows' own window) then a 5x5 one (their fallback)."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 1)
        self.dw3 = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.dw5 = torch.nn.Conv2d(16, 16, 5, padding=2, groups=16)

    def forward(self, x):
        return self.dw5(torch.relu(self.dw3(torch.relu(self.c1(x)))))


def test_depthwise_labels_name_the_rows_that_run(tmp_path):
    torch.manual_seed(3)
    fp32 = _export(TwoDepthwise(), (1, 3, 16, 16), tmp_path / "m.onnx")
    calib = _batches((1, 3, 16, 16))
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    dw = [l["kernel"] for l in engine.layers() if l["op"] == "Conv2d"][1:]
    assert len(dw) == 2 and all(k.startswith("int8 spiralkit_qs8_dwconv_ukernel__") for k in dw), dw
    assert "fallback" not in dw[0], dw
    if "avx512vnni" in dw[1]:  # that row computes 3x3 windows only: the 5x5 label must say what runs
        assert "its AVX-512 fallback" in dw[1], dw
    else:
        assert "fallback" not in dw[1], dw
    for x in _batches((1, 3, 16, 16), 2, seed=5):
        assert rel_err(engine.run(x)[0], _ort(fp32, x)) < INT8_VS_FP32


class ProjectionBottlenecks(torch.nn.Module):
    """ResNet's first block of a stage: a strided 1x1 projection shortcut beside the 1x1-3x3-1x1
    path, then an identity block."""

    def __init__(self, c=16, out=32, mid=8):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, c, 3, padding=1)
        self.down = torch.nn.Conv2d(c, out, 1, stride=2)
        self.main = torch.nn.Sequential(torch.nn.Conv2d(c, mid, 1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(mid, mid, 3, stride=2, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(mid, out, 1))
        self.identity = torch.nn.Sequential(torch.nn.Conv2d(out, mid, 1), torch.nn.ReLU(),
                                            torch.nn.Conv2d(mid, out, 1))
        self.fc = torch.nn.Linear(out, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(self.main(x) + self.down(x))
        x = torch.relu(self.identity(x) + x)
        return self.fc(x.mean(dim=(2, 3)))


def test_projection_shortcut_moves_as_uint8_and_survives_save(tmp_path):
    torch.manual_seed(8)
    shape = (1, 3, 18, 22)
    fp32 = _export(ProjectionBottlenecks(), shape, tmp_path / "m.onnx")
    calib = _batches(shape, 6)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)

    def labels(e):
        return {l["name"]: l["kernel"] for l in e.layers() if l["op"] == "Conv2d"}

    k = labels(engine)
    # The add fuses into whichever of the two convolutions runs second; the other one's output is
    # read only as that residual, so it is written as uint8 with its own calibrated parameters.
    pair = [k["/down/Conv"], k["/main/main.4/Conv"]]
    assert all(v.endswith("writes uint8") for v in pair), k
    assert sum("uint8 residual" in v for v in pair) == 1, k
    path = tmp_path / "m.spk"
    engine.save(path)
    loaded = spiralkit.load(path)
    assert labels(loaded) == k
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    for x in _batches(shape, 3, seed=29):
        got = engine.run(x)[0]
        np.testing.assert_array_equal(loaded.run(x)[0], got)
        assert rel_err(got, _ort(qdq, x)) < INT8_VS_ORT_INT8
        assert rel_err(got, _ort(fp32, x)) < INT8_VS_FP32


class ThreeByThree(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.c3 = torch.nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.c3(torch.relu(self.c2(torch.relu(self.c1(x))))))
        return self.fc(x.mean(dim=(2, 3)))


def test_blocks_along_input_channels_read_the_taps_in_place(tmp_path):
    torch.manual_seed(9)
    model = ThreeByThree()
    with torch.no_grad():
        for conv in (model.c2, model.c3):
            conv.weight.copy_(spiralkit.prune_to_pattern(conv.weight, "1x4-cin", 0.8))
    shape = (1, 3, 20, 18)
    fp32 = _export(model, shape, tmp_path / "m.onnx")
    calib = _batches(shape, 6)
    engine = spiralkit.compile(fp32, calib[0], quantize="int8", calibration=calib)
    k = {l["name"]: l["kernel"] for l in engine.layers() if l["op"] == "Conv2d"}
    for name in ("/c2/Conv", "/c3/Conv"):
        assert "spmm" in k[name] and "blocks along C_in: taps read in place" in k[name], k
    qdq = quantize_ort_int8(fp32, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    engine.save(tmp_path / "cin.spk")
    loaded = spiralkit.load(tmp_path / "cin.spk")
    assert {l["name"]: l["kernel"] for l in loaded.layers() if l["op"] == "Conv2d"} == k
    for x in _batches(shape, 3, seed=31):
        got = engine.run(x)[0]
        np.testing.assert_array_equal(loaded.run(x)[0], got)
        assert rel_err(got, _ort(qdq, x)) < INT8_VS_ORT_INT8
        assert rel_err(got, _ort(fp32, x)) < INT8_VS_FP32
    # The file stores those weights tap-major (where their blocks are 4-wide groups): about the size
    # of the same model pruned in blocks along K, not the 2-4x more groups K order would give them.
    along_k = ThreeByThree()
    along_k.load_state_dict(model.state_dict())
    with torch.no_grad():
        for conv in (along_k.c2, along_k.c3):
            conv.weight.copy_(spiralkit.prune_to_pattern(ThreeByThree().c2.weight if conv is along_k.c2
                                                         else ThreeByThree().c3.weight, "1x4", 0.8))
    k_path = _export(along_k, shape, tmp_path / "k.onnx")
    spiralkit.compile(k_path, calib[0], quantize="int8", calibration=calib).save(tmp_path / "k.spk")
    size_cin, size_k = (tmp_path / "cin.spk").stat().st_size, (tmp_path / "k.spk").stat().st_size
    assert size_cin < 1.1 * size_k, (size_cin, size_k)
