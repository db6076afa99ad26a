"""pytest-benchmark suite: spiralkit vs torch dense at the BENCHMARKS.md layer shapes.

    PYTHONPATH=python pytest benchmarks/ --benchmark-group-by=param:case_id [--benchmark-json out.json]

Each case is benchmarked twice (engine=torch-dense, engine=spiralkit) in one session; compare within
a group. Speed targets are read off these ratios (or `spiralkit bench kernels`), never asserted.
"""

import numpy as np
import pytest

from spiralkit.bench.kernels import _callables, _make
from spiralkit.bench.shapes import CASES

PATTERNS = ("4x1", "8x1", "unstructured", "2:4")
SPARSITIES = (0.5, 0.8, 0.9, 0.95)


def _params():
    for case in CASES:
        yield pytest.param(case, "dense", 0.0, id=f"{case.name}-dense")
        for p in PATTERNS:
            for s in SPARSITIES:
                if p == "2:4" and s != 0.5:
                    continue
                yield pytest.param(case, p, s, id=f"{case.name}-{p}-{s}")


@pytest.mark.parametrize("engine", ["torch-dense", "spiralkit"])
@pytest.mark.parametrize("case,pattern,sparsity", list(_params()))
def test_kernel(benchmark, case, pattern, sparsity, engine):
    w, x, b, sw = _make(case, pattern, sparsity)
    torch_fn, spk_fn = _callables(case, w, x, b, sw)
    want = torch_fn().numpy()
    got = np.asarray(spk_fn())
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())  # a fast wrong answer is a failure
    fn = torch_fn if engine == "torch-dense" else spk_fn
    benchmark.extra_info.update(case_id=f"{case.name}-{pattern}-{sparsity}", gflop=case.flops() / 1e9,
                                pattern=pattern, sparsity=sparsity)
    benchmark(fn)
