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
