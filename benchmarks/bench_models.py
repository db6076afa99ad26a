"""Whole-model benchmark: spiralkit vs ONNX Runtime vs PyTorch eager, side by side, on pruned models.

    PYTHONPATH=python python benchmarks/bench_models.py --json bench-models.json
    PYTHONPATH=python python benchmarks/bench_models.py --models bert --sparsity 0,0.9 --patterns 4x1 \
        --batch 1 --repeats 3

For every (model, pattern, sparsity) the model is built with fixed seeds (BN statistics randomised so
folding is exercised), pruned with ``spiralkit.prune_to_pattern`` (``prune_model``: every Conv2d but
the stem and depthwise ones, every Linear including the classifier), exported once to ONNX with a
dynamic batch axis, and benchmarked at each batch size with ``spiralkit.bench.model_bench.bench_model``
(outputs checked against ONNX Runtime first; alternating rounds; median of per-round ratios).
Sparsity 0 is the dense model, run once (pattern ``dense``).

Models: ``resnet50`` and ``mobilenet_v2`` (224x224, 1000 classes), ``bert`` (BERT-base encoder,
``--bert-layers`` layers, float hidden states ``[B, --seq, 768]``), ``minilm`` (the real pretrained
MiniLM-L6, token ids ``[B, --seq]`` -> last hidden states, all-ones attention mask). ``--models all``
runs the four.

``--repeats N`` runs each case in N separate processes (peak memory measured in the first only) and
reports the median and the min-max spread of the per-process medians (BENCHMARKS.md: a headline
figure needs >= 3). Exit status 1 if any case failed (output mismatch or error).

int8 (opt-in; the default run and its JSON are unchanged): ``--ort-int8`` adds ONNX Runtime on its own
static QDQ int8 quantization of each case's ONNX file (``spiralkit.bench.ort_int8``: per-channel
symmetric int8 weights, ``--int8-activation`` activations, ``--int8-calibration`` minmax|percentile
over ``--calib-batches`` batches that differ from the timed example) as engine ``ort_int8``;
``--engine-quantize int8`` adds ``spiralkit_int8`` (``spiralkit.compile(..., quantize="int8",
calibration=<the same batches>)``, skipped where compile has no ``quantize=``). Both are checked
against ONNX Runtime fp32 within ``--int8-tol`` (relative to max|ref|).

    PYTHONPATH=python python benchmarks/bench_models.py --models bert --sparsity 0,0.9 \
        --patterns unstructured,1x4 --engines onnxruntime --ort-int8 --no-memory
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))  # run from a checkout without installing

import numpy as np  # noqa: E402

from spiralkit.bench import zoo  # noqa: E402
from spiralkit.bench.zoo import ZOO as ALL_MODELS  # noqa: E402
DEFAULT_MODELS = ("resnet50", "mobilenet_v2", "bert")


def _csv(kind):
    def parse(text: str):
        return [kind(t) for t in text.split(",") if t.strip()]

    return parse


def rebuild_spec(name: str, args) -> dict:
    """The zoo.build_model arguments a child process rebuilds the model with."""
    return {"name": name, "seq": args.seq, "bert_layers": args.bert_layers, "image": args.image}


def build_model(name: str, args):
    """The unpruned torch model and a function ``batch -> example (numpy)``, fixed seeds."""
    return zoo.build_model(**rebuild_spec(name, args))


def cases(args):
    for model in args.models:
        for sp in args.sparsity:
            for pat in (["dense"] if sp == 0 else args.patterns):
                yield model, pat, sp


def _aggregate(runs: list[dict]) -> dict:
    """One result from repeated runs: per engine the median of the per-process medians (and ratios),
    their min-max spread, and every run's figure."""
    out = dict(runs[0])
    out["repeats"] = len(runs)
    out["engines"] = {}
    for e, first in runs[0]["engines"].items():
        recs = [r["engines"][e] for r in runs if r["engines"].get(e, {}).get("status") == "ok"]
        if first.get("status") != "ok" or not recs:
            out["engines"][e] = first
            continue
        agg = {k: v for k, v in first.items() if k != "samples_ms"}
        for key in ("median_ms", "p10_ms", "p90_ms", "speedup_vs_onnxruntime", "speedup_vs_torch",
                    "speedup_vs_ort_int8", "effective_gflops", "useful_gflops", "rel_err_vs_onnxruntime"):
            vals = [r[key] for r in recs if key in r]
            if vals:
                agg[key] = statistics.median(vals) if key != "rel_err_vs_onnxruntime" else max(vals)
                agg[f"runs_{key}"] = vals
        meds = agg["runs_median_ms"]
        agg["spread_ms"] = [min(meds), max(meds)]
        for base in ("onnxruntime", "torch", "ort_int8"):
            vals = agg.get(f"runs_speedup_vs_{base}")
            if vals:
                agg[f"speedup_vs_{base}_spread"] = [min(vals), max(vals)]
        out["engines"][e] = agg
    out["machine"] = {**runs[0]["machine"], "loadavg_end": runs[-1]["machine"].get("loadavg_end")}
    return out


def _bench_kwargs(args, memory: bool, ort_int8_path=None) -> dict:
    kw = dict(engines=args.engines, threads=args.threads, rounds=args.rounds, warmup=args.warmup,
              calls=args.calls, tol=args.tol, memory=memory, gap_s=args.gap_ms / 1e3, rewarm=args.rewarm)
    if args.ort_int8 or args.engine_quantize:  # only then: the default kwargs (and JSON) stay as they were
        kw["engines"] = list(args.engines) + (["ort_int8"] if args.ort_int8 else []) + (
            ["spiralkit_int8"] if args.engine_quantize else [])
        kw.update(int8_tol=args.int8_tol, ort_int8_path=None if ort_int8_path is None else str(ort_int8_path))
    return kw


def int8_prepare(model_name: str, model, onnx_path: Path, case_dir: Path, args):
    """The calibration batches (saved to case_dir for child processes) and, with --ort-int8, ONNX
    Runtime's quantized file. Returns (calibration, ort_int8_path or None)."""
    from spiralkit.bench import ort_int8

    calib = ort_int8.calibration_batches(model_name, model, args.calib_batches, 1, image=args.image)
    np.savez(case_dir / "calibration.npz", *calib)
    if not args.ort_int8:
        return calib, None
    t0 = time.perf_counter()
    q = ort_int8.quantize_ort_int8(onnx_path, calib, case_dir / "model.int8.onnx", method=args.int8_calibration,
                                   activation=args.int8_activation)
    check = ort_int8.run_both(onnx_path, q, calib[:2], threads=args.threads)
    print(f"  ort int8 ({args.int8_activation} activations, {args.int8_calibration}): quantize "
          f"{time.perf_counter() - t0:.1f}s, {Path(q).stat().st_size / 2**20:.1f} MB, on calibration data max rel err "
          f"{check['max_rel_err']:.2e}, mean cosine {check['mean_cosine']:.5f}")
    return calib, q


def _load_calibration(case_dir: Path):
    with np.load(case_dir / "calibration.npz") as z:
        return [z[k] for k in z.files]


def run_child(case_dir: Path, out_path: Path) -> int:
    """One repeat in its own process: rebuild the zoo model, load its pruned weights (safetensors)
    and the example, bench, write JSON."""
    from spiralkit.bench.model_bench import bench_model

    spec = json.loads((case_dir / "case.json").read_text())
    model = zoo.rebuild(spec["rebuild"], case_dir / "model.safetensors")
    example = np.load(case_dir / f"example_b{spec['case']['batch']}.npy")
    kwargs = dict(spec["kwargs"])
    if "spiralkit_int8" in kwargs["engines"]:
        kwargs["int8_calibration"] = _load_calibration(case_dir)
    res = bench_model(case_dir / "model.onnx", model, example, name=spec["name"], case=spec["case"], echo=None,
                      rebuild=spec["rebuild"], **kwargs)
    out_path.write_text(json.dumps(res))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench_models", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=_csv(str), default=list(DEFAULT_MODELS),
                   help=f"comma list of {','.join(ALL_MODELS)} or 'all' (default: {','.join(DEFAULT_MODELS)})")
    p.add_argument("--sparsity", type=_csv(float), default=[0.0, 0.8, 0.9, 0.95])
    p.add_argument("--patterns", type=_csv(str), default=["4x1", "unstructured"])
    p.add_argument("--batch", type=_csv(int), default=[1, 16])
    p.add_argument("--engines", type=_csv(str), default=["spiralkit", "onnxruntime", "torch"])
    p.add_argument("--threads", type=int, default=int(os.environ.get("SPIRALKIT_BENCH_THREADS", "2")))
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--calls", type=int, default=20, help="minimum timed calls per engine")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=1, help="separate processes per case (median of their medians)")
    p.add_argument("--tol", type=float, default=1e-3, help="max relative error vs ONNX Runtime")
    p.add_argument("--rewarm", type=int, default=1, help="untimed calls at the start of each engine block")
    p.add_argument("--gap-ms", type=float, default=100.0,
                   help="sleep between engine blocks: ONNX Runtime's workers spin ~45 ms after a call, ours ~10 ms")
    p.add_argument("--seq", type=int, default=128, help="sequence length for bert/minilm")
    p.add_argument("--bert-layers", type=int, default=4)
    p.add_argument("--image", type=int, default=224, help="image side for resnet50/mobilenet_v2")
    p.add_argument("--keep-bn", action="store_true", help="export BatchNormalization nodes (default: folded into Conv)")
    p.add_argument("--no-memory", action="store_true", help="skip the per-engine peak-memory subprocesses")
    p.add_argument("--workdir", help="where the ONNX files go (default: a temporary directory, removed)")
    p.add_argument("--json", help="write all results here")
    p.add_argument("--ort-int8", action="store_true", help="add ONNX Runtime int8 (its static QDQ quantization)")
    p.add_argument("--engine-quantize", choices=["int8"], help="add spiralkit int8 (compile(quantize='int8'))")
    p.add_argument("--int8-calibration", choices=["minmax", "percentile"], default="minmax")
    p.add_argument("--int8-activation", choices=["int8", "uint8"], default="uint8",
                   help="ONNX Runtime's activation type (uint8: its fast U8S8 path on x86)")
    p.add_argument("--calib-batches", type=int, default=8, help="calibration batches (batch 1 each)")
    p.add_argument("--int8-tol", type=float, default=0.1, help="max relative error of int8 engines vs ORT fp32")
    p.add_argument("--_child", nargs=2, metavar=("CASE_DIR", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._child:
        return run_child(Path(args._child[0]), Path(args._child[1]))
    if args.models == ["all"]:
        args.models = list(ALL_MODELS)
    for m in args.models:
        if m not in ALL_MODELS:
            p.error(f"--models: unknown {m!r}; expected {','.join(ALL_MODELS)} or all")

    import torch

    from spiralkit.bench.model_bench import OutputMismatch, bench_model, format_table, machine_info

    torch.set_num_threads(args.threads)
    tmp = None
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="spk-bench-models-")
        work = Path(tmp.name)

    meta = machine_info(args.threads)
    print(f"cpu={meta['cpu']} threads={args.threads} OMP_WAIT_POLICY={meta['omp_wait_policy']} "
          f"isa={meta['spiralkit_isa']} commit={meta['commit']} load={meta['loadavg'][0]:.2f} repeats={args.repeats}")
    results, failures = [], []
    built: dict = {}
    try:
        for model_name, pattern, sparsity in cases(args):
            if model_name not in built:
                built.clear()  # one unpruned model in memory at a time
                built[model_name] = build_model(model_name, args)
            base, example_fn = built[model_name]
            tag = zoo.case_tag(model_name, pattern, sparsity)
            case_dir = work / tag
            case_dir.mkdir(exist_ok=True)
            t0 = time.perf_counter()
            onnx_path = case_dir / "model.onnx"
            model, measured = zoo.prune_and_export(base, example_fn, pattern, sparsity, onnx_path,
                                                   fold_bn=not args.keep_bn)
            print(f"\n== {tag}: weight sparsity {measured:.4f}, prune+export {time.perf_counter() - t0:.1f}s, "
                  f"onnx {onnx_path.stat().st_size / 2**20:.1f} MB")
            if args.repeats > 1:
                zoo.save_weights(model, case_dir / "model.safetensors")
            calib = q_path = None
            if args.ort_int8 or args.engine_quantize:
                calib, q_path = int8_prepare(model_name, model, onnx_path, case_dir, args)
            for batch in args.batch:
                case = zoo.case_record(model_name, pattern, sparsity, batch, measured, fold_bn=not args.keep_bn)
                example = example_fn(batch)
                try:
                    if args.repeats <= 1:
                        extra = {"int8_calibration": calib} if args.engine_quantize else {}
                        res = bench_model(onnx_path, model, example, name=model_name, case=case,
                                          rebuild=rebuild_spec(model_name, args),
                                          **_bench_kwargs(args, not args.no_memory, q_path), **extra)
                    else:
                        np.save(case_dir / f"example_b{batch}.npy", example)
                        runs = []
                        for i in range(args.repeats):
                            spec = {"name": model_name, "case": case, "rebuild": rebuild_spec(model_name, args),
                                    "kwargs": _bench_kwargs(args, not args.no_memory and i == 0, q_path)}
                            (case_dir / "case.json").write_text(json.dumps(spec))
                            out = case_dir / f"run_b{batch}_{i}.json"
                            proc = subprocess.run([sys.executable, __file__, "--_child", str(case_dir), str(out)],
                                                  capture_output=True, text=True)
                            if proc.returncode != 0:
                                tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
                                raise RuntimeError(f"repeat {i} failed: {tail[0]}")
                            runs.append(json.loads(out.read_text()))
                            r0 = runs[-1]["engines"]
                            print("  run", i, " ".join(f"{e}={r['median_ms']:.3f}ms" for e, r in r0.items()
                                                       if r.get("status") == "ok"))
                        res = _aggregate(runs)
                except Exception as exc:  # noqa: BLE001 - record, go on with the next case
                    kind = "MISMATCH" if isinstance(exc, OutputMismatch) else "ERROR"
                    print(f"  {kind} {tag} batch {batch}: {type(exc).__name__}: {exc}")
                    failures.append({"case": case, "error": f"{type(exc).__name__}: {exc}", "kind": kind})
                    continue
                results.append(res)
                print(format_table(res).rsplit("\n", 1)[0])
    finally:
        if tmp is not None:
            tmp.cleanup()

    print("\n" + format_table(results) if results else "\nno results")
    for f in failures:
        print(f"FAILED {f['case']['model']} {f['case']['pattern']} {f['case']['sparsity']} batch {f['case']['batch']}: "
              f"{f['error']}")
    if args.json:
        args_dict = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        Path(args.json).write_text(json.dumps({"meta": meta, "args": args_dict, "results": results,
                                               "failures": failures}, indent=1))
        print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
