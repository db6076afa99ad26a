import numpy as np
import pytest
import torch
from torch import nn

from spiralkit import pattern_mask
from spiralkit.compress import (
    DistillConfig, EvolutionConfig, PruneConfig, distill, get_mask, load_model, masks_of, prune, save_model,
)
from spiralkit.compress.pruner import select_layers


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 24), nn.ReLU(), nn.Linear(24, 8),
                         nn.ReLU(), nn.Linear(8, 3))


def test_skip_first_and_last_by_default_and_configurable(tiny_cnn):
    assert list(select_layers(tiny_cnn, PruneConfig())) == ["conv2", "fc1"]
    cfg = PruneConfig(skip_first=False, skip_last=False, skip=["fc1"])
    assert list(select_layers(tiny_cnn, cfg)) == ["conv1", "conv2", "fc2"]
    assert list(select_layers(tiny_cnn, PruneConfig(include=["fc1"]))) == ["fc1"]
    with pytest.raises(ValueError, match="no Linear/Conv2d named nope"):
        select_layers(tiny_cnn, PruneConfig(skip=["nope"]))


@pytest.mark.parametrize("pattern", ["unstructured", "4x1", "1x4", "2x2", "2:4", "1:4"])
def test_pattern_respected_and_sparsity_reached(tiny_cnn, pattern):
    sparsity = 0.8
    modules = dict(tiny_cnn.named_modules())
    before = {n: modules[n].weight.detach().abs().double().numpy() for n in ("conv2", "fc1")}
    prune(tiny_cnn, PruneConfig(pattern=pattern, sparsity=sparsity))
    for name in ("conv2", "fc1"):
        module = modules[name]
        keep = get_mask(module).numpy()
        # The mask is exactly what pattern_mask gives for the weight's magnitudes ...
        assert np.array_equal(keep, pattern_mask(before[name], pattern, sparsity))
        # ... and the effective weight is zero exactly where pruned.
        assert (module.weight.detach().numpy()[~keep] == 0).all()
        mat = keep.reshape(keep.shape[0], -1)
        if pattern == "4x1":  # every 4-row block of a column is all kept or all pruned
            rows = mat.shape[0] // 4 * 4
            blocks = mat[:rows].reshape(rows // 4, 4, -1)
            assert np.all(blocks.all(1) | ~blocks.any(1))
        if pattern.endswith(":4"):
            n = int(pattern[0])
            groups = mat[:, : mat.shape[1] // 4 * 4].reshape(mat.shape[0], -1, 4)
            assert groups.sum(-1).max() <= n
        assert abs((~keep).mean() - sparsity) < 0.05


def test_masks_only_grow_monotonically(tiny_cnn):
    prune(tiny_cnn, PruneConfig(sparsity=0.5, criterion="random", seed=1))
    first = masks_of(tiny_cnn)
    prune(tiny_cnn, PruneConfig(sparsity=0.7, criterion="random", seed=2))
    second = masks_of(tiny_cnn)
    for name in first:
        assert not (second[name] & ~first[name]).any()  # nothing pruned comes back
        assert abs((~second[name]).float().mean().item() - 0.7) < 0.02


def test_gradients_masked_and_training_never_regrows(tiny_cnn, tiny_data):
    prune(tiny_cnn, PruneConfig(sparsity=0.9))
    keep = get_mask(tiny_cnn.fc1)
    x, y = tiny_data[0]
    nn.functional.cross_entropy(tiny_cnn(x), y).backward()
    grad = tiny_cnn.fc1.parametrizations.weight.original.grad
    assert grad[~keep].abs().max() == 0 and grad[keep].abs().max() > 0
    # Adam with weight decay and momentum, several epochs: pruned weights stay exactly zero.
    distill(tiny_cnn, None, DistillConfig(loss="task", epochs=2, lr=1e-2, weight_decay=1e-2), tiny_data,
            progress=False)
    assert torch.equal(get_mask(tiny_cnn.fc1), keep)
    assert (tiny_cnn.fc1.weight[~keep] == 0).all()
    assert (tiny_cnn.fc1.weight[keep] != 0).float().mean() > 0.99


def test_masks_survive_save_and_load(tiny_cnn, make_tiny_cnn, tmp_path, tiny_data):
    prune(tiny_cnn, PruneConfig(pattern="4x1", sparsity=0.75))
    save_model(tiny_cnn, tmp_path / "m.safetensors")
    loaded = load_model(make_tiny_cnn(seed=5), tmp_path / "m.safetensors")
    for name, keep in masks_of(tiny_cnn).items():
        assert torch.equal(masks_of(loaded)[name], keep)
    x = tiny_data[0][0]
    tiny_cnn.eval(), loaded.eval()
    assert torch.allclose(tiny_cnn(x), loaded(x))
    # The loaded model keeps its masks through training too.
    distill(loaded, None, DistillConfig(loss="task", epochs=1, lr=1e-2), tiny_data, progress=False)
    assert (loaded.fc1.weight[~masks_of(tiny_cnn)["fc1"]] == 0).all()


def test_global_allocation_ranks_across_layers():
    model = _mlp()
    with torch.no_grad():
        model[2].weight.mul_(100.0)  # layer 2 far more important by magnitude
    prune(model, PruneConfig(sparsity=0.5, allocation="global", max_layer_sparsity=0.95))
    s2 = (~get_mask(model[2])).float().mean().item()
    s4 = (~get_mask(model[4])).float().mean().item()
    # The unimportant layer goes first, up to the per-layer cap; the rest comes from layer 2.
    assert abs(s4 - 0.95) < 0.01
    assert abs(s2 - (480 - round(0.95 * 192)) / 768) < 0.01
    total = (~get_mask(model[2])).sum() + (~get_mask(model[4])).sum()
    assert abs(total.item() / (32 * 24 + 24 * 8) - 0.5) < 0.02


def test_evolutionary_allocation_meets_the_target(tiny_cnn, tiny_data):
    cfg = PruneConfig(sparsity=0.6, allocation="evolutionary",
                      evolution=EvolutionConfig(population=3, generations=1, recovery_batches=1, eval_batches=1, elite=1))
    result = prune(tiny_cnn, cfg, tiny_data, val_data=tiny_data)
    assert abs(result.sparsity - 0.6) < 0.03
    assert set(result.layer_sparsity) == {"conv2", "fc1"}


def test_l1_filter_with_block_pattern_prunes_whole_rows(tiny_cnn):
    prune(tiny_cnn, PruneConfig(criterion="l1_filter", pattern="1x4", sparsity=0.5))
    keep = get_mask(tiny_cnn.fc1)
    row_kept = keep.any(1)
    assert torch.equal(keep, row_kept[:, None].expand_as(keep))


def test_stripping_a_deep_copy_leaves_the_original_masked(tiny_cnn, tiny_data):
    import copy

    from spiralkit.compress import strip_masks

    prune(tiny_cnn, PruneConfig(sparsity=0.5))
    clone = strip_masks(copy.deepcopy(tiny_cnn))
    assert get_mask(clone.fc1) is None
    assert get_mask(tiny_cnn.fc1) is not None and tiny_cnn.fc1.weight.shape == clone.fc1.weight.shape
    assert torch.equal(tiny_cnn.fc1.weight, clone.fc1.weight)


def test_evolutionary_allocation_with_measured_latency_cost(tiny_cnn, tiny_data):
    pytest.importorskip("spiralkit._C")
    cfg = PruneConfig(sparsity=0.6, allocation="evolutionary",
                      evolution=EvolutionConfig(population=2, generations=1, recovery_batches=1, eval_batches=1,
                                                elite=1, cost="latency"))
    result = prune(tiny_cnn, cfg, tiny_data, val_data=tiny_data)
    assert abs(result.sparsity - 0.6) < 0.03
