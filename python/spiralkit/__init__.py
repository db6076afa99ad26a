"""spiralkit: spiral compression (prune + distill in rounds) and a native sparse inference engine.

``import spiralkit`` needs numpy only; the native extension loads on first use, torch is imported
only by the training side (``spiralkit.compress``) and never by the engine.
"""

from __future__ import annotations

from spiralkit.errors import FormatError, UnsupportedError
from spiralkit.patterns import Pattern, parse_pattern, pattern_mask, prune_to_pattern
from spiralkit.runtime import get_num_threads, info, set_num_threads
from spiralkit.sparse import SparseWeight, pack

__version__ = "0.1.0"

__all__ = [
    "FormatError",
    "Pattern",
    "SparseWeight",
    "UnsupportedError",
    "get_num_threads",
    "info",
    "pack",
    "parse_pattern",
    "pattern_mask",
    "prune_to_pattern",
    "set_num_threads",
    "__version__",
]


# Verbs of the training side live in modules that import torch: resolve them on first use.
# ``spiralkit.compress`` is both a subpackage and the verb: the subpackage module is callable.
_LAZY_FUNCTIONS = {
    "prune": ("spiralkit.compress", "prune"),
    "distill": ("spiralkit.compress", "distill"),
    "sparsify": ("spiralkit.nn", "sparsify"),
    "compile": ("spiralkit.engine", "compile"),
    "load": ("spiralkit.engine", "load"),
    "Engine": ("spiralkit.engine", "Engine"),
}
_LAZY_MODULES = ("compress", "cuda", "ops", "nn", "bench", "data", "engine")


def __getattr__(name):
    import importlib

    if name in _LAZY_FUNCTIONS:
        module_name, attr = _LAZY_FUNCTIONS[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    if name in _LAZY_MODULES:
        return importlib.import_module(f"spiralkit.{name}")
    raise AttributeError(f"module 'spiralkit' has no attribute '{name}'")
