"""``spiralkit run MODEL.spk``: load an artifact with numpy and the wheel alone (no torch, no onnx),
run it on given or generated inputs, report the outputs and the latency."""

from __future__ import annotations

import argparse

PROFILE_ROWS = 15


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("run", help="run a compiled artifact (.spk) and time it (numpy only)")
    parser.add_argument("artifact", metavar="MODEL.spk", help="an artifact written by 'spiralkit compile'")
    parser.add_argument("--input", action="append", default=[], metavar="[NAME=]x.npy",
                        help="an input array (repeatable, in input order or NAME=path; "
                             "default: random inputs, standard normal floats / zero token ids, seed 0)")
    parser.add_argument("--batch", type=int, default=None, help="batch of the generated inputs (default 1)")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="spiralkit threads (default: spiralkit's)")
    parser.add_argument("--profile", action="store_true", help=f"show the {PROFILE_ROWS} slowest nodes")
    parser.add_argument("--output", metavar="out.npy", help="save the first output here")
    parser.set_defaults(func=run)
    return parser


def _input_dtypes(engine) -> dict:
    """name -> numpy dtype the engine takes (float32 unless the artifact says otherwise)."""
    import numpy as np

    specs = getattr(engine, "_inputs", None) or []
    found = {name: np.dtype(dtype) for name, dtype, *_ in specs}
    return {n: found.get(n, np.dtype(np.float32)) for n in engine.input_names}


def load_inputs(engine, paths) -> dict:
    import os

    import numpy as np

    names = engine.input_names
    named = {}
    for i, spec in enumerate(paths):
        name, sep, path = spec.partition("=")
        if not sep or name not in names:
            if sep and not os.path.exists(spec):
                raise ValueError(f"--input: the model has no input {name!r}; its inputs: {', '.join(names)}")
            name, path = (names[i] if i < len(names) else None), spec
        if name is None:
            raise ValueError(f"--input: {len(paths)} arrays given, the model takes {len(names)} ({', '.join(names)})")
        if name in named:
            raise ValueError(f"--input: input {name!r} given twice")
        if not os.path.exists(path):
            raise FileNotFoundError(f"--input: no such file '{path}'")
        try:
            named[name] = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - np.load raises several kinds
            raise ValueError(f"--input: '{path}' is not a .npy array ({exc})") from None
    missing = [n for n in names if n not in named]
    if missing:
        raise ValueError(f"--input: no array for input(s) {', '.join(missing)}; the model takes {', '.join(names)}")
    return named


def random_inputs(engine, batch: int) -> dict:
    from spiralkit.cli._common import example_array

    dtypes = _input_dtypes(engine)
    out = {}
    for i, (name, shape) in enumerate(engine.input_shapes.items()):
        dims = [batch if d is None else d for d in shape]
        out[name] = example_array(dims, dtypes[name], seed=i)
    return out


def run(args) -> int:
    import numpy as np

    import spiralkit
    from spiralkit.cli._common import human_bytes, latency_stats, positive, time_calls

    positive("--batch", args.batch)
    positive("--repeats", args.repeats, allow_none=False)
    positive("--threads", args.threads)
    if args.warmup < 0:
        raise ValueError(f"--warmup: expected >= 0, got {args.warmup}")
    if args.input and args.batch is not None:
        raise ValueError("--batch: sets the size of generated inputs; it cannot be combined with --input")
    if args.threads is not None:
        spiralkit.set_num_threads(args.threads)
    engine = spiralkit.load(args.artifact)
    if args.input:
        inputs, origin = load_inputs(engine, args.input), "from files"
    else:
        inputs, origin = random_inputs(engine, args.batch or 1), "generated (seed 0)"
    feed = [inputs[n] for n in engine.input_names]

    outputs = engine.run(feed)
    times = time_calls(lambda: engine.run(feed), args.repeats, args.warmup)
    stats = latency_stats(times)

    print(f"{args.artifact}: {human_bytes(engine.weight_bytes)} packed weights, "
          f"threads {spiralkit.get_num_threads()}")
    for name, x in inputs.items():
        print(f"  input  {name}: {list(np.shape(x))} {np.asarray(x).dtype} {origin}")
    for name, y in zip(engine.output_names, outputs):
        print(f"  output {name}: {list(y.shape)} {y.dtype}")
    print(f"latency: median {stats['median_ms']:.3f} ms, p10-p90 {stats['p10_ms']:.3f}-{stats['p90_ms']:.3f} ms "
          f"({args.repeats} calls after {args.warmup} warm-up)")
    if args.profile:
        rows = engine.profile(feed, max(1, min(args.repeats, 20)))
        total = sum(r["ms"] for r in rows) or 1.0
        print(f"\nslowest nodes (mean of {max(1, min(args.repeats, 20))} profiled runs):")
        table = [("node", "op", "kernel", "ms", "share")]
        for r in rows[:PROFILE_ROWS]:
            table.append((str(r["name"])[:48], str(r["op"]), str(r.get("kernel", "-")), f"{r['ms']:.4f}",
                          f"{r['ms'] / total:.1%}"))
        width = [max(len(t[i]) for t in table) for i in range(5)]
        for t in table:
            print("  " + "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(t, width))))
        print(f"  ({len(rows)} nodes, {total:.3f} ms in all)")
    if args.output:
        np.save(args.output, outputs[0])
        print(f"wrote {args.output} ({engine.output_names[0]} {list(outputs[0].shape)})")
    return 0
