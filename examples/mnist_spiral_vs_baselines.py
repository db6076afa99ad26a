"""Evidence: spiral compression vs one-shot prune + fine-tune vs gradual magnitude pruning (GMP,
no distillation), at the SAME total training epochs, on the bundled MNIST subset.

For every seed: train a teacher (mnist_cnn), then from the same teacher run
  spiral   : ``rounds`` rounds of prune (cubic schedule) -> soft distillation from the teacher
  one-shot : prune to the target at once, fine-tune on labels for all ``epochs``
  gmp      : the spiral's schedule and epochs, labels only (no teacher)
All three use the same criterion (magnitude), allocation (global), optimiser and epochs; the
table reports held-out test accuracy at the final sparsity, mean +- std over seeds.

    PYTHONPATH=python python examples/mnist_spiral_vs_baselines.py --seeds 0 1 2 --out runs/evidence
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch

from spiralkit.compress import DistillConfig, PruneConfig, SpiralConfig, classification_metrics, distill, prune
from spiralkit.compress.distill import copy_model
from spiralkit.compress.metrics import size_reference, sparsity_report
from spiralkit.compress.spiral import compress
from spiralkit.data import mnist, zoo

DEFAULT_TARGETS = ["unstructured=0.95", "4x1=0.90"]


def train_teacher(seed: int, epochs: int, device: str):
    torch.manual_seed(seed)
    model = zoo.build_model("mnist_cnn").to(device)
    cfg = DistillConfig(loss="task", epochs=epochs, lr=2e-3, seed=seed)
    distill(model, None, cfg, mnist.loader("train", seed=seed), progress=False)
    return model


def run_method(method: str, teacher, pattern: str, target: float, seed: int, args, device: str) -> dict:
    train = mnist.loader("train", seed=seed + 100)
    val, test = mnist.loader("val", 500), mnist.loader("test", 1000)
    student = copy_model(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    student.train()
    prune_cfg = PruneConfig(criterion="magnitude", pattern=pattern, allocation="global", seed=seed)
    per_round = (args.epochs - args.final_epochs) // args.rounds
    started = time.perf_counter()
    if method == "one-shot":
        layers = _layer_names(student, prune_cfg)  # the spiral's layer choice
        reference = size_reference(student, layers)
        prune(student, dataclasses.replace(prune_cfg, sparsity=target), train)
        distill(student, None, DistillConfig(loss="task", epochs=args.epochs, lr=args.lr, seed=seed,
                                             lr_schedule=args.lr_schedule), train,
                progress=False)
        report = sparsity_report(student, reference)
    else:
        loss = "soft" if method == "spiral" else "task"
        cfg = SpiralConfig(rounds=args.rounds, target_sparsity=target, schedule="cubic",
                           teacher=args.teacher_choice if method == "spiral" else "original",
                           stop_on_drop=False, tolerance=1.0, seed=seed, final_epochs=args.final_epochs,
                           output_dir=str(Path(args.out) / f"{method}-{pattern}-{target}-s{seed}"), prune=prune_cfg,
                           distill=DistillConfig(loss=loss, epochs=per_round, lr=args.lr, temperature=4.0,
                                                 lr_schedule=args.lr_schedule,
                                                 alpha=args.alpha, seed=seed))
        result = compress(student, cfg, train, val, teacher=teacher, progress=False, quiet=True)
        report = {k: result.records[-1][k] for k in ("sparsity_pruned_layers", "sparsity_model")}
    acc = classification_metrics(student, test)["accuracy"]
    return {"method": method, "pattern": pattern, "target": target, "seed": seed, "test_accuracy": acc,
            "sparsity_pruned_layers": report["sparsity_pruned_layers"], "sparsity_model": report["sparsity_model"],
            "wall_s": time.perf_counter() - started}


def _layer_names(model, cfg):
    from spiralkit.compress.pruner import select_layers

    return list(select_layers(model, cfg))


def summarize(rows: list[dict], teachers: list[float]) -> str:
    def ms(values):
        return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values) if len(values) > 1 else 0:.2f}"

    lines = [f"teacher test accuracy: {ms(teachers)} % (n={len(teachers)})", "",
             "| pattern | target | method | sparsity (pruned layers) | sparsity (model) | test accuracy % | drop vs teacher (pts) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    cases = list(dict.fromkeys((r["pattern"], r["target"]) for r in rows))
    for pattern, target in cases:
        for method in ("spiral", "one-shot", "gmp"):
            sel = [r for r in rows if (r["pattern"], r["target"], r["method"]) == (pattern, target, method)]
            if not sel:
                continue
            drops = [t - r["test_accuracy"] for t, r in zip(teachers, sel)]
            lines.append(
                f"| {pattern} | {target} | {method} | {statistics.mean(r['sparsity_pruned_layers'] for r in sel):.3f} | "
                f"{statistics.mean(r['sparsity_model'] for r in sel):.3f} | {ms([r['test_accuracy'] for r in sel])} | "
                f"{100 * statistics.mean(drops):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--teacher-epochs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=10, help="total compression epochs, every method")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--final-epochs", type=int, default=0,
                    help="spiral and gmp: of --epochs, this many go to the last round (recovery at the target)")
    ap.add_argument("--lr-schedule", default="constant", help="every method: constant or cosine (per distill call)")
    ap.add_argument("--teacher-choice", default="original", help="spiral teacher: original, previous, best")
    ap.add_argument("--targets", nargs="+", default=DEFAULT_TARGETS, help="pattern=sparsity cases")
    ap.add_argument("--alpha", type=float, default=0.9, help="spiral: weight of the KD term")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default="runs/evidence")
    ap.add_argument("--merge", nargs="+", help="only summarise these earlier --out folders together")
    args = ap.parse_args()
    if args.merge:
        runs = [json.loads((Path(d) / "results.json").read_text()) for d in args.merge]
        print(summarize([r for run in runs for r in run["rows"]], [t for run in runs for t in run["teachers"]]))
        return
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, teachers = [], []
    for seed in args.seeds:
        teacher = train_teacher(seed, args.teacher_epochs, args.device)
        teachers.append(classification_metrics(teacher, mnist.loader("test", 1000))["accuracy"])
        print(f"seed {seed}: teacher test accuracy {teachers[-1]:.4f}", flush=True)
        for case in args.targets:
            pattern, target = case.split("=")
            for method in ("spiral", "one-shot", "gmp"):
                row = run_method(method, teacher, pattern, float(target), seed, args, args.device)
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = summarize(rows, teachers)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "teachers": teachers, "rows": rows}, indent=2))
    (out / "summary.md").write_text(summary + "\n")
    print(summary)


if __name__ == "__main__":
    main()
