"""Evidence: an int8 + sparse MNIST student against its fp32 sparse self, same budget, several seeds.

For every seed a teacher (``mnist_cnn``) is trained on the bundled MNIST subset (3,500 train), then
two spiral runs start from it with the same recipe, seeds and optimiser steps:

  fp32 : rounds of prune (cubic schedule to ``--sparsity`` in ``--pattern``) + soft distillation
  int8 : the same, with ``SpiralConfig.quantize = "int8"``: the last round is quantization-aware
         (compress/quantize.py: int8 weights per output channel, uint8 inputs per tensor)

Both report the last round on the held-out test split (1,000 images); the int8 run's accuracy is
the fake-quantized model's (the engine's arithmetic). Paired per seed: int8 - fp32.

    PYTHONPATH=python python examples/mnist_int8_evidence.py --seeds 0 1 2 --out runs/int8-evidence
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, distill
from spiralkit.compress.distill import copy_model
from spiralkit.compress.spiral import compress
from spiralkit.data import mnist, zoo


def teacher_for(seed: int, epochs: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = zoo.build_model("mnist_cnn")
    distill(model, None, DistillConfig(loss="task", epochs=epochs, lr=2e-3, seed=seed),
            mnist.loader("train", seed=seed), progress=False)
    return model


def run(teacher, seed: int, quantize: str, args, out: Path) -> dict:
    student = copy_model(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    student.train()
    cfg = SpiralConfig(rounds=args.rounds, target_sparsity=args.sparsity, schedule="cubic", teacher="original",
                       stop_on_drop=False, tolerance=1.0, final_epochs=args.final_epochs, seed=seed,
                       output_dir=str(out), quantize=quantize,
                       prune=PruneConfig(pattern=args.pattern, allocation="global", seed=seed),
                       distill=DistillConfig(loss="soft", epochs=1, lr=args.lr, temperature=4.0, alpha=0.9, seed=seed))
    started = time.perf_counter()
    result = compress(student, cfg, mnist.loader("train", seed=seed + 100), mnist.loader("val", 500), teacher=teacher,
                      test_data=mnist.loader("test", 1000), progress=False, quiet=True)
    last = result.records[-1]
    row = {"seed": seed, "quantize": quantize, "test_accuracy": last["test_accuracy"],
           "val_accuracy": last["metrics"]["accuracy"], "sparsity": last["sparsity_pruned_layers"],
           "wall_s": time.perf_counter() - started}
    if quantize == "int8":
        row["val_accuracy_same_weights_fp32"] = last["fp32_metrics"]["accuracy"]
        row["engine_int8"] = last.get("engine_int8")
    print(result.table(), flush=True)
    return row


def summary(rows: list[dict]) -> str:
    def ms(xs):
        return f"{100 * statistics.mean(xs):.2f} ± {100 * statistics.stdev(xs):.2f}" if len(xs) > 1 else \
            f"{100 * xs[0]:.2f}"

    seeds = sorted({r["seed"] for r in rows})
    by = {(r["seed"], r["quantize"]): r for r in rows}
    paired = [s for s in seeds if (s, "none") in by and (s, "int8") in by]
    lines = ["| seed | fp32 sparse test acc | int8 sparse test acc | int8 - fp32 (points) | sparsity |",
             "| --- | --- | --- | --- | --- |"]
    for s in paired:
        a, b = by[(s, "none")], by[(s, "int8")]
        lines.append(f"| {s} | {100 * a['test_accuracy']:.2f} | {100 * b['test_accuracy']:.2f} | "
                     f"{100 * (b['test_accuracy'] - a['test_accuracy']):+.2f} | {b['sparsity']:.3f} |")
    if paired:
        f = [by[(s, "none")]["test_accuracy"] for s in paired]
        q = [by[(s, "int8")]["test_accuracy"] for s in paired]
        d = [b - a for a, b in zip(f, q)]
        lines.append(f"| mean ± std ({len(paired)} seeds) | {ms(f)} | {ms(q)} | {ms(d)} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pattern", default="1x4")
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--final-epochs", type=int, default=1)
    p.add_argument("--teacher-epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/int8-evidence")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        teacher = teacher_for(seed, args.teacher_epochs)
        for quantize in ("none", "int8"):
            cell = out / f"{args.pattern}-{args.sparsity}-s{seed}-{quantize}.json"
            if cell.exists():  # finished cells are kept: an interrupted run continues
                rows.append(json.loads(cell.read_text()))
                continue
            row = run(teacher, seed, quantize, args, out / "runs" / cell.stem)
            cell.write_text(json.dumps(row, indent=1))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
