"""How well a compressed encoder's embeddings stand in for its teacher's: cosine and retrieval.

``agreement(student, teacher)`` compares two (sentences, dim) embedding matrices row by row:
mean / min / 5th-percentile cosine, and top-1 **retrieval agreement** -- for each sentence as a
query against all the others, is the student's nearest neighbour the teacher's? -- plus the mean
top-5 overlap. ``agreement_evaluator(teacher, sets)`` makes an ``evaluate(model, name)`` for
``spiralkit.compress`` / ``spiralkit.distill`` over named lists of batches (e.g. "val", "test"),
the teacher's embeddings computed once.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn

from spiralkit.compress import batches as B


@torch.no_grad()
def embed(model: nn.Module, batches: Iterable) -> torch.Tensor:
    """The model's outputs on every batch, concatenated in order (float32, on the CPU)."""
    was_training = model.training
    model.eval()
    device = B.device_of(model)
    try:
        out = [B.call(model, B.to_device(B.split_batch(b)[0], device)).float().cpu() for b in batches]
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("embed: the data has no batch")
    return torch.cat(out)


def agreement(student: torch.Tensor, teacher: torch.Tensor) -> dict[str, float]:
    """Row i of both = sentence i. See the module docstring for the metrics."""
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(f"student/teacher: expected equal 2-D shapes, got {tuple(student.shape)} and {tuple(teacher.shape)}")
    if student.shape[0] < 2:
        raise ValueError("student/teacher: retrieval needs at least 2 sentences")
    s = nn.functional.normalize(student.double(), dim=1)
    t = nn.functional.normalize(teacher.double(), dim=1)
    cos = (s * t).sum(1)
    eye = torch.eye(s.shape[0], dtype=torch.bool)
    sim_s = (s @ s.T).masked_fill(eye, -math.inf)
    sim_t = (t @ t.T).masked_fill(eye, -math.inf)
    k = min(5, s.shape[0] - 1)
    top_s, top_t = sim_s.topk(k, dim=1).indices, sim_t.topk(k, dim=1).indices
    overlap = (top_s[:, :, None] == top_t[:, None, :]).any(2).double().mean(1)
    return {
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "p05_cosine": float(torch.quantile(cos, 0.05)),
        "retrieval_top1": float((sim_s.argmax(1) == sim_t.argmax(1)).double().mean()),
        "retrieval_top5_overlap": float(overlap.mean()),
        "sentences": int(s.shape[0]),
    }


def agreement_evaluator(teacher: nn.Module, sets: dict[str, list]) -> Callable:
    """``evaluate(model, name) -> agreement`` on ``sets[name]`` (a fixed list of batches); pass
    the names as ``val_data`` / ``test_data`` to ``spiralkit.compress``."""
    targets = {name: embed(teacher, batches) for name, batches in sets.items()}

    def evaluate(model: nn.Module, name: str) -> dict[str, float]:
        if name not in sets:
            raise ValueError(f"evaluate: unknown set '{name}'; known: {', '.join(sets)}")
        return agreement(embed(model, sets[name]), targets[name])

    return evaluate
