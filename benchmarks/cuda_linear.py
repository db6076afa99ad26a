"""spiralkit.cuda.linear vs torch on BERT-base linear shapes (GPU), per BENCHMARKS.md.

Baselines, measured in the same run, alternating A B A B in rounds (median of per-round ratios):
  * torch.matmul(x, W.T) on the dense (zero-filled) fp32 weight, TF32 off (cuBLAS SGEMM/GEMV);
  * for 2:4, torch.sparse.to_sparse_semi_structured (F.linear(x, W_sparse)) in the first dtype it
    accepts (float32, else float16), next to torch dense in that same dtype. Its default backend,
    cuSPARSELt, refuses float32 (torch 2.11: float16/bfloat16/int8/fp8 only), so the 2:4 baseline
    is float16; the refusal is recorded in the JSON.
Timing: CUDA events around `--reps` back-to-back calls, after warm-up; two modes:
  * graph: the calls captured in a CUDA graph and replayed (GPU time, no Python/launch overhead);
  * eager: plain Python calls (what a user's loop sees, launch overhead included).
Every output is checked against torch fp32 before timing (relative error printed and recorded).

    python benchmarks/cuda_linear.py --out cuda_linear.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import spiralkit
import spiralkit.cuda as skc

SHAPES = [(768, 768), (768, 3072), (3072, 768)]  # (in_features K, out_features N)
ROWS = [1, 16, 128]
CONFIGS = [("dense", 0.0)] + [
    (p, s) for p in ("4x1", "16x16", "unstructured") for s in (0.5, 0.9, 0.95)
] + [("2:4", 0.5)]


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def _timer(fn, reps: int, mode: str):
    """Returns a callable that times `reps` calls of fn (ms per call) with CUDA events."""
    if mode == "graph":
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(reps):
                fn()
        run = graph.replay
    else:

        def run():
            for _ in range(reps):
                fn()

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def timed():
        start.record()
        run()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / reps

    for _ in range(3):  # warm-up
        timed()
    return timed


def ab(fns: dict, reps: int, rounds: int, mode: str) -> dict:
    """Times every fn in rounds (A B C, A B C, ...); per-fn ms list."""
    timers, errors = {}, {}
    for name, fn in fns.items():
        try:
            timers[name] = _timer(fn, reps, mode)
        except Exception as exc:  # noqa: BLE001 - e.g. a torch op that cannot be graph-captured
            if name in ("torch", "spiralkit"):
                raise
            torch.cuda.synchronize()
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    times = {name: [] for name in timers}
    for _ in range(rounds):
        for name, t in timers.items():
            times[name].append(t())
    return times, errors


def summarize(times: dict, base: str) -> dict:
    out = {}
    for name, ts in times.items():
        row = {"median_ms": statistics.median(ts), "p10_ms": _percentile(ts, 10), "p90_ms": _percentile(ts, 90)}
        if name != base:
            row["speedup_vs_" + base] = statistics.median([b / t for b, t in zip(times[base], ts)])
        out[name] = row
    return out


def rel_err(got, want) -> float:
    got, want = got.double(), want.double()
    return (got - want).abs().max().item() / max(want.abs().max().item(), 1e-6)


def semi_structured(dense_np, x):
    """(fn, dtype, dense fn in that dtype, error) for torch's 2:4 path, or an error string."""
    from torch.sparse import to_sparse_semi_structured

    errors = []
    for dtype in (torch.float32, torch.float16):
        try:
            w = torch.from_numpy(dense_np).cuda().to(dtype)
            ws = to_sparse_semi_structured(w)
            xd = x.to(dtype)
            pad = (-xd.shape[0]) % 64  # semi-structured kernels want the dense operand's rows padded
            xp = torch.nn.functional.pad(xd, (0, 0, 0, pad)) if pad else xd
            fn = lambda: torch.nn.functional.linear(xp, ws)  # noqa: E731
            got = fn()[: x.shape[0]].float()
            dense_fn = lambda: torch.matmul(xd, w.t())  # noqa: E731
            # On success, the last item says why earlier dtypes were refused (None if none were).
            return fn, str(dtype).replace("torch.", ""), dense_fn, got, (pad > 0), "; ".join(errors) or None
        except Exception as exc:  # noqa: BLE001 - recorded, not hidden
            errors.append(f"{dtype}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return None, None, None, None, False, "; ".join(errors)


def git_commit() -> str:
    import os

    if os.environ.get("SPIRALKIT_GIT_COMMIT"):
        return os.environ["SPIRALKIT_GIT_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="cuda_linear.json")
    ap.add_argument("--reps", type=int, default=20, help="calls per timed sample")
    ap.add_argument("--rounds", type=int, default=25, help="A/B rounds (samples per engine)")
    ap.add_argument("--modes", default="graph,eager")
    ap.add_argument("--quick", action="store_true", help="one shape, fewer rounds (smoke test)")
    args = ap.parse_args(argv)
    if not (torch.cuda.is_available() and skc.is_available()):
        print("needs a CUDA GPU, a CUDA torch and spiralkit built with its CUDA module", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    modes = args.modes.split(",")
    shapes = SHAPES[:1] if args.quick else SHAPES
    rounds = 5 if args.quick else args.rounds
    props = skc.device_properties(0)
    meta = {
        "device": torch.cuda.get_device_name(0),
        "spiralkit_device_properties": {k: (list(v) if isinstance(v, tuple) else v) for k, v in props.items()},
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_driver": skc._lib().driver_version(),
        "cuda_runtime_spiralkit": skc._lib().runtime_version(),
        "cuda_architectures": skc._lib().CUDA_ARCHITECTURES,
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "tf32": False,
        "reps_per_sample": args.reps,
        "rounds": rounds,
        "timing": "CUDA events around reps back-to-back calls; median over rounds; speedup = median of "
        "per-round torch_ms / spiralkit_ms (A B alternating)",
    }
    results = []
    print(f"# {meta['device']}  torch {meta['torch']}  commit {meta['git_commit']}  TF32 off")
    hdr = f"{'K->N':>10} {'rows':>4} {'pattern':>12} {'sp':>4} {'kernel':>9} {'err':>8}"
    for mode in modes:
        hdr += f" | {mode + ' sk ms':>12} {'torch ms':>9} {'x':>6}"
    print(hdr + " | ideal  2:4-torch")
    t_start = time.time()
    for k, n in shapes:
        rng = np.random.default_rng(0)
        base = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        for rows in ROWS:
            x = torch.randn(rows, k, device="cuda", generator=torch.Generator(device="cuda").manual_seed(rows))
            for pattern, sparsity in CONFIGS:
                dense_np = base if pattern == "dense" else spiralkit.prune_to_pattern(base, pattern, sparsity)
                sw = spiralkit.pack(dense_np, pattern)
                wd = skc.to_device(sw)
                w = torch.from_numpy(dense_np).cuda()
                want = torch.matmul(x, w.t())
                err = rel_err(skc.linear(x, wd), want)
                fns = {"torch": lambda: torch.matmul(x, w.t()), "spiralkit": lambda: skc.linear(x, wd)}
                rec = {
                    "op": "linear", "in_features": k, "out_features": n, "rows": rows, "pattern": pattern,
                    "sparsity_target": sparsity, "sparsity": sw.sparsity, "kernel": wd.kernel,
                    "nbytes_packed": wd.nbytes, "nbytes_dense": 4 * n * k, "rel_err_vs_torch_fp32": err,
                }
                density = max(1.0 - sw.sparsity, 1e-9)
                rec["ideal_speedup"] = (4 * n * k / wd.nbytes) if rows == 1 else 1.0 / density
                semi = None
                if pattern == "2:4":
                    fn, dtype, dense_fn, got, padded, semi_err = semi_structured(dense_np, x)
                    if fn is None:
                        rec["torch_semi_structured_error"] = semi_err
                    else:
                        rec["torch_semi_structured_dtype"] = dtype
                        if semi_err:
                            rec["torch_semi_structured_refused"] = semi_err
                        rec["torch_semi_structured_rows_padded_to_64"] = padded
                        rec["torch_semi_structured_rel_err"] = rel_err(got, want)
                        fns["torch_semi"] = fn
                        if dtype != "float32":
                            fns["torch_dense_" + dtype] = dense_fn
                        semi = dtype
                line = f"{k:>4}->{n:<5} {rows:>4} {pattern:>12} {sparsity:>4.2f} {wd.kernel:>9} {err:8.1e}"
                for mode in modes:
                    times, errors = ab(fns, args.reps, rounds, mode)
                    summ = summarize(times, "torch")
                    for name, msg in errors.items():
                        summ[name] = {"error": msg}
                    flops = 2.0 * rows * n * k
                    for name, row in summ.items():
                        if "median_ms" in row:
                            row["effective_gflops"] = flops / (row["median_ms"] * 1e6)
                    summ["spiralkit"]["useful_gflops"] = 2.0 * rows * sw.nnz / (summ["spiralkit"]["median_ms"] * 1e6)
                    rec[mode] = summ
                    sp = summ["spiralkit"]["speedup_vs_torch"]
                    line += f" | {summ['spiralkit']['median_ms']:12.4f} {summ['torch']['median_ms']:9.4f} {sp:6.2f}"
                    if semi:
                        rec[mode]["semi_note"] = f"torch 2:4 in {semi}"
                line += f" | {rec['ideal_speedup']:5.1f}"
                if semi:
                    g = rec[modes[0]]
                    line += f"  {semi} 2:4 {g['torch_semi'].get('median_ms', float('nan')):.4f} ms"
                    if "torch_dense_" + semi in g:
                        line += f" (dense {semi} {g['torch_dense_' + semi]['median_ms']:.4f})"
                elif pattern == "2:4":
                    line += "  torch 2:4 unavailable"
                print(line, flush=True)
                results.append(rec)
                Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))  # partial
                del wd
    meta["wall_s"] = time.time() - t_start
    Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"wrote {args.out} ({len(results)} rows, {meta['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
