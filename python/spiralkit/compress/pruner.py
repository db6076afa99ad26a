"""``prune(model, PruneConfig)``: one pruning step, masks kept on the model.

Steps: pick the layers (Linear/Conv2d minus skipped ones) -> score every weight with the
criterion (gradient criteria read a few batches, activation criteria a few calibration batches)
-> choose per-layer sparsities (uniform, global ranking or evolutionary search) -> build each mask
with ``spiralkit.pattern_mask`` (per row for ``per_row`` criteria such as ``wanda``; or, for the
``channel`` pattern, physically remove filters, see ``channel.py``). A criterion that
``reconstructs`` (``sparsegpt``) instead prunes the layers one group at a time in forward order and
updates the kept weights (``sparsegpt.py``). Already-pruned weights stay pruned. Under
torch.distributed rank 0's masks are broadcast, so every rank holds the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.compress import criteria as C
from spiralkit.compress.config import PruneConfig
from spiralkit.compress.masks import PRUNABLE, get_mask, set_mask
from spiralkit.compress.registry import CRITERIA
from spiralkit.patterns import parse_pattern, pattern_mask


@dataclass
class PruneResult:
    """Per-layer sparsities reached (fraction of zeros, or of removed filters for ``channel``)."""

    layer_sparsity: dict[str, float] = field(default_factory=dict)
    sparsity: float = 0.0


def select_layers(model: nn.Module, config: PruneConfig) -> dict[str, nn.Module]:
    """The layers ``config`` prunes, in registration order."""
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE)]
    names = [n for n, _ in layers]
    unknown = sorted(set(config.skip) | set(config.include))
    unknown = [n for n in unknown if n not in names]
    if unknown:
        raise ValueError(f"prune.skip/include: no Linear/Conv2d named {', '.join(unknown)}; layers: {', '.join(names)}")
    skipped = set(config.skip)
    if config.include:  # an explicit list wins over skip_first / skip_last
        return {n: m for n, m in layers if n in config.include and n not in skipped}
    if config.skip_first and names:
        skipped.add(names[0])
    if config.skip_last and names:
        skipped.add(names[-1])
    chosen = {n: m for n, m in layers if n not in skipped}
    return chosen


def check_model(model: nn.Module, config: PruneConfig, max_sparsity: float | None = None) -> dict[str, nn.Module]:
    """Reject, before any training, a config that cannot apply to ``model`` (clear message)."""
    config.validate()
    pat = parse_pattern(config.pattern)
    layers = select_layers(model, config)
    if not layers:
        raise ValueError("prune: no layer left to prune (all Linear/Conv2d layers are skipped)")
    target = config.sparsity if max_sparsity is None else max_sparsity
    all_names = [n for n, m in model.named_modules() if isinstance(m, PRUNABLE)]
    for name, module in layers.items():
        n_rows, k = module.weight.shape[0], int(np.prod(module.weight.shape[1:]))
        where = f"pattern '{pat.name}' does not fit layer '{name}' (weight matrix {n_rows}x{k})"
        if pat.kind == "block" and (pat.rows > n_rows or pat.cols > k):
            raise ValueError(f"{where}: the {pat.rows}x{pat.cols} block is larger than the matrix")
        if pat.kind == "nm":
            if pat.m > k:
                raise ValueError(f"{where}: M={pat.m} is larger than K={k}")
            if target < 1 - pat.n / pat.m - 1e-9:
                raise ValueError(f"{where}: {pat.name} always prunes {1 - pat.n / pat.m:.0%}, above the asked {target:.0%}")
        if pat.kind == "channel":
            if name == all_names[-1]:
                raise ValueError(f"{where}: the output layer's channels are the model's outputs; skip it")
            if int(round(target * n_rows)) >= n_rows:
                raise ValueError(f"{where}: sparsity {target} would remove every one of its {n_rows} filters")
        if pat.kind == "dense" and target > 0:
            raise ValueError("pattern 'dense' admits no sparsity")
    return layers


def default_loss(model: nn.Module, batch) -> torch.Tensor:
    """Cross-entropy on labelled batches: the loss gradient criteria use unless told otherwise."""
    x, y = B.split_batch(batch)
    if y is None:
        raise ValueError("gradient criteria need labelled batches or a loss_fn(model, batch)")
    device = B.device_of(model)
    return nn.functional.cross_entropy(B.call(model, B.to_device(x, device)), y.to(device))


def weight_param(module: nn.Module) -> torch.Tensor:
    """The leaf tensor that holds the weight (the parametrization's original when masked)."""
    if get_mask(module) is not None:
        return module.parametrizations.weight.original
    return module.weight


def gradient_stats(model, layers: dict, data, loss_fn: Callable, batches: int) -> dict[str, dict]:
    """Per layer: sum of squared gradients, sum of |w * g|, over ``batches`` batches (summed over ranks)."""
    stats = {n: {"grad_sq": torch.zeros_like(weight_param(m)), "taylor": torch.zeros_like(weight_param(m)),
                 "batches": 0} for n, m in layers.items()}
    was_training = model.training
    model.eval()  # BatchNorm statistics must not move while we only measure
    count = 0
    for batch in B.rank_batches(data, batches):
        model.zero_grad(set_to_none=True)
        loss_fn(model, batch).backward()
        for name, module in layers.items():
            g = weight_param(module).grad
            if g is None:
                continue
            w = module.weight.detach()
            stats[name]["grad_sq"] += g.detach() ** 2
            stats[name]["taylor"] += (w * g.detach()).abs()
        count += 1
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    if count == 0:
        raise ValueError("prune: the gradient criterion got no batch from the training data")
    _all_reduce_stats(stats)
    total = _all_reduce_count(count)
    for s in stats.values():
        s["batches"] = total
    return stats


def _all_reduce_stats(stats):
    rank, size = B.world()
    if size > 1:
        import torch.distributed as dist

        for s in stats.values():
            dist.all_reduce(s["grad_sq"])
            dist.all_reduce(s["taylor"])


def _all_reduce_count(count: int) -> int:
    rank, size = B.world()
    if size == 1:
        return count
    import torch.distributed as dist

    t = torch.tensor([count], dtype=torch.float64)
    dist.all_reduce(t)
    return int(t.item())


def layer_scores(model, layers: dict, config: PruneConfig, data=None, loss_fn=None) -> dict[str, torch.Tensor]:
    """Criterion scores per layer (CPU float64), already-pruned weights scored below all others."""
    criterion = CRITERIA.get(config.criterion)
    stats = None
    if C.needs_grad(criterion):
        if data is None:
            raise ValueError(f"prune: criterion '{config.criterion}' needs training data for gradients")
        stats = gradient_stats(model, layers, data, loss_fn or default_loss, config.grad_batches)
    elif C.needs_inputs(criterion):
        if data is None:
            raise ValueError(f"prune: criterion '{config.criterion}' needs calibration data (the data argument)")
        from spiralkit.compress.calibration import collect

        stats = collect(model, layers, data, config.calibration_batches,
                        gram=bool(getattr(criterion, "needs_gram", False)))
    generator = torch.Generator().manual_seed(config.seed)
    scores = {}
    for name, module in layers.items():
        s = criterion(module.weight.detach(), None if stats is None else stats[name], generator)
        s = s.detach().double().cpu()
        old = get_mask(module)
        if old is not None:
            s = torch.where(old.cpu(), s, s.min() - 1.0)
        scores[name] = s
    return scores


def uniform_allocation(scores: dict, sparsity: float) -> dict[str, float]:
    return {name: sparsity for name in scores}


def global_allocation(scores: dict, sparsity: float, cap: float) -> dict[str, float]:
    """Per-layer sparsities from one threshold over all layers' scores. Each layer is capped at
    ``cap`` (no layer removed outright); the threshold rises until the capped total reaches the
    target, so what a capped layer cannot give is taken from the others."""
    sorted_scores = {name: torch.sort(s.flatten()).values for name, s in scores.items()}
    sizes = {name: s.numel() for name, s in sorted_scores.items()}
    want = sparsity * sum(sizes.values())

    def pruned_at(threshold) -> dict[str, int]:
        return {name: min(int(torch.searchsorted(s, threshold, right=True)), int(cap * sizes[name]))
                for name, s in sorted_scores.items()}

    candidates = torch.unique(torch.cat(list(sorted_scores.values())))
    lo, hi = 0, len(candidates) - 1
    while lo < hi:  # smallest threshold whose capped count reaches the target
        mid = (lo + hi) // 2
        if sum(pruned_at(candidates[mid]).values()) >= want:
            hi = mid
        else:
            lo = mid + 1
    counts = pruned_at(candidates[lo]) if want > 0 else {name: 0 for name in sizes}
    return {name: counts[name] / sizes[name] for name in sizes}


def apply_sparsities(layers: dict, scores: dict, pattern: str, allocation: dict[str, float],
                     criterion=None) -> None:
    """Mask every layer at its allocated sparsity, through ``pattern_mask`` (one definition);
    per row when the criterion compares scores per row."""
    from spiralkit.compress.wanda import criterion_mask

    for name, module in layers.items():
        keep = criterion_mask(criterion, scores[name], pattern, allocation[name])
        set_mask(module, torch.from_numpy(keep))


def broadcast_masks(layers: dict) -> None:
    rank, size = B.world()
    if size == 1:
        return
    import torch.distributed as dist

    for module in layers.values():
        for p in module.parametrizations.weight:
            dist.broadcast(p.mask, src=0)
        # Kept values follow the mask (identical anyway under DDP; cheap insurance).
        dist.broadcast(module.parametrizations.weight.original.data, src=0)


def prune(model: nn.Module, config: PruneConfig, data=None, *, loss_fn: Callable | None = None,
          val_data=None, evaluate: Callable | None = None, example_inputs=None,
          primary_metric: str = "accuracy") -> PruneResult:
    """Prune ``model`` in place to ``config.sparsity`` in the selected layers.

    ``data``: training batches, for gradient criteria, evolutionary recovery and the channel
    dependency graph (its first batch is the example input unless ``example_inputs`` is given).
    ``loss_fn(model, batch)``: the loss gradient criteria use (default cross-entropy).
    ``val_data``/``evaluate``: what ranks candidates in the evolutionary allocation.
    """
    layers = check_model(model, config)
    sizes = {n: m.weight.numel() for n, m in layers.items()}
    pat = parse_pattern(config.pattern)
    criterion = CRITERIA.get(config.criterion)
    if C.reconstructs(criterion):
        return _prune_reconstructing(model, layers, config, data, sizes)
    scores = layer_scores(model, layers, config, data, loss_fn)
    if config.allocation == "uniform":
        allocation = uniform_allocation(scores, config.sparsity)
    elif config.allocation == "global":
        allocation = global_allocation(scores, config.sparsity, config.max_layer_sparsity)
    else:
        from spiralkit.compress.evolution import evolutionary_allocation

        allocation = evolutionary_allocation(
            model, layers, scores, config, data, val_data, evaluate, loss_fn, example_inputs, primary_metric
        )
    if pat.kind == "channel":
        from spiralkit.compress.channel import prune_channels

        if example_inputs is None:
            if data is None:
                raise ValueError("prune: the channel pattern needs data or example_inputs to trace the model")
            example_inputs = B.split_batch(next(iter(data)))[0]
        removed = prune_channels(model, layers, scores, allocation, example_inputs)
        return PruneResult(layer_sparsity=removed, sparsity=_mean(removed, sizes))
    apply_sparsities(layers, scores, pat.name, allocation, criterion)
    return _finish(layers, sizes)


def _finish(layers: dict, sizes: dict) -> PruneResult:
    broadcast_masks(layers)
    reached = {n: float((m.weight == 0).double().mean()) for n, m in layers.items()}
    return PruneResult(layer_sparsity=reached, sparsity=_mean(reached, sizes))


def _prune_reconstructing(model, layers: dict, config: PruneConfig, data, sizes: dict) -> PruneResult:
    """Criteria that update weights (sparsegpt): layer groups in forward order, uniform sparsity
    (each layer's mask is chosen while its weights change, so there is no global ranking)."""
    if config.allocation != "uniform":
        raise ValueError(f"prune.allocation: criterion '{config.criterion}' prunes layer by layer and needs "
                         f"allocation = 'uniform', got '{config.allocation}'")
    if data is None:
        raise ValueError(f"prune: criterion '{config.criterion}' needs calibration data (the data argument)")
    from spiralkit.compress.sparsegpt import prune_sequential

    prune_sequential(model, layers, data, config.pattern, config.sparsity,
                     batches=config.calibration_batches, damp=config.damp)
    return _finish(layers, sizes)


def _mean(per_layer: dict, sizes: dict) -> float:
    total = sum(sizes.values())
    return sum(per_layer.get(n, 0.0) * sizes[n] for n in sizes) / total if total else 0.0
