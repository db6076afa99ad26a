"""BERT-base encoder (4 layers, 128 tokens) at 90 % `1x4`, batch 1: spiralkit int8 vs spiralkit fp32
sparse, ONNX Runtime fp32 (dense model) and ONNX Runtime int8 (its static QDQ quantization of the
dense model, per-channel, uint8 activations, the same calibration batches), 1 thread each.

The clock is the calling thread's CPU time (``time.thread_time``): with 1 thread every engine runs
in the caller, so time spent descheduled by other processes on a shared machine is left out (the
2-thread wall-clock harness, ``benchmarks/bench_models.py --ort-int8 --engine-quantize int8``, is the
protocol for a quiet machine). Outputs are checked against ONNX Runtime fp32 on the same weights
first; rounds alternate the engines; the ratio is the median of per-round ratios.

    PYTHONPATH=python python benchmarks/int8_model_cpu.py --out benchmarks/results/int8-model-bert
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    import onnxruntime as ort
    import torch

    import spiralkit
    from spiralkit.bench import models as M
    from spiralkit.bench.ort_int8 import calibration_batches, quantize_ort_int8, rel_err

    torch.set_num_threads(1)
    spiralkit.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="spk-int8-bert-")
    dense = M.bert_encoder(layers=args.layers).eval()
    sparse = M.bert_encoder(layers=args.layers).eval()
    M.prune_model(sparse, "1x4", args.sparsity)
    example = dense.example(1, seed=2).numpy()
    paths = {}
    for name, model in (("dense", dense), ("sparse", sparse)):
        paths[name] = os.path.join(tmp, f"{name}.onnx")
        M.export_onnx(model, torch.from_numpy(example), paths[name])
    calib = calibration_batches("bert", dense, count=8)
    q_dense = quantize_ort_int8(paths["dense"], calib, os.path.join(tmp, "dense.int8.onnx"))
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 1, 1, 3
    sess = {k: ort.InferenceSession(v, so, providers=["CPUExecutionProvider"])
            for k, v in (("ort_fp32", paths["dense"]), ("ort_int8", q_dense), ("ref_sparse", paths["sparse"]))}
    spk_fp32 = spiralkit.compile(paths["sparse"], example)
    spk_int8 = spiralkit.compile(paths["sparse"], example, quantize="int8", calibration=calib)
    int8_layers = sum(l["kernel"].startswith("int8 ") for l in spk_int8.layers())
    fns = {
        "ort_fp32": lambda: sess["ort_fp32"].run(None, {"input": example})[0],
        "ort_int8": lambda: sess["ort_int8"].run(None, {"input": example})[0],
        "spiralkit_fp32_1x4": lambda: spk_fp32.run(example)[0],
        "spiralkit_int8_1x4": lambda: spk_int8.run(example)[0],
    }
    ref_dense = fns["ort_fp32"]()
    ref_sparse = sess["ref_sparse"].run(None, {"input": example})[0]
    errs = {"ort_int8 vs ort_fp32 (dense)": rel_err(fns["ort_int8"](), ref_dense),
            "spiralkit_fp32_1x4 vs ort (sparse)": rel_err(fns["spiralkit_fp32_1x4"](), ref_sparse),
            "spiralkit_int8_1x4 vs ort (sparse)": rel_err(fns["spiralkit_int8_1x4"](), ref_sparse)}
    if errs["spiralkit_fp32_1x4 vs ort (sparse)"] > 1e-3 or errs["spiralkit_int8_1x4 vs ort (sparse)"] > 0.1:
        raise SystemExit(f"output mismatch: {errs}")
    for fn in fns.values():
        for _ in range(3):
            fn()
    times = {k: [] for k in fns}
    for _ in range(args.rounds):
        for k, fn in fns.items():
            t0 = time.thread_time()
            for _ in range(3):
                fn()
            times[k].append((time.thread_time() - t0) / 3)
    res = {}
    for k, ts in times.items():
        res[k] = {"median_ms": statistics.median(ts) * 1e3, "p10_ms": sorted(ts)[len(ts) // 10] * 1e3,
                  "p90_ms": sorted(ts)[(9 * len(ts)) // 10] * 1e3,
                  "x_ort_fp32": statistics.median(a / b for a, b in zip(times["ort_fp32"], ts)),
                  "x_ort_int8": statistics.median(a / b for a, b in zip(times["ort_int8"], ts))}
    sizes = {}
    for k, e in (("spiralkit_fp32_1x4", spk_fp32), ("spiralkit_int8_1x4", spk_int8)):
        path = os.path.join(tmp, k + ".spk")
        e.save(path)
        sizes[k] = os.path.getsize(path)
    lines = [f"BERT-base encoder ({args.layers} layers, 128 tokens), batch 1, {args.sparsity:.0%} 1x4 (spiralkit), 1 thread, "
             f"clock: thread CPU time, load average {os.getloadavg()[0]:.1f}",
             f"int8 layers: {int8_layers}; artifact bytes: fp32 1x4 {sizes['spiralkit_fp32_1x4']}, int8 1x4 "
             f"{sizes['spiralkit_int8_1x4']} ({sizes['spiralkit_fp32_1x4'] / sizes['spiralkit_int8_1x4']:.2f}x smaller)",
             f"relative errors: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()), "",
             f"{'engine':<20} {'median ms':>10} {'p10-p90 ms':>18} {'x ORT fp32':>11} {'x ORT int8':>11}"]
    for k, r in res.items():
        lines.append(f"{k:<20} {r['median_ms']:>10.2f} {r['p10_ms']:>8.2f}-{r['p90_ms']:<9.2f} {r['x_ort_fp32']:>11.2f} "
                     f"{r['x_ort_int8']:>11.2f}")
    print("\n".join(lines))
    if args.out:
        with open(args.out + ".txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump({"results": res, "errors": errs, "artifact_bytes": sizes, "int8_layers": int8_layers,
                       "sparsity": args.sparsity, "layers": args.layers, "threads": 1, "clock": "thread_time",
                       "load_average": os.getloadavg()[0]}, f, indent=1)


if __name__ == "__main__":
    main()
