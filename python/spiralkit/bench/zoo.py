"""Zoo cases of the model benchmark: build a reference model (fixed seeds), prune it to a pattern
and sparsity, export it to ONNX. Shared by ``benchmarks/bench_models.py`` (the sweep) and
``spiralkit bench model`` (one case).

Models: ``resnet50`` and ``mobilenet_v2`` (``image`` x ``image``, 1000 classes, BN statistics
randomised so folding is exercised), ``bert`` (BERT-base encoder, ``bert_layers`` layers, float
hidden states ``[B, seq, 768]``), ``minilm`` (the real pretrained MiniLM-L6, token ids ``[B, seq]``
-> last hidden states, all-ones attention mask). Pruning is :func:`spiralkit.bench.models.prune_model`
(every Conv2d but the stem and depthwise ones, every Linear including the classifier); sparsity 0
is the dense model (pattern ``dense``).
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import numpy as np

ZOO = ("resnet50", "mobilenet_v2", "bert", "minilm")

__all__ = ["ZOO", "build_model", "case_record", "case_tag", "prune_and_export", "rebuild", "save_weights", "zoo_case"]


def build_model(name: str, *, seq: int = 128, bert_layers: int = 4, image: int = 224):
    """The unpruned torch model (eval mode) and a function ``batch -> example (numpy)``, fixed seeds."""
    import torch

    from spiralkit.bench import models as M

    if name == "resnet50":
        model = M.randomize_bn(M.resnet50(seed=0), seed=1)
    elif name == "mobilenet_v2":
        model = M.randomize_bn(M.mobilenet_v2(seed=0), seed=1)
    elif name == "bert":
        model = M.bert_encoder(layers=bert_layers, seq=seq, seed=0)
    elif name == "minilm":
        model = M.minilm_hidden(seq=seq)
    else:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(ZOO)}")

    def example(batch: int) -> np.ndarray:
        if name in ("bert", "minilm"):
            return model.example(batch, seed=2).numpy()
        g = torch.Generator().manual_seed(2)
        return torch.randn(batch, 3, image, image, generator=g).numpy()

    return model.eval(), example


def save_weights(model, path) -> None:
    """The (pruned) model's tensors as safetensors: what another process needs, besides the zoo
    spec, to rebuild it. Modules are never pickled (a pickle runs code when loaded)."""
    from safetensors.torch import save_model

    save_model(model, os.fspath(path))


def rebuild(spec: dict, weights_path):
    """The model ``build_model(**spec)`` makes, with the tensors :func:`save_weights` wrote (every
    tensor must match by name and shape)."""
    from safetensors.torch import load_model

    model, _ = build_model(**spec)
    load_model(model, os.fspath(weights_path), strict=True)
    return model.eval()


def case_tag(name: str, pattern: str, sparsity: float) -> str:
    return f"{name}-{pattern.replace(':', 'of')}-{sparsity:g}"


def prune_and_export(base, example_fn, pattern: str, sparsity: float, onnx_path, *, fold_bn: bool = True):
    """A pruned copy of ``base`` (``base`` is left alone) exported to ``onnx_path`` (dynamic batch).
    Returns ``(model, measured weight sparsity)``."""
    from spiralkit.bench import models as M

    model = copy.deepcopy(base)
    if sparsity > 0:
        M.prune_model(model, pattern, sparsity)
    measured = M.weight_sparsity(model)
    M.export_onnx(model, example_fn(1), onnx_path, fold_bn=fold_bn)
    return model, measured


def case_record(name: str, pattern: str, sparsity: float, batch: int, measured: float, fold_bn: bool = True) -> dict:
    """The ``case`` dict a benchmark result carries."""
    return {"model": name, "pattern": pattern, "sparsity": sparsity, "batch": batch, "measured_sparsity": measured,
            "fold_bn": fold_bn}


def zoo_case(name: str, pattern: str, sparsity: float, batch: int, workdir, *, seq: int = 128, bert_layers: int = 4,
             image: int = 224, fold_bn: bool = True) -> dict:
    """One benchmark case, ready for :func:`spiralkit.bench.model_bench.bench_model`: ``name`` built,
    pruned to ``pattern``/``sparsity`` (0: dense), exported to ``workdir/<tag>/model.onnx``.

    Returns ``{"name", "tag", "model" (torch), "example" (numpy, batch ``batch``), "onnx_path",
    "case", "rebuild" (the ``build_model`` arguments, for :func:`rebuild`), "prepare_s"}``."""
    from spiralkit.patterns import parse_pattern

    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(ZOO)}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity: expected a value in [0, 1), got {sparsity}")
    if sparsity == 0:
        pattern = "dense"
    else:
        parse_pattern(pattern)  # a clear error before minutes of building
    t0 = time.perf_counter()
    base, example_fn = build_model(name, seq=seq, bert_layers=bert_layers, image=image)
    tag = case_tag(name, pattern, sparsity)
    case_dir = Path(os.fspath(workdir)) / tag
    case_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = case_dir / "model.onnx"
    model, measured = prune_and_export(base, example_fn, pattern, sparsity, onnx_path, fold_bn=fold_bn)
    return {"name": name, "tag": tag, "model": model, "example": example_fn(batch), "onnx_path": onnx_path,
            "case": case_record(name, pattern, sparsity, batch, measured, fold_bn),
            "rebuild": {"name": name, "seq": seq, "bert_layers": bert_layers, "image": image},
            "prepare_s": time.perf_counter() - t0}
