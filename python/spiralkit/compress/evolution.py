"""Evolutionary (genetic) search of per-layer sparsities.

An individual is a vector of per-layer sparsities whose size-weighted mean is the target (every
candidate is repaired onto that constraint). Fitness = primary metric after a short recovery
(a few fine-tuning batches) - cost_weight * relative cost (FLOPs, or measured latency on
spiralkit's kernels), so that, at equal parameter
sparsity, allocations that remove more compute win. Uniform and global allocations seed the
population; children come from uniform crossover and Gaussian mutation; the elite survive.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from spiralkit.compress import batches as B
from spiralkit.compress.config import DistillConfig, PruneConfig
from spiralkit.compress.masks import set_mask
from spiralkit.patterns import pattern_mask


def repair(vector: np.ndarray, sizes: np.ndarray, target: float, cap: float) -> np.ndarray:
    """Scale densities so the size-weighted sparsity equals ``target`` (bisection on the scale)."""
    density = np.clip(1.0 - vector, 1.0 - cap, 1.0)
    want_kept = (1.0 - target) * sizes.sum()
    lo, hi = 0.0, 1.0 / max(density.min(), 1e-9)
    for _ in range(60):
        mid = (lo + hi) / 2
        kept = (np.clip(mid * density, 1.0 - cap, 1.0) * sizes).sum()
        lo, hi = (mid, hi) if kept < want_kept else (lo, mid)
    return 1.0 - np.clip(lo * density, 1.0 - cap, 1.0)


def _fitness(model, names, scores, pattern, vector, config: PruneConfig, data, val_data, evaluate,
             loss_fn, example_inputs, dense_cost, primary) -> float:
    from spiralkit.compress.distill import distill
    from spiralkit.compress.metrics import count_flops

    candidate = copy.deepcopy(model)
    modules = dict(candidate.named_modules())
    for name, s in zip(names, vector):
        if pattern == "channel":  # rank channels as elements: close enough to choose an allocation
            keep = pattern_mask(scores[name].numpy(), "channel", float(s))
        else:
            keep = pattern_mask(scores[name].numpy(), pattern, float(s))
        set_mask(modules[name], torch.from_numpy(keep))
    evo = config.evolution
    recovery = DistillConfig(loss="task", epochs=1, max_batches=evo.recovery_batches, lr=1e-3, seed=config.seed)
    if loss_fn is None:
        distill(candidate, None, recovery, data, progress=False)
    else:  # a caller-defined loss (e.g. embedding distillation): a few plain steps with it
        opt = torch.optim.Adam(candidate.parameters(), lr=1e-3)
        candidate.train()
        for batch in B.rank_batches(data, evo.recovery_batches):
            opt.zero_grad()
            loss_fn(candidate, batch).backward()
            opt.step()
    metrics = evaluate(candidate, _limited(val_data, evo.eval_batches))
    if evo.cost == "latency":
        from spiralkit.compress.latency import spiralkit_latency

        measured = spiralkit_latency(candidate, example_inputs, warmup=1, repeats=5)
        if measured is None:
            raise ImportError("evolution.cost = 'latency' needs spiralkit's native extension")
        cost = measured["median_ms"] / dense_cost
    else:
        cost = count_flops(candidate, example_inputs) / dense_cost
    return float(metrics[primary]) - evo.cost_weight * cost


class _limited:
    def __init__(self, data, n):
        self.data, self.n = data, n

    def __iter__(self):
        for i, batch in enumerate(self.data):
            if i >= self.n:
                break
            yield batch

    def __len__(self):
        try:
            return min(len(self.data), self.n)
        except TypeError:
            return self.n


def evolutionary_allocation(model, layers: dict, scores: dict, config: PruneConfig, data, val_data,
                            evaluate=None, loss_fn=None, example_inputs=None, primary: str = "accuracy"):
    from spiralkit.compress.metrics import classification_metrics, count_flops
    from spiralkit.compress.pruner import global_allocation

    if data is None or val_data is None:
        raise ValueError("prune: the evolutionary allocation needs training data and val_data")
    evaluate = evaluate or classification_metrics
    if example_inputs is None:
        example_inputs = B.split_batch(next(iter(data)))[0]
    example_inputs = B.to_device(example_inputs, B.device_of(model))
    evo = config.evolution
    names = list(layers)
    sizes = np.array([layers[n].weight.numel() for n in names], dtype=np.float64)
    target, cap = config.sparsity, config.max_layer_sparsity
    if evo.cost == "latency":
        from spiralkit.compress.latency import torch_latency

        dense_cost = torch_latency(model, example_inputs, warmup=1, repeats=5)["median_ms"]
    else:
        dense_cost = max(count_flops(model, example_inputs, sparse=False), 1)
    rng = np.random.default_rng(config.seed)
    glob = global_allocation(scores, target, cap)
    population = [np.full(len(names), target), repair(np.array([glob[n] for n in names]), sizes, target, cap)]
    while len(population) < evo.population:
        population.append(repair(np.clip(target + rng.normal(0, 0.15, len(names)), 0, cap), sizes, target, cap))

    def score(vec):
        return _fitness(model, names, scores, config.pattern, vec, config, data, val_data, evaluate, loss_fn,
                        example_inputs, dense_cost, primary)

    fitness = [score(v) for v in population]
    for _ in range(evo.generations):
        order = np.argsort(fitness)[::-1]
        elite = [population[i] for i in order[: evo.elite]]
        elite_fit = [fitness[i] for i in order[: evo.elite]]
        parents = [population[i] for i in order[: max(2, len(order) // 2)]]
        children = []
        while len(children) < evo.population - evo.elite:
            a, b = rng.choice(len(parents), 2, replace=False)
            child = np.where(rng.random(len(names)) < 0.5, parents[a], parents[b])
            child = child + rng.normal(0, evo.mutation, len(names))
            children.append(repair(np.clip(child, 0, cap), sizes, target, cap))
        population = elite + children
        fitness = elite_fit + [score(v) for v in children]
    best = population[int(np.argmax(fitness))]
    best = _agree(best)
    return {n: float(s) for n, s in zip(names, best)}


def _agree(vector: np.ndarray) -> np.ndarray:
    """Under torch.distributed rank 0's choice wins (ranks evaluate on different shards)."""
    rank, size = B.world()
    if size == 1:
        return vector
    import torch.distributed as dist

    holder = [vector.tolist()]
    dist.broadcast_object_list(holder, src=0)
    return np.array(holder[0])
