"""`spiralkit bench kernels`: spiralkit's kernels against torch dense at real layer shapes.

Protocol (BENCHMARKS.md): same thread count for both engines, outputs checked first, warm-up,
then alternating A/B rounds; each round times a batch of calls long enough to read (>= ~2 ms);
the reported ratio is the median of the per-round ratios (torch dense time / spiralkit time).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time

import numpy as np

from spiralkit.bench.shapes import Case, select

DEFAULT_PATTERNS = ("4x1", "8x1", "unstructured", "1x4", "2:4")
DEFAULT_SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)


def _quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))]


def _make(case: Case, pattern: str, sparsity: float, seed: int = 0):
    import torch

    import spiralkit

    g = torch.Generator().manual_seed(seed)
    if case.op == "linear":
        w = torch.randn(case.n_out, case.k_in, generator=g) / case.k_in**0.5
        x = torch.randn(case.rows, case.k_in, generator=g)
    else:
        w = torch.randn(case.n_out, case.k_in, case.kernel, case.kernel, generator=g)
        x = torch.randn(1, case.k_in, case.hw, case.hw, generator=g)
    b = torch.randn(case.n_out, generator=g)
    if pattern != "dense" and sparsity > 0:
        w = spiralkit.prune_to_pattern(w, pattern, sparsity)
    sw = spiralkit.pack(w, pattern if sparsity > 0 else "dense")
    return w, x, b, sw


def _callables(case: Case, w, x, b, sw):
    import torch.nn.functional as F

    import spiralkit

    xn, bn = x.numpy(), b.numpy()
    if case.op == "linear":
        return (lambda: F.linear(x, w, b)), (lambda: spiralkit.ops.linear(xn, sw, bn))
    return (lambda: F.conv2d(x, w, b, stride=case.stride, padding=case.padding)), (
        lambda: spiralkit.ops.conv2d(xn, sw, bn, stride=case.stride, padding=case.padding)
    )


def _time_batch(fn, inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def run_case(case: Case, pattern: str, sparsity: float, threads: int, rounds: int = 20) -> dict:
    import torch

    w, x, b, sw = _make(case, pattern, sparsity)
    torch_fn, spk_fn = _callables(case, w, x, b, sw)
    want = torch_fn().numpy()
    got = np.asarray(spk_fn())
    rel_err = float(np.abs(got - want).max() / max(1e-6, np.abs(want).max()))
    for _ in range(3):
        torch_fn()
        spk_fn()
    once = max(1e-6, _time_batch(torch_fn, 3))
    inner = max(1, int(2e-3 / once))
    t_torch, t_spk, ratios = [], [], []
    for _ in range(rounds):
        a = _time_batch(torch_fn, inner)
        s = _time_batch(spk_fn, inner)
        t_torch.append(a)
        t_spk.append(s)
        ratios.append(a / s)
    nnz = int(sw.nnz)
    dense_elems = int(np.prod(sw.matrix_shape))
    flops = case.flops()
    ms = statistics.median(t_spk) * 1e3
    return {
        "case": case.name,
        "op": case.op,
        "pattern": pattern,
        "sparsity": sparsity,
        "measured_sparsity": 1.0 - nnz / dense_elems,
        "threads": threads,
        "torch_ms": statistics.median(t_torch) * 1e3,
        "spiralkit_ms": ms,
        "spiralkit_p10_ms": _quantile(t_spk, 0.1) * 1e3,
        "spiralkit_p90_ms": _quantile(t_spk, 0.9) * 1e3,
        "effective_gflops": flops / (ms * 1e-3) / 1e9,
        "useful_gflops": flops * nnz / dense_elems / (ms * 1e-3) / 1e9,
        "ratio_vs_torch_dense": statistics.median(ratios),
        "ratio_p10": _quantile(ratios, 0.1),
        "ratio_p90": _quantile(ratios, 0.9),
        "rel_error": rel_err,
        "load_1m": os.getloadavg()[0],
    }


def _commit() -> str:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001 - a benchmark without git still runs
        return "unknown"


def run(shapes: str | None = None, patterns=DEFAULT_PATTERNS, sparsities=DEFAULT_SPARSITIES, threads: int = 2,
        rounds: int = 20, json_path: str | None = None, echo=print) -> list[dict]:
    import torch

    import spiralkit

    torch.set_num_threads(threads)
    spiralkit.set_num_threads(threads)
    info = spiralkit.info()
    load = os.getloadavg()
    echo(f"threads={threads} isa={info['isa_active']} OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')} "
         f"load={load[0]:.2f},{load[1]:.2f},{load[2]:.2f} commit={_commit()}")
    header = f"{'case':30} {'pattern':12} {'sparsity':>8} {'torch ms':>9} {'spk ms':>9} {'p10-p90 ms':>15} " \
             f"{'eff GF/s':>9} {'ratio':>7} {'err':>8}"
    echo(header)
    results = []
    for case in select(shapes):
        for pattern in patterns:
            for sp in sparsities:
                if sp == 0.0 and pattern != patterns[0]:
                    continue  # sparsity 0 is the dense pattern: once per case
                r = run_case(case, "dense" if sp == 0.0 else pattern, sp, threads, rounds)
                results.append(r)
                echo(f"{r['case']:30} {r['pattern']:12} {sp:8.2f} {r['torch_ms']:9.4f} {r['spiralkit_ms']:9.4f} "
                     f"{r['spiralkit_p10_ms']:7.4f}-{r['spiralkit_p90_ms']:7.4f} {r['effective_gflops']:9.1f} "
                     f"{r['ratio_vs_torch_dense']:7.2f} {r['rel_error']:8.1e}")
    from spiralkit.bench.targets import check

    for line in check(results):
        echo(line)
    load_end = os.getloadavg()
    echo(f"load at end={load_end[0]:.2f},{load_end[1]:.2f},{load_end[2]:.2f}")
    if json_path:
        meta = {"threads": threads, "isa": info["isa_active"], "kernels": info["kernels"], "loadavg": load, "loadavg_end": load_end,
                "commit": _commit(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}
        with open(json_path, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1)
        echo(f"wrote {json_path}")
    return results
