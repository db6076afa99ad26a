"""Importance criteria, registered by name: ``score(weight, stats, generator) -> scores``.

Scores have the weight's shape; larger means more important. Every mask is then built by
``spiralkit.pattern_mask(scores, pattern, sparsity)``, the one definition of the patterns.
What a criterion needs is declared by attributes on it:

- ``needs_grad = True``: ``stats`` holds, accumulated over ``PruneConfig.grad_batches`` batches,
  ``grad_sq`` (sum of squared gradients), ``taylor`` (sum of |w * g| per batch) and ``batches``;
- ``needs_inputs = True``: ``stats`` holds calibration activations of the layer's input over
  ``PruneConfig.calibration_batches`` batches of the ``data`` argument (``calibration.py``):
  ``input_sq`` (groups, K) column sums of squares and ``rows``; ``needs_gram`` adds ``gram``
  (groups, K, K) = X^T X;
- ``per_row = True``: scores are compared within each output row (``wanda.per_row_mask``);
- ``reconstructs = True``: the criterion also updates the kept weights; ``spiralkit.prune``
  then hands the layers to its layer-by-layer path (``sparsegpt.prune_sequential``).

Registered here: magnitude, weight_grad_ratio, taylor, l1_filter, l2_filter, random; in their own
files: ``wanda`` (wanda.py) and ``sparsegpt`` (sparsegpt.py). Add your own with
``@CRITERIA.register("name")``.
"""

from __future__ import annotations

import torch

from spiralkit.compress.registry import CRITERIA

_EPS = 1e-12


def needs_grad(criterion) -> bool:
    return bool(getattr(criterion, "needs_grad", False))


def needs_inputs(criterion) -> bool:
    return bool(getattr(criterion, "needs_inputs", False))


def reconstructs(criterion) -> bool:
    return bool(getattr(criterion, "reconstructs", False))


def _gradient(fn):
    fn.needs_grad = True
    return fn


def _rows(norms: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Broadcast one score per output row (filter / neuron) to the weight's shape."""
    return norms.reshape(-1, *([1] * (weight.dim() - 1))).expand_as(weight).clone()


@CRITERIA.register("magnitude")
def magnitude(weight, stats=None, generator=None):
    """|w|: the classic, and what ``prune_to_pattern`` uses."""
    return weight.detach().abs()


@CRITERIA.register("weight_grad_ratio")
@_gradient
def weight_grad_ratio(weight, stats, generator=None):
    """|w| / RMS(dL/dw): large weights the loss is insensitive to are *kept*, as the literature
    defines it; RMS over batches keeps one noisy batch from dominating."""
    rms = (stats["grad_sq"] / stats["batches"]).sqrt()
    return weight.detach().abs() / (rms + _EPS)


@CRITERIA.register("taylor")
@_gradient
def taylor(weight, stats, generator=None):
    """|w * dL/dw| accumulated over batches: first-order estimate of the loss change if removed."""
    return stats["taylor"] / stats["batches"]


@CRITERIA.register("l1_filter")
def l1_filter(weight, stats=None, generator=None):
    """L1 norm of each output filter / neuron (Li et al. 2017), for structured pruning."""
    w = weight.detach()
    return _rows(w.reshape(w.shape[0], -1).abs().sum(1), w)


@CRITERIA.register("l2_filter")
def l2_filter(weight, stats=None, generator=None):
    """L2 norm of each output filter / neuron."""
    w = weight.detach()
    return _rows(w.reshape(w.shape[0], -1).norm(dim=1), w)


@CRITERIA.register("random")
def random(weight, stats=None, generator=None):
    """Uniform random scores: the baseline every other criterion must beat."""
    return torch.rand(weight.shape, generator=generator).to(weight.device)


# The activation-aware criteria live in their own files; importing them registers them.
from spiralkit.compress import sparsegpt as _sparsegpt  # noqa: E402,F401
from spiralkit.compress import wanda as _wanda  # noqa: E402,F401
