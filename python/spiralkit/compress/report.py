"""The run's outputs: a terminal table, rounds.json, and a plot of the metric vs sparsity."""

from __future__ import annotations

from pathlib import Path

COLUMNS = [
    ("round", "round", "{}"),
    ("sparsity_pruned_layers", "sparsity(layers)", "{:.1%}"),
    ("sparsity_model", "sparsity(model)", "{:.1%}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("f1", "F1", "{:.4f}"),
    ("test_accuracy", "test acc", "{:.4f}"),
    ("params_nonzero", "nonzero params", "{:,}"),
    ("packed_bytes", "packed KiB", "{}"),
    ("flops", "MFLOPs/example", "{}"),
    ("wall_s", "time s", "{:.1f}"),
]


def _cell(record: dict, key: str, fmt: str) -> str:
    value = record.get(key)
    if value is None:
        value = record.get("metrics", {}).get(key)
    if value is None:
        return "-"
    if key == "packed_bytes":
        return f"{value / 1024:.1f}"
    if key == "flops":
        return f"{value / 1e6:.3f}"
    return fmt.format(value)


def table(records: list[dict], primary: str = "accuracy", best_round: int | None = None,
          extra_columns: list[tuple[str, str, str]] = ()) -> str:
    """A fixed-width table, one row per round (round 0 is the uncompressed model); ``*`` marks
    the kept round."""
    cols = list(COLUMNS)
    if primary != "accuracy":
        cols[3] = (primary, primary, "{:.4f}")
    cols += list(extra_columns)
    rows = [[h for _, h, _ in cols]]
    for r in records:
        row = [_cell(r, k, f) for k, _, f in cols]
        if r["round"] == best_round:
            row[0] += " *"
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot(records: list[dict], path: "str | Path", primary: str = "accuracy", title: str = "spiral compression",
         baseline: "dict | None" = None) -> None:
    """Primary metric vs sparsity of the pruned layers, one point per round, labelled; the
    one-shot baseline (same budget) as a separate marker when given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [100 * r["sparsity_pruned_layers"] for r in records]
    ys = [r["metrics"][primary] for r in records]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, ys, marker="o")
    for r, x, y in zip(records, xs, ys):
        ax.annotate(str(r["round"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if baseline is not None:
        ax.plot([100 * baseline["sparsity_pruned_layers"]], [baseline["metrics"][primary]], marker="x",
                linestyle="none", color="tab:red", markersize=9, label="one-shot + fine-tune (same steps)")
        ax.plot([], [], marker="o", color="tab:blue", label="spiral rounds")
        ax.legend(fontsize=8)
    ax.set_xlabel("sparsity of the pruned layers (%)")
    ax.set_ylabel(f"validation {primary}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
