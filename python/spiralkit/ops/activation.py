"""Activation names fused into the kernels, and their native codes (kernels/include/.../activation.h)."""

ACTIVATIONS = {None: 0, "relu": 1, "relu6": 2, "gelu": 3, "silu": 4, "sigmoid": 5}


def activation_code(activation) -> int:
    if activation is not None and not isinstance(activation, str):
        raise ValueError(f"activation: expected None or one of {_names()}, got {activation!r}")
    key = activation.lower() if isinstance(activation, str) else None
    if key not in ACTIVATIONS or (key is None and activation is not None):
        raise ValueError(f"activation: expected None or one of {_names()}, got {activation!r}")
    return ACTIVATIONS[key]


def _names() -> str:
    return ", ".join(repr(k) for k in ACTIVATIONS if k is not None)
