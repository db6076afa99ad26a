"""How far spiralkit's int8 engine moves the real MiniLM-L6 from its own fp32 self, on held-out text.

Post-training static int8 (no quantization-aware round): the pretrained all-MiniLM-L6-v2
(``spiralkit.models.minilm``, wrapped as token ids -> hidden states), optionally magnitude-pruned
to a ``1x4`` sparsity on its 36 encoder Linears (no retraining: the pruned model is a worse
encoder, but int8 vs fp32 of the *same* weights is what is measured), compiled twice by
``spiralkit.compile``: fp32, and ``quantize="int8"`` with calibration batches of training
sentences. Both engines embed the test sentences (mean of the last hidden states); the table gives
mean cosine(int8, fp32) and the top-1 retrieval agreement (``spiralkit.compress.agreement``).

Every input has all tokens real (the hidden-state wrapper takes no mask), so sentences are cut to
``--tokens`` tokens (keeping ``[SEP]``) and shorter ones are left out; the test sentences fill
``--batches`` batches of ``--batch`` sentences, the calibration ``--calibration`` batches of
training sentences.

    PYTHONPATH=python python examples/minilm_int8_agreement.py --sparsity 0 0.5 0.9
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def sentence_ids(sentences, tokenizer, tokens: int) -> np.ndarray:
    """Token ids ``[n, tokens]`` of the sentences that have at least ``tokens`` tokens, cut to it."""
    rows = [x[: tokens - 1] + x[-1:] for x in tokenizer.ids(sentences) if len(x) >= tokens]
    return np.asarray(rows, dtype=np.int64)


def embed(engine, ids: np.ndarray, batch: int) -> torch.Tensor:
    out = [np.asarray(engine(ids[i: i + batch])).mean(axis=1) for i in range(0, len(ids), batch)]
    return torch.from_numpy(np.concatenate(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sparsity", type=float, nargs="+", default=[0.0, 0.5, 0.9])
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=16, help="test batches")
    p.add_argument("--calibration", type=int, default=8, help="calibration batches (training sentences)")
    p.add_argument("--method", default="minmax", choices=["minmax", "percentile"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import spiralkit
    from spiralkit.bench.models import minilm_hidden
    from spiralkit.compress.agreement import agreement
    from spiralkit.data.minilm import load_tokenizer
    from spiralkit.data.text import load_splits
    from spiralkit.models.minilm import prunable_linear_names

    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer()
    splits = load_splits()
    test = sentence_ids(splits.test, tokenizer, args.tokens)[: args.batch * args.batches]
    calib = sentence_ids(splits.train, tokenizer, args.tokens)[: args.batch * args.calibration]
    if len(test) < args.batch * 2 or len(calib) < args.batch:
        print(f"too few sentences with >= {args.tokens} tokens: {len(test)} test, {len(calib)} calibration",
              file=sys.stderr)
        return 1
    test = test[: len(test) // args.batch * args.batch]
    calibration = [calib[i: i + args.batch] for i in range(0, len(calib) - args.batch + 1, args.batch)]
    rows = []
    for sparsity in args.sparsity:
        model = minilm_hidden(seq=args.tokens)
        if sparsity > 0:
            names = set(prunable_linear_names(model.encoder))
            with torch.no_grad():
                for name, mod in model.encoder.named_modules():
                    if name in names:
                        mod.weight.copy_(spiralkit.prune_to_pattern(mod.weight.detach(), "1x4", sparsity))
        example = test[: args.batch]
        t0 = time.perf_counter()
        fp32 = spiralkit.compile(model, example, threads=args.threads)
        int8 = spiralkit.compile(model, example, threads=args.threads, quantize="int8", calibration=calibration,
                                 calibration_method=args.method)
        compile_s = time.perf_counter() - t0
        with torch.no_grad():
            ref = model(torch.from_numpy(example)).numpy()
        fp32_err = float(np.abs(np.asarray(fp32(example)) - ref).max() / np.abs(ref).max())
        a = agreement(embed(int8, test, args.batch), embed(fp32, test, args.batch))
        row = {"sparsity_1x4": sparsity, "test_sentences": len(test), "tokens": args.tokens,
               "calibration_sentences": len(calib), "method": args.method,
               "fp32_engine_vs_torch_rel_err": fp32_err, "compile_s": round(compile_s, 1), **a}
        rows.append(row)
        print(f"1x4 {sparsity:4.0%}: int8 vs fp32 mean cosine {a['mean_cosine']:.5f} (min {a['min_cosine']:.4f}), "
              f"top-1 agreement {a['retrieval_top1']:.3f}, fp32 engine vs torch {fp32_err:.1e}", flush=True)
    print("| 1x4 sparsity (Linears) | test sentences | int8 vs fp32 mean cosine | min cosine | top-1 retrieval agreement |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['sparsity_1x4']:.0%} | {r['test_sentences']} | {r['mean_cosine']:.5f} | {r['min_cosine']:.4f} | "
              f"{r['retrieval_top1']:.3f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(["python", *sys.argv]), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
