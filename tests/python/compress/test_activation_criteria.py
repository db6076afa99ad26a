"""Activation-aware criteria: wanda (per-row |W| * ||X||) and sparsegpt (OBS update), through
``spiralkit.prune``, the spiral and a recipe name."""

import numpy as np
import pytest
import torch
from torch import nn

from spiralkit import pattern_mask
from spiralkit.compress import CRITERIA, PruneConfig, SpiralConfig, get_mask, prune
from spiralkit.compress import calibration as cal
from spiralkit.compress.sparsegpt import obs_prune, prune_sequential
from spiralkit.compress.wanda import per_row_mask


def _inputs(n=8, rows=64, k=32, seed=0):
    """Correlated inputs with features of very different scales (as in a transformer)."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(k, k, generator=g)
    scale = torch.logspace(-1, 1, k)[torch.randperm(k, generator=g)]
    return [(torch.randn(rows, k, generator=g) @ mix) * scale for _ in range(n)]


def _reconstruction_error(criterion, pattern, sparsity):
    torch.manual_seed(0)
    layer = nn.Linear(32, 48)
    ref = nn.Linear(32, 48)
    ref.load_state_dict(layer.state_dict())
    data = _inputs()
    prune(layer, PruneConfig(criterion=criterion, pattern=pattern, sparsity=sparsity, skip_first=False,
                             skip_last=False), data)
    x = torch.cat(data)
    with torch.no_grad():
        return float((layer(x) - ref(x)).norm() / ref(x).norm()), get_mask(layer)


@pytest.mark.parametrize("pattern,sparsity", [("unstructured", 0.7), ("2:4", 0.5), ("4x1", 0.6), ("1x4", 0.5)])
def test_sparsegpt_reconstructs_better_than_magnitude_and_wanda(pattern, sparsity):
    err_mag, _ = _reconstruction_error("magnitude", pattern, sparsity)
    err_wanda, _ = _reconstruction_error("wanda", pattern, sparsity)
    err_gpt, keep = _reconstruction_error("sparsegpt", pattern, sparsity)
    assert err_gpt < 0.9 * err_mag
    assert err_gpt < err_wanda
    assert err_wanda < err_mag  # the input scales differ 100x: activations matter
    assert 1 - keep.float().mean().item() == pytest.approx(sparsity, abs=0.01)


def test_sparsegpt_masks_respect_n_m_and_blocks_exactly():
    torch.manual_seed(0)
    w = torch.randn(16, 40)
    x = torch.cat(_inputs(k=40))
    gram = (x.T @ x).double()
    new, keep = obs_prune(w, gram, "2:4", 0.5)
    assert (keep.reshape(16, 10, 4).sum(-1) == 2).all()
    assert (new[~keep] == 0).all() and (new[keep] != w[keep]).any()  # kept weights were updated
    new, keep = obs_prune(w, gram, "4x1", 0.75)
    blocks = keep.reshape(4, 4, 40)
    assert (blocks.all(1) | ~blocks.any(1)).all()  # 4 rows of a column kept or pruned together
    assert 1 - keep.float().mean().item() == pytest.approx(0.75, abs=0.01)
    # Weights pruned before stay pruned.
    old = torch.from_numpy(pattern_mask(w.abs().numpy(), "4x1", 0.5))
    _, again = obs_prune(w * old, gram, "4x1", 0.75, keep_old=old)
    assert not (again & ~old).any()


def test_sparsegpt_update_is_least_squares_when_the_first_column_goes():
    """OBS pushes a pruned column's error onto every later column: pruning only column 0, the
    update is exactly the least-squares refit of the rest (damping ~0); for a real mask the refit
    of its kept weights bounds it from below (the sweep never revisits earlier columns)."""
    torch.manual_seed(1)
    w = torch.randn(6, 24, dtype=torch.float64)
    x = torch.cat(_inputs(k=24)).double()
    gram = x.T @ x
    old = torch.ones(6, 24, dtype=torch.bool)
    old[:, 0] = False
    new, keep = obs_prune(w, gram, "unstructured", 0.0, keep_old=old, damp=1e-10, chunk=8)
    assert torch.equal(keep, old)
    best = torch.linalg.lstsq(x[:, 1:], x @ w.T).solution.T
    err_ours, err_best = (x @ new.T - x @ w.T).norm(), (x[:, 1:] @ best.T - x @ w.T).norm()
    assert err_ours <= err_best * (1 + 1e-6)
    assert torch.allclose(new[:, 1:], best, rtol=1e-3, atol=1e-4)
    new, keep = obs_prune(w, gram, "unstructured", 0.5, damp=1e-10, chunk=8)
    for r in range(6):
        cols = keep[r].nonzero().flatten()
        refit = torch.linalg.lstsq(x[:, cols], (x @ w[r]).unsqueeze(1)).solution.flatten()
        ours = (x @ new[r] - x @ w[r]).norm()
        assert (x[:, cols] @ refit - x @ w[r]).norm() <= ours * (1 + 1e-6)


def test_wanda_ranks_weights_per_output_row():
    torch.manual_seed(0)
    layer = nn.Linear(8, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(32.0).reshape(4, 8) + 1)  # row 0 all smaller than row 3
    data = [torch.ones(5, 8) * torch.tensor([1.0, 1, 1, 1, 100, 100, 100, 100])]
    prune(layer, PruneConfig(criterion="wanda", sparsity=0.5, skip_first=False, skip_last=False), data)
    keep = get_mask(layer)
    # Per row: half kept, and exactly the columns whose input is large (|W| * ||X|| wins).
    assert (keep.sum(1) == 4).all()
    assert keep[:, 4:].all() and not keep[:, :4].any()
    scores = torch.tensor([[1.0, 2, 3, 4], [10, 20, 30, 40]]).numpy()
    assert per_row_mask(scores, "unstructured", 0.5).sum(1).tolist() == [2, 2]  # a layer-wide rank would drop row 0


def test_conv2d_im2col_matches_the_convolution():
    """The calibration rows of a Conv2d, times weight.reshape(N, -1), are the convolution."""
    torch.manual_seed(0)
    for conv in (nn.Conv2d(4, 6, 3, padding=1, stride=2, bias=False),
                 nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=False, padding_mode="reflect"),
                 nn.Conv2d(4, 4, (3, 1), dilation=2, padding="same", bias=False)):
        x = torch.randn(2, 4, 7, 6)
        rows = cal.input_rows(conv, x, None)  # (groups, B*L, K)
        g = conv.groups
        w = conv.weight.reshape(g, conv.out_channels // g, -1)
        out = torch.bmm(rows, w.transpose(1, 2))  # (groups, B*L, N/g)
        ref = conv(x)
        ref = ref.reshape(2, g, conv.out_channels // g, -1).permute(1, 0, 3, 2).reshape(g, -1, conv.out_channels // g)
        assert torch.allclose(out, ref, atol=1e-5)


def test_sparsegpt_prunes_conv_layers(tiny_cnn, tiny_data):
    before = {n: m.weight.detach().clone() for n, m in tiny_cnn.named_modules() if isinstance(m, nn.Conv2d)}
    prune(tiny_cnn, PruneConfig(criterion="sparsegpt", pattern="2:4", sparsity=0.5), tiny_data)
    keep = get_mask(tiny_cnn.conv2)
    assert (keep.reshape(8, -1, 4).sum(-1) == 2).all()
    assert not torch.equal(tiny_cnn.conv2.weight.detach()[keep], before["conv2"][keep])  # updated


def test_layers_are_pruned_in_forward_order_on_already_pruned_inputs():
    torch.manual_seed(0)

    class Net(nn.Module):  # registration order differs from execution order; q/k share one input
        def __init__(self):
            super().__init__()
            self.late = nn.Linear(16, 4)
            self.k = nn.Linear(16, 16)
            self.q = nn.Linear(16, 16)
            self.early = nn.Linear(12, 16)

        def forward(self, x):
            h = torch.relu(self.early(x))
            return self.late(self.q(h) + self.k(h))

    net = Net()
    data = _inputs(n=4, k=12)
    layers = {n: m for n, m in net.named_modules() if isinstance(m, nn.Linear)}
    assert cal.forward_groups(net, layers, data) == [["early"], ["q", "k"], ["late"]]
    trace = []
    ref = Net()
    ref.load_state_dict(net.state_dict())
    prune_sequential(net, layers, data, "unstructured", 0.5, batches=4, damp=0.01, trace=trace)
    assert [t["layer"] for t in trace] == ["early", "q", "k", "late"]
    # One K x K Gram matrix per layer, K = that layer's in_features, never more.
    assert [t["gram_shape"] for t in trace] == [(1, 12, 12), (1, 16, 16), (1, 16, 16), (1, 16, 16)]
    assert trace[-1]["inputs_from"] == ["early", "q", "k"]
    # "late" saw the pruned q/k outputs: pruning it again from the dense model's inputs differs.
    x = torch.cat(data)
    with torch.no_grad():
        h_pruned = net.q(torch.relu(net.early(x))) + net.k(torch.relu(net.early(x)))
        h_dense = ref.q(torch.relu(ref.early(x))) + ref.k(torch.relu(ref.early(x)))
        err_seq = (net.late(h_pruned) - ref.late(h_dense)).norm()
    assert not torch.allclose(h_pruned, h_dense)
    assert err_seq < (nn.functional.linear(h_pruned, ref.late.weight * get_mask(net.late), ref.late.bias)
                      - ref.late(h_dense)).norm()


def test_sparsegpt_refuses_global_allocation_and_needs_data(tiny_cnn, tiny_data):
    with pytest.raises(ValueError, match="allocation = 'uniform'"):
        prune(tiny_cnn, PruneConfig(criterion="sparsegpt", allocation="global"), tiny_data)
    with pytest.raises(ValueError, match="calibration data"):
        prune(tiny_cnn, PruneConfig(criterion="sparsegpt"))
    with pytest.raises(ValueError, match="calibration data"):
        prune(tiny_cnn, PruneConfig(criterion="wanda"))
    with pytest.raises(ValueError, match="calibration_batches"):
        PruneConfig(criterion="wanda", calibration_batches=0).validate()


def test_attention_mask_excludes_padding_tokens():
    layer = nn.Linear(3, 2)
    x = torch.ones(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]])
    assert cal.input_rows(layer, x, mask.bool()).shape == (1, 5, 3)


def test_criteria_usable_by_name_in_a_recipe_and_in_every_spiral_round(tmp_path, tiny_cnn, tiny_data):
    import spiralkit

    assert {"wanda", "sparsegpt", "magnitude", "taylor", "l1_filter"} <= set(CRITERIA.names())
    recipe = tmp_path / "spiral.toml"
    recipe.write_text(
        'rounds = 2\ntarget_sparsity = 0.6\nschedule = "linear"\nstop_on_drop = false\n'
        f'output_dir = "{tmp_path / "run"}"\n'
        '[prune]\ncriterion = "sparsegpt"\npattern = "4x1"\ncalibration_batches = 2\n'
        '[distill]\nloss = "soft"\nepochs = 1\nmax_batches = 2\n'
    )
    config = SpiralConfig.from_toml(recipe)
    assert config.prune.criterion == "sparsegpt"
    result = spiralkit.compress(tiny_cnn, config, tiny_data, tiny_data[:2], progress=False, quiet=True)
    sparsities = [r["sparsity_pruned_layers"] for r in result.records]
    assert sparsities[1] == pytest.approx(0.3, abs=0.03) and sparsities[2] == pytest.approx(0.6, abs=0.03)
    keep = get_mask(tiny_cnn.fc1)
    blocks = keep.reshape(4, 4, -1)
    assert (blocks.all(1) | ~blocks.any(1)).all()
    # wanda inside the spiral too.
    config = SpiralConfig.from_dict({"rounds": 1, "target_sparsity": 0.5, "output_dir": str(tmp_path / "w"),
                                     "prune": {"criterion": "wanda", "pattern": "2:4"},
                                     "distill": {"epochs": 0}})
    torch.manual_seed(0)
    model = type(tiny_cnn)()
    spiralkit.compress(model, config, tiny_data, tiny_data[:2], progress=False, quiet=True)
    assert (get_mask(model.fc1).reshape(16, -1, 4).sum(-1) == 2).all()


def test_existing_criteria_still_build_the_same_masks(tiny_cnn, tiny_data):
    """magnitude through the grown interface: exactly pattern_mask of |w| (no per-row, no update)."""
    before = tiny_cnn.fc1.weight.detach().abs().double().numpy()
    prune(tiny_cnn, PruneConfig(criterion="magnitude", pattern="unstructured", sparsity=0.7), tiny_data)
    assert np.array_equal(get_mask(tiny_cnn.fc1).numpy(), pattern_mask(before, "unstructured", 0.7))


@pytest.mark.parametrize("criterion", ["magnitude", "wanda", "sparsegpt"])
def test_blocks_along_input_channels_of_a_conv(criterion, tiny_cnn, tiny_data):
    """``1x4-cin``: 4 input channels at one tap (kh, kw) kept or pruned together, whichever
    criterion ranks them (sparsegpt sweeps K tap-major for it and still updates the kept weights)."""
    before = tiny_cnn.conv2.weight.detach().clone()
    prune(tiny_cnn, PruneConfig(criterion=criterion, pattern="1x4-cin", sparsity=0.5, skip_first=True), tiny_data)
    keep = get_mask(tiny_cnn.conv2)  # (8, 4, 3, 3): one block per output channel and tap
    per_tap = keep.permute(0, 2, 3, 1).sum(-1)
    assert ((per_tap == 0) | (per_tap == 4)).all()
    assert 1 - keep.float().mean().item() == pytest.approx(0.5, abs=0.06)
    if criterion == "sparsegpt":
        assert not torch.equal(tiny_cnn.conv2.weight.detach()[keep], before[keep])
