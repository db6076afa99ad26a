"""ONNX Runtime's own int8 baseline: static QDQ quantization of an fp32 ONNX model.

:func:`quantize_ort_int8` runs ``onnxruntime.quantization.quantize_static`` the way ONNX Runtime's
documentation recommends for CPU: QDQ format (QuantizeLinear/DequantizeLinear pairs around each
MatMul/Conv/Gemm, fused into integer kernels at session creation), per-channel symmetric int8
weights (zero point 0, so pruned zeros stay exact zeros), per-tensor affine activations
calibrated on the caller's batches with min-max or a percentile of a histogram.

Activation type: ``"uint8"`` (U8S8) by default. ``quantize_static``'s own default is int8 (S8S8), but
on x86 ONNX Runtime's MLAS integer GEMM is a U8S8 kernel (VNNI ``vpdpbusd`` multiplies unsigned by
signed bytes) and measured here (AMD EPYC, AVX-512 VNNI, ORT 1.32, BERT-base encoder, batch 1,
2 threads) the S8S8 QDQ model ran at 0.6x fp32 while U8S8 ran at 2.2x. ``"int8"`` stays selectable.

Reduced range (7-bit weights): on by default on x86 CPUs without VNNI, as ONNX Runtime's
quantization guide asks: there MLAS's U8S8 kernel multiplies with ``vpmaddubsw``, whose 16-bit
pair sums saturate with full 8-bit weights (measured on an AVX2 AMD EPYC: 17 % of max|y| error on
a two-layer MLP without it, within 5 % with it).

:func:`run_both` feeds the same calibration batches (and any extra inputs) through the fp32 and
the int8 model, so the quantization error is measured on exactly the data ranges were taken from.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = ["ACTIVATION_TYPES", "CALIBRATIONS", "BatchReader", "calibration_batches", "needs_reduced_range",
           "quantize_ort_int8",
           "run_both", "rel_err"]

CALIBRATIONS = ("minmax", "percentile")
ACTIVATION_TYPES = ("int8", "uint8")
DEFAULT_ACTIVATION = "uint8"  # ONNX Runtime's fast path on x86 (U8S8); see the module docstring


def _input_name(onnx_path: str) -> str:
    import onnx

    model = onnx.load(onnx_path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    if len(names) != 1:
        raise ValueError(f"onnx_path: expected a model with one input, {onnx_path} has {names}")
    return names[0]


class BatchReader:
    """A ``CalibrationDataReader`` over an iterable of input arrays (one model input).

    ``onnxruntime.quantization.CalibrationDataReader`` is an abstract class with ``get_next``; the
    reader is built lazily so ``import spiralkit.bench`` never needs onnxruntime."""

    def __new__(cls, batches: Iterable[np.ndarray], input_name: str):
        from onnxruntime.quantization import CalibrationDataReader

        class _Reader(CalibrationDataReader):
            def __init__(self):
                self._it = iter(batches)
                self.count = 0

            def get_next(self):
                x = next(self._it, None)
                if x is None:
                    return None
                self.count += 1
                return {input_name: np.ascontiguousarray(x)}

        return _Reader()


def needs_reduced_range(activation: str = DEFAULT_ACTIVATION) -> bool:
    """True on x86 CPUs without VNNI with uint8 activations: where MLAS's U8S8 ``vpmaddubsw``
    kernel saturates on full-range int8 weights."""
    import platform

    if activation != "uint8" or platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
        return not ({"avx512_vnni", "avx_vnni"} & set(flags))
    except OSError:  # not Linux: ask the native library
        from spiralkit import runtime

        return not runtime.info().get("cpu_avx512_vnni", False)


def quantize_ort_int8(onnx_path, calibration: Iterable[np.ndarray], out_path=None, *, method: str = "minmax",
                      percentile: float = 99.999, activation: str = DEFAULT_ACTIVATION, per_channel: bool = True,
                      preprocess: bool = True, op_types: Sequence[str] | None = None,
                      reduce_range: bool | None = None) -> str:
    """Statically quantize ``onnx_path`` to int8 QDQ with ONNX Runtime's tool; returns the new path.

    ``calibration``: input batches (numpy arrays for the model's single input), e.g.
    :func:`calibration_batches`. ``method``: ``"minmax"`` or ``"percentile"`` (``percentile`` of the
    absolute values' histogram). ``activation``: ``"int8"`` or ``"uint8"``. Weights are always
    symmetric int8, per output channel when ``per_channel``. ``preprocess`` runs
    ``quant_pre_process`` first (symbolic shape inference + graph optimisation), as ONNX Runtime's
    documentation asks. ``op_types``: the op types to quantize (default: ONNX Runtime's own set).
    ``out_path`` defaults to ``<stem>.int8.onnx`` next to the input. ``reduce_range``: 7-bit
    weights; ``None`` picks it where U8S8 saturates (x86 without VNNI, see the module docstring).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    onnx_path = os.fspath(onnx_path)
    if not os.path.isfile(onnx_path):
        raise ValueError(f"onnx_path: no such file {onnx_path}")
    if method not in CALIBRATIONS:
        raise ValueError(f"method: expected one of {CALIBRATIONS}, got {method!r}")
    if activation not in ACTIVATION_TYPES:
        raise ValueError(f"activation: expected one of {ACTIVATION_TYPES}, got {activation!r}")
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile: expected a value in (0, 100], got {percentile}")
    out_path = os.fspath(out_path) if out_path is not None else str(Path(onnx_path).with_suffix(".int8.onnx"))
    name = _input_name(onnx_path)
    reader = BatchReader(calibration, name)
    extra = {"WeightSymmetric": True, "ActivationSymmetric": False}
    if method == "percentile":
        extra["CalibPercentile"] = float(percentile)
    with tempfile.TemporaryDirectory(prefix="spk-ort-int8-") as tmp:
        src = onnx_path
        if preprocess:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            src = os.path.join(tmp, "pre.onnx")
            quant_pre_process(onnx_path, src, skip_symbolic_shape=False)
        # The augmented calibration model goes to tmp (ORT writes it next to the cwd otherwise).
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            quantize_static(
                src, out_path, reader, quant_format=QuantFormat.QDQ, op_types_to_quantize=list(op_types or []) or None,
                per_channel=per_channel,
                reduce_range=needs_reduced_range(activation) if reduce_range is None else bool(reduce_range),
                activation_type=QuantType.QUInt8 if activation == "uint8" else QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.Percentile if method == "percentile" else CalibrationMethod.MinMax,
                extra_options=extra,
            )
        finally:
            os.chdir(cwd)
    if reader.count == 0:
        raise ValueError("calibration: no batches were given")
    return out_path


def _session(path: str, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def rel_err(got, ref) -> float:
    """max |got - ref| / max |ref| (the model benchmark's error measure)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return float("inf")
    return float(np.abs(got - ref).max() / max(1e-12, float(np.abs(ref).max())))


def run_both(fp32_path, int8_path, batches: Iterable[np.ndarray], *, threads: int = 2) -> dict:
    """Run the same batches through the fp32 and the int8 model with ONNX Runtime.

    Returns ``{"fp32": [outputs], "int8": [outputs], "rel_err": [per batch], "max_rel_err",
    "mean_cosine"}`` (cosine between flattened outputs per batch row, averaged)."""
    fp32, int8 = _session(os.fspath(fp32_path), threads), _session(os.fspath(int8_path), threads)
    n32, n8 = fp32.get_inputs()[0].name, int8.get_inputs()[0].name
    out = {"fp32": [], "int8": [], "rel_err": [], "cosine": []}
    for x in batches:
        x = np.ascontiguousarray(x)
        a, b = fp32.run(None, {n32: x})[0], int8.run(None, {n8: x})[0]
        out["fp32"].append(a)
        out["int8"].append(b)
        out["rel_err"].append(rel_err(b, a))
        a2, b2 = a.reshape(a.shape[0], -1).astype(np.float64), b.reshape(b.shape[0], -1).astype(np.float64)
        cos = (a2 * b2).sum(1) / np.maximum(1e-12, np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1))
        out["cosine"].extend(cos.tolist())
    if not out["rel_err"]:
        raise ValueError("batches: no batches were given")
    out["max_rel_err"] = max(out["rel_err"])
    out["mean_cosine"] = float(np.mean(out["cosine"]))
    return out


def calibration_batches(name: str, model, count: int = 8, batch: int = 1, seed: int = 100, *,
                        image: int = 224) -> list[np.ndarray]:
    """``count`` input batches for a zoo model (``spiralkit.bench.zoo``), seeds ``seed..seed+count-1``,
    all different from the benchmark's example (seed 2): BERT hidden states / MiniLM token ids
    from the model's own ``example``, images as standard-normal pixels like the example."""
    if count < 1 or batch < 1:
        raise ValueError(f"count and batch: expected >= 1, got {count}, {batch}")
    if name in ("bert", "minilm"):
        return [model.example(batch, seed=seed + i).numpy() for i in range(count)]
    if name in ("resnet50", "mobilenet_v2"):
        import torch

        out = []
        for i in range(count):
            g = torch.Generator().manual_seed(seed + i)
            out.append(torch.randn(batch, 3, image, image, generator=g).numpy())
        return out
    raise ValueError(f"name: unknown zoo model {name!r}")
