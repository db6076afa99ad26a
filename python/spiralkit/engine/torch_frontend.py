"""torch nn.Module -> ONNX (inside ``compile``): masks stripped into plain weights, exported with a
dynamic batch dim by torch's exporter, then compiled like any ONNX file."""

from __future__ import annotations

import copy
import io


def export_module(module, example_input):
    import onnx
    import torch

    try:
        from spiralkit.compress.masks import strip_masks

        module = strip_masks(copy.deepcopy(module))
    except ImportError:  # pragma: no cover
        module = copy.deepcopy(module)
    module = module.cpu().float().eval()
    examples = tuple(example_input) if isinstance(example_input, (list, tuple)) else (example_input,)
    examples = tuple(torch.as_tensor(e) for e in examples)
    names = [f"input{i}" if len(examples) > 1 else "input" for i in range(len(examples))]
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, examples, buf, input_names=names, output_names=["output"],
                          dynamic_axes={n: {0: "batch"} for n in names}, opset_version=17, dynamo=False,
                          do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue()), [e.numpy() for e in examples]
