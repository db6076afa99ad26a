"""Whole models at 1 thread, timed by process CPU time: spiralkit's engine vs ONNX Runtime on the
same ONNX file. A figure that holds on a loaded or hypervisor-stolen machine (wall-clock ratios at 2
threads do not: an OpenMP barrier waits for a descheduled thread). Outputs are checked first.

    PYTHONPATH=python python benchmarks/model_cpu_time.py bert,minilm,resnet50,mobilenet_v2 0.9 4x1
    PYTHONPATH=python python benchmarks/model_cpu_time.py bert,minilm,resnet50,mobilenet_v2 0 dense
"""
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

import spiralkit
from spiralkit.bench.zoo import zoo_case


def main(argv):
    names, sparsity = argv[0].split(","), float(argv[1])
    pattern = argv[2] if len(argv) > 2 else "4x1"
    workdir = tempfile.mkdtemp(prefix="spiralkit-cpu-time-")
    for name in names:
        case = zoo_case(name, pattern, sparsity, 1, workdir)
        x = case["example"]
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
        sess = ort.InferenceSession(str(case["onnx_path"]), so, providers=["CPUExecutionProvider"])
        eng = spiralkit.compile(str(case["onnx_path"]), threads=1)
        feed = {sess.get_inputs()[0].name: x}
        ref, out = sess.run(None, feed)[0], eng.run([x])[0]
        err = float(np.abs(ref - out).max() / np.abs(ref).max())
        if err > 1e-3:
            raise SystemExit(f"{name}: spiralkit output differs from ONNX Runtime (relative error {err:.1e})")
        calls = 3 if name in ("bert", "resnet50") else 10
        ours, theirs = [], []
        for _ in range(7):  # rounds alternate the engines; ratio = median of per-round ratios
            t0 = time.process_time()
            for _ in range(calls):
                eng.run([x])
            t1 = time.process_time()
            for _ in range(calls):
                sess.run(None, feed)
            t2 = time.process_time()
            ours.append((t1 - t0) / calls)
            theirs.append((t2 - t1) / calls)
        ratio = statistics.median(b / a for a, b in zip(ours, theirs))
        print(f"{name} {case['case']['pattern']} {sparsity}: spiralkit {statistics.median(ours) * 1e3:.2f} ms CPU, "
              f"onnxruntime {statistics.median(theirs) * 1e3:.2f} ms CPU, x{ratio:.2f} vs ORT, rel err {err:.1e}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["bert,minilm,resnet50,mobilenet_v2", "0.9", "4x1"])
