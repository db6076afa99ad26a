import copy

import pytest
import torch
from torch import nn

from spiralkit.compress import DistillConfig, PruneConfig, distill, get_mask, prune
from spiralkit.compress.distill import copy_model


class Encoder(nn.Module):
    """Takes a dict like a tokenizer's output and returns an embedding (no logits)."""

    def __init__(self, width=16):
        super().__init__()
        self.embed = nn.Embedding(50, width)
        self.proj = nn.Linear(width, width)
        self.out = nn.Linear(width, 8)

    def forward(self, input_ids, attention_mask):
        h = torch.relu(self.proj(self.embed(input_ids)))
        pooled = (h * attention_mask[..., None]).sum(1) / attention_mask.sum(1, keepdim=True)
        return self.out(pooled)


def _text_batches(n=6):
    g = torch.Generator().manual_seed(0)
    return [{"input_ids": torch.randint(0, 50, (8, 5), generator=g), "attention_mask": torch.ones(8, 5)}
            for _ in range(n)]


def test_soft_distillation_moves_student_towards_teacher(tiny_cnn, make_tiny_cnn, tiny_data):
    teacher = copy_model(tiny_cnn)
    student = make_tiny_cnn(seed=7)
    cfg = DistillConfig(loss="soft", temperature=2.0, alpha=1.0, epochs=3, lr=5e-3)
    res = distill(student, teacher, cfg, tiny_data, tiny_data, progress=False)
    assert res.losses[-1] < res.losses[0]
    assert set(res.metrics) >= {"accuracy", "precision", "recall", "f1"}


def test_embedding_distillation_without_labels_and_custom_evaluate():
    torch.manual_seed(0)
    teacher = copy_model(Encoder())
    student = copy.deepcopy(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    prune(student, PruneConfig(pattern="4x1", sparsity=0.75, include=["proj"]))
    keep = get_mask(student.proj)
    data = _text_batches()

    def evaluate(model, val):
        from spiralkit.compress import embedding_metrics

        m = embedding_metrics(model, val, teacher)
        return {"cosine": m["cosine"], "retrieval_at_1": 1.0}

    before = evaluate(student, data)["cosine"]
    cfg = DistillConfig(loss="embedding", embedding_metric="mse+cosine", epochs=8, lr=5e-3,
                        primary_metric="cosine")
    res = distill(student, teacher, cfg, data, data, evaluate=evaluate, progress=False)
    assert res.metrics["cosine"] > before
    assert res.metrics["retrieval_at_1"] == 1.0
    assert torch.equal(get_mask(student.proj), keep) and (student.proj.weight[~keep] == 0).all()


def test_default_embedding_evaluation_reports_cosine():
    teacher = copy_model(Encoder())
    student = Encoder()
    res = distill(student, teacher, DistillConfig(loss="embedding", epochs=1), _text_batches(2), _text_batches(2),
                  progress=False)
    assert set(res.metrics) == {"cosine", "neg_mse"}


def test_feature_hints_through_adapter_for_a_narrower_student(make_tiny_cnn, tiny_data):
    pytest.importorskip("torch_pruning")
    teacher = copy_model(make_tiny_cnn(0))
    student = make_tiny_cnn(0)
    prune(student, PruneConfig(pattern="channel", sparsity=0.5, include=["conv2"], skip_first=False), tiny_data)
    assert student.conv2.out_channels == 4 and teacher.conv2.out_channels == 8
    cfg = DistillConfig(loss="soft", hints=[["bn2", "bn2"]], hint_weight=1.0, epochs=2, lr=5e-3)
    res = distill(student, teacher, cfg, tiny_data, progress=False)
    assert len(res.losses) == 2 and res.losses[-1] < res.losses[0]


def test_hint_on_missing_layer_is_named(tiny_cnn, make_tiny_cnn, tiny_data):
    with pytest.raises(ValueError, match="no module 'nope'"):
        distill(make_tiny_cnn(1), tiny_cnn, DistillConfig(hints=[["nope", "fc1"]]), tiny_data, progress=False)


def test_loss_that_needs_a_teacher_without_one(tiny_cnn, tiny_data):
    with pytest.raises(ValueError, match="needs a teacher"):
        distill(tiny_cnn, None, DistillConfig(loss="soft"), tiny_data, progress=False)


def test_spiral_on_an_embedding_model_with_unlabelled_dict_batches(tmp_path):
    """The MiniLM shape of use: dict inputs, no labels, taylor scores from the embedding loss,
    a caller-supplied evaluation whose primary metric is cosine."""
    import spiralkit
    from spiralkit.compress import SpiralConfig, embedding_metrics

    torch.manual_seed(0)
    teacher = copy_model(Encoder())
    student = copy.deepcopy(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    data = _text_batches(4)
    cfg = SpiralConfig(rounds=2, target_sparsity=0.5, tolerance=0.5, output_dir=str(tmp_path),
                       prune=PruneConfig(criterion="taylor", pattern="2:4", include=["proj", "out"], grad_batches=2),
                       distill=DistillConfig(loss="embedding", primary_metric="cosine", epochs=1, lr=1e-3))
    result = spiralkit.compress(student, cfg, data, data, teacher=teacher,
                                evaluate=lambda m, v: embedding_metrics(m, v, teacher), progress=False, quiet=True)
    assert [r["round"] for r in result.records] == [0, 1, 2]
    assert result.records[0]["metrics"]["cosine"] == pytest.approx(1.0, abs=1e-5)
    assert result.records[-1]["sparsity_pruned_layers"] == pytest.approx(0.5, abs=0.01)
    assert "cosine" in result.table("cosine")


def test_cosine_schedule_decays_to_zero(tiny_cnn, tiny_data, monkeypatch):
    seen = []
    real_step = torch.optim.Adam.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    distill(tiny_cnn, None, DistillConfig(loss="task", epochs=2, lr=1e-2, lr_schedule="cosine"), tiny_data,
            progress=False)
    assert seen[0] == pytest.approx(1e-2) and len(seen) == 16
    assert all(b < a for a, b in zip(seen, seen[1:])) and seen[-1] < 1e-3
