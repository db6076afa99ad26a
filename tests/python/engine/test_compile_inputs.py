"""compile leaves a caller's ModelProto untouched (it only empties models it loaded or exported
itself), and an ONNX file compiles to the same engine as its ModelProto."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import spiralkit  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _model():
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_a_callers_model_proto_keeps_its_weights(tmp_path):
    model = _model()
    before = model.SerializeToString()
    engine = spiralkit.compile(model)
    assert model.SerializeToString() == before
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    from_file = spiralkit.compile(str(path))
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert np.array_equal(engine(x), from_file(x))
    assert onnx.load(str(path)).SerializeToString() == before  # the file on disk is never touched


def _sparse_linear_model():
    w = np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32)
    w = spiralkit.prune_to_pattern(w, "4x1", 0.9)  # N x K; MatMul takes K x N
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16, 64])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Relu", ["t"], ["y"])],
                              "g", [x], [y], [numpy_helper.from_array(np.ascontiguousarray(w.T), "w")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m, w


def test_tuned_compile_keeps_a_measured_choice_and_the_answer():
    model, w = _sparse_linear_model()
    x = np.random.default_rng(2).standard_normal((2, 16, 32)).astype(np.float32)
    want = np.maximum(x @ w.T, 0)
    for tune in (False, True):
        engine = spiralkit.compile(model, x[:1], tune=tune)
        (layer,) = [l for l in engine.layers() if l["op"] == "Linear"]
        assert layer["pattern"] == "4x1"
        assert layer["choice"] in ((1, 2) if tune else (0,))  # tuned: dense (1) or sparse (2) was measured
        assert np.abs(engine(x) - want).max() <= 1e-4 * np.abs(want).max()


def test_kernel_choices_are_checked():
    model, _ = _sparse_linear_model()
    engine = spiralkit.compile(model, np.zeros((1, 16, 32), np.float32))
    n = len(engine.layers())
    with pytest.raises(ValueError, match="one per node"):
        engine._native.set_kernel_choices([0] * (n + 1))
    with pytest.raises(ValueError, match="unknown kernel choice"):
        engine._native.set_kernel_choices([7] * n)


def test_an_out_of_range_token_id_is_refused_at_run_time():
    table = numpy_helper.from_array(np.arange(20, dtype=np.float32).reshape(5, 4), "table")
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 4])
    graph = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["y"], name="embed")], "g", [ids], [y],
                              [table])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    engine = spiralkit.compile(m, np.zeros((1, 3), np.int64))
    assert np.array_equal(engine(np.array([[4, -1, 0]])), np.arange(20, dtype=np.float32).reshape(5, 4)[[4, 4, 0]][None])
    with pytest.raises(ValueError, match="embed.*index 5 is out of range"):
        engine(np.array([[1, 5, 0]]))
