"""Crossing the user boundary: numpy arrays and CPU torch tensors in, the same kind out.

torch is never imported here: a tensor is recognised by its type's module, converted with
``numpy()`` (zero-copy for CPU tensors) and turned back with ``torch.from_numpy`` (zero-copy).
"""

from __future__ import annotations

import sys

import numpy as np

NUMPY = "numpy"
TORCH = "torch"


def _is_torch_tensor(obj) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach") and hasattr(obj, "dtype")


def from_user_array(obj, name: str, *, contiguous: bool = True) -> tuple[np.ndarray, str]:
    """Return (float32 numpy view or copy, kind). Refuses other dtypes with a ValueError naming ``name``."""
    if _is_torch_tensor(obj):
        if obj.device.type != "cpu":
            raise ValueError(f"{name}: expected a CPU tensor, got a tensor on '{obj.device}'")
        if str(obj.dtype) != "torch.float32":
            raise ValueError(f"{name}: expected dtype float32, got {str(obj.dtype).replace('torch.', '')}")
        arr = obj.detach().numpy()
        kind = TORCH
    elif isinstance(obj, np.ndarray):
        if obj.dtype != np.float32:
            raise ValueError(f"{name}: expected dtype float32, got {obj.dtype}")
        arr = obj
        kind = NUMPY
    else:
        raise ValueError(f"{name}: expected a numpy float32 array or a CPU torch tensor, got {type(obj).__name__}")
    if contiguous:
        arr = np.ascontiguousarray(arr)  # non-contiguous input: one copy, then correct results
    return arr, kind


def to_user_array(arr: np.ndarray, kind: str):
    if kind == TORCH:
        torch = sys.modules["torch"]  # the caller passed a tensor, so torch is loaded
        return torch.from_numpy(arr)
    return arr
