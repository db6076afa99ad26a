"""The ``channel`` pattern: whole filters / neurons removed and the model rebuilt smaller.

Torch-Pruning's dependency graph finds what a removed output channel touches (BatchNorm, the
next layer's inputs, flatten, every branch of a residual addition) and shrinks it all
consistently. Coupled layers (e.g. both sides of a residual add) share one decision: their
per-channel scores are summed and one ``pattern_mask(..., "channel", s)`` picks the channels.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.patterns import pattern_mask

# Set on a model whose modules were shrunk, so its checkpoint says so (checkpoint.py).
SHRUNK_FLAG = "_spiralkit_channel_pruned"


def _out_channel_fn(tp, module):
    return tp.prune_conv_out_channels if isinstance(module, nn.Conv2d) else tp.prune_linear_out_channels


def prune_channels(model: nn.Module, layers: dict, scores: dict, allocation: dict[str, float],
                   example_inputs) -> dict[str, float]:
    """Remove the lowest-scoring output channels of each layer; returns the removed fraction per layer."""
    try:
        import torch_pruning as tp
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("the 'channel' pattern needs Torch-Pruning: pip install torch-pruning") from exc

    if any(hasattr(m, "parametrizations") for m in model.modules()):
        raise ValueError("channel pruning: the model carries element masks; strip them first (masks.strip_masks)")
    device = B.device_of(model)
    example_inputs = B.to_device(example_inputs, device)
    was_training = model.training
    model.eval()
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
    name_of = {m: n for n, m in model.named_modules()}
    removed: dict[str, float] = {}
    done: set[str] = set()
    plan = []
    rank, size = B.world()
    for name, module in layers.items():
        if name in done:
            continue
        n_out = module.weight.shape[0]
        group = graph.get_pruning_group(module, _out_channel_fn(tp, module), idxs=list(range(n_out)))
        coupled = [name]
        for dep, _ in group:
            other = name_of.get(dep.target.module)
            if other in layers and other not in coupled and dep.handler in (
                tp.prune_conv_out_channels, tp.prune_linear_out_channels
            ):
                coupled.append(other)
        done.update(coupled)
        # One score per channel, summed over coupled layers (each row-mean normalised by its size).
        row = sum(scores[c].reshape(scores[c].shape[0], -1).mean(1) for c in coupled)
        sparsity = max(allocation[c] for c in coupled)
        keep = pattern_mask(row.numpy()[:, None], "channel", sparsity)[:, 0]
        if not keep.any():
            keep[int(np.argmax(row.numpy()))] = True
        drop = torch.from_numpy(np.flatnonzero(~keep))
        if size > 1:
            drop = _broadcast_indices(drop)
        plan.append((module, drop, coupled, n_out))
    for module, drop, coupled, n_out in plan:
        if len(drop):
            graph.get_pruning_group(module, _out_channel_fn(tp, module), idxs=drop.tolist()).prune()
        for c in coupled:
            removed[c] = len(drop) / n_out
    setattr(model, SHRUNK_FLAG, True)
    model.train(was_training)
    return removed


def _broadcast_indices(drop: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist

    holder = [drop.tolist()]
    dist.broadcast_object_list(holder, src=0)
    return torch.tensor(holder[0], dtype=torch.long)
