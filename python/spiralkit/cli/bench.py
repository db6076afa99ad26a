"""`spiralkit bench kernels`: each op at real layer shapes against torch dense, same run, same threads.
`spiralkit bench model SOURCE`: a whole model (an .onnx file or a zoo model, pruned) against ONNX
Runtime and/or PyTorch eager, side by side (spiralkit.bench.model_bench)."""

from __future__ import annotations

import argparse

from spiralkit.bench.kernels import DEFAULT_PATTERNS, DEFAULT_SPARSITIES


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("bench", help="benchmark kernels against torch dense (needs torch)")
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    k = sub.add_parser("kernels", help="sparse linear/conv kernels at BERT, ResNet-50 and MobileNet-v2 shapes")
    k.add_argument("--threads", type=int, default=2, help="threads for spiralkit and torch (default 2)")
    k.add_argument("--pattern", default=",".join(DEFAULT_PATTERNS),
                   help="comma-separated patterns (default %(default)s)")
    k.add_argument("--sparsity", default=",".join(str(s) for s in DEFAULT_SPARSITIES),
                   help="comma-separated sparsities; 0 runs the dense pattern (default %(default)s)")
    k.add_argument("--shapes", default=None,
                   help="comma-separated case names, prefixes or groups: bert, resnet, mbv2, 3x3, 1x1, pointwise, "
                        "m1, m16, m128 (default: all)")
    k.add_argument("--rounds", type=int, default=20, help="alternating A/B rounds per case (default 20)")
    k.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    k.set_defaults(func=run)

    m = sub.add_parser("model", help="a whole model against onnxruntime and/or torch eager (outputs checked first)")
    m.add_argument("source", metavar="SOURCE",
                   help="an .onnx file (compared with onnxruntime), or a zoo model: resnet50, mobilenet_v2, bert, "
                        "minilm (built, pruned, exported to ONNX in a temporary directory)")
    m.add_argument("--vs", action="append", choices=("onnxruntime", "torch"), default=None,
                   help="baseline engine (repeatable; default: both for a zoo model, onnxruntime for a file)")
    m.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    m.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    m.add_argument("--pattern", default=None, help="zoo models: pruning pattern (default 4x1)")
    m.add_argument("--sparsity", type=float, default=None, help="zoo models: weight sparsity, 0 = dense (default 0.9)")
    m.add_argument("--rounds", type=int, default=20, help="alternating rounds, at least (default 20)")
    m.add_argument("--warmup", type=int, default=3, help="untimed calls per engine first (default 3)")
    m.add_argument("--no-memory", action="store_true", help="skip the per-engine peak-memory subprocesses")
    m.add_argument("--seq", type=int, default=128, help="bert/minilm: sequence length (default 128)")
    m.add_argument("--bert-layers", type=int, default=4, help="bert: encoder layers (default 4)")
    m.add_argument("--image", type=int, default=224, help="resnet50/mobilenet_v2: image side (default 224)")
    m.add_argument("--json", default=None, metavar="PATH", help="write the result as JSON")
    m.set_defaults(func=run_model)
    return parser


def run(args) -> int:
    from spiralkit.bench import kernels

    if args.threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {args.threads}")
    patterns = tuple(p.strip() for p in args.pattern.split(",") if p.strip())
    try:
        sparsities = tuple(float(s) for s in args.sparsity.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--sparsity: expected comma-separated numbers in [0, 1), got {args.sparsity!r}") from None
    if any(not 0.0 <= s < 1.0 for s in sparsities):
        raise ValueError(f"--sparsity: values must be in [0, 1), got {args.sparsity!r}")
    kernels.run(shapes=args.shapes, patterns=patterns, sparsities=sparsities, threads=args.threads,
                rounds=args.rounds, json_path=args.json)
    return 0


def _onnx_example(path: str, batch: int):
    """The one input of an ONNX file as an example array: the model's static dims, the leading
    dim ``batch`` when dynamic (floats standard normal, seed 0; integers zeros)."""
    from onnx import helper

    from spiralkit.cli._common import example_array
    from spiralkit.engine.compile import _load_onnx

    model = _load_onnx(path)
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ValueError(f"SOURCE: 'bench model' takes a model with one input; '{path}' has {len(inputs)} "
                         f"({', '.join(i.name for i in inputs)})")
    tt = inputs[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    if not dims:
        raise ValueError(f"SOURCE: input '{inputs[0].name}' of '{path}' has no shape")
    if any(d is None for d in dims[1:]):
        raise ValueError(f"SOURCE: input '{inputs[0].name}' of '{path}' has dynamic dims besides the batch: {dims}")
    if dims[0] is None:
        dims[0] = batch
    elif dims[0] != batch:
        raise ValueError(f"--batch: '{path}' fixes the batch of '{inputs[0].name}' to {dims[0]}, got {batch}")
    return example_array(dims, helper.tensor_dtype_to_np_dtype(tt.elem_type))


def run_model(args) -> int:
    import json
    import os
    import tempfile

    from spiralkit.bench.zoo import ZOO
    from spiralkit.cli._common import positive

    for flag, value in (("--threads", args.threads), ("--batch", args.batch), ("--rounds", args.rounds),
                        ("--seq", args.seq), ("--bert-layers", args.bert_layers), ("--image", args.image)):
        positive(flag, value, allow_none=False)
    if args.warmup < 0:
        raise ValueError(f"--warmup: expected >= 0, got {args.warmup}")
    is_file = args.source.lower().endswith(".onnx") or os.path.exists(args.source)
    if not is_file and args.source not in ZOO:
        raise ValueError(f"SOURCE: expected an .onnx file or a zoo model ({', '.join(ZOO)}), got {args.source!r}")
    vs = list(dict.fromkeys(args.vs or (["onnxruntime"] if is_file else ["onnxruntime", "torch"])))
    if is_file:
        if "torch" in vs:
            raise ValueError("--vs torch: an ONNX file has no torch model to run; compare it with --vs onnxruntime, "
                             "or benchmark a zoo model (resnet50, mobilenet_v2, bert, minilm)")
        if args.pattern is not None or args.sparsity is not None:
            raise ValueError("--pattern/--sparsity prune zoo models; an ONNX file is benchmarked as it is")
        if not os.path.exists(args.source):
            raise FileNotFoundError(f"SOURCE: no such file '{args.source}'")
    pattern = args.pattern or "4x1"
    sparsity = 0.9 if args.sparsity is None else args.sparsity
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"--sparsity: expected a value in [0, 1), got {sparsity}")
    if not is_file:
        from spiralkit.patterns import parse_pattern

        parse_pattern(pattern)

    from spiralkit.bench.model_bench import OutputMismatch, bench_model, format_table

    engines = ["spiralkit"] + vs
    kwargs = dict(engines=engines, threads=args.threads, rounds=args.rounds, warmup=args.warmup,
                  memory=not args.no_memory)
    try:
        if is_file:
            example = _onnx_example(args.source, args.batch)
            print(f"== {args.source}: input {list(example.shape)} {example.dtype}, engines {', '.join(engines)}")
            res = bench_model(args.source, None, example, case={"batch": args.batch}, **kwargs)
        else:
            from spiralkit.bench.zoo import zoo_case

            with tempfile.TemporaryDirectory(prefix="spk-bench-model-") as work:
                c = zoo_case(args.source, pattern, sparsity, args.batch, work, seq=args.seq,
                             bert_layers=args.bert_layers, image=args.image)
                size = os.path.getsize(c["onnx_path"])
                print(f"== {c['tag']}: weight sparsity {c['case']['measured_sparsity']:.4f}, build+prune+export "
                      f"{c['prepare_s']:.1f}s, onnx {size / 2**20:.1f} MB, input {list(c['example'].shape)}")
                res = bench_model(c["onnx_path"], c["model"], c["example"], name=args.source, case=c["case"],
                                  rebuild=c["rebuild"],
                                  **kwargs)
                res["onnx"] = f"(temporary, removed) {c['tag']}/model.onnx"
    except OutputMismatch as exc:  # a fast wrong answer is a failure, not a result
        import sys

        print(f"spiralkit bench: FAILED: {exc}", file=sys.stderr)
        return 1
    print()
    print(format_table(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        print(f"wrote {args.json}")
    return 0
