"""The config objects of the compression side: dataclasses that load from and save to TOML.

Every config carries ``version``; a file written by a newer spiralkit is refused by name.
``validate()`` checks what can be checked without a model (names exist, fractions in range);
``spiralkit.compress.pruner.check_model`` checks what needs one (the pattern fits each layer).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from spiralkit.compress import toml_io
from spiralkit.compress.registry import CRITERIA, LOSSES, SCHEDULES

CONFIG_VERSION = 1
ALLOCATIONS = ("uniform", "global", "evolutionary")
TEACHERS = ("original", "previous", "best")


def _fraction(name: str, value: float, *, upper_open: bool = True) -> None:
    ok = 0.0 <= float(value) < 1.0 if upper_open else 0.0 <= float(value) <= 1.0
    if not ok:
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{name}: expected a fraction in {bound}, got {value}")


def _version(name: str, value: int) -> None:
    if value > CONFIG_VERSION or value < 1:
        raise ValueError(f"{name}.version: this spiralkit reads versions 1..{CONFIG_VERSION}, got {value}")


def _matches(value, hint) -> bool:
    """Whether ``value`` has the type ``hint`` (a config field's annotation) names. bool is not an
    int here, an int is a float (TOML writes 1 for 1.0), lists are checked element by element."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple):
        item = args[0] if args else typing.Any
        return isinstance(value, (list, tuple)) and all(_matches(v, item) for v in value)
    if origin is typing.Union:
        return any(_matches(value, a) for a in args)
    if hint is typing.Any:
        return True
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    raise TypeError(f"config type check: no rule for the annotation {hint!r}")  # a new field type: add a rule


def _describe(hint, plural: bool = False) -> str:
    names = {bool: ("true or false", "booleans"), int: ("an integer", "integers"),
             float: ("a finite number", "finite numbers"), str: ("a string", "strings")}
    if hint in names:
        return names[hint][plural]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple):
        inner = f" of {_describe(args[0], plural=True)}" if args else ""
        return ("lists" if plural else "a list") + inner
    if dataclasses.is_dataclass(hint):
        return f"a [{hint.__name__}] table"
    return str(hint)


def check_types(obj, prefix: str) -> None:
    """Refuse, by key, any field of dataclass ``obj`` (and of its nested configs) whose value does
    not have the field's declared type -- before any other check, so ``rounds = "3"`` or
    ``skip = "fc1"`` in a recipe is named, never a traceback or a failure mid-training."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, hint = getattr(obj, f.name), hints[f.name]
        if not _matches(value, hint):
            raise ValueError(f"{prefix}{f.name}: expected {_describe(hint)}, got {value!r} ({type(value).__name__})")
        if dataclasses.is_dataclass(value):
            check_types(value, f"{prefix}{f.name}.")


class _TomlMixin:
    # How this config's keys are named in messages when it is checked on its own.
    _KEY_PREFIX: typing.ClassVar[str] = ""

    def check_types(self) -> None:
        check_types(self, self._KEY_PREFIX)

    def to_toml(self, path: "str | Path") -> None:
        toml_io.save(self, path)

    @classmethod
    def from_toml(cls, path: "str | Path"):
        cfg = toml_io.load(cls, path)
        cfg.validate()
        return cfg

    @classmethod
    def from_dict(cls, data: dict):
        cfg = toml_io.from_dict(cls, data)
        cfg.validate()
        return cfg

    def to_dict(self) -> dict:
        return toml_io.to_dict(self)


@dataclass
class EvolutionConfig(_TomlMixin):
    """Genetic search of per-layer sparsities (allocation = "evolutionary").

    fitness = primary metric after ``recovery_batches`` of fine-tuning - cost_weight * cost, where
    cost is FLOPs / dense FLOPs (``cost = "flops"``) or the candidate's measured latency on
    spiralkit's kernels / the dense model's PyTorch latency (``cost = "latency"``; needs the
    native extension).
    """

    population: int = 8
    generations: int = 4
    recovery_batches: int = 10
    eval_batches: int = 8
    cost_weight: float = 0.1
    mutation: float = 0.1
    elite: int = 2
    cost: str = "flops"
    _KEY_PREFIX: typing.ClassVar[str] = "evolution."

    def validate(self) -> None:
        self.check_types()
        if self.cost not in ("flops", "latency"):
            raise ValueError(f"evolution.cost: expected flops or latency, got '{self.cost}'")
        if self.population < 2 or self.generations < 1 or self.elite < 1 or self.elite >= self.population:
            raise ValueError(
                "evolution: need population >= 2, generations >= 1 and 1 <= elite < population, got "
                f"population={self.population}, generations={self.generations}, elite={self.elite}"
            )


@dataclass
class PruneConfig(_TomlMixin):
    """One pruning step. ``sparsity`` is the fraction of zero weights in the pruned layers.

    allocation: "uniform" (every layer at ``sparsity``, scores ranked per layer), "global" (one
    ranking over all pruned layers), "evolutionary" (per-layer sparsities searched, EvolutionConfig).
    Layers are the model's Linear and Conv2d modules; ``skip_first``/``skip_last`` leave the first
    and last of them dense (usually the most sensitive), ``skip`` names more; a non-empty
    ``include`` names exactly the layers to prune (skip_first / skip_last then do not apply).
    """

    version: int = CONFIG_VERSION
    criterion: str = "magnitude"
    pattern: str = "unstructured"
    sparsity: float = 0.5
    allocation: str = "uniform"
    skip_first: bool = True
    skip_last: bool = True
    skip: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    max_layer_sparsity: float = 0.99
    grad_batches: int = 8
    calibration_batches: int = 8  # batches of ``data`` whose activations wanda / sparsegpt read
    damp: float = 0.01  # sparsegpt: H + damp * mean(diag H) * I
    seed: int = 0
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    _KEY_PREFIX: typing.ClassVar[str] = "prune."

    def validate(self) -> None:
        from spiralkit.patterns import parse_pattern

        self.check_types()

        import spiralkit.compress.criteria  # noqa: F401  (fills the registry)

        _version("prune", self.version)
        CRITERIA.get(self.criterion)
        parse_pattern(self.pattern)
        _fraction("prune.sparsity", self.sparsity)
        _fraction("prune.max_layer_sparsity", self.max_layer_sparsity)
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"prune.allocation: unknown '{self.allocation}'; known: {', '.join(ALLOCATIONS)}")
        if self.grad_batches < 1:
            raise ValueError(f"prune.grad_batches: expected >= 1, got {self.grad_batches}")
        if self.calibration_batches < 1:
            raise ValueError(f"prune.calibration_batches: expected >= 1, got {self.calibration_batches}")
        if not 0 < self.damp <= 1:
            raise ValueError(f"prune.damp: expected a number in (0, 1], got {self.damp}")
        self.evolution.validate()


@dataclass
class DistillConfig(_TomlMixin):
    """How the student learns from the teacher.

    loss: "hard" (cross-entropy on the teacher's argmax labels), "soft" (KL at ``temperature``,
    scaled by T^2, mixed with the task loss: alpha * KD + (1 - alpha) * CE(labels)), "embedding"
    (output matching for encoders: ``embedding_metric`` "mse", "cosine" (1 - cos) or "mse+cosine";
    needs no labels), "task" (labels only: plain fine-tuning, the no-distillation baseline).
    hints: [[student_layer, teacher_layer], ...] module names whose outputs are matched by MSE,
    weighted by ``hint_weight``: through a learned adapter (``hint_loss = "adapter"``), or directly,
    normalised by the teacher's mean square, over real tokens only (``"normalized"``; equal shapes).
    primary_metric: the key of the evaluation dict that ranks rounds (larger is better).
    lr_schedule: "constant", or "cosine" (decays to 0 over this call's steps; a spiral round is one call).
    """

    version: int = CONFIG_VERSION
    loss: str = "soft"
    temperature: float = 4.0
    alpha: float = 0.9
    embedding_metric: str = "mse+cosine"
    hints: list[list[str]] = field(default_factory=list)
    hint_weight: float = 1.0
    hint_loss: str = "adapter"  # "adapter" | "normalized" (see distill.py)
    epochs: int = 1
    max_batches: int = 0
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_schedule: str = "constant"
    momentum: float = 0.9
    weight_decay: float = 0.0
    primary_metric: str = "accuracy"
    seed: int = 0
    _KEY_PREFIX: typing.ClassVar[str] = "distill."

    def validate(self) -> None:
        import spiralkit.compress.losses  # noqa: F401  (fills the registry)

        self.check_types()

        _version("distill", self.version)
        LOSSES.get(self.loss)
        if self.temperature <= 0:
            raise ValueError(f"distill.temperature: expected > 0, got {self.temperature}")
        _fraction("distill.alpha", self.alpha, upper_open=False)
        if self.embedding_metric not in ("mse", "cosine", "mse+cosine"):
            raise ValueError(f"distill.embedding_metric: expected mse, cosine or mse+cosine, got '{self.embedding_metric}'")
        if self.hint_loss not in ("adapter", "normalized"):
            raise ValueError(f"distill.hint_loss: expected adapter or normalized, got '{self.hint_loss}'")
        for pair in self.hints:
            if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
                raise ValueError(f"distill.hints: expected [student_layer, teacher_layer] pairs, got {pair!r}")
        if self.epochs < 0 or self.max_batches < 0:
            raise ValueError("distill.epochs and distill.max_batches: expected >= 0")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"distill.lr_schedule: expected constant or cosine, got '{self.lr_schedule}'")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"distill.optimizer: expected adam or sgd, got '{self.optimizer}'")
        if self.lr <= 0:
            raise ValueError(f"distill.lr: expected > 0, got {self.lr}")


@dataclass
class QuantizeConfig(_TomlMixin):
    """The quantization-aware final round (``SpiralConfig.quantize = "int8"``; compress/quantize.py):
    int8 fake quantization of every Linear/Conv2d (weights per output channel, inputs per tensor)
    with activation ranges calibrated on ``calibration_batches`` training batches; ``observer``
    "minmax" keeps them fixed, "ema" keeps averaging them (``ema_momentum``) while training.
    ``activations = false`` quantizes weights only."""

    observer: str = "ema"
    ema_momentum: float = 0.01
    calibration_batches: int = 8
    activations: bool = True

    def validate(self) -> None:
        if self.observer not in ("minmax", "ema"):
            raise ValueError(f"quantization.observer: expected minmax or ema, got '{self.observer}'")
        if not 0 < self.ema_momentum <= 1:
            raise ValueError(f"quantization.ema_momentum: expected a number in (0, 1], got {self.ema_momentum}")
        if self.calibration_batches < 1:
            raise ValueError(f"quantization.calibration_batches: expected >= 1, got {self.calibration_batches}")


@dataclass
class SpiralConfig(_TomlMixin):
    """Rounds of prune -> distill.

    Round r prunes to ``schedule(r, rounds, initial_sparsity, target_sparsity)``, then distills from
    the teacher chosen by ``teacher`` ("original" model, "previous" round's student, "best" round
    so far). The run stops after the last round, or (``stop_on_drop``) at the first round whose
    primary metric falls more than ``tolerance`` below the original model's; the result is the
    sparsest round within tolerance. ``l1_epochs`` > 0 runs L1-regularised training first.
    For the ``channel`` pattern the sparsities are fractions of *filters* removed per layer (the
    records still report the fraction of weights gone, which is larger: inputs shrink too).

    Budget per round: ``round_steps`` > 0 gives every round exactly that many optimiser steps
    (the training data is cycled), and the last round ``final_steps`` more (recovery at the
    target sparsity); with ``round_steps = 0`` a round is ``distill.epochs`` passes (each capped
    at ``distill.max_batches``) and the last round ``final_epochs`` more. Each round is one
    distillation call with a fresh optimiser: ``distill.lr_schedule = "cosine"`` decays the
    learning rate to 0 within every round and restarts it at the next (warm restarts);
    ``recovery_lr_schedule`` ("constant" / "cosine"; "" = as the other rounds) sets the last round's.

    ``baseline = true`` also runs one-shot pruning to ``target_sparsity`` + fine-tuning (the same
    criterion, loss, teacher and the recovery round's schedule) from the same model on the same
    total optimiser steps as the rounds, and records it in rounds.json beside them.

    ``quantize = "int8"`` makes the last round quantization-aware (``quantization``: QuantizeConfig):
    its recorded metrics are the int8 (fake-quantized) model's, beside its fp32 ones.
    """

    version: int = CONFIG_VERSION
    rounds: int = 5
    initial_sparsity: float = 0.0
    target_sparsity: float = 0.9
    schedule: str = "cubic"
    teacher: str = "original"
    tolerance: float = 0.01
    stop_on_drop: bool = True
    l1_epochs: int = 0
    l1_lambda: float = 1e-5
    final_epochs: int = 0
    round_steps: int = 0
    final_steps: int = 0
    recovery_lr_schedule: str = ""
    baseline: bool = False
    output_dir: str = "runs/spiral"
    seed: int = 0
    prune: PruneConfig = field(default_factory=PruneConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    quantize: str = "none"  # "int8": the last round is quantization-aware
    quantization: QuantizeConfig = field(default_factory=QuantizeConfig)

    def validate(self) -> None:
        import spiralkit.compress.schedules  # noqa: F401

        self.check_types()
        _version("spiral", self.version)
        if self.rounds < 1:
            raise ValueError(f"rounds: expected >= 1, got {self.rounds}")
        _fraction("initial_sparsity", self.initial_sparsity)
        _fraction("target_sparsity", self.target_sparsity)
        if self.initial_sparsity > self.target_sparsity:
            raise ValueError(
                f"initial_sparsity ({self.initial_sparsity}) is above target_sparsity ({self.target_sparsity})"
            )
        SCHEDULES.get(self.schedule)
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher: unknown '{self.teacher}'; known: {', '.join(TEACHERS)}")
        if self.tolerance < 0:
            raise ValueError(f"tolerance: expected >= 0, got {self.tolerance}")
        for name in ("l1_epochs", "l1_lambda", "final_epochs", "round_steps", "final_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)}")
        if self.round_steps and self.final_epochs:
            raise ValueError("final_epochs: with round_steps > 0 the budget is in steps; set final_steps instead")
        if self.final_steps and not self.round_steps:
            raise ValueError("final_steps: needs round_steps > 0 (with round_steps = 0 use final_epochs)")
        if self.recovery_lr_schedule not in ("", "constant", "cosine"):
            raise ValueError(f"recovery_lr_schedule: expected \"\", constant or cosine, got '{self.recovery_lr_schedule}'")
        self.prune.validate()
        self.distill.validate()
        if self.quantize not in ("none", "int8"):
            raise ValueError(f"quantize: expected none or int8, got '{self.quantize}'")
        self.quantization.validate()

    def round_sparsities(self) -> list[float]:
        from spiralkit.compress.schedules import sparsity_at

        return [
            sparsity_at(self.schedule, r, self.rounds, self.initial_sparsity, self.target_sparsity)
            for r in range(1, self.rounds + 1)
        ]
