"""The exporter's attention (heads split by Reshape + Transpose, Q K^T scaled, optional additive
mask, softmax, times V, heads merged) compiles to one fused node reading the interleaved
[B, S, H, D] tensors: no Transpose survives, and outputs match ONNX Runtime."""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import spiralkit  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, d=32, heads=4, masked=False):
        super().__init__()
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.heads, self.masked = heads, masked

    def forward(self, x, mask=None):
        b, s, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        hd = d // self.heads
        q = q.reshape(b, s, self.heads, hd).permute(0, 2, 1, 3)
        k = k.reshape(b, s, self.heads, hd).permute(0, 2, 3, 1)
        v = v.reshape(b, s, self.heads, hd).permute(0, 2, 1, 3)
        scores = torch.matmul(q, k) / hd ** 0.5
        if self.masked:
            scores = scores + mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        return ctx.permute(0, 2, 1, 3).reshape(b, s, d)


def _export(block, args, names):
    buf = io.BytesIO()
    torch.onnx.export(block, args, buf, input_names=names, output_names=["y"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch"} for n in names})
    return onnx.load_from_string(buf.getvalue())


@pytest.mark.parametrize("masked", [False, True])
def test_attention_runs_on_interleaved_heads(masked):
    torch.manual_seed(0)
    block = Block(masked=masked).eval()
    x = torch.randn(1, 10, 32)
    mask = torch.where(torch.rand(1, 1, 1, 10) > 0.3, 0.0, -1e4)
    args, names = ((x, mask), ["x", "mask"]) if masked else ((x,), ["x"])
    model = _export(block, args, names)
    engine = spiralkit.compile(model, [a.numpy() for a in args])
    ops = [layer["op"] for layer in engine.layers()]
    assert "Transpose" not in ops
    assert any(layer["kernel"] == "fused attention (interleaved heads)" for layer in engine.layers())
    session = ort.InferenceSession(model.SerializeToString())
    for batch in (1, 3):
        feeds = {"x": np.random.default_rng(batch).standard_normal((batch, 10, 32)).astype(np.float32)}
        if masked:
            feeds["mask"] = np.where(np.random.default_rng(7).random((batch, 1, 1, 10)) > 0.3, 0.0, -1e4).astype(np.float32)
        want = session.run(None, feeds)[0]
        got = engine.run(feeds)[0]
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() + 1e-6


def test_attention_with_a_data_dependent_scale_runs_unfused():
    """softmax(Q K / s) V where s is computed from the data: the fused node falls back to its
    parts at lowering, and the answer still matches ONNX Runtime."""
    from onnx import TensorProto, helper

    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, ["N", 2, 5, 4])
    k = helper.make_tensor_value_info("k", TensorProto.FLOAT, ["N", 2, 4, 5])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, ["N", 2, 5, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 5, 3])
    nodes = [
        helper.make_node("MatMul", ["q", "k"], ["s"]),
        helper.make_node("ReduceMean", ["v"], ["scale"], keepdims=0),
        helper.make_node("Div", ["s", "scale"], ["t"]),
        helper.make_node("Softmax", ["t"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [q, k, v], [y]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    rng = np.random.default_rng(0)
    feeds = {"q": rng.standard_normal((2, 2, 5, 4)).astype(np.float32),
             "k": rng.standard_normal((2, 2, 4, 5)).astype(np.float32),
             "v": rng.random((2, 2, 5, 3)).astype(np.float32) + 0.5}
    engine = spiralkit.compile(model, {n: a[:1] for n, a in feeds.items()})
    assert "Attention" not in [layer["op"] for layer in engine.layers()]
    want = ort.InferenceSession(model.SerializeToString()).run(None, feeds)[0]
    got = engine.run(feeds)[0]
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() + 1e-6


def test_int8_plan_runs_attention_products_in_bf16_where_the_cpu_has_it(tmp_path):
    """An int8 plan's attention multiplies in bf16 on AVX512_BF16 CPUs (fp32 plans never do); the
    answer stays within int8 error of ONNX Runtime fp32, and the artifact replans the same way."""
    torch.manual_seed(3)
    block = Block(d=64, heads=4).eval()
    model = _export(block, (torch.randn(1, 40, 64),), ["x"])
    calib = [np.random.default_rng(i).standard_normal((1, 40, 64)).astype(np.float32) for i in range(4)]
    q = spiralkit.compile(model, calib[0], quantize="int8", calibration=calib)
    f = spiralkit.compile(model, calib[0])
    has_bf16 = spiralkit._C.info()["cpu_avx512_bf16"]
    attention = [l["kernel"] for l in q.layers() if l["op"] == "Attention"]
    assert len(attention) == 1
    assert ("bf16 products" in attention[0]) == bool(has_bf16), attention
    assert not any("bf16" in l["kernel"] for l in f.layers())
    session = ort.InferenceSession(model.SerializeToString())
    x = np.random.default_rng(9).standard_normal((2, 40, 64)).astype(np.float32)
    want = session.run(None, {"x": x})[0]
    got = q.run(x)[0]
    assert np.abs(got - want).max() <= 0.05 * np.abs(want).max()
    q.save(tmp_path / "q.spk")
    loaded = spiralkit.load(tmp_path / "q.spk")
    assert [l["kernel"] for l in loaded.layers()] == [l["kernel"] for l in q.layers()]
    np.testing.assert_array_equal(loaded.run(x)[0], got)


class SeparateProjections(torch.nn.Module):
    """BERT's layout: three Linear layers read the same hidden states."""

    def __init__(self, d=64, heads=4):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(d, d) for _ in range(3))
        self.heads = heads

    def forward(self, x):
        b, s, d = x.shape
        hd = d // self.heads
        q = self.q(x).reshape(b, s, self.heads, hd).permute(0, 2, 1, 3)
        k = self.k(x).reshape(b, s, self.heads, hd).permute(0, 2, 3, 1)
        v = self.v(x).reshape(b, s, self.heads, hd).permute(0, 2, 1, 3)
        ctx = torch.matmul(torch.softmax(torch.matmul(q, k) / hd ** 0.5, dim=-1), v)
        return ctx.permute(0, 2, 1, 3).reshape(b, s, d)


def test_int8_projections_of_one_input_run_as_one_op():
    """Q, K and V read one tensor: in an int8 plan the first runs all three on x quantized once
    (the others are marked as run by it), and the answer stays within int8 error of ORT fp32."""
    torch.manual_seed(4)
    block = SeparateProjections().eval()
    model = _export(block, (torch.randn(1, 40, 64),), ["x"])
    calib = [np.random.default_rng(i).standard_normal((1, 40, 64)).astype(np.float32) for i in range(4)]
    engine = spiralkit.compile(model, calib[0], quantize="int8", calibration=calib)
    linears = [l for l in engine.layers() if l["op"] == "Linear"]
    assert len(linears) == 3
    assert "x quantized once for it and 2 more" in linears[0]["kernel"]
    assert all(l.get("fused_into") == linears[0]["name"] for l in linears[1:])
    session = ort.InferenceSession(model.SerializeToString())
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 40, 64)).astype(np.float32)
        want = session.run(None, {"x": x})[0]
        assert np.abs(engine.run(x)[0] - want).max() <= 0.05 * np.abs(want).max()
    fp32 = spiralkit.compile(model, calib[0])
    assert not any("quantized once" in l["kernel"] for l in fp32.layers())
