"""Calibration activations for activation-aware criteria (``wanda``, ``sparsegpt``).

What a criterion needs is what each weight multiplies: the rows of the layer's input matrix X
(tokens x K for a Linear; im2col patches x K for a Conv2d, K = C_in/groups * kh * kw ordered as
``weight.reshape(N, -1)``). Forward hooks collect, per layer, either the column sums of squares
``sum_t x_tj^2`` (Wanda's ``||X_j||^2``) or the Gram matrix ``X^T X`` (SparseGPT's Hessian), per
convolution group, over the first ``batches`` calibration batches. Padding tokens are left out
when a dict batch carries an ``attention_mask`` matching the layer input's (batch, seq) shape.

Only the layers asked for are hooked, and the forward stops as soon as the last of them has run,
so the cost of a group of layers is the model up to that group, and at most one group's Gram
matrices are alive at a time (see ``sparsegpt.prune_sequential``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spiralkit.compress import batches as B
from spiralkit.errors import UnsupportedError


class _Stop(Exception):
    """Raised by the last hook of interest: the rest of the forward is not needed."""


def token_mask(inputs) -> "torch.Tensor | None":
    """The (batch, seq) bool mask of real tokens of a dict batch, else None."""
    if isinstance(inputs, dict) and torch.is_tensor(inputs.get("attention_mask")):
        return inputs["attention_mask"].bool()
    return None


def groups_of(module: nn.Module) -> int:
    return module.groups if isinstance(module, nn.Conv2d) else 1


def input_rows(module: nn.Module, x: torch.Tensor, mask: "torch.Tensor | None") -> torch.Tensor:
    """The layer input as (groups, rows, K): what ``weight.reshape(N, -1)`` multiplies, per group."""
    if isinstance(module, nn.Linear):
        k = x.shape[-1]
        if mask is not None and x.dim() == 3 and tuple(x.shape[:2]) == tuple(mask.shape):
            return x[mask.to(x.device)].reshape(1, -1, k)
        return x.reshape(1, -1, k)
    if isinstance(module, nn.Conv2d):
        if x.dim() == 3:
            x = x[None]
        # Padding first (any padding_mode, 'same' included), then patches without padding.
        pad = module._reversed_padding_repeated_twice
        if any(pad):
            mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
            x = F.pad(x, pad, mode=mode)
        cols = F.unfold(x, module.kernel_size, dilation=module.dilation, padding=0, stride=module.stride)
        g = module.groups
        k = cols.shape[1] // g
        # (B, G*K, L) -> (G, B*L, K): channel-major columns, as weight.reshape(N, -1) orders them.
        return cols.reshape(cols.shape[0], g, k, -1).permute(1, 0, 3, 2).reshape(g, -1, k)
    raise UnsupportedError(f"calibration: {type(module).__name__} is not a Linear or Conv2d")


def _all_reduce(tensors: list[torch.Tensor]) -> None:
    rank, size = B.world()
    if size > 1:
        import torch.distributed as dist

        for t in tensors:
            dist.all_reduce(t)


@torch.no_grad()
def forward_groups(model: nn.Module, layers: dict[str, nn.Module], data) -> list[list[str]]:
    """``layers`` in the order a forward pass reaches them, consecutive layers that read the
    same input tensor (e.g. q, k, v) grouped: the order SparseGPT must prune them in."""
    fired: list[tuple[str, torch.Tensor]] = []  # holding the inputs keeps their ids unique
    seen: set[str] = set()

    def hook(name):
        def fn(module, inputs, output):
            if name not in seen:
                seen.add(name)
                fired.append((name, inputs[0]))

        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    was_training = model.training
    model.eval()
    try:
        batch = next(iter(B.rank_batches(data, 1)), None)
        if batch is None:
            raise ValueError("prune: the calibration data has no batch")
        B.call(model, B.to_device(B.split_batch(batch)[0], B.device_of(model)))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    missing = [n for n in layers if n not in seen]
    if missing:
        raise ValueError(f"prune: layer(s) {', '.join(missing)} never ran on the calibration data")
    groups: list[list[str]] = []
    last_input = None
    for name, tensor in fired:
        if groups and tensor is last_input:
            groups[-1].append(name)
        else:
            groups.append([name])
        last_input = tensor
    return groups


@torch.no_grad()
def collect(model: nn.Module, layers: dict[str, nn.Module], data, batches: int, *, gram: bool) -> dict[str, dict]:
    """Per layer: ``{"input_sq": (G, K) float64, "rows": int}`` and, with ``gram``, ``"gram"``
    (G, K, K) float64 = X^T X, over the first ``batches`` batches of ``data`` (summed over ranks)."""
    stats: dict[str, dict] = {}
    pending: set[str] = set()
    current_mask: list = [None]

    def hook(name):
        def fn(module, inputs, output):
            rows = input_rows(module, inputs[0].detach(), current_mask[0])
            s = stats.get(name)
            if s is None:
                g, _, k = rows.shape
                s = stats[name] = {"input_sq": torch.zeros(g, k, dtype=torch.float64, device=rows.device), "rows": 0}
                if gram:
                    s["gram"] = torch.zeros(g, k, k, dtype=torch.float64, device=rows.device)
            rows = rows.float()
            s["input_sq"] += (rows.double() ** 2).sum(1)
            if gram:
                s["gram"] += torch.bmm(rows.transpose(1, 2), rows).double()  # float32 product, float64 sum
            s["rows"] += rows.shape[1]
            pending.discard(name)
            if not pending:
                raise _Stop

        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    was_training = model.training
    model.eval()
    device = B.device_of(model)
    count = 0
    try:
        for batch in B.rank_batches(data, batches):
            x = B.to_device(B.split_batch(batch)[0], device)
            current_mask[0] = token_mask(x)
            pending.clear()
            pending.update(layers)
            try:
                B.call(model, x)
            except _Stop:
                pass
            count += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if count == 0:
        raise ValueError("prune: the activation-aware criterion got no calibration batch from the data")
    missing = [n for n in layers if n not in stats]
    if missing:
        raise ValueError(f"prune: layer(s) {', '.join(missing)} never ran on the calibration data")
    for s in stats.values():
        tensors = [s["input_sq"]] + ([s["gram"]] if gram else [])
        _all_reduce(tensors)
    return stats
