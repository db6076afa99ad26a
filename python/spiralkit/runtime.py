"""Runtime facts and knobs: what was built, what the CPU has, which kernel each family uses, threads."""

from __future__ import annotations

from spiralkit._native import lib


def info() -> dict:
    """Version, build options, detected ISA, CUDA availability and the kernel chosen per family."""
    from spiralkit import __version__

    native = dict(lib().info())
    native["version"] = __version__
    native["cuda_built"] = _cuda_built()
    return native


def _cuda_built() -> bool:
    # Looking for the module file does not load it, so CUDA is never initialised here.
    import importlib.util

    return importlib.util.find_spec("spiralkit._C_cuda") is not None


def set_num_threads(n: int) -> None:
    """Threads used by every spiralkit kernel (one pool for the whole library)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer thread count, got {n!r}")
    lib().set_num_threads(n)


def get_num_threads() -> int:
    return int(lib().get_num_threads())
