"""spiralkit.cuda linear / conv2d vs torch on the GPU, per BENCHMARKS.md. Three suites (--suite):

  fp32   spiralkit's fp32 CUDA-core kernels on BERT-base linear shapes (below);
  half   fp16 and bf16 tensor-core kernels on BERT-base and LLM linear shapes (4096x4096, 4096x11008,
         11008x4096) at 16..8192 rows: 2:4 vs torch dense in the same dtype (cuBLAS) and vs
         torch.sparse.to_sparse_semi_structured; 16x16 and 32x32 BSR at 90 % vs torch dense;
  conv   fp16 ResNet-50 3x3 / 1x1 convolutions at batch 32: 2:4 and 16x16 at 90 % vs F.conv2d dense
         in fp16 (cuDNN).
  half/conv time spiralkit with kernel="sparse" (the kernel itself) and kernel="auto" (what the
  planner picks, so a sparse model is never slower than dense by design); the table shows where
  sparse starts to win, which is what src/cuda/kernel_choice.h's thresholds should be set from.

fp32 suite:

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

    python benchmarks/cuda_linear.py --suite all --out cuda_results.json      # everything, one call
    python benchmarks/cuda_linear.py --suite half,conv --quick                 # smoke test, ~1 minute
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


# ---- fp16 / bf16 suites

HALF_SHAPES = [(768, 768), (768, 3072), (3072, 768), (4096, 4096), (4096, 11008), (11008, 4096)]  # (K, N)
HALF_ROWS = [16, 128, 1024, 4096, 8192]
HALF_CONFIGS = [("2:4", 0.5), ("16x16", 0.9), ("32x32", 0.9)]
# ResNet-50 convolutions (C_in, C_out, kernel, stride, input H=W) at batch 32.
RESNET_CONVS = [(64, 64, 3, 1, 56), (128, 128, 3, 1, 28), (256, 256, 3, 1, 14), (512, 512, 3, 1, 7),
                (256, 64, 1, 1, 56), (64, 256, 1, 1, 56), (1024, 256, 1, 1, 14), (512, 2048, 1, 1, 7)]
HALF_TOL = {"float16": 2e-3, "bfloat16": 1.2e-2}


def _half_case(rec, fns, want, got_fns, args, rounds, dtype):
    """Checks every engine against `want` (fp32 reference), then times them; False on a mismatch."""
    ok = True
    for name, fn in got_fns.items():
        err = rel_err(fn().float(), want)
        rec[f"rel_err_{name}"] = err
        ok &= err < HALF_TOL[dtype] * 2
    if not ok:
        rec["mismatch"] = True
        return False
    times, errors = ab(fns, args.reps, rounds, "graph")
    summ = summarize(times, "torch")
    for name, msg in errors.items():
        summ[name] = {"error": msg}
    rec["graph"] = summ
    return True


def run_half_suites(suites, args, meta, results, rounds) -> list:
    """fp16/bf16 linear (suite 'half') and fp16 ResNet-50 conv (suite 'conv'); returns the mismatches."""
    failures = []
    meta["half_timing"] = "graph mode only; speedup = median per-round torch_dense_same_dtype_ms / engine_ms"
    print(f"# {meta['device']}  torch {meta['torch']}  commit {meta['git_commit']}")
    if "half" in suites:
        shapes = [(4096, 4096)] if args.quick else HALF_SHAPES
        rows_list = [16, 4096] if args.quick else HALF_ROWS
        print(f"{'K->N':>11} {'rows':>5} {'dtype':>8} {'pattern':>7} {'sparse x':>9} {'auto x':>7} {'auto':>30}"
              f" {'torch2:4 x':>10}")
        for dtype in ("float16", "bfloat16"):
            tdtype = getattr(torch, dtype)
            for k, n in shapes:
                base = (np.random.default_rng(0).standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
                for pattern, sparsity in HALF_CONFIGS:
                    dense_np = spiralkit.prune_to_pattern(base, pattern, sparsity)
                    sw = spiralkit.pack(dense_np, pattern)
                    wd = sw.to("cuda", dtype)
                    w = torch.from_numpy(dense_np).cuda().to(tdtype)
                    for rows in rows_list:
                        x = torch.randn(rows, k, device="cuda", generator=torch.Generator(device="cuda").manual_seed(rows))
                        x = x.to(tdtype)
                        want = torch.matmul(x.float(), w.float().t())
                        fns = {
                            "torch": lambda: torch.matmul(x, w.t()),
                            "sparse": lambda: skc.linear(x, wd, kernel="sparse"),
                            "auto": lambda: skc.linear(x, wd, kernel="auto"),
                        }
                        rec = {"suite": "half", "op": "linear", "in_features": k, "out_features": n, "rows": rows,
                               "dtype": dtype, "pattern": pattern, "sparsity": sw.sparsity, "kernel": wd.kernel,
                               "auto_choice": wd.plan(rows), "nbytes_packed": wd.nbytes, "nbytes_dense": 2 * n * k}
                        if pattern == "2:4" and dtype == "float16":
                            try:
                                from torch.sparse import to_sparse_semi_structured

                                ws = to_sparse_semi_structured(w)
                                fns["torch_semi"] = lambda: torch.nn.functional.linear(x, ws)
                            except Exception as exc:  # noqa: BLE001 - recorded, not hidden
                                rec["torch_semi_structured_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                        checked = {name: fn for name, fn in fns.items() if name != "torch"}
                        if not _half_case(rec, fns, want, checked, args, rounds, dtype):
                            failures.append(rec)
                            print(f"MISMATCH {rec}", flush=True)
                            results.append(rec)
                            continue
                        g = rec["graph"]
                        semi = g.get("torch_semi", {}).get("speedup_vs_torch", float("nan"))
                        print(f"{k:>5}->{n:<5} {rows:>5} {dtype:>8} {pattern:>7} {g['sparse']['speedup_vs_torch']:9.2f}"
                              f" {g['auto']['speedup_vs_torch']:7.2f} {rec['auto_choice']['kernel'][-30:]:>30}"
                              f" {semi:10.2f}", flush=True)
                        results.append(rec)
                    del wd
    if "conv" in suites:
        convs = RESNET_CONVS[:2] if args.quick else RESNET_CONVS
        batch = 8 if args.quick else 32
        print(f"{'conv':>22} {'pattern':>7} {'sparse x':>9} {'auto x':>7}")
        for c_in, c_out, ks, stride, hw in convs:
            base = np.random.default_rng(1).standard_normal((c_out, c_in, ks, ks)).astype(np.float32) / np.sqrt(c_in * ks * ks)
            x = torch.randn(batch, c_in, hw, hw, device="cuda").half()
            for pattern, sparsity in [("2:4", 0.5), ("16x16", 0.9)]:
                dense_np = spiralkit.prune_to_pattern(base, pattern, sparsity)
                sw = spiralkit.pack(dense_np, pattern)
                wd = sw.to("cuda", "float16")
                w = torch.from_numpy(dense_np).cuda().half()
                pad = ks // 2
                want = torch.nn.functional.conv2d(x.float(), w.float(), None, stride, pad)
                fns = {
                    "torch": lambda: torch.nn.functional.conv2d(x, w, None, stride, pad),
                    "sparse": lambda: skc.conv2d(x, wd, None, stride, pad, kernel="sparse"),
                    "auto": lambda: skc.conv2d(x, wd, None, stride, pad, kernel="auto"),
                }
                m = batch * ((hw + 2 * pad - ks) // stride + 1) ** 2
                rec = {"suite": "conv", "op": "conv2d", "shape": [c_out, c_in, ks, ks], "input": [batch, c_in, hw, hw],
                       "stride": stride, "dtype": "float16", "pattern": pattern, "sparsity": sw.sparsity,
                       "auto_choice": wd.plan(m, "conv2d")}
                checked = {name: fn for name, fn in fns.items() if name != "torch"}
                if not _half_case(rec, fns, want, checked, args, rounds, "float16"):
                    failures.append(rec)
                    print(f"MISMATCH {rec}", flush=True)
                    results.append(rec)
                    continue
                g = rec["graph"]
                print(f"{c_in:>4}->{c_out:<4} k{ks} s{stride} {hw:>3}px {pattern:>7} {g['sparse']['speedup_vs_torch']:9.2f}"
                      f" {g['auto']['speedup_vs_torch']:7.2f}", flush=True)
                results.append(rec)
                del wd
    if failures:
        print(f"{len(failures)} case(s) did not match the reference: the run fails", file=sys.stderr)
    return failures



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="cuda_linear.json")
    ap.add_argument("--reps", type=int, default=20, help="calls per timed sample")
    ap.add_argument("--rounds", type=int, default=25, help="A/B rounds (samples per engine)")
    ap.add_argument("--modes", default="graph,eager")
    ap.add_argument("--quick", action="store_true", help="one shape, fewer rounds (smoke test)")
    ap.add_argument("--suite", default="fp32", help="comma list of fp32, half, conv, or all")
    args = ap.parse_args(argv)
    suites = {"fp32", "half", "conv"} if args.suite == "all" else set(args.suite.split(","))
    if not suites <= {"fp32", "half", "conv"}:
        ap.error(f"--suite: expected fp32, half, conv or all, got {args.suite!r}")
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
    results, failures = [], []
    if suites & {"half", "conv"}:
        failures = run_half_suites(suites, args, meta, results, rounds)
        if "fp32" not in suites:
            Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
            print(f"wrote {args.out} ({len(results)} rows)")
            return 1 if failures else 0
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
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
