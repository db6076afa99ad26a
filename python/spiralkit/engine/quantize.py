"""int8 compilation: static calibration of activation ranges and the importer hook that packs
Conv/MatMul/Gemm weights as int8.

Weights: symmetric int8 per output channel (scale = max|w| / 127, round half to even; pruned zeros
stay exact zeros), or the scales a QDQ model carries. Activations entering each int8 layer:
asymmetric uint8 (scale, zero point) from the calibration batches, as ONNX Runtime's static
quantization computes them: the range [min(lo, 0), max(hi, 0)] with lo/hi the min-max over all
batches (``"minmax"``) or the ``percentile``-th / (100 - ``percentile``)-th percentiles
(``"percentile"``). The layer quantizes its input on entry and dequantizes its output in the
kernel epilogue; every other op runs fp32 in between, so an op without an int8 kernel never gives
a wrong answer.
"""

from __future__ import annotations

import numpy as np

from spiralkit._native import lib
from spiralkit.pattern_detect import detect_pattern

METHODS = ("minmax", "percentile")
_MAX_SAMPLES = 1 << 20  # values kept per tensor for the percentile method (evenly strided)


def quant_params(lo: float, hi: float) -> tuple:
    """(scale, zero_point) of uint8 asymmetric quantization over [lo, hi] (0 always inside)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ValueError(f"calibration: non-finite activation range [{lo}, {hi}]")
    if hi - lo <= 0.0:
        return 1.0, 0
    scale = (hi - lo) / 255.0
    zp = int(np.clip(np.rint(-lo / scale), 0, 255))
    return float(np.float32(scale)), zp


class RangeCollector:
    """Accumulates one tensor's range over calibration batches."""

    def __init__(self, method: str, percentile: float):
        self.method, self.percentile = method, percentile
        self.lo, self.hi, self.samples = np.inf, -np.inf, []
        self.sum_sq, self.count = 0.0, 0  # the tensor's power, for noise_ratio

    def add(self, a: np.ndarray) -> None:
        a = np.asarray(a, np.float32).reshape(-1)
        if a.size == 0:
            return
        self.sum_sq += float(np.dot(a.astype(np.float64), a.astype(np.float64)))
        self.count += a.size
        if self.method == "minmax":
            self.lo, self.hi = min(self.lo, float(a.min())), max(self.hi, float(a.max()))
        else:
            step = max(1, a.size // _MAX_SAMPLES)
            self.samples.append(a[::step])

    def params(self) -> tuple:
        if self.method == "percentile" and self.samples:
            allv = np.concatenate(self.samples)
            self.lo = float(np.percentile(allv, 100.0 - self.percentile))
            self.hi = float(np.percentile(allv, self.percentile))
        if not np.isfinite(self.lo):
            return 1.0, 0
        return quant_params(self.lo, self.hi)

    def noise_ratio(self, scale: float) -> float:
        """uint8 rounding noise (scale^2 / 12) against the tensor's mean square (0 for silence)."""
        power = self.sum_sq / self.count if self.count else 0.0
        return scale * scale / 12.0 / power if power > 0 else 0.0


def check_method(method: str, percentile: float) -> None:
    if method not in METHODS:
        raise ValueError(f"calibration_method: expected one of {METHODS}, got {method!r}")
    if not 50.0 < float(percentile) <= 100.0:
        raise ValueError(f"percentile: expected a value in (50, 100], got {percentile}")


class Int8Layers:
    """The importer hook (``Importer.quantize_layer``): packs a weighted node as int8 when its input
    activation has quantization parameters, else returns None (the layer stays fp32).

    ``activations``: ONNX tensor name -> (scale, zero_point) of the tensor entering the layer;
    ``weight_scales``: weight initializer name -> (scales, axis) of a QDQ model's weights, optional.
    With ``record`` set, nothing is quantized: the input tensor names are collected (calibration).
    """

    def __init__(self, activations=None, weight_scales=None, record: bool = False):
        self.activations = dict(activations or {})
        self.weight_scales = dict(weight_scales or {})
        self.record = record
        self.seen: list = []      # activation names of the weighted layers, in import order
        self.residuals: list = []  # Conv outputs read by an Add (record mode: calibrated too)
        self.quantized: list = []  # node names packed as int8

    def __call__(self, importer, node, w: np.ndarray):
        name = node.inputs[0] if node.inputs else ""
        if self.record:
            if name and name in importer.env:
                self.seen.append(name)
            return None
        spec = self.activations.get(name)
        if spec is None:
            return None
        w = np.ascontiguousarray(w, dtype=np.float32)
        matrix = w.reshape(w.shape[0], -1)
        if matrix.shape[1] > 65536:
            return None  # beyond the int8 kernels' accumulator bound: stays fp32
        pattern = importer.pattern(node.name, w) if callable(importer.pattern) else (importer.pattern or detect_pattern(w))
        kind, r, c = _int8_kind(str(pattern))
        scales = self._output_scales(node, matrix.shape[0])
        _C = lib()
        if scales is not None:
            s = np.ascontiguousarray(np.broadcast_to(scales, (matrix.shape[0],)))
            q = np.clip(np.rint(matrix / s[:, None]), -128, 127).astype(np.int8)
            packed = _C.pack_i8(np.ascontiguousarray(q), s, kind, r, c, 0, 0)
        else:
            packed = _C.quantize_pack_i8(np.ascontiguousarray(matrix), kind, r, c, 0, 0)
        self.quantized.append(node.name)
        return importer.b.add_quantized_weight(packed, float(spec[0]), int(spec[1]), list(w.shape))


    def finish(self, importer) -> None:
        """Called once the graph is imported: gives each Conv output that an Add reads (a
        projection shortcut, the residual a bottleneck adds) its calibrated uint8 parameters, so
        an int8 plan may pass it as uint8 where only residual adds read it (engine/plan_i8.h)."""
        from spiralkit.engine.onnx_import import Dyn

        producers = {o: n.op for n in importer.g.nodes for o in n.outputs if o}
        names = [i for n in importer.g.nodes if n.op == "Add" for i in n.inputs if producers.get(i) == "Conv"]
        names = [n for n in dict.fromkeys(names) if isinstance(importer.env.get(n), Dyn)]
        if self.record:
            self.residuals = names
            return
        for n in names:
            spec = self.activations.get(n)
            if spec is not None:
                importer.b.set_uint8_params(importer.env[n].id, float(spec[0]), int(spec[1]))

    def _output_scales(self, node, n_out: int):
        """The QDQ weight scales of `node`, when they are per tensor or per output channel."""
        entry = self.weight_scales.get(node.inputs[1]) if len(node.inputs) > 1 else None
        if entry is None:
            return None
        scales, axis = entry
        if scales.size == 1:
            return scales.astype(np.float32)
        out_axis = 1 if node.op in ("MatMul", "spk.Linear") or (node.op == "Gemm" and not node.attrs.get("transB", 0)) else 0
        if axis != out_axis or scales.size != n_out or node.attrs.get("alpha", 1.0) != 1.0:
            return None  # not per output channel: quantize the dequantized weight afresh
        return scales.astype(np.float32)


def _int8_kind(pattern: str) -> tuple:
    """(kind code, r, c) for the int8 packer: 4x4 blocks keep 4-row panels, dense stays dense,
    every other sparsity packs as 1x4 groups (one VNNI/SDOT lane group)."""
    if pattern == "dense":
        return 0, 1, 1
    if pattern == "4x4":
        return 2, 4, 4
    if pattern == "1x4":
        return 2, 1, 4
    return 1, 1, 1


def calibrate(model, shapes: dict, batch: int, batched, pattern, batches, method: str, percentile: float,
              example_dict, noise: dict | None = None) -> dict:
    """Runs the fp32 model (spiralkit's own engine, with the inputs of every weighted layer and
    the Conv outputs Adds read made outputs) over `batches`; returns ONNX tensor name -> (scale,
    zero_point). With `noise`, fills
    it with each tensor's RangeCollector.noise_ratio (engine/int8_fallback.py ranks by it)."""
    from spiralkit.engine.engine import Engine
    from spiralkit.engine.onnx_import import import_onnx

    batches = list(batches)
    if not batches:
        raise ValueError("calibration: expected at least one batch of example inputs")
    hook = Int8Layers(record=True)
    builder, importer = import_onnx(model, shapes, batch, pattern, batched, quantize_layer=hook)
    names = list(dict.fromkeys(hook.seen + hook.residuals))
    graph_inputs = {i.name for i in importer.g.inputs}
    outputs = set(importer.g.outputs)
    marked = [n for n in names if n not in graph_inputs and n not in outputs]
    n_out = len(importer.g.outputs)
    for n in marked:
        builder.mark_output(importer.env[n].id)
    engine = Engine(builder.build(batch, False))
    out_index = {n: n_out + i for i, n in enumerate(marked)}
    out_index.update({n: engine.output_names.index(n) for n in names if n in outputs})
    collectors = {n: RangeCollector(method, percentile) for n in names}
    input_names = engine.input_names
    for i, b in enumerate(batches):
        try:
            feeds = example_dict(b, input_names)
        except ValueError as exc:
            raise ValueError(f"calibration[{i}]: {exc}") from None
        outs = engine.run(feeds)
        for n in names:
            collectors[n].add(feeds[n] if n in graph_inputs else outs[out_index[n]])
    params = {n: c.params() for n, c in collectors.items()}
    if noise is not None:
        noise.update({n: collectors[n].noise_ratio(params[n][0]) for n in names})
    return params
