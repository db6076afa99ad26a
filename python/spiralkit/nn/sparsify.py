"""``sparsify(model)``: swap pruned Linear/Conv2d layers for native sparse modules.

The pattern of each layer is taken from the caller or detected from its zeros: the fastest
pattern the zeros follow wins (blocks before N:M before unstructured); layers with little
sparsity stay dense (packed as ``dense``), so a sparsified model is never slower by design.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spiralkit.nn.modules import SparseConv2d, SparseLinear
from spiralkit.patterns import as_matrix, parse_pattern

# Tried in this order; the first pattern the zeros follow is used.
DETECTION_ORDER = ("8x1", "4x1", "2:4", "unstructured")
# Below this sparsity a layer is packed dense: the sparse kernels would not pay for their indices.
MIN_SPARSITY = 0.3


def _follows(matrix: np.ndarray, pattern: str) -> bool:
    pat = parse_pattern(pattern)
    nonzero = matrix != 0
    n, k = nonzero.shape
    if pat.kind == "unstructured":
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


def choose_pattern(weight, min_sparsity: float = MIN_SPARSITY) -> str:
    """The pattern to pack ``weight`` with: 'dense' when sparsity is below ``min_sparsity``."""
    matrix = as_matrix(np.asarray(weight.detach().cpu() if isinstance(weight, torch.Tensor) else weight))
    if float((matrix == 0).mean()) < min_sparsity:
        return "dense"
    return next(p for p in DETECTION_ORDER if _follows(matrix, p))


def sparsify(model: nn.Module, pattern: "str | None" = None, min_sparsity: float = MIN_SPARSITY) -> nn.Module:
    """Return a copy of ``model`` (eval mode, CPU, float32) whose Linear/Conv2d layers run on
    spiralkit's kernels. Masks left by ``spiralkit.prune`` are honoured: a masked layer's
    ``weight`` already reads as the masked weight. (The copy's parametrized layers are replaced,
    never un-parametrized: their dynamic class is shared with the original model's.)"""
    import copy

    model = copy.deepcopy(model).cpu().float().eval()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                chosen = pattern or choose_pattern(child.weight, min_sparsity)
                setattr(parent, name, SparseLinear.from_dense(child, chosen))
            elif isinstance(child, nn.Conv2d):
                chosen = pattern or choose_pattern(child.weight, min_sparsity)
                setattr(parent, name, SparseConv2d.from_dense(child, chosen))
    return model
