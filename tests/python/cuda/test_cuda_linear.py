"""spiralkit.cuda.linear against torch.nn.functional.linear on the same dense weight (GPU only).

Skips when torch has no CUDA device or the CUDA module _C_cuda was not built. The reference runs
in full fp32 (TF32 off); the kernels must agree within 1e-5 relative (max error / max magnitude).
"""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import spiralkit  # noqa: E402
import spiralkit.cuda as skc  # noqa: E402

if not torch.cuda.is_available():
    pytest.skip("torch.cuda is not available (no NVIDIA GPU, or a CPU-only torch)", allow_module_level=True)
if not skc.is_available():
    pytest.skip("spiralkit's CUDA module _C_cuda was not built (no nvcc at build time)", allow_module_level=True)

pytestmark = pytest.mark.cuda

PATTERNS = ["dense", "unstructured", "4x1", "8x1", "16x16", "2:4", "4:8", "3x5", "1x4"]
ACTIVATIONS = [None, "relu", "relu6", "gelu", "silu", "sigmoid"]
ROWS = [1, 7, 128]
N_OUT, K_IN = 70, 300  # neither a multiple of 4, 8 nor 16: every edge path runs
TOL = 1e-5

_TORCH_ACT = {
    None: lambda v: v,
    "relu": torch.relu,
    "relu6": torch.nn.functional.relu6,
    "gelu": torch.nn.functional.gelu,
    "silu": torch.nn.functional.silu,
    "sigmoid": torch.sigmoid,
}


@pytest.fixture(autouse=True, scope="module")
def _no_tf32():
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


@functools.lru_cache(maxsize=None)
def _weight(pattern: str, n: int = N_OUT, k: int = K_IN, sparsity: float = 0.7, seed: int = 0):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((n, k)).astype(np.float32)
    if pattern != "dense":
        dense = spiralkit.prune_to_pattern(dense, pattern, sparsity)
    sw = spiralkit.pack(dense, pattern)
    return dense, sw, skc.to_device(sw, 0)


def _reference(x, dense, bias, activation):
    w = torch.from_numpy(dense).cuda()
    return _TORCH_ACT[activation](torch.nn.functional.linear(x, w, bias))


def _rel_err(got, want) -> float:
    got, want = got.double(), want.double()
    scale = max(want.abs().max().item(), 1e-6)
    return (got - want).abs().max().item() / scale


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_linear_matches_torch(pattern, activation, rows):
    dense, _, wd = _weight(pattern)
    g = torch.Generator(device="cuda").manual_seed(rows)
    x = torch.randn(rows, K_IN, device="cuda", generator=g)
    bias = torch.randn(N_OUT, device="cuda", generator=g)
    got = skc.linear(x, wd, bias, activation=activation)
    want = _reference(x, dense, bias, activation)
    assert got.shape == want.shape == (rows, N_OUT)
    assert got.device == x.device and got.dtype == torch.float32
    assert _rel_err(got, want) < TOL, f"{pattern} {activation} rows={rows}: {_rel_err(got, want):.3g}"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_linear_without_bias(pattern):
    dense, _, wd = _weight(pattern)
    x = torch.randn(5, K_IN, device="cuda")
    assert _rel_err(skc.linear(x, wd), _reference(x, dense, None, None)) < TOL


@pytest.mark.parametrize("pattern", ["dense", "unstructured", "4x1", "16x16", "2:4"])
@pytest.mark.parametrize("rows", [1, 3, 16, 17, 300])
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.95])
def test_bert_like_shapes(pattern, rows, sparsity):
    if pattern == "dense" and sparsity:
        pytest.skip("dense has no sparsity")
    if pattern == "2:4" and sparsity != 0.5:
        sparsity = 0.5
    dense, _, wd = _weight(pattern, 256, 768, sparsity, seed=1)
    x = torch.randn(rows, 768, device="cuda")
    bias = torch.randn(256, device="cuda")
    assert _rel_err(skc.linear(x, wd, bias, "gelu"), _reference(x, dense, bias, "gelu")) < TOL


@pytest.mark.parametrize("pattern", ["dense", "unstructured", "4x1", "8x1", "16x16", "2:4"])
@pytest.mark.parametrize("k", [1, 5000, 30000])
def test_reduction_sizes(pattern, k):
    # K = 1 (tiny), 5000 (smaller staged tile), 30000 (too large to stage: direct loads).
    if k == 1 and pattern in ("2:4", "16x16"):
        pytest.skip("pattern needs more columns")
    dense, _, wd = _weight(pattern, 37, k, 0.8, seed=2)  # 37 rows: partial warp groups
    for rows in (1, 9):
        x = torch.randn(rows, k, device="cuda")
        assert _rel_err(skc.linear(x, wd, None, "relu"), _reference(x, dense, None, "relu")) < TOL


def test_batched_and_noncontiguous_inputs():
    dense, _, wd = _weight("4x1")
    x = torch.randn(3, 5, K_IN, device="cuda")
    got = skc.linear(x, wd)
    assert got.shape == (3, 5, N_OUT)
    assert _rel_err(got, _reference(x, dense, None, None)) < TOL
    xt = torch.randn(K_IN, 6, device="cuda").t()  # non-contiguous
    assert not xt.is_contiguous()
    assert _rel_err(skc.linear(xt, wd), _reference(xt, dense, None, None)) < TOL
    empty = skc.linear(torch.empty(0, K_IN, device="cuda"), wd)
    assert empty.shape == (0, N_OUT)


def test_runs_on_the_current_stream_and_in_a_cuda_graph():
    dense, _, wd = _weight("2:4")
    x = torch.randn(16, K_IN, device="cuda")
    want = _reference(x, dense, None, "silu")
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        got = skc.linear(x, wd, activation="silu")
    torch.cuda.current_stream().wait_stream(s)
    assert _rel_err(got, want) < TOL
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = skc.linear(x, wd, activation="silu")
    x.copy_(torch.randn_like(x))
    graph.replay()
    torch.cuda.synchronize()
    assert _rel_err(out, _reference(x, dense, None, "silu")) < TOL


def test_weight_properties():
    dense, sw, wd = _weight("16x16")
    assert wd.matrix_shape == (N_OUT, K_IN) and wd.shape == (N_OUT, K_IN)
    assert wd.pattern == "16x16" and wd.kernel == "bsr16x16" and wd.device == 0
    assert wd.nnz == sw.nnz == int(np.count_nonzero(dense))
    assert wd.nbytes > 0 and "cuda:0" in repr(wd)
    assert _weight("3x5")[2].kernel == "csr"  # block shapes without their own kernel run on CSR
    assert _weight("8x1")[2].kernel == "bsr" and _weight("2:4")[2].kernel == "nm"
    props = skc.device_properties(0)
    assert props["multiprocessors"] > 0 and props["name"]


def test_bad_inputs_name_the_argument():
    _, sw, wd = _weight("4x1")
    x = torch.randn(4, K_IN, device="cuda")
    with pytest.raises(ValueError, match="^x: expected a CUDA tensor"):
        skc.linear(x.cpu(), wd)
    with pytest.raises(ValueError, match="^x: expected dtype float32, got float64"):
        skc.linear(x.double(), wd)
    with pytest.raises(ValueError, match="^x: expected dtype float32, got float16"):
        skc.linear(x.half(), wd)
    with pytest.raises(ValueError, match="^x: expected last dimension K=300"):
        skc.linear(torch.randn(4, K_IN + 1, device="cuda"), wd)
    with pytest.raises(ValueError, match="^x: expected a torch CUDA tensor"):
        skc.linear(x.cpu().numpy(), wd)
    with pytest.raises(ValueError, match="^x: expected at least 1 dimension"):
        skc.linear(torch.tensor(1.0, device="cuda"), wd)
    with pytest.raises(ValueError, match=r"^bias: expected shape \(70,\)"):
        skc.linear(x, wd, torch.zeros(71, device="cuda"))
    with pytest.raises(ValueError, match="^bias: expected a CUDA tensor"):
        skc.linear(x, wd, torch.zeros(N_OUT))
    with pytest.raises(ValueError, match="^bias: expected dtype float32"):
        skc.linear(x, wd, torch.zeros(N_OUT, device="cuda", dtype=torch.float64))
    with pytest.raises(ValueError, match="^activation"):
        skc.linear(x, wd, activation="tanh")
    with pytest.raises(ValueError, match="^w: expected a spiralkit.cuda.CudaSparseWeight"):
        skc.linear(x, sw)
    with pytest.raises(ValueError, match="^sparse_weight: expected a spiralkit.SparseWeight"):
        skc.to_device(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="^device"):
        skc.to_device(sw, "cpu")
    with pytest.raises(ValueError, match="^device: expected a CUDA device index"):
        skc.to_device(sw, torch.cuda.device_count())
    conv = spiralkit.pack(np.ones((4, 2, 3, 3), np.float32), "dense")
    with pytest.raises(ValueError, match="^w: expected a 2-D linear weight"):
        skc.linear(x, skc.to_device(conv))


def test_spiralkit_ops_linear_stays_cpu_only():
    _, sw, _ = _weight("4x1")
    with pytest.raises(ValueError, match="CPU"):
        spiralkit.ops.linear(torch.randn(2, K_IN, device="cuda"), sw)
