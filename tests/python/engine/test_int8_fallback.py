"""compile(quantize="int8", int8_tolerance=...): the fewest, noisiest layer inputs stay fp32 until the
int8 output is within the tolerance of fp32 on the calibration batches (engine/int8_fallback.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import spiralkit  # noqa: E402
from spiralkit.engine import int8_fallback  # noqa: E402
from spiralkit.bench.ort_int8 import quantize_ort_int8  # noqa: E402
from spiralkit.engine.quantize import RangeCollector  # noqa: E402

from int8_testing import batches as _batches, export as _export, prune_1x4 as _prune_1x4  # noqa: E402


def _fit_with(contributions: dict, tolerance: float):
    """fit() where each int8 tensor adds its contribution to the error (noise ranks them alike)."""
    ranges = {n: (0.1, 128) for n in contributions}
    built = []

    def build(kept):
        built.append(set(kept))
        return kept

    def error(kept):
        return sum(contributions[n] for n in kept)

    kept, report = int8_fallback.fit(ranges, dict(contributions), build, error, tolerance)
    return kept, report, built


def test_fit_keeps_the_shortest_noisiest_prefix_in_fp32():
    contributions = {f"t{i}": 0.5 ** i for i in range(16)}  # t0 the noisiest
    total = sum(contributions.values())
    for tol in (total + 1, 0.9, 0.3, 0.01, 1e-4):
        kept, report, built = _fit_with(contributions, tol)
        # The answer by brute force: the smallest k whose remaining error is within tol.
        k = next(k for k in range(17) if sum(list(contributions.values())[k:]) <= tol)
        assert report["fp32_inputs"] == [f"t{i}" for i in range(k)]
        assert set(kept) == {f"t{i}" for i in range(k, 16)}
        assert report["error"] <= tol and report["int8_inputs"] == 16 - k
        assert math.isclose(report["error_all_int8"], total)
        assert report["builds"] == len(built) <= 2 * math.ceil(math.log2(16)) + 2


def test_fit_falls_back_to_all_fp32_when_nothing_else_is_within_tolerance():
    contributions = {"a": 0.2, "b": 0.1, "c": 0.05}
    kept, report, _ = _fit_with(contributions, 1e-9)
    assert kept == {} and report["fp32_inputs"] == ["a", "b", "c"] and report["error"] == 0.0


def test_noise_ratio_is_rounding_noise_over_power():
    c = RangeCollector("minmax", 99.9)
    c.add(np.array([0.0, 1.0, -1.0, 2.0], np.float32))
    assert math.isclose(c.noise_ratio(0.5), 0.5 ** 2 / 12 / (6 / 4))
    assert RangeCollector("minmax", 99.9).noise_ratio(0.5) == 0.0  # no values: no noise to rank


class OutlierMlp(torch.nn.Module):
    """fc2's input has one channel ~1000x the others (weighted down by 1e-3 in fc2): its uint8 step
    erases every other channel, so int8 fc2 is far off while fc1 and fc3 quantize well."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(64, 256), torch.nn.Linear(256, 256), torch.nn.Linear(256, 32)
        scale = torch.ones(256)
        scale[0] = 1000.0
        self.register_buffer("scale", scale)
        with torch.no_grad():
            self.fc2.weight[:, 0] *= 1e-3

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)) * self.scale)))


def _rel(got, ref):
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def test_outlier_input_stays_fp32_and_the_output_meets_the_tolerance(tmp_path):
    torch.manual_seed(0)
    model = OutlierMlp().eval()
    _prune_1x4(model, 0.5)
    path = _export(model, (4, 64), tmp_path / "m.onnx")
    calib = _batches((4, 64), 6)
    held_out = _batches((4, 64), 1, seed=99)[0]
    ref = model(torch.from_numpy(held_out)).detach().numpy()
    plain = spiralkit.compile(path, calib[0], quantize="int8", calibration=calib)
    assert plain.int8_report is None
    assert _rel(plain.run(held_out)[0], ref) > 0.1  # the premise: all-int8 is far off

    eng = spiralkit.compile(path, calib[0], quantize="int8", calibration=calib, int8_tolerance=0.02)
    report = eng.int8_report
    assert report["error_all_int8"] > 0.1 and report["error"] <= 0.02
    assert len(report["fp32_inputs"]) == 1  # only fc2's input
    assert _rel(eng.run(held_out)[0], ref) < 0.05
    kernels = {l["name"]: l["kernel"] for l in eng.layers() if l["op"] == "Linear"}
    assert sum(k.startswith("int8 ") for k in kernels.values()) == 2, kernels
    assert any(not k.startswith("int8 ") for k in kernels.values()), kernels


def test_int8_tolerance_arguments_are_checked(tmp_path):
    path = _export(OutlierMlp(), (4, 64), tmp_path / "m.onnx")
    calib = _batches((4, 64), 2)
    with pytest.raises(ValueError, match="int8_tolerance"):
        spiralkit.compile(path, calib[0], int8_tolerance=0.05)  # fp32 compile
    for bad in (0.0, -0.1, 1.5, float("nan"), "tight", None.__class__):
        with pytest.raises(ValueError, match="int8_tolerance"):
            spiralkit.compile(path, calib[0], quantize="int8", calibration=calib, int8_tolerance=bad)
    pytest.importorskip("onnxruntime.quantization")
    qdq = quantize_ort_int8(path, calib, tmp_path / "m.int8.onnx", method="minmax", activation="uint8")
    with pytest.raises(ValueError, match="int8_tolerance: a QDQ model"):
        spiralkit.compile(qdq, calib[0], int8_tolerance=0.05)
    with pytest.raises(ValueError, match="calibration: a QDQ model"):  # never silently ignored
        spiralkit.compile(qdq, calib[0], calibration=calib)
