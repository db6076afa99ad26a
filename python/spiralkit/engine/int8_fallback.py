"""Accuracy-aware int8: keep the fewest int8 layers' inputs in fp32 that bring the compiled model's
output within a tolerance of its fp32 self on the calibration batches.

Static uint8 activations lose most where a tensor's range is wide against its typical magnitude
(GELU outputs and attention contexts with a few large values: the rounding step is set by the
range, the signal by the bulk). Each calibrated tensor is ranked by its rounding noise against its
own power, (scale^2 / 12) / mean(x^2); the top k tensors stay fp32 (every layer reading them runs
its fp32 kernel), with k found by doubling and then bisection: about 2 log2(n) int8 builds, each
checked on every calibration batch. The error is the benchmark's: max |int8 - fp32| over
max |fp32|, per output, the worst over outputs and batches.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


def check_tolerance(tolerance) -> float:
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        raise ValueError(f"int8_tolerance: expected a number in (0, 1], got {tolerance!r}") from None
    if not (0.0 < tol <= 1.0) or not math.isfinite(tol):
        raise ValueError(f"int8_tolerance: expected a number in (0, 1], got {tolerance!r}")
    return tol


def output_error(engine, feeds: Sequence[dict], references: Sequence[list]) -> float:
    """Worst max|got - ref| / max|ref| over the outputs of every calibration batch."""
    worst = 0.0
    for feed, refs in zip(feeds, references):
        for g, r in zip(engine.run(feed), refs):  # Engine.run: a list of outputs
            scale = float(np.abs(r).max()) if r.size else 0.0
            diff = float(np.abs(np.asarray(g, np.float64) - r).max()) if r.size else 0.0
            worst = max(worst, diff / scale if scale > 0 else diff)
    return worst


def fit(ranges: dict, noise: dict, build: Callable[[dict], object], error: Callable[[object], float],
        tolerance: float) -> tuple:
    """(ranges to quantize with, report). `build(ranges)` compiles an int8 engine quantizing the
    layers whose input is in `ranges`; `error(engine)` measures it against fp32. The report names
    the tensors kept fp32, the error reached and the builds tried."""
    order = sorted(ranges, key=lambda n: -noise.get(n, 0.0))
    tried: dict = {}

    def err(k: int) -> float:
        if k not in tried:
            tried[k] = error(build({n: ranges[n] for n in order[k:]}))
        return tried[k]

    n = len(order)
    if err(0) <= tolerance:
        k = 0
    else:
        lo, hi = 0, 1  # err(lo) > tolerance; find hi with err(hi) <= tolerance
        while hi < n and err(hi) > tolerance:
            lo, hi = hi, min(2 * hi, n)
        err(hi)  # hi == n: every layer fp32
        while hi - lo > 1:  # bisection: err(lo) > tolerance >= err(hi)
            mid = (lo + hi) // 2
            if err(mid) <= tolerance:
                hi = mid
            else:
                lo = mid
        k = hi
    kept = {name: ranges[name] for name in order[k:]}
    report = {
        "tolerance": tolerance,
        "error": tried[k],
        "error_all_int8": tried[0],
        "fp32_inputs": order[:k],
        "int8_inputs": len(kept),
        "builds": len(tried),
    }
    return kept, report
