import pytest
import torch

pytest.importorskip("torch_pruning")

from spiralkit.compress import PruneConfig, load_model, prune, save_model  # noqa: E402
from spiralkit.data.zoo import build_model  # noqa: E402


def test_channel_pruning_rebuilds_cnn_smaller_with_batchnorm_and_next_layer(tiny_cnn, tiny_data):
    x = tiny_data[0][0]
    result = prune(tiny_cnn, PruneConfig(pattern="channel", criterion="l2_filter", sparsity=0.5,
                                          skip_last=True, skip_first=False), tiny_data)
    assert tiny_cnn.conv1.out_channels == 2 and tiny_cnn.conv2.in_channels == 2
    assert tiny_cnn.conv2.out_channels == 4 and tiny_cnn.bn2.num_features == 4
    assert tiny_cnn.fc1.in_features == 4 * 4 * 4 and tiny_cnn.fc1.out_features == 8
    assert tiny_cnn.fc2.in_features == 8 and tiny_cnn.fc2.out_features == 3
    assert tiny_cnn(x).shape == (16, 3)
    assert result.layer_sparsity == {"conv1": 0.5, "conv2": 0.5, "fc1": 0.5}


def test_channel_pruning_keeps_the_highest_norm_filters(tiny_cnn, tiny_data):
    norms = tiny_cnn.conv2.weight.detach().flatten(1).norm(dim=1)
    kept_expected = torch.sort(torch.topk(norms, 4).values).values
    prune(tiny_cnn, PruneConfig(pattern="channel", criterion="l2_filter", sparsity=0.5, include=["conv2"],
                                skip_first=False), tiny_data)
    kept = torch.sort(tiny_cnn.conv2.weight.detach().flatten(1).norm(dim=1)).values
    assert torch.allclose(kept, kept_expected)


def test_residual_branches_pruned_together_and_checkpoint_reloads(tmp_path):
    torch.manual_seed(0)
    model = build_model("mnist_resnet", width=8)
    x = torch.randn(2, 1, 28, 28)
    prune(model, PruneConfig(pattern="channel", sparsity=0.5), example_inputs=x)
    # stem and conv_b feed the same addition: they must keep the same number of channels.
    assert model.stem.out_channels == model.conv_b.out_channels == model.bn_b.num_features == 4
    assert model.conv_a.out_channels == 4 and model.head.in_channels == 4
    model.eval()
    y = model(x)
    save_model(model, tmp_path / "r.safetensors")
    fresh = load_model(build_model("mnist_resnet", width=8), tmp_path / "r.safetensors").eval()
    assert torch.allclose(fresh(x), y)


def test_channel_pattern_refuses_the_output_layer(tiny_cnn):
    with pytest.raises(ValueError, match="output layer"):
        prune(tiny_cnn, PruneConfig(pattern="channel", sparsity=0.5, skip_last=False))
