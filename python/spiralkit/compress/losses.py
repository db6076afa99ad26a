"""Distillation losses, registered by name: ``loss(student_out, teacher_out, labels, config)``.

``teacher_out`` is None for losses that do not read it ("task"); ``labels`` is None when the
data has none (only "hard" and "embedding" work without labels). Add your own with
``@LOSSES.register("name")``; set ``needs_teacher = False`` on it if it ignores the teacher.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spiralkit.compress.registry import LOSSES


def needs_teacher(loss) -> bool:
    return bool(getattr(loss, "needs_teacher", True))


def _labels(labels, name):
    if labels is None:
        raise ValueError(f"distill loss '{name}' needs labelled (inputs, labels) batches")
    return labels


def kd_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) at temperature T, times T^2 so its gradients keep the size of the
    hard loss's whatever T is (Hinton et al. 2015)."""
    t = temperature
    log_p_student = F.log_softmax(student_logits / t, dim=-1)
    log_p_teacher = F.log_softmax(teacher_logits / t, dim=-1)
    return F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True) * (t * t)


@LOSSES.register("soft")
def soft(student_out, teacher_out, labels, config):
    """alpha * T^2 KL(teacher_T || student_T) + (1 - alpha) * CE(labels); without labels, KD alone."""
    kd = kd_kl(student_out, teacher_out, config.temperature)
    if labels is None or config.alpha >= 1.0:
        return kd
    return config.alpha * kd + (1.0 - config.alpha) * F.cross_entropy(student_out, labels)


@LOSSES.register("hard")
def hard(student_out, teacher_out, labels, config):
    """Cross-entropy on the teacher's predicted labels (no ground truth needed)."""
    return F.cross_entropy(student_out, teacher_out.argmax(-1))


@LOSSES.register("embedding")
def embedding(student_out, teacher_out, labels, config):
    """Output matching for encoders: MSE and/or (1 - cosine) between the student's and the
    teacher's output vectors (last dimension), averaged over the batch."""
    s = student_out.reshape(-1, student_out.shape[-1])
    t = teacher_out.reshape(-1, teacher_out.shape[-1])
    out = s.new_zeros(())
    if "mse" in config.embedding_metric:
        out = out + F.mse_loss(s, t)
    if "cosine" in config.embedding_metric:
        out = out + (1.0 - F.cosine_similarity(s, t, dim=-1)).mean()
    return out


@LOSSES.register("task")
def task(student_out, teacher_out, labels, config):
    """Cross-entropy on the data's labels alone: plain fine-tuning, the no-distillation baseline."""
    return F.cross_entropy(student_out, _labels(labels, "task"))


task.needs_teacher = False
