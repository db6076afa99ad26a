"""Spiral compression: rounds of pruning and knowledge distillation (the training side; torch).

    import spiralkit
    from spiralkit.compress import SpiralConfig, PruneConfig, DistillConfig

    result = spiralkit.compress(model, SpiralConfig(target_sparsity=0.95), train_loader, val_loader)
    spiralkit.prune(model, PruneConfig(criterion="taylor", pattern="4x1", sparsity=0.8), train_loader)
    spiralkit.distill(student, teacher, DistillConfig(loss="soft", temperature=4), train_loader, val_loader)

``spiralkit.compress`` is this module and the verb at once: calling the module calls
:func:`spiralkit.compress.spiral.compress`. Criteria, schedules and losses live in string-keyed
registries (``CRITERIA``, ``SCHEDULES``, ``LOSSES``) that recipes name and users extend.
See ``distill.py`` for the data and evaluation conventions (embedding models included).
"""

from __future__ import annotations

import sys
import types

from spiralkit.compress import criteria as _criteria  # noqa: F401  (fills CRITERIA)
from spiralkit.compress import losses as _losses  # noqa: F401  (fills LOSSES)
from spiralkit.compress import schedules as _schedules  # noqa: F401  (fills SCHEDULES)
from spiralkit.compress.checkpoint import load_model, save_model
from spiralkit.compress.config import DistillConfig, EvolutionConfig, PruneConfig, SpiralConfig
from spiralkit.compress.distill import DistillResult, distill, embedding_metrics
from spiralkit.compress.latency import measure_latency
from spiralkit.compress.masks import apply_masks, get_mask, masks_of, strip_masks
from spiralkit.compress.metrics import classification_metrics, count_flops, packed_nbytes
from spiralkit.compress.pruner import PruneResult, prune
from spiralkit.compress.registry import CRITERIA, LOSSES, SCHEDULES, Registry
from spiralkit.compress.spiral import SpiralResult
from spiralkit.compress.spiral import compress as compress_model

__all__ = [
    "CRITERIA", "LOSSES", "SCHEDULES", "Registry",
    "DistillConfig", "EvolutionConfig", "PruneConfig", "SpiralConfig",
    "DistillResult", "PruneResult", "SpiralResult",
    "compress_model", "distill", "prune",
    "apply_masks", "get_mask", "masks_of", "strip_masks", "load_model", "save_model",
    "classification_metrics", "embedding_metrics", "count_flops", "packed_nbytes", "measure_latency",
]


class _CallableModule(types.ModuleType):
    """Makes ``spiralkit.compress(model, config, ...)`` work on the subpackage itself."""

    def __call__(self, *args, **kwargs):
        return compress_model(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
