"""The benchmark models, shrunk to test size, compiled by the engine and compared with ONNX Runtime
on the same ONNX file (relative error <= 1e-4 of the output's largest magnitude), dense and at
90 % `4x1`, at the compile batch and another one; the real MiniLM-L6 at 16 tokens."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import spiralkit  # noqa: E402
from spiralkit.bench import models as M  # noqa: E402

CASES = {
    "resnet": (lambda: M.resnet50(num_classes=10, width=8, layers=(1, 1, 1, 1)), (1, 3, 64, 64), np.float32),
    "mobilenet_v2": (lambda: M.mobilenet_v2(num_classes=10), (1, 3, 64, 64), np.float32),
    "bert": (lambda: M.bert_encoder(layers=1, hidden=64, heads=4, intermediate=128, seq=16), (1, 16, 64), np.float32),
}


def _check(model, example, tmp_path, keep_bn=False):
    path = tmp_path / "m.onnx"
    M.export_onnx(model, torch.from_numpy(example), path, fold_bn=not keep_bn)
    engine = spiralkit.compile(str(path), example)
    session = ort.InferenceSession(str(path))
    for batch in (1, 2):
        if example.dtype == np.int64:
            x = np.random.default_rng(batch).integers(0, 1000, (batch,) + example.shape[1:]).astype(np.int64)
        else:
            x = np.random.default_rng(batch).standard_normal((batch,) + example.shape[1:]).astype(np.float32)
        want = session.run(None, {"input": x})[0]
        got = engine.run(x)[0]
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() + 1e-6
    return engine


@pytest.mark.parametrize("sparsity", [0.0, 0.9])
@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_onnxruntime(name, sparsity, tmp_path):
    build, shape, dtype = CASES[name]
    model = build().eval()
    M.randomize_bn(model, seed=1)
    if sparsity:
        M.prune_model(model, "4x1", sparsity)
    engine = _check(model, np.random.default_rng(0).standard_normal(shape).astype(dtype), tmp_path)
    if sparsity:
        assert any(l.get("pattern") == "8x1" or l.get("pattern") == "4x1" for l in engine.layers())


def test_batchnorm_nodes_fold_in_the_engine(tmp_path):
    """Exported with BatchNormalization kept: the engine's own folding pass removes them."""
    model = M.resnet50(num_classes=10, width=8, layers=(1, 1, 1, 1)).eval()
    M.randomize_bn(model, seed=2)
    engine = _check(model, np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32), tmp_path,
                    keep_bn=True)
    assert "BatchNorm" not in [layer["op"] for layer in engine.layers()]


@pytest.mark.slow
def test_real_minilm_matches_onnxruntime(tmp_path):
    model = M.minilm_hidden(seq=16).eval()
    M.prune_model(model, "4x1", 0.9)
    _check(model, np.zeros((1, 16), np.int64), tmp_path)
