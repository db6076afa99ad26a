"""Checkpoints load only into a model with the same tensors (channel-pruned ones may shrink it)."""

import pytest
from torch import nn

from spiralkit.compress import load_model, save_model
from spiralkit.compress.checkpoint import CHANNEL_PRUNED_KEY
from spiralkit.errors import FormatError


def _mlp(hidden=16):
    return nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def test_a_different_shape_is_a_format_error_naming_the_tensor(tmp_path):
    save_model(_mlp(16), tmp_path / "m.safetensors")
    other = _mlp(32)
    before = other[0].weight.detach().clone()
    with pytest.raises(FormatError, match=r"tensor '0.weight' has shape \[16, 8\] in the file but \[32, 8\]"):
        load_model(other, tmp_path / "m.safetensors")
    assert other[0].weight.shape == before.shape  # nothing resized


def test_missing_or_extra_tensors_are_named(tmp_path):
    save_model(_mlp(), tmp_path / "m.safetensors")
    bigger = nn.Sequential(*_mlp(), nn.Linear(3, 2))
    with pytest.raises(FormatError, match=r"missing \['3.bias', '3.weight'\]"):
        load_model(bigger, tmp_path / "m.safetensors")


def test_a_larger_tensor_is_refused_even_from_a_channel_pruned_checkpoint(tmp_path):
    from safetensors.torch import save_file

    model = _mlp(32)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata={CHANNEL_PRUNED_KEY: "true"})
    with pytest.raises(FormatError, match=r"tensor '0.weight' has shape \[32, 8\] in the file but \[16, 8\]"):
        load_model(_mlp(16), tmp_path / "m.safetensors")
