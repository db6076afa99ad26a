"""How the compression side reads data and calls models, in one place.

A dataset is any re-iterable of batches (a DataLoader, a list). A batch is ``(inputs, labels)``
or just ``inputs`` (e.g. for embedding distillation, which needs no labels). ``inputs`` is a
tensor (``model(x)``), a tuple/list (``model(*x)``) or a dict (``model(**x)``). The model must
return a tensor: logits, or an embedding for ``loss = "embedding"``.
Under ``torch.distributed`` each rank takes every world_size-th batch, all ranks the same count.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch


def split_batch(batch: Any) -> tuple[Any, "torch.Tensor | None"]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2 and torch.is_tensor(batch[1]):
        return batch[0], batch[1]
    return batch, None


def to_device(obj: Any, device: torch.device) -> Any:
    if torch.is_tensor(obj):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def call(model: torch.nn.Module, inputs: Any) -> torch.Tensor:
    if isinstance(inputs, dict):
        out = model(**inputs)
    elif isinstance(inputs, (tuple, list)):
        out = model(*inputs)
    else:
        out = model(inputs)
    if not torch.is_tensor(out):
        raise TypeError(
            f"model output: expected a tensor (logits or an embedding), got {type(out).__name__}; "
            "wrap the model so that forward returns one"
        )
    return out


def device_of(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def world() -> tuple[int, int]:
    """(rank, world_size); (0, 1) outside torch.distributed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_batches(data: Iterable, max_batches: int = 0) -> Iterator:
    """This rank's share of ``data``, at most ``max_batches`` (0 = all) per rank. Every rank gets
    the same number of batches, which DDP needs to avoid a hang at the last all-reduce."""
    rank, size = world()
    try:
        total = len(data)  # type: ignore[arg-type]
    except TypeError:
        total = None
    per_rank = None if total is None else total // size
    if max_batches:
        per_rank = max_batches if per_rank is None else min(per_rank, max_batches)
    taken = 0
    for index, batch in enumerate(data):
        if per_rank is not None and taken >= per_rank:
            break
        if index % size == rank:
            taken += 1
            yield batch


def count_batches(data: Iterable, max_batches: int = 0) -> "int | None":
    try:
        per_rank = len(data) // world()[1]  # type: ignore[arg-type]
    except TypeError:
        return max_batches or None
    return min(per_rank, max_batches) if max_batches else per_rank


class StepBudget:
    """``data`` cycled to exactly ``steps`` batches per rank per pass: a round's budget in
    optimiser steps whatever the dataset's length (one pass = the whole budget, so a per-call
    learning-rate schedule spans exactly ``steps``). ``len`` counts every rank's batches, as
    ``rank_batches`` expects."""

    def __init__(self, data: Iterable, steps: int):
        if steps < 1:
            raise ValueError(f"steps: expected >= 1, got {steps}")
        self.data, self.steps = data, steps

    def __len__(self) -> int:
        return self.steps * world()[1]

    def __iter__(self) -> Iterator:
        wanted, given = len(self), 0
        while given < wanted:
            before = given
            for batch in self.data:
                yield batch
                given += 1
                if given == wanted:
                    return
            if given == before:
                raise ValueError("the training data yielded no batch")


def reseed(data: Iterable, seed: int) -> None:
    """Put torch's global RNG and ``data``'s shuffling generator (a DataLoader's, if it has one)
    into a state that depends on ``seed`` alone, so a round replays identically after a resume."""
    torch.manual_seed(seed)
    for holder in (data, getattr(data, "sampler", None)):
        generator = getattr(holder, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed)
