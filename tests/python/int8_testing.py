"""Helpers of the int8 engine tests (tests/python/engine/test_quantize*.py)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

import spiralkit
from spiralkit.bench import models as M

# Quantization error budget, relative to max|reference|: a few uint8 steps of each activation range,
# accumulated over the layers of these small models.
INT8_VS_ORT_INT8 = 0.03
INT8_VS_FP32 = 0.06


def prune_1x4(model, sparsity):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)) and mod.weight[0].numel() >= 16:
                mod.weight.copy_(spiralkit.prune_to_pattern(mod.weight, "1x4", sparsity))


def export(model, shape, path):
    model.eval()
    M.export_onnx(model, torch.zeros(shape), path)
    return str(path)


def batches(shape, n=8, seed=10):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def ort_run(path, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
