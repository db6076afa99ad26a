"""``spiralkit.compile``: ONNX (path or ModelProto) or a torch module -> Engine."""

from __future__ import annotations

import os

import numpy as np

from spiralkit.engine.engine import Engine


def _example_dict(example_input, names):
    if example_input is None:
        return {}
    if isinstance(example_input, dict):
        return {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in example_input.items()}
    items = list(example_input) if isinstance(example_input, (list, tuple)) else [example_input]
    if len(items) != len(names):
        raise ValueError(f"example_input: expected {len(names)} arrays for inputs {names}, got {len(items)}")
    return {n: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for n, v in zip(names, items)}


def _input_shapes(graph_inputs, examples: dict):
    """name -> dims, the batch, and which inputs are batched: those whose leading dim the model
    leaves dynamic (all of them when the model is fully static)."""
    shapes, batch = {}, None
    model_dims = {i.name: [d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim]
                  for i in graph_inputs}
    dynamic = {n for n, d in model_dims.items() if not d or d[0] is None}
    batched = dynamic or set(model_dims)
    for inp in graph_inputs:
        dims = list(model_dims[inp.name])
        if inp.name in examples:
            got = examples[inp.name].shape
            if len(got) != len(dims) and dims:
                raise ValueError(f"example_input '{inp.name}': expected {len(dims)}-D, got shape {got}")
            for i, (want, have) in enumerate(zip(dims, got)):
                if i > 0 and want not in (None, have):
                    raise ValueError(f"example_input '{inp.name}': dim {i} is {have}, the model fixes it to {want}")
            dims = list(got)
        else:
            if not dims:
                raise ValueError(f"input '{inp.name}': the model gives no shape; pass example_input")
            for i, d in enumerate(dims[1:], 1):
                if d is None:
                    raise ValueError(f"input '{inp.name}': dim {i} is dynamic in the model; pass example_input to fix it")
            if dims[0] is None:
                dims[0] = 1
        if inp.name in batched:
            if batch is None:
                batch = int(dims[0])
            elif int(dims[0]) != batch:
                raise ValueError(f"input '{inp.name}': batch {dims[0]} differs from the other inputs' {batch}")
        shapes[inp.name] = [int(d) for d in dims]
    return shapes, max(batch or 1, 1), batched


def _load_onnx(source):
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("compiling ONNX needs the 'onnx' package: pip install 'spiralkit[onnx]'") from exc
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"source: no such file '{path}'")
        try:
            return onnx.load(path)
        except Exception as exc:
            from spiralkit.errors import FormatError

            raise FormatError(f"source: '{path}' is not a readable ONNX model ({exc})") from None
    if isinstance(source, onnx.ModelProto):
        return source
    raise TypeError(f"source: expected an ONNX path, an onnx.ModelProto or a torch nn.Module, got {type(source).__name__}")


def _tune(engine: Engine, examples: dict, repeats: int, rounds: int = 3) -> None:
    """Per Conv/Linear layer, times its sparse panels against its dense fallback at the compile
    batch and keeps the faster; layers whose weights are dense are left alone. Whole-model runs
    alternate dense / sparse for `rounds` rounds and each node keeps its fastest round, so a
    burst of load from another process does not decide a layer. The choice is stored in the
    engine (and its artifact). In an int8 engine, the layers of an inverted-residual block the
    planner runs as one fp32 fused block keep the planner's choice (a forced dense or sparse int8
    kernel would split the block); the second layer of an int8 pair, timed inside its head, takes
    the head's choice."""
    native = engine._native
    layers = native.layers(native.example_batch)
    if not any(l.get("pattern", "dense") != "dense" for l in layers):
        return
    heads = {l["name"] for l in layers
             if l["kernel"].startswith("fused block") and l["kernel"].endswith("(fp32: faster than its int8 layers)")}
    kept = [l["name"] in heads or l.get("fused_into") in heads for l in layers]
    index = {l["name"]: i for i, l in enumerate(layers)}
    arrays = engine._arrays({n: examples[n] for n in engine.input_names} if examples else None)
    best = {1: [float("inf")] * len(layers), 2: [float("inf")] * len(layers)}
    for _ in range(rounds):
        for choice in (1, 2):
            native.set_kernel_choices([0 if keep else choice for keep in kept])
            native.run(arrays)  # warm-up: plans, arenas, caches
            for _ in range(repeats):
                secs = native.profile(arrays, 1)[1]
                best[choice] = [min(b, s) for b, s in zip(best[choice], secs)]
    chosen = [0 if kept[i] else (1 if best[1][i] < best[2][i] else 2) for i in range(len(layers))]
    # A layer another node runs (the second of an int8 pair) was timed in its head: it follows it.
    for i, l in enumerate(layers):
        if not kept[i] and l.get("fused_into") in index:
            chosen[i] = chosen[index[l["fused_into"]]]
    native.set_kernel_choices(chosen)


def _int8_hook(model, quantize, calibration, method, percentile, shapes, batch, batched, pattern, tolerance=None):
    """(importer hook, model to import, fallback report or None) for an int8 compile, or None for fp32."""
    from spiralkit.engine import int8_fallback, qdq_import, quantize as q

    if quantize not in (None, "int8"):
        raise ValueError(f"quantize: expected None or 'int8', got {quantize!r}")
    if qdq_import.is_qdq(model):
        if tolerance is not None:
            raise ValueError("int8_tolerance: a QDQ model carries its own scales; it is only used with "
                             "quantize='int8' and calibration batches on an fp32 model")
        if calibration is not None:
            raise ValueError("calibration: a QDQ model carries its own scales; calibration batches are only "
                             "used with quantize='int8' on an fp32 model")
        fp32, activations, weight_scales = qdq_import.strip_qdq(model)
        return q.Int8Layers(activations, weight_scales), fp32, None
    if quantize is None:
        if calibration is not None:
            raise ValueError("calibration: only used with quantize='int8'")
        if tolerance is not None:
            raise ValueError("int8_tolerance: only used with quantize='int8'")
        return None
    q.check_method(method, percentile)
    if calibration is None:
        raise ValueError("calibration: quantize='int8' needs calibration batches (a list of example inputs)")
    calibration = list(calibration)
    tol = None if tolerance is None else int8_fallback.check_tolerance(tolerance)  # before calibrating
    noise: dict = {}
    ranges = q.calibrate(model, shapes, batch, batched, pattern, calibration, method, float(percentile), _example_dict,
                         noise=noise)
    if tol is None:
        return q.Int8Layers(ranges), model, None
    from spiralkit.engine.onnx_import import import_onnx

    def build(kept):
        builder, _ = import_onnx(model, shapes, batch, pattern, batched, quantize_layer=q.Int8Layers(kept) if kept else None)
        return Engine(builder.build(batch, True))

    reference = build({})
    feeds = [_example_dict(b, reference.input_names) for b in calibration]
    refs = [[np.asarray(o, np.float64) for o in reference.run(f)] for f in feeds]
    kept, report = int8_fallback.fit(ranges, noise, build, lambda e: int8_fallback.output_error(e, feeds, refs), tol)
    return q.Int8Layers(kept), model, report


def compile(source, example_input=None, *, threads=None, pattern=None, tune=False,  # noqa: A001
            tune_repeats: int = 5, quantize=None, calibration=None, calibration_method: str = "minmax",
            percentile: float = 99.999, int8_tolerance=None) -> Engine:
    """Compile `source` into an :class:`Engine`.

    `source`: an ONNX file path, an ``onnx.ModelProto`` or a torch ``nn.Module`` (exported to ONNX
    here; masks from ``spiralkit.compress`` are honoured). `example_input` fixes every input dim
    but the leading batch dim (required for a torch module). `threads` sets spiralkit's thread
    count (``spiralkit.set_num_threads``). `pattern`: the sparse pattern for every weight, a
    callable ``(layer_name, weight) -> pattern``, or None to detect each weight's pattern from its
    zeros (dense below 30 % sparsity). `tune`: time each sparse layer against its dense fallback
    on the example input and keep the faster (by default the kernel cost model decides, which is
    deterministic); tune on a quiet machine: timings taken while other processes hold the cores
    decide nothing.

    `quantize="int8"`: Conv/MatMul/Gemm layers run int8 (per-channel symmetric int8 weights, uint8
    activations calibrated on `calibration`, a list of example inputs like `example_input`, with
    `calibration_method` ``"minmax"`` or ``"percentile"``); other ops run fp32 in between. A model
    already quantized as QDQ (QuantizeLinear/DequantizeLinear pairs) compiles int8 from its own
    scales, with or without `quantize` (see engine/quantize.py, engine/qdq_import.py).
    `int8_tolerance` (a fraction, e.g. 0.05): keep in fp32 the fewest layer inputs, noisiest first,
    that bring the int8 output within that fraction of max|fp32 output| on every calibration batch
    (engine/int8_fallback.py; about 2 log2(n) extra builds); ``engine.int8_report`` says which.
    """
    import spiralkit

    if threads is not None:
        spiralkit.set_num_threads(int(threads))
    if type(source).__module__.startswith("torch") or hasattr(source, "state_dict"):
        from spiralkit.engine.torch_frontend import export_module

        if example_input is None:
            raise ValueError("example_input: required to compile a torch module")
        source, example_input = export_module(source, example_input)
    model = _load_onnx(source)
    from spiralkit.engine.onnx_import import import_onnx

    graph_inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    shapes, batch, batched = _input_shapes(graph_inputs, _example_dict(example_input, [i.name for i in graph_inputs]))
    hook = _int8_hook(model, quantize, calibration, calibration_method, percentile, shapes, batch, batched, pattern,
                      int8_tolerance)
    if hook is not None:
        model = hook[1]
    builder, importer = import_onnx(model, shapes, batch, pattern, batched,
                                    quantize_layer=hook[0] if hook is not None else None)
    engine = Engine(builder.build(batch, True))
    engine.int8_report = hook[2] if hook is not None else None
    if tune:
        examples = {n: np.zeros(shapes[n], np.float32 if dt == np.float32 else np.int64) for n, dt, _ in engine._inputs}
        _tune(engine, examples, int(tune_repeats))
    return engine
