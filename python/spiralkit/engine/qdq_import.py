"""ONNX models already quantized as QDQ (QuantizeLinear/DequantizeLinear pairs around Conv, MatMul
and Gemm, as ``onnxruntime.quantization.quantize_static`` writes them) -> an fp32 graph plus the
quantization it carried, so they compile to the same int8 plan as a calibrated fp32 model.

* ``DequantizeLinear`` of a constant (int8 weights, int32 biases) becomes the dequantized float
  initializer; per-channel weight scales are kept (weight name -> scales), so the int8 values come
  back exactly.
* ``QuantizeLinear`` of an activation ``x`` followed by ``DequantizeLinear``: the pair is removed,
  its consumers read ``x`` again, and ``x`` -> (scale, uint8 zero point) is recorded (an int8
  activation's zero point is shifted by 128: the same real range).

Q/DQ pairs around ops without an int8 kernel are removed the same way: those ops run fp32 (one
rounding step fewer than ONNX Runtime takes, well inside the quantization error).
"""

from __future__ import annotations

import numpy as np

from spiralkit.errors import UnsupportedError

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def is_qdq(model) -> bool:
    return any(n.op_type in QDQ_OPS and n.domain in ("", "ai.onnx") for n in model.graph.node)


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


def strip_qdq(model):
    """Returns (fp32 ModelProto, activations: name -> (scale, zp),
    weight_scales: name -> (scales, axis)). The caller's model is not modified.
    """
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    consts = {}
    for n in g.node:  # Constant nodes feeding Q/DQ (scales, zero points) count as constants too
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)

    def value(name):
        if name in inits:
            return numpy_helper.to_array(inits[name])
        return consts.get(name)

    activations, weight_scales = {}, {}
    rename: dict[str, str] = {}
    new_inits = []
    keep = []
    producers = {o: n for n in g.node for o in n.output}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.domain in ("", "ai.onnx"):
            q = value(n.input[0])
            scale = value(n.input[1])
            zp = value(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            if scale is None:
                raise UnsupportedError(f"node '{n.name}': DequantizeLinear with a computed scale")
            axis = _attr(n, "axis", 1)
            if q is not None:  # a constant: fold to float
                qf = q.astype(np.float64)
                s = np.asarray(scale, np.float64)
                z = np.zeros_like(s) if zp is None else np.asarray(zp, np.float64)
                if s.size > 1:
                    shape = [1] * q.ndim
                    shape[axis % q.ndim] = -1
                    s, z = s.reshape(shape), z.reshape(shape)
                w = ((qf - z) * s).astype(np.float32)
                new_inits.append(numpy_helper.from_array(w, n.output[0]))
                if q.dtype == np.int8 and (zp is None or not np.any(np.asarray(zp))):
                    # per output channel: Conv/Gemm(transB) weights on axis 0, MatMul's [K, N] on axis 1
                    weight_scales[n.output[0]] = (np.asarray(scale, np.float32).reshape(-1), axis % q.ndim)
                continue
            p = producers.get(n.input[0])
            if p is None or p.op_type != "QuantizeLinear":
                raise UnsupportedError(f"node '{n.name}': DequantizeLinear of a tensor no QuantizeLinear produced")
            x = p.input[0]
            x = rename.get(x, x)
            s = float(np.asarray(scale).reshape(-1)[0])
            zpa = np.asarray(zp) if zp is not None else np.zeros((), np.uint8)
            if np.asarray(scale).size != 1:
                raise UnsupportedError(f"node '{n.name}': per-channel activation quantization")
            z = int(zpa.reshape(-1)[0]) + (128 if zpa.dtype == np.int8 else 0)
            activations[x] = (s, z)
            rename[n.output[0]] = x
            continue
        if n.op_type == "QuantizeLinear" and n.domain in ("", "ai.onnx"):
            continue  # consumed by its DequantizeLinear nodes (checked there)
        keep.append(n)
    outputs = {o.name for o in g.output}
    extra = []
    for n in keep:
        for i, name in enumerate(n.input):
            if name in rename:
                n.input[i] = rename[name]
    for name in list(outputs):
        if name in rename:  # a graph output that was a DQ output: keep its name
            extra.append(helper.make_node("Identity", [rename[name]], [name], name=name + "/qdq_identity"))
    del g.node[:]
    g.node.extend(keep + extra)
    used = {i for n in g.node for i in n.input}
    kept_inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept_inits + [t for t in new_inits if t.name in used])
    # Value infos of removed tensors would only confuse shape tools.
    removed = set(rename) | {t.name for t in new_inits}
    vi = [v for v in g.value_info if v.name not in removed]
    del g.value_info[:]
    g.value_info.extend(vi)
    return m, activations, {k: v for k, v in weight_scales.items() if k in used}

