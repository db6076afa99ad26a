import pytest
import torch
import torch.nn.functional as F

from spiralkit.compress import LOSSES, DistillConfig
from spiralkit.compress.losses import kd_kl


def _logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g), torch.tensor([0, 1, 2, 3, 4, 0])


@pytest.mark.parametrize("t", [1.0, 2.0, 4.0])
def test_kd_is_kl_at_temperature_times_t_squared(t):
    s, te, _ = _logits()
    p = F.softmax(te / t, -1)
    kl = (p * (p.log() - F.log_softmax(s / t, -1))).sum(-1).mean()
    assert kd_kl(s, te, t) == pytest.approx(float(kl * t * t), rel=1e-5)


def test_t_squared_keeps_gradient_scale():
    """Without T^2 the KD gradient shrinks ~1/T^2; with it, it stays comparable across T."""
    s, te, _ = _logits()
    norms = []
    for t in (2.0, 8.0):
        x = s.clone().requires_grad_(True)
        kd_kl(x, te, t).backward()
        norms.append(x.grad.norm().item())
    assert 0.25 < norms[1] / norms[0] < 4.0


def test_soft_mixes_kd_and_task_loss_by_alpha():
    s, te, y = _logits()
    cfg = DistillConfig(loss="soft", temperature=3.0, alpha=0.7)
    expected = 0.7 * kd_kl(s, te, 3.0) + 0.3 * F.cross_entropy(s, y)
    assert LOSSES.get("soft")(s, te, y, cfg) == pytest.approx(float(expected), rel=1e-6)
    # Without labels, soft is the KD term alone.
    assert LOSSES.get("soft")(s, te, None, cfg) == pytest.approx(float(kd_kl(s, te, 3.0)), rel=1e-6)


def test_hard_uses_teacher_argmax():
    s, te, y = _logits()
    assert LOSSES.get("hard")(s, te, y, DistillConfig(loss="hard")) == pytest.approx(
        float(F.cross_entropy(s, te.argmax(-1))))


@pytest.mark.parametrize("metric", ["mse", "cosine", "mse+cosine"])
def test_embedding_loss(metric):
    s, te, _ = _logits()
    cfg = DistillConfig(loss="embedding", embedding_metric=metric)
    expected = 0.0
    if "mse" in metric:
        expected += F.mse_loss(s, te)
    if "cosine" in metric:
        expected += (1 - F.cosine_similarity(s, te, dim=-1)).mean()
    assert LOSSES.get("embedding")(s, te, None, cfg) == pytest.approx(float(expected), rel=1e-6)
    assert LOSSES.get("embedding")(te, te, None, cfg) == pytest.approx(0.0, abs=1e-6)


def test_task_loss_needs_labels():
    s, te, y = _logits()
    assert LOSSES.get("task")(s, None, y, DistillConfig(loss="task")) == pytest.approx(float(F.cross_entropy(s, y)))
    with pytest.raises(ValueError, match="labelled"):
        LOSSES.get("task")(s, None, None, DistillConfig(loss="task"))
