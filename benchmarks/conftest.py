"""pytest-benchmark suite settings: threads from SPIRALKIT_BENCH_THREADS (default 2), shared by torch and spiralkit."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def same_threads():
    torch = pytest.importorskip("torch")
    import spiralkit

    n = int(os.environ.get("SPIRALKIT_BENCH_THREADS", "2"))
    torch.set_num_threads(n)
    spiralkit.set_num_threads(n)
    return n
