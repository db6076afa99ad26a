"""``sparsify(model)``: swap pruned Linear/Conv2d layers for native sparse modules.

The pattern of each layer is taken from the caller or detected from its zeros: the fastest
pattern the zeros follow wins (blocks before N:M before unstructured); layers with little
sparsity stay dense (packed as ``dense``), so a sparsified model is never slower by design.
"""

from __future__ import annotations

import torch
from torch import nn

from spiralkit.nn.modules import SparseConv2d, SparseLinear
from spiralkit.pattern_detect import DETECTION_ORDER, MIN_SPARSITY, detect_pattern  # noqa: F401



def choose_pattern(weight, min_sparsity: float = MIN_SPARSITY) -> str:
    """The pattern to pack ``weight`` with: 'dense' when sparsity is below ``min_sparsity``."""
    return detect_pattern(weight.detach().cpu().numpy() if isinstance(weight, torch.Tensor) else weight, min_sparsity)


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
