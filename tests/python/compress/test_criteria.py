import numpy as np
import pytest
import torch
from torch import nn

from spiralkit import pattern_mask
from spiralkit.compress import CRITERIA, PruneConfig, get_mask, prune
from spiralkit.compress.criteria import needs_grad
from spiralkit.compress.pruner import gradient_stats, layer_scores


def test_registry_has_every_criterion():
    assert {"magnitude", "weight_grad_ratio", "taylor", "l1_filter", "l2_filter", "random"} <= set(CRITERIA.names())


def test_magnitude_and_filter_norms_exact():
    w = torch.tensor([[1.0, -3.0], [0.5, 0.5], [-2.0, 0.0]])
    assert torch.equal(CRITERIA.get("magnitude")(w), w.abs())
    assert torch.equal(CRITERIA.get("l1_filter")(w), torch.tensor([[4.0, 4.0], [1.0, 1.0], [2.0, 2.0]]))
    l2 = CRITERIA.get("l2_filter")(w)
    assert torch.allclose(l2[:, 0], torch.tensor([10.0, 0.5, 4.0]).sqrt())


def test_random_is_seeded_and_differs_from_magnitude():
    w = torch.randn(8, 8)
    a = CRITERIA.get("random")(w, None, torch.Generator().manual_seed(1))
    b = CRITERIA.get("random")(w, None, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert not np.array_equal(pattern_mask(a.numpy(), "unstructured", 0.5), pattern_mask(w.abs().numpy(), "unstructured", 0.5))


def _linear_problem():
    """y = W x with MSE loss: gradients known in closed form."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False), nn.Linear(2, 2, bias=False))
    xs = [torch.randn(5, 4) for _ in range(3)]
    data = [(x, torch.zeros(5, 2)) for x in xs]

    def loss_fn(m, batch):
        x, t = batch
        return ((m(x) - t) ** 2).sum()

    return model, data, loss_fn


def test_gradient_stats_match_autograd_by_hand():
    model, data, loss_fn = _linear_problem()
    layers = {"1": model[1]}
    stats = gradient_stats(model, layers, data, loss_fn, batches=3)
    grads = []
    for batch in data:
        model.zero_grad()
        loss_fn(model, batch).backward()
        grads.append(model[1].weight.grad.clone())
    w = model[1].weight.detach()
    assert stats["1"]["batches"] == 3
    assert torch.allclose(stats["1"]["grad_sq"], sum(g ** 2 for g in grads))
    assert torch.allclose(stats["1"]["taylor"], sum((w * g).abs() for g in grads))
    taylor = CRITERIA.get("taylor")(w, stats["1"])
    assert torch.allclose(taylor, sum((w * g).abs() for g in grads) / 3)
    ratio = CRITERIA.get("weight_grad_ratio")(w, stats["1"])
    assert torch.allclose(ratio, w.abs() / ((sum(g ** 2 for g in grads) / 3).sqrt() + 1e-12))
    assert needs_grad(CRITERIA.get("taylor")) and not needs_grad(CRITERIA.get("magnitude"))


@pytest.mark.parametrize("criterion", ["magnitude", "weight_grad_ratio", "taylor", "l1_filter", "l2_filter", "random"])
def test_every_criterion_mask_is_exactly_pattern_mask_of_its_scores(criterion):
    model, data, loss_fn = _linear_problem()
    cfg = PruneConfig(criterion=criterion, sparsity=0.5, skip_first=False, skip_last=False, seed=3)
    layers = {"0": model[0], "1": model[1], "2": model[2]}
    scores = layer_scores(model, layers, cfg, data, loss_fn)  # computed before pruning, same seed
    prune(model, cfg, data, loss_fn=loss_fn)
    for name, module in layers.items():
        expected = pattern_mask(scores[name].numpy(), "unstructured", 0.5)
        assert np.array_equal(get_mask(module).numpy(), expected), name


def test_user_registered_criterion_is_used():
    @CRITERIA.register("test_first_column", overwrite=True)
    def first_column(weight, stats=None, generator=None):
        s = torch.zeros_like(weight)
        s[:, 0] = 1.0
        return s

    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4))
    prune(model, PruneConfig(criterion="test_first_column", sparsity=0.75, skip_first=False, skip_last=False))
    keep = get_mask(model[1])
    assert keep[:, 0].all() and not keep[:, 1:].any()
