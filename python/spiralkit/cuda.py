"""spiralkit on NVIDIA GPUs: a packed weight resident on a GPU and the sparse linear op over it.

The CUDA module (``spiralkit._C_cuda``) is found and loaded on first use, never at ``import
spiralkit``; nothing here imports torch or touches CUDA until called. The extension does not link
libtorch: torch CUDA tensors cross as device pointers (``data_ptr()``) and the current stream.

    import spiralkit, spiralkit.cuda
    w = spiralkit.pack(spiralkit.prune_to_pattern(weight, "4x1", 0.9), "4x1")
    wd = spiralkit.cuda.to_device(w)                    # packed once, uploaded once
    y = spiralkit.cuda.linear(x_cuda, wd, bias_cuda, activation="gelu")
"""

from __future__ import annotations

import functools
import numpy as np

from spiralkit.errors import UnsupportedError
from spiralkit.ops.activation import ACTIVATIONS, activation_code
from spiralkit.sparse import SparseWeight

__all__ = ["CudaSparseWeight", "is_available", "device_properties", "linear", "to_device"]

_ACT_CODES = {name: code for name, code in ACTIVATIONS.items()}

# Pattern kinds as the native core numbers them (src/core/pattern.h).
_KIND_CODES = {"dense": 0, "unstructured": 1, "block": 2, "nm": 3}


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


class CudaSparseWeight:
    """A :class:`spiralkit.SparseWeight` packed for the GPU kernels and resident on one device.

    Made by :func:`to_device`; freed when garbage-collected. ``kernel`` names the kernel family
    its layout was packed for (``dense``, ``csr``, ``bsr``, ``bsr16x16``, ``nm``).
    """

    __slots__ = ("_native", "_shape", "_pattern")

    def __init__(self, native, shape: tuple[int, ...], pattern: str):
        self._native = native
        self._shape = tuple(shape)
        self._pattern = pattern

    @property
    def native(self):
        return self._native

    @property
    def device(self) -> int:
        return int(self._native.device)

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

    def __repr__(self) -> str:
        return (
            f"CudaSparseWeight(shape={self._shape}, pattern='{self._pattern}', device=cuda:{self.device}, "
            f"kernel='{self.kernel}', sparsity={self.sparsity:.3f}, nbytes={self.nbytes})"
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


def to_device(sparse_weight: SparseWeight, device=0) -> CudaSparseWeight:
    """Pack ``sparse_weight`` for the GPU kernels and upload it to ``device`` (index, 'cuda:N', torch.device)."""
    if not isinstance(sparse_weight, SparseWeight):
        raise ValueError(
            f"sparse_weight: expected a spiralkit.SparseWeight (see spiralkit.pack), got {type(sparse_weight).__name__}"
        )
    index = _device_index(device)
    lib = _lib()
    if index >= lib.device_count():
        raise UnsupportedError(f"device: cuda:{index} is not available ({lib.device_count()} CUDA device(s) found)")
    pat = sparse_weight._pattern
    rows, cols = sparse_weight.matrix_shape
    dense = np.ascontiguousarray(np.asarray(sparse_weight.native.to_dense(), dtype=np.float32).reshape(rows, cols))
    native = lib.pack(dense, _KIND_CODES[pat.kind], pat.rows, pat.cols, pat.n, pat.m, index)
    return CudaSparseWeight(native, sparse_weight.shape, pat.name)


@functools.lru_cache(maxsize=None)
def _torch():
    import torch  # noqa: PLC0415 - only callers that pass tensors get here

    # The raw current stream of a device, without building a torch.cuda.Stream object (the public
    # torch.cuda.current_stream(d).cuda_stream is the fallback).
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    current_stream = raw if raw is not None else (lambda index: torch.cuda.current_stream(index).cuda_stream)
    return torch, current_stream


def _check_cuda_tensor(torch, t, name: str, device: int):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name}: expected a torch CUDA tensor, got {type(t).__name__}")
    if not t.is_cuda:
        raise ValueError(f"{name}: expected a CUDA tensor, got a tensor on '{t.device}' (use spiralkit.ops.linear for CPU)")
    if t.get_device() != device:
        raise ValueError(f"{name}: expected a tensor on cuda:{device} (the weight's device), got '{t.device}'")
    if t.dtype is not torch.float32:
        raise ValueError(f"{name}: expected dtype float32, got {str(t.dtype).replace('torch.', '')}")


def linear(x, w: CudaSparseWeight, bias=None, activation=None):
    """y = activation(x @ W.T + bias) on the GPU: ``torch.nn.functional.linear`` semantics.

    ``x``: torch CUDA float32 tensor (..., K) on the weight's device; ``bias``: None or (N,) likewise.
    Runs on the current torch stream of that device; returns a new (..., N) tensor. Non-contiguous
    inputs are copied once.
    """
    if not isinstance(w, CudaSparseWeight):
        raise ValueError(f"w: expected a spiralkit.cuda.CudaSparseWeight (see spiralkit.cuda.to_device), got {type(w).__name__}")
    if len(w.shape) != 2:
        raise ValueError(f"w: expected a 2-D linear weight, got a {len(w.shape)}-D weight of shape {w.shape}")
    native = w.native
    n_out, k, device = native.rows, native.cols, native.device
    if type(x).__module__.split(".")[0] != "torch":
        raise ValueError(f"x: expected a torch CUDA tensor, got {type(x).__name__}")
    torch, current_stream = _torch()
    _check_cuda_tensor(torch, x, "x", device)
    if x.dim() < 1:
        raise ValueError("x: expected at least 1 dimension (..., K), got a scalar")
    if x.shape[-1] != k:
        raise ValueError(f"x: expected last dimension K={k} to match w, got {x.shape[-1]} (shape {tuple(x.shape)})")
    bias_ptr = 0
    if bias is not None:
        _check_cuda_tensor(torch, bias, "bias", device)
        if tuple(bias.shape) != (n_out,):
            raise ValueError(f"bias: expected shape ({n_out},), got {tuple(bias.shape)}")
        bias = bias.contiguous()
        bias_ptr = bias.data_ptr()
    act = _ACT_CODES.get(activation) if isinstance(activation, str) or activation is None else None
    if act is None:
        act = activation_code(activation)  # raises the ValueError naming the choices
    x = x.contiguous()
    rows = x.numel() // k
    out = torch.empty((*x.shape[:-1], n_out), dtype=torch.float32, device=x.device)
    if rows == 0:
        return out
    _lib().linear(native, x.data_ptr(), rows, out.data_ptr(), bias_ptr, act, current_stream(device), device)
    return out
    stream = torch.cuda.current_stream(x.device).cuda_stream
    _lib().linear(w.native, x.data_ptr(), rows, out.data_ptr(), bias_ptr, act, stream, device)
    return out
