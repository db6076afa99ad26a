"""An editable view of an ONNX graph (nodes as small Python objects) and the pattern rewrites the
importer runs before lowering: MatMul + bias -> Linear, the decomposed LayerNorm and GELU forms,
x * sigmoid(x) -> SiLU, and scaled-dot-product attention -> one fused Attention node.

Rewrites only fire when every intermediate value has one consumer and is not a graph output, so
nothing another node reads is ever lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ONode:
    op: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    name: str = ""
    domain: str = ""


class OGraph:
    def __init__(self, model):
        import onnx
        from onnx import helper, numpy_helper

        g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.inputs = [i for i in g.input if i.name not in self.consts]
        self.outputs = [o.name for o in g.output]
        self.nodes: list[ONode] = []
        for i, n in enumerate(g.node):
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            for k, v in list(attrs.items()):
                if isinstance(v, onnx.TensorProto):
                    attrs[k] = numpy_helper.to_array(v)
                elif isinstance(v, bytes):
                    attrs[k] = v.decode()
            self.nodes.append(ONode(n.op_type, list(n.input), list(n.output), attrs, n.name or f"{n.op_type}_{i}", n.domain))

    # --- graph queries (recomputed on demand: rewrites change them)
    def consumers(self) -> dict:
        c: dict[str, list] = {}
        for n in self.nodes:
            for v in n.inputs:
                if v:
                    c.setdefault(v, []).append(n)
        return c

    def producers(self) -> dict:
        return {v: n for n in self.nodes for v in n.outputs}

    def const(self, name):
        """The constant value of `name` (initializer or Constant node), or None."""
        if name in self.consts:
            return self.consts[name]
        p = self._producers.get(name)
        if p is not None and p.op == "Constant" and "value" in p.attrs:
            return np.asarray(p.attrs["value"])
        return None

    def scalar(self, name):
        v = self.const(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None

    # --- rewrites
    def rewrite(self) -> None:
        for fuse in (self._fuse_layernorm, self._fuse_gelu, self._fuse_silu, self._fuse_attention,
                     self._fuse_head_layout, self._fuse_linear):
            self._refresh()
            fuse()

    def _refresh(self):
        self._producers = self.producers()
        self._consumers = self.consumers()

    def _single(self, value) -> "ONode | None":
        """The only consumer of an internal value (None if several, none, or a graph output)."""
        if value in self.outputs:
            return None
        c = self._consumers.get(value, [])
        return c[0] if len(c) == 1 else None

    def _replace(self, old: list, new: ONode) -> None:
        # The fused node takes the place of the chain's last node: every input of the chain is
        # computed before that one (V of an attention may come after the QK MatMul), and every
        # consumer of its output after it.
        last = max(self.nodes.index(n) for n in old)
        for n in old:
            self.nodes.remove(n)
        self.nodes.insert(last - (len(old) - 1), new)
        self._refresh()

    def _axes_are_last(self, node, rank_hint=None) -> bool:
        axes = node.attrs.get("axes")
        if axes is None and len(node.inputs) > 1 and node.inputs[1]:
            a = self.const(node.inputs[1])
            axes = None if a is None else a.tolist()
        return axes is not None and list(axes) == [-1] and node.attrs.get("keepdims", 1) == 1

    def _fuse_layernorm(self):
        # mean = ReduceMean(x); d = Sub(x, mean); var = ReduceMean(Pow(d, 2)); y = d / Sqrt(var + eps)
        # [* gamma] [+ beta]
        for rm in [n for n in self.nodes if n.op == "ReduceMean"]:
            if rm not in self.nodes or not self._axes_are_last(rm):
                continue
            x = rm.inputs[0]
            sub = next((c for c in self._consumers.get(rm.outputs[0], []) if c.op == "Sub" and c.inputs == [x, rm.outputs[0]]), None)
            if sub is None or len(self._consumers.get(rm.outputs[0], [])) != 1:
                continue
            users = self._consumers.get(sub.outputs[0], [])
            pw = next((u for u in users if u.op == "Pow" and self.scalar(u.inputs[1]) == 2.0), None)
            div = next((u for u in users if u.op == "Div" and u.inputs[0] == sub.outputs[0]), None)
            if pw is None or div is None or len(users) != 2:
                continue
            rm2 = self._single(pw.outputs[0])
            if rm2 is None or rm2.op != "ReduceMean" or not self._axes_are_last(rm2):
                continue
            add = self._single(rm2.outputs[0])
            if add is None or add.op != "Add":
                continue
            eps = self.scalar(add.inputs[1])
            sq = self._single(add.outputs[0])
            if eps is None or sq is None or sq.op != "Sqrt" or self._single(sq.outputs[0]) is not div:
                continue
            chain, out, scale, bias = [rm, sub, pw, rm2, add, sq, div], div.outputs[0], None, None
            mul = self._single(out)
            if mul is not None and mul.op == "Mul" and self.const(mul.inputs[1]) is not None:
                scale, out = mul.inputs[1], mul.outputs[0]
                chain.append(mul)
                badd = self._single(out)
                if badd is not None and badd.op == "Add" and self.const(badd.inputs[1]) is not None:
                    bias, out = badd.inputs[1], badd.outputs[0]
                    chain.append(badd)
            self._replace(chain, ONode("spk.LayerNorm", [x, scale or "", bias or ""], [out], {"epsilon": eps},
                                       div.name + "/layernorm"))

    def _fuse_gelu(self):
        for erf in [n for n in self.nodes if n.op == "Erf"]:
            if erf not in self.nodes:
                continue
            pre = self._producers.get(erf.inputs[0])
            if pre is None or pre.op not in ("Div", "Mul") or self._single(pre.outputs[0]) is not erf:
                continue
            c = self.scalar(pre.inputs[1])
            if c is None or not math.isclose(c if pre.op == "Div" else 1.0 / c, math.sqrt(2.0), rel_tol=1e-3):
                continue
            x = pre.inputs[0]
            add = self._single(erf.outputs[0])
            if add is None or add.op != "Add" or self.scalar(add.inputs[1] if add.inputs[0] == erf.outputs[0] else add.inputs[0]) != 1.0:
                continue
            m1 = self._single(add.outputs[0])
            if m1 is None or m1.op != "Mul":
                continue
            other = m1.inputs[1] if m1.inputs[0] == add.outputs[0] else m1.inputs[0]
            chain = [pre, erf, add, m1]
            half = self._producers.get(other)
            if other == x:  # x * (1 + erf) * 0.5
                m2 = self._single(m1.outputs[0])
                if m2 is None or m2.op != "Mul" or self.scalar(m2.inputs[1]) != 0.5:
                    continue
                chain.append(m2)
                out = m2.outputs[0]
            elif self.scalar(other) == 0.5:  # x * ((1 + erf) * 0.5)
                m2 = self._single(m1.outputs[0])
                if m2 is None or m2.op != "Mul" or x not in m2.inputs:
                    continue
                chain.append(m2)
                out = m2.outputs[0]
            elif half is not None and half.op == "Mul" and x in half.inputs and self._single(other) is m1 and \
                    self.scalar(half.inputs[1 - half.inputs.index(x)]) == 0.5:  # (x * 0.5) * (1 + erf)
                chain.append(half)
                out = m1.outputs[0]
            else:
                continue
            self._replace(chain, ONode("Gelu", [x], [out], {}, erf.name + "/gelu"))

    def _fuse_silu(self):
        for sg in [n for n in self.nodes if n.op == "Sigmoid"]:
            m = self._single(sg.outputs[0])
            x = sg.inputs[0]
            if m is not None and m.op == "Mul" and sorted(m.inputs) == sorted([x, sg.outputs[0]]):
                self._replace([sg, m], ONode("spk.Silu", [x], [m.outputs[0]], {}, m.name + "/silu"))

    def _fuse_attention(self):
        for sm in [n for n in self.nodes if n.op == "Softmax"]:
            if self.opset < 13 or sm.attrs.get("axis", -1) != -1:
                continue
            pv = self._single(sm.outputs[0])
            if pv is None or pv.op != "MatMul" or pv.inputs[0] != sm.outputs[0]:
                continue
            chain, cur, mask, scale = [sm, pv], sm.inputs[0], "", 1.0
            p = self._producers.get(cur)
            if p is not None and p.op == "Add" and self._single(cur) is sm:
                a, b = p.inputs
                pa = self._producers.get(a)
                if pa is not None and pa.op in ("MatMul", "Mul", "Div"):
                    main, mask = a, b
                else:
                    main, mask = b, a
                chain.append(p)
                cur, p = main, self._producers.get(main)
            scale_input, scale_div = "", False
            if p is not None and p.op in ("Mul", "Div") and self._single(cur) in chain:
                c = self.scalar(p.inputs[1])
                if c is not None and c != 0:
                    scale = c if p.op == "Mul" else 1.0 / c
                else:  # a scale computed from shapes: resolved once folded, at lowering
                    scale_input, scale_div = p.inputs[1], p.op == "Div"
                chain.append(p)
                cur, p = p.inputs[0], self._producers.get(p.inputs[0])
            if p is None or p.op != "MatMul" or self._single(cur) not in chain:
                continue
            q, k = p.inputs
            if self.const(q) is not None or self.const(k) is not None or self.const(pv.inputs[1]) is not None:
                continue
            if mask and self.const(mask) is None and mask in self.consts:
                continue
            chain.append(p)
            parts = sorted(chain, key=self.nodes.index)
            self._replace(chain, ONode("spk.Attention", [q, k, pv.inputs[1], mask, scale_input], [pv.outputs[0]],
                                       {"scale": scale, "scale_div": scale_div, "parts": parts}, sm.name + "/attention"))

    def _transpose_of(self, value, perm):
        """The Transpose node computing `value` with `perm` and read only by one node, or None."""
        p = self._producers.get(value)
        if p is None or p.op != "Transpose" or list(p.attrs.get("perm", [])) != perm:
            return None
        return p if len(self._consumers.get(value, [])) == 1 and value not in self.outputs else None

    def _fuse_head_layout(self):
        # The exporter's head split/merge around attention: q, v = Transpose(x, [0,2,1,3]),
        # k = Transpose(x, [0,2,3,1]), out = Transpose(attn, [0,2,1,3]). The fused node reads and
        # writes the interleaved [B, S, H, *] tensors directly (ints [1]); the transposes go.
        for att in [n for n in self.nodes if n.op == "spk.Attention"]:
            tq = self._transpose_of(att.inputs[0], [0, 2, 1, 3])
            tk = self._transpose_of(att.inputs[1], [0, 2, 3, 1])
            tv = self._transpose_of(att.inputs[2], [0, 2, 1, 3])
            out = self._single(att.outputs[0])
            if not (tq and tk and tv) or out is None or out.op != "Transpose" or list(out.attrs.get("perm", [])) != [0, 2, 1, 3]:
                continue
            chain = [tq, tk, tv, att, out]
            fused = ONode("spk.Attention", [tq.inputs[0], tk.inputs[0], tv.inputs[0], att.inputs[3], att.inputs[4]],
                          [out.outputs[0]], {**att.attrs, "layout": 1, "parts": sorted(chain, key=self.nodes.index)},
                          att.name)
            self._replace(chain, fused)

    def _fuse_linear(self):
        for mm in [n for n in self.nodes if n.op == "MatMul"]:
            w = self.const(mm.inputs[1])
            if w is None or w.ndim != 2 or self.const(mm.inputs[0]) is not None:
                continue
            add = self._single(mm.outputs[0])
            bias = ""
            chain = [mm]
            if add is not None and add.op == "Add":
                other = add.inputs[1] if add.inputs[0] == mm.outputs[0] else add.inputs[0]
                b = self.const(other)
                if b is not None and b.ndim == 1 and b.size == w.shape[1]:
                    bias = other
                    chain.append(add)
            out = chain[-1].outputs[0]
            self._replace(chain, ONode("spk.Linear", [mm.inputs[0], mm.inputs[1], bias], [out], {}, mm.name))
