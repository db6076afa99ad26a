"""SparseWeight: a weight packed once for spiralkit's kernels, and ``pack`` which makes one."""

from __future__ import annotations

import numpy as np

from spiralkit._arrays import from_user_array, to_user_array
from spiralkit._native import lib
from spiralkit.patterns import Pattern, along_taps, packing_pattern, parse_pattern, taps_first

# Pattern kinds as the native core numbers them (src/core/pattern.h).
_KIND_CODES = {"dense": 0, "unstructured": 1, "block": 2, "nm": 3}


class SparseWeight:
    """A packed weight. Build with :func:`spiralkit.pack`; immutable afterwards.

    ``shape`` is the original weight's shape (2-D linear or 4-D conv); the kernels see the
    logical matrix ``(shape[0], prod(shape[1:]))``.
    """

    __slots__ = ("_packed", "_pattern", "_shape", "_input_kind", "_on_device")

    def __init__(self, packed, pattern: Pattern, shape: tuple[int, ...], input_kind: str = "numpy"):
        self._packed = packed
        self._pattern = pattern
        self._shape = tuple(int(d) for d in shape)
        self._input_kind = input_kind
        self._on_device = {}  # (device index, dtype) -> spiralkit.cuda.CudaSparseWeight, made by to()

    @property
    def dtype(self) -> str:
        """``"float32"``, or ``"float16"`` for a weight packed with ``pack(..., dtype="float16")``."""
        return self._packed.dtype

    @property
    def pattern(self) -> str:
        return self._pattern.name

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def matrix_shape(self) -> tuple[int, int]:
        return (self._packed.rows, self._packed.cols)

    @property
    def nnz(self) -> int:
        """Non-zero weights (explicitly stored zeros, e.g. N:M padding, are not counted)."""
        return int(self._packed.nnz)

    @property
    def sparsity(self) -> float:
        numel = self._packed.rows * self._packed.cols
        return 1.0 - self.nnz / numel if numel else 0.0

    @property
    def nbytes(self) -> int:
        """Real packed bytes: stored values plus every index array."""
        return int(self._packed.nbytes)

    @property
    def native(self):
        """The native packed weight (for spiralkit's own ops)."""
        return self._packed

    def to_dense(self):
        """The dense weight, bit-exact, in the original shape and array kind."""
        dense = np.asarray(self._packed.to_dense()).reshape(self._shape)
        return to_user_array(dense, self._input_kind)

    def to(self, device, dtype=None):
        """This weight on ``device``: ``"cpu"`` gives itself; ``"cuda[:N]"`` (or a torch.device) gives a
        :class:`spiralkit.cuda.CudaSparseWeight` packed for the GPU kernels in ``dtype`` (float32 by
        default, float16, bfloat16), made once per (device, dtype) and kept."""
        if str(device) == "cpu":
            if dtype is not None and str(dtype).replace("torch.", "") not in ("float32", "float"):
                raise ValueError(f"dtype: a CPU SparseWeight is float32, got {dtype!r}")
            return self
        from spiralkit import cuda  # noqa: PLC0415 - loads the CUDA module on first GPU use only

        index, name = cuda._device_index(device), cuda._dtype_name(dtype)
        key = (index, name)
        if key not in self._on_device:
            self._on_device[key] = cuda.to_device(self, index, name)
        return self._on_device[key]

    def __repr__(self) -> str:
        return (
            f"SparseWeight(shape={self._shape}, pattern='{self.pattern}', "
            f"sparsity={self.sparsity:.3f}, nbytes={self.nbytes})"
        )


def pack(weight, pattern: "str | Pattern", dtype: str = "float32") -> SparseWeight:
    """Pack a 2-D (N, K) or 4-D conv weight whose zeros already follow ``pattern``.

    Raises ValueError naming the first block or group that breaks the pattern; use
    :func:`spiralkit.prune_to_pattern` to make a weight that follows it.

    ``dtype="float16"`` (opt-in) stores the kernel's values in fp16 and runs linear and 1x1
    convolution in fp16 arithmetic (activations converted to fp16 per call, outputs float32):
    ARM CPUs with FEAT_FP16 only (Cortex-A76/A78: Raspberry Pi 5, Jetson Orin); elsewhere it raises
    :class:`spiralkit.UnsupportedError`. Values beyond +-65504 overflow fp16.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype: expected 'float32' or 'float16', got {dtype!r}")
    arr, kind = from_user_array(weight, "weight")
    if arr.ndim not in (2, 4):
        raise ValueError(
            f"weight: expected a 2-D (N, K) or 4-D (C_out, C_in/groups, kh, kw) array, got {arr.ndim}-D"
        )
    if arr.size == 0:
        raise ValueError(f"weight: expected a non-empty array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("weight: contains NaN or infinity")
    pat = parse_pattern(pattern)
    if pat.kind == "channel":
        raise ValueError(
            "pattern: 'channel' pruning rebuilds the model smaller and dense; pack the rebuilt "
            "weight with pattern 'dense'"
        )
    if along_taps(pat, arr.shape):  # RxC-cin blocks of a k x k layer: checked here, packed unstructured
        if not _blocks_closed(taps_first(arr) != 0, pat):
            raise ValueError(f"weight: its zeros do not follow pattern '{pat.name}' (a {pat.rows}x{pat.cols} block of "
                             "input channels at one tap is partly zero); use spiralkit.prune_to_pattern")
    native = packing_pattern(pat, arr.shape)
    matrix = arr.reshape(arr.shape[0], -1)
    packed = lib().pack(matrix, _KIND_CODES[native.kind], native.rows, native.cols, native.n, native.m, dtype)
    return SparseWeight(packed, pat, arr.shape, kind)


def _blocks_closed(mask: np.ndarray, pat) -> bool:
    """Whether every rows x cols block of the 2-D boolean mask is all True or all False."""
    n, k = mask.shape
    r, c = pat.rows, pat.cols
    padded = np.zeros((-(-n // r) * r, -(-k // c) * c), dtype=np.int64)
    padded[:n, :k] = mask
    counts = np.zeros_like(padded)
    counts[:n, :k] = 1
    kept = padded.reshape(padded.shape[0] // r, r, -1, c).sum(axis=(1, 3))
    size = counts.reshape(counts.shape[0] // r, r, -1, c).sum(axis=(1, 3))
    return bool(((kept == 0) | (kept == size)).all())
