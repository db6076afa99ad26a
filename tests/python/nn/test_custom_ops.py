"""The torch custom ops spiralkit::linear / spiralkit::conv2d behind SparseLinear / SparseConv2d:
numerics, torch.compile, torch.export and torch.library.opcheck."""

import importlib
import shutil

import pytest

import spiralkit

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _pruned(shape, pattern="2:4", sparsity=0.5, seed=0):
    torch.manual_seed(seed)
    return spiralkit.prune_to_pattern(torch.randn(*shape), pattern, sparsity)


def _model(pattern="4x1"):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
    ).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.copy_(spiralkit.prune_to_pattern(m.weight.detach().clone(), pattern, 0.6))
    return model


def _targets(graph):
    return {str(n.target) for n in graph.nodes if n.op == "call_function"}


# The helpers return the layer with the op's arguments: holding the layer keeps its handle registered.
def _linear_args(x, with_bias=True, activation=None):
    w = _pruned((12, x.shape[-1]))
    layer = spiralkit.nn.SparseLinear(w, torch.randn(12) if with_bias else None, "2:4")
    return layer, (x, layer.handle, layer.bias, layer.out_features, activation)


def _conv_args(x, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2):
    w = _pruned((6, x.shape[-3] // groups, 3, 3), "unstructured", 0.7)
    layer = spiralkit.nn.SparseConv2d(w, torch.randn(6), "unstructured", stride, padding, dilation, groups)
    args = (x, layer.handle, layer.bias, list(stride), list(padding), list(dilation), groups, 6, [3, 3], None)
    return layer, args


# --- (1) the ops against torch.nn.functional --------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 16), (2, 3, 16), (16,)])  # leading batch dims kept
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_op_matches_f_linear(shape, with_bias):
    x = torch.randn(*shape)
    layer, args = _linear_args(x, with_bias)
    dense = torch.from_numpy(layer.weight_packed.to_dense())
    expect = F.linear(x, dense, layer.bias)
    torch.testing.assert_close(torch.ops.spiralkit.linear(*args), expect, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.ops.spiralkit.linear(*args[:-1], "relu"), expect.relu(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 4, 9, 8), (4, 9, 8)])  # batched and unbatched
def test_conv2d_op_matches_f_conv2d(shape):
    x = torch.randn(*shape)
    layer, args = _conv_args(x)
    dense = torch.from_numpy(layer.weight_packed.to_dense())
    expect = F.conv2d(x, dense, layer.bias, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    torch.testing.assert_close(torch.ops.spiralkit.conv2d(*args), expect, rtol=1e-5, atol=1e-5)


def test_output_needs_no_grad_as_before():
    # The ops are inference-only (Autograd fallthrough): like the old torch.no_grad() forward.
    x = torch.randn(3, 2, 8, 8, requires_grad=True)
    assert not spiralkit.sparsify(_model())(x).requires_grad


def test_op_errors_are_spiralkits_own():
    x = torch.randn(2, 16, dtype=torch.float64)
    _, args = _linear_args(torch.randn(2, 16))
    with pytest.raises(ValueError, match="expected dtype float32"):
        torch.ops.spiralkit.linear(x, *args[1:])


def test_freed_module_handle_is_refused():
    layer, args = _linear_args(torch.randn(2, 16))
    del layer
    with pytest.raises(RuntimeError, match="no SparseWeight registered under handle"):
        torch.ops.spiralkit.linear(*args)


def test_registration_is_idempotent():
    layer, args = _linear_args(torch.randn(2, 16))
    before = torch.ops.spiralkit.linear(*args)
    # Re-executes the registration code (must not raise); in this order the package ends up
    # consistent (sparsify and spiralkit.nn see the reloaded classes).
    for name in ("spiralkit.nn.modules", "spiralkit.nn.sparsify", "spiralkit.nn"):
        importlib.reload(importlib.import_module(name))  # (spiralkit.nn.sparsify is the function)
    torch.testing.assert_close(torch.ops.spiralkit.linear(*args), before)  # old handles still served
    new_layer, new_args = _linear_args(torch.randn(2, 16))
    torch.ops.spiralkit.linear(*new_args)


# --- (2) torch.compile -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        "eager",
        pytest.param(
            "inductor", marks=pytest.mark.skipif(shutil.which("g++") is None and shutil.which("cc") is None,
                                                 reason="inductor on CPU needs a C++ compiler")
        ),
    ],
)
def test_compiled_sparsified_model_matches_eager(backend):
    sparse = spiralkit.sparsify(_model())
    compiled = torch.compile(sparse, backend=backend, fullgraph=True)  # fullgraph: no graph breaks at the ops
    for batch in (3, 5):
        x = torch.randn(batch, 2, 8, 8)
        torch.testing.assert_close(compiled(x), sparse(x), rtol=1e-5, atol=1e-5)


def test_compiled_linear_with_leading_batch_dims():
    sparse = spiralkit.sparsify(nn.Sequential(nn.Linear(16, 8), nn.GELU(), nn.Linear(8, 4)), pattern="dense")
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(torch.compile(sparse, backend="eager", fullgraph=True)(x), sparse(x))


# --- (3) torch.export --------------------------------------------------------------------------


def test_export_keeps_spiralkit_ops_and_runs():
    sparse = spiralkit.sparsify(_model())
    x = torch.randn(3, 2, 8, 8)
    ep = torch.export.export(sparse, (x,))
    targets = _targets(ep.graph)
    assert {"spiralkit.linear.default", "spiralkit.conv2d.default"} <= targets
    torch.testing.assert_close(ep.module()(x), sparse(x), rtol=1e-5, atol=1e-5)


def test_export_with_dynamic_batch():
    sparse = spiralkit.sparsify(_model())
    ep = torch.export.export(sparse, (torch.randn(3, 2, 8, 8),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    x = torch.randn(6, 2, 8, 8)
    torch.testing.assert_close(ep.module()(x), sparse(x), rtol=1e-5, atol=1e-5)


# --- (4) torch.library.opcheck -----------------------------------------------------------------
# All four sub-tests apply to the handle design: the handle is a plain int argument, the fake
# kernels need no registry. Inputs that require grad are checked too: the Autograd fallthrough
# makes the ops non-differentiable, which the autograd sub-tests accept.


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("with_bias", [True, False])
def test_opcheck_linear(requires_grad, with_bias):
    layer, args = _linear_args(torch.randn(2, 3, 16, requires_grad=requires_grad), with_bias, "gelu")
    torch.library.opcheck(torch.ops.spiralkit.linear.default, args)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck_conv2d(requires_grad):
    layer, args = _conv_args(torch.randn(2, 4, 9, 8, requires_grad=requires_grad))
    torch.library.opcheck(torch.ops.spiralkit.conv2d.default, args)
