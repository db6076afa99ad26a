"""``compress(model, SpiralConfig, train_data, val_data, teacher=None) -> SpiralResult``.

Round r: prune the current student to the scheduled sparsity, then distill it from the teacher
(the original model, the previous round's student, or the best-scoring model so far). Every
round is evaluated, recorded and checkpointed; ``resume=True`` restarts after the last finished
round. The result is the sparsest round whose primary metric is within ``tolerance`` of the
uncompressed model's (round 0).
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

STATE_VERSION = 1


@dataclass
class SpiralResult:
    model: nn.Module  # the kept round's student (masks on)
    records: list[dict] = field(default_factory=list)  # round 0 = the uncompressed model
    best_round: int = 0
    output_dir: "Path | None" = None

    @property
    def best(self) -> dict:
        return next(r for r in self.records if r["round"] == self.best_round)

    def table(self, primary: str = "accuracy") -> str:
        return report.table(self.records, primary, self.best_round, Q.table_columns(self.records, primary))


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

    # --- measurement -------------------------------------------------------------------------
    def measure(self, round_index: int, sparsity_goal: float, started: float, losses=()) -> dict:
        metrics = dict(self.evaluate(self.model, self.val_data))
        if self.primary not in metrics:
            raise ValueError(
                f"distill.primary_metric '{self.primary}' is not among the evaluation's metrics {sorted(metrics)}"
            )
        record = {"round": round_index, "target_sparsity": sparsity_goal, "metrics": metrics,
                  "train_loss": list(losses)}
        if self.test_data is not None:
            test = self.evaluate(self.model, self.test_data)
            record["test_metrics"] = dict(test)
            if "accuracy" in test:
                record["test_accuracy"] = test["accuracy"]
        record.update(M.sparsity_report(self.model, self.reference))
        record["packed_bytes"] = M.packed_nbytes(self.model, self.config.prune.pattern)
        # Per example, so rounds and runs with other batch sizes compare directly.
        record["flops"] = M.count_flops(self.model, self.example) // _batch_size(self.example)
        record["wall_s"] = time.perf_counter() - started
        return record

    # --- checkpoints -------------------------------------------------------------------------
    def save(self) -> None:
        if not _is_main():
            return
        ck = self.out / "checkpoint"
        ckpt.save_model(self.model, ck / "student.safetensors")
        ckpt.save_model(self.best_model, ck / "best.safetensors")
        if self.top_teacher[0] is not self.original:
            ckpt.save_model(self.top_teacher[0], ck / "teacher_best.safetensors")
        ckpt.save_json(self.records, self.out / "rounds.json")
        # The state file is written last: it is the commit point of the round.
        ckpt.save_json({"version": STATE_VERSION, "config": self.config.to_dict(), "records": self.records,
                        "best_round": self.best_round, "top_teacher_metric": self.top_teacher[1],
                        "top_teacher_saved": self.top_teacher[0] is not self.original}, ck / "state.json")

    def load(self) -> bool:
        ck = self.out / "checkpoint"
        if not (ck / "state.json").exists():
            return False
        state = ckpt.load_json(ck / "state.json")
        if state.get("version") != STATE_VERSION:
            raise ckpt.FormatError(f"{ck / 'state.json'}: unknown checkpoint version {state.get('version')}")
        if state["config"] != self.config.to_dict():
            raise ValueError(f"--resume: the recipe differs from the one {ck} was made with; use a new output_dir")
        self.records = state["records"]
        self.best_round = state["best_round"]
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

    def run(self, resume: bool) -> SpiralResult:
        from tqdm.auto import tqdm

        cfg = self.config
        resumed = resume and self.load()
        if not resumed:
            started = time.perf_counter()
            if cfg.l1_epochs:
                self.l1_pretrain()
            self.records = [self.measure(0, 0.0, started)]
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
        result = SpiralResult(self.best_model, self.records, self.best_round, self.out)
        if _is_main():
            report.plot(self.records, self.out / "rounds.png", self.primary)
        return result

    def round(self, r: int, goal: float, previous_goal: float) -> dict:
        cfg = self.config
        started = time.perf_counter()
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
        prune_cfg = dataclasses.replace(cfg.prune, sparsity=max(0.0, sparsity), seed=cfg.prune.seed + r)
        prune(self.model, prune_cfg, self.train_data, loss_fn=_distill_loss(teacher, cfg.distill),
              val_data=self.val_data, evaluate=self.evaluate, example_inputs=self.example,
              primary_metric=self.primary)
        qat = cfg.quantize == "int8" and r == cfg.rounds  # the last round is quantization-aware
        if qat:
            Q.begin_qat_round(self.model, self.train_data, cfg.quantization)
        extra = cfg.final_epochs if r == cfg.rounds else 0
        distill_cfg = dataclasses.replace(cfg.distill, seed=cfg.distill.seed + r, epochs=cfg.distill.epochs + extra)
        result = distill(self.model, teacher, distill_cfg, self.train_data, None, progress=self.progress,
                         desc=f"round {r}")
        record = self.measure(r, goal, started, result.losses)
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
