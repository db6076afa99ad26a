"""ONNX -> the native graph builder. Reads the model in Python (the ``onnx`` package), folds
constants and shape arithmetic, runs the pattern rewrites of :mod:`onnx_graph`, and lowers each
node to one GraphBuilder call. Shapes come from the builder itself (the C++ shape inference at two
batch sizes), so the importer never re-derives them. An op it cannot lower raises
``UnsupportedError`` naming the op and the node, at compile time."""

from __future__ import annotations

import numpy as np

from spiralkit._native import lib
from spiralkit.engine.onnx_graph import ONode, OGraph
from spiralkit.engine.symbolic import Sym, dims_from_two, has_sym
from spiralkit.errors import UnsupportedError
from spiralkit.pattern_detect import detect_pattern

FLOAT, INT64 = 0, 1
# Engine activation codes (spiralkit_kernels/activation.h) and unary codes (unary.h).
UNARY = {"Identity": 0, "Relu": 1, "Clip": 2, "LeakyRelu": 3, "Sigmoid": 4, "HardSigmoid": 5, "HardSwish": 6,
         "Tanh": 7, "Erf": 8, "Gelu": 9, "Sqrt": 10, "spk.Silu": 11, "Neg": 12, "Exp": 13}
BINARY = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Pow": 4}
# ONNX TensorProto dtypes the engine computes in (everything else must fold away).
_ONNX_FLOAT, _ONNX_INT64 = 1, 7


class Dyn:
    """A tensor the engine computes: its builder value id and dtype code."""

    __slots__ = ("id", "dtype")

    def __init__(self, vid: int, dtype: int):
        self.id, self.dtype = vid, dtype


class ShapeVal:
    """An int64 tensor known up to the batch (object array of ints and Syms)."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = np.asarray(v, dtype=object)


def _unsupported(node: ONode, why: str = "") -> UnsupportedError:
    return UnsupportedError(f"op '{node.op}' (node '{node.name}') is not supported by the engine{': ' + why if why else ''}")


class Importer:
    def __init__(self, model, input_shapes: dict, batch: int, pattern=None, batched=None, quantize_layer=None):
        # quantize_layer(importer, node, weight) -> weight id or None (engine/quantize.py: int8 layers)
        self.quantize_layer = quantize_layer
        self.g = OGraph(model)
        self.g.rewrite()
        self.b = lib().GraphBuilder()
        self.batch = batch
        self.pattern = pattern
        self.env: dict = {}
        self._const_ids: dict = {}
        self._shapes: dict = {}
        self.batch_polymorphic = True
        for name, c in self.g.consts.items():
            self.env[name] = c
        for inp in self.g.inputs:
            elem = inp.type.tensor_type.elem_type
            if elem not in (_ONNX_FLOAT, _ONNX_INT64):
                raise UnsupportedError(f"input '{inp.name}': element type {elem} (only float32 and int64 inputs)")
            dims = list(input_shapes[inp.name])
            code = FLOAT if elem == _ONNX_FLOAT else INT64
            is_batched = batched is None or inp.name in batched
            self.env[inp.name] = Dyn(self.b.add_input(inp.name, code, dims, is_batched), code)

    # --- values
    def shape(self, d: Dyn) -> tuple:
        if d.id not in self._shapes:
            s0 = self.b.shapes(self.batch)
            try:
                s1 = self.b.shapes(self.batch + 1)
            except ValueError:  # the graph hard-codes its batch: every dim is fixed
                self.batch_polymorphic = False
                s1 = s0
            for vid, ((d0, _), (d1, _)) in enumerate(zip(s0, s1)):
                if vid not in self._shapes:
                    self._shapes[vid] = dims_from_two(tuple(d0), tuple(d1), self.batch)
        return self._shapes[d.id]

    def _input_ids(self):
        return {self.env[i.name].id for i in self.g.inputs}

    def vid(self, x, name: str) -> int:
        if isinstance(x, Dyn):
            return x.id
        if isinstance(x, ShapeVal):
            if has_sym(x.v):
                raise UnsupportedError(f"value '{name}': a batch-dependent shape used as data")
            x = x.v.astype(np.int64)
        key = name
        if key not in self._const_ids:
            arr = np.asarray(x, order="C")  # keeps 0-d (ascontiguousarray would make it 1-d)
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iub":
                arr = arr.astype(np.int64)
            else:
                raise UnsupportedError(f"constant '{name}': dtype {arr.dtype}")
            self._const_ids[key] = self.b.add_constant(f"const:{name}", arr)
        return self._const_ids[key]

    def node(self, op, n: ONode, inputs, ints=(), floats=(), weight=-1, n_out=1, dtype=FLOAT, names=None):
        outs = self.b.add_node(op, n.name, list(inputs), n_out, [int(i) for i in ints], [float(f) for f in floats],
                               weight, names or [o for o in n.outputs[:n_out]])
        return [Dyn(o, dtype) for o in outs]

    # --- driver
    def run(self):
        for n in self.g.nodes:
            ins = [self.env.get(i) if i else None for i in n.inputs]
            for i, name in zip(ins, n.inputs):
                if name and i is None:
                    raise UnsupportedError(f"node '{n.name}': input '{name}' is not defined")
            outs = self.lower(n, ins)
            for name, v in zip(n.outputs, outs):
                if name:
                    self.env[name] = v
        marked = set()
        for name in self.g.outputs:
            v = self.env.get(name)
            if not isinstance(v, Dyn):
                raise UnsupportedError(f"output '{name}' is a constant; the engine computes outputs")
            if v.id in marked or v.id in self._input_ids():
                # An output that is an input or another output (Identity): the engine copies it.
                copy = ONode("Identity", [], [name], name=f"{name}/copy")
                v = self.node("Reshape", copy, [v.id], [0] * len(self.shape(v)), dtype=v.dtype, names=[name + "/copy"])[0]
            marked.add(v.id)
            self.b.mark_output(v.id)
        if hasattr(self.quantize_layer, "finish"):
            self.quantize_layer.finish(self)
        return self.b

    def lower(self, n: ONode, ins: list):
        dyn = [i for i in ins if isinstance(i, Dyn)]
        if n.op in ("Constant",):
            return [self._constant(n)]
        if n.op == "Shape":
            return [self._shape_of(n, ins[0])]
        if not dyn:
            return self._fold(n, ins)
        handler = getattr(self, "op_" + n.op.replace(".", "_"), None)
        if handler is None:
            raise _unsupported(n)
        return handler(n, ins)

    # --- folding
    def _constant(self, n):
        a = n.attrs
        if "value" in a:
            return np.asarray(a["value"])
        for k, dt in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                      ("value_ints", np.int64)):
            if k in a:
                return np.asarray(a[k], dtype=dt)
        raise _unsupported(n, "sparse or string constant")

    def _shape_of(self, n, x):
        if isinstance(x, Dyn):
            dims = np.array(self.shape(x), dtype=object)
        elif isinstance(x, ShapeVal):
            dims = np.array(x.v.shape, dtype=object)
        else:
            dims = np.array(np.shape(x), dtype=object)
        start, end = n.attrs.get("start", 0), n.attrs.get("end", None)
        dims = dims[start:end]
        return ShapeVal(dims) if has_sym(dims) else dims.astype(np.int64)

    def _fold(self, n, ins):
        if any(isinstance(i, ShapeVal) for i in ins):
            return [self._fold_symbolic(n, ins)]
        return self._fold_reference(n, ins)

    def _fold_reference(self, n, ins):
        import onnx
        from onnx import helper, numpy_helper
        from onnx.reference import ReferenceEvaluator

        names = [f"in{i}" if name else "" for i, name in enumerate(n.inputs)]
        attrs = {k: (numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v) for k, v in n.attrs.items()}
        node = helper.make_node(n.op, names, [f"out{i}" for i in range(len(n.outputs))], domain=n.domain, **attrs)
        inits = [numpy_helper.from_array(np.asarray(v), nm) for v, nm in zip(ins, names) if nm]
        graph = helper.make_graph([node], "fold", [], [helper.make_tensor_value_info(f"out{i}", onnx.TensorProto.UNDEFINED, None)
                                                       for i in range(len(n.outputs))], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.g.opset)])
        try:
            return [np.asarray(o) for o in ReferenceEvaluator(model).run(None, {})]
        except Exception as exc:  # an op even the reference cannot evaluate
            raise _unsupported(n, f"constant folding failed ({exc})") from None

    def _fold_symbolic(self, n, ins):
        v = [i.v if isinstance(i, ShapeVal) else (np.asarray(i, dtype=object) if i is not None else None) for i in ins]
        op = n.op
        try:
            if op in ("Identity", "Cast"):
                out = v[0]
            elif op == "Gather":
                out = np.take(v[0], np.asarray(ins[1]).astype(np.int64), axis=n.attrs.get("axis", 0))
            elif op == "Concat":
                out = np.concatenate([x.reshape(-1) if x.ndim == 0 else x for x in v], axis=n.attrs.get("axis", 0))
            elif op == "Unsqueeze":
                axes = n.attrs.get("axes", None)
                axes = list(np.asarray(ins[1]).reshape(-1)) if axes is None else axes
                out = v[0]
                for a in sorted(int(a) % (out.ndim + len(axes)) for a in axes):
                    out = np.expand_dims(out, a)
            elif op == "Squeeze":
                axes = n.attrs.get("axes", None)
                if axes is None and len(ins) > 1 and ins[1] is not None:
                    axes = list(np.asarray(ins[1]).reshape(-1))
                out = v[0].reshape(-1)[0] if v[0].size == 1 and axes is None else np.squeeze(v[0], axis=tuple(axes) if axes else None)
                out = np.asarray(out, dtype=object)
            elif op == "Slice":
                starts, ends = np.asarray(ins[1]).reshape(-1), np.asarray(ins[2]).reshape(-1)
                axes = np.asarray(ins[3]).reshape(-1) if len(ins) > 3 and ins[3] is not None else range(len(starts))
                steps = np.asarray(ins[4]).reshape(-1) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
                sl = [slice(None)] * v[0].ndim
                for a, s, e, st in zip(axes, starts, ends, steps):
                    sl[int(a)] = slice(int(max(min(s, 2**62), -2**62)), int(max(min(e, 2**62), -2**62)), int(st))
                out = v[0][tuple(sl)]
            elif op in ("Add", "Sub", "Mul", "Div"):
                a, b = v
                f = {"Add": lambda p, q: p + q, "Sub": lambda p, q: p - q, "Mul": lambda p, q: p * q,
                     "Div": lambda p, q: p // q}[op]
                out = np.vectorize(f, otypes=[object])(a, b)
            elif op == "Reshape":
                out = v[0].reshape([int(d) for d in np.asarray(ins[1]).reshape(-1)])
            elif op == "Equal":
                out = np.vectorize(lambda p, q: p == q, otypes=[object])(*v).astype(bool)
                return out
            elif op == "Where":
                out = np.where(np.asarray(ins[0]).astype(bool), v[1], v[2])
            else:
                raise NotImplementedError
        except NotImplementedError:
            raise _unsupported(n, "a batch-dependent shape reaches an op the importer cannot fold") from None
        out = np.asarray(out, dtype=object)
        return ShapeVal(out) if has_sym(out) else out.astype(np.int64)

    # --- helpers for lowering
    def _int_list(self, n, x, what):
        if isinstance(x, ShapeVal) or isinstance(x, Dyn):
            raise _unsupported(n, f"{what} must be a constant")
        return [int(i) for i in np.asarray(x).reshape(-1)]

    def _reshape_to(self, n, x: Dyn, dims, name=None) -> Dyn:
        """Reshape to dims (ints/Syms/-1/0); the one batch-dependent dim becomes -1."""
        spec, syms = [], 0
        for d in dims:
            if isinstance(d, Sym):
                syms += 1
                spec.append(-1)
            else:
                spec.append(int(d))
        if syms > 1 or (syms == 1 and spec.count(-1) > 1):
            raise _unsupported(n, "reshape with several batch-dependent dims")
        return self.node("Reshape", n, [x.id], spec, dtype=x.dtype, names=[name] if name else None)[0]

    def _pack(self, n, w: np.ndarray):
        import spiralkit

        w = np.ascontiguousarray(w, dtype=np.float32)
        if self.quantize_layer is not None:
            wid = self.quantize_layer(self, n, w)
            if wid is not None:
                return wid
        pattern = self.pattern(n.name, w) if callable(self.pattern) else (self.pattern or detect_pattern(w))
        sw = spiralkit.pack(w, pattern)
        return self.b.add_weight(sw.native, list(w.shape))

    def _const(self, n, x, what):
        if isinstance(x, Dyn) or isinstance(x, ShapeVal):
            raise _unsupported(n, f"{what} must be a constant (initializer)")
        return np.asarray(x)

    # --- ops with weights
    def op_Conv(self, n, ins):
        x, w = ins[0], self._const(n, ins[1], "weight").astype(np.float32)
        if w.ndim != 4:
            raise _unsupported(n, f"{w.ndim - 2}-D convolution (only 2-D)")
        a = n.attrs
        kh, kw = w.shape[2], w.shape[3]
        strides = a.get("strides", [1, 1])
        dil = a.get("dilations", [1, 1])
        pads = list(a.get("pads", [0, 0, 0, 0]))
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            _, _, h, wd = self.shape(x)
            pads = [0, 0, 0, 0]
            for i, (size, k, s, d) in enumerate(((h, kh, strides[0], dil[0]), (wd, kw, strides[1], dil[1]))):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, big = total // 2, total - total // 2
                pads[i], pads[i + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto == "VALID":
            pads = [0, 0, 0, 0]
        bias = -1 if len(ins) < 3 or ins[2] is None else self.vid(self._const(n, ins[2], "bias"), n.inputs[2])
        wid = self._pack(n, w)
        ints = [kh, kw, strides[0], strides[1], pads[0], pads[1], pads[2], pads[3], dil[0], dil[1], a.get("group", 1), 0, 0]
        return self.node("Conv2d", n, [x.id, bias], ints, weight=wid)

    def _linear(self, n, x: Dyn, w_nk: np.ndarray, bias=None, bias_name=""):
        bid = -1 if bias is None else self.vid(np.asarray(bias, np.float32).reshape(-1), bias_name or n.name + "/bias")
        wid = self._pack(n, w_nk)
        return self.node("Linear", n, [x.id, bid], [0, 0], weight=wid)

    def op_spk_Linear(self, n, ins):
        x, w = ins[0], self._const(n, ins[1], "weight").astype(np.float32)
        if not isinstance(x, Dyn):
            raise _unsupported(n)
        bias = None if len(ins) < 3 or ins[2] is None else self._const(n, ins[2], "bias")
        if len(self.shape(x)) == 1:
            raise _unsupported(n, "MatMul of a 1-D input")
        return self._linear(n, x, w.T.copy(), bias, n.inputs[2] if bias is not None else "")

    def op_Gemm(self, n, ins):
        a = n.attrs
        x, b = ins[0], ins[1]
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        if not isinstance(x, Dyn) or isinstance(b, Dyn):
            raise _unsupported(n, "Gemm needs a constant B")
        if a.get("transA", 0):
            x = self.node("Transpose", ONode("Transpose", [], [n.name + "/At"], name=n.name + "/transA"), [x.id], [1, 0],
                          names=[n.name + "/At"])[0]
        w = np.asarray(b, np.float32)
        w = (w if a.get("transB", 0) else w.T) * np.float32(alpha)
        c = None if len(ins) < 3 or ins[2] is None else self._const(n, ins[2], "C")
        if c is not None:
            c = np.asarray(c, np.float32) * np.float32(beta)
            if c.size == w.shape[0] and (c.ndim == 1 or c.shape[0] == 1):
                return self._linear(n, x, np.ascontiguousarray(w), c.reshape(-1))
            y = self._linear(ONode("Gemm", [], [n.name + "/xw"], name=n.name + "/xw"), x, np.ascontiguousarray(w))[0]
            return self.node("Binary", n, [y.id, self.vid(c, n.name + "/C")], [BINARY["Add"]])
        return self._linear(n, x, np.ascontiguousarray(w))

    def op_MatMul(self, n, ins):
        a, b = ins
        if isinstance(a, Dyn) and not isinstance(b, Dyn) and np.ndim(b) == 2:
            return self._linear(n, a, np.ascontiguousarray(np.asarray(b, np.float32).T))
        if isinstance(a, Dyn) and not isinstance(b, Dyn) and np.ndim(b) == 1:  # [..., K] x [K] -> [...]
            inner = ONode("MatMul", [], [n.name + "/vec"], name=n.name + "/vec")
            y = self._linear(inner, a, np.asarray(b, np.float32).reshape(1, -1))[0]
            return [self._reshape_to(n, y, list(self.shape(y))[:-1], n.outputs[0])]
        ids = []
        for v, name in zip(ins, n.inputs):
            if not isinstance(v, Dyn) and np.ndim(v) < 2:
                raise _unsupported(n, "MatMul with a 1-D operand")
            ids.append(self.vid(v, name))
        for v in ins:
            if isinstance(v, Dyn) and len(self.shape(v)) < 2:
                raise _unsupported(n, "MatMul with a 1-D operand")
        return self.node("MatMul", n, ids)

    def op_spk_Attention(self, n, ins):
        q, k, v, mask, scale_in = (ins + [None] * 5)[:5]
        scale = n.attrs["scale"]
        if n.inputs[4:5] and n.inputs[4]:
            c = None if isinstance(scale_in, (Dyn, ShapeVal)) else np.asarray(scale_in).reshape(-1)
            if c is None or c.size != 1 or float(c[0]) == 0.0:
                return self._lower_parts(n)  # the scale stays data-dependent: run the pieces
            scale = 1.0 / float(c[0]) if n.attrs["scale_div"] else float(c[0])
        ids = [self.vid(q, n.inputs[0]), self.vid(k, n.inputs[1]), self.vid(v, n.inputs[2])]
        if mask is not None:
            m = mask
            if not isinstance(m, Dyn):
                m = np.asarray(m, np.float32)
            elif m.dtype != FLOAT:
                raise _unsupported(n, "non-float attention mask")
            ids.append(self.vid(m, n.inputs[3]))
        return self.node("Attention", n, ids, [1] if n.attrs.get("layout") else [], [scale])

    def _lower_parts(self, n):
        """Lowers a fused node's original nodes one by one (a fusion whose premise did not hold
        once constants were folded)."""
        for part in n.attrs["parts"]:
            ins = [self.env.get(i) if i else None for i in part.inputs]
            for name, v in zip(part.outputs, self.lower(part, ins)):
                if name:
                    self.env[name] = v
        return [self.env[o] for o in n.outputs]

    # --- elementwise
    def _binary(self, n, ins):
        ids = []
        for v, name in zip(ins, n.inputs):
            if isinstance(v, Dyn) and v.dtype != FLOAT:
                raise _unsupported(n, "integer tensors computed at run time")
            ids.append(self.vid(v if isinstance(v, Dyn) else np.asarray(v, np.float32), name))
        return self.node("Binary", n, ids, [BINARY[n.op]])

    op_Add = op_Sub = op_Mul = op_Div = op_Pow = _binary

    def _unary(self, n, ins, p0=0.0, p1=0.0, code=None):
        x = ins[0]
        if x.dtype != FLOAT:
            raise _unsupported(n, "integer input")
        return self.node("Unary", n, [x.id], [UNARY[n.op] if code is None else code], [p0, p1])

    def op_Relu(self, n, ins): return self._unary(n, ins)
    def op_Sigmoid(self, n, ins): return self._unary(n, ins)
    def op_Tanh(self, n, ins): return self._unary(n, ins)
    def op_Erf(self, n, ins): return self._unary(n, ins)
    def op_Sqrt(self, n, ins): return self._unary(n, ins)
    def op_Exp(self, n, ins): return self._unary(n, ins)
    def op_Neg(self, n, ins): return self._unary(n, ins)
    def op_HardSwish(self, n, ins): return self._unary(n, ins)
    def op_spk_Silu(self, n, ins): return self._unary(n, ins)

    def op_LeakyRelu(self, n, ins):
        return self._unary(n, ins, n.attrs.get("alpha", 0.01))

    def op_HardSigmoid(self, n, ins):
        return self._unary(n, ins, n.attrs.get("alpha", 0.2), n.attrs.get("beta", 0.5))

    def op_Gelu(self, n, ins):
        return self._unary(n, ins, code=14 if n.attrs.get("approximate", "none") == "tanh" else UNARY["Gelu"])

    def op_Clip(self, n, ins):
        lo, hi = n.attrs.get("min", -np.inf), n.attrs.get("max", np.inf)
        if len(ins) > 1 and ins[1] is not None:
            lo = float(np.asarray(self._const(n, ins[1], "min")).reshape(-1)[0])
        if len(ins) > 2 and ins[2] is not None:
            hi = float(np.asarray(self._const(n, ins[2], "max")).reshape(-1)[0])
        return self._unary(n, ins, lo, hi)

    def op_Identity(self, n, ins):
        return [ins[0]]

    def op_Dropout(self, n, ins):
        return [ins[0], None]

    def op_Cast(self, n, ins):
        to = n.attrs["to"]
        x = ins[0]
        target = {_ONNX_FLOAT: FLOAT, _ONNX_INT64: INT64}.get(to)
        if target is None:
            raise _unsupported(n, f"cast to ONNX type {to}")
        if target == x.dtype:
            return [x]
        return self.node("Cast", n, [x.id], [target], dtype=target)

    # --- normalisation
    def op_Softmax(self, n, ins):
        x = ins[0]
        rank = len(self.shape(x))
        axis = n.attrs.get("axis", -1 if self.g.opset >= 13 else 1)
        if self.g.opset < 13 and axis % rank != rank - 1:
            raise _unsupported(n, "opset < 13 Softmax over several trailing dims")
        return self.node("Softmax", n, [x.id], [axis])

    def op_LayerNormalization(self, n, ins):
        if len([o for o in n.outputs if o]) > 1:
            raise _unsupported(n, "Mean / InvStdDev outputs")
        x, scale = ins[0], self._const(n, ins[1], "Scale")
        bias = None if len(ins) < 3 or ins[2] is None else self._const(n, ins[2], "B")
        axis = n.attrs.get("axis", -1)
        shp = self.shape(x)
        inner = int(np.prod([d for d in shp[axis % len(shp):]]))
        ids = [x.id, self.vid(np.broadcast_to(scale, (inner,)).astype(np.float32), n.inputs[1] + "/ln_scale")]
        if bias is not None:
            ids.append(self.vid(np.broadcast_to(bias, (inner,)).astype(np.float32), n.inputs[2] + "/ln_bias"))
        return self.node("LayerNorm", n, ids, [axis], [n.attrs.get("epsilon", 1e-5)])

    def op_spk_LayerNorm(self, n, ins):
        x = ins[0]
        shp = self.shape(x)
        inner = shp[-1]
        scale = np.ones(inner, np.float32) if ins[1] is None else np.broadcast_to(self._const(n, ins[1], "scale"), (inner,))
        ids = [x.id, self.vid(np.ascontiguousarray(scale, np.float32), (n.inputs[1] or n.name) + "/ln_scale")]
        if ins[2] is not None:
            ids.append(self.vid(np.broadcast_to(self._const(n, ins[2], "bias"), (inner,)).astype(np.float32),
                                n.inputs[2] + "/ln_bias"))
        return self.node("LayerNorm", n, ids, [-1], [n.attrs["epsilon"]])

    def op_BatchNormalization(self, n, ins):
        if len([o for o in n.outputs if o]) > 1 or n.attrs.get("training_mode", 0):
            raise _unsupported(n, "training mode")
        ids = [ins[0].id] + [self.vid(np.asarray(self._const(n, v, "statistics"), np.float32).reshape(-1), name)
                             for v, name in zip(ins[1:5], n.inputs[1:5])]
        return self.node("BatchNorm", n, ids, [], [n.attrs.get("epsilon", 1e-5)])

    def op_ReduceMean(self, n, ins):
        axes = n.attrs.get("axes")
        if axes is None and len(ins) > 1 and ins[1] is not None:
            axes = self._int_list(n, ins[1], "axes")
        if axes is None:
            axes = list(range(len(self.shape(ins[0]))))
        if not axes:
            return [ins[0]] if n.attrs.get("noop_with_empty_axes", 0) else self.op_ReduceMean(
                ONode(n.op, n.inputs[:1], n.outputs, {**n.attrs, "axes": list(range(len(self.shape(ins[0]))))}, n.name), ins[:1])
        return self.node("ReduceMean", n, [ins[0].id], [n.attrs.get("keepdims", 1)] + list(axes))

    # --- pooling
    def _pool(self, n, ins, op):
        a = n.attrs
        k = a["kernel_shape"]
        if len(k) != 2:
            raise _unsupported(n, "only 2-D pooling")
        strides = a.get("strides", [1, 1])
        dil = a.get("dilations", [1, 1])
        if op == "AvgPool" and list(dil) != [1, 1]:
            raise _unsupported(n, "dilated average pooling")
        pads = list(a.get("pads", [0, 0, 0, 0]))
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            _, _, h, w = self.shape(ins[0])
            for i, (size, kk, s) in enumerate(((h, k[0], strides[0]), (w, k[1], strides[1]))):
                total = max(0, (-(-size // s) - 1) * s + kk - size)
                small, big = total // 2, total - total // 2
                pads[i], pads[i + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto == "VALID":
            pads = [0, 0, 0, 0]
        if len([o for o in n.outputs if o]) > 1:
            raise _unsupported(n, "MaxPool indices output")
        ints = [k[0], k[1], strides[0], strides[1], *pads, dil[0], dil[1], a.get("ceil_mode", 0),
                a.get("count_include_pad", 0)]
        return self.node(op, n, [ins[0].id], ints)

    def op_MaxPool(self, n, ins):
        return self._pool(n, ins, "MaxPool")

    def op_AveragePool(self, n, ins):
        return self._pool(n, ins, "AvgPool")

    def op_GlobalAveragePool(self, n, ins):
        return self.node("GlobalAvgPool", n, [ins[0].id])

    # --- data movement
    def op_Reshape(self, n, ins):
        x, target = ins
        if n.attrs.get("allowzero", 0):
            raise _unsupported(n, "allowzero")
        dims = list(target.v.reshape(-1)) if isinstance(target, ShapeVal) else self._int_list(n, target, "shape")
        if isinstance(target, ShapeVal) and -1 in dims:
            # The batch-dependent dim and an explicit -1 together: resolve the -1 from the sizes.
            shp = self.shape(x)
            total = int(np.prod([d for d in shp if not isinstance(d, Sym)]))
            known = int(np.prod([d for d in dims if not isinstance(d, Sym) and d not in (-1,)]))
            dims = [total // known if d == -1 else d for d in dims]
        return [self._reshape_to(n, x, dims, n.outputs[0])]

    def op_Flatten(self, n, ins):
        x = ins[0]
        shp = self.shape(x)
        axis = n.attrs.get("axis", 1)
        axis = axis + len(shp) if axis < 0 else axis
        head, tail = shp[:axis], shp[axis:]
        fixed = lambda ds: int(np.prod([d for d in ds])) if not any(isinstance(d, Sym) for d in ds) else Sym(1)
        return [self._reshape_to(n, x, [fixed(head), fixed(tail)], n.outputs[0])]

    def _axes(self, n, ins):
        axes = n.attrs.get("axes")
        if axes is None and len(ins) > 1 and ins[1] is not None:
            axes = self._int_list(n, ins[1], "axes")
        return axes

    def op_Unsqueeze(self, n, ins):
        shp = list(self.shape(ins[0]))
        axes = self._axes(n, ins)
        rank = len(shp) + len(axes)
        for a in sorted(a % rank for a in axes):
            shp.insert(a, 1)
        return [self._reshape_to(n, ins[0], shp, n.outputs[0])]

    def op_Squeeze(self, n, ins):
        shp = list(self.shape(ins[0]))
        axes = self._axes(n, ins)
        axes = [i for i, d in enumerate(shp) if d == 1] if axes is None else [a % len(shp) for a in axes]
        for a in axes:
            if shp[a] != 1:
                raise ValueError(f"node '{n.name}': Squeeze of axis {a} whose size is {shp[a]}")
        return [self._reshape_to(n, ins[0], [d for i, d in enumerate(shp) if i not in axes], n.outputs[0])]

    def op_Transpose(self, n, ins):
        perm = n.attrs.get("perm") or list(range(len(self.shape(ins[0])))[::-1])
        return self.node("Transpose", n, [ins[0].id], perm, dtype=ins[0].dtype)

    def op_Concat(self, n, ins):
        dt = next(i.dtype for i in ins if isinstance(i, Dyn))
        ids = [self.vid(v, name) for v, name in zip(ins, n.inputs)]
        return self.node("Concat", n, ids, [n.attrs["axis"]], dtype=dt)

    def op_Split(self, n, ins):
        x = ins[0]
        axis = n.attrs.get("axis", 0)
        shp = self.shape(x)
        size = shp[axis]
        if isinstance(size, Sym):
            raise _unsupported(n, "split along the batch dim")
        sizes = n.attrs.get("split")
        if sizes is None and len(ins) > 1 and ins[1] is not None:
            sizes = self._int_list(n, ins[1], "split")
        outs = len(n.outputs)
        if sizes is None:
            chunk = -(-size // outs)
            sizes = [min(chunk, size - i * chunk) for i in range(outs)]
        return self.node("Split", n, [x.id], [axis] + list(sizes), n_out=outs, dtype=x.dtype,
                         names=[o or f"{n.name}:{i}" for i, o in enumerate(n.outputs)])

    def op_Slice(self, n, ins):
        x = ins[0]
        starts, ends = self._int_list(n, ins[1], "starts"), self._int_list(n, ins[2], "ends")
        axes = self._int_list(n, ins[3], "axes") if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = self._int_list(n, ins[4], "steps") if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        clamp = lambda v: max(min(v, 2**62), -2**62)
        spec = []
        for a, s, e, st in zip(axes, starts, ends, steps):
            spec += [a, clamp(s), clamp(e), st]
        return self.node("Slice", n, [x.id], spec, dtype=x.dtype)

    def op_Gather(self, n, ins):
        data, idx = ins
        axis = n.attrs.get("axis", 0)
        if isinstance(idx, ShapeVal):
            raise _unsupported(n, "batch-dependent indices")
        if isinstance(idx, Dyn) and idx.dtype != INT64:
            raise _unsupported(n, "float indices")
        did = self.vid(data, n.inputs[0])
        dt = data.dtype if isinstance(data, Dyn) else (INT64 if np.asarray(data).dtype.kind in "iu" else FLOAT)
        iid = self.vid(idx if isinstance(idx, Dyn) else np.asarray(idx, np.int64), n.inputs[1])
        return self.node("Gather", n, [did, iid], [axis], dtype=dt)


def import_onnx(model, input_shapes: dict, batch: int, pattern=None, batched=None, quantize_layer=None):
    """Lower `model` (an onnx.ModelProto) into a GraphBuilder; returns (builder, importer)."""
    imp = Importer(model, input_shapes, batch, pattern, batched, quantize_layer)
    return imp.run(), imp
