"""Pruning masks kept on the model, so no later training step can regrow a pruned weight.

A mask is a ``torch.nn.utils.parametrize`` parametrization: the module's ``weight`` is computed as
``original * mask`` on every access. The gradient reaching ``original`` at a pruned position is
therefore exactly zero, and whatever an optimizer does to ``original`` there (momentum, weight
decay) never shows in ``weight``. The mask is a buffer, so it travels with ``state_dict`` and
DDP's buffer broadcast; :func:`masks_of` / :func:`apply_masks` move masks between models.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

PRUNABLE = (nn.Linear, nn.Conv2d)


class WeightMask(nn.Module):
    """weight = original * mask (mask: 0/1 in the weight's dtype)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, original: torch.Tensor) -> torch.Tensor:
        return original * self.mask


def get_mask(module: nn.Module) -> "torch.Tensor | None":
    """The module's keep-mask (bool), or None when it is not masked."""
    if parametrize.is_parametrized(module, "weight"):
        for p in module.parametrizations.weight:
            if isinstance(p, WeightMask):
                return p.mask.bool()
    return None


def set_mask(module: nn.Module, keep: torch.Tensor) -> None:
    """Mask ``module.weight`` with ``keep`` (True = kept), intersected with any mask it has:
    pruning only ever removes weights."""
    weight = module.weight
    keep = keep.to(device=weight.device).bool()
    if keep.shape != weight.shape:
        raise ValueError(f"mask: expected shape {tuple(weight.shape)}, got {tuple(keep.shape)}")
    old = get_mask(module)
    if old is not None:
        keep = keep & old
        for p in module.parametrizations.weight:
            if isinstance(p, WeightMask):
                p.mask.copy_(keep.to(p.mask.dtype))
    else:
        parametrize.register_parametrization(module, "weight", WeightMask(keep.to(weight.dtype)))
    # Zero the stored values too, so a later strip/export cannot resurrect them.
    with torch.no_grad():
        module.parametrizations.weight.original.mul_(keep.to(weight.dtype))


def masked_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if get_mask(m) is not None}


def masks_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """{module name: bool keep-mask} of every masked layer."""
    return {name: get_mask(m).detach().cpu() for name, m in masked_layers(model).items()}


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    missing = sorted(set(masks) - set(modules))
    if missing:
        raise ValueError(f"masks: the model has no module(s) {', '.join(missing)}")
    for name, keep in masks.items():
        set_mask(modules[name], keep)


def strip_masks(model: nn.Module) -> nn.Module:
    """Bake masks into plain weights (zeros stay zeros) and remove the parametrizations."""
    for module in list(masked_layers(model).values()):
        _own_class(module)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model


def _own_class(module: nn.Module) -> None:
    """A deep copy of a parametrized module shares its generated class (which holds the
    ``weight`` property); removing the parametrization from one would then strip the other's
    property too. Give the module a private copy of that class first."""
    cls = module.__class__
    module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))


def plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as an unmasked model of the same shapes would have it (masked weights
    already multiplied), so checkpoints load into plain modules and are easy to inspect."""
    out = {}
    for key, value in model.state_dict().items():
        if ".parametrizations.weight." in key:
            continue
        out[key] = value
    for name, module in masked_layers(model).items():
        out[f"{name}.weight" if name else "weight"] = module.weight.detach()
    return out
