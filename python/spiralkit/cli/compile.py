"""``spiralkit compile MODEL.onnx -o MODEL.spk``: compile an ONNX file into a spiralkit artifact
and show, per weighted layer, the pattern, sparsity, kernel chosen and packed size."""

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
    parser.set_defaults(func=run)
    return parser


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
    out = args.output or os.path.splitext(args.model)[0] + ".spk"
    t0 = time.perf_counter()
    engine = spiralkit.compile(model, examples, threads=args.threads, pattern=args.pattern)
    compile_s = time.perf_counter() - t0
    engine.save(out)

    shapes = ", ".join(f"{n} {list(a.shape)} {a.dtype}" for n, a in examples.items())
    print(f"{args.model}: inputs {shapes}; outputs {', '.join(engine.output_names)}; compiled in {compile_s:.2f} s")
    print(engine.summary())
    art, src = os.path.getsize(out), os.path.getsize(args.model)
    print(f"artifact: {out}  {human_bytes(art)} ({art:,} bytes)")
    print(f"onnx:     {args.model}  {human_bytes(src)} ({src:,} bytes)")
    print(f"ratio:    onnx / artifact = {src / max(1, art):.2f}x")
    return 0
