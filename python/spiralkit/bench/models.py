"""Reference models for the model benchmark, written from scratch in torch (no torchvision).

* :func:`resnet50` — torchvision's ResNet-50 (v1.5: the stride sits on the 3x3 conv of each
  bottleneck), BN after every conv, 224x224 input, 1000 classes.
* :func:`mobilenet_v2` — torchvision's MobileNet-v2 at width 1.0: ReLU6, inverted residuals,
  depthwise 3x3, 1280-channel head, dropout + linear classifier.
* :func:`bert_encoder` — a stack of BERT-base encoder layers over float hidden states
  ``[B, S, hidden]`` (no embeddings): Q/K/V ``Linear``, attention as explicit ``matmul`` +
  ``softmax`` (never ``F.scaled_dot_product_attention``, so the ONNX graph shows MatMul/Softmax),
  output dense + residual + LayerNorm, intermediate Linear + exact (erf) GELU, output Linear +
  residual + LayerNorm (post-LN, as BERT).
* :func:`minilm_hidden` — the real pretrained MiniLM-L6 (``spiralkit.models.minilm``) as
  ``token ids [B, S] -> last hidden states [B, S, 384]`` with an all-ones attention mask.

Plus the helpers the benchmark needs: :func:`prune_model` (``spiralkit.prune_to_pattern`` on every
prunable weight), :func:`randomize_bn` (non-trivial BN statistics so BN folding is exercised) and
:func:`export_onnx` (one self-contained ``.onnx`` file, input ``"input"``, output ``"output"``,
dynamic batch axis).

Every constructor takes a ``seed`` and builds the same weights for the same seed.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "resnet50",
    "mobilenet_v2",
    "bert_encoder",
    "minilm_hidden",
    "BertEncoder",
    "MiniLMHidden",
    "prunable_layers",
    "prune_model",
    "randomize_bn",
    "export_onnx",
    "weight_sparsity",
]


# ------------------------------------------------------------------------------------------ ResNet-50


class Bottleneck(nn.Module):
    """torchvision's ``Bottleneck``: 1x1 reduce, 3x3 (stride here), 1x1 expand (x4), residual."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), num_classes: int = 1000, width: int = 64) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet50(num_classes: int = 1000, *, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3),
             seed: int = 0) -> ResNet:
    """ResNet-50 as torchvision builds it (defaults); ``width``/``layers`` shrink it for tests.

    Any input size works (adaptive average pooling); the benchmark uses 224x224."""
    torch.manual_seed(seed)
    return ResNet(layers, num_classes, width).eval()


# ---------------------------------------------------------------------------------------- MobileNet-v2


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # never round down by more than 10 %
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    def __init__(self, inp: int, oup: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(oup),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel=1))  # pointwise expand
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depthwise 3x3
            nn.Conv2d(hidden, oup, 1, bias=False),  # pointwise linear projection
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    # (expansion t, channels c, repeats n, first stride s), as in the paper and torchvision
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        input_channel = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU6(3, input_channel, stride=2)]
        for t, c, n, s in self.SETTINGS:
            out = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(input_channel, out, s if i == 0 else 1, t))
                input_channel = out
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def mobilenet_v2(num_classes: int = 1000, *, width_mult: float = 1.0, seed: int = 0) -> MobileNetV2:
    """MobileNet-v2 as torchvision builds it (width 1.0 by default)."""
    torch.manual_seed(seed)
    return MobileNetV2(num_classes, width_mult).eval()


# ------------------------------------------------------------------------------------------ BERT encoder


class BertSelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.heads, self.head_dim = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # int(): the tracer records seq and hidden as constants, and -1 stands for the batch, so every
        # reshape target is a constant in the ONNX graph (no Shape/Gather/Unsqueeze/Concat chain).
        s, h = int(x.shape[1]), int(x.shape[2])

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.reshape(-1, s, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        return ctx.transpose(1, 2).reshape(-1, s, h)


class BertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float = 1e-12) -> None:
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(self.attention_output(self.attention(x)) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(x))) + x)  # exact (erf) GELU


class BertEncoder(nn.Module):
    """``layers`` BERT layers over float hidden states ``[B, seq, hidden]`` -> ``[B, seq, hidden]``."""

    def __init__(self, layers: int, hidden: int, heads: int, intermediate: int, seq: int) -> None:
        super().__init__()
        self.hidden, self.seq = hidden, seq
        self.layer = nn.ModuleList(BertLayer(hidden, heads, intermediate) for _ in range(layers))
        # BERT's initialiser for the weights; biases and LayerNorm affine get small random values
        # (a trained model has them) so an engine that drops or misplaces them is caught.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.02)
                nn.init.normal_(m.bias, 0, 0.02)
            elif isinstance(m, nn.LayerNorm):
                nn.init.normal_(m.weight, 1.0, 0.1)
                nn.init.normal_(m.bias, 0, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x

    def example(self, batch: int = 1, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(batch, self.seq, self.hidden, generator=g)


def bert_encoder(layers: int = 4, hidden: int = 768, heads: int = 12, intermediate: int = 3072, seq: int = 128, *,
                 seed: int = 0) -> BertEncoder:
    """A BERT-base encoder stack (defaults: 4 layers of BERT-base, sequence 128).

    ``seq`` is the sequence length the benchmark feeds (see :meth:`BertEncoder.example`); the
    module itself runs on any length."""
    torch.manual_seed(seed)
    return BertEncoder(layers, hidden, heads, intermediate, seq).eval()


# --------------------------------------------------------------------------------------------- MiniLM


class MiniLMHidden(nn.Module):
    """The pretrained MiniLM encoder as ``token ids [B, S] (int64) -> last hidden states [B, S, H]``.

    Same numbers as ``MiniLMEncoder.token_embeddings(ids, ones_like(ids))`` (all tokens real), but
    written so it exports cleanly: token type 0 and positions ``0..S-1`` are folded into one
    constant added after the word-embedding ``Gather``, and the attention mask — all ones, so an
    additive mask of zeros — is left out instead of exported as a ``+ 0``.
    """

    def __init__(self, encoder: nn.Module, seq: int = 128) -> None:
        super().__init__()
        self.encoder = encoder
        self.seq = seq

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        emb = self.encoder.embeddings
        s = int(input_ids.shape[1])
        pos_type = emb.position_embeddings.weight[:s] + emb.token_type_embeddings.weight[0]
        x = emb.LayerNorm(emb.word_embeddings(input_ids) + pos_type)
        for layer in self.encoder.encoder.layer:
            att = layer.attention
            x = att.output(_minilm_self_attention(att.self, x), x)
            x = layer.output(layer.intermediate(x), x)
        return x

    def example(self, batch: int = 1, seed: int = 0) -> torch.Tensor:
        """Token ids ``[batch, seq]``: ``[CLS] w... [SEP]`` with random word ids (no padding)."""
        g = torch.Generator().manual_seed(seed)
        vocab = self.encoder.config.vocab_size
        ids = torch.randint(1000, vocab, (batch, self.seq), generator=g)
        ids[:, 0], ids[:, -1] = 101, 102
        return ids


def _minilm_self_attention(sa: nn.Module, x: torch.Tensor) -> torch.Tensor:
    s, h = int(x.shape[1]), int(x.shape[2])  # constants in the trace, as in BertSelfAttention
    d = h // sa.num_heads

    def split(y: torch.Tensor) -> torch.Tensor:
        return y.reshape(-1, s, sa.num_heads, d).transpose(1, 2)

    q, k, v = split(sa.query(x)), split(sa.key(x)), split(sa.value(x))
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
    ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
    return ctx.transpose(1, 2).reshape(-1, s, h)


def minilm_hidden(seq: int = 128, path=None) -> MiniLMHidden:
    """The real pretrained MiniLM-L6 (``spiralkit.models.minilm.load_minilm``) wrapped by :class:`MiniLMHidden`."""
    from spiralkit.models.minilm import load_minilm

    return MiniLMHidden(load_minilm(path), seq).eval()


# ------------------------------------------------------------------------------------------- pruning


def _is_depthwise(m: nn.Conv2d) -> bool:
    return m.groups > 1 and m.groups == m.in_channels


def prunable_layers(model: nn.Module, skip_first_conv: bool = True) -> list[tuple[str, nn.Module]]:
    """The layers :func:`prune_model` prunes, in module order: every ``Conv2d`` but depthwise ones
    (and the first conv, the 3-channel stem, when ``skip_first_conv``) and every ``Linear``."""
    out = []
    first_conv_seen = False
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            is_first = not first_conv_seen
            first_conv_seen = True
            if (is_first and skip_first_conv) or _is_depthwise(m):
                continue
            out.append((name, m))
        elif isinstance(m, nn.Linear):
            out.append((name, m))
    return out


@torch.no_grad()
def prune_model(model: nn.Module, pattern: str, sparsity: float, skip_first_conv: bool = True) -> nn.Module:
    """Prune in place with ``spiralkit.prune_to_pattern(weight, pattern, sparsity)``, per layer.

    Pruned: every ``nn.Conv2d`` except depthwise ones (``groups == in_channels > 1``: 9 weights per
    channel, nothing to gain) and, when ``skip_first_conv``, the stem (the first conv in module
    order, K = 3 x kh x kw); every ``nn.Linear`` *including the final classifier* (ResNet ``fc``,
    MobileNet ``classifier.1``) and all of BERT's/MiniLM's Q/K/V/output/intermediate layers.
    Embeddings, BN, LayerNorm and biases stay dense. Each weight is pruned as its logical
    ``N x K = weight.reshape(N, -1)`` matrix (K ordered Cin, kh, kw for a conv). ``sparsity == 0``
    leaves the model untouched. Returns ``model``.
    """
    import spiralkit

    if sparsity <= 0:
        return model
    for _, m in prunable_layers(model, skip_first_conv):
        w = m.weight.detach().cpu().numpy()
        m.weight.copy_(torch.from_numpy(np.ascontiguousarray(spiralkit.prune_to_pattern(w, pattern, sparsity))))
    return model


def weight_sparsity(model: nn.Module, skip_first_conv: bool = True) -> float:
    """Fraction of zeros over the weights :func:`prune_model` acts on."""
    zeros = total = 0
    for _, m in prunable_layers(model, skip_first_conv):
        zeros += int((m.weight == 0).sum())
        total += m.weight.numel()
    return zeros / max(1, total)


@torch.no_grad()
def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters (fixed seed), so
    an engine that folds BN into the preceding conv is actually tested. Scales stay in [0.5, 1.5]
    and variances in [0.5, 2] so activations neither vanish nor blow up through 50 layers."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
            m.weight.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model


# --------------------------------------------------------------------------------------------- export


def export_onnx(model: nn.Module, example: "torch.Tensor | np.ndarray", path: "str | os.PathLike",
                dynamic_batch: bool = True, *, opset: int = 17, fold_bn: bool = True,
                exporter: str = "legacy") -> str:
    """Write ``model`` as one self-contained ONNX file (weights inline, no external data).

    ``exporter="legacy"`` (default) is the TorchScript-based ``torch.onnx.export(..., dynamo=False)``
    at opset 17 with constant folding: plain ONNX ops, ``LayerNormalization`` as one op, GELU as its
    erf form (Div, Erf, Add, Mul, Mul), ``nn.Linear`` on 3-D input as ``MatMul`` (weight stored
    transposed, ``[K, N]``) + ``Add``, on 2-D input as ``Gemm(transB=1)``. With ``fold_bn`` (default)
    the exporter folds every eval-mode BatchNorm into the preceding Conv, so the graph has no
    ``BatchNormalization``; ``fold_bn=False`` keeps them (``TrainingMode.PRESERVE`` on the eval
    model) for an engine that folds BN itself. ``exporter="dynamo"`` uses ``torch.export`` with a
    dynamic batch ``Dim`` instead, at opset 18 or later (also the fallback where the legacy exporter is
    gone): BN folded, global pooling as ``ReduceMean``, flatten as ``Reshape``.

    Input ``"input"``, output ``"output"``; with ``dynamic_batch`` axis 0 of both is ``"batch"``.
    Returns the path.
    """
    if exporter not in ("legacy", "dynamo"):
        raise ValueError(f"exporter: expected 'legacy' or 'dynamo', got {exporter!r}")
    path = os.fspath(path)
    if isinstance(example, np.ndarray):
        example = torch.from_numpy(example)
    model = model.eval()
    names = dict(input_names=["input"], output_names=["output"], opset_version=opset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings for the int() shape constants
        if exporter == "legacy":
            try:
                torch.onnx.export(
                    model, (example,), path, dynamo=False, do_constant_folding=True,
                    training=torch.onnx.TrainingMode.EVAL if fold_bn else torch.onnx.TrainingMode.PRESERVE,
                    dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None,
                    **names,
                )
                return path
            except TypeError:  # a torch without the dynamo= switch: export below
                pass
        dynamic = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic_batch else None
        # opset >= 18: the dynamo exporter's native opset; converting down to 17 fails on ReduceMean.
        names["opset_version"] = max(opset, 18)
        program = torch.onnx.export(model, (example,), dynamo=True, dynamic_shapes=dynamic, external_data=False,
                                    verbose=False, **names)
        program.save(path, external_data=False)
    return path


BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "bert": bert_encoder,
    "minilm": minilm_hidden,
}
