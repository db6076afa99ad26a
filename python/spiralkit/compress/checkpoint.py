"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

A model is saved as its plain state dict (masked weights already multiplied) plus one uint8
tensor ``__mask__.<layer>`` per masked layer. Loading rebuilds masks. Every stored tensor must
have the model's shape -- a mismatch is a ``FormatError`` naming the tensor -- except in a
checkpoint of a channel-pruned model (marked so in its metadata), whose Linear / Conv2d /
BatchNorm tensors may be smaller: those modules are shrunk to the stored shapes first, so such a
checkpoint loads into a freshly built model of the original architecture. Writes go to a
temporary file renamed into place, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from spiralkit.compress.channel import SHRUNK_FLAG
from spiralkit.compress.masks import apply_masks, masks_of, plain_state_dict, strip_masks
from spiralkit.errors import FormatError

MASK_PREFIX = "__mask__."
CHANNEL_PRUNED_KEY = "spiralkit.channel_pruned"  # safetensors metadata: the shapes may be smaller


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: two writers never share one
    write(tmp)
    os.replace(tmp, path)


def save_model(model: nn.Module, path: "str | Path") -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in plain_state_dict(model).items()}
    for name, keep in masks_of(model).items():
        tensors[MASK_PREFIX + name] = keep.to(torch.uint8).contiguous()
    metadata = {CHANNEL_PRUNED_KEY: "true"} if getattr(model, SHRUNK_FLAG, False) else None
    _atomic(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def _read(path: "str | Path") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return {k: fh.get_tensor(k) for k in fh.keys()}, dict(fh.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise FormatError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc


def load_tensors(path: "str | Path") -> dict[str, torch.Tensor]:
    return _read(path)[0]


def load_model(model: nn.Module, path: "str | Path") -> nn.Module:
    """Load a :func:`save_model` checkpoint into ``model`` (same architecture), in place."""
    tensors, metadata = _read(path)
    masks = {k[len(MASK_PREFIX):]: v.bool() for k, v in tensors.items() if k.startswith(MASK_PREFIX)}
    state = {k: v for k, v in tensors.items() if not k.startswith(MASK_PREFIX)}
    strip_masks(model)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise FormatError(f"{path}: does not match the model (missing {missing}, unexpected {unexpected})")
    shrunk = metadata.get(CHANNEL_PRUNED_KEY) == "true"
    for key, tensor in own.items():  # in the model's order, so the first mismatch is named
        _check_shape(path, key, tuple(state[key].shape), tuple(tensor.shape), shrunk)
    for name, keep in masks.items():
        weight = state.get(name + ".weight")
        if weight is None or tuple(keep.shape) != tuple(weight.shape):
            raise FormatError(f"{path}: mask '{MASK_PREFIX}{name}' has no weight of its shape {tuple(keep.shape)}")
    if shrunk:
        _resize_to(model, state)
        setattr(model, SHRUNK_FLAG, True)
    model.load_state_dict(state, strict=True)
    apply_masks(model, masks)
    return model


def _check_shape(path, key: str, stored: tuple, own: tuple, shrunk: bool) -> None:
    """The stored tensor must fit the model: the same shape, or -- channel-pruned checkpoints
    only -- the same rank and no dimension larger (filters removed, never added)."""
    if stored == own:
        return
    if shrunk and len(stored) == len(own) and all(0 < s <= o for s, o in zip(stored, own)):
        return
    raise FormatError(f"{path}: tensor '{key}' has shape {list(stored)} in the file but {list(own)} in the model")


def _resize_to(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Give every tensor the stored shape (channel pruning shrinks them) and keep the modules'
    size attributes consistent."""
    modules = dict(model.named_modules())
    own = model.state_dict()
    for key, value in state.items():
        if own[key].shape == value.shape:
            continue
        module_name, _, attr = key.rpartition(".")
        module = modules[module_name]
        if not isinstance(module, (nn.Linear, nn.Conv2d, nn.modules.batchnorm._BatchNorm)):
            raise FormatError(f"tensor '{key}': channel pruning resizes only Linear, Conv2d and BatchNorm, "
                              f"not {type(module).__name__}")
        fresh = torch.empty(value.shape, dtype=own[key].dtype, device=own[key].device)
        if attr in module._parameters:
            module._parameters[attr] = nn.Parameter(fresh, requires_grad=module._parameters[attr].requires_grad)
        else:
            module._buffers[attr] = fresh
        if isinstance(module, nn.Conv2d) and attr == "weight":
            module.out_channels, module.in_channels = value.shape[0], value.shape[1] * module.groups
        elif isinstance(module, nn.Linear) and attr == "weight":
            module.out_features, module.in_features = value.shape
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and attr == "weight":
            module.num_features = value.shape[0]


def save_json(data, path: "str | Path") -> None:
    _atomic(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2)))


def load_json(path: "str | Path"):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: unreadable JSON ({exc})") from exc
