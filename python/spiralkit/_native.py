"""Loads the compiled extension on first use, so that pure-Python parts never pay for it."""

from __future__ import annotations

import functools
import logging

logger = logging.getLogger("spiralkit")


@functools.lru_cache(maxsize=None)
def lib():
    try:
        from spiralkit import _C
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "spiralkit's native extension (_C) is not built; install with 'pip install .' "
            "or build it in place with 'cmake -S . -B build && cmake --build build'"
        ) from exc
    _log_kernel_choice(_C.info())
    return _C


def _log_kernel_choice(info: dict) -> None:
    # The dispatch decision, once per process (ARCHITECTURE.md: "the choice is logged").
    if info.get("isa_note"):
        logger.warning(info["isa_note"])
    chosen = ", ".join(f"{family}={row['kernel']}" for family, row in sorted(info["kernels"].items()))
    logger.info("spiralkit: ISA %s (detected %s); kernels: %s", info["isa_active"], info["isa_detected"], chosen)
