"""SparseLinear / SparseConv2d: inference modules whose weight is a packed SparseWeight.

They run spiralkit's kernels on CPU float32 tensors, and spiralkit.cuda's on CUDA tensors (float32,
float16, bfloat16; see spiralkit/cuda.py). They hold no trainable parameters: train
(and mask) the dense model, then :func:`spiralkit.sparsify` it for deployment.

Their forward goes through the torch custom ops ``spiralkit::linear`` / ``spiralkit::conv2d`` so
that ``torch.compile`` and ``torch.export`` treat the native call as one opaque node with a known
output shape. A SparseWeight is not a tensor and cannot be an op argument, so each module
registers its weight in a process-wide registry and passes the integer handle instead (plus the
dense-shape facts the fake implementation needs). The registry holds weights only as long as
their module (weakly, through the handle object): an exported program or compiled graph bakes in
the handle, so keep the sparsified model alive while it runs.
"""

from __future__ import annotations

import itertools
import weakref

import torch
from torch import nn

import spiralkit
from spiralkit.ops import conv2d as sparse_conv2d
from spiralkit.ops import linear as sparse_linear
from spiralkit.ops.conv import conv_output_size


# Kept across importlib.reload of this module: ops registered by the first import look handles
# up in these very objects, and modules built before the reload keep working.
_REGISTRY = globals().get("_REGISTRY", weakref.WeakValueDictionary())  # key -> _Handle
_KEYS = globals().get("_KEYS", itertools.count(1))


class _Handle:
    """Keeps one SparseWeight registered while referenced; ``key`` is what the ops receive."""

    __slots__ = ("key", "weight", "__weakref__")

    def __init__(self, weight):
        self.key = next(_KEYS)
        self.weight = weight
        _REGISTRY[self.key] = self

    def __deepcopy__(self, memo):
        return self  # the packed weight is immutable: copies of a module share it (and its handle)


def _weight(handle: int):
    entry = _REGISTRY.get(handle)
    if entry is None:
        raise RuntimeError(
            f"spiralkit: no SparseWeight registered under handle {handle}; the sparse module that "
            "owned it was freed (keep the sparsified model alive while a compiled/exported graph runs)"
        )
    return entry.weight


def _bias_array(bias):
    return None if bias is None else bias.detach().numpy()


def _linear(x, handle, bias, out_features, activation):
    return sparse_linear(x, _weight(handle), bias, activation)


def _linear_fake(x, handle, bias, out_features, activation):
    return x.new_empty((*x.shape[:-1], out_features))


def _conv2d(x, handle, bias, stride, padding, dilation, groups, out_channels, kernel_size, activation):
    return sparse_conv2d(x, _weight(handle), bias, tuple(stride), tuple(padding), tuple(dilation), groups, activation)


def _conv2d_fake(x, handle, bias, stride, padding, dilation, groups, out_channels, kernel_size, activation):
    spatial = [conv_output_size(x.shape[-2 + i], kernel_size[i], stride[i], padding[i], dilation[i]) for i in (0, 1)]
    return x.new_empty((*x.shape[:-3], out_channels, *spatial))


# CUDA tensors: the same ops through spiralkit.cuda on the weight's GPU copy in the input's dtype
# (SparseWeight.to packs it once per device and dtype); the bias follows the input.
def _cuda_bias(bias, x):
    return None if bias is None else bias.to(device=x.device, dtype=x.dtype)


def _linear_cuda(x, handle, bias, out_features, activation):
    from spiralkit import cuda  # noqa: PLC0415 - the CUDA module loads on first CUDA use only

    return cuda.linear(x, _weight(handle).to(x.device, x.dtype), _cuda_bias(bias, x), activation)


def _conv2d_cuda(x, handle, bias, stride, padding, dilation, groups, out_channels, kernel_size, activation):
    from spiralkit import cuda  # noqa: PLC0415

    w = _weight(handle).to(x.device, x.dtype)
    return cuda.conv2d(x, w, _cuda_bias(bias, x), tuple(stride), tuple(padding), tuple(dilation), groups, activation)


_CUDA_IMPLS = {"linear": _linear_cuda, "conv2d": _conv2d_cuda}

_SCHEMAS = {
    "linear": ("(Tensor x, int handle, Tensor? bias, int out_features, str? activation) -> Tensor",
               _linear, _linear_fake),
    "conv2d": ("(Tensor x, int handle, Tensor? bias, int[2] stride, int[2] padding, int[2] dilation, int groups, "
               "int out_channels, int[2] kernel_size, str? activation) -> Tensor", _conv2d, _conv2d_fake),
}

# A plain torch.library.Library rather than torch.library.custom_op: custom_op wraps every call
# in a Python autograd function (~10 us a call, more than a small GEMV); this costs ~2 us.
# - CompositeExplicitAutograd: one kernel for every device, so spiralkit.ops gives its own
#   errors (CPU float32 only); the fake kernel gives shapes to compile/export.
# - Autograd fallthrough: the op is not differentiable and its output never requires grad, the
#   torch.no_grad() semantics these modules always had (and opcheck's autograd checks pass).
# Defined once per process: the Library is kept across importlib.reload (it unregisters the ops
# when collected) and a second definition of an existing op would raise.
_LIB = globals().get("_LIB")
if _LIB is None and not hasattr(torch.ops.spiralkit, "linear"):
    _LIB = torch.library.Library("spiralkit", "FRAGMENT")
    for _name, (_schema, _impl, _fake) in _SCHEMAS.items():
        _LIB.define(_name + _schema)
        _LIB.impl(_name, _impl, "CompositeExplicitAutograd")
        _LIB.impl(_name, _CUDA_IMPLS[_name], "CUDA")  # CUDA tensors: spiralkit.cuda, not the CPU ops
        _LIB.impl(_name, torch.library.fallthrough_kernel, "Autograd")
        torch.library.register_fake(f"spiralkit::{_name}", _fake, lib=_LIB)


class _PackedModule(nn.Module):
    """What SparseLinear and SparseConv2d share: the registered packed weight and the bias."""

    @property
    def weight_packed(self):
        return self._handle.weight

    @weight_packed.setter
    def weight_packed(self, weight):
        # Assigning registers the weight; the int ``handle`` is what forward passes (a plain int
        # attribute, which torch.compile/export bake in as a constant).
        self._handle = _Handle(weight)
        self.handle = self._handle.key

    @property
    def bias_values(self):
        """The bias as a float32 numpy array (a view of the ``bias`` buffer), or None."""
        return _bias_array(self.bias)


class SparseLinear(_PackedModule):
    def __init__(self, weight: torch.Tensor, bias, pattern: str, activation=None):
        super().__init__()
        self.weight_packed = spiralkit.pack(weight.detach().to(torch.float32).cpu().contiguous().numpy(), pattern)
        # A non-persistent buffer: a tensor the op (and export) can take, not part of state_dict.
        self.register_buffer("bias", _bias_tensor(bias), persistent=False)
        self.in_features = weight.shape[1]
        self.out_features = weight.shape[0]
        self.activation = activation

    @classmethod
    def from_dense(cls, layer: nn.Linear, pattern: str, activation=None) -> "SparseLinear":
        return cls(layer.weight, layer.bias, pattern, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.spiralkit.linear(x, self.handle, self.bias, self.out_features, self.activation)

    def extra_repr(self) -> str:
        w = self.weight_packed
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, pattern='{w.pattern}', "
            f"sparsity={w.sparsity:.3f}, activation={self.activation}"
        )


class SparseConv2d(_PackedModule):
    def __init__(self, weight: torch.Tensor, bias, pattern: str, stride, padding, dilation, groups, activation=None):
        super().__init__()
        if isinstance(padding, str):
            raise ValueError(f"padding: string padding '{padding}' is not supported; give explicit sizes")
        self.weight_packed = spiralkit.pack(weight.detach().to(torch.float32).cpu().contiguous().numpy(), pattern)
        self.register_buffer("bias", _bias_tensor(bias), persistent=False)
        self.stride, self.padding, self.dilation, self.groups = tuple(stride), tuple(padding), tuple(dilation), groups
        self.activation = activation

    @classmethod
    def from_dense(cls, layer: nn.Conv2d, pattern: str, activation=None) -> "SparseConv2d":
        if layer.padding_mode != "zeros":
            raise ValueError(f"padding_mode: only 'zeros' is supported, got '{layer.padding_mode}'")
        return cls(layer.weight, layer.bias, pattern, layer.stride, layer.padding, layer.dilation, layer.groups, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = self.weight_packed.shape  # (C_out, C_in/groups, kh, kw): what the fake kernel needs
        return torch.ops.spiralkit.conv2d(
            x, self.handle, self.bias, self.stride, self.padding, self.dilation, self.groups, shape[0], shape[2:],
            self.activation,
        )

    def extra_repr(self) -> str:
        w = self.weight_packed
        return (
            f"shape={w.shape}, stride={self.stride}, padding={self.padding}, groups={self.groups}, "
            f"pattern='{w.pattern}', sparsity={w.sparsity:.3f}"
        )


def _bias_tensor(bias):
    return None if bias is None else bias.detach().to(torch.float32).cpu().contiguous().clone()


