"""Per-variant summary of a sweep folder (examples/mnist_lr_teacher_sweep.sh): validation and test
accuracy (mean, std over seeds) of the spiral and its one-shot control at 99 % unstructured and
98 % 4x1, sorted by the spiral's mean validation accuracy over the two cases. Prints markdown rows;
writes them as JSON too when given a second path.

    python examples/mnist_sweep_summary.py runs/sweep2 [out.json]
"""

from __future__ import annotations

import glob
import json
import os
import statistics
import sys

CASES = ("unstructured-0.99", "4x1-0.98")
METHODS = ("spiral", "one-shot-kd")
SETTINGS = ("teacher_epochs", "rounds", "round_steps", "final_steps", "lr", "lr_schedule", "alpha")


def mean_std(values):
    return [round(statistics.mean(values), 2), round(statistics.stdev(values), 2) if len(values) > 1 else 0.0]


def summarize(variant_dir: str) -> dict | None:
    cells = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(variant_dir, "cells", "*.json")))]
    if not cells:
        return None
    out = {"variant": os.path.basename(variant_dir), "settings": {k: cells[0]["settings"][k] for k in SETTINGS}}
    for case in CASES:
        found = [c for c in cells if f"{c['pattern']}-{c['target']}" == case]
        for method in METHODS:
            rows = [c["rows"][method] for c in found if method in c["rows"]]
            out[f"{case} {method}"] = {"seeds": len(rows),
                                       "val": mean_std([100 * r["val_accuracy"] for r in rows]),
                                       "test": mean_std([100 * r["test_accuracy"] for r in rows])}
    out["mean_val_spiral"] = round(statistics.mean(out[f"{case} spiral"]["val"][0] for case in CASES), 2)
    return out


def markdown_row(r: dict) -> str:
    s = r["settings"]
    u, b = r["unstructured-0.99 spiral"], r["4x1-0.98 spiral"]
    uo, bo = r["unstructured-0.99 one-shot-kd"], r["4x1-0.98 one-shot-kd"]
    return (f"| {r['variant']} | {s['teacher_epochs']} | {s['lr']:g} | {s['alpha']:g} | "
            f"{s['rounds']} x {s['round_steps']} + {s['final_steps']} | {u['val'][0]:.2f} | {b['val'][0]:.2f} | "
            f"**{r['mean_val_spiral']:.2f}** | {u['test'][0]:.2f} ± {u['test'][1]:.2f} / {b['test'][0]:.2f} ± "
            f"{b['test'][1]:.2f} | {uo['test'][0]:.2f} / {bo['test'][0]:.2f} |")


def main(argv) -> int:
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    rows = [r for d in sorted(glob.glob(os.path.join(argv[1], "*"))) if os.path.isdir(d) and (r := summarize(d))]
    rows.sort(key=lambda r: -r["mean_val_spiral"])
    for r in rows:
        print(markdown_row(r))
    if len(argv) == 3:
        with open(argv[2], "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
