"""Whole-model benchmark: spiralkit against ONNX Runtime and PyTorch eager on the same ONNX file.

Protocol (BENCHMARKS.md):

* Same thread count everywhere: ``spiralkit.compile(..., threads=n)`` (+ ``spiralkit.set_num_threads``),
  ONNX Runtime ``intra_op_num_threads=n, inter_op_num_threads=1`` (sequential execution, all graph
  optimisations), ``torch.set_num_threads(n)`` under ``torch.no_grad()``.
* Outputs checked before timing: ONNX Runtime's output on the example is the reference; every
  engine (torch included, which checks the export) must be within ``tol`` (default 1e-3) of it,
  relative to ``max|ref|``, or :class:`OutputMismatch` is raised. A fast wrong answer is a failure.
* Warm-up (``warmup`` calls each), then rounds: A B C A B C ..., each engine making ``rewarm``
  (default 1) untimed calls, then timing ``inner`` back-to-back calls per round (``inner`` chosen
  so a block lasts >= ``min_block_s``; 1 for big models); at least ``calls`` calls per engine in
  all. Per engine: median, p10, p90 of the per-call times of the rounds. Speed-ups are the median
  (p10, p90) of per-round ratios ``t_baseline / t_engine`` — above 1 means faster than the
  baseline; drift cancels.
* Artifact size: spiralkit ``eng.save(path)`` file; ONNX Runtime the ``.onnx`` file; torch the
  ``torch.save(state_dict)`` bytes.
* Peak memory: each engine is built and run (warm-up + a few calls) in a fresh Python subprocess
  that imports only what that engine needs; it reports ``VmHWM`` (peak RSS) and ``VmRSS`` from
  ``/proc/self/status`` after the imports and after the runs. ``peak_mb`` is the whole process
  (interpreter + libraries + model + transient build memory), ``model_peak_mb`` the rise over the
  post-import high-water mark. Timing runs in this process, after the memory children are done.

Record: CPU model, threads, ``OMP_WAIT_POLICY``, git commit (``+dirty`` with local changes),
library versions, spiralkit's active ISA, load average, dense-equivalent and non-zero FLOPs.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["OutputMismatch", "bench_model", "format_table", "machine_info", "model_flops", "ENGINES", "INT8_ENGINES"]

ENGINES = ("spiralkit", "onnxruntime", "torch")
# Opt-in int8 engines (never in the default set): ONNX Runtime on its own static-QDQ quantization of
# the same ONNX file (``ort_int8_path``), and spiralkit's ``compile(quantize="int8", calibration=...)``
# (``int8_calibration``). Both are checked against ONNX Runtime fp32 with ``int8_tol``.
INT8_ENGINES = ("ort_int8", "spiralkit_int8")


class OutputMismatch(AssertionError):
    """An engine's output differs from ONNX Runtime's by more than the tolerance."""


# ------------------------------------------------------------------------------------------ helpers


def _quantile(xs: Sequence[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))]


def _git_commit() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (sha + ("+dirty" if dirty else "")) if sha else "unknown"
    except Exception:  # noqa: BLE001 - a benchmark outside git still runs
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def machine_info(threads: int) -> dict:
    """Where and how the run happened (recorded with every result)."""
    info = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "commit": _git_commit(),
        "python": sys.version.split()[0],
        "loadavg": list(os.getloadavg()),
    }
    for mod in ("numpy", "onnx", "onnxruntime", "torch"):
        try:
            info[f"{mod}_version"] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            info[f"{mod}_version"] = None
    try:
        import spiralkit

        info["spiralkit_version"] = spiralkit.__version__
        info["spiralkit_isa"] = spiralkit.info().get("isa_active")
    except Exception as exc:  # noqa: BLE001 - no native extension: the other engines still run
        info["spiralkit_isa"] = f"unavailable ({type(exc).__name__})"
    return info


def _rel_err(got, ref: np.ndarray) -> float:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != ref.shape:
        return math.inf
    return float(np.abs(got - ref).max() / max(1e-12, float(np.abs(ref).max())))


def _single_output(out):
    """The one output of an engine call: an array, or the sole entry of a list/tuple/dict."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            raise ValueError(f"expected one output, got {len(out)}")
        out = out[0]
    return out


def _spiralkit_compile():
    """``spiralkit.compile`` if this build has it (the engine API), else ``None``."""
    import importlib

    import spiralkit

    fn = getattr(spiralkit, "compile", None)
    if fn is None:
        try:
            fn = getattr(importlib.import_module("spiralkit.engine"), "compile", None)
        except ImportError:
            fn = None
    return fn


# ------------------------------------------------------------------------------------------- runners


def _ort_session(onnx_path: str, threads: int, spinning: bool | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if spinning is not None:
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])


def _ort_runner(onnx_path: str, example: np.ndarray, threads: int, spinning: bool | None = None) -> Callable:
    sess = _ort_session(onnx_path, threads, spinning)
    name = sess.get_inputs()[0].name
    feed = {name: example}
    return lambda: sess.run(None, feed)[0]


def _torch_runner(model, example: np.ndarray, threads: int) -> Callable:
    import torch

    torch.set_num_threads(threads)
    x = torch.from_numpy(example)
    model.eval()

    def run():
        with torch.no_grad():
            return model(x).numpy()

    return run


def _spiralkit_engine(onnx_path: str, example: np.ndarray, threads: int):
    import spiralkit

    compile_fn = _spiralkit_compile()
    if compile_fn is None:
        raise NotImplementedError("spiralkit.compile is not available in this build")
    try:
        spiralkit.set_num_threads(threads)
    except Exception:  # noqa: BLE001 - compile(threads=) is the documented knob; this is belt and braces
        pass
    return compile_fn(onnx_path, example, threads=threads)


def spiralkit_has_int8() -> bool:
    """Whether this build's ``spiralkit.compile`` takes ``quantize=`` (the int8 engine path)."""
    import inspect

    try:
        fn = _spiralkit_compile()
    except Exception:  # noqa: BLE001 - no native extension
        return False
    if fn is None:
        return False
    try:
        return "quantize" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _spiralkit_int8_engine(onnx_path: str, example: np.ndarray, threads: int, calibration, tolerance=None):
    import spiralkit

    if not spiralkit_has_int8():
        raise NotImplementedError("spiralkit.compile has no quantize= argument in this build (no int8 engine path)")
    spiralkit.set_num_threads(threads)
    return _spiralkit_compile()(onnx_path, example, threads=threads, quantize="int8", calibration=list(calibration),
                                int8_tolerance=tolerance)


# ------------------------------------------------------------------------------------ memory children

_MEM_CHILD = r"""
import json, sys, time
def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out
engine, onnx_path, example_path, model_path, threads, calls, rebuild_json = sys.argv[1:8]
threads, calls = int(threads), int(calls)
import numpy as np
example = np.load(example_path)
if engine in ("onnxruntime", "ort_int8"):
    import onnxruntime
elif engine == "torch":
    import torch
    torch.set_num_threads(threads)
else:
    import spiralkit
before = status()
t0 = time.perf_counter()
from spiralkit.bench import model_bench as mb
if engine in ("onnxruntime", "ort_int8"):  # ort_int8: onnx_path is the quantized file
    fn = mb._ort_runner(onnx_path, example, threads)
elif engine == "torch":
    from spiralkit.bench import zoo
    model = zoo.rebuild(json.loads(rebuild_json), model_path)
    fn = mb._torch_runner(model, example, threads)
else:
    eng = mb._spiralkit_engine(onnx_path, example, threads)
    fn = lambda: mb._single_output(eng.run(example))
build_s = time.perf_counter() - t0
for _ in range(calls):
    fn()
after = status()
print("MEMJSON" + json.dumps({"import_hwm_kb": before["VmHWM"], "import_rss_kb": before["VmRSS"],
                              "peak_hwm_kb": after["VmHWM"], "rss_after_kb": after["VmRSS"], "build_s": build_s}))
"""


def _child_env() -> dict:
    env = dict(os.environ)
    # The child must import this same spiralkit (and whatever this process put on its path).
    here = str(Path(__file__).resolve().parents[2])
    parts = [here] + [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts + env.get("PYTHONPATH", "").split(os.pathsep)))
    return env


def _measure_memory(engine: str, onnx_path: str, example_path: str, model_path: str | None, threads: int,
                    calls: int = 4, timeout: float = 900, rebuild: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _MEM_CHILD, engine, onnx_path, example_path, model_path or "-", str(threads),
         str(calls), json.dumps(rebuild or {})],
        capture_output=True, text=True, timeout=timeout, env=_child_env(),
    )
    for line in proc.stdout.splitlines():
        if line.startswith("MEMJSON"):
            raw = json.loads(line[len("MEMJSON"):])
            return {
                "peak_mb": raw["peak_hwm_kb"] / 1024,
                "model_peak_mb": (raw["peak_hwm_kb"] - raw["import_hwm_kb"]) / 1024,
                "rss_after_mb": raw["rss_after_kb"] / 1024,
                "import_mb": raw["import_hwm_kb"] / 1024,
                "build_s": raw["build_s"],
                "method": "VmHWM/VmRSS of a fresh subprocess per engine",
            }
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"memory child exited {proc.returncode}: {tail[0][:300]}"}


# ------------------------------------------------------------------------------------------ FLOPs


def model_flops(torch_model, example: np.ndarray) -> dict:
    """Dense-equivalent FLOPs of one forward (``torch.utils.flop_counter``: conv, mm, bmm, matmul —
    attention's matmuls included), and the non-zero FLOPs, where each Conv2d/Linear's share is
    scaled by its weight density. ``sparse_fraction`` is the share of dense FLOPs in layers whose
    weight has zeros (the Amdahl ``f``)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    layer = []  # (dense flops, density)

    def hook(mod, inputs, out):
        per_out = mod.weight[0].numel()  # MACs per output element: Cin/g*kh*kw or in_features
        density = float((mod.weight != 0).float().mean())
        layer.append((2.0 * out.numel() * per_out, density))

    handles = [m.register_forward_hook(hook) for m in torch_model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            torch_model(torch.from_numpy(example))
    finally:
        for h in handles:
            h.remove()
    total = float(counter.get_total_flops())
    saved = sum(f * (1.0 - d) for f, d in layer)
    sparse = sum(f for f, d in layer if d < 1.0)
    return {"dense": total, "nonzero": total - saved, "sparse_fraction": sparse / total if total else 0.0}


# ------------------------------------------------------------------------------------------ the bench


def _time_block(fn: Callable, inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def bench_model(onnx_path, torch_model, example: np.ndarray, *, engines: Sequence[str] = ENGINES, threads: int = 2,
                rounds: int = 20, warmup: int = 3, calls: int = 20, min_block_s: float = 0.02, gap_s: float = 0.1,
                rewarm: int = 1,
                tol: float = 1e-3, memory: bool = True, ort_spinning: bool | None = None, name: str | None = None,
                case: dict | None = None, echo: Callable[[str], None] | None = print,
                rebuild: dict | None = None, ort_int8_path=None, int8_calibration=None,
                int8_tol: float = 0.1) -> dict:
    """Benchmark ``engines`` on one model side by side; see the module docstring for the protocol.

    ``onnx_path`` is the model's ONNX file (what ONNX Runtime and spiralkit load); ``torch_model``
    the same weights as an ``nn.Module`` (torch eager; may be ``None`` when ``"torch"`` is not
    among ``engines``); ``example`` the input (float32, or int64 token ids). ``rounds`` is a
    minimum: more are run until every engine has ``calls`` timed calls. ``gap_s`` sleeps between
    engine blocks, and each block starts with ``rewarm`` untimed calls: what is timed is each
    engine's steady-state latency, not the hand-over from the previous engine (ONNX Runtime's
    spinning workers and torch's OpenMP team compete for the same cores for a while after a call;
    measured here, torch eager ran ~3x slower right after an ONNX Runtime call without the re-warm).
    ``case`` (pattern, sparsity, batch...) is copied into the result. ``rebuild`` (the
    :func:`spiralkit.bench.zoo.build_model` arguments of a zoo model) lets the torch memory child
    rebuild the module and load its weights from safetensors; without it torch's peak memory is not
    measured (modules are never pickled).

    An engine that is not available (``spiralkit.compile`` missing, an ``UnsupportedError``) is
    reported with ``status: "skipped"`` and its reason; a wrong output raises :class:`OutputMismatch`.
    Returns a JSON-serialisable dict.

    int8 (opt-in, :data:`INT8_ENGINES`): ``"ort_int8"`` runs ONNX Runtime on ``ort_int8_path`` (e.g.
    :func:`spiralkit.bench.ort_int8.quantize_ort_int8` of ``onnx_path``); ``"spiralkit_int8"`` compiles
    ``onnx_path`` with ``quantize="int8", calibration=int8_calibration`` (skipped where ``compile`` has
    no ``quantize=``). Both must be within ``int8_tol`` (relative to ``max|ref|``, like ``tol``) of ONNX
    Runtime fp32 (``ort_int8`` outside it is reported ``status: "refused"`` with its error and not
    timed: a peer's wrong answer is no baseline; ``spiralkit_int8`` outside it raises); ``spiralkit_int8``
    also records its error against ``ort_int8``. Records then carry ``speedup_vs_ort_int8`` too.
    """
    import torch

    say = echo or (lambda _s: None)
    onnx_path = os.fspath(onnx_path)
    example = np.ascontiguousarray(example)
    engines = tuple(engines)
    unknown = set(engines) - set(ENGINES) - set(INT8_ENGINES)
    if unknown:
        raise ValueError(f"engines: unknown {sorted(unknown)}; expected a subset of {ENGINES + INT8_ENGINES}")
    if "ort_int8" in engines and ort_int8_path is None:
        raise ValueError("ort_int8_path: needed for the 'ort_int8' engine")
    if "spiralkit_int8" in engines and int8_calibration is None:
        raise ValueError("int8_calibration: needed for the 'spiralkit_int8' engine")
    if "torch" in engines and torch_model is None:
        raise ValueError("torch_model: needed for the 'torch' engine")
    torch.set_num_threads(threads)

    result: dict = {
        "model": name or Path(onnx_path).stem,
        "protocol": {"rounds_min": rounds, "warmup": warmup, "calls_min": calls, "min_block_s": min_block_s,
                     "gap_s": gap_s, "rewarm": rewarm, "ort_spinning": ort_spinning},
        "case": dict(case or {}),
        "onnx": onnx_path,
        "input_shape": list(example.shape),
        "input_dtype": str(example.dtype),
        "threads": threads,
        "tol": tol,
        "machine": machine_info(threads),
        "engines": {},
    }
    if torch_model is not None:
        try:
            result["flops"] = model_flops(torch_model, example)
        except Exception as exc:  # noqa: BLE001 - FLOPs are a nicety, never a reason to lose the timing
            result["flops"] = {"error": str(exc)}

    # ---- build every runner; ONNX Runtime always (it is the reference)
    runners: dict[str, Callable] = {}
    info: dict[str, dict] = {e: {"status": "ok"} for e in engines}
    t0 = time.perf_counter()
    ort_fn = _ort_runner(onnx_path, example, threads, ort_spinning)
    if "onnxruntime" in engines:
        runners["onnxruntime"] = ort_fn
        info["onnxruntime"].update(build_s=time.perf_counter() - t0, artifact_bytes=os.path.getsize(onnx_path),
                                   artifact_kind="onnx file")
    if "torch" in engines:
        runners["torch"] = _torch_runner(torch_model, example, threads)
        import io

        buf = io.BytesIO()
        torch.save(torch_model.state_dict(), buf)
        info["torch"].update(build_s=0.0, artifact_bytes=buf.tell(), artifact_kind="torch.save(state_dict)")
    if "spiralkit" in engines:
        try:
            t0 = time.perf_counter()
            eng = _spiralkit_engine(onnx_path, example, threads)
            info["spiralkit"]["build_s"] = time.perf_counter() - t0
            runners["spiralkit"] = lambda: _single_output(eng.run(example))
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    p = os.path.join(tmp, "model.spk")
                    eng.save(p)
                    info["spiralkit"].update(artifact_bytes=os.path.getsize(p), artifact_kind="eng.save file")
            except Exception as exc:  # noqa: BLE001
                info["spiralkit"].update(artifact_bytes=None, artifact_kind=f"eng.save failed: {exc}")
            for key in ("isa", "summary", "plan"):
                val = getattr(eng, key, None)
                if isinstance(val, (str, int, float)):
                    info["spiralkit"][key] = val
        except Exception as exc:  # noqa: BLE001 - missing API / unsupported op: report, keep the others
            info["spiralkit"] = {"status": "skipped", "reason": f"{type(exc).__name__}: {exc}"}
            say(f"  spiralkit skipped: {type(exc).__name__}: {exc}")

    if "ort_int8" in engines:
        t0 = time.perf_counter()
        runners["ort_int8"] = _ort_runner(os.fspath(ort_int8_path), example, threads, ort_spinning)
        info["ort_int8"].update(build_s=time.perf_counter() - t0, artifact_bytes=os.path.getsize(ort_int8_path),
                                artifact_kind="QDQ onnx file")
    if "spiralkit_int8" in engines:
        try:
            t0 = time.perf_counter()
            # The same tolerance the output check below applies, met on the calibration batches
            # (the example is held out): the fewest noisiest layer inputs stay fp32.
            eng8 = _spiralkit_int8_engine(onnx_path, example, threads, int8_calibration, int8_tol)
            info["spiralkit_int8"]["build_s"] = time.perf_counter() - t0
            report = getattr(eng8, "int8_report", None)
            if report:
                info["spiralkit_int8"]["int8_fallback"] = report
                if report["fp32_inputs"]:
                    say(f"  spiralkit_int8 kept {len(report['fp32_inputs'])} layer inputs fp32 for int8_tolerance "
                        f"{report['tolerance']:g} (calibration error {report['error_all_int8']:.3f} -> "
                        f"{report['error']:.3f})")
            runners["spiralkit_int8"] = lambda: _single_output(eng8.run(example))
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    p = os.path.join(tmp, "model.spk")
                    eng8.save(p)
                    info["spiralkit_int8"].update(artifact_bytes=os.path.getsize(p), artifact_kind="eng.save file")
            except Exception as exc:  # noqa: BLE001
                info["spiralkit_int8"].update(artifact_bytes=None, artifact_kind=f"eng.save failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - no int8 path in this build: report, keep the others
            info["spiralkit_int8"] = {"status": "skipped", "reason": f"{type(exc).__name__}: {exc}"}
            say(f"  spiralkit_int8 skipped: {type(exc).__name__}: {exc}")

    # ---- correctness first
    ref = np.asarray(ort_fn(), dtype=np.float64)
    for e in [e for e in engines if e in runners]:
        fn = runners[e]
        err = _rel_err(fn(), ref)
        info[e]["rel_err_vs_onnxruntime"] = err
        say(f"  {e:12s} max rel err vs onnxruntime {err:.2e}")
        limit = int8_tol if e in INT8_ENGINES else tol
        if not err <= limit and e == "ort_int8":
            # A peer's int8 quantization that changes the answer this much is no baseline: it is
            # reported as refused (with its error) and left out of the timing; the others still run.
            info[e] = {"status": "refused", "rel_err_vs_onnxruntime": err,
                       "reason": f"its output differs from ONNX Runtime fp32 by {err:.3e} of max|ref| "
                                 f"(tolerance {limit:g}): not a baseline"}
            del runners[e]
            say(f"  {e:12s} refused as a baseline: {info[e]['reason']}")
            continue
        if not err <= limit:
            raise OutputMismatch(f"{result['model']}: {e} output differs from onnxruntime by {err:.3e} "
                                 f"(relative to max|ref|; tolerance {limit:g})")
    if "spiralkit_int8" in runners and "ort_int8" in runners:
        info["spiralkit_int8"]["rel_err_vs_ort_int8"] = _rel_err(runners["spiralkit_int8"](),
                                                                  np.asarray(runners["ort_int8"](), np.float64))

    # ---- peak memory, one fresh process per engine (before timing: nothing else runs meanwhile)
    if memory and runners:
        with tempfile.TemporaryDirectory() as tmp:
            ex_path = os.path.join(tmp, "example.npy")
            np.save(ex_path, example)
            model_path = None
            if "torch" in runners and rebuild:
                from spiralkit.bench.zoo import save_weights

                model_path = os.path.join(tmp, "model.safetensors")
                save_weights(torch_model, model_path)
            for e in runners:
                if e == "torch" and model_path is None:
                    info[e]["memory"] = {"error": "not a zoo model: the module cannot be rebuilt in a child"}
                    continue
                if e == "spiralkit_int8":
                    info[e]["memory"] = {"error": "not measured (the child has no calibration data)"}
                    continue
                try:
                    path = os.fspath(ort_int8_path) if e == "ort_int8" else onnx_path
                    info[e]["memory"] = _measure_memory(e, path, ex_path, model_path, threads, rebuild=rebuild)
                except subprocess.TimeoutExpired:
                    info[e]["memory"] = {"error": "memory child timed out"}
                if "error" in info[e]["memory"]:
                    say(f"  {e:12s} peak memory not measured: {info[e]['memory']['error']}")

    # ---- timing: warm-up, then alternating rounds
    names = [e for e in engines if e in runners]  # the caller's order: A B C A B C ...
    result["protocol"]["order"] = names
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    inner = {}
    for e, fn in runners.items():
        once = max(1e-6, _time_block(fn, 1))
        inner[e] = max(1, min(1000, int(min_block_s / once)))
    n_rounds = max(rounds, max((math.ceil(calls / inner[e]) for e in names), default=rounds))
    samples: dict[str, list[float]] = {e: [] for e in names}
    for _ in range(n_rounds):
        for e in names:
            if gap_s:
                time.sleep(gap_s)
            for _ in range(rewarm):
                runners[e]()
            samples[e].append(_time_block(runners[e], inner[e]))

    flops = result.get("flops", {})
    for e in names:
        ts = samples[e]
        med = statistics.median(ts)
        rec = info[e]
        rec.update(
            median_ms=med * 1e3, p10_ms=_quantile(ts, 0.1) * 1e3, p90_ms=_quantile(ts, 0.9) * 1e3,
            rounds=n_rounds, calls_per_round=inner[e], calls=n_rounds * inner[e],
            samples_ms=[t * 1e3 for t in ts],
        )
        for base in ("onnxruntime", "torch") + (("ort_int8",) if "ort_int8" in samples else ()):
            if base in samples and base != e:
                ratios = [b / a for a, b in zip(ts, samples[base])]
                rec[f"speedup_vs_{base}"] = statistics.median(ratios)
                rec[f"speedup_vs_{base}_p10"] = _quantile(ratios, 0.1)
                rec[f"speedup_vs_{base}_p90"] = _quantile(ratios, 0.9)
            elif base == e:
                rec[f"speedup_vs_{base}"] = 1.0
        if isinstance(flops.get("dense"), float):
            rec["effective_gflops"] = flops["dense"] / med / 1e9
            rec["useful_gflops"] = flops["nonzero"] / med / 1e9
    result["engines"] = info
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    return result


# ------------------------------------------------------------------------------------------- table


def _fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def format_table(results) -> str:
    """A text table, one row per (case, engine). ``results``: one :func:`bench_model` dict or a list.

    ``xORT``/``xtorch`` are speed-ups (median of per-round ``t_baseline / t_engine``; > 1 = faster);
    ``peak MB`` is the whole engine process's peak RSS, ``+model MB`` its rise over the imports. For
    results aggregated over repeated processes (``repeats`` > 1) the median is the median of the
    per-process medians, and ``run medians min-max`` their spread."""
    if isinstance(results, dict):
        results = [results]
    repeated = any(r.get("repeats", 1) > 1 for r in results)
    # int8 runs (opt-in) widen the engine column and add xORT8 (speed-up vs ONNX Runtime int8).
    int8 = any(e in INT8_ENGINES for r in results for e in r["engines"])
    ew = 14 if int8 else 11
    head = (f"{'model':13} {'pattern':12} {'sparse':>6} {'batch':>5} {'engine':{ew}} {'median ms':>10} "
            f"{'p10-p90 ms':>17} {'xORT':>6} {'xtorch':>6}" + (f" {'xORT8':>6}" if int8 else "") +
            f" {'eff GF/s':>8} {'rel err':>8} {'artifact MB':>11} "
            f"{'peak MB':>8} {'+model MB':>9}" + (f" {'runs':>4} {'run medians min-max':>19}" if repeated else ""))
    lines = [head]
    for r in results:
        c = r.get("case", {})
        batch = c.get("batch", r.get("input_shape", [None])[0])
        for e, rec in r["engines"].items():
            prefix = (f"{r['model'][:13]:13} {str(c.get('pattern', '-'))[:12]:12} "
                      f"{_fmt(c.get('sparsity'), '6.2f'):>6} {_fmt(batch, 'd'):>5} {e:{ew}}")
            if rec.get("status") != "ok":
                lines.append(f"{prefix} {rec.get('status')}: {rec.get('reason', '')}"[:200])
                continue
            mem = rec.get("memory", {})
            art = rec.get("artifact_bytes")
            lines.append(
                f"{prefix} {rec['median_ms']:10.3f} {rec['p10_ms']:8.3f}-{rec['p90_ms']:8.3f} "
                f"{_fmt(rec.get('speedup_vs_onnxruntime'), '6.2f'):>6} {_fmt(rec.get('speedup_vs_torch'), '6.2f'):>6} "
                + (f"{_fmt(rec.get('speedup_vs_ort_int8'), '6.2f'):>6} " if int8 else "") +
                f"{_fmt(rec.get('effective_gflops'), '8.1f'):>8} {_fmt(rec.get('rel_err_vs_onnxruntime'), '8.1e'):>8} "
                f"{_fmt(None if art is None else art / 2**20, '11.2f'):>11} {_fmt(mem.get('peak_mb'), '8.0f'):>8} "
                f"{_fmt(mem.get('model_peak_mb'), '9.0f'):>9}"
                + (f" {r.get('repeats', 1):4d} {rec['spread_ms'][0]:9.3f}-{rec['spread_ms'][1]:9.3f}"
                   if repeated and "spread_ms" in rec else "")
            )
    if results:
        m = results[0].get("machine", {})
        lines.append(f"cpu={m.get('cpu')} threads={m.get('threads')} OMP_WAIT_POLICY={m.get('omp_wait_policy')} "
                     f"isa={m.get('spiralkit_isa')} commit={m.get('commit')} ort={m.get('onnxruntime_version')} "
                     f"torch={m.get('torch_version')}")
    return "\n".join(lines)
