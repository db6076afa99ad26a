"""Configs round-trip through TOML; bad recipes fail with clear errors before any training."""

import pytest

from spiralkit.cli import main
from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig
from spiralkit.compress.recipe import Recipe, load_recipe

GOOD = """
version = 1
device = "cpu"
[model]
name = "mnist_cnn"
train_epochs = 1
[data]
name = "mnist"
limit = 128
[spiral]
rounds = 2
target_sparsity = 0.8
output_dir = "{out}"
[spiral.prune]
criterion = "{criterion}"
pattern = "{pattern}"
[spiral.distill]
loss = "soft"
max_batches = 2
"""


def _recipe(tmp_path, **kw):
    values = {"criterion": "magnitude", "pattern": "4x1", "out": str(tmp_path / "run")}
    values.update(kw)
    path = tmp_path / "recipe.toml"
    path.write_text(GOOD.format(**values))
    return path


def test_toml_round_trip(tmp_path):
    cfg = SpiralConfig(rounds=3, target_sparsity=0.9, schedule="linear",
                       prune=PruneConfig(criterion="taylor", pattern="2:4", skip=["fc1"]),
                       distill=DistillConfig(loss="embedding", hints=[["a", "b"]], primary_metric="cosine"))
    cfg.to_toml(tmp_path / "c.toml")
    assert SpiralConfig.from_toml(tmp_path / "c.toml") == cfg
    recipe = load_recipe(_recipe(tmp_path))
    recipe.to_toml(tmp_path / "r.toml")
    assert Recipe.from_toml(tmp_path / "r.toml") == recipe


@pytest.mark.parametrize("change, message", [
    ({"criterion": "magnitud"}, "unknown criterion 'magnitud'; known: l1_filter"),
    ({"pattern": "3:2"}, "N:M needs 1 <= N < M"),
    ({"pattern": "64x1"}, "does not fit layer 'conv2'"),
    ({"pattern": "2:4"}, "always prunes 50%"),
])
def test_bad_recipes_rejected_before_training(tmp_path, capsys, change, message):
    path = _recipe(tmp_path, **change)
    if change.get("pattern") == "2:4":  # 2:4 at a 40 % target cannot be met
        path.write_text(path.read_text().replace("target_sparsity = 0.8", "target_sparsity = 0.4"))
    assert main(["compress", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written


@pytest.mark.parametrize("text, message", [
    ("target_sparsity = 1.0", "target_sparsity: expected a fraction in [0, 1), got 1.0"),
    ("target_sparsity = 0.8\nrouns = 3", "unknown key(s) rouns"),
    ("target_sparsity = 0.8\nteacher = \"oracle\"", "teacher: unknown 'oracle'"),
    ("target_sparsity = 0.8\nversion = 9", "reads versions 1..1, got 9"),
])
def test_bad_values_are_named(tmp_path, capsys, text, message):
    path = _recipe(tmp_path)
    path.write_text(path.read_text().replace("target_sparsity = 0.8", text))
    assert main(["compress", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_prune_sparsity_one_and_unknown_loss():
    with pytest.raises(ValueError, match=r"prune.sparsity: expected a fraction in \[0, 1\), got 1"):
        PruneConfig(sparsity=1).validate()
    with pytest.raises(ValueError, match="unknown distillation loss 'kld'"):
        DistillConfig(loss="kld").validate()


def test_check_flag_accepts_a_good_recipe(tmp_path, capsys):
    assert main(["compress", str(_recipe(tmp_path)), "--check"]) == 0
    assert "ok" in capsys.readouterr().out


def test_not_toml(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[spiral\nrounds = ")
    assert main(["compress", str(path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_example_recipes_stay_valid(capsys):
    from pathlib import Path

    recipes = sorted((Path(__file__).parents[3] / "examples" / "recipes").glob("*.toml"))
    assert recipes
    for path in recipes:
        assert main(["compress", str(path), "--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("old, new, message", [
    ("rounds = 2", 'rounds = "3"', "spiral.rounds: expected an integer, got '3' (str)"),
    ("rounds = 2", "rounds = 2.5", "spiral.rounds: expected an integer, got 2.5 (float)"),
    ('pattern = "{pattern}"', 'pattern = "4x1"\nskip = "fc1"', "spiral.prune.skip: expected a list of strings, got 'fc1'"),
    ("rounds = 2", "rounds = 2\nstop_on_drop = 1", "spiral.stop_on_drop: expected true or false, got 1 (int)"),
    ("target_sparsity = 0.8", 'target_sparsity = "0.8"', "spiral.target_sparsity: expected a finite number"),
    ("limit = 128", 'limit = 128\nbatch_size = "64"', "data.batch_size: expected an integer"),
    ('loss = "soft"', "loss = 3", "spiral.distill.loss: expected a string, got 3 (int)"),
    ('loss = "soft"', 'loss = "soft"\nhints = [["a", 1]]', "spiral.distill.hints: expected a list of lists of strings"),
])
def test_recipe_values_are_type_checked_by_key(tmp_path, capsys, old, new, message):
    text = GOOD.replace(old, new)
    path = tmp_path / "recipe.toml"
    path.write_text(text.format(criterion="magnitude", pattern="4x1", out=str(tmp_path / "run")))
    assert main(["compress", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_configs_built_in_python_are_type_checked_too():
    with pytest.raises(ValueError, match=r"prune.skip: expected a list of strings, got 'fc1'"):
        PruneConfig(skip="fc1").validate()
    with pytest.raises(ValueError, match=r"^rounds: expected an integer, got True"):
        SpiralConfig(rounds=True).validate()
    with pytest.raises(ValueError, match=r"distill.lr: expected a finite number, got nan"):
        DistillConfig(lr=float("nan")).validate()
    SpiralConfig(target_sparsity=1 - 1e-9, tolerance=0).validate()  # ints where floats are declared are fine


@pytest.mark.parametrize("kw, message", [
    ({"round_steps": -1}, "round_steps: expected >= 0"),
    ({"round_steps": 10, "final_epochs": 2}, "final_epochs: with round_steps > 0"),
    ({"final_steps": 10}, "final_steps: needs round_steps > 0"),
    ({"recovery_lr_schedule": "step"}, "recovery_lr_schedule: expected"),
])
def test_budget_fields_are_validated(kw, message):
    with pytest.raises(ValueError, match=message):
        SpiralConfig(**kw).validate()
