"""Table of benchmarks/results/ort-int8-*.json (ORT fp32 vs ORT int8 per case); later files win for a case.

    python benchmarks/results/ort-int8-format.py benchmarks/results/ort-int8-baseline.json benchmarks/results/ort-int8-minilm.json
"""
import json, sys
rows = []
for path in sys.argv[1:]:
    d = json.load(open(path))
    for r in d["results"]:
        c = r["case"]; e = r["engines"]
        f, q = e["onnxruntime"], e["ort_int8"]
        rows.append((c["model"], c["pattern"], c["sparsity"], c["batch"], f, q, r["machine"]))
    for fl in d["failures"]:
        c = fl["case"]
        rows.append((c["model"], c["pattern"], c["sparsity"], c["batch"], None, fl["error"], None))
have = {(t[0], t[1], t[2], t[3]) for t in rows if t[4] is not None}
rows = [t for t in rows if t[4] is not None or (t[0], t[1], t[2], t[3]) not in have]
seen = set(); rows2 = []
for t in rows:
    k = (t[0], t[1], t[2], t[3])
    if k in seen and t[4] is None:
        continue
    seen.add(k); rows2.append(t)
rows = rows2
order = {"bert": 0, "minilm": 1, "resnet50": 2, "mobilenet_v2": 3}
rows.sort(key=lambda t: (order.get(t[0], 9), t[2], t[1], t[3]))
print(f"{'model':13} {'pattern':12} {'sparse':>6} {'batch':>5} {'ORT fp32 ms (p10-p90)':>26} {'ORT int8 ms (p10-p90)':>26} {'int8 x fp32 (p10-p90)':>22} {'int8 rel err':>12} {'fp32 MB':>7} {'int8 MB':>7}")
for m, p, s, b, f, q, mach in rows:
    if f is None:
        print(f"{m:13} {p:12} {s:6.2f} {b:5d}  FAILED: {q[:150]}")
        continue
    print(f"{m:13} {p:12} {s:6.2f} {b:5d} {f['median_ms']:9.1f} ({f['p10_ms']:6.0f}-{f['p90_ms']:6.0f}) {q['median_ms']:9.1f} ({q['p10_ms']:6.0f}-{q['p90_ms']:6.0f}) "
          f"{q['speedup_vs_onnxruntime']:8.2f} ({q['speedup_vs_onnxruntime_p10']:4.2f}-{q['speedup_vs_onnxruntime_p90']:4.2f}) {q['rel_err_vs_onnxruntime']:12.2e} {f['artifact_bytes']/2**20:7.1f} {q['artifact_bytes']/2**20:7.1f}")
