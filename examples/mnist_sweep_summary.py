"""Per-variant summary of a sweep folder (examples/mnist_lr_teacher_sweep.sh): validation and test accuracy
(mean, std over seeds) of the spiral and its one-shot control at 99 % unstructured and 98 % 4x1,
sorted by the spiral's mean validation accuracy over the two cases. Markdown rows; `[out.json]` too.

    python examples/mnist_sweep_summary.py runs/sweep2 [out.json]
"""
import json, sys, glob, os, statistics as st
root = sys.argv[1]
rows = []
for d in sorted(glob.glob(os.path.join(root, "*/cells"))):
    name = os.path.basename(os.path.dirname(d))
    cells = [json.load(open(f)) for f in glob.glob(d + "/*.json")]
    if not cells: continue
    s = cells[0]["settings"]
    out = {"variant": name, "settings": {k: s[k] for k in ("teacher_epochs", "rounds", "round_steps", "final_steps", "lr", "lr_schedule", "alpha")}}
    for case in ("unstructured-0.99", "4x1-0.98"):
        cs = [c for c in cells if f"{c['pattern']}-{c['target']}" == case]
        for m in ("spiral", "one-shot-kd"):
            v = [100 * c["rows"][m]["val_accuracy"] for c in cs if m in c["rows"]]
            t = [100 * c["rows"][m]["test_accuracy"] for c in cs if m in c["rows"]]
            out[f"{case} {m}"] = {"seeds": len(v), "val": [round(st.mean(v), 2), round(st.stdev(v), 2)], "test": [round(st.mean(t), 2), round(st.stdev(t), 2)]}
    out["mean_val_spiral"] = round((out["unstructured-0.99 spiral"]["val"][0] + out["4x1-0.98 spiral"]["val"][0]) / 2, 2)
    rows.append(out)
rows.sort(key=lambda r: -r["mean_val_spiral"])
for r in rows:
    s = r["settings"]
    print(f"| {r['variant']} | {s['teacher_epochs']} | {s['lr']:g} | {s['alpha']:g} | {s['rounds']} x {s['round_steps']} + {s['final_steps']} | "
          f"{r['unstructured-0.99 spiral']['val'][0]:.2f} | {r['4x1-0.98 spiral']['val'][0]:.2f} | **{r['mean_val_spiral']:.2f}** | "
          f"{r['unstructured-0.99 spiral']['test'][0]:.2f} ± {r['unstructured-0.99 spiral']['test'][1]:.2f} / {r['4x1-0.98 spiral']['test'][0]:.2f} ± {r['4x1-0.98 spiral']['test'][1]:.2f} | "
          f"{r['unstructured-0.99 one-shot-kd']['test'][0]:.2f} / {r['4x1-0.98 one-shot-kd']['test'][0]:.2f} |")
if len(sys.argv) > 2: json.dump(rows, open(sys.argv[2], "w"), indent=1)
