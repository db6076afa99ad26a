"""spiralkit.compile on small ONNX graphs against onnxruntime, one graph (family) per op.

Every graph is built with ``onnx.helper`` at opset 17 (Gelu: opset 20; a few opset-18 forms that
torch's exporter emits are tested on their own), shape-inferred and checked by ``onnx.checker``,
then run in onnxruntime (graph optimizations off) and in the engine; ``check`` (conftest) compares
within rtol 1e-4 of max |ref|. Inputs have a symbolic leading dim "N" and static other dims.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import spiralkit

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

if not hasattr(spiralkit, "compile"):  # the engine is being written; remove once it lands
    pytest.skip("spiralkit.compile does not exist yet", allow_module_level=True)

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


# --------------------------------------------------------------------------------------------
# graph building
# --------------------------------------------------------------------------------------------


def node(op, inputs, outputs, name=None, **attrs):
    """A node named after its first output unless ``name`` is given."""
    return helper.make_node(op, list(inputs), list(outputs), name=name or f"{op.lower()}_{outputs[0]}", **attrs)


def make_model(nodes, inputs, outputs, inits=None, opset=17, keep_value_info=False):
    """A checked ModelProto. ``inputs``: (name, shape) or (name, shape, elem_type) with "N" for the
    batch dim; ``outputs``: names (float) or (name, elem_type); ``inits``: name -> array. Output
    types and shapes come from ONNX shape inference (strict); intermediate value_info is dropped
    unless ``keep_value_info`` (the engine infers shapes itself)."""
    graph_inputs = []
    for spec in inputs:
        name, shape = spec[0], spec[1]
        elem = spec[2] if len(spec) > 2 else FLOAT
        graph_inputs.append(helper.make_tensor_value_info(name, elem, shape))
    graph_outputs = []
    for spec in outputs:
        name, elem = (spec, FLOAT) if isinstance(spec, str) else spec
        graph_outputs.append(helper.make_tensor_value_info(name, elem, None))
    initializers = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    graph = helper.make_graph(list(nodes), "test_graph", graph_inputs, graph_outputs, initializers)
    opset_ids = [helper.make_opsetid("", opset)]
    ir = max(8, helper.find_min_ir_version_for(opset_ids))
    model = helper.make_model(graph, opset_imports=opset_ids, ir_version=ir, producer_name="spiralkit-tests")
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    onnx.checker.check_model(model, full_check=True)
    if not keep_value_info:
        del model.graph.value_info[:]
    return model


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def positive(rng, *shape, low=0.1, high=3.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def away_from_zero(rng, *shape):
    """Values with |v| in [0.5, 2]: safe denominators."""
    return (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


def i64(*values):
    return np.asarray(values, dtype=np.int64)


def f32(value):
    return np.asarray(value, dtype=np.float32)


def single_op(op, x_shape, extra_inits=None, extra_inputs=(), opset=17, **attrs):
    """``y = op(x, *extra_inputs)``; ``extra_inputs`` name initializers in ``extra_inits`` ("" for
    an omitted optional input)."""
    return make_model([node(op, ["x", *extra_inputs], ["y"], **attrs)], [("x", ["N", *x_shape])], ["y"],
                      extra_inits, opset=opset)


# --------------------------------------------------------------------------------------------
# Conv
# --------------------------------------------------------------------------------------------

CONV_CASES = {
    # name: (cin, cout, (h, w), kernel, attrs, bias)
    "3x3_pad1": (3, 5, (8, 8), (3, 3), dict(pads=[1, 1, 1, 1]), True),
    "3x3_nopad": (3, 4, (7, 9), (3, 3), {}, True),
    "no_bias": (3, 5, (8, 8), (3, 3), dict(pads=[1, 1, 1, 1]), False),
    "groups2": (4, 6, (6, 6), (3, 3), dict(pads=[1, 1, 1, 1], group=2), True),
    "groups3_no_bias": (6, 9, (5, 7), (3, 3), dict(pads=[1, 1, 1, 1], group=3), False),
    "depthwise": (6, 6, (8, 8), (3, 3), dict(pads=[1, 1, 1, 1], group=6), True),
    "depthwise_mult2": (4, 8, (7, 7), (3, 3), dict(pads=[1, 1, 1, 1], group=4), True),
    "depthwise_stride2": (8, 8, (9, 9), (3, 3), dict(pads=[1, 1, 1, 1], group=8, strides=[2, 2]), True),
    "depthwise_5x5": (5, 5, (9, 9), (5, 5), dict(pads=[2, 2, 2, 2], group=5), False),
    "stride2_odd": (3, 4, (9, 9), (3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]), True),
    "stride2_even": (3, 4, (8, 8), (3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2]), True),
    "stride_2x1": (3, 4, (8, 6), (3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 1]), True),
    "dilation2": (3, 4, (9, 9), (3, 3), dict(pads=[2, 2, 2, 2], dilations=[2, 2]), True),
    "dilation_2x1_nopad": (2, 3, (9, 8), (3, 3), dict(dilations=[2, 1]), True),
    "asym_pads": (3, 4, (6, 7), (3, 3), dict(pads=[0, 1, 2, 1]), True),
    "asym_pads_stride2": (3, 4, (7, 7), (3, 3), dict(pads=[1, 0, 0, 1], strides=[2, 2]), True),
    "1x1": (6, 4, (5, 5), (1, 1), {}, True),
    "1x1_no_bias": (6, 4, (5, 5), (1, 1), {}, False),
    "1x1_stride2": (6, 4, (7, 7), (1, 1), dict(strides=[2, 2]), True),
    "kernel_gt_input_pad": (2, 3, (3, 3), (5, 5), dict(pads=[2, 2, 2, 2]), True),
    "kernel_gt_input_1x1_out": (2, 3, (3, 3), (5, 5), dict(pads=[1, 1, 1, 1]), True),
    "rect_kernel_3x1": (3, 4, (7, 5), (3, 1), dict(pads=[1, 0, 1, 0]), True),
    "rect_kernel_1x5": (3, 4, (4, 9), (1, 5), dict(pads=[0, 2, 0, 2]), True),
    "stem_7x7_s2_p3": (3, 8, (16, 16), (7, 7), dict(pads=[3, 3, 3, 3], strides=[2, 2]), True),
    "groups_stride_dilation": (4, 4, (11, 11), (3, 3), dict(pads=[2, 2, 2, 2], group=2, strides=[2, 2],
                                                           dilations=[2, 2]), True),
    "1x1_input": (5, 7, (1, 1), (1, 1), {}, True),
    "auto_pad_same_upper": (3, 4, (7, 7), (3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2]), True),
    "auto_pad_valid": (3, 4, (7, 6), (3, 3), dict(auto_pad="VALID"), True),
    "no_kernel_shape_attr": (3, 4, (6, 6), None, dict(pads=[1, 1, 1, 1]), True),
}


def conv_model(rng, cin, cout, hw, kernel, attrs, bias, wname="w"):
    group = attrs.get("group", 1)
    kshape = kernel or (3, 3)
    inits = {wname: randn(rng, cout, cin // group, *kshape, scale=0.3)}
    inputs = ["x", wname]
    if bias:
        inits["b"] = randn(rng, cout)
        inputs.append("b")
    if kernel is not None:
        attrs = dict(attrs, kernel_shape=list(kernel))
    return make_model([node("Conv", inputs, ["y"], **attrs)], [("x", ["N", cin, *hw])], ["y"], inits)


@pytest.mark.parametrize("case", list(CONV_CASES))
def test_conv(rng, check, case):
    cin, cout, hw, kernel, attrs, bias = CONV_CASES[case]
    model = conv_model(rng, cin, cout, hw, kernel, attrs, bias)
    check(model, {"x": randn(rng, 2, cin, *hw)})


def _bn_inits(rng, c, prefix="bn"):
    return {
        f"{prefix}_scale": randn(rng, c),
        f"{prefix}_bias": randn(rng, c),
        f"{prefix}_mean": randn(rng, c, scale=0.5),
        f"{prefix}_var": positive(rng, c, low=0.2, high=2.0),
    }


def _bn_node(x, y, prefix="bn", **attrs):
    return node("BatchNormalization", [x, f"{prefix}_scale", f"{prefix}_bias", f"{prefix}_mean", f"{prefix}_var"],
                [y], **attrs)


@pytest.mark.parametrize("bias", [True, False], ids=["conv_bias", "conv_no_bias"])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_conv_batchnorm_fold(rng, check, bias, eps):
    inits = {"w": randn(rng, 6, 3, 3, 3, scale=0.3), **_bn_inits(rng, 6)}
    conv_in = ["x", "w"]
    if bias:
        inits["b"] = randn(rng, 6)
        conv_in.append("b")
    nodes = [node("Conv", conv_in, ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), _bn_node("c", "y", epsilon=eps)]
    model = make_model(nodes, [("x", ["N", 3, 8, 8])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 8, 8)})


def test_conv_batchnorm_relu_depthwise(rng, check):
    inits = {"w": randn(rng, 5, 1, 3, 3), **_bn_inits(rng, 5)}
    nodes = [node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=5),
             _bn_node("c", "n"), node("Relu", ["n"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, 6, 6])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 6, 6)})


@pytest.mark.parametrize("act", ["Relu", "Clip06", "Sigmoid", "HardSwish", "LeakyRelu"])
def test_conv_activation(rng, check, act):
    inits = {"w": randn(rng, 4, 3, 3, 3, scale=0.5), "b": randn(rng, 4)}
    nodes = [node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    if act == "Clip06":
        inits.update(lo=f32(0.0), hi=f32(6.0))
        nodes.append(node("Clip", ["c", "lo", "hi"], ["y"]))
    elif act == "LeakyRelu":
        nodes.append(node("LeakyRelu", ["c"], ["y"], alpha=0.1))
    else:
        nodes.append(node(act, ["c"], ["y"]))
    model = make_model(nodes, [("x", ["N", 3, 7, 7])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 7, 7, scale=2.0)})


def test_conv_residual_add_relu(rng, check):
    inits = {"w": randn(rng, 4, 4, 3, 3, scale=0.3), "b": randn(rng, 4)}
    nodes = [node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Add", ["c", "x"], ["s"]), node("Relu", ["s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 4, 6, 6])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 4, 6, 6)})


def test_conv_residual_add_relu_operands_swapped(rng, check):
    inits = {"w": randn(rng, 4, 4, 1, 1), "b": randn(rng, 4)}
    nodes = [node("Relu", ["x"], ["r"]),
             node("Conv", ["r", "w", "b"], ["c"], kernel_shape=[1, 1]),
             node("Add", ["r", "c"], ["s"]), node("Relu", ["s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 4, 5, 5])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 4, 5, 5)})


def test_resnet_basic_block(rng, check):
    inits = {"w1": randn(rng, 4, 4, 3, 3, scale=0.3), "w2": randn(rng, 4, 4, 3, 3, scale=0.3),
             **_bn_inits(rng, 4, "bn1"), **_bn_inits(rng, 4, "bn2")}
    nodes = [node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             _bn_node("c1", "n1", "bn1"), node("Relu", ["n1"], ["r1"]),
             node("Conv", ["r1", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             _bn_node("c2", "n2", "bn2"), node("Add", ["n2", "x"], ["s"]), node("Relu", ["s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 4, 6, 6])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 4, 6, 6)})


def test_resnet_downsample_block(rng, check):
    """Main path stride 2, shortcut a strided 1x1 conv + BN, added then Relu."""
    inits = {"w1": randn(rng, 6, 3, 3, 3, scale=0.3), "wd": randn(rng, 6, 3, 1, 1),
             **_bn_inits(rng, 6, "bn1"), **_bn_inits(rng, 6, "bnd")}
    nodes = [node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
             _bn_node("c1", "n1", "bn1"),
             node("Conv", ["x", "wd"], ["cd"], kernel_shape=[1, 1], strides=[2, 2]),
             _bn_node("cd", "nd", "bnd"), node("Add", ["n1", "nd"], ["s"]), node("Relu", ["s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 8, 8])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 8, 8)})


def test_conv_output_fans_out(rng, check):
    """The conv output is a graph output and also feeds Relu and BN: nothing may be fused into
    the conv in place."""
    inits = {"w": randn(rng, 4, 3, 3, 3, scale=0.5), "b": randn(rng, 4), **_bn_inits(rng, 4)}
    nodes = [node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["c"], ["r"]), _bn_node("c", "n")]
    model = make_model(nodes, [("x", ["N", 3, 6, 6])], ["c", "r", "n"], inits)
    check(model, {"x": randn(rng, 2, 3, 6, 6)})


def test_conv_shared_weight(rng, check):
    inits = {"w": randn(rng, 3, 3, 3, 3, scale=0.4), "b": randn(rng, 3)}
    nodes = [node("Conv", ["x", "w", "b"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["c1"], ["r1"]),
             node("Conv", ["r1", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    model = make_model(nodes, [("x", ["N", 3, 6, 6])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 6, 6)})


# --------------------------------------------------------------------------------------------
# Gemm, MatMul
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 2.0)])
@pytest.mark.parametrize("c_shape", ["none", "n", "1n"])
def test_gemm(rng, check, trans_b, alpha, beta, c_shape):
    k, n = 13, 7
    inits = {"w": randn(rng, *((n, k) if trans_b else (k, n)))}
    inputs = ["x", "w"]
    if c_shape != "none":
        inits["c"] = randn(rng, *((n,) if c_shape == "n" else (1, n)))
        inputs.append("c")
    model = make_model([node("Gemm", inputs, ["y"], transB=trans_b, alpha=alpha, beta=beta)],
                       [("x", ["N", k])], ["y"], inits)
    check(model, {"x": randn(rng, 3, k)})


def test_gemm_relu_chain(rng, check):
    inits = {"w1": randn(rng, 16, 10), "b1": randn(rng, 16), "w2": randn(rng, 4, 16), "b2": randn(rng, 4)}
    nodes = [node("Gemm", ["x", "w1", "b1"], ["h"], transB=1), node("Relu", ["h"], ["r"]),
             node("Gemm", ["r", "w2", "b2"], ["y"], transB=1)]
    model = make_model(nodes, [("x", ["N", 10])], ["y"], inits)
    check(model, {"x": randn(rng, 5, 10)})


MATMUL_WEIGHT_CASES = {
    # name: (input shape without batch, weight shape)
    "2d": ((13,), (13, 7)),
    "2d_k1": ((1,), (1, 5)),
    "2d_n1": ((9,), (9, 1)),
    "2d_k67": ((67,), (67, 33)),
    "3d_bsk": ((5, 12), (12, 8)),
    "4d": ((2, 3, 6), (6, 4)),
}


@pytest.mark.parametrize("case", list(MATMUL_WEIGHT_CASES))
@pytest.mark.parametrize("with_bias", [False, True], ids=["matmul", "matmul_add_bias"])
def test_matmul_const_weight(rng, check, case, with_bias):
    xs, ws = MATMUL_WEIGHT_CASES[case]
    inits = {"w": randn(rng, *ws, scale=0.5)}
    nodes = [node("MatMul", ["x", "w"], ["m" if with_bias else "y"])]
    if with_bias:
        inits["b"] = randn(rng, ws[-1])
        nodes.append(node("Add", ["m", "b"], ["y"]))
    model = make_model(nodes, [("x", ["N", *xs])], ["y"], inits)
    check(model, {"x": randn(rng, 2, *xs)})


def test_matmul_const_weight_bias_first(rng, check):
    """Add(bias, MatMul(x, W)): the bias on the left, as some exporters write it."""
    inits = {"w": randn(rng, 12, 8), "b": randn(rng, 8)}
    nodes = [node("MatMul", ["x", "w"], ["m"]), node("Add", ["b", "m"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, 12])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 12)})


def test_matmul_const_weight_vector(rng, check):
    """[B,S,K] @ [K] -> [B,S] (1-D right operand)."""
    model = make_model([node("MatMul", ["x", "w"], ["y"])], [("x", ["N", 5, 12])], ["y"],
                       {"w": randn(rng, 12)})
    check(model, {"x": randn(rng, 2, 5, 12)})


def test_matmul_const_left_operand(rng, check):
    """W[M,S] @ x[B,S,K]: constant on the left, broadcast over the batch."""
    model = make_model([node("MatMul", ["w", "x"], ["y"])], [("x", ["N", 5, 6])], ["y"],
                       {"w": randn(rng, 4, 5)})
    check(model, {"x": randn(rng, 2, 5, 6)})


MATMUL_ACT_CASES = {
    # name: (a shape without batch, b shape with its leading dim; "N" = batch)
    "3d_batched": ((4, 6), ("N", 6, 5)),
    "4d_batched": ((2, 3, 4), ("N", 2, 4, 5)),
    "4d_broadcast_heads": ((3, 4, 5), ("N", 1, 5, 6)),
    "4d_broadcast_batch": ((3, 4, 5), (1, 3, 5, 6)),
}


@pytest.mark.parametrize("case", list(MATMUL_ACT_CASES))
def test_matmul_activation_x_activation(rng, check, case):
    a_shape, b_shape = MATMUL_ACT_CASES[case]
    model = make_model([node("MatMul", ["a", "b"], ["y"])], [("a", ["N", *a_shape]), ("b", list(b_shape))], ["y"])
    b_concrete = [2 if d == "N" else d for d in b_shape]
    check(model, {"a": randn(rng, 2, *a_shape), "b": randn(rng, *b_concrete)})


def test_matmul_q_kt_softmax_v(rng, check):
    """Attention core on one input: softmax(x @ x^T / sqrt(d)) @ x."""
    inits = {"scale": f32(1.0 / np.sqrt(8.0))}
    nodes = [node("Transpose", ["x"], ["xt"], perm=[0, 1, 3, 2]),
             node("MatMul", ["x", "xt"], ["s"]), node("Mul", ["s", "scale"], ["ss"]),
             node("Softmax", ["ss"], ["p"], axis=-1), node("MatMul", ["p", "x"], ["y"])]
    model = make_model(nodes, [("x", ["N", 2, 5, 8])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 2, 5, 8)})


# --------------------------------------------------------------------------------------------
# elementwise binary with broadcasting
# --------------------------------------------------------------------------------------------

C, H, W = 3, 4, 5
BROADCAST_CASES = {
    # name: (kind, other shape); kind "const_right", "const_left" (initializer), "act" (second input)
    "scalar_const": ("const_right", ()),
    "scalar_const_left": ("const_left", ()),
    "one_elem_const": ("const_right", (1,)),
    "per_channel_const": ("const_right", (C, 1, 1)),
    "per_channel_const_left": ("const_left", (C, 1, 1)),
    "per_channel_4d_const": ("const_right", (1, C, 1, 1)),
    "rank_mismatch_const_w": ("const_right", (W,)),
    "rank_mismatch_const_hw_left": ("const_left", (H, W)),
    "const_chw": ("const_right", (C, H, W)),
    "same_shape_act": ("act", ("N", C, H, W)),
    "act_per_sample_channel": ("act", ("N", C, 1, 1)),
    "act_spatial": ("act", ("N", 1, H, W)),
}


@pytest.mark.parametrize("case", list(BROADCAST_CASES))
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_broadcast(rng, check, op, case):
    kind, other = BROADCAST_CASES[case]
    gen = away_from_zero if op == "Div" else randn
    x = randn(rng, 2, C, H, W) if op != "Div" or kind != "const_left" else away_from_zero(rng, 2, C, H, W)
    feeds = {"x": x}
    if kind == "act":
        inputs = [("x", ["N", C, H, W]), ("z", list(other))]
        feeds["z"] = gen(rng, *[2 if d == "N" else d for d in other])
        model = make_model([node(op, ["x", "z"], ["y"])], inputs, ["y"])
    else:
        inits = {"k": gen(rng, *other) if other else f32(gen(rng, 1)[0])}
        operands = ["x", "k"] if kind == "const_right" else ["k", "x"]
        model = make_model([node(op, operands, ["y"])], [("x", ["N", C, H, W])], ["y"], inits)
    check(model, feeds)


def test_binary_chain_same_input(rng, check):
    """x*x + x - x/2, every operand the same tensor."""
    inits = {"two": f32(2.0)}
    nodes = [node("Mul", ["x", "x"], ["a"]), node("Add", ["a", "x"], ["b"]),
             node("Div", ["x", "two"], ["c"]), node("Sub", ["b", "c"], ["y"])]
    model = make_model(nodes, [("x", ["N", 6, 7])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 6, 7)})


# --------------------------------------------------------------------------------------------
# normalization
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 4, 4), (6,), (4, 7)], ids=["4d", "2d", "3d"])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_batchnorm_standalone(rng, check, shape, eps):
    c = shape[0]
    model = make_model([_bn_node("x", "y", epsilon=eps)], [("x", ["N", *shape])], ["y"], _bn_inits(rng, c))
    check(model, {"x": randn(rng, 3, *shape)})


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("shape", [(5, 16), (12,)], ids=["3d", "2d"])
@pytest.mark.parametrize("eps", [1e-5, 1e-12])
def test_layernorm(rng, check, with_bias, shape, eps):
    h = shape[-1]
    inits = {"gamma": randn(rng, h), "beta": randn(rng, h)}
    inputs = ["x", "gamma"] + (["beta"] if with_bias else [])
    if not with_bias:
        del inits["beta"]
    model = make_model([node("LayerNormalization", inputs, ["y"], axis=-1, epsilon=eps)],
                       [("x", ["N", *shape])], ["y"], inits)
    check(model, {"x": randn(rng, 2, *shape, scale=3.0) + 1.5})


def test_layernorm_decomposed(rng, check):
    """The pre-opset-17 export: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add."""
    h = 16
    inits = {"two": f32(2.0), "eps": f32(1e-5), "gamma": randn(rng, h), "beta": randn(rng, h)}
    nodes = [node("ReduceMean", ["x"], ["mu"], axes=[-1], keepdims=1),
             node("Sub", ["x", "mu"], ["d"]),
             node("Pow", ["d", "two"], ["d2"]),
             node("ReduceMean", ["d2"], ["var"], axes=[-1], keepdims=1),
             node("Add", ["var", "eps"], ["ve"]),
             node("Sqrt", ["ve"], ["sd"]),
             node("Div", ["d", "sd"], ["nrm"]),
             node("Mul", ["nrm", "gamma"], ["sc"]),
             node("Add", ["sc", "beta"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, h])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, h, scale=2.0) - 1.0})


# --------------------------------------------------------------------------------------------
# unary activations and elementwise math
# --------------------------------------------------------------------------------------------

UNARY_CASES = {
    # name: (op, attrs, opset)
    "Relu": ("Relu", {}, 17),
    "Sigmoid": ("Sigmoid", {}, 17),
    "Tanh": ("Tanh", {}, 17),
    "Erf": ("Erf", {}, 17),
    "HardSwish": ("HardSwish", {}, 17),
    "HardSigmoid_default": ("HardSigmoid", {}, 17),
    "HardSigmoid_torch": ("HardSigmoid", dict(alpha=1.0 / 6.0, beta=0.5), 17),
    "LeakyRelu_default": ("LeakyRelu", {}, 17),
    "LeakyRelu_0.2": ("LeakyRelu", dict(alpha=0.2), 17),
    "Identity": ("Identity", {}, 17),
    "Cast_float_to_float": ("Cast", dict(to=FLOAT), 17),
    "Gelu_opset20_exact": ("Gelu", {}, 20),
    "Gelu_opset20_tanh": ("Gelu", dict(approximate="tanh"), 20),
}


@pytest.mark.parametrize("case", list(UNARY_CASES))
def test_unary(rng, check, case):
    op, attrs, opset = UNARY_CASES[case]
    model = single_op(op, (3, 11), opset=opset, **attrs)
    check(model, {"x": randn(rng, 2, 3, 11, scale=3.0)})


def test_unary_then_relu_identity_cast_in_chain(rng, check):
    nodes = [node("Identity", ["x"], ["a"]), node("Cast", ["a"], ["b"], to=FLOAT), node("Relu", ["b"], ["c"]),
             node("Identity", ["c"], ["y"])]
    model = make_model(nodes, [("x", ["N", 4, 5])], ["y"])
    check(model, {"x": randn(rng, 2, 4, 5)})


CLIP_CASES = {
    "min_max": (f32(-0.5), f32(1.5)),
    "relu6": (f32(0.0), f32(6.0)),
    "only_min": (f32(0.25), None),
    "only_max": (None, f32(0.75)),
    "none": (None, None),
}


@pytest.mark.parametrize("case", list(CLIP_CASES))
def test_clip(rng, check, case):
    lo, hi = CLIP_CASES[case]
    inits, inputs = {}, ["x"]
    if lo is not None:
        inits["lo"] = lo
    if hi is not None:
        inits["hi"] = hi
    if hi is not None:
        inputs += ["lo" if lo is not None else "", "hi"]
    elif lo is not None:
        inputs.append("lo")
    model = make_model([node("Clip", inputs, ["y"])], [("x", ["N", 3, 11])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 11, scale=4.0)})


def test_clip_bounds_from_constant_nodes(rng, check):
    nodes = [node("Constant", [], ["lo"], value=numpy_helper.from_array(f32(0.0))),
             node("Constant", [], ["hi"], value=numpy_helper.from_array(f32(6.0))),
             node("Clip", ["x", "lo", "hi"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 11])], ["y"])
    check(model, {"x": randn(rng, 2, 3, 11, scale=5.0)})


def test_gelu_decomposed_erf(rng, check):
    """x * 0.5 * (1 + erf(x / sqrt(2))), as torch's exporter writes nn.GELU() at opset < 20."""
    inits = {"sqrt2": f32(np.sqrt(2.0)), "one": f32(1.0), "half": f32(0.5)}
    nodes = [node("Div", ["x", "sqrt2"], ["a"]), node("Erf", ["a"], ["e"]), node("Add", ["e", "one"], ["p"]),
             node("Mul", ["x", "p"], ["m"]), node("Mul", ["m", "half"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, 16])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 16, scale=3.0)})


def test_silu_decomposed(rng, check):
    nodes = [node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 4, 9])], ["y"])
    check(model, {"x": randn(rng, 2, 4, 9, scale=3.0)})


@pytest.mark.parametrize("exponent,exp_shape", [(2.0, ()), (2.0, (1,)), (0.5, ()), (3.0, ()), (1.0, ())],
                         ids=["2_scalar", "2_shape1", "0.5", "3", "1"])
def test_pow(rng, check, exponent, exp_shape):
    inits = {"e": np.full(exp_shape, exponent, dtype=np.float32)}
    model = make_model([node("Pow", ["x", "e"], ["y"])], [("x", ["N", 3, 7])], ["y"], inits)
    x = positive(rng, 2, 3, 7) if exponent == 0.5 else randn(rng, 2, 3, 7, scale=2.0)
    check(model, {"x": x})


def test_pow_exponent_from_constant_node(rng, check):
    nodes = [node("Constant", [], ["e"], value_float=2.0), node("Pow", ["x", "e"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 7])], ["y"])
    check(model, {"x": randn(rng, 2, 3, 7)})


def test_sqrt(rng, check):
    model = single_op("Sqrt", (3, 7))
    check(model, {"x": positive(rng, 2, 3, 7, low=0.0, high=9.0)})


@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["normal", "large_logits"])
@pytest.mark.parametrize("axis,shape", [(-1, (5, 7)), (1, (4, 3, 3)), (-1, (10,)), (2, (4, 6)), (1, (6,))],
                         ids=["axis-1_3d", "axis1_4d", "axis-1_2d", "axis2_3d", "axis1_2d"])
def test_softmax(rng, check, axis, shape, scale):
    model = single_op("Softmax", shape, axis=axis)
    check(model, {"x": randn(rng, 2, *shape, scale=scale)})


# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------

MAXPOOL_CASES = {
    # name: ((h, w), attrs)
    "k2_s2": ((8, 8), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "k2_s2_odd": ((7, 9), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "k3_s2_p1": ((8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "k3_s1_p1": ((6, 6), dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "k3_default_stride": ((6, 5), dict(kernel_shape=[3, 3])),
    "ceil_k3_s2": ((8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "ceil_k2_s2_odd": ((7, 7), dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
    "ceil_k3_s2_p1": ((8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    # 3x3/2 rows wider than a vector, odd widths: the no-phase-split path's body and tail
    "k3_s2_p1_wide": ((11, 75), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "ceil_k3_s2_wide_odd": ((9, 69), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "ceil_last_window_in_pad": ((5, 5), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    "dilation2": ((9, 9), dict(kernel_shape=[2, 2], dilations=[2, 2])),
    "dilation2_s2_p1": ((9, 9), dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])),
    "asym_pads": ((6, 6), dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1])),
    "rect_k2x3_s2x1": ((8, 7), dict(kernel_shape=[2, 3], strides=[2, 1])),
    "kernel_is_input": ((5, 5), dict(kernel_shape=[5, 5])),
}


@pytest.mark.parametrize("case", list(MAXPOOL_CASES))
def test_maxpool(rng, check, case):
    hw, attrs = MAXPOOL_CASES[case]
    model = single_op("MaxPool", (3, *hw), **attrs)
    check(model, {"x": randn(rng, 2, 3, *hw) - 2.0})  # mostly negative: padding must not act as 0


AVGPOOL_CASES = {
    "k2_s2": ((8, 8), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "k3_s1_p1": ((6, 6), dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "k3_s2_p1": ((7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "asym_pads": ((6, 5), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 2, 1])),
    "k3_s2_nopad": ((9, 9), dict(kernel_shape=[3, 3], strides=[2, 2])),
    "ceil_k3_s2": ((8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    # the last window hangs past the right pad: with count_include_pad=1 onnxruntime (and torch)
    # divide by the window clipped to input + pads, not by k*k
    "ceil_k3_s2_p1": ((8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    # 3x3/2 rows wider than a vector, odd widths: the no-phase-split path's body and tail
    "k3_s2_p1_wide": ((11, 75), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "ceil_k3_s2_wide_odd": ((9, 69), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
}


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", list(AVGPOOL_CASES))
def test_averagepool(rng, check, case, count_include_pad):
    hw, attrs = AVGPOOL_CASES[case]
    model = single_op("AveragePool", (3, *hw), count_include_pad=count_include_pad, **attrs)
    check(model, {"x": randn(rng, 2, 3, *hw) + 1.0})


@pytest.mark.parametrize("hw", [(5, 7), (1, 1), (8, 8)])
def test_global_average_pool(rng, check, hw):
    model = single_op("GlobalAveragePool", (6, *hw))
    check(model, {"x": randn(rng, 2, 6, *hw)})


def test_global_average_pool_flatten_gemm(rng, check):
    inits = {"w": randn(rng, 5, 6), "b": randn(rng, 5)}
    nodes = [node("GlobalAveragePool", ["x"], ["g"]), node("Flatten", ["g"], ["f"], axis=1),
             node("Gemm", ["f", "w", "b"], ["y"], transB=1)]
    model = make_model(nodes, [("x", ["N", 6, 4, 4])], ["y"], inits)
    check(model, {"x": randn(rng, 3, 6, 4, 4)})


# --------------------------------------------------------------------------------------------
# shape ops
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis,shape", [(1, (3, 4, 5)), (2, (3, 4, 5)), (1, (7,)), (-1, (3, 4))],
                         ids=["axis1_4d", "axis2_4d", "axis1_2d", "axis-1_3d"])
def test_flatten(rng, check, axis, shape):
    model = single_op("Flatten", shape, axis=axis)
    check(model, {"x": randn(rng, 2, *shape)})


@pytest.mark.parametrize("target", [(0, -1), (0, 2, 3, 4), (0, -1, 2), (0, 4, 6), (0, 0, -1), (-1, 24), (0, 24, 1)],
                         ids=lambda t: "x".join(map(str, t)))
def test_reshape_const(rng, check, target):
    nodes = [node("Reshape", ["x", "shape"], ["r"]), node("Relu", ["r"], ["y"])]
    model = make_model(nodes, [("x", ["N", 6, 4])], ["y"], {"shape": i64(*target)})
    check(model, {"x": randn(rng, 2, 6, 4)})


def test_reshape_target_from_constant_node(rng, check):
    nodes = [node("Constant", [], ["shape"], value_ints=[0, -1]), node("Reshape", ["x", "shape"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 2, 2])], ["y"])
    check(model, {"x": randn(rng, 2, 3, 2, 2)})


def _batch_flatten_nodes(src, dst):
    """torch's ``x.view(x.size(0), -1)``: Shape -> Gather(0) -> Unsqueeze -> Concat([b, -1])."""
    return [node("Shape", [src], [f"{dst}_shape"]),
            node("Gather", [f"{dst}_shape", "idx0"], [f"{dst}_b"], axis=0),
            node("Unsqueeze", [f"{dst}_b", "axes0"], [f"{dst}_b1"]),
            node("Concat", [f"{dst}_b1", "minus1"], [f"{dst}_target"], axis=0),
            node("Reshape", [src, f"{dst}_target"], [dst])]


SHAPE_INITS = {"idx0": np.asarray(0, dtype=np.int64), "axes0": i64(0), "minus1": i64(-1)}


def test_reshape_shape_gather_unsqueeze_concat(rng, check):
    model = make_model(_batch_flatten_nodes("x", "y"), [("x", ["N", 3, 4, 5])], ["y"], dict(SHAPE_INITS))
    check(model, {"x": randn(rng, 2, 3, 4, 5)})


def test_reshape_shape_subgraph_constant_nodes(rng, check):
    """The same subgraph with Constant nodes instead of initializers (the legacy exporter)."""
    nodes = [node("Constant", [], ["idx0"], value=numpy_helper.from_array(np.asarray(0, dtype=np.int64))),
             node("Constant", [], ["axes0"], value_ints=[0]),
             node("Constant", [], ["minus1"], value_ints=[-1]),
             *_batch_flatten_nodes("x", "f")]
    inits = {"w": randn(rng, 4, 60), "b": randn(rng, 4)}
    nodes.append(node("Gemm", ["f", "w", "b"], ["y"], transB=1))
    model = make_model(nodes, [("x", ["N", 3, 4, 5])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 4, 5)})


def test_reshape_flatten_dims_from_shape_of_intermediate(rng, check):
    """view(b, c*h*w) with every dim read from the Shape of a conv output and multiplied."""
    inits = {"w": randn(rng, 4, 3, 3, 3, scale=0.4), "i0": np.asarray(0, np.int64), "i1": np.asarray(1, np.int64),
             "i2": np.asarray(2, np.int64), "i3": np.asarray(3, np.int64), "axes0": i64(0),
             "fw": randn(rng, 5, 4 * 3 * 3)}
    nodes = [node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
             node("Shape", ["c"], ["s"]),
             node("Gather", ["s", "i0"], ["d0"], axis=0), node("Gather", ["s", "i1"], ["d1"], axis=0),
             node("Gather", ["s", "i2"], ["d2"], axis=0), node("Gather", ["s", "i3"], ["d3"], axis=0),
             node("Mul", ["d1", "d2"], ["d12"]), node("Mul", ["d12", "d3"], ["d123"]),
             node("Unsqueeze", ["d0", "axes0"], ["u0"]), node("Unsqueeze", ["d123", "axes0"], ["u1"]),
             node("Concat", ["u0", "u1"], ["target"], axis=0),
             node("Reshape", ["c", "target"], ["f"]),
             node("Gemm", ["f", "fw"], ["y"], transB=1)]
    model = make_model(nodes, [("x", ["N", 3, 7, 7])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 7, 7)})


def test_reshape_attention_heads_from_shape(rng, check):
    """[B,S,H] -> [B,S,heads,H/heads] -> [B,heads,S,hd] with B, S, H/heads computed from Shape
    (integer Div included), as a torch multi-head attention export does."""
    heads = 2
    inits = {"i0": np.asarray(0, np.int64), "i1": np.asarray(1, np.int64), "i2": np.asarray(2, np.int64),
             "nh": np.asarray(heads, np.int64), "nh1": i64(heads), "axes0": i64(0)}
    nodes = [node("Shape", ["x"], ["s"]),
             node("Gather", ["s", "i0"], ["b"], axis=0), node("Gather", ["s", "i1"], ["sl"], axis=0),
             node("Gather", ["s", "i2"], ["h"], axis=0), node("Div", ["h", "nh"], ["hd"]),
             node("Unsqueeze", ["b", "axes0"], ["ub"]), node("Unsqueeze", ["sl", "axes0"], ["us"]),
             node("Unsqueeze", ["hd", "axes0"], ["uh"]),
             node("Concat", ["ub", "us", "nh1", "uh"], ["target"], axis=0),
             node("Reshape", ["x", "target"], ["r"]), node("Transpose", ["r"], ["y"], perm=[0, 2, 1, 3])]
    model = make_model(nodes, [("x", ["N", 5, 8])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 8)})


def test_reshape_target_from_shape_slice(rng, check):
    """[B,3,4,5] -> [B,3,20]: the target is Slice(Shape(x), 0, 2) ++ [-1] (batch dim included)."""
    inits = {"st": i64(0), "en": i64(2), "minus1": i64(-1)}
    nodes = [node("Shape", ["x"], ["s"]), node("Slice", ["s", "st", "en"], ["head"]),
             node("Concat", ["head", "minus1"], ["target"], axis=0), node("Reshape", ["x", "target"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 4, 5])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 4, 5)})


def test_shape_arithmetic_attention_scale(rng, check):
    """x / sqrt(x.size(-1)): Shape -> Gather(-1) -> Cast(float) -> Sqrt -> Div, all foldable."""
    inits = {"last": np.asarray(-1, np.int64)}
    nodes = [node("Shape", ["x"], ["s"]), node("Gather", ["s", "last"], ["d"], axis=0),
             node("Cast", ["d"], ["df"], to=FLOAT), node("Sqrt", ["df"], ["sd"]), node("Div", ["x", "sd"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, 16])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 16)})


@pytest.mark.parametrize("perm", [(0, 2, 3, 1), (0, 3, 1, 2), (0, 2, 1, 3), (0, 1, 3, 2), (0, 3, 2, 1)],
                         ids=lambda p: "".join(map(str, p)))
def test_transpose_4d(rng, check, perm):
    model = single_op("Transpose", (3, 4, 5), perm=list(perm))
    check(model, {"x": randn(rng, 2, 3, 4, 5)})


def test_transpose_3d(rng, check):
    model = single_op("Transpose", (5, 7), perm=[0, 2, 1])
    check(model, {"x": randn(rng, 2, 5, 7)})


def test_concat_axis1(rng, check):
    model = make_model([node("Concat", ["a", "b"], ["y"], axis=1)],
                       [("a", ["N", 2, 4, 4]), ("b", ["N", 3, 4, 4])], ["y"])
    check(model, {"a": randn(rng, 2, 2, 4, 4), "b": randn(rng, 2, 3, 4, 4)})


def test_concat_axis_minus1_three_inputs(rng, check):
    model = make_model([node("Concat", ["a", "b", "c"], ["y"], axis=-1)],
                       [("a", ["N", 5, 3]), ("b", ["N", 5, 1]), ("c", ["N", 5, 4])], ["y"])
    check(model, {"a": randn(rng, 2, 5, 3), "b": randn(rng, 2, 5, 1), "c": randn(rng, 2, 5, 4)})


def test_concat_of_convs(rng, check):
    """Inception-style: two conv branches on one input, concatenated on channels, then Relu."""
    inits = {"w1": randn(rng, 2, 3, 1, 1), "w2": randn(rng, 3, 3, 3, 3, scale=0.4), "b2": randn(rng, 3)}
    nodes = [node("Conv", ["x", "w1"], ["c1"], kernel_shape=[1, 1]),
             node("Conv", ["x", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Concat", ["c1", "c2", "x"], ["cat"], axis=1), node("Relu", ["cat"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 5, 5])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 5, 5)})


def test_split_equal(rng, check):
    nodes = [node("Split", ["x"], ["a", "b", "c"], axis=1), node("Relu", ["b"], ["rb"])]
    model = make_model(nodes, [("x", ["N", 6, 4])], ["a", "rb", "c"])
    check(model, {"x": randn(rng, 2, 6, 4)})


def test_split_sizes_input_last_axis(rng, check):
    model = make_model([node("Split", ["x", "sizes"], ["a", "b", "c"], axis=-1)], [("x", ["N", 3, 6])],
                       ["a", "b", "c"], {"sizes": i64(2, 3, 1)})
    check(model, {"x": randn(rng, 2, 3, 6)})


def test_split_qkv(rng, check):
    """A fused QKV projection split into three [B,S,H] tensors, then q @ k^T and @ v."""
    h = 8
    inits = {"w": randn(rng, h, 3 * h, scale=0.3), "sizes": i64(h, h, h)}
    nodes = [node("MatMul", ["x", "w"], ["qkv"]), node("Split", ["qkv", "sizes"], ["q", "k", "v"], axis=2),
             node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), node("MatMul", ["q", "kt"], ["s"]),
             node("Softmax", ["s"], ["p"], axis=-1), node("MatMul", ["p", "v"], ["y"])]
    model = make_model(nodes, [("x", ["N", 5, h])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, h)})


SLICE_CASES = {
    # name: (starts, ends, axes or None, steps or None) on x [B, 6, 8, 5]
    "axis2_step2": ((1,), (7,), (2,), (2,)),
    "negative_start": ((-3,), (I64_MAX,), (-1,), None),
    "negative_end": ((1,), (-2,), (1,), None),
    "clamped_end": ((2,), (1000,), (1,), None),
    "clamped_start_negative": ((-100,), (3,), (3,), None),
    "reverse_step-1": ((-1,), (I64_MIN,), (3,), (-1,)),
    "step-2_clamped_start": ((100,), (0,), (2,), (-2,)),
    "two_axes": ((1, 0), (4, -1), (1, 3), None),
    "two_axes_unsorted_steps": ((0, 1), (I64_MAX, 6), (3, 1), (2, 3)),
    "no_axes_batch_full": ((0, 1), (I64_MAX, 3), None, None),
    "channel_one": ((2,), (3,), (1,), None),
}


@pytest.mark.parametrize("case", list(SLICE_CASES))
def test_slice(rng, check, case):
    starts, ends, axes, steps = SLICE_CASES[case]
    inits = {"starts": i64(*starts), "ends": i64(*ends)}
    inputs = ["x", "starts", "ends"]
    if axes is not None or steps is not None:
        inits["axes"] = i64(*(axes if axes is not None else range(len(starts))))
        inputs.append("axes")
    if steps is not None:
        inits["steps"] = i64(*steps)
        inputs.append("steps")
    model = make_model([node("Slice", inputs, ["y"])], [("x", ["N", 6, 8, 5])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 6, 8, 5)})


def test_gather_embedding(rng, check):
    v, h = 11, 6
    model = make_model([node("Gather", ["table", "ids"], ["y"], axis=0)], [("ids", ["N", 5], INT64)], ["y"],
                       {"table": randn(rng, v, h)})
    ids = rng.integers(0, v, (2, 5)).astype(np.int64)
    ids[0, 0], ids[1, -1] = 0, v - 1
    check(model, {"ids": ids})


def test_gather_embedding_1d_ids(rng, check):
    model = make_model([node("Gather", ["table", "ids"], ["y"], axis=0)], [("ids", ["N"], INT64)], ["y"],
                       {"table": randn(rng, 9, 4)})
    check(model, {"ids": np.asarray([3, 0, 8], dtype=np.int64)})


def test_gather_embedding_plus_position_layernorm(rng, check):
    """word + position embeddings -> LayerNorm, BERT-style (the position table is an initializer
    added with broadcasting)."""
    v, s, h = 13, 5, 8
    inits = {"table": randn(rng, v, h), "pos": randn(rng, s, h), "gamma": randn(rng, h), "beta": randn(rng, h)}
    nodes = [node("Gather", ["table", "ids"], ["e"], axis=0), node("Add", ["e", "pos"], ["ep"]),
             node("LayerNormalization", ["ep", "gamma", "beta"], ["y"], axis=-1, epsilon=1e-12)]
    model = make_model(nodes, [("ids", ["N", s], INT64)], ["y"], inits)
    check(model, {"ids": rng.integers(0, v, (2, s)).astype(np.int64)})


@pytest.mark.parametrize("index,axis", [(0, 1), (-1, 1), ([2], 1), (1, 2), ([0, 2], 1)],
                         ids=["scalar0_axis1", "scalar-1_axis1", "vec1_axis1", "scalar1_axis2", "vec2_axis1"])
def test_gather_activation(rng, check, index, axis):
    """``x[:, 0]`` (CLS pooling) and friends: constant indices along a non-batch axis."""
    inits = {"idx": np.asarray(index, dtype=np.int64)}
    model = make_model([node("Gather", ["x", "idx"], ["y"], axis=axis)], [("x", ["N", 5, 6])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 5, 6)})


@pytest.mark.parametrize("axes,shape", [((1,), (4,)), ((-1,), (4, 3)), ((1, 3), (4, 5)), ((1,), None)],
                         ids=["1", "-1", "1_3", "after_gather"])
def test_unsqueeze(rng, check, axes, shape):
    if shape is None:  # Unsqueeze on a rank-reduced activation: x[:, 0] -> [B,H] -> [B,1,H] via axes 1
        inits = {"i": np.asarray(0, np.int64), "axes": i64(*axes)}
        nodes = [node("Gather", ["x", "i"], ["g"], axis=1), node("Unsqueeze", ["g", "axes"], ["y"])]
        model = make_model(nodes, [("x", ["N", 5, 6])], ["y"], inits)
        check(model, {"x": randn(rng, 2, 5, 6)})
        return
    model = make_model([node("Unsqueeze", ["x", "axes"], ["y"])], [("x", ["N", *shape])], ["y"], {"axes": i64(*axes)})
    check(model, {"x": randn(rng, 2, *shape)})


@pytest.mark.parametrize("axes,shape", [((1,), (1, 4)), ((2, 3), (5, 1, 1)), ((-1,), (3, 1)), ((1, -1), (1, 4, 1))],
                         ids=["1", "2_3", "-1", "1_-1"])
def test_squeeze(rng, check, axes, shape):
    model = make_model([node("Squeeze", ["x", "axes"], ["y"])], [("x", ["N", *shape])], ["y"], {"axes": i64(*axes)})
    check(model, {"x": randn(rng, 2, *shape)})


def test_constant_nodes(rng, check):
    """Constant tensors (value, value_float) feeding Add and Mul."""
    nodes = [node("Constant", [], ["k"], value=numpy_helper.from_array(randn(rng, 3, 1, 1))),
             node("Constant", [], ["s"], value_float=0.25),
             node("Add", ["x", "k"], ["a"]), node("Mul", ["a", "s"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 4, 4])], ["y"])
    check(model, {"x": randn(rng, 2, 3, 4, 4)})


def test_identity_as_output(rng, check):
    model = make_model([node("Identity", ["x"], ["y"])], [("x", ["N", 3, 4])], ["y"])
    check(model, {"x": randn(rng, 2, 3, 4)})


def test_identity_of_initializer_added(rng, check):
    inits = {"w": randn(rng, 4)}
    nodes = [node("Identity", ["w"], ["wi"]), node("Add", ["x", "wi"], ["y"])]
    model = make_model(nodes, [("x", ["N", 3, 4])], ["y"], inits)
    check(model, {"x": randn(rng, 2, 3, 4)})


@pytest.mark.parametrize("axes,keepdims,shape", [((-1,), 1, (4, 6)), ((2, 3), 0, (3, 4, 5)), ((1,), 0, (4, 6)),
                                                  ((2, 3), 1, (3, 4, 5)), ((1, 2), 1, (4, 6))],
                         ids=["-1_keep", "23_drop", "1_drop", "23_keep", "12_keep"])
def test_reducemean(rng, check, axes, keepdims, shape):
    model = single_op("ReduceMean", shape, axes=list(axes), keepdims=keepdims)
    check(model, {"x": randn(rng, 2, *shape)})


# opset 18 forms (torch.onnx.export(dynamo=True) writes opset 18): axes as an input, Split's
# num_outputs attribute.


@pytest.mark.parametrize("keepdims", [0, 1])
def test_reducemean_opset18_axes_input(rng, check, keepdims):
    model = make_model([node("ReduceMean", ["x", "axes"], ["y"], keepdims=keepdims)], [("x", ["N", 4, 6])], ["y"],
                       {"axes": i64(-1)}, opset=18)
    check(model, {"x": randn(rng, 2, 4, 6)})


@pytest.mark.parametrize("channels", [6, 7], ids=["even", "uneven"])
def test_split_opset18_num_outputs(rng, check, channels):
    model = make_model([node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)], [("x", ["N", channels, 2])],
                       ["a", "b", "c"], opset=18)
    check(model, {"x": randn(rng, 2, channels, 2)})


# --------------------------------------------------------------------------------------------
# engine behaviour: batch, inputs, errors, save/load, threads, outputs
# --------------------------------------------------------------------------------------------


def small_cnn(rng):
    """Conv-BN-Relu-MaxPool-Conv-Relu-GAP-Flatten(via Shape subgraph)-Gemm; input [N,3,8,8]."""
    inits = {"w1": randn(rng, 4, 3, 3, 3, scale=0.4), **_bn_inits(rng, 4), "w2": randn(rng, 6, 4, 3, 3, scale=0.3),
             "b2": randn(rng, 6), "fw": randn(rng, 5, 6), "fb": randn(rng, 5), **SHAPE_INITS}
    nodes = [node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), _bn_node("c1", "n1"),
             node("Relu", ["n1"], ["r1"]), node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["c2"], ["r2"]), node("GlobalAveragePool", ["r2"], ["g"]),
             *_batch_flatten_nodes("g", "f"), node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    return make_model(nodes, [("x", ["N", 3, 8, 8])], ["y"], inits)


def tiny_encoder(rng, v=17, s=6, h=8, heads=2):
    """Embedding + LayerNorm + one self-attention layer (head split through the Shape subgraph)
    + Gelu-erf MLP + CLS pooling; input int64 ids [N, s]."""
    hd = h // heads
    inits = {"table": randn(rng, v, h), "pos": randn(rng, s, h, scale=0.1), "g0": randn(rng, h), "be0": randn(rng, h),
             "wq": randn(rng, h, h, scale=0.3), "wk": randn(rng, h, h, scale=0.3), "wv": randn(rng, h, h, scale=0.3),
             "wo": randn(rng, h, h, scale=0.3), "bo": randn(rng, h), "g1": randn(rng, h), "be1": randn(rng, h),
             "w1": randn(rng, h, 2 * h, scale=0.3), "b1": randn(rng, 2 * h), "w2": randn(rng, 2 * h, h, scale=0.3),
             "b2": randn(rng, h), "scale": f32(1.0 / np.sqrt(hd)), "sqrt2": f32(np.sqrt(2.0)), "one": f32(1.0),
             "half": f32(0.5), "i0": np.asarray(0, np.int64), "axes0": i64(0), "tail": i64(s, heads, hd),
             "merge": i64(0, s, h), "cls": np.asarray(0, np.int64)}
    nodes = [node("Gather", ["table", "ids"], ["e"], axis=0), node("Add", ["e", "pos"], ["ep"]),
             node("LayerNormalization", ["ep", "g0", "be0"], ["x0"], axis=-1, epsilon=1e-12),
             node("Shape", ["x0"], ["shp"]), node("Gather", ["shp", "i0"], ["b"], axis=0),
             node("Unsqueeze", ["b", "axes0"], ["bu"]), node("Concat", ["bu", "tail"], ["heads_shape"], axis=0)]
    for t in "qkv":
        nodes += [node("MatMul", ["x0", f"w{t}"], [f"{t}0"]), node("Reshape", [f"{t}0", "heads_shape"], [f"{t}1"]),
                  node("Transpose", [f"{t}1"], [f"{t}2"], perm=[0, 2, 3, 1] if t == "k" else [0, 2, 1, 3])]
    nodes += [node("MatMul", ["q2", "k2"], ["sc"]), node("Mul", ["sc", "scale"], ["scs"]),
              node("Softmax", ["scs"], ["pr"], axis=-1), node("MatMul", ["pr", "v2"], ["ctx"]),
              node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]), node("Reshape", ["ctx_t", "merge"], ["ctx_m"]),
              node("MatMul", ["ctx_m", "wo"], ["o0"]), node("Add", ["o0", "bo"], ["o1"]),
              node("Add", ["o1", "x0"], ["r1"]),
              node("LayerNormalization", ["r1", "g1", "be1"], ["x1"], axis=-1, epsilon=1e-12),
              node("MatMul", ["x1", "w1"], ["m0"]), node("Add", ["m0", "b1"], ["m1"]),
              node("Div", ["m1", "sqrt2"], ["ga"]), node("Erf", ["ga"], ["ge"]), node("Add", ["ge", "one"], ["gp"]),
              node("Mul", ["m1", "gp"], ["gm"]), node("Mul", ["gm", "half"], ["gl"]),
              node("MatMul", ["gl", "w2"], ["m2"]), node("Add", ["m2", "b2"], ["m3"]),
              node("Add", ["m3", "x1"], ["x2"]),
              node("Gather", ["x2", "cls"], ["y"], axis=1)]
    return make_model(nodes, [("ids", ["N", s], INT64)], ["y"], inits)


def test_tiny_encoder(rng, check):
    model = tiny_encoder(rng)
    check(model, {"ids": rng.integers(0, 17, (2, 6)).astype(np.int64)})


def test_small_cnn(rng, check):
    check(small_cnn(rng), {"x": randn(rng, 2, 3, 8, 8)})


@pytest.mark.parametrize("which", ["cnn", "encoder"])
def test_batch_varies_between_calls(rng, ort_ref, close, which):
    """Compiled at batch 1; run at 1, then 3, then 1 again, then 2: each call matches onnxruntime."""
    if which == "cnn":
        model, make = small_cnn(rng), (lambda b: {"x": randn(rng, b, 3, 8, 8)})
    else:
        model, make = tiny_encoder(rng), (lambda b: {"ids": rng.integers(0, 17, (b, 6)).astype(np.int64)})
    engine = spiralkit.compile(model, make(1))
    for b in (1, 3, 1, 2):
        feeds = make(b)
        got = engine.run(feeds)
        assert got[0].shape[0] == b
        close(got, ort_ref(model, feeds))


def test_batch_rows_independent(rng, close):
    """Row i of a batch-3 run equals the batch-1 run on row i (no mixing across the batch)."""
    model = small_cnn(rng)
    x = randn(rng, 3, 3, 8, 8)
    engine = spiralkit.compile(model, x[:1])
    full = engine.run(x)[0]
    for i in range(3):
        close([full[i:i + 1]], engine.run(x[i:i + 1]))


def test_compile_without_example_input_static_dims(rng, ort_ref, close):
    model = small_cnn(rng)
    engine = spiralkit.compile(model)
    for b in (2, 1):
        feeds = {"x": randn(rng, b, 3, 8, 8)}
        close(engine.run(feeds), ort_ref(model, feeds))


def test_example_input_fixes_symbolic_dims(rng, ort_ref, close):
    """Input declared [N, C, H, W] all symbolic: the example fixes C, H, W."""
    inits = {"w": randn(rng, 4, 3, 3, 3, scale=0.4)}
    model = make_model([node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                        node("Relu", ["c"], ["y"])], [("x", ["N", "C", "H", "W"])], ["y"], inits)
    engine = spiralkit.compile(model, randn(rng, 1, 3, 6, 5))
    for b in (1, 2):
        feeds = {"x": randn(rng, b, 3, 6, 5)}
        close(engine.run(feeds), ort_ref(model, feeds))


def test_compile_from_file_path(rng, tmp_path, ort_ref, close):
    model = small_cnn(rng)
    path = tmp_path / "cnn.onnx"
    onnx.save(model, str(path))
    x = randn(rng, 2, 3, 8, 8)
    want = ort_ref(model, {"x": x})
    close(spiralkit.compile(str(path), x).run(x), want)
    close(spiralkit.compile(path, x).run(x), want)


def _two_input_model():
    return make_model([node("MatMul", ["a", "b"], ["m"]), node("Relu", ["m"], ["y"])],
                      [("a", ["N", 3, 4]), ("b", ["N", 4, 5])], ["y"])


def test_input_forms(rng, ort_ref, close):
    """run() takes an array (one input), a list, a tuple or a dict; example_input likewise."""
    model = _two_input_model()
    a, b = randn(rng, 2, 3, 4), randn(rng, 2, 4, 5)
    want = ort_ref(model, {"a": a, "b": b})
    for example in ({"a": a, "b": b}, [a, b]):
        engine = spiralkit.compile(model, example)
        close(engine.run([a, b]), want)
        close(engine.run((a, b)), want)
        close(engine.run({"b": b, "a": a}), want)

    single = small_cnn(rng)
    x = randn(rng, 2, 3, 8, 8)
    want = ort_ref(single, {"x": x})
    for example in (x, [x], {"x": x}):
        engine = spiralkit.compile(single, example)
        close(engine.run(x), want)
        close(engine.run([x]), want)
        close(engine.run({"x": x}), want)


def test_call_returns_single_output(rng, ort_ref):
    model = small_cnn(rng)
    x = randn(rng, 2, 3, 8, 8)
    out = spiralkit.compile(model, x)(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, ort_ref(model, {"x": x})[0], rtol=1e-4, atol=1e-5)


def two_output_model(rng):
    """Outputs declared in the order (late, early); ``early`` also feeds the rest of the graph."""
    inits = {"w1": randn(rng, 8, 6), "b1": randn(rng, 6), "w2": randn(rng, 6, 3), "b2": randn(rng, 3)}
    nodes = [node("MatMul", ["x", "w1"], ["m1"]), node("Add", ["m1", "b1"], ["early"]),
             node("Relu", ["early"], ["r"]), node("MatMul", ["r", "w2"], ["m2"]), node("Add", ["m2", "b2"], ["late"])]
    return make_model(nodes, [("x", ["N", 8])], ["late", "early"], inits)


def test_two_outputs(rng, ort_ref, close):
    model = two_output_model(rng)
    x = randn(rng, 3, 8)
    want = ort_ref(model, {"x": x})
    engine = spiralkit.compile(model, x)
    got = engine.run(x)
    close(got, want)
    assert got[0].shape == (3, 3) and got[1].shape == (3, 6)
    called = engine(x)
    assert isinstance(called, tuple) and len(called) == 2
    close(list(called), want)


def test_outputs_not_aliased_between_calls(rng, ort_ref, close):
    """An array returned by one run is not overwritten by the next."""
    model = small_cnn(rng)
    engine = spiralkit.compile(model, randn(rng, 2, 3, 8, 8))
    x1, x2 = randn(rng, 2, 3, 8, 8), randn(rng, 2, 3, 8, 8)
    first = engine.run(x1)
    kept = [a.copy() for a in first]
    engine.run(x2)
    for a, k in zip(first, kept):
        assert np.array_equal(a, k)
    close(first, ort_ref(model, {"x": x1}))


def test_threads_argument(rng, ort_ref, close):
    model = small_cnn(rng)
    x = randn(rng, 3, 3, 8, 8)
    want = ort_ref(model, {"x": x})
    for threads in (1, 2):
        close(spiralkit.compile(model, x, threads=threads).run(x), want)


# errors


def test_changed_non_batch_dim_raises(rng):
    model = make_model([node("Relu", ["pixel_values"], ["y"])], [("pixel_values", ["N", 3, 8, 8])], ["y"])
    engine = spiralkit.compile(model, randn(rng, 1, 3, 8, 8))
    for bad in ((1, 3, 8, 9), (2, 4, 8, 8), (1, 3, 8), (1, 3, 8, 8, 1)):
        with pytest.raises(ValueError, match="pixel_values"):
            engine.run(randn(rng, *bad))
    engine.run(randn(rng, 2, 3, 8, 8))  # still usable


def test_changed_dim_of_second_input_names_it(rng):
    model = make_model([node("Add", ["left_input", "right_input"], ["y"])],
                       [("left_input", ["N", 4]), ("right_input", ["N", 4])], ["y"])
    engine = spiralkit.compile(model, [randn(rng, 1, 4), randn(rng, 1, 4)])
    with pytest.raises(ValueError, match="right_input"):
        engine.run([randn(rng, 1, 4), randn(rng, 1, 5)])


def test_example_input_contradicting_static_dims_raises(rng):
    model = make_model([node("Relu", ["pixel_values"], ["y"])], [("pixel_values", ["N", 3, 8, 8])], ["y"])
    with pytest.raises(ValueError, match="pixel_values"):
        spiralkit.compile(model, randn(rng, 1, 3, 8, 7))


def test_wrong_dtype_raises(rng):
    model = make_model([node("Relu", ["pixel_values"], ["y"])], [("pixel_values", ["N", 3, 4])], ["y"])
    engine = spiralkit.compile(model, randn(rng, 1, 3, 4))
    with pytest.raises(ValueError):
        engine.run(randn(rng, 1, 3, 4).astype(np.float64))
    with pytest.raises(ValueError):
        engine.run(np.ones((1, 3, 4), dtype=np.int64))


def test_wrong_dtype_for_token_ids_raises(rng):
    model = make_model([node("Gather", ["table", "ids"], ["y"], axis=0)], [("ids", ["N", 5], INT64)], ["y"],
                       {"table": randn(rng, 11, 4)})
    engine = spiralkit.compile(model, np.zeros((1, 5), dtype=np.int64))
    with pytest.raises(ValueError):
        engine.run(np.zeros((1, 5), dtype=np.float32))


@pytest.mark.parametrize("op", ["Det", "NonMaxSuppression"])
def test_unsupported_op_raises_at_compile(rng, op):
    if op == "Det":
        nodes = [node("Relu", ["x"], ["r"]), node("Det", ["r"], ["d"], name="my_det_node"),
                 node("Relu", ["d"], ["y"])]
        model = make_model(nodes, [("x", ["N", 3, 3])], ["y"])
        example = randn(rng, 1, 3, 3)
    else:
        inits = {"max_out": i64(3), "iou": f32([0.5]), "score_th": f32([0.0])}
        nodes = [node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou", "score_th"], ["y"],
                      name="my_nms_node")]
        model = make_model(nodes, [("boxes", ["N", 4, 4]), ("scores", ["N", 1, 4])], [("y", INT64)], inits)
        example = {"boxes": randn(rng, 1, 4, 4), "scores": randn(rng, 1, 1, 4)}
    name = "my_det_node" if op == "Det" else "my_nms_node"
    with pytest.raises(spiralkit.UnsupportedError) as info:
        spiralkit.compile(model, example)
    assert op in str(info.value) and name in str(info.value)


def test_unsupported_op_from_custom_domain_raises(rng):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="r"),
                               helper.make_node("FancyOp", ["r"], ["y"], name="fancy_node", domain="com.example")],
                              "g", [helper.make_tensor_value_info("x", FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
                              ir_version=8)
    with pytest.raises(spiralkit.UnsupportedError) as info:
        spiralkit.compile(model, randn(rng, 1, 4))
    assert "FancyOp" in str(info.value) and "fancy_node" in str(info.value)


# save / load


@pytest.fixture
def saved(rng, tmp_path):
    """(model, engine, path of its saved file, path of the .onnx file)."""
    model = small_cnn(rng)
    engine = spiralkit.compile(model, randn(rng, 1, 3, 8, 8))
    path = tmp_path / "cnn.spk"
    engine.save(str(path))
    onnx_path = tmp_path / "cnn.onnx"
    onnx.save(model, str(onnx_path))
    return model, engine, path, onnx_path


def test_save_load_bit_identical(rng, saved, ort_ref, close):
    model, engine, path, _ = saved
    assert path.exists() and path.stat().st_size > 0
    loaded = spiralkit.load(str(path))
    for b in (1, 3):
        x = randn(rng, b, 3, 8, 8)
        a, l = engine.run(x), loaded.run(x)
        assert len(a) == len(l)
        for u, v in zip(a, l):
            assert np.array_equal(u, v)
        close(l, ort_ref(model, {"x": x}))
    with pytest.raises(ValueError, match="x"):
        loaded.run(randn(rng, 1, 3, 8, 9))


def test_save_load_encoder_and_two_outputs(rng, tmp_path):
    for i, (model, make) in enumerate([(tiny_encoder(rng), lambda: rng.integers(0, 17, (2, 6)).astype(np.int64)),
                                       (two_output_model(rng), lambda: randn(rng, 2, 8))]):
        x = make()
        engine = spiralkit.compile(model, x)
        path = tmp_path / f"m{i}.spk"
        engine.save(path)
        loaded = spiralkit.load(path)
        x = make()
        for u, v in zip(engine.run(x), loaded.run(x), strict=True):
            assert np.array_equal(u, v)


def _corrupt(tmp_path, data: bytes, name: str):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_load_truncated_raises(saved, tmp_path):
    _, _, path, _ = saved
    data = path.read_bytes()
    for n in (len(data) // 2, len(data) - 1, 8, 1):
        with pytest.raises(spiralkit.FormatError):
            spiralkit.load(str(_corrupt(tmp_path, data[:n], f"trunc{n}.spk")))


def test_load_flipped_bytes_raises(saved, tmp_path):
    _, _, path, _ = saved
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid, min(mid + 16, len(data))):
        data[i] ^= 0xFF
    with pytest.raises(spiralkit.FormatError):
        spiralkit.load(str(_corrupt(tmp_path, bytes(data), "flipped.spk")))


def test_load_single_flipped_bit_raises(saved, tmp_path):
    _, _, path, _ = saved
    data = bytearray(path.read_bytes())
    data[(3 * len(data)) // 4] ^= 0x01
    with pytest.raises(spiralkit.FormatError):
        spiralkit.load(str(_corrupt(tmp_path, bytes(data), "bit.spk")))


def test_load_empty_file_raises(tmp_path):
    with pytest.raises(spiralkit.FormatError):
        spiralkit.load(str(_corrupt(tmp_path, b"", "empty.spk")))


def test_load_foreign_files_raise(saved, tmp_path, rng):
    _, _, _, onnx_path = saved
    with pytest.raises(spiralkit.FormatError):
        spiralkit.load(str(onnx_path))
    for name, data in [("text.spk", b"hello, this is not a spiralkit engine file\n" * 20),
                       ("random.spk", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
                       ("npy.spk", b"\x93NUMPY" + bytes(200))]:
        with pytest.raises(spiralkit.FormatError):
            spiralkit.load(str(_corrupt(tmp_path, data, name)))


def test_load_appended_garbage_raises(saved, tmp_path):
    _, _, path, _ = saved
    with pytest.raises(spiralkit.FormatError):
        spiralkit.load(str(_corrupt(tmp_path, path.read_bytes() + b"\x00garbage", "appended.spk")))


# threads


def _concurrent(engine, inputs, n_threads=4, rounds=5):
    results = [None] * len(inputs)
    errors = []
    barrier = threading.Barrier(n_threads)

    def work(i):
        try:
            barrier.wait()
            outs = [engine.run(inputs[i]) for _ in range(rounds)]
            results[i] = outs
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a run() call hangs under concurrency"
    assert not errors, errors
    return results


@pytest.mark.parametrize("which", ["cnn", "encoder"])
def test_concurrent_runs_one_engine(rng, ort_ref, close, which):
    if which == "cnn":
        model = small_cnn(rng)
        inputs = [{"x": randn(rng, 2, 3, 8, 8)} for _ in range(4)]
    else:
        model = tiny_encoder(rng)
        inputs = [{"ids": rng.integers(0, 17, (2, 6)).astype(np.int64)} for _ in range(4)]
    engine = spiralkit.compile(model, inputs[0])
    results = _concurrent(engine, inputs)
    for feeds, outs in zip(inputs, results):
        want = ort_ref(model, feeds)
        for got in outs:
            close(got, want)


def test_concurrent_runs_different_batch_sizes(rng, ort_ref, close):
    model = small_cnn(rng)
    inputs = [{"x": randn(rng, b, 3, 8, 8)} for b in (1, 2, 3, 4)]
    engine = spiralkit.compile(model, inputs[0])
    results = _concurrent(engine, inputs)
    for feeds, outs in zip(inputs, results):
        want = ort_ref(model, feeds)
        for got in outs:
            close(got, want)


# torch source


def test_compile_torch_module(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5)).eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    x = randn(rng, 1, 3, 8, 8)
    engine = spiralkit.compile(net, x)
    for b in (1, 3):
        xb = randn(rng, b, 3, 8, 8)
        with torch.no_grad():
            want = net(torch.from_numpy(xb)).numpy()
        got = engine.run(xb)
        assert len(got) == 1 and got[0].shape == want.shape
        err = np.abs(got[0] - want).max()
        assert err <= 1e-4 * np.abs(want).max() + 1e-6
