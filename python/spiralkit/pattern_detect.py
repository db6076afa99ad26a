"""Which pattern a weight's zeros follow (numpy only: the engine and ``sparsify`` share it).

The fastest pattern the zeros follow wins (blocks before N:M before unstructured); weights with
little sparsity stay ``dense``: the sparse kernels would not pay for their indices.
"""

from __future__ import annotations

import numpy as np

from spiralkit.patterns import as_matrix, parse_pattern

# Tried in this order; the first pattern the zeros follow is used.
DETECTION_ORDER = ("8x1", "4x1", "2:4", "unstructured")
# Below this sparsity a layer is packed dense.
MIN_SPARSITY = 0.3


def follows(matrix: np.ndarray, pattern: str) -> bool:
    """True when every zero/non-zero of the N x K ``matrix`` is allowed by ``pattern``."""
    pat = parse_pattern(pattern)
    nonzero = matrix != 0
    n, k = nonzero.shape
    if pat.kind in ("unstructured", "dense"):
        return True
    if pat.kind == "block":
        r, c = pat.rows, pat.cols
        padded = np.zeros((-(-n // r) * r, -(-k // c) * c), dtype=bool)
        padded[:n, :k] = nonzero
        counts = padded.reshape(padded.shape[0] // r, r, padded.shape[1] // c, c).sum(axis=(1, 3))
        inside = np.zeros_like(padded)
        inside[:n, :k] = True
        sizes = inside.reshape(counts.shape[0], r, counts.shape[1], c).sum(axis=(1, 3))
        return bool(((counts == 0) | (counts == sizes)).all())
    if pat.kind == "nm":
        groups = -(-k // pat.m)
        padded = np.zeros((n, groups * pat.m), dtype=bool)
        padded[:, :k] = nonzero
        return bool((padded.reshape(n, groups, pat.m).sum(axis=2) <= pat.n).all())
    return False


def detect_pattern(weight, min_sparsity: float = MIN_SPARSITY) -> str:
    """The pattern to pack ``weight`` (2-D or conv 4-D numpy) with."""
    matrix = as_matrix(np.asarray(weight))
    if matrix.size == 0 or float((matrix == 0).mean()) < min_sparsity:
        return "dense"
    return next(p for p in DETECTION_ORDER if follows(matrix, p))
