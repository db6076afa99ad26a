"""The native kernels (whatever dispatch picked) against torch.nn.functional on random shapes,
patterns, sparsities, thread counts and conv geometries; and every forced ISA agrees."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spiralkit

torch = pytest.importorskip("torch")
F = torch.nn.functional

PATTERNS = ["dense", "unstructured", "4x1", "8x1", "16x1", "1x4", "2:4", "4:8"]


def _rel_err(got, want):
    got, want = np.asarray(got), np.asarray(want)
    return float(np.abs(got - want).max() / max(1e-6, np.abs(want).max()))


@pytest.fixture(autouse=True)
def restore_threads():
    before = spiralkit.get_num_threads()
    yield
    spiralkit.set_num_threads(before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 80), k=st.integers(1, 150), m=st.integers(1, 140), pattern=st.sampled_from(PATTERNS),
    sparsity=st.sampled_from([0.0, 0.5, 0.8, 0.95]), threads=st.integers(1, 3),
    activation=st.sampled_from([None, "relu", "gelu"]), bias=st.booleans(), seed=st.integers(0, 2**16),
)
def test_linear_matches_torch(n, k, m, pattern, sparsity, threads, activation, bias, seed):
    spiralkit.set_num_threads(threads)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, k, generator=g)
    if sparsity == 0.0:
        pattern = "dense"  # an unpruned weight follows no sparse pattern
    if pattern != "dense":
        w = spiralkit.prune_to_pattern(w, pattern, sparsity)
    x = torch.randn(m, k, generator=g)
    b = torch.randn(n, generator=g) if bias else None
    got = spiralkit.ops.linear(x, spiralkit.pack(w, pattern), b, activation=activation)
    want = F.linear(x.double(), w.double(), None if b is None else b.double())
    want = {None: want, "relu": F.relu(want), "gelu": F.gelu(want)}[activation]
    # Error relative to the magnitude summed (|W| |x| + |b|): a tiny output from cancellation
    # carries the absolute rounding of its large terms.
    scale = F.linear(x.double().abs(), w.double().abs(), None if b is None else b.double().abs())
    err = (torch.as_tensor(np.asarray(got)).double() - want).abs() / scale.clamp_min(1e-12)
    assert float(err.max()) < 1e-5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    c_in=st.integers(1, 12), c_out_g=st.integers(1, 10), hw=st.integers(3, 17), kernel=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 2), padding=st.integers(0, 2), dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]),
    pattern=st.sampled_from(PATTERNS), threads=st.integers(1, 2), seed=st.integers(0, 2**16),
)
def test_conv2d_matches_torch(c_in, c_out_g, hw, kernel, stride, padding, dilation, groups, pattern, threads, seed):
    if hw + 2 * padding < dilation * (kernel - 1) + 1:
        return
    spiralkit.set_num_threads(threads)
    g = torch.Generator().manual_seed(seed)
    c_in = c_in * groups
    c_out = c_out_g * groups
    w = torch.randn(c_out, c_in // groups, kernel, kernel, generator=g)
    if pattern != "dense":
        w = spiralkit.prune_to_pattern(w, pattern, 0.7)
    x = torch.randn(2, c_in, hw, hw + 1, generator=g)
    b = torch.randn(c_out, generator=g)
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, pattern), b, activation="relu6", **args)
    want = F.relu6(F.conv2d(x.double(), w.double(), b.double(), **args)).float()
    assert _rel_err(got, want) < 1e-5


@pytest.mark.parametrize("channels,hw,stride", [(16, 15, 1), (24, 14, 2), (8, 7, 1), (32, 28, 2)])
def test_depthwise_matches_torch(channels, hw, stride):
    g = torch.Generator().manual_seed(channels)
    w = torch.randn(channels, 1, 3, 3, generator=g)
    x = torch.randn(1, channels, hw, hw, generator=g)
    b = torch.randn(channels, generator=g)
    got = spiralkit.ops.conv2d(x, spiralkit.pack(w, "dense"), b, stride=stride, padding=1, groups=channels)
    want = F.conv2d(x, w, b, stride=stride, padding=1, groups=channels)
    assert _rel_err(got, want) < 1e-5


_ISA_SCRIPT = """
import json, sys, numpy as np, spiralkit
rng = np.random.default_rng(0)
w = spiralkit.prune_to_pattern(rng.standard_normal((40, 64)).astype(np.float32), sys.argv[1], 0.8)
x = rng.standard_normal((37, 64)).astype(np.float32)
xc = rng.standard_normal((1, 8, 9, 9)).astype(np.float32)
wc = spiralkit.prune_to_pattern(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), sys.argv[1], 0.8)
y = spiralkit.ops.linear(x, spiralkit.pack(w, sys.argv[1]))
yc = spiralkit.ops.conv2d(xc, spiralkit.pack(wc, sys.argv[1]), padding=1)
print(json.dumps({"isa": spiralkit.info()["isa_active"], "y": y.ravel().tolist(), "yc": yc.ravel().tolist()}))
"""


@pytest.mark.parametrize("pattern", ["4x1", "unstructured"])
def test_forced_isas_agree(pattern):
    outs = {}
    for isa in ("scalar", "avx2", "avx512"):
        env = dict(os.environ, SPIRALKIT_ISA=isa)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(spiralkit.__path__[0]), env.get("PYTHONPATH")] if p)
        res = subprocess.run([sys.executable, "-c", _ISA_SCRIPT, pattern], env=env, capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 0, res.stderr
        outs[isa] = json.loads(res.stdout.strip().splitlines()[-1])
    base = outs["scalar"]
    assert base["isa"] == "scalar"
    for isa, out in outs.items():
        assert _rel_err(out["y"], base["y"]) < 1e-5, isa
        assert _rel_err(out["yc"], base["yc"]) < 1e-5, isa
