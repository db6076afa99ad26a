"""The engine subcommands: ``spiralkit compile``, ``spiralkit run`` (numpy only: no torch, no onnx
in a fresh process) and ``spiralkit bench model`` on a small ONNX file; bad inputs exit 2 with
``spiralkit <cmd>: error: ...``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from spiralkit.cli import build_parser, main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402



class TinyNet(nn.Module):
    """Conv + BN + ReLU, a 1x1 conv with a residual, global pooling, a classifier; 4x1-pruned."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 1)
        self.fc = nn.Linear(16, 8)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.relu(self.c2(y) + y)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    import spiralkit

    torch.manual_seed(0)
    model = TinyNet().eval()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 1.5)
        for m in (model.c1, model.c2, model.fc):
            w = m.weight.numpy()
            pruned = spiralkit.prune_to_pattern(w.reshape(w.shape[0], -1), "4x1", 0.75).reshape(w.shape)
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(pruned)))
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, dynamo=False)
    return path


def ort_run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def fail(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_subcommands_registered():
    text = build_parser().format_help()
    for name in ("compile", "run", "bench"):
        assert name in text


def test_compile_then_run(tiny_onnx, tmp_path, capsys):
    spk = tmp_path / "tiny.spk"
    assert main(["compile", str(tiny_onnx), "-o", str(spk), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for text in ("/c1/Conv", "/c2/Conv", "/fc/Gemm", "4x1", "75.0%", "kernel", "KiB", "artifact:", "ratio"):
        assert text in out, text
    assert str(spk) in out and spk.stat().st_size > 0

    y = tmp_path / "y.npy"
    assert main(["run", str(spk), "--batch", "2", "--repeats", "3", "--warmup", "1", "--output", str(y),
                 "--threads", "1", "--profile"]) == 0
    out = capsys.readouterr().out
    assert "output y: [2, 8] float32" in out and "latency: median" in out and "p10-p90" in out
    assert "slowest nodes" in out and "/c1/Conv" in out
    got = np.load(y)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)  # run's generated input
    want = ort_run(tiny_onnx, x)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_compile_default_output_and_input_shape(tiny_onnx, tmp_path, capsys):
    src = tmp_path / "model.onnx"
    src.write_bytes(tiny_onnx.read_bytes())
    assert main(["compile", str(src), "--input-shape", "x=4,3,16,16", "--pattern", "4x1"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "model.spk").exists() and "x [4, 3, 16, 16] float32" in out


def test_run_from_file_imports_neither_torch_nor_onnx(tiny_onnx, tmp_path):
    spk = tmp_path / "tiny.spk"
    assert main(["compile", str(tiny_onnx), "-o", str(spk)]) == 0
    x = np.linspace(-1, 1, 3 * 3 * 16 * 16, dtype=np.float32).reshape(3, 3, 16, 16)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys\n"
        "from spiralkit.cli import main\n"
        f"rc = main(['run', {str(spk)!r}, '--input', {str(tmp_path / 'x.npy')!r}, '--repeats', '3',"
        f" '--output', {str(tmp_path / 'y.npy')!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime'))\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(rc or (3 if heavy else 0))\n"
    )
    # The child imports the spiralkit this test imported (the source tree in a dev build, the
    # installed wheel in CI).
    import spiralkit

    here = os.path.dirname(os.path.dirname(os.path.abspath(spiralkit.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HEAVY []" in proc.stdout and "output y: [3, 8]" in proc.stdout
    want = ort_run(tiny_onnx, x)
    assert np.abs(np.load(tmp_path / "y.npy") - want).max() <= 1e-4 * np.abs(want).max()


def test_bench_model_onnx_file(tiny_onnx, tmp_path, capsys):
    out_json = tmp_path / "bench.json"
    assert main(["bench", "model", str(tiny_onnx), "--vs", "onnxruntime", "--rounds", "2", "--threads", "1",
                 "--no-memory", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "spiralkit" in out and "onnxruntime" in out and "xORT" in out
    res = json.loads(out_json.read_text())
    sk = res["engines"]["spiralkit"]
    assert sk["status"] == "ok" and sk["speedup_vs_onnxruntime"] > 0
    assert sk["rel_err_vs_onnxruntime"] <= 1e-3
    assert set(res["engines"]) == {"spiralkit", "onnxruntime"}


def test_bench_model_refusals(tiny_onnx, capsys):
    err = fail(capsys, ["bench", "model", str(tiny_onnx), "--vs", "torch"])
    assert err.startswith("spiralkit bench: error: --vs torch") and "no torch model" in err
    err = fail(capsys, ["bench", "model", "no_such_model"])
    assert "resnet50" in err and "no_such_model" in err
    err = fail(capsys, ["bench", "model", str(tiny_onnx), "--sparsity", "0.5"])
    assert "zoo models" in err
    err = fail(capsys, ["bench", "model", "missing.onnx"])
    assert "no such file" in err


def test_bad_inputs_exit_2(tiny_onnx, tmp_path, capsys):
    err = fail(capsys, ["compile", str(tmp_path / "missing.onnx")])
    assert err.startswith("spiralkit compile: error:") and "missing.onnx" in err
    err = fail(capsys, ["compile", str(tiny_onnx), "-o", str(tmp_path / "a.spk"), "--input-shape", "x=1,3,a"])
    assert "--input-shape" in err and "NAME=D1,D2" in err
    err = fail(capsys, ["compile", str(tiny_onnx), "-o", str(tmp_path / "a.spk"), "--input-shape", "q=1,3,16,16"])
    assert "no input 'q'" in err
    err = fail(capsys, ["run", str(tmp_path / "missing.spk")])
    assert err.startswith("spiralkit run: error:") and "missing.spk" in err
    err = fail(capsys, ["run", str(tiny_onnx)])  # an ONNX file is not an artifact: FormatError
    assert err.startswith("spiralkit run: error:") and "not a spiralkit artifact" in err
    spk = tmp_path / "t.spk"
    assert main(["compile", str(tiny_onnx), "-o", str(spk)]) == 0
    capsys.readouterr()
    np.save(tmp_path / "bad.npy", np.zeros((1, 3, 8, 8), np.float32))
    err = fail(capsys, ["run", str(spk), "--input", str(tmp_path / "bad.npy")])
    assert "input 'x'" in err and "shape" in err
    err = fail(capsys, ["run", str(spk), "--input", str(tmp_path / "nope.npy")])
    assert "no such file" in err


def _calibration(n=24, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 3, 16, 16)).astype(np.float32)


def test_compile_int8_from_calibration_files(tiny_onnx, tmp_path, capsys):
    np.savez(tmp_path / "calib.npz", x=_calibration())
    np.save(tmp_path / "calib.npy", _calibration(8, seed=2))
    spk, spk32 = tmp_path / "q.spk", tmp_path / "f.spk"
    assert main(["compile", str(tiny_onnx), "-o", str(spk32)]) == 0
    assert main(["compile", str(tiny_onnx), "-o", str(spk), "--quantize", "int8", "--calibration",
                 str(tmp_path / "calib.npz"), "--calibration", str(tmp_path / "calib.npy"),
                 "--calibration-batch", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("int8 ") >= 3, out  # the two convs and the Gemm got int8 kernels
    import spiralkit

    x = _calibration(2, seed=9)
    engine = spiralkit.load(spk)
    got, want = engine.run(x)[0], ort_run(tiny_onnx, x)
    rel = np.abs(got - want).max() / np.abs(want).max()
    assert 0 < rel < 0.05  # int8 rounding: close to fp32, yet not the fp32 plan
    kernels = [l["kernel"] for l in engine.layers() if "pattern" in l]
    assert len(kernels) == 3 and all(k.startswith("int8 ") for k in kernels), kernels


def test_compile_int8_tolerance_reports_fp32_layers(tiny_onnx, tmp_path, capsys):
    np.save(tmp_path / "calib.npy", _calibration(16))
    assert main(["compile", str(tiny_onnx), "-o", str(tmp_path / "q.spk"), "--quantize", "int8",
                 "--calibration", str(tmp_path / "calib.npy"), "--calibration-method", "percentile",
                 "--percentile", "99.9", "--int8-tolerance", "0.0001"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("int8_tolerance 0.0001:"))
    assert "kept fp32" in line and "all-int8 ->" in line


def test_compile_int8_refusals(tiny_onnx, tmp_path, capsys):
    base = ["compile", str(tiny_onnx), "-o", str(tmp_path / "q.spk")]
    err = fail(capsys, base + ["--quantize", "int8"])
    assert err.startswith("spiralkit compile: error: calibration") and "calibration batches" in err
    err = fail(capsys, base + ["--calibration", str(tmp_path / "none.npz")])
    assert "no such file" in err
    np.savez(tmp_path / "wrong.npz", y=_calibration())
    err = fail(capsys, base + ["--quantize", "int8", "--calibration", str(tmp_path / "wrong.npz")])
    assert "missing ['x']" in err and "unknown ['y']" in err
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    err = fail(capsys, base + ["--quantize", "int8", "--calibration", str(tmp_path / "junk.npy")])
    assert "is not an .npy / .npz" in err
    np.savez(tmp_path / "empty.npz", x=_calibration(0))
    err = fail(capsys, base + ["--quantize", "int8", "--calibration", str(tmp_path / "empty.npz")])
    assert "non-zero number of samples" in err
    np.save(tmp_path / "c.npy", _calibration(4))
    err = fail(capsys, base + ["--calibration", str(tmp_path / "c.npy")])  # fp32 compile
    assert "calibration: only used with quantize='int8'" in err
    err = fail(capsys, base + ["--quantize", "int8", "--calibration", str(tmp_path / "c.npy"),
                               "--calibration-batch", "0"])
    assert "--calibration-batch" in err
    err = fail(capsys, base + ["--quantize", "int8", "--calibration", str(tmp_path / "c.npy"),
                               "--int8-tolerance", "2"])
    assert "int8_tolerance" in err


def test_demo_compiles_the_student(tmp_path, capsys):
    pytest.importorskip("mlxtend")
    out_dir = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out_dir), "--teacher-epochs", "1", "--limit", "256", "--rounds", "1",
                 "--target", "0.8", "--no-progress", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "spiralkit engine" in out and "speed-up" in out and "student.spk" in out
    entry = json.loads((out_dir / "engine.json").read_text())["engine"]
    assert entry["status"] == "ok" and entry["rel_err_vs_torch"] <= 1e-3 and entry["threads"] == 1
    assert entry["artifact_bytes"] == (out_dir / "student.spk").stat().st_size
    assert entry["engine_latency"]["calls"] >= 20 and entry["speedup_teacher_over_engine"] > 0
    import spiralkit

    engine = spiralkit.load(out_dir / "student.spk")
    assert engine.run(np.zeros((3, 1, 28, 28), np.float32))[0].shape == (3, 10)
