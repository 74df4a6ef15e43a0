"""Layers: ``Linear``, ``RNN``, ``LSTM``, and the ``Layer`` base they share.

A layer owns Parameters and other layers; assigning either to an attribute
registers it, so ``params()`` finds them with stable nested names
(``"x2f.w"``, ``"lstm.x2f.w"``), sorted by name. Call a layer as ``layer(x)``.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.layers as L
>>> fc = L.Linear(3, rng=ag.random.const())
>>> y = fc(np.ones((2, 4)))
>>> y.shape, sorted(fc.params())
((2, 3), ['b', 'w'])
"""
import math
from typing import Any, Dict, Optional

import numpy as np

import autograd.functions as F
from autograd.variable import Variable

__all__ = ["Parameter", "Layer", "Linear", "RNN", "LSTM"]


class Parameter(Variable):
    """A Variable that a layer learns: assigning one to a layer's attribute registers it."""

    __slots__ = ()


# Bumped whenever any layer registers, replaces or drops a parameter or sub-layer, so
# that params() can keep its sorted dict between calls (a training loop asks for it
# twice a step) and rebuild it only when the structure may have changed.
_structure = [0]


class Layer:
    """Base of layers and models: registers Parameters and sub-layers set as attributes."""

    _slots: Dict[str, bool]

    def __init__(self) -> None:
        object.__setattr__(self, "_slots", {})

    def __setattr__(self, name, value):
        slots = self.__dict__.get("_slots")
        if slots is None:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before setting attributes")
        if isinstance(value, (Parameter, Layer)):
            slots[name] = True
            _structure[0] += 1
        elif value is None and name in slots:
            _structure[0] += 1          # a lazily created parameter, not made yet
        elif slots.pop(name, None) is not None:
            _structure[0] += 1
        object.__setattr__(self, name, value)

    def declare(self, name: str) -> None:
        """Register ``name`` as a parameter that is made later (lazily); None until then."""
        self._slots[name] = True
        _structure[0] += 1
        object.__setattr__(self, name, None)

    def __delattr__(self, name):
        self._slots.pop(name, None)
        _structure[0] += 1
        object.__delattr__(self, name)

    def __call__(self, *xs: Any) -> Any:
        return self.forward(*xs)

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not written")

    def _entries(self, prefix=""):
        """(name, owner, attribute, value) for every registered slot, parameters made or not."""
        for attr in self._slots:
            value = getattr(self, attr)
            name = prefix + attr
            if isinstance(value, Layer):
                yield from value._entries(name + ".")
            else:
                yield name, self, attr, value

    def params(self) -> Dict[str, Parameter]:
        """Every Parameter made so far, by nested name, sorted by name (a new dict)."""
        return dict(self._params())

    def _params(self):
        cached = self.__dict__.get("_params_cache")
        if cached is not None and cached[0] == _structure[0]:
            return cached[1]
        found = {name: p for name, _, _, p in self._entries() if p is not None}
        result = {name: found[name] for name in sorted(found)}
        object.__setattr__(self, "_params_cache", (_structure[0], result))
        return result

    def cleargrads(self) -> None:
        """Forget the gradient of every parameter."""
        for p in self._params().values():
            p.cleargrad()

    def requires_grad_(self, flag: bool = True) -> "Layer":
        """Freeze (``False``) or unfreeze (``True``) every parameter made so far: a frozen
        parameter gets no gradient, and optimizers skip it. Returns the layer."""
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: expected a bool, got {type(flag).__name__}")
        for p in self._params().values():
            p.requires_grad = bool(flag)
        return self


def _rng_check(rng, what):
    if rng is not None and not (hasattr(rng, "standard_normal") and hasattr(rng, "random")):
        raise TypeError(f"{what}: rng must be a numpy.random.Generator or an ag.random source, "
                        f"got {type(rng).__name__}")
    return rng


def _positive(n, what):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return int(n)


class Linear(Layer):
    """``y = x @ w + b``: ``w`` (in, out) drawn as ``randn * 1/sqrt(in)`` at the first
    call (or at once when ``in_size`` is given); ``b`` (1, out) zeros."""

    def __init__(self, out_size: int, in_size: Optional[int] = None, bias: bool = True,
                 rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.out_size = _positive(out_size, "Linear: out_size")
        self.in_size = None if in_size is None else _positive(in_size, "Linear: in_size")
        self.rng = _rng_check(rng, "Linear")
        self.dtype = np.dtype(dtype)
        self.declare("w")
        self.b = Parameter(np.zeros((1, self.out_size), dtype=self.dtype), name="b") if bias else None
        if self.in_size is not None:
            self._init_w()

    @property
    def W(self) -> Optional[Parameter]:
        """The weight, as API.md spells it; the parameter is named ``w`` (``"linear0.w"``)."""
        return self.w

    def _init_w(self):
        source = np.random if self.rng is None else self.rng
        w = np.asarray(source.standard_normal((self.in_size, self.out_size)), dtype=np.float64)
        self.w = Parameter((w * (1.0 / math.sqrt(self.in_size))).astype(self.dtype, copy=False),
                           name="w")

    def forward(self, x):
        # An array input stays an array: F.linear treats it as a constant and computes
        # no gradient for it (wrap it in a Variable to get one).
        shape = x.shape if isinstance(x, Variable) else np.shape(x)
        if len(shape) < 2:
            raise ValueError(f"Linear: the input must have shape (N, in), got {shape}")
        if self.w is None:
            self.in_size = shape[-1]
            self._init_w()
        elif shape[-1] != self.w.shape[0]:
            raise ValueError(f"Linear: input of shape {shape} does not fit weights of shape "
                             f"{self.w.shape} (expected {self.w.shape[0]} features)")
        return F.linear(x, self.w, self.b)


class RNN(Layer):
    """Elman RNN: ``h = tanh(x2h(x) + h2h(h))``, keeping ``h`` between calls."""

    def __init__(self, hidden_size: int, in_size: Optional[int] = None, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        hidden_size = _positive(hidden_size, "RNN: hidden_size")
        self.x2h = Linear(hidden_size, in_size=in_size, rng=rng, dtype=dtype)
        self.h2h = Linear(hidden_size, in_size=hidden_size, bias=False, rng=rng, dtype=dtype)
        self.h = None

    def reset_state(self) -> None:
        """Forget the hidden state (start a new sequence)."""
        self.h = None

    def forward(self, x):
        if self.h is None:
            h = F.tanh(self.x2h(x))
        else:
            h = F.tanh(self.x2h(x) + self.h2h(self.h))
        self.h = h
        return h


class LSTM(Layer):
    """The seed's LSTM: gates from ``x2f, x2i, x2o, x2u`` (with bias) and
    ``h2f, h2i, h2o, h2u`` (without), keeping ``h`` and ``c`` between calls."""

    def __init__(self, hidden_size: int, in_size: Optional[int] = None, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        hidden_size = _positive(hidden_size, "LSTM: hidden_size")
        # The seed's order of random draws: h2* at construction, x2* at the first call.
        for gate in "fiou":
            setattr(self, f"x2{gate}", Linear(hidden_size, in_size=in_size, rng=rng, dtype=dtype))
        for gate in "fiou":
            setattr(self, f"h2{gate}", Linear(hidden_size, in_size=hidden_size, bias=False,
                                              rng=rng, dtype=dtype))
        self.h = None
        self.c = None

    def reset_state(self) -> None:
        """Forget ``h`` and ``c`` (start a new sequence)."""
        self.h = None
        self.c = None

    def forward(self, x):
        if self.h is None:
            f = F.sigmoid(self.x2f(x))
            i = F.sigmoid(self.x2i(x))
            o = F.sigmoid(self.x2o(x))
            u = F.tanh(self.x2u(x))
        else:
            f = F.sigmoid(self.x2f(x) + self.h2f(self.h))
            i = F.sigmoid(self.x2i(x) + self.h2i(self.h))
            o = F.sigmoid(self.x2o(x) + self.h2o(self.h))
            u = F.tanh(self.x2u(x) + self.h2u(self.h))
        c = i * u if self.c is None else f * self.c + i * u
        h = o * F.tanh(c)
        self.h, self.c = h, c
        return h
