"""Fixtures of the ONNX-level engine tests: onnxruntime as the reference, one comparison rule.

``check(model, feeds)`` runs ``model`` (an ``onnx.ModelProto``) in onnxruntime and in
``spiralkit.compile(model, feeds)``, and asserts that every output agrees: same count, same
shape, float32, and ``max|got - want| <= rtol * max|want| + atol`` per output.
"""

from __future__ import annotations

import numpy as np
import pytest

RTOL = 1e-4
ATOL = 1e-6


def ort_session(model):
    """An onnxruntime CPU session on ``model`` with graph optimizations off (the plain
    per-op semantics are the reference) and one thread (2 shared cores)."""
    import onnxruntime as ort  # the test module skips when it is missing

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    data = model if isinstance(model, (bytes, str)) else model.SerializeToString()
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def ort_run(model, feeds: dict):
    """The outputs of ``model`` on ``feeds`` (a dict name -> array) in onnxruntime, in graph
    output order."""
    return ort_session(model).run(None, feeds)


def assert_close(got, want, rtol=RTOL, atol=ATOL, what="output"):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, onnxruntime gives {want.shape}"
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}, expected float32"
    want64 = want.astype(np.float64)
    assert np.all(np.isfinite(got)) or not np.all(np.isfinite(want64)), f"{what}: non-finite values"
    if want.size == 0:
        return
    scale = float(np.abs(want64).max())
    err = float(np.abs(got.astype(np.float64) - want64).max())
    tol = rtol * scale + atol
    assert err <= tol, f"{what}: max abs error {err:.3g} > {tol:.3g} (max |ref| {scale:.3g})"


def assert_outputs_close(got, want, rtol=RTOL, atol=ATOL):
    assert isinstance(got, list), f"engine.run returned {type(got).__name__}, expected a list"
    assert len(got) == len(want), f"{len(got)} outputs, onnxruntime gives {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, rtol, atol, what=f"output {i}")


def _check(model, feeds, *, example_input=None, rtol=RTOL, atol=ATOL, **compile_kwargs):
    import spiralkit

    want = ort_run(model, feeds)
    engine = spiralkit.compile(model, feeds if example_input is None else example_input, **compile_kwargs)
    got = engine.run(feeds)
    assert_outputs_close(got, want, rtol, atol)
    return engine


@pytest.fixture
def check():
    """``check(model, feeds, *, example_input=None, rtol=1e-4, atol=1e-6, **compile_kwargs)``:
    compile ``model`` with ``feeds`` as the example input, run both, compare; returns the engine."""
    return _check


@pytest.fixture
def ort_ref():
    """``ort_ref(model, feeds) -> list of arrays``: the onnxruntime outputs."""
    return ort_run


@pytest.fixture
def close():
    """``close(got_list, want_list)``: the comparison ``check`` applies, for tests that run the
    engine themselves."""
    return assert_outputs_close
