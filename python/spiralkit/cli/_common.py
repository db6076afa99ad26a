"""Helpers the engine subcommands (compile, run, bench model) share: ``--input-shape`` parsing,
example inputs, latency statistics, sizes. numpy only: ``spiralkit run`` must not pull torch or onnx."""

from __future__ import annotations

import statistics
import time

import numpy as np


def parse_shape_specs(specs, names) -> dict:
    """``["x=1,3,224,224", ...]`` -> {name: [dims]}. A spec without ``NAME=`` is accepted when the
    model has exactly one input."""
    shapes = {}
    for spec in specs or ():
        name, sep, dims_text = spec.rpartition("=")
        if not sep:
            if len(names) != 1:
                raise ValueError(f"--input-shape: expected NAME=D1,D2,... (inputs: {', '.join(names)}), got {spec!r}")
            name = names[0]
        name = name.strip()
        try:
            dims = [int(d) for d in dims_text.split(",")]
        except ValueError:
            raise ValueError(f"--input-shape: expected NAME=D1,D2,... with integer dims, got {spec!r}") from None
        if not dims or any(d < 1 for d in dims):
            raise ValueError(f"--input-shape: dims must be positive integers, got {spec!r}")
        if name not in names:
            raise ValueError(f"--input-shape: the model has no input {name!r}; its inputs: {', '.join(names)}")
        if name in shapes:
            raise ValueError(f"--input-shape: input {name!r} given twice")
        shapes[name] = dims
    return shapes


def example_array(shape, dtype, seed: int = 0) -> np.ndarray:
    """Floats: standard normal from a fixed seed; integers (token ids): zeros."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)
    return np.zeros(tuple(shape), dtype=dtype)


def latency_stats(times_s) -> dict:
    ts = sorted(times_s)

    def q(p):
        return ts[min(len(ts) - 1, max(0, int(round(p * (len(ts) - 1)))))]

    return {"median_ms": 1e3 * statistics.median(ts), "p10_ms": 1e3 * q(0.1), "p90_ms": 1e3 * q(0.9),
            "min_ms": 1e3 * ts[0], "calls": len(ts)}


def time_calls(fn, repeats: int, warmup: int) -> list:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 ** 2:.2f} MiB"


def positive(flag: str, value, allow_none: bool = True):
    if value is None and allow_none:
        return
    if value is None or value < 1:
        raise ValueError(f"{flag}: expected a positive integer, got {value}")
