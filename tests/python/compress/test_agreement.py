"""Embedding agreement (cosine, retrieval) between a student's and a teacher's outputs."""

import pytest
import torch

from spiralkit.compress.agreement import agreement, agreement_evaluator, embed


def test_agreement_is_perfect_for_the_teacher_and_detects_a_swap():
    torch.manual_seed(0)
    t = torch.nn.functional.normalize(torch.randn(10, 8), dim=1)
    m = agreement(t * 3.0, t)  # scale does not matter
    assert m["mean_cosine"] == pytest.approx(1.0) and m["retrieval_top1"] == 1.0
    assert m["retrieval_top5_overlap"] == pytest.approx(1.0)
    s = t.clone()
    s[0] = -t[0]
    m = agreement(s, t)
    assert m["min_cosine"] == pytest.approx(-1.0)
    assert m["mean_cosine"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="shapes"):
        agreement(t[:3], t)
    with pytest.raises(ValueError, match="2 sentences"):
        agreement(t[:1], t[:1])


def test_evaluator_compares_with_the_teachers_embeddings_of_each_named_set():
    torch.manual_seed(0)
    teacher = torch.nn.Linear(4, 6)
    sets = {"val": [torch.randn(5, 4), torch.randn(3, 4)], "test": [torch.randn(6, 4)]}
    evaluate = agreement_evaluator(teacher, sets)
    assert evaluate(teacher, "val")["mean_cosine"] == pytest.approx(1.0)
    assert evaluate(teacher, "val")["sentences"] == 8
    other = torch.nn.Linear(4, 6)
    assert evaluate(other, "test")["mean_cosine"] < 0.9
    with pytest.raises(ValueError, match="unknown set 'train'"):
        evaluate(teacher, "train")
    assert embed(teacher, sets["test"]).shape == (6, 6)
