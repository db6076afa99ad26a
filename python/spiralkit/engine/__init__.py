"""The inference engine: ``compile`` a model (ONNX file, ``onnx.ModelProto`` or torch module) into
one native plan, ``Engine.save`` it, ``load`` it back with numpy and the wheel alone."""

from spiralkit.engine.compile import compile  # noqa: A001 - the public verb
from spiralkit.engine.engine import Engine, load

__all__ = ["Engine", "compile", "load"]
