import json
import os
import subprocess
import sys

import pytest

import spiralkit


def test_info_fields():
    info = spiralkit.info()
    for key in ("version", "build", "isa_detected", "isa_active", "cuda_built", "kernels", "num_threads"):
        assert key in info
    assert info["version"] == spiralkit.__version__
    assert {"f32-spmm", "f32-sconv"} <= set(info["kernels"])


def test_threads_roundtrip():
    before = spiralkit.get_num_threads()
    try:
        spiralkit.set_num_threads(1)
        assert spiralkit.get_num_threads() == 1
        assert spiralkit.info()["num_threads"] == 1
    finally:
        spiralkit.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_thread_count(bad):
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        spiralkit.set_num_threads(bad)


def _run(code: str, **env) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, check=True)


def test_import_needs_no_torch():
    out = _run(
        "import sys, spiralkit, numpy as np\n"
        "w = spiralkit.pack(spiralkit.prune_to_pattern(np.ones((8, 8), np.float32), '4x1', 0.5), '4x1')\n"
        "spiralkit.ops.linear(np.ones((2, 8), np.float32), w)\n"
        "print('torch' in sys.modules)"
    )
    assert out.stdout.strip() == "False"


def test_forced_isa_is_reported_and_a_missing_isa_falls_back():
    out = _run("import spiralkit, json; print(json.dumps(spiralkit.info()))", SPIRALKIT_ISA="scalar")
    info = json.loads(out.stdout)
    assert info["isa_active"] == "scalar" and info["isa_forced"] == "scalar"
    out = _run("import spiralkit, json; print(json.dumps(spiralkit.info()))", SPIRALKIT_ISA="neon-on-x86-nonsense")
    info = json.loads(out.stdout)
    assert info["isa_active"] == info["isa_detected"] and "isa_note" in info


def test_cli_info_prints_kernels():
    out = subprocess.run(
        [sys.executable, "-m", "spiralkit.cli", "info"], capture_output=True, text=True, check=True
    )
    assert "f32-spmm" in out.stdout and "CPU ISA" in out.stdout
