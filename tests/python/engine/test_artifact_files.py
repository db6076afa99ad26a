"""The committed artifacts tests/cpp/data/*.spk (written by tests/cpp/data/make_artifacts.py, fuzzed
by tests/cpp/test_artifact.cc) still load with ``spiralkit.load`` and run; when torch is there,
their outputs equal the models make_artifacts.py builds. A failure here after an artifact-format
change: re-run ``PYTHONPATH=python python tests/cpp/data/make_artifacts.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import spiralkit

DATA = Path(__file__).resolve().parents[2] / "cpp" / "data"
ARTIFACTS = sorted(DATA.glob("*.spk"))
REGENERATE = "re-run: PYTHONPATH=python python tests/cpp/data/make_artifacts.py"


def test_artifacts_are_there():
    names = {p.name for p in ARTIFACTS}
    assert {"tiny_cnn.spk", "tiny_encoder.spk"} <= names, f"missing committed artifacts in {DATA}"


def _inputs(engine, batch, token_ids: bool):
    """Random inputs at ``batch``: token ids in [0, 20) (the tiny encoder's vocabulary) or floats."""
    rng = np.random.default_rng(0)
    out = []
    for shape in engine.input_shapes.values():
        dims = [batch if d is None else d for d in shape]
        out.append(rng.integers(0, 20, dims).astype(np.int64) if token_ids
                   else rng.standard_normal(dims).astype(np.float32))
    return out


@pytest.mark.parametrize("path", ARTIFACTS, ids=[p.stem for p in ARTIFACTS])
def test_artifact_loads_and_runs(path):
    try:
        engine = spiralkit.load(path)
    except spiralkit.FormatError as exc:
        pytest.fail(f"{path.name} no longer loads ({exc}); {REGENERATE}")
    assert engine.weight_bytes > 0 and engine.output_names
    assert any("pattern" in l for l in engine.layers())
    for batch in (1, 3):
        outs = engine.run(_inputs(engine, batch, token_ids="encoder" in path.stem))
        assert len(outs) == len(engine.output_names)
        for y in outs:
            assert y.dtype == np.float32 and y.shape[0] == batch and np.isfinite(y).all()


def _make_artifacts_module():
    spec = importlib.util.spec_from_file_location("make_artifacts", DATA / "make_artifacts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_artifacts_match_their_models():
    torch = pytest.importorskip("torch")
    mk = _make_artifacts_module()
    # The same steps, in the same order, as make_artifacts.main (one RNG stream).
    torch.manual_seed(0)
    cnn = mk.prune(mk.TinyCnn().eval())
    cnn.bn.running_mean.uniform_(-0.5, 0.5)
    cnn.bn.running_var.uniform_(0.5, 1.5)
    torch.randn(1, 3, 8, 8)
    enc = mk.prune(mk.TinyEncoder().eval())

    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 8, 8, generator=g)
    ids = torch.randint(0, 20, (2, 6), generator=g)
    for name, model, inp in (("tiny_cnn", cnn, x), ("tiny_encoder", enc, ids)):
        engine = spiralkit.load(DATA / f"{name}.spk")
        with torch.no_grad():
            want = model(inp).numpy().astype(np.float64)
        got = engine.run(inp.numpy())[0]
        err = float(np.abs(got - want).max())
        assert err <= 1e-4 * float(np.abs(want).max()), (
            f"{name}.spk differs from make_artifacts.py's model by {err:.3g}; {REGENERATE}")
