"""Shape arithmetic with a symbolic batch: a dim that depends on the batch is ``Sym(coef, off)``
(= coef * batch + off). Shape subgraphs torch's exporter emits (Shape -> Gather -> Concat ->
Reshape) evaluate on numpy object arrays of ints and Syms, so they fold away at compile time and
the engine sees a Reshape whose batch-dependent dim is -1."""

from __future__ import annotations

import numpy as np


class Sym:
    __slots__ = ("coef", "off")

    def __init__(self, coef: int, off: int = 0):
        self.coef, self.off = int(coef), int(off)

    def _lift(self, o):
        return o if isinstance(o, Sym) else Sym(0, int(o))

    @staticmethod
    def make(coef, off):
        return int(off) if coef == 0 else Sym(coef, off)

    def __add__(self, o):
        o = self._lift(o)
        return Sym.make(self.coef + o.coef, self.off + o.off)

    __radd__ = __add__

    def __sub__(self, o):
        o = self._lift(o)
        return Sym.make(self.coef - o.coef, self.off - o.off)

    def __rsub__(self, o):
        return self._lift(o) - self

    def __mul__(self, o):
        if isinstance(o, Sym):
            if o.coef and self.coef:
                raise NotImplementedError("product of two batch-dependent dims")
            return self * o.off if not o.coef else o * self.off
        return Sym.make(self.coef * int(o), self.off * int(o))

    __rmul__ = __mul__

    def __floordiv__(self, o):
        if isinstance(o, Sym) or self.coef % int(o) or self.off % int(o):
            raise NotImplementedError("batch-dependent division")
        return Sym.make(self.coef // int(o), self.off // int(o))

    __truediv__ = __floordiv__

    def __eq__(self, o):
        if isinstance(o, Sym):
            return self.coef == o.coef and self.off == o.off
        return False  # a batch-dependent dim is never a fixed number (batch >= 1 assumed distinct)

    def __ne__(self, o):
        return not self == o

    def __hash__(self):
        return hash((self.coef, self.off))

    def __repr__(self):
        return f"Sym({self.coef}*B{self.off:+d})"


def has_sym(values) -> bool:
    return any(isinstance(v, Sym) for v in np.asarray(values, dtype=object).reshape(-1))


def dims_from_two(d0: tuple, d1: tuple, b0: int) -> tuple:
    """Dims at batch b0 and b0 + 1 -> ints or Syms (dims are affine in the batch)."""
    out = []
    for a, b in zip(d0, d1):
        if a == b:
            out.append(int(a))
        else:
            coef = int(b) - int(a)
            out.append(Sym(coef, int(a) - coef * b0))
    return tuple(out)
