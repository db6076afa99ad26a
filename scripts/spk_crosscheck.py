"""Cross-checks compiled engine artifacts (.spk) between two machines, e.g. x86 and aarch64 (qemu).

    python scripts/spk_crosscheck.py make DIR    # on the build machine: artifacts + reference outputs
    python scripts/spk_crosscheck.py check DIR   # on the target: numpy + spiralkit only

``make`` copies the committed tests/cpp/data/*.spk and, when torch is there, compiles a small pruned
CNN and MLP with ``spiralkit.compile`` (so the artifact is in the format of this checkout and its
layers take the sparse kernels), runs each on fixed inputs and stores inputs and outputs in
DIR/<name>.npz. ``check`` loads every DIR/*.spk with ``spiralkit.load``, runs the stored inputs and
fails unless each output matches within 1e-4 of its largest magnitude (kernels differ in summation
order and FMA use between ISAs, nothing more), and unless torch stayed unimported.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

import spiralkit

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "tests" / "cpp" / "data"
RTOL = 1e-4


def _inputs(engine, batch: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    arrays = []
    for (name, shape), dtype in zip(engine.input_shapes.items(), _input_dtypes(engine)):
        dims = [batch if d is None else d for d in shape]
        if dtype == np.int64:  # token ids: the committed tiny encoder's vocabulary is 20
            arrays.append(rng.integers(0, 20, dims).astype(np.int64))
        else:
            arrays.append(rng.standard_normal(dims).astype(np.float32))
    return arrays


def _input_dtypes(engine) -> list:
    return [np.dtype(dt) for _, dt, _ in engine._inputs]


def _compile_fresh(out: Path) -> list:
    """Small pruned models compiled by this checkout (needs torch + onnx); [] without torch."""
    try:
        import torch
        from torch import nn
    except ImportError:
        print("torch not installed: only the committed artifacts are cross-checked")
        return []
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 1), nn.ReLU(),                      # pointwise: sparse 1x1 path
        nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.ReLU(),  # depthwise
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),           # sparse kxk path
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    ).eval()
    mlp = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 8)).eval()
    with torch.no_grad():
        for model, pattern in ((cnn, "4x1"), (mlp, "8x1")):
            for m in model.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.shape[0] % 8 == 0 and getattr(m, "groups", 1) == 1:
                    w = m.weight.numpy().reshape(m.weight.shape[0], -1)
                    m.weight.copy_(torch.from_numpy(spiralkit.prune_to_pattern(w, pattern, 0.9)).reshape(m.weight.shape))
    written = []
    for name, model, example in (("fresh_cnn", cnn, torch.randn(1, 3, 12, 12)), ("fresh_mlp", mlp, torch.randn(4, 64))):
        path = out / f"{name}.spk"
        spiralkit.compile(model, example).save(path)
        written.append(path)
    return written


def make(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sorted(COMMITTED.glob("*.spk")):
        shutil.copyfile(src, out / src.name)
        paths.append(out / src.name)
    paths += _compile_fresh(out)
    for seed, path in enumerate(paths):
        engine = spiralkit.load(path)
        batch = 4 if path.stem == "fresh_mlp" else 2
        inputs = _inputs(engine, batch, seed)
        outputs = engine.run(inputs)
        np.savez(path.with_suffix(".npz"), **{f"in{i}": a for i, a in enumerate(inputs)},
                 **{f"out{i}": a for i, a in enumerate(outputs)})
        print(f"{path.name}: {len(inputs)} input(s) -> {[tuple(o.shape) for o in outputs]}")


def check(out: Path) -> int:
    paths = sorted(out.glob("*.spk"))
    if not paths:
        print(f"error: no .spk artifacts in {out} (run 'make' on the build machine first)")
        return 1
    isa = spiralkit.info().get("isa_active")
    failed = 0
    for path in paths:
        ref = np.load(path.with_suffix(".npz"))
        inputs = [ref[f"in{i}"] for i in range(sum(k.startswith("in") for k in ref.files))]
        want = [ref[f"out{i}"] for i in range(sum(k.startswith("out") for k in ref.files))]
        engine = spiralkit.load(path)
        got = engine.run(inputs)
        kernels = sorted({layer["kernel"] for layer in engine.layers() if layer.get("kernel")})
        print(f"     {path.name} runs: {', '.join(kernels)}")
        for i, (g, w) in enumerate(zip(got, want)):
            scale = max(float(np.abs(w).max(initial=0.0)), 1e-6)
            err = float(np.abs(g.astype(np.float64) - w).max(initial=0.0)) / scale if g.shape == w.shape else np.inf
            ok = len(got) == len(want) and g.shape == w.shape and err <= RTOL
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {path.name} output {i} {tuple(g.shape)}: rel. error {err:.2e} "
                  f"vs the build machine (isa {isa}, limit {RTOL:g})")
    if "torch" in sys.modules:
        print("FAIL: running the artifacts imported torch")
        failed += 1
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["make", "check"])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    if args.action == "make":
        make(args.dir)
        return 0
    return check(args.dir)


if __name__ == "__main__":
    sys.exit(main())
