"""``compress(model, SpiralConfig, train_data, val_data, teacher=None) -> SpiralResult``.

Round r: prune the current student to the scheduled sparsity, then distill it from the teacher
(the original model, the previous round's student, or the best-scoring model so far) for the
round's budget (epochs, or optimiser steps: ``SpiralConfig.round_steps``). Every round is
evaluated, recorded and checkpointed; ``resume=True`` restarts after the last finished round.
Each round starts by reseeding torch and the training loader from (seed, round), so a run killed
at any point and resumed ends with the same weights as one never interrupted. The result is the
sparsest round whose primary metric is within ``tolerance`` of the uncompressed model's (round 0).
With ``baseline = true`` the one-shot baseline (``baseline.py``) runs after the rounds.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.compress import checkpoint as ckpt
from spiralkit.compress import metrics as M
from spiralkit.compress import quantize as Q
from spiralkit.compress import report
from spiralkit.compress.config import DistillConfig, SpiralConfig
from spiralkit.compress.distill import copy_model, default_evaluate, distill
from spiralkit.compress.losses import needs_teacher
from spiralkit.compress.pruner import check_model, prune
from spiralkit.compress.registry import LOSSES
from spiralkit.patterns import parse_pattern

STATE_VERSION = 2
ROUNDS_VERSION = 2  # rounds.json: {"version", "primary_metric", "kept_round", "rounds", "baseline"}


@dataclass
class SpiralResult:
    model: nn.Module  # the kept round's student (masks on)
    records: list[dict] = field(default_factory=list)  # round 0 = the uncompressed model
    best_round: int = 0
    output_dir: "Path | None" = None
    baseline: "dict | None" = None  # the one-shot + fine-tune run on the same budget (config.baseline)

    @property
    def best(self) -> dict:
        return next(r for r in self.records if r["round"] == self.best_round)

    def table(self, primary: str = "accuracy") -> str:
        rows = self.records + ([dict(self.baseline, round="one-shot")] if self.baseline else [])
        return report.table(rows, primary, self.best_round, Q.table_columns(rows, primary))


def _batch_size(inputs) -> int:
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return int(first.shape[0]) if hasattr(first, "shape") and first.dim() > 0 else 1


def _is_main() -> bool:
    return B.world()[0] == 0


def _distill_loss(teacher: nn.Module, config: DistillConfig) -> Callable:
    """loss_fn(model, batch) for gradient criteria: the round's own objective, so gradient
    criteria also work for unlabeled (embedding) data."""
    loss = LOSSES.get(config.loss)

    def loss_fn(model, batch):
        x, y = B.split_batch(batch)
        device = B.device_of(model)
        x = B.to_device(x, device)
        y = None if y is None else y.to(device)
        t_out = None
        if needs_teacher(loss):
            with torch.no_grad():
                t_out = B.call(teacher, x)
        return loss(B.call(model, x), t_out, y, config)

    return loss_fn


class _Run:
    """State of one spiral run; a class only so resume and the loop share it."""

    def __init__(self, model, config: SpiralConfig, train_data, val_data, teacher, evaluate, test_data,
                 progress):
        self.model, self.config = model, config
        self.train_data, self.val_data, self.test_data = train_data, val_data, test_data
        self.progress = progress
        self.primary = config.distill.primary_metric
        self.out = Path(config.output_dir)
        self.original = teacher if teacher is not None else copy_model(model)
        self.evaluate = evaluate or default_evaluate(config.distill, self.original)
        self.layers = check_model(model, config.prune, max_sparsity=config.target_sparsity)
        self.reference = M.size_reference(model, list(self.layers))
        self.example = B.to_device(B.split_batch(next(iter(train_data)))[0], B.device_of(model))
        self.records: list[dict] = []
        self.best_round = 0
        self.best_model = model
        self.top_teacher = (self.original, float("-inf"))  # (model, metric) for teacher = "best"
        self.l1_steps = 0
        self.baseline: dict | None = None

    # --- measurement -------------------------------------------------------------------------
    def measure(self, model: nn.Module, started: float) -> dict:
        metrics = dict(self.evaluate(model, self.val_data))
        if self.primary not in metrics:
            raise ValueError(
                f"distill.primary_metric '{self.primary}' is not among the evaluation's metrics {sorted(metrics)}"
            )
        record = {"metrics": metrics}
        if self.test_data is not None:
            test = self.evaluate(model, self.test_data)
            record["test_metrics"] = dict(test)
            if "accuracy" in test:
                record["test_accuracy"] = test["accuracy"]
        record.update(M.sparsity_report(model, self.reference))
        record["packed_bytes"] = M.packed_nbytes(model, self.config.prune.pattern)
        # Per example, so rounds and runs with other batch sizes compare directly.
        record["flops"] = M.count_flops(model, self.example) // _batch_size(self.example)
        record["wall_s"] = time.perf_counter() - started
        return record

    def round_record(self, round_index: int, sparsity_goal: float, started: float, losses=(),
                     steps: "int | None" = 0) -> dict:
        record = {"round": round_index, "target_sparsity": sparsity_goal, "train_steps": steps,
                  "train_loss": list(losses)}
        record.update(self.measure(self.model, started))
        return record

    def spent_steps(self) -> "int | None":
        """Optimiser steps the rounds (and L1 pre-training) took; None if the data has no length."""
        steps = [self.l1_steps] + [r["train_steps"] for r in self.records[1:]]
        return None if any(s is None for s in steps) else sum(steps)

    # --- checkpoints -------------------------------------------------------------------------
    def rounds_json(self) -> dict:
        return {"version": ROUNDS_VERSION, "primary_metric": self.primary, "kept_round": self.best_round,
                "spiral_steps": self.spent_steps(), "rounds": self.records, "baseline": self.baseline}

    def save(self) -> None:
        if not _is_main():
            return
        ck = self.out / "checkpoint"
        ckpt.save_model(self.model, ck / "student.safetensors")
        ckpt.save_model(self.best_model, ck / "best.safetensors")
        if self.top_teacher[0] is not self.original:
            ckpt.save_model(self.top_teacher[0], ck / "teacher_best.safetensors")
        ckpt.save_json(self.rounds_json(), self.out / "rounds.json")
        # The state file is written last: it is the commit point of the round.
        ckpt.save_json({"version": STATE_VERSION, "config": self.config.to_dict(), "records": self.records,
                        "best_round": self.best_round, "top_teacher_metric": self.top_teacher[1],
                        "top_teacher_saved": self.top_teacher[0] is not self.original,
                        "l1_steps": self.l1_steps, "baseline": self.baseline}, ck / "state.json")

    def load(self) -> bool:
        ck = self.out / "checkpoint"
        if not (ck / "state.json").exists():
            return False
        state = ckpt.load_json(ck / "state.json")
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise ckpt.FormatError(f"{ck / 'state.json'}: unknown checkpoint version {version}")
        if state["config"] != self.config.to_dict():
            raise ValueError(f"--resume: the recipe differs from the one {ck} was made with; use a new output_dir")
        self.records = state["records"]
        self.best_round = state["best_round"]
        self.l1_steps = state["l1_steps"]
        self.baseline = state["baseline"]
        # The student may have been channel-pruned, so copies are made after it is loaded.
        ckpt.load_model(self.model, ck / "student.safetensors")
        self.best_model = copy.deepcopy(self.model)
        ckpt.load_model(self.best_model, ck / "best.safetensors")
        if state["top_teacher_saved"]:
            top = copy_model(self.model)
            ckpt.load_model(top, ck / "teacher_best.safetensors")
            self.top_teacher = (top, state["top_teacher_metric"])
        else:
            self.top_teacher = (self.original, state["top_teacher_metric"])
        return True

    # --- the loop ----------------------------------------------------------------------------
    def pick_teacher(self, previous: nn.Module) -> nn.Module:
        return {"original": self.original, "previous": previous, "best": self.top_teacher[0]}[self.config.teacher]

    def within_tolerance(self, record: dict) -> bool:
        return record["metrics"][self.primary] >= self.records[0]["metrics"][self.primary] - self.config.tolerance

    def reseed(self, step: int) -> None:
        B.reseed(self.train_data, self.config.seed * 1000 + step)

    def run(self, resume: bool) -> SpiralResult:
        from tqdm.auto import tqdm

        cfg = self.config
        resumed = resume and self.load()
        if not resumed:
            started = time.perf_counter()
            if cfg.l1_epochs:
                self.reseed(0)
                self.l1_pretrain()
            self.records = [self.round_record(0, 0.0, started)]
            self.top_teacher = (self.original, self.records[0]["metrics"][self.primary])
            self.best_model = copy.deepcopy(self.model)
            self.save()
        goals = cfg.round_sparsities()
        done = len(self.records) - 1
        stopped = any(not self.within_tolerance(r) for r in self.records[1:]) and cfg.stop_on_drop
        bar = tqdm(range(done + 1, cfg.rounds + 1), desc="spiral rounds", disable=not self.progress or not _is_main())
        for r in bar:
            if stopped:
                break
            record = self.round(r, goals[r - 1], goals[r - 2] if r > 1 else cfg.initial_sparsity)
            self.records.append(record)
            if self.within_tolerance(record):
                self.best_round, self.best_model = r, copy.deepcopy(self.model)
            elif cfg.stop_on_drop:
                stopped = True
            if record["metrics"][self.primary] > self.top_teacher[1]:
                self.top_teacher = (copy_model(self.model), record["metrics"][self.primary])
            self.save()
            bar.set_postfix(sparsity=f"{record['sparsity_pruned_layers']:.3f}",
                            **{self.primary: f"{record['metrics'][self.primary]:.4f}"})
        if cfg.baseline and self.baseline is None:
            from spiralkit.compress.baseline import one_shot

            self.reseed(cfg.rounds + 1)
            self.baseline = one_shot(self)
            self.save()
        result = SpiralResult(self.best_model, self.records, self.best_round, self.out, self.baseline)
        if _is_main():
            report.plot(self.records, self.out / "rounds.png", self.primary, baseline=self.baseline)
        return result

    def prune_to(self, model: nn.Module, sparsity: float, teacher: nn.Module, seed_offset: int) -> None:
        cfg = self.config
        prune_cfg = dataclasses.replace(cfg.prune, sparsity=max(0.0, sparsity), seed=cfg.prune.seed + seed_offset)
        prune(model, prune_cfg, self.train_data, loss_fn=_distill_loss(teacher, cfg.distill),
              val_data=self.val_data, evaluate=self.evaluate, example_inputs=self.example,
              primary_metric=self.primary)

    def budget(self, last: bool, distill_cfg: DistillConfig):
        """(data, distill config, optimiser steps) of one round: exactly round_steps (+ final_steps
        in the last) when set, else the epochs (+ final_epochs); the recovery schedule in the last."""
        cfg = self.config
        if last and cfg.recovery_lr_schedule:
            distill_cfg = dataclasses.replace(distill_cfg, lr_schedule=cfg.recovery_lr_schedule)
        if cfg.round_steps:
            steps = cfg.round_steps + (cfg.final_steps if last else 0)
            return B.StepBudget(self.train_data, steps), dataclasses.replace(distill_cfg, epochs=1, max_batches=0), steps
        epochs = distill_cfg.epochs + (cfg.final_epochs if last else 0)
        distill_cfg = dataclasses.replace(distill_cfg, epochs=epochs)
        per_epoch = B.count_batches(self.train_data, distill_cfg.max_batches)
        return self.train_data, distill_cfg, None if per_epoch is None else per_epoch * epochs

    def round(self, r: int, goal: float, previous_goal: float) -> dict:
        cfg = self.config
        started = time.perf_counter()
        self.reseed(r)
        previous = copy_model(self.model) if cfg.teacher == "previous" else None
        teacher = self.pick_teacher(previous)
        sparsity = goal
        pat = parse_pattern(cfg.prune.pattern)
        if pat.kind == "channel":
            # Channel pruning removes filters for good: ask for the share of what is left.
            sparsity = 1.0 - (1.0 - goal) / (1.0 - previous_goal)
        elif pat.kind == "nm":
            # N:M cannot prune less than 1 - N/M: early rounds start there.
            sparsity = max(goal, 1.0 - pat.n / pat.m)
        self.prune_to(self.model, sparsity, teacher, r)
        qat = cfg.quantize == "int8" and r == cfg.rounds  # the last round is quantization-aware
        if qat:
            Q.begin_qat_round(self.model, self.train_data, cfg.quantization)
        data, distill_cfg, steps = self.budget(r == cfg.rounds, dataclasses.replace(cfg.distill, seed=cfg.distill.seed + r))
        result = distill(self.model, teacher, distill_cfg, data, None, progress=self.progress, desc=f"round {r}")
        record = self.round_record(r, goal, started, result.losses, steps)
        if qat:  # the metrics above are the int8 model's; add its fp32 and engine-int8 ones
            Q.annotate_record(record, self.model, self.evaluate, self.val_data, self.primary, self.train_data,
                              cfg.quantization.calibration_batches)
        return record

    def l1_pretrain(self) -> None:
        """L1-regularised training of the layers to prune, so small weights go to zero first."""
        layers = list(self.layers.values())
        lam = self.config.l1_lambda

        def penalty(model):
            return lam * sum(m.weight.abs().sum() for m in layers)

        cfg = dataclasses.replace(self.config.distill, epochs=self.config.l1_epochs)
        per_epoch = B.count_batches(self.train_data, cfg.max_batches)
        self.l1_steps = None if per_epoch is None else per_epoch * cfg.epochs
        distill(self.model, self.original, cfg, self.train_data, None, progress=self.progress, desc="L1",
                extra_loss=penalty)


def compress(model: nn.Module, config: SpiralConfig, train_data, val_data, teacher: nn.Module | None = None, *,
             evaluate: Callable | None = None, test_data=None, resume: bool = False, progress: bool = True,
             quiet: bool = False) -> SpiralResult:
    """Spiral-compress ``model`` in place (see the module docstring); writes rounds.json,
    rounds.png and checkpoints under ``config.output_dir``. ``teacher`` defaults to a frozen copy
    of ``model`` as given; ``evaluate(model, val_data) -> dict`` as in ``spiralkit.distill``;
    ``test_data``, if given, is evaluated and recorded each round but never used for decisions."""
    config.validate()
    run = _Run(model, config, train_data, val_data, teacher, evaluate, test_data, progress)
    result = run.run(resume)
    if not quiet and _is_main():
        print(result.table(run.primary))
    return result
