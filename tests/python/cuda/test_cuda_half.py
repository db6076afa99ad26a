"""fp16 / bf16 tensor-core kernels (spiralkit.cuda) against a CPU reference on the same packed weights.

GPU only: skips when torch has no CUDA device or _C_cuda was not built. The reference is the packed
SparseWeight's dense matrix (rounded to the dtype, as the GPU copy is) times the same rounded input,
in float64 on the CPU, with bias and activation; error is max |got - want| / max |want|.
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
if torch.cuda.get_device_capability(0) < (8, 0):
    pytest.skip("the tensor-core kernels need sm_80 or newer", allow_module_level=True)

pytestmark = pytest.mark.cuda

DTYPES = {"float16": (torch.float16, 2e-3), "bfloat16": (torch.bfloat16, 1.2e-2)}
ACTIVATIONS = [None, "relu", "relu6", "gelu", "silu", "sigmoid"]
_REF_ACT = {
    None: lambda v: v,
    "relu": torch.relu,
    "relu6": torch.nn.functional.relu6,
    "gelu": torch.nn.functional.gelu,
    "silu": torch.nn.functional.silu,
    "sigmoid": torch.sigmoid,
}


@functools.lru_cache(maxsize=None)
def _packed(pattern, shape, sparsity=0.7, seed=0, empty_block_row=False):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape).astype(np.float32)
    if pattern != "dense":
        dense = spiralkit.prune_to_pattern(dense, pattern, sparsity)
    if empty_block_row:
        dense.reshape(shape[0], -1)[16:32] = 0.0  # block row 1 of a 16x16 weight: no blocks at all
    return spiralkit.pack(dense, pattern)


def _reference_linear(x, sw, bias, activation, dtype):
    w = torch.from_numpy(np.asarray(sw.to_dense(), np.float32)).to(dtype).double()
    y = x.cpu().double() @ w.reshape(w.shape[0], -1).T
    if bias is not None:
        y = y + bias.cpu().double()
    return _REF_ACT[activation](y)


def _rel_err(got, want) -> float:
    got, want = got.cpu().double(), want.cpu().double()
    return (got - want).abs().max().item() / max(want.abs().max().item(), 1e-6)


# Shapes: N and K neither multiples of 16 nor of 32 (70 x 100, 37 x 70), K odd (unaligned pair loads).
LINEAR_CASES = [
    ("2:4", (70, 100)),
    ("2:4", (37, 70)),
    ("2:4", (64, 256)),
    ("16x16", (70, 100)),
    ("16x16", (48, 77)),
    ("32x32", (70, 100)),
    ("32x32", (96, 130)),
]


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("pattern,shape", LINEAR_CASES)
@pytest.mark.parametrize("rows", [1, 7, 9, 17, 33, 300])
def test_sparse_linear_matches_cpu_reference(dtype, pattern, shape, rows):
    tdtype, tol = DTYPES[dtype]
    sw = _packed(pattern, shape, 0.5 if pattern == "2:4" else 0.7)
    wd = sw.to("cuda", dtype)
    assert wd.dtype == dtype and wd.kernel == {"2:4": "nm24", "16x16": "bsr16", "32x32": "bsr32"}[pattern]
    g = torch.Generator(device="cuda").manual_seed(rows)
    x = torch.randn(rows, shape[1], device="cuda", generator=g).to(tdtype)
    bias = torch.randn(shape[0], device="cuda", generator=g).to(tdtype)
    got = skc.linear(x, wd, bias, activation="gelu", kernel="sparse")
    assert got.dtype == tdtype and got.shape == (rows, shape[0])
    assert _rel_err(got, _reference_linear(x, sw, bias, "gelu", tdtype)) < tol


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pattern", ["2:4", "16x16", "32x32"])
def test_fused_activation_and_no_bias(dtype, activation, pattern):
    tdtype, tol = DTYPES[dtype]
    sw = _packed(pattern, (64, 96), 0.5 if pattern == "2:4" else 0.6, seed=3)
    x = torch.randn(20, 96, device="cuda").to(tdtype)
    got = skc.linear(x, sw.to("cuda", dtype), None, activation, kernel="sparse")
    assert _rel_err(got, _reference_linear(x, sw, None, activation, tdtype)) < tol


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_empty_block_rows_give_bias_and_activation_only(dtype):
    tdtype, tol = DTYPES[dtype]
    sw = _packed("16x16", (64, 64), 0.5, seed=4, empty_block_row=True)
    x = torch.randn(10, 64, device="cuda").to(tdtype)
    bias = torch.randn(64, device="cuda").to(tdtype)
    got = skc.linear(x, sw.to("cuda", dtype), bias, "relu", kernel="sparse")
    assert torch.equal(got[:, 16:32].cpu(), torch.relu(bias[16:32]).expand(10, 16).cpu())
    assert _rel_err(got, _reference_linear(x, sw, bias, "relu", tdtype)) < tol


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("pattern", ["2:4", "16x16", "4x1", "unstructured"])
def test_planner_dense_fallback_agrees(dtype, pattern):
    # auto picks cuBLAS for few rows (2:4) or patterns without a tensor-core layout (4x1, unstructured).
    tdtype, tol = DTYPES[dtype]
    sw = _packed(pattern, (64, 96), 0.5 if pattern == "2:4" else 0.7, seed=5)
    wd = sw.to("cuda", dtype)
    x = torch.randn(4, 96, device="cuda").to(tdtype)
    want = _reference_linear(x, sw, None, "silu", tdtype)
    for kernel in ("auto", "dense"):
        assert _rel_err(skc.linear(x, wd, None, "silu", kernel=kernel), want) < tol
    if pattern in ("4x1", "unstructured"):
        assert wd.plan(4)["kernel"] == "dense"
        with pytest.raises(spiralkit.UnsupportedError, match="kernel='sparse'"):
            skc.linear(x, wd, kernel="sparse")
    if pattern == "2:4":
        assert wd.plan(4)["kernel"] == "dense" and wd.plan(4096)["kernel"].endswith("nm24__mmasp")


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("pattern", ["2:4", "16x16", "32x32"])
@pytest.mark.parametrize(
    "c_in,c_out,k,stride,padding,dilation,hw",
    [(64, 64, 3, 1, 1, 1, 14), (48, 40, 1, 1, 0, 1, 9), (32, 48, 3, 2, 1, 1, 15), (40, 36, 3, 1, 2, 2, 11)],
)
def test_sparse_conv2d_matches_cpu_reference(dtype, pattern, c_in, c_out, k, stride, padding, dilation, hw):
    tdtype, tol = DTYPES[dtype]
    sw = _packed(pattern, (c_out, c_in, k, k), 0.5 if pattern == "2:4" else 0.7, seed=6)
    x = torch.randn(3, c_in, hw, hw + 1, device="cuda").to(tdtype)
    bias = torch.randn(c_out, device="cuda").to(tdtype)
    got = skc.conv2d(x, sw.to("cuda", dtype), bias, stride, padding, dilation, 1, "relu", kernel="sparse")
    w = torch.from_numpy(np.asarray(sw.to_dense(), np.float32)).to(tdtype).double()
    want = torch.relu(torch.nn.functional.conv2d(x.cpu().double(), w, bias.cpu().double(), stride, padding, dilation))
    assert got.shape == want.shape and got.dtype == tdtype
    assert _rel_err(got, want) < tol


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("k,stride,padding,dilation", [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 4, 2)])
def test_depthwise_matches_cpu_reference(dtype, k, stride, padding, dilation):
    tdtype, tol = DTYPES[dtype]
    sw = _packed("dense", (24, 1, k, k), seed=7)
    x = torch.randn(2, 24, 13, 12, device="cuda").to(tdtype)
    bias = torch.randn(24, device="cuda").to(tdtype)
    wd = sw.to("cuda", dtype)
    w = torch.from_numpy(np.asarray(sw.to_dense(), np.float32)).to(tdtype).double()
    want = torch.nn.functional.conv2d(x.cpu().double(), w, bias.cpu().double(), stride, padding, dilation, 24)
    for kernel in ("sparse", "auto"):  # 'sparse' forces the depthwise kernel; auto is cuDNN for now
        got = skc.conv2d(x, wd, bias, stride, padding, dilation, 24, None, kernel=kernel)
        assert _rel_err(got, want) < tol


def test_current_stream_cuda_graph_and_module_dispatch():
    sw = _packed("2:4", (64, 128), 0.5, seed=8)
    wd = sw.to("cuda", "float16")
    x = torch.randn(16, 128, device="cuda", dtype=torch.float16)
    want = _reference_linear(x, sw, None, None, torch.float16)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        got = skc.linear(x, wd, kernel="sparse")
    torch.cuda.current_stream().wait_stream(s)
    assert _rel_err(got, want) < 2e-3
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = skc.linear(x, wd, kernel="sparse")
    x.copy_(torch.randn_like(x))
    graph.replay()
    torch.cuda.synchronize()
    assert _rel_err(out, _reference_linear(x, sw, None, None, torch.float16)) < 2e-3
    # torch.library ops: a sparsified module moved to the GPU in fp16 runs spiralkit.cuda.
    from spiralkit.nn.modules import SparseLinear

    layer = torch.nn.Linear(128, 64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.asarray(sw.to_dense(), np.float32)))
    mod = SparseLinear.from_dense(layer, "2:4").cuda().half()
    y = mod(x)
    assert y.is_cuda and y.dtype == torch.float16
    assert _rel_err(y, torch.nn.functional.linear(x.float(), layer.weight.cuda(), layer.bias.cuda())) < 5e-3


def test_bad_inputs_name_the_argument():
    wd = _packed("16x16", (64, 96), 0.7).to("cuda", "float16")
    x = torch.randn(4, 96, device="cuda", dtype=torch.float16)
    with pytest.raises(ValueError, match="^x: expected dtype float16, got bfloat16"):
        skc.linear(x.bfloat16(), wd)
    with pytest.raises(ValueError, match="^kernel"):
        skc.linear(x, wd, kernel="fast")
    with pytest.raises(ValueError, match="^w: expected a 4-D conv2d weight"):
        skc.conv2d(x, wd)
    with pytest.raises(ValueError, match="^dtype"):
        skc.to_device(_packed("16x16", (64, 96), 0.7), 0, "int8")
