"""The spiral's control: one-shot pruning to the target + fine-tuning on the same budget.

From the model the spiral started from, prune once to ``target_sparsity`` (same criterion,
pattern, allocation and calibration data), then train for as many optimiser steps as the spiral's
rounds took in all, with the spiral's loss and original teacher, and the schedule of its recovery
round (the whole fine-tune is recovery at the target). The only difference left is pruning at
once instead of gradually, so the gap between the two is what the rounds buy.
"""

from __future__ import annotations

import dataclasses
import time

from spiralkit.compress import batches as B
from spiralkit.compress.distill import copy_model, distill


def one_shot(run) -> dict:
    """Run the baseline for the spiral ``run`` (a ``spiral._Run`` whose rounds are done) and
    return its record: metrics, sparsity, ``train_steps`` and ``wall_s``."""
    cfg = run.config
    steps = run.spent_steps()
    if not steps:
        raise ValueError("baseline: the spiral's step count is unknown (training data without a length); "
                         "set round_steps so the budget is counted in steps")
    started = time.perf_counter()
    student = copy_model(run.original)
    for p in student.parameters():
        p.requires_grad_(True)
    student.train()
    run.prune_to(student, cfg.target_sparsity, run.original, cfg.rounds + 1)
    distill_cfg = dataclasses.replace(cfg.distill, epochs=1, max_batches=0, seed=cfg.distill.seed + cfg.rounds + 1,
                                      lr_schedule=cfg.recovery_lr_schedule or cfg.distill.lr_schedule)
    result = distill(student, run.original, distill_cfg, B.StepBudget(run.train_data, steps), None,
                     progress=run.progress, desc="one-shot baseline")
    record = {"method": "one-shot", "target_sparsity": cfg.target_sparsity, "train_steps": steps,
              "train_loss": list(result.losses)}
    record.update(run.measure(student, started))
    return record
