"""Per inverted-residual block of an int8 engine: its int8 layers (unfused) against the fp32 fused
block on the same dequantized weights, same engine, same run: the measurement behind
``int8_block_runs_fp32`` (src/engine/plan_i8.h).

The model (``spiralkit.bench.zoo``, MobileNet-v2 by default) is pruned to ``1x4`` at each sparsity and
compiled int8 with calibration; the engine is then run with every quantized layer forced int8
(kernel choice 1 dense / 2 sparse, which never fuses) and with every layer forced fp32 (choice 3,
which fuses every inverted-residual chain as the fp32 fused block), and with the planner's own
choice (0: the blocks int8_block_runs_fp32 picks fused in fp32, the others as int8 layers). Per
block, the best of 3 profiles (20 runs each) of its nodes' summed time; whole-model medians of 40
runs.

    PYTHONPATH=python python benchmarks/int8_block_choice.py --sparsity 0,0.8,0.9 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import spiralkit
from spiralkit.bench import ort_int8, zoo


def _timed(engine, x, choices, runs=40, profiles=3):
    native = engine._native
    native.set_kernel_choices(choices)
    for _ in range(5):
        engine.run(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.run(x)
        times.append(time.perf_counter() - t0)
    best = None
    for _ in range(profiles):
        secs = np.asarray(native.profile(engine._arrays(x), 20)[1]) / 20
        best = secs if best is None else np.minimum(best, secs)
    return 1e3 * float(np.median(times)), 1e3 * best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--sparsity", default="0,0.9", help="comma-separated, 0 = dense")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    print(f"cpu={platform.processor() or platform.machine()} threads={args.threads} model={args.model}")
    for sp in (float(v) for v in args.sparsity.split(",")):
        case = zoo.zoo_case(args.model, "1x4" if sp > 0 else "dense", sp, 1, f"/tmp/spiralkit-int8-blocks/{sp}")
        x = case["example"]
        calib = ort_int8.calibration_batches(args.model, case["model"], 4, 1)
        engine = spiralkit.compile(str(case["onnx_path"]), x, threads=args.threads, quantize="int8", calibration=calib)
        n = len(engine.layers())
        forced_int8 = [2 if sp > 0 else 1] * n
        planned, p0 = _timed(engine, x, [0] * n)
        planned_kernels = [l["kernel"] for l in engine.layers()]
        t8, p8 = _timed(engine, x, forced_int8)
        t32, p32 = _timed(engine, x, [3] * n)
        engine._native.set_kernel_choices([3] * n)
        layers = engine.layers()
        print(f"\n{args.model} {sp:.2f} 1x4: whole model int8 layers {t8:.3f} ms, all fp32 {t32:.3f} ms, planner {planned:.3f} ms")
        print(f"  {'block (head node)':48s} {'int8 ms':>8s} {'fp32 fused ms':>14s} {'planned ms':>11s}  planned as")
        i = 0
        while i < n:
            if layers[i]["kernel"].startswith("fused block"):
                j = i + 1
                while j < n and layers[j]["kernel"].startswith("fused into"):
                    j += 1
                a, b, c = p8[i:j].sum(), p32[i:j].sum(), p0[i:j].sum()
                how = "fp32 fused" if planned_kernels[i].startswith("fused block") else "int8 layers"
                print(f"  {layers[i]['name'][:48]:48s} {a:8.3f} {b:14.3f} {c:11.3f}  {how}")
                i = j
            else:
                i += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
