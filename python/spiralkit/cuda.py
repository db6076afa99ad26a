"""spiralkit on NVIDIA GPUs: a packed weight resident on a GPU, and sparse linear / conv2d over it.

The CUDA module (``spiralkit._C_cuda``) is found and loaded on first use, never at ``import
spiralkit``; nothing here imports torch or touches CUDA until called. The extension does not link
libtorch: torch CUDA tensors cross as DLPack capsules, and the kernels launch on torch's current
stream of the tensors' device.

    import spiralkit, spiralkit.cuda
    w = spiralkit.pack(spiralkit.prune_to_pattern(weight, "2:4", 0.5), "2:4")
    wd = w.to("cuda", dtype="float16")                  # packed once, uploaded once
    y = spiralkit.cuda.linear(x_cuda_half, wd, bias_cuda_half, activation="gelu")

float32 weights run spiralkit's CUDA-core kernels. float16 / bfloat16 weights run the tensor-core
kernels (2:4 on sparse tensor cores, 16x16 / 32x32 blocks on mma.sync, sm_80+) where the planner
expects them to beat the dense vendor library, and ``torch.nn.functional.linear`` / ``conv2d``
(cuBLAS / cuDNN) on the same weights everywhere else; ``kernel="sparse"`` or ``"dense"`` forces one.
"""

from __future__ import annotations

import functools

import numpy as np

from spiralkit.errors import UnsupportedError
from spiralkit.ops.activation import ACTIVATIONS, activation_code
from spiralkit.patterns import packing_pattern
from spiralkit.sparse import SparseWeight

__all__ = ["CudaSparseWeight", "is_available", "device_properties", "kernel_table", "linear", "conv2d", "to_device"]

_ACT_CODES = {name: code for name, code in ACTIVATIONS.items()}

# Pattern kinds as the native core numbers them (src/core/pattern.h); dtypes and ops as
# src/cuda/formats.h does; planner modes as src/cuda/kernel_choice.h does.
_KIND_CODES = {"dense": 0, "unstructured": 1, "block": 2, "nm": 3}
_DTYPE_CODES = {"float32": 0, "float16": 1, "bfloat16": 2}
_OP_CODES = {"linear": 0, "conv2d": 1, "depthwise": 2}
_MODE_CODES = {"auto": 0, "sparse": 1, "dense": 2}


@functools.lru_cache(maxsize=None)
def _load():
    """The CUDA module, or the ImportError that says why it is missing (cached either way)."""
    try:
        from spiralkit import _C_cuda
    except ImportError as exc:
        return exc
    return _C_cuda


def _lib():
    mod = _load()
    if isinstance(mod, ImportError):
        # A build without CUDA asked to run CUDA: "unsupported build" (ARCHITECTURE.md, Errors).
        raise UnsupportedError(
            "spiralkit's CUDA module (_C_cuda) is not built: build with nvcc on the PATH "
            "(SPIRALKIT_CUDA=AUTO or ON), e.g. 'SPIRALKIT_CUDA=ON pip install .'"
        ) from mod
    return mod


def is_available() -> bool:
    """True when the CUDA module is built and a CUDA device is usable. Loads the module on first call."""
    mod = _load()
    if isinstance(mod, ImportError):
        return False
    return mod.device_count() > 0


def device_properties(device=0) -> dict:
    """Name, compute capability, multiprocessors and memory of a CUDA device."""
    return _lib().device_properties(_device_index(device))


def kernel_table() -> list[dict]:
    """The CUDA kernel tables (kernels/cuda/cuda-kernel-list.h), best rows first."""
    keys = ("name", "min_sm", "dtype", "op", "format", "block_rows", "block_cols")
    return [dict(zip(keys, row)) for row in _lib().kernel_rows()]


def _dtype_name(dtype) -> str:
    """'float16', torch.float16, np.float16 ... -> 'float16' (float32, float16, bfloat16 only)."""
    if dtype is None:
        return "float32"
    text = str(dtype).replace("torch.", "")
    if text in ("half", "<class 'numpy.float16'>"):
        text = "float16"
    if text in ("float", "<class 'numpy.float32'>"):
        text = "float32"
    if text not in _DTYPE_CODES:
        raise ValueError(f"dtype: expected float32, float16 or bfloat16, got {dtype!r}")
    return text


class CudaSparseWeight:
    """A :class:`spiralkit.SparseWeight` packed for the GPU kernels and resident on one device.

    Made by :func:`to_device` (or ``SparseWeight.to("cuda")``); freed when garbage-collected.
    ``kernel`` names the kernel family its layout was packed for: ``dense``, ``csr``, ``bsr``,
    ``bsr16x16``, ``nm`` (float32) or ``nm24``, ``bsr16``, ``bsr32``, ``dense`` (float16 / bfloat16:
    ``dense`` means no tensor-core layout, every call runs cuBLAS / cuDNN).
    """

    __slots__ = ("_native", "_shape", "_pattern", "_source", "_dense", "_depthwise")

    def __init__(self, native, shape: tuple[int, ...], pattern: str, source: SparseWeight | None = None):
        self._native = native
        self._shape = tuple(shape)
        self._pattern = pattern
        self._source = source  # for the dense fallback, built on first use
        self._dense = None
        self._depthwise = None

    @property
    def native(self):
        return self._native

    @property
    def device(self) -> int:
        return int(self._native.device)

    @property
    def dtype(self) -> str:
        return str(self._native.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def matrix_shape(self) -> tuple[int, int]:
        return (int(self._native.rows), int(self._native.cols))

    @property
    def pattern(self) -> str:
        return self._pattern

    @property
    def nnz(self) -> int:
        return int(self._native.nnz)

    @property
    def sparsity(self) -> float:
        rows, cols = self.matrix_shape
        return 1.0 - self.nnz / (rows * cols)

    @property
    def nbytes(self) -> int:
        """Bytes of the device-resident arrays (values + indices)."""
        return int(self._native.nbytes)

    @property
    def kernel(self) -> str:
        return str(self._native.kernel)

    def plan(self, rows: int, op: str = "linear", kernel: str = "auto") -> dict:
        """The kernel a float16 / bfloat16 call of ``rows`` GEMM rows (tokens, or batch x out pixels)
        would run: ``{"kernel": name or "dense", "reason": ...}``."""
        if self.dtype == "float32":
            return {"kernel": self.kernel, "reason": "float32 runs the CUDA-core kernel of its layout"}
        native = self._native if op != "depthwise" else self._depthwise_native()
        row, name, reason = _lib().plan(native, _OP_CODES[op], int(rows), _mode_code(kernel))
        return {"kernel": name, "row": row, "reason": reason}

    def _dense_weight(self, torch):
        """The dense weight as a torch tensor of this dtype on this device (cuBLAS / cuDNN fallback)."""
        if self._dense is None:
            if self._source is None:
                raise UnsupportedError("w: this CudaSparseWeight keeps no source weight for the dense path")
            rows, cols = self.matrix_shape
            dense = np.asarray(self._source.native.to_dense(), dtype=np.float32).reshape(self._shape)
            self._dense = torch.from_numpy(np.ascontiguousarray(dense)).to(
                device=f"cuda:{self.device}", dtype=getattr(torch, self.dtype)
            )
        return self._dense

    def _depthwise_native(self):
        """Dense fp16 / bf16 filters for the depthwise kernel (packed on first use)."""
        if self._depthwise is None:
            rows, cols = self.matrix_shape
            dense = np.ascontiguousarray(np.asarray(self._source.native.to_dense(), dtype=np.float32).reshape(rows, cols))
            pat = packing_pattern(self._source._pattern, self._shape)
            self._depthwise = _lib().pack(
                dense, _KIND_CODES[pat.kind], pat.rows, pat.cols, pat.n, pat.m, _DTYPE_CODES[self.dtype], True, self.device
            )
        return self._depthwise

    def __repr__(self) -> str:
        return (
            f"CudaSparseWeight(shape={self._shape}, pattern='{self._pattern}', dtype={self.dtype}, "
            f"device=cuda:{self.device}, kernel='{self.kernel}', sparsity={self.sparsity:.3f}, nbytes={self.nbytes})"
        )


def _device_index(device) -> int:
    """0, 'cuda', 'cuda:1' or a torch.device -> a device index."""
    if isinstance(device, bool):
        raise ValueError(f"device: expected an int, 'cuda[:N]' or a torch.device, got {device!r}")
    if isinstance(device, (int, np.integer)):
        index = int(device)
    elif isinstance(device, str) or (hasattr(device, "type") and hasattr(device, "index")):
        text = str(device)
        if text == "cuda":
            index = 0
        elif text.startswith("cuda:") and text[5:].isdigit():
            index = int(text[5:])
        else:
            raise ValueError(f"device: expected 'cuda' or 'cuda:N', got {text!r}")
    else:
        raise ValueError(f"device: expected an int, 'cuda[:N]' or a torch.device, got {type(device).__name__}")
    if index < 0:
        raise ValueError(f"device: expected a non-negative index, got {index}")
    return index


def _mode_code(kernel) -> int:
    if kernel not in _MODE_CODES:
        raise ValueError(f"kernel: expected 'auto', 'sparse' or 'dense', got {kernel!r}")
    return _MODE_CODES[kernel]


def to_device(sparse_weight: SparseWeight, device=0, dtype="float32") -> CudaSparseWeight:
    """Pack ``sparse_weight`` for the GPU kernels in ``dtype`` (float32, float16, bfloat16) and upload it
    to ``device`` (index, 'cuda:N', torch.device)."""
    if not isinstance(sparse_weight, SparseWeight):
        raise ValueError(
            f"sparse_weight: expected a spiralkit.SparseWeight (see spiralkit.pack), got {type(sparse_weight).__name__}"
        )
    index = _device_index(device)
    dtype = _dtype_name(dtype)
    lib = _lib()
    count = lib.device_count()
    if count == 0:
        raise UnsupportedError(f"device: cuda:{index} is not available (no CUDA device found: {lib.device_error()})")
    if index >= count:
        raise ValueError(f"device: expected a CUDA device index in [0, {count}), got {index}")
    pat = packing_pattern(sparse_weight._pattern, sparse_weight.shape)
    rows, cols = sparse_weight.matrix_shape
    dense = np.ascontiguousarray(np.asarray(sparse_weight.native.to_dense(), dtype=np.float32).reshape(rows, cols))
    native = lib.pack(dense, _KIND_CODES[pat.kind], pat.rows, pat.cols, pat.n, pat.m, _DTYPE_CODES[dtype], False, index)
    return CudaSparseWeight(native, sparse_weight.shape, sparse_weight._pattern.name, sparse_weight)


@functools.lru_cache(maxsize=None)
def _torch():
    import torch  # noqa: PLC0415 - only callers that pass tensors get here

    return torch


def _check_cuda_tensor(torch, t, name: str, device: int, dtype: str):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name}: expected a torch CUDA tensor, got {type(t).__name__}")
    if not t.is_cuda:
        raise ValueError(f"{name}: expected a CUDA tensor, got a tensor on '{t.device}' (use spiralkit.ops for CPU)")
    if t.get_device() != device:
        raise ValueError(f"{name}: expected a tensor on cuda:{device} (the weight's device), got '{t.device}'")
    if t.dtype is not getattr(torch, dtype):
        raise ValueError(f"{name}: expected dtype {dtype}, got {str(t.dtype).replace('torch.', '')}")


def _capsule(t):
    # The kernels launch on torch's current stream of the tensor's device, the stream its producer
    # ordered its work on: no cross-stream synchronisation to request (stream=-1).
    return t.detach().__dlpack__(stream=-1)


class _OnDevice:
    """Makes `device` torch's current device for DLPack export (torch refuses other devices)."""

    def __init__(self, torch, device: int):
        self._ctx = torch.cuda.device(device) if torch.cuda.current_device() != device else None

    def __enter__(self):
        if self._ctx is not None:
            self._ctx.__enter__()

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.__exit__(*exc)


_TORCH_ACT = {
    0: None,
    1: "relu",
    2: "relu6",
    3: "gelu",
    4: "silu",
    5: "sigmoid",
}


def _torch_activation(torch, y, act: int):
    name = _TORCH_ACT[act]
    if name is None:
        return y
    if name == "sigmoid":
        return torch.sigmoid(y)
    return getattr(torch.nn.functional, name)(y)


def _activation(activation) -> int:
    act = _ACT_CODES.get(activation) if isinstance(activation, str) or activation is None else None
    return activation_code(activation) if act is None else act  # raises the ValueError naming the choices


def _check_weight(w, ndim: int, what: str):
    if not isinstance(w, CudaSparseWeight):
        raise ValueError(f"w: expected a spiralkit.cuda.CudaSparseWeight (see spiralkit.cuda.to_device), got {type(w).__name__}")
    if len(w.shape) != ndim:
        raise ValueError(f"w: expected a {ndim}-D {what} weight, got a {len(w.shape)}-D weight of shape {w.shape}")


def linear(x, w: CudaSparseWeight, bias=None, activation=None, kernel: str = "auto"):
    """y = activation(x @ W.T + bias) on the GPU: ``torch.nn.functional.linear`` semantics.

    ``x``: torch CUDA tensor (..., K) of the weight's dtype on its device; ``bias``: None or (N,)
    likewise. Runs on the current torch stream of that device; returns a new (..., N) tensor.
    Non-contiguous inputs are copied once. ``kernel``: 'auto' (the planner), 'sparse', 'dense'
    (float16 / bfloat16 weights; float32 always runs its CUDA-core kernel).
    """
    _check_weight(w, 2, "linear")
    native = w.native
    n_out, k, device, dtype = native.rows, native.cols, native.device, w.dtype
    if type(x).__module__.split(".")[0] != "torch":
        raise ValueError(f"x: expected a torch CUDA tensor, got {type(x).__name__}")
    torch = _torch()
    _check_cuda_tensor(torch, x, "x", device, dtype)
    if x.dim() < 1:
        raise ValueError("x: expected at least 1 dimension (..., K), got a scalar")
    if x.shape[-1] != k:
        raise ValueError(f"x: expected last dimension K={k} to match w, got {x.shape[-1]} (shape {tuple(x.shape)})")
    if bias is not None:
        _check_cuda_tensor(torch, bias, "bias", device, dtype)
        if tuple(bias.shape) != (n_out,):
            raise ValueError(f"bias: expected shape ({n_out},), got {tuple(bias.shape)}")
        bias = bias.contiguous()
    act = _activation(activation)
    mode = _mode_code(kernel)
    x = x.contiguous()
    rows = x.numel() // k
    out_shape = (*x.shape[:-1], n_out)
    out = torch.empty(out_shape, dtype=x.dtype, device=x.device)
    if rows == 0:
        return out
    row = -1
    if dtype != "float32":
        row = _lib().plan(native, _OP_CODES["linear"], rows, mode)[0]
        if row < 0:  # the planner's dense choice: cuBLAS through torch on the same weight
            y = torch.nn.functional.linear(x, w._dense_weight(torch), bias)
            return _torch_activation(torch, y, act)
    stream = torch.cuda.current_stream(device).cuda_stream
    with _OnDevice(torch, device):
        xc, oc, bc = _capsule(x), _capsule(out), None if bias is None else _capsule(bias)
    if dtype == "float32":
        _lib().linear_f32(native, xc, oc, bc, act, stream)
    else:
        _lib().linear_h16(native, row, xc, oc, bc, act, stream)
    return out


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}") from None
    return (int(a), int(b))


def conv2d(x, w: CudaSparseWeight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None,
           kernel: str = "auto"):
    """``torch.nn.functional.conv2d`` semantics (NCHW, zero padding) over a packed 4-D weight.

    float16 / bfloat16: groups == 1 runs the sparse implicit-GEMM kernels (2:4, 16x16, 32x32) where the
    planner expects them to win, depthwise (groups == channels) may run the depthwise kernel; every
    other case, and float32, runs ``F.conv2d`` (cuDNN) on the same weights.
    """
    _check_weight(w, 4, "conv2d")
    torch = _torch()
    native = w.native
    device, dtype = native.device, w.dtype
    _check_cuda_tensor(torch, x, "x", device, dtype)
    if x.dim() != 4:
        raise ValueError(f"x: expected a 4-D NCHW tensor, got shape {tuple(x.shape)}")
    stride, padding, dilation = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    c_out, c_per_group, kh, kw = w.shape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or x.shape[1] != c_per_group * groups:
        raise ValueError(f"x: expected {c_per_group * groups} input channels (groups={groups}), got {x.shape[1]}")
    if bias is not None:
        _check_cuda_tensor(torch, bias, "bias", device, dtype)
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f"bias: expected shape ({c_out},), got {tuple(bias.shape)}")
        bias = bias.contiguous()
    act = _activation(activation)
    mode = _mode_code(kernel)
    out_h = (x.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (x.shape[3] + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    depthwise = groups == x.shape[1] == c_out and c_per_group == 1 and groups > 1
    row = -1
    if dtype != "float32" and (groups == 1 or depthwise):
        op = "depthwise" if depthwise else "conv2d"
        target = w._depthwise_native() if depthwise else native
        row = _lib().plan(target, _OP_CODES[op], x.shape[0] * max(out_h, 0) * max(out_w, 0), mode)[0]
    elif mode == _MODE_CODES["sparse"]:
        raise UnsupportedError(
            f"kernel='sparse': no sparse {dtype} convolution kernel for groups={groups} "
            "(float16 / bfloat16, groups == 1 or depthwise)"
        )
    if row < 0:
        y = torch.nn.functional.conv2d(x, w._dense_weight(torch), bias, stride, padding, dilation, groups)
        return _torch_activation(torch, y, act)
    x = x.contiguous()
    out = torch.empty((x.shape[0], c_out, out_h, out_w), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    stream = torch.cuda.current_stream(device).cuda_stream
    with _OnDevice(torch, device):
        xc, oc, bc = _capsule(x), _capsule(out), None if bias is None else _capsule(bias)
    _lib().conv2d_h16(target, row, xc, oc, bc, act, (kh, kw), stride, padding, dilation, stream)
    return out
