"""Quantization-aware training: int8 fake quantization in torch, rounded as spiralkit's int8 engine rounds.

What the int8 engine computes for a Linear/Conv2d, simulated in float so it can be trained:

* **Weights**: symmetric int8 per output channel, ``s[n] = max|W[n]| / 127``,
  ``q = clamp(rint(W / s[n]), -127, 127)``, ``W' = q * s[n]``. Zero point 0, so a pruned zero stays an
  exact zero (``rint(0) = 0``) and the sparsity pattern survives quantization. ``[-127, 127]`` (not
  -128) keeps the range symmetric, as ONNX Runtime's symmetric int8 weights do.
* **Activations** (the input of every quantized layer): uint8 affine per tensor, from a range
  ``[lo, hi]`` that always contains 0: ``scale = (hi - lo) / 255``, ``zp = clamp(rint(-lo / scale), 0,
  255)``, ``q = clamp(rint(x * (1 / scale)) + zp, 0, 255)``, ``x' = (q - zp) * scale``. The multiply by
  the float32 reciprocal is what the engine's quantize step does (``kernels/include/spiralkit_kernels/
  qs8.h``: ``nearbyint(v * inv_scale)``), so a value on a rounding tie lands where the engine puts it.
* **Rounding** is round-half-to-even everywhere: ``torch.round`` / ``numpy.rint``, and the engine's
  ``std::nearbyint`` under the default FP rounding mode (the same mode x86 ``cvtps2dq`` and NEON
  ``fcvtns`` use).

Gradients: straight-through estimator. For weights the gradient of ``W'`` flows to ``W`` unchanged
(and through the pruning mask, which sits before the fake quant in the parametrization chain, so
pruned weights still get none); for activations it flows where ``lo <= x <= hi`` and is zero where the
value was clipped.

Ranges come from observers: :func:`prepare_qat` runs calibration batches through the model (eval
mode) and records min/max of each quantized layer's input; ``observer = "minmax"`` keeps the
calibrated range fixed, ``"ema"`` keeps tracking an exponential moving average of the per-batch
min/max while training (PyTorch's ``MovingAverageMinMaxObserver`` rule). In eval mode ranges are
frozen.

Used by the spiral loop's quantization-aware final round (``SpiralConfig.quantize = "int8"``); also
usable on its own: ``prepare_qat(model, batches)``, train, evaluate, ``strip_fake_quant(model)``.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize

from spiralkit.compress import batches as B
from spiralkit.compress.masks import WeightMask, _own_class, get_mask, set_mask

__all__ = ["OBSERVERS", "ActivationFakeQuant", "WeightFakeQuant", "activation_qparams", "enable_fake_quant",
           "fake_quant_activation", "fake_quant_weight", "is_prepared", "prepare_qat", "quantized_layers",
           "strip_fake_quant", "weight_scales"]

OBSERVERS = ("minmax", "ema")
QUANTIZED = (nn.Linear, nn.Conv2d)
W_MAX = 127  # symmetric int8 weights: [-127, 127]


# ------------------------------------------------------------------------------ the arithmetic


def weight_scales(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel scales ``max|W[n]| / 127`` (shape ``[N]``); an all-zero row gets 1 (its
    values quantize to 0 whatever the scale)."""
    amax = w.detach().reshape(w.shape[0], -1).abs().amax(dim=1)
    return torch.where(amax > 0, amax / W_MAX, torch.ones_like(amax))


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """``W' = clamp(rint(W / s), -127, 127) * s`` per output channel, with the straight-through
    gradient. ``W`` is ``[N, ...]`` (Linear ``[N, K]``, Conv2d ``[N, C/g, kh, kw]``)."""
    s = weight_scales(w).reshape(-1, *([1] * (w.dim() - 1)))
    q = torch.clamp(torch.round(w.detach() / s), -W_MAX, W_MAX) * s
    return w + (q - w).detach()


def activation_qparams(lo: torch.Tensor | float, hi: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, zero_point)`` of the uint8 affine quantization of ``[lo, hi]`` (widened to contain 0).
    Scalars as float32 tensors; an empty range (``lo == hi == 0``) gets scale 1, zero point 0."""
    lo = torch.clamp(torch.as_tensor(lo, dtype=torch.float32), max=0.0)
    hi = torch.clamp(torch.as_tensor(hi, dtype=torch.float32), min=0.0)
    span = hi - lo
    scale = torch.where(span > 0, span / 255.0, torch.ones_like(span))
    zp = torch.clamp(torch.round(-lo / scale), 0, 255)
    return scale, zp


def fake_quant_activation(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor) -> torch.Tensor:
    """``(clamp(rint(x * (1/scale)) + zp, 0, 255) - zp) * scale`` in float32, straight-through where
    ``x`` is inside the representable range, zero gradient where it was clipped."""
    inv = (1.0 / scale).to(torch.float32)
    q = torch.clamp(torch.round(x.detach().to(torch.float32) * inv) + zero_point, 0, 255)
    y = ((q - zero_point) * scale).to(x.dtype)
    lo_f, hi_f = (-zero_point * scale).to(x.dtype), ((255 - zero_point) * scale).to(x.dtype)
    xc = torch.minimum(torch.maximum(x, lo_f), hi_f)  # gradient 1 inside, 0 outside
    return xc + (y - xc).detach()


# ------------------------------------------------------------------------------ the modules


class WeightFakeQuant(nn.Module):
    """A ``weight`` parametrization: ``weight = fake_quant_weight(weight before it)`` inside the
    layer's forward. Registered after the pruning mask (``masks.WeightMask``), so it quantizes the
    masked weight.

    Outside a forward ``module.weight`` reads the fp32 (masked) master weight: what checkpoints,
    size reports and ``spiralkit.pack`` see. Quantization can round a kept weight to 0, which a
    block pattern's packer would refuse as a partly-zero block; the engine packs the fp32 pattern
    and quantizes after, so nothing is lost."""

    def __init__(self):
        super().__init__()
        self.enabled = True
        self.in_forward = False

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quant_weight(w) if self.enabled and self.in_forward else w


def _weight_fq(module: nn.Module) -> "WeightFakeQuant | None":
    if parametrize.is_parametrized(module, "weight"):
        for p in module.parametrizations.weight:
            if isinstance(p, WeightFakeQuant):
                return p
    return None


def _weights_on(module: nn.Module, inputs: tuple):
    _weight_fq(module).in_forward = True


def _weights_off(module: nn.Module, inputs: tuple, output):
    _weight_fq(module).in_forward = False


class ActivationFakeQuant(nn.Module):
    """Observes and fake-quantizes one layer's input; buffers ``lo``/``hi`` hold the range."""

    def __init__(self, observer: str = "ema", momentum: float = 0.01):
        super().__init__()
        if observer not in OBSERVERS:
            raise ValueError(f"observer: expected one of {OBSERVERS}, got {observer!r}")
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum: expected a value in (0, 1], got {momentum}")
        self.observer, self.momentum = observer, momentum
        # Not persistent: a checkpoint of a prepared model is a plain model's state dict (weights
        # already quantized, see masks.plain_state_dict), so it loads into an unprepared model.
        self.register_buffer("lo", torch.zeros(()), persistent=False)
        self.register_buffer("hi", torch.zeros(()), persistent=False)
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool), persistent=False)
        self.calibrating = False
        self.enabled = True

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> None:
        lo, hi = x.detach().min().float(), x.detach().max().float()
        if not bool(self.initialized):
            self.lo.copy_(lo)
            self.hi.copy_(hi)
            self.initialized.fill_(True)
        elif self.calibrating and self.observer == "minmax":
            self.lo.copy_(torch.minimum(self.lo, lo))
            self.hi.copy_(torch.maximum(self.hi, hi))
        else:  # ema: calibration and training alike
            self.lo.mul_(1 - self.momentum).add_(lo * self.momentum)
            self.hi.mul_(1 - self.momentum).add_(hi * self.momentum)

    def qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
        return activation_qparams(self.lo, self.hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating or (self.training and self.observer == "ema"):
            self.observe(x)
        if not self.enabled or self.calibrating:
            return x
        if not bool(self.initialized):
            raise RuntimeError("ActivationFakeQuant: no range observed yet; run prepare_qat with calibration data")
        scale, zp = self.qparams()
        return fake_quant_activation(x, scale.to(x.device), zp.to(x.device))


def _quantize_input(module: nn.Module, inputs: tuple):
    # A module-level function (not a closure), so deep copies and pickles of the model keep working.
    return (module.input_fake_quant(inputs[0]),) + tuple(inputs[1:])


# ------------------------------------------------------------------------------ model-level API


def quantized_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers fake quantization acts on: every ``nn.Linear`` and ``nn.Conv2d`` (the ops the int8
    engine runs in int8; depthwise convolutions included)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, QUANTIZED)}


def is_prepared(model: nn.Module) -> bool:
    return any(isinstance(m, ActivationFakeQuant) for m in model.modules())


@torch.no_grad()
def _calibrate(model: nn.Module, data: Iterable, max_batches: int) -> int:
    # Ranges are taken on the fp32 model (weights unquantized too), as ONNX Runtime's and the
    # engine's static calibration do.
    fqs = [m for m in model.modules() if isinstance(m, ActivationFakeQuant)]
    wqs = [m for m in model.modules() if isinstance(m, WeightFakeQuant)]
    was = model.training
    model.eval()
    for fq in fqs:
        fq.calibrating = True
    for wq in wqs:
        wq.enabled = False
    device = B.device_of(model)
    seen = 0
    try:
        for batch in data:
            if seen >= max_batches:
                break
            B.call(model, B.to_device(B.split_batch(batch)[0], device))
            seen += 1
    finally:
        for fq in fqs:
            fq.calibrating = False
        for wq in wqs:
            wq.enabled = True
        model.train(was)
    return seen


def prepare_qat(model: nn.Module, calibration: Iterable, *, observer: str = "ema", momentum: float = 0.01,
                calibration_batches: int = 8, activations: bool = True) -> nn.Module:
    """Put int8 fake quantization on every Linear/Conv2d of ``model`` (in place) and calibrate the
    activation ranges on up to ``calibration_batches`` batches of ``calibration`` (batches as
    ``spiralkit.compress`` takes them: ``(inputs, labels)`` or ``inputs``). ``activations=False``
    quantizes weights only. Returns ``model``."""
    if observer not in OBSERVERS:
        raise ValueError(f"observer: expected one of {OBSERVERS}, got {observer!r}")
    if calibration_batches < 1:
        raise ValueError(f"calibration_batches: expected >= 1, got {calibration_batches}")
    if is_prepared(model) or any(isinstance(m, WeightFakeQuant) for m in model.modules()):
        raise ValueError("model: already prepared for quantization-aware training")
    layers = quantized_layers(model)
    if not layers:
        raise ValueError("model: has no nn.Linear or nn.Conv2d to quantize")
    device = B.device_of(model)
    for m in layers.values():
        if get_mask(m) is None:
            # An all-ones mask first: the checkpoint and size code (masks.plain_state_dict,
            # metrics.count_params) read a parametrized weight through its mask.
            set_mask(m, torch.ones_like(m.weight, dtype=torch.bool))
            m.parametrizations.weight[0].added_for_qat = True
        parametrize.register_parametrization(m, "weight", WeightFakeQuant(), unsafe=True)
        m.register_forward_pre_hook(_weights_on)
        m.register_forward_hook(_weights_off)
        if activations:
            m.input_fake_quant = ActivationFakeQuant(observer, momentum).to(device)
            m.register_forward_pre_hook(_quantize_input)
    if activations and _calibrate(model, calibration, calibration_batches) == 0:
        raise ValueError("calibration: no batches")
    return model


def enable_fake_quant(model: nn.Module, enabled: bool = True) -> None:
    """Switch every fake quantizer on or off (off: the same weights in fp32, for comparison)."""
    for m in model.modules():
        if isinstance(m, (WeightFakeQuant, ActivationFakeQuant)):
            m.enabled = enabled


class _FakeQuantOff:
    """``with fake_quant_off(model):`` evaluates the fp32 model under the quantized weights."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self):
        enable_fake_quant(self.model, False)
        return self.model

    def __exit__(self, *exc):
        enable_fake_quant(self.model, True)
        return False


fake_quant_off = _FakeQuantOff


@torch.no_grad()
def strip_fake_quant(model: nn.Module) -> dict[str, tuple[float, float]]:
    """Remove fake quantization (in place): each weight keeps its quantized values (``q * s``, exactly
    what the int8 engine reproduces from it) under any pruning mask; the activation observers go.
    Returns ``{layer name: (lo, hi)}``, the calibrated input ranges."""
    ranges = {}
    for name, m in quantized_layers(model).items():
        if parametrize.is_parametrized(m, "weight") and any(
                isinstance(p, WeightFakeQuant) for p in m.parametrizations.weight):
            wq = _weight_fq(m)
            wq.in_forward, enabled, wq.enabled = True, wq.enabled, True
            baked = m.weight.detach().clone()  # masked, then quantized: pruned ones are 0
            wq.in_forward, wq.enabled = False, enabled
            masks = [p for p in m.parametrizations.weight
                     if isinstance(p, WeightMask) and not getattr(p, "added_for_qat", False)]
            _own_class(m)  # a deep copy shares the parametrized class; keep the copy's intact
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
            m.weight.data.copy_(baked)
            for p in masks:  # the pruning mask again (idempotent on the baked values)
                parametrize.register_parametrization(m, "weight", p)
        fq = getattr(m, "input_fake_quant", None)
        if isinstance(fq, ActivationFakeQuant):
            ranges[name] = (float(fq.lo), float(fq.hi))
            del m.input_fake_quant
        for hooks, fn in ((m._forward_pre_hooks, _quantize_input), (m._forward_pre_hooks, _weights_on),
                          (m._forward_hooks, _weights_off)):
            for key in [k for k, h in hooks.items() if h is fn]:
                del hooks[key]
    return ranges


# ------------------------------------------------------------------------------ the spiral's QAT round


def begin_qat_round(model: nn.Module, train_data, config) -> None:
    """Start the quantization-aware final round: fake quantization on ``model`` (already pruned to
    the round's sparsity), ranges calibrated on ``train_data``. ``config``: a
    ``spiralkit.compress.config.QuantizeConfig``."""
    prepare_qat(model, train_data, observer=config.observer, momentum=config.ema_momentum,
                calibration_batches=config.calibration_batches, activations=config.activations)


def annotate_record(record: dict, model: nn.Module, evaluate, val_data, primary: str, train_data=None,
                    calibration_batches: int = 8) -> dict:
    """Add what the QAT round's table row reports to ``record`` (whose ``metrics`` were measured on
    the fake-quantized model: the int8 accuracy): ``quantize = "int8"``, ``fp32_metrics`` (the same
    weights with fake quantization off) and ``engine_int8`` (the metrics of spiralkit's own int8
    plan, where ``spiralkit.compile`` takes ``quantize=``; else its status and why)."""
    record["quantize"] = "int8"
    with fake_quant_off(model):
        record["fp32_metrics"] = dict(evaluate(model, val_data))
    record["fp32_primary"] = record["fp32_metrics"].get(primary)
    record["engine_int8"] = engine_int8_metrics(model, val_data, train_data, calibration_batches)
    if "accuracy" in record["engine_int8"]:
        record["engine_int8_primary"] = record["engine_int8"]["accuracy"]
    return record


def engine_int8_metrics(model: nn.Module, val_data, calibration_data, calibration_batches: int = 8) -> dict:
    """Classification accuracy of ``spiralkit.compile(<model, fake quant stripped>, quantize="int8",
    calibration=<batches of calibration_data>)`` on labelled ``val_data``, or ``{"status": "skipped",
    "reason": ...}`` where this build's engine has no int8 path (or the data has no labels)."""
    import copy
    import inspect

    import spiralkit

    compile_fn = getattr(spiralkit, "compile", None)
    try:
        params = inspect.signature(compile_fn).parameters if compile_fn is not None else {}
    except (TypeError, ValueError):
        params = {}
    if "quantize" not in params:
        return {"status": "skipped", "reason": "spiralkit.compile has no quantize= in this build"}
    if calibration_data is None:
        return {"status": "skipped", "reason": "no calibration data"}
    plain = copy.deepcopy(model).cpu().eval()
    strip_fake_quant(plain)
    from spiralkit.compress.masks import strip_masks

    strip_masks(plain)
    calib = []
    for batch in calibration_data:
        if len(calib) >= calibration_batches:
            break
        x = B.split_batch(batch)[0]
        if not isinstance(x, torch.Tensor):
            return {"status": "skipped", "reason": "engine evaluation takes single-tensor inputs only"}
        calib.append(x.detach().cpu().numpy())
    try:
        engine = compile_fn(plain, calib[0], quantize="int8", calibration=calib)
    except Exception as exc:  # noqa: BLE001 - report the engine's refusal in the record, keep the round
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    correct = total = 0
    for batch in val_data:
        x, y = B.split_batch(batch)
        if y is None or not isinstance(x, torch.Tensor):
            return {"status": "skipped", "reason": "engine accuracy needs (tensor, labels) batches"}
        out = engine.run(x.detach().cpu().numpy())
        out = out[0] if isinstance(out, (list, tuple)) else out
        import numpy as np

        pred = np.asarray(out).argmax(-1)
        correct += int((pred == y.cpu().numpy()).sum())
        total += int(y.numel())
    return {"status": "ok", "accuracy": correct / max(1, total)}


def table_columns(records: list[dict], primary: str = "accuracy") -> list[tuple[str, str, str]]:
    """Extra round-table columns when a round was quantization-aware (none otherwise)."""
    if not any(r.get("quantize") for r in records):
        return []
    return [("quantize", "dtype", "{}"), ("fp32_primary", f"fp32 {primary}", "{:.4f}"),
            ("engine_int8_primary", f"engine int8 {primary}", "{:.4f}")]
