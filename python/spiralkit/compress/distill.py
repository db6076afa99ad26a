"""``distill(student, teacher, DistillConfig, train_data, val_data)``: train the student to match
the teacher, masks respected (a pruned weight stays zero: see ``masks.py``).

Losses (``DistillConfig.loss``, registry ``LOSSES``):
  - ``"soft"``: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(labels)
  - ``"hard"``: CE on the teacher's argmax labels
  - ``"embedding"``: for models whose output is an embedding, not logits (e.g. a sentence
    encoder): MSE and/or 1 - cosine between student and teacher outputs; no labels needed.
  - ``"task"``: CE on the labels alone (fine-tuning without a teacher)
Feature hints: ``hints = [["student.layer", "teacher.layer"], ...]`` adds ``hint_weight`` * MSE
between those modules' outputs. ``hint_loss = "adapter"``: through a learned adapter (1x1 conv for
feature maps, linear otherwise) so a channel-pruned student can still match a wider teacher.
``hint_loss = "normalized"``: directly, as MSE / mean(teacher^2) per pair (so every layer weighs
alike whatever its scale), over real tokens only when a dict batch has an ``attention_mask``:
the layer-wise hidden-state hints of TinyBERT / MiniLM for a student of the teacher's shape.

Data: see ``spiralkit.compress.batches`` (batches are ``(inputs, labels)`` or ``inputs``; inputs
may be a tensor, a tuple or a dict of tensors). The model must return a tensor.

Evaluation: ``evaluate(model, val_data) -> dict[str, float]``, larger-is-better for the metric
named by ``DistillConfig.primary_metric``. Default: classification accuracy / macro
precision / recall / F1 for logits; for ``loss = "embedding"`` the default reports ``cosine``
(mean cosine to the teacher's outputs on val_data) and ``neg_mse`` -- set
``primary_metric = "cosine"`` or pass your own, e.g. retrieval agreement::

    def evaluate(model, val_data):
        return {"cosine": ..., "retrieval_at_1": ...}

    spiralkit.distill(student, teacher, DistillConfig(loss="embedding", primary_metric="cosine"),
                      train_batches, val_batches, evaluate=evaluate)
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.compress.config import DistillConfig
from spiralkit.compress.losses import needs_teacher
from spiralkit.compress.metrics import classification_metrics
from spiralkit.compress.registry import LOSSES


@dataclass
class DistillResult:
    metrics: dict[str, float] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)  # mean training loss per epoch


@torch.no_grad()
def embedding_metrics(model: nn.Module, val_data, teacher: nn.Module, max_batches: int = 0) -> dict[str, float]:
    """Mean cosine similarity and negated MSE between the model's and the teacher's outputs."""
    was = model.training
    model.eval()
    teacher.eval()
    device = B.device_of(model)
    cos_sum = mse_sum = count = 0.0
    for batch in B.rank_batches(val_data, max_batches):
        x = B.to_device(B.split_batch(batch)[0], device)
        s, t = B.call(model, x), B.call(teacher, x)
        s, t = s.reshape(-1, s.shape[-1]), t.reshape(-1, t.shape[-1])
        cos_sum += float(nn.functional.cosine_similarity(s, t, dim=-1).sum())
        mse_sum += float(((s - t) ** 2).mean(-1).sum())
        count += s.shape[0]
    model.train(was)
    rank, size = B.world()
    if size > 1:
        import torch.distributed as dist

        t = torch.tensor([cos_sum, mse_sum, count], dtype=torch.float64)
        dist.all_reduce(t)
        cos_sum, mse_sum, count = t.tolist()
    return {"cosine": cos_sum / max(count, 1), "neg_mse": -mse_sum / max(count, 1)}


def default_evaluate(config: DistillConfig, teacher: nn.Module | None) -> Callable:
    if config.loss == "embedding":
        if teacher is None:
            raise ValueError("the default embedding evaluation compares with the teacher; pass one")
        return functools.partial(embedding_metrics, teacher=teacher)
    return classification_metrics


class _Hints(nn.Module):
    """Captures the hinted layers' outputs of both models and owns the adapters."""

    def __init__(self, student: nn.Module, teacher: nn.Module, pairs: list[list[str]], mode: str = "adapter"):
        super().__init__()
        self.pairs = [tuple(p) for p in pairs]
        self.mode = mode
        self.built = False
        self.adapters = nn.ModuleDict()
        self.student_out: dict[str, torch.Tensor] = {}
        self.teacher_out: dict[str, torch.Tensor] = {}
        self.handles = []
        s_modules, t_modules = dict(student.named_modules()), dict(teacher.named_modules())
        for s_name, t_name in self.pairs:
            if s_name not in s_modules:
                raise ValueError(f"distill.hints: the student has no module '{s_name}'")
            if t_name not in t_modules:
                raise ValueError(f"distill.hints: the teacher has no module '{t_name}'")
            self.handles.append(s_modules[s_name].register_forward_hook(self._keep(self.student_out, s_name)))
            self.handles.append(t_modules[t_name].register_forward_hook(self._keep(self.teacher_out, t_name)))

    @staticmethod
    def _keep(store, name):
        def hook(module, inputs, output):
            store[name] = output

        return hook

    @staticmethod
    def _key(s_name, t_name):
        return f"{s_name}->{t_name}".replace(".", "_")

    def build_adapters(self, device) -> None:
        self.built = True
        if self.mode == "normalized":
            return
        for s_name, t_name in self.pairs:
            s, t = self.student_out[s_name], self.teacher_out[t_name]
            if s.dim() == 4:
                adapter = nn.Conv2d(s.shape[1], t.shape[1], 1, bias=False)
            else:
                adapter = nn.Linear(s.shape[-1], t.shape[-1], bias=False)
            self.adapters[self._key(s_name, t_name)] = adapter.to(device)

    def loss(self, inputs=None) -> torch.Tensor:
        if self.mode == "normalized":
            return self._normalized(inputs)
        total = 0.0
        for s_name, t_name in self.pairs:
            s = self.adapters[self._key(s_name, t_name)](self.student_out[s_name])
            t = self.teacher_out[t_name].detach()
            if s.dim() == 4 and s.shape[-2:] != t.shape[-2:]:
                s = nn.functional.adaptive_avg_pool2d(s, t.shape[-2:])
            total = total + nn.functional.mse_loss(s, t)
        return total

    def _normalized(self, inputs) -> torch.Tensor:
        from spiralkit.compress.calibration import token_mask

        mask = token_mask(inputs)
        total = 0.0
        for s_name, t_name in self.pairs:
            s, t = self.student_out[s_name], self.teacher_out[t_name].detach()
            if s.shape != t.shape:
                raise ValueError(f"distill.hints: hint_loss 'normalized' needs equal shapes; '{s_name}' gives "
                                 f"{tuple(s.shape)}, '{t_name}' {tuple(t.shape)} (use hint_loss = 'adapter')")
            if mask is not None and s.dim() == 3 and tuple(s.shape[:2]) == tuple(mask.shape):
                s, t = s[mask], t[mask]
            total = total + nn.functional.mse_loss(s, t) / (t ** 2).mean().clamp_min(1e-12)
        return total

    def remove(self):
        for h in self.handles:
            h.remove()


def _optimizer(config: DistillConfig, params):
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def distill(student: nn.Module, teacher: nn.Module | None, config: DistillConfig, train_data, val_data=None, *,
            evaluate: Callable | None = None, progress: bool = True, desc: str = "distill",
            extra_loss: Callable | None = None) -> DistillResult:
    """Train ``student`` in place for ``config.epochs`` passes over ``train_data`` (each capped
    at ``config.max_batches`` when > 0); returns the evaluation on ``val_data`` and the losses.

    ``extra_loss(model) -> tensor`` is added to every step (e.g. an L1 penalty).
    """
    from tqdm.auto import tqdm

    config.validate()
    loss_fn = LOSSES.get(config.loss)
    use_teacher = needs_teacher(loss_fn) or bool(config.hints)
    if use_teacher and teacher is None:
        raise ValueError(f"distill: loss '{config.loss}' needs a teacher")
    device = B.device_of(student)
    if teacher is not None:
        teacher.eval()
    torch.manual_seed(config.seed)
    hints = _Hints(student, teacher, config.hints, config.hint_loss) if config.hints else None
    rank, size = B.world()
    model = student
    if size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(student, device_ids=[device] if device.type == "cuda" else None)
    losses: list[float] = []
    optimizer = scheduler = None
    student.train()
    try:
        for epoch in range(config.epochs):
            total, steps = 0.0, 0
            batches = B.rank_batches(train_data, config.max_batches)
            bar = tqdm(batches, total=B.count_batches(train_data, config.max_batches),
                       desc=f"{desc} {epoch + 1}/{config.epochs}", disable=not progress or rank != 0, leave=False)
            for batch in bar:
                x, y = B.split_batch(batch)
                x = B.to_device(x, device)
                y = None if y is None else y.to(device)
                t_out = None
                if use_teacher:
                    with torch.no_grad():
                        t_out = B.call(teacher, x)
                s_out = B.call(model, x)
                if hints is not None and not hints.built:
                    hints.build_adapters(device)
                if optimizer is None:
                    params = list(student.parameters()) + (list(hints.parameters()) if hints else [])
                    optimizer = _optimizer(config, params)
                    scheduler = _scheduler(config, optimizer, train_data)
                loss = loss_fn(s_out, t_out, y, config)
                if hints is not None:
                    loss = loss + config.hint_weight * hints.loss(x)
                if extra_loss is not None:
                    loss = loss + extra_loss(student)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if hints is not None and size > 1:
                    _average_grads(hints.parameters(), size)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += float(loss.detach())
                steps += 1
                bar.set_postfix(loss=f"{total / steps:.4f}")
            losses.append(total / max(steps, 1))
    finally:
        if hints is not None:
            hints.remove()
    if size > 1:
        _sync_buffers(student)
    metrics = {}
    if val_data is not None:
        evaluate = evaluate or default_evaluate(config, teacher)
        metrics = dict(evaluate(student, val_data))
    return DistillResult(metrics=metrics, losses=losses)


def _scheduler(config: DistillConfig, optimizer, train_data):
    if config.lr_schedule == "constant":
        return None
    per_epoch = B.count_batches(train_data, config.max_batches)
    if not per_epoch:
        raise ValueError("distill.lr_schedule = 'cosine' needs data with a length (or max_batches)")
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=per_epoch * config.epochs)


def _sync_buffers(model: nn.Module) -> None:
    """DDP broadcasts buffers before each forward, so after the last one every rank's BatchNorm
    statistics moved on its own batch: take rank 0's, so all ranks hold one identical model."""
    import torch.distributed as dist

    for buf in model.buffers():
        dist.broadcast(buf, src=0)


def _average_grads(params, size: int) -> None:
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= size


def copy_model(model: nn.Module) -> nn.Module:
    """A frozen copy to serve as a teacher."""
    teacher = copy.deepcopy(model)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
