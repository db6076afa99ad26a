"""``spiralkit compile MODEL.onnx -o MODEL.spk``: compile an ONNX file into a spiralkit artifact
and show, per weighted layer, the pattern, sparsity, kernel chosen and packed size.
``--quantize int8 --calibration data.npz`` compiles the int8 plan (a QDQ file compiles int8 alone)."""

from __future__ import annotations

import argparse
import os


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("compile", help="compile an ONNX model into a spiralkit artifact (.spk)")
    parser.add_argument("model", metavar="MODEL.onnx", help="the ONNX file")
    parser.add_argument("-o", "--output", metavar="MODEL.spk",
                        help="artifact path (default: next to the model, with the .spk suffix)")
    parser.add_argument("--pattern", default=None,
                        help="sparse pattern for every weight (4x1, 2:4, unstructured, dense, ...; "
                             "default: detected per weight from its zeros)")
    parser.add_argument("--threads", type=int, default=None, help="spiralkit threads (default: spiralkit's)")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=D1,D2,...",
                        help="fix an input's shape (repeatable; default: the model's static shapes, batch 1)")
    int8 = parser.add_argument_group("int8 (see spiralkit.compile's quantize, calibration, int8_tolerance)")
    int8.add_argument("--quantize", choices=["int8"], default=None,
                      help="run Conv/MatMul/Gemm int8 (needs --calibration unless the file is QDQ)")
    int8.add_argument("--calibration", action="append", default=[], metavar="FILE.npz|FILE.npy",
                      help="calibration inputs (repeatable): an .npz with one array per input name, or an .npy "
                           "for a one-input model; axis 0 holds samples, split into --calibration-batch batches")
    int8.add_argument("--calibration-batch", type=int, default=8, metavar="N",
                      help="samples per calibration batch (default 8)")
    int8.add_argument("--calibration-method", choices=["minmax", "percentile"], default="minmax",
                      help="activation ranges from min/max or a percentile of |x| (default minmax)")
    int8.add_argument("--percentile", type=float, default=99.999, help="for --calibration-method percentile")
    int8.add_argument("--int8-tolerance", type=float, default=None, metavar="FRACTION",
                      help="keep the fewest, noisiest layer inputs fp32 so the int8 output stays within this "
                           "fraction of max|fp32 output| on the calibration batches (e.g. 0.05)")
    parser.set_defaults(func=run)
    return parser


def load_calibration(paths, names, batch_size: int) -> list:
    """The ``--calibration`` files as a list of {input name: array} batches of ``batch_size`` samples."""
    import numpy as np

    from spiralkit.cli._common import positive

    positive("--calibration-batch", batch_size)
    batches = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"--calibration: no such file '{path}'")
        try:
            loaded = np.load(path, allow_pickle=False)
            arrays = {k: loaded[k] for k in loaded.files} if hasattr(loaded, "files") else {None: loaded}
        except Exception as exc:  # noqa: BLE001 - np.load raises several kinds on a foreign file
            raise ValueError(f"--calibration: '{path}' is not an .npy / .npz array file ({exc})") from None
        if None in arrays:  # a bare .npy
            if len(names) != 1:
                raise ValueError(f"--calibration: '{path}' is one array; the model takes {len(names)} inputs "
                                 f"({', '.join(names)}): pass an .npz with one array per input")
            arrays = {names[0]: arrays[None]}
        unknown, missing = sorted(set(arrays) - set(names)), [n for n in names if n not in arrays]
        if unknown or missing:
            raise ValueError(f"--calibration: '{path}' holds {sorted(arrays)}; the model's inputs are "
                             f"{', '.join(names)} (missing {missing}, unknown {unknown})")
        counts = {n: (a.shape[0] if a.ndim else 0) for n, a in arrays.items()}
        if len(set(counts.values())) != 1 or 0 in counts.values():
            raise ValueError(f"--calibration: '{path}': every array needs the same, non-zero number of samples "
                             f"on axis 0, got {counts}")
        count = counts[names[0]]
        for start in range(0, count, batch_size):
            batches.append({n: arrays[n][start:start + batch_size] for n in names})
    return batches


def example_inputs(model, specs) -> dict:
    """name -> zeros of the input's dtype, shaped by ``specs`` (``--input-shape``) or the model's
    static dims (a dynamic leading dim becomes 1)."""
    import numpy as np
    from onnx import helper

    from spiralkit.cli._common import parse_shape_specs

    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    shapes = parse_shape_specs(specs, [i.name for i in inputs])
    examples = {}
    for inp in inputs:
        tt = inp.type.tensor_type
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except Exception:  # noqa: BLE001 - an undefined / exotic element type
            raise ValueError(f"input '{inp.name}': unsupported element type {tt.elem_type}") from None
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if inp.name in shapes:
            want = shapes[inp.name]
            if tt.HasField("shape") and len(want) != len(dims):
                raise ValueError(f"--input-shape {inp.name}: the model's input is {len(dims)}-D, got {len(want)} dims")
            for i, (m, w) in enumerate(zip(dims, want)):
                if i > 0 and m not in (None, w):
                    raise ValueError(f"--input-shape {inp.name}: dim {i} is {w}, the model fixes it to {m}")
            dims = want
        else:
            if not tt.HasField("shape"):
                raise ValueError(f"input '{inp.name}': the model gives no shape; pass --input-shape {inp.name}=...")
            for i, d in enumerate(dims[1:], 1):
                if d is None:
                    raise ValueError(f"input '{inp.name}': dim {i} is dynamic in the model; pass "
                                     f"--input-shape {inp.name}=D1,D2,...")
            if dims and dims[0] is None:
                dims[0] = 1
        examples[inp.name] = np.zeros(dims, dtype=dtype)
    return examples


def run(args) -> int:
    import time

    import spiralkit
    from spiralkit.cli._common import human_bytes, positive
    from spiralkit.engine.compile import _load_onnx

    positive("--threads", args.threads)
    model = _load_onnx(args.model)  # FileNotFoundError / FormatError with the path in the message
    examples = example_inputs(model, args.input_shape)
    calibration = load_calibration(args.calibration, list(examples), args.calibration_batch) or None
    out = args.output or os.path.splitext(args.model)[0] + ".spk"
    t0 = time.perf_counter()
    engine = spiralkit.compile(model, examples, threads=args.threads, pattern=args.pattern, quantize=args.quantize,
                               calibration=calibration, calibration_method=args.calibration_method,
                               percentile=args.percentile, int8_tolerance=args.int8_tolerance)
    compile_s = time.perf_counter() - t0
    engine.save(out)

    shapes = ", ".join(f"{n} {list(a.shape)} {a.dtype}" for n, a in examples.items())
    print(f"{args.model}: inputs {shapes}; outputs {', '.join(engine.output_names)}; compiled in {compile_s:.2f} s")
    print(engine.summary())
    report = engine.int8_report
    if report:
        kept = report["fp32_inputs"]
        print(f"int8_tolerance {report['tolerance']:g}: {len(kept)} layer input(s) kept fp32"
              f"{' (' + ', '.join(kept) + ')' if kept else ''}; calibration error "
              f"{report['error_all_int8']:.4f} all-int8 -> {report['error']:.4f}")
    art, src = os.path.getsize(out), os.path.getsize(args.model)
    print(f"artifact: {out}  {human_bytes(art)} ({art:,} bytes)")
    print(f"onnx:     {args.model}  {human_bytes(src)} ({src:,} bytes)")
    print(f"ratio:    onnx / artifact = {src / max(1, art):.2f}x")
    return 0
