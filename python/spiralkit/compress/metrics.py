"""What every round records: quality metrics, sparsity, parameters, packed bytes, FLOPs.

``classification_metrics`` is the default evaluation; any ``evaluate(model, val_data) -> dict``
can replace it (see ``spiralkit.compress.distill``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.compress.masks import PRUNABLE, get_mask


@torch.no_grad()
def classification_metrics(model: nn.Module, data, max_batches: int = 0) -> dict[str, float]:
    """Accuracy and macro precision / recall / F1 over ``data`` (all ranks' batches when
    distributed: every rank returns the same numbers)."""
    was_training = model.training
    model.eval()
    device = B.device_of(model)
    preds, labels = [], []
    for batch in B.rank_batches(data, max_batches):
        x, y = B.split_batch(batch)
        if y is None:
            raise ValueError("val_data: classification metrics need (inputs, labels) batches")
        preds.append(B.call(model, B.to_device(x, device)).argmax(-1).cpu())
        labels.append(y.cpu())
    model.train(was_training)
    pred = torch.cat(preds)
    true = torch.cat(labels)
    pred, true = _gather(pred), _gather(true)
    return macro_scores(pred.numpy(), true.numpy())


def _gather(t: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist

    rank, size = B.world()
    if size == 1:
        return t
    parts = [None] * size
    dist.all_gather_object(parts, t)
    return torch.cat(parts)


def macro_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    classes = np.union1d(np.unique(true), np.unique(pred))
    precision, recall, f1 = [], [], []
    for c in classes:
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return {
        "accuracy": float(np.mean(pred == true)),
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)),
        "f1": float(np.mean(f1)),
    }


def layer_weight(module: nn.Module) -> torch.Tensor:
    return module.weight.detach()


def size_reference(model: nn.Module, layer_names) -> dict:
    """The sizes sparsity is measured against: the named layers' weight counts and all
    parameters, taken before pruning (channel pruning shrinks the tensors themselves)."""
    modules = dict(model.named_modules())
    return {
        "layers": {name: layer_weight(modules[name]).numel() for name in layer_names},
        "params": count_params(model)[0],
    }


def count_params(model: nn.Module) -> tuple[int, int]:
    """(total, non-zero) parameters, masked weights counted by their effective value."""
    total = nonzero = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if name == "original":
                continue  # counted below through the parametrized module's effective weight
            total += p.numel()
            nonzero += int((p != 0).sum())
        if get_mask(module) is not None:
            w = layer_weight(module)
            total += w.numel()
            nonzero += int((w != 0).sum())
    return total, nonzero


def sparsity_report(model: nn.Module, reference: dict) -> dict[str, float]:
    """Fraction of zero (or removed) weights in the pruned layers and in the whole model, both
    against ``reference`` (see :func:`size_reference`), and the parameter counts now."""
    modules = dict(model.named_modules())
    kept = sum(int((layer_weight(modules[n]) != 0).sum()) for n in reference["layers"] if n in modules)
    layer_total = sum(reference["layers"].values())
    total, nonzero = count_params(model)
    return {
        "sparsity_pruned_layers": 1.0 - kept / layer_total if layer_total else 0.0,
        "sparsity_model": 1.0 - nonzero / reference["params"] if reference["params"] else 0.0,
        "params": total,
        "params_nonzero": nonzero,
    }


def count_flops(model: nn.Module, example_inputs, *, sparse: bool = True) -> int:
    """Multiply-accumulates x 2 of the Linear and Conv2d layers for one ``example_inputs`` forward.
    With ``sparse``, each layer counts only its non-zero weights (what a sparse kernel executes)."""
    total = [0]

    def hook(module, inputs, output):
        w = layer_weight(module)
        density = float((w != 0).sum()) / w.numel() if sparse else 1.0
        if isinstance(module, nn.Linear):
            macs = output.numel() * module.in_features
        else:
            k = w.shape[1] * w.shape[2] * w.shape[3]
            macs = output.numel() * k
        total[0] += int(2 * macs * density)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, PRUNABLE)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            B.call(model, example_inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total[0]


def packed_nbytes(model: nn.Module, pattern: str) -> "int | None":
    """Bytes of the model as spiralkit ships it: masked layers packed by ``spiralkit.pack`` in
    their pattern, everything else dense (fp32 parameters and buffers). None when the native
    extension is missing: an estimate would pass for a measurement in the round records."""
    from spiralkit.patterns import parse_pattern

    pat = parse_pattern(pattern)
    total = 0
    for module in model.modules():
        mask = get_mask(module)
        for name, p in module.named_parameters(recurse=False):
            if name != "original":
                total += p.numel() * p.element_size()
        for name, b in module.named_buffers(recurse=False):
            if name != "mask" and b.is_floating_point():
                total += b.numel() * b.element_size()
        if mask is not None:
            layer = _packed_layer_nbytes(layer_weight(module), pat)
            if layer is None:
                return None
            total += layer
    return total


def _packed_layer_nbytes(weight: torch.Tensor, pattern) -> "int | None":
    from spiralkit._native import lib
    from spiralkit.sparse import pack

    try:
        lib()
    except ImportError:
        return None
    kind = "dense" if pattern.kind == "channel" else pattern.name
    return int(pack(weight.detach().cpu().float().numpy(), kind).nbytes)
