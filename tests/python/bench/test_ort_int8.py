"""ONNX Runtime's int8 baseline (spiralkit.bench.ort_int8) on a tiny model: the QDQ file has the
structure the benchmark claims, and its output stays within quantization error of fp32."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
from onnx import numpy_helper  # noqa: E402

from spiralkit.bench import ort_int8  # noqa: E402
from spiralkit.bench.models import export_onnx  # noqa: E402


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("ortq")
    model = Tiny().eval()
    with torch.no_grad():  # a pruned row group: zeros must stay exact zeros after quantization
        model.fc.weight[:, :64] = 0
    g = np.random.default_rng(0)
    calib = [g.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(6)]
    fp32 = export_onnx(model, calib[0], d / "tiny.onnx")
    q = ort_int8.quantize_ort_int8(fp32, calib, d / "tiny.int8.onnx")
    return fp32, q, calib


def _consumers(graph, name):
    return [n for n in graph.node if name in n.input]


def _producer(graph, name):
    return next((n for n in graph.node if name in n.output), None)


def test_qdq_around_conv_and_matmul_with_per_channel_weights(tiny):
    _, q, _ = tiny
    g = onnx.load(q).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    compute = [n for n in g.node if n.op_type in ("Conv", "MatMul", "Gemm")]
    assert {n.op_type for n in compute} >= {"Conv"} and len(compute) == 2
    for node in compute:
        data, weight = node.input[0], node.input[1]
        dq_x, dq_w = _producer(g, data), _producer(g, weight)
        assert dq_x is not None and dq_x.op_type == "DequantizeLinear"
        assert _producer(g, dq_x.input[0]).op_type == "QuantizeLinear"  # activation: Q -> DQ -> op
        assert dq_w is not None and dq_w.op_type == "DequantizeLinear"
        w_q, w_scale, w_zp = (inits[i] for i in dq_w.input[:3])
        assert w_q.dtype == np.int8
        axis = next((a.i for a in dq_w.attribute if a.name == "axis"), 1)
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        # the output-channel axis: Conv [N, C, kh, kw], Gemm(transB=1) [N, K], MatMul [K, N]
        assert axis == (0 if node.op_type == "Conv" or trans_b else 1)
        n_out = w_q.shape[axis]
        assert w_scale.shape == (n_out,) and len(np.unique(w_scale)) > 1  # one scale per output channel
        assert np.all(w_zp == 0)  # symmetric
        assert np.abs(w_q).max() <= 127


def test_pruned_zeros_stay_zero(tiny):
    _, q, _ = tiny
    g = onnx.load(q).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    fc = next(n for n in g.node if n.op_type in ("MatMul", "Gemm"))
    w_q = inits[_producer(g, fc.input[1]).input[0]]
    w = w_q if w_q.shape[0] == 10 else w_q.T  # logical [N, K] (Gemm transB=1 or MatMul [K, N])
    assert np.all(w[:, :64] == 0) and np.count_nonzero(w[:, 64:]) > 0


def test_int8_output_within_quantization_error(tiny):
    fp32, q, calib = tiny
    res = ort_int8.run_both(fp32, q, calib[:3], threads=1)
    # 8-bit activations and weights through two layers: a few percent of max|y|, never garbage.
    assert 1e-6 < res["max_rel_err"] < 0.05
    assert res["mean_cosine"] > 0.995


def test_percentile_differs_from_minmax(tiny, tmp_path):
    fp32, q, calib = tiny
    p = ort_int8.quantize_ort_int8(fp32, calib, tmp_path / "p.int8.onnx", method="percentile", percentile=99.0)

    def act_scales(path):
        g = onnx.load(path).graph
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        return sorted(float(inits[n.input[1]]) for n in g.node if n.op_type == "QuantizeLinear")

    assert act_scales(p) != act_scales(q)
    assert ort_int8.run_both(fp32, p, calib[:2], threads=1)["max_rel_err"] < 0.2


def test_bad_arguments(tiny, tmp_path):
    fp32, _, calib = tiny
    with pytest.raises(ValueError, match="method"):
        ort_int8.quantize_ort_int8(fp32, calib, tmp_path / "x.onnx", method="entropy")
    with pytest.raises(ValueError, match="activation"):
        ort_int8.quantize_ort_int8(fp32, calib, tmp_path / "x.onnx", activation="int4")
    with pytest.raises(ValueError, match="onnx_path"):
        ort_int8.quantize_ort_int8(tmp_path / "missing.onnx", calib)


def test_reduced_range_only_for_uint8_activations():
    # int8 activations never saturate vpmaddubsw (ORT runs S8S8 through another kernel).
    assert ort_int8.needs_reduced_range("int8") is False
    assert isinstance(ort_int8.needs_reduced_range("uint8"), bool)
