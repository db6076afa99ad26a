"""``wanda``: pruning by weights and activations (Sun et al. 2023), compared per output row.

score_ij = |W_ij| * ||X_j||_2, with ||X_j|| the norm of input feature j over the calibration
tokens (``calibration.collect``). Magnitude alone ignores that a few input features of a
transformer are far larger than the rest; Wanda keeps the weights that multiply them. The paper
compares scores within each output row (every row keeps the same share), which
:func:`per_row_mask` does for every pattern: per row for unstructured and N:M, per band of R rows
for RxC blocks; ``channel`` stays a whole-layer ranking.
"""

from __future__ import annotations

import numpy as np
import torch

from spiralkit.compress.registry import CRITERIA
from spiralkit.patterns import parse_pattern, pattern_mask


@CRITERIA.register("wanda")
def wanda(weight, stats, generator=None):
    """|W_ij| * ||X_j||_2 (per convolution group, X_j is that group's input column j)."""
    norms = stats["input_sq"].sqrt()  # (groups, K)
    n_rows = weight.shape[0]
    w = weight.detach().reshape(n_rows, -1).abs().double()
    rows_per_group = n_rows // norms.shape[0]
    scale = norms.to(w.device).repeat_interleave(rows_per_group, dim=0)
    return (w * scale).reshape(weight.shape)


wanda.needs_inputs = True
wanda.per_row = True


def per_row_mask(scores: np.ndarray, pattern: str, sparsity: float) -> np.ndarray:
    """Keep-mask at ``sparsity`` with scores compared only within each row (band of R rows for
    RxC blocks), so every output row keeps the same share of its weights."""
    pat = parse_pattern(pattern)
    shape = scores.shape
    mat = np.asarray(scores, dtype=np.float64).reshape(shape[0], -1)
    if pat.kind in ("channel", "dense") or (pat.kind == "nm" and sparsity <= 1 - pat.n / pat.m + 1e-9):
        return pattern_mask(scores, pattern, sparsity)  # plain N:M is already decided per row
    if pat.kind == "unstructured":
        k = mat.shape[1]
        drop = int(round(sparsity * k))
        keep = np.ones_like(mat, dtype=bool)
        if drop:
            order = np.argsort(mat, axis=1, kind="stable")[:, :drop]
            np.put_along_axis(keep, order, False, axis=1)
        return keep.reshape(shape)
    band = pat.rows if pat.kind == "block" else 1
    full = np.asarray(scores, dtype=np.float64)  # its own shape: RxC-cin blocks group by taps
    keep = np.empty(shape, dtype=bool)
    for r in range(0, mat.shape[0], band):
        keep[r:r + band] = pattern_mask(full[r:r + band], pattern, sparsity)
    return keep


def criterion_mask(criterion, scores: torch.Tensor, pattern: str, sparsity: float) -> np.ndarray:
    """The mask a criterion asks for: per row when it sets ``per_row``, else the layer-wide ranking."""
    if getattr(criterion, "per_row", False):
        return per_row_mask(scores.numpy(), pattern, sparsity)
    return pattern_mask(scores.numpy(), pattern, sparsity)
