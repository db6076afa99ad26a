"""Two int8 plans of one model in one process, alternated round by round, so the VM's slow and fast
phases fall on both: the measurement behind the uint8 projection shortcuts and the `1x4-cin`
direct path (docs/engine.md#int8).

``--compare shortcut``: the model pruned to ``--pattern`` compiled int8 twice, once as usual and
once with the Conv outputs Adds read left without calibrated parameters (so a projection
shortcut goes to memory as fp32, as before that change).
``--compare cin``: the model pruned ``1x4`` (blocks along PyTorch's K order) against the same
model pruned ``1x4-cin`` (blocks of input channels at one tap), both at ``--sparsity``.

Prints each plan's median per-call time and the median (p10-p90) of the per-round ratio A / B,
and the output agreement.

    PYTHONPATH=python python benchmarks/int8_plan_ab.py --compare shortcut --sparsity 0.9
    PYTHONPATH=python python benchmarks/int8_plan_ab.py --compare cin --sparsity 0.9
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import spiralkit
from spiralkit.bench import ort_int8, zoo
from spiralkit.engine import quantize as q


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _int8(path, x, calib, threads, shortcuts=True):
    if shortcuts:
        return spiralkit.compile(path, x, threads=threads, quantize="int8", calibration=calib)
    finish = q.Int8Layers.finish
    q.Int8Layers.finish = lambda self, importer: finish(self, importer) if self.record else None
    try:
        return spiralkit.compile(path, x, threads=threads, quantize="int8", calibration=calib)
    finally:
        q.Int8Layers.finish = finish


def _alternate(a, b, x, rounds, calls):
    for e in (a, b):
        for _ in range(20):
            e.run(x)
    ta, tb = [], []
    for r in range(rounds):
        for e, ts in ((a, ta), (b, tb)) if r % 2 == 0 else ((b, tb), (a, ta)):
            t = time.perf_counter()
            for _ in range(calls):
                e.run(x)
            ts.append((time.perf_counter() - t) / calls)
    return np.array(ta), np.array(tb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", choices=("shortcut", "cin"), required=True)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--pattern", default="1x4", help="--compare shortcut: the pruning pattern")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()
    base, example = zoo.build_model(args.model)
    x = example(1)
    calib = list(ort_int8.calibration_batches(args.model, base, 8, 1))
    with tempfile.TemporaryDirectory() as tmp:
        def pruned(pattern):
            path = Path(tmp) / f"{pattern}.onnx"
            zoo.prune_and_export(base, example, pattern, args.sparsity, path)
            return str(path)

        if args.compare == "shortcut":
            path = pruned(args.pattern if args.sparsity > 0 else "dense")
            a, b = _int8(path, x, calib, args.threads, True), _int8(path, x, calib, args.threads, False)
            names = ("uint8 shortcuts", "fp32 shortcuts")
        else:
            a = _int8(pruned("1x4-cin"), x, calib, args.threads)
            b = _int8(pruned("1x4"), x, calib, args.threads)
            names = ("1x4-cin", "1x4")
        ya, yb = a.run(x)[0], b.run(x)[0]
        ta, tb = _alternate(a, b, x, args.rounds, args.calls)
    ratio = tb / ta
    print(f"cpu={_cpu()} threads={args.threads} model={args.model} "
          f"sparsity={args.sparsity} rounds={args.rounds}x{args.calls}")
    print(f"A {names[0]}: {np.median(ta) * 1e3:.3f} ms   B {names[1]}: {np.median(tb) * 1e3:.3f} ms")
    print(f"B / A per round: median {np.median(ratio):.3f} (p10 {np.percentile(ratio, 10):.3f}, "
          f"p90 {np.percentile(ratio, 90):.3f})")
    if args.compare == "shortcut":  # (the cin plans run differently pruned weights)
        print(f"outputs: max |A - B| / max |B| = {np.abs(ya - yb).max() / np.abs(yb).max():.4f}")


if __name__ == "__main__":
    main()
