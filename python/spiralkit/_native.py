"""Loads the compiled extension on first use, so that pure-Python parts never pay for it."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def lib():
    try:
        from spiralkit import _C
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "spiralkit's native extension (_C) is not built; install with 'pip install .' "
            "or build it in place with 'cmake -S . -B build && cmake --build build'"
        ) from exc
    return _C
