"""Engine: a compiled model. Runs with numpy alone (torch CPU tensors are accepted when torch is
there); saves to and loads from spiralkit's own checked artifact format."""

from __future__ import annotations

import os

import numpy as np

from spiralkit._native import lib

_DTYPES = {0: np.float32, 1: np.int64}


class Engine:
    """A compiled model: one native plan per batch size, run in one call with the GIL released.

    ``run(inputs)`` takes an array, a list/tuple in input order or a dict name -> array and returns
    a list of arrays; ``engine(x)`` returns the single output (a tuple when there are several).
    Only the leading (batch) dim may change between calls.
    """

    # compile(..., int8_tolerance=...): which layer inputs stayed fp32 and the error reached
    # (engine/int8_fallback.py); None otherwise, and for a loaded artifact.
    int8_report = None

    def __init__(self, native):
        self._native = native
        self._inputs = [(name, _DTYPES[code], tuple(dims)) for name, code, dims, _ in native.inputs()]
        self._batched = {name: batched for name, _, _, batched in native.inputs()}
        self._outputs = list(native.outputs())

    # --- description
    @property
    def input_names(self) -> list:
        return [n for n, _, _ in self._inputs]

    @property
    def output_names(self) -> list:
        return list(self._outputs)

    @property
    def input_shapes(self) -> dict:
        """name -> shape with None for the batch dim."""
        return {n: ((None,) + d[1:] if self._batched[n] else d) for n, _, d in self._inputs}

    @property
    def weight_bytes(self) -> int:
        return int(self._native.weight_bytes())

    def layers(self, batch: "int | None" = None) -> list:
        """Per node: name, op, output shape, kernel chosen and, for weighted layers, pattern,
        sparsity and packed bytes (the plan at `batch`, default the compile batch)."""
        return list(self._native.layers(int(batch or self._native.example_batch)))

    def summary(self, batch: "int | None" = None) -> str:
        rows = [("layer", "op", "pattern", "sparsity", "kernel", "KiB")]
        for l in self.layers(batch):
            if "pattern" not in l:
                continue
            rows.append((l["name"][:48], l["op"], l["pattern"], f"{l['sparsity']:.1%}", l["kernel"], f"{l['nbytes'] / 1024:.1f}"))
        others = {}
        for l in self.layers(batch):
            if "pattern" not in l:
                others[l["op"]] = others.get(l["op"], 0) + 1
        width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, width)) for r in rows]
        lines.append(f"other nodes: {', '.join(f'{k} x{v}' for k, v in sorted(others.items())) or 'none'}")
        lines.append(f"packed weights: {self.weight_bytes / 1024:.1f} KiB")
        return "\n".join(lines)

    # --- running
    def _arrays(self, inputs) -> list:
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            extra = [k for k in inputs if k not in self.input_names]
            if missing or extra:
                raise ValueError(f"inputs: expected {self.input_names}, missing {missing}, unknown {extra}")
            inputs = [inputs[n] for n in self.input_names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self._inputs):
            raise ValueError(f"inputs: expected {len(self._inputs)} arrays ({self.input_names}), got {len(inputs)}")
        out = []
        for x, (name, dtype, _) in zip(inputs, self._inputs):
            if type(x).__module__.startswith("torch"):
                x = x.detach().cpu().numpy()
            x = np.asarray(x)
            if x.dtype != dtype:
                # Safe widenings only (int32 token ids, float64 from numpy defaults are refused).
                if dtype == np.int64 and x.dtype.kind in "iu":
                    x = x.astype(np.int64)
                else:
                    raise ValueError(f"input '{name}': expected {np.dtype(dtype).name}, got {x.dtype}")
            out.append(np.ascontiguousarray(x))
        return out

    def run(self, inputs) -> list:
        return self._native.run(self._arrays(inputs))

    def profile(self, inputs, repeats: int = 20) -> list:
        """Per node: name, op, kernel and its mean milliseconds over `repeats` runs (after one
        warm-up run), slowest first: where the time of a model goes."""
        arrays = self._arrays(inputs)
        self._native.run(arrays)
        _, secs = self._native.profile(arrays, int(repeats))
        rows = []
        for layer, s in zip(self.layers(arrays[0].shape[0] if arrays and arrays[0].ndim else None), secs):
            rows.append({**layer, "ms": 1e3 * s / repeats})
        return sorted(rows, key=lambda r: -r["ms"])

    def __call__(self, *inputs):
        outs = self.run(list(inputs) if len(inputs) != 1 else inputs[0])
        return outs[0] if len(outs) == 1 else tuple(outs)

    # --- files
    def save(self, path) -> None:
        """Writes the artifact (graph + packed weights); atomically replaces `path`."""
        self._native.save(os.fspath(path))

    def __repr__(self) -> str:
        return f"Engine(inputs={self.input_shapes}, outputs={self.output_names}, weights={self.weight_bytes / 1024:.0f} KiB)"


def load(path) -> Engine:
    """Loads an artifact written by :meth:`Engine.save`. Needs numpy and the wheel only. A
    truncated, corrupted or foreign file raises :class:`spiralkit.FormatError`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no such file '{path}'")
    return Engine(lib().load_engine(path))
