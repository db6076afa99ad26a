import numpy as np
import pytest

import spiralkit

torch = pytest.importorskip("torch")
nn = torch.nn


def _prune_model(model, pattern, sparsity):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.copy_(spiralkit.prune_to_pattern(m.weight.detach().clone(), pattern, sparsity))
    return model


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
    )


@pytest.mark.parametrize("pattern", ["4x1", "2:4", "unstructured"])
def test_sparsified_model_matches_dense(pattern):
    model = _prune_model(_cnn().eval(), pattern, 0.6)
    x = torch.randn(3, 1, 8, 8)
    sparse = spiralkit.sparsify(model)
    kinds = [type(m).__name__ for m in sparse.modules()]
    assert "SparseLinear" in kinds and "SparseConv2d" in kinds
    with torch.no_grad():
        torch.testing.assert_close(sparse(x), model(x), rtol=1e-5, atol=1e-5)


def test_detects_pattern_and_keeps_dense_layers_dense():
    w = spiralkit.prune_to_pattern(torch.randn(16, 32), "8x1", 0.75)
    assert spiralkit.nn.choose_pattern(w) == "8x1"
    assert spiralkit.nn.choose_pattern(spiralkit.prune_to_pattern(torch.randn(16, 32), "2:4", 0.5)) == "2:4"
    assert spiralkit.nn.choose_pattern(spiralkit.prune_to_pattern(torch.randn(16, 32), "unstructured", 0.7)) == "unstructured"
    assert spiralkit.nn.choose_pattern(torch.randn(16, 32)) == "dense"


def test_forced_pattern_that_does_not_fit_is_refused():
    model = _prune_model(_cnn(), "unstructured", 0.6)
    with pytest.raises(ValueError, match="breaks pattern 4x1"):
        spiralkit.sparsify(model, pattern="4x1")


def test_original_model_untouched():
    model = _prune_model(_cnn(), "4x1", 0.5)
    spiralkit.sparsify(model)
    assert all(not type(m).__name__.startswith("Sparse") for m in model.modules())


def test_masks_from_the_training_side_are_baked_in():
    from spiralkit.compress.masks import set_mask

    model = _cnn().eval()
    layer = model[5]
    keep = torch.from_numpy(spiralkit.pattern_mask(layer.weight.detach().abs().numpy(), "4x1", 0.75))
    set_mask(layer, keep)
    sparse = spiralkit.sparsify(model)
    assert sparse[5].weight_packed.pattern == "4x1"
    assert sparse[5].weight_packed.sparsity == pytest.approx(0.75, abs=0.02)
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(sparse(x), model(x), rtol=1e-5, atol=1e-5)
