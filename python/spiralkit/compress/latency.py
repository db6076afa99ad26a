"""Latency measurement: dense PyTorch, and the pruned model compiled by spiralkit's engine (what
a deployment runs). Used by the evolutionary allocation's latency cost and the demo."""

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
    """Latency of the pruned ``model`` compiled by ``spiralkit.compile`` (masks honoured, each
    layer's kernel chosen from its zeros), with as many threads as torch uses, so the comparison
    with :func:`torch_latency` is like for like. A model the engine cannot compile (an op it does
    not cover) is timed through ``spiralkit.sparsify`` in PyTorch instead. None while the native
    extension is not built."""
    import torch

    import spiralkit
    from spiralkit.errors import UnsupportedError

    example = example_inputs.detach().cpu().float()
    try:
        spiralkit.set_num_threads(torch.get_num_threads())
        try:
            engine = spiralkit.compile(model, example)
        except UnsupportedError:
            return torch_latency(spiralkit.sparsify(model), example, **kwargs)
    except ImportError:
        return None
    x = example.numpy()
    return measure_latency(lambda: engine.run(x), **kwargs)
