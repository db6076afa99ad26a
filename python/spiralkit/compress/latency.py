"""Latency measurement hook: the demo's final table shows the student on spiralkit's kernels
beside the dense teacher once those land. Give it any zero-argument callable."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def measure_latency(run: Callable[[], object], *, warmup: int = 3, repeats: int = 20) -> dict[str, float]:
    """Median and min wall time of ``run()`` in milliseconds after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times)}


def torch_latency(model, example_inputs, **kwargs) -> dict[str, float]:
    """Dense PyTorch latency of ``model(example_inputs)`` (no grad, eval mode)."""
    import torch

    was_training = model.training
    model.eval()

    def run():
        with torch.no_grad():
            model(example_inputs)

    try:
        return measure_latency(run, **kwargs)
    finally:
        model.train(was_training)


def spiralkit_latency(model, example_inputs, **kwargs) -> "dict[str, float] | None":
    """Latency of the pruned ``model`` on spiralkit's kernels (``spiralkit.sparsify`` picks each
    layer's kernel from its mask), with as many threads as torch uses, so the comparison with
    :func:`torch_latency` is like for like. None while the native extension is not built."""
    import torch

    import spiralkit

    try:
        spiralkit.set_num_threads(torch.get_num_threads())
        sparse_model = spiralkit.sparsify(model)
    except ImportError:
        return None
    return torch_latency(sparse_model, example_inputs.cpu(), **kwargs)
