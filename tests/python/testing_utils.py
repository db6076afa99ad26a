"""Helpers shared by the Python tests: the pattern list every op test sweeps, error measure."""

import numpy as np

PATTERNS = ["dense", "unstructured", "1x1", "4x1", "8x1", "1x4", "16x16", "3x5", "2:4", "4:8", "1:4"]
SPARSITY_FOR = {"dense": 0.0}


def sparsity_for(pattern: str) -> float:
    return SPARSITY_FOR.get(pattern, 0.7)




def max_rel_error(got, want) -> float:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    scale = max(np.abs(want).max(initial=0.0), 1e-6)
    return float(np.abs(got - want).max(initial=0.0) / scale)
