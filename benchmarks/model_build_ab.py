"""Paired A/B of two builds of the engine on one zoo model: run this script once per build, in
alternation, each from its own checkout (the compiled module is per tree), and compare medians.

    for r in 1 2 3 4 5; do for d in /tmp/before /work/main; do
      (cd $d && PYTHONPATH=python python /work/main/benchmarks/model_build_ab.py mobilenet_v2 0.9 4x1 2); done; done

Prints the tree, then the median per-call process CPU time and wall time over 7 blocks of 20 calls.
"""
import statistics
import sys
import tempfile
import time

import spiralkit
from spiralkit.bench.zoo import zoo_case


def main(argv):
    name, sparsity, pattern, threads = argv[0], float(argv[1]), argv[2], int(argv[3])
    case = zoo_case(name, pattern, sparsity, 1, tempfile.mkdtemp())
    engine = spiralkit.compile(str(case["onnx_path"]), threads=threads)
    spiralkit.set_num_threads(threads)
    arrays = engine._arrays([case["example"]])
    for _ in range(20):
        engine._native.run(arrays)
    cpu, wall = [], []
    for _ in range(7):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(20):
            engine._native.run(arrays)
        cpu.append((time.process_time() - c0) / 20)
        wall.append((time.perf_counter() - t0) / 20)
    tree = spiralkit.__file__.split("/python/")[0]
    print(f"{tree} {name} {pattern} {sparsity} threads {threads}: cpu {statistics.median(cpu) * 1e3:.3f} ms "
          f"wall {statistics.median(wall) * 1e3:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
