"""Layers: ``Linear``, ``RNN``, ``LSTM``, and the ``Layer`` base they share.

A layer owns Parameters, buffers and other layers; assigning a Parameter or a
layer to an attribute registers it, so ``params()`` finds them with stable nested
names (``"x2f.w"``, ``"lstm.x2f.w"``), sorted by name. Call a layer as ``layer(x)``.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.layers as L
>>> fc = L.Linear(3, rng=ag.random.const())
>>> y = fc(np.ones((2, 4)))
>>> y.shape, sorted(fc.params())
((2, 3), ['b', 'w'])
>>> sorted(fc.state_dict())
['b', 'w']
"""
import itertools
import math
import re
import threading
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

import autograd.functions as F
from autograd.variable import Variable

__all__ = ["Parameter", "Layer", "Linear", "RNN", "LSTM"]


_LEGACY_LINEAR = re.compile(r"(^|\.)linear([0-9]+)(?=\.)")

class Parameter(Variable):
    """A Variable that a layer learns: assigning one to a layer's attribute registers it."""

    # weakly referable, so that an optimizer's state for a parameter dies with it
    __slots__ = ("__weakref__",)


# The structure version: a new number whenever any layer registers, replaces or drops a
# parameter or sub-layer, so that params() can keep its sorted dict between calls (a
# training loop asks for it twice a step) and rebuild it only when the structure may
# have changed. next() on a count is atomic, so concurrent changes never share a number.
_structure = [0]
_versions = itertools.count(1)


def _changed():
    _structure[0] = next(_versions)


# Lazy parameters are made under one lock: threads calling a fresh model at once make
# each parameter once, from the random draws one thread would make, and never replace it.
_lazy_lock = threading.RLock()


def _shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


class Layer:
    """Base of layers and models: registers Parameters and sub-layers set as attributes,
    and NumPy buffers given to ``register_buffer``.

    ``params()`` and ``parameters()`` list the parameters (a parameter shared by two
    layers once, under its first name); ``state_dict()`` and ``load_state_dict()`` copy
    parameters and buffers out and in by name.
    """

    _slots: Dict[str, bool]

    def __init__(self) -> None:
        object.__setattr__(self, "_slots", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_lazy", {})

    def __setattr__(self, name, value):
        slots = self.__dict__.get("_slots")
        if slots is None:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before setting attributes")
        buffers = self._buffers
        if isinstance(value, (Parameter, Layer)):
            slots[name] = True
            buffers.pop(name, None)
            object.__setattr__(self, name, value)
            _changed()
        elif name in buffers:
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(f"{type(self).__name__}.{name} is a buffer: assign a NumPy array "
                                f"(or None), got {type(value).__name__}")
            object.__setattr__(self, name, value)
        elif name in slots:
            if value is not None:               # None keeps it registered: made later
                del slots[name]
            object.__setattr__(self, name, value)
            _changed()
        else:
            object.__setattr__(self, name, value)

    def declare(self, name: str, shape: Optional[tuple] = None, dtype: Any = None) -> None:
        """Register ``name`` as a parameter that is made later (lazily); None until then.

        ``shape`` (a tuple whose unknown sizes are strings, e.g. ``("in", 4)``) and
        ``dtype`` say what ``load_state_dict`` accepts when it makes the parameter from
        saved values; after making it, it calls ``self._on_made(name)``.
        """
        self._slots[name] = True
        self._buffers.pop(name, None)
        self._lazy[name] = (None if shape is None else tuple(shape),
                            None if dtype is None else np.dtype(dtype))
        object.__setattr__(self, name, None)
        _changed()

    def register_buffer(self, name: str, array: Optional[np.ndarray]) -> None:
        """Keep ``array`` (a NumPy array, or None until it is made) as the attribute
        ``name``: not learned, but saved and loaded with the parameters (running
        statistics, for example). ``load_state_dict`` writes into it in place."""
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"register_buffer: name must be an identifier, got {name!r}")
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(f"register_buffer: {name} must be a NumPy array or None, "
                            f"got {type(array).__name__}")
        if self._slots.pop(name, None) is not None:
            _changed()
        self._buffers[name] = True
        object.__setattr__(self, name, array)

    def _on_made(self, name: str) -> None:
        """Called after ``load_state_dict`` made the lazy parameter ``name``."""

    def __delattr__(self, name):
        self._slots.pop(name, None)
        self._buffers.pop(name, None)
        object.__delattr__(self, name)
        _changed()

    def __call__(self, *xs: Any) -> Any:
        return self.forward(*xs)

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not written")

    # ------------------------------------------------------------ what a layer holds

    def _entries(self, prefix=""):
        """(name, owner, attribute, value) for every registered slot, parameters made or not."""
        for attr in self._slots:
            value = getattr(self, attr)
            name = prefix + attr
            if isinstance(value, Layer):
                yield from value._entries(name + ".")
            else:
                yield name, self, attr, value

    def _buffer_entries(self, prefix=""):
        """(name, owner, attribute, array or None) for every buffer, sub-layers' included."""
        for attr in self._buffers:
            yield prefix + attr, self, attr, getattr(self, attr)
        for attr in self._slots:
            value = getattr(self, attr)
            if isinstance(value, Layer):
                yield from value._buffer_entries(prefix + attr + ".")

    def params(self) -> Dict[str, Parameter]:
        """Every Parameter made so far, by nested name, sorted by name (a new dict).
        A parameter shared by several layers appears once, under its first name."""
        return dict(self._params())

    def parameters(self) -> List[Parameter]:
        """The parameters as a list, in ``params()`` order (a shared one once)."""
        return list(self._params().values())

    def _params(self):
        cached = self.__dict__.get("_params_cache")
        version = _structure[0]          # read before the walk: a change during it rebuilds
        if cached is not None and cached[0] == version:
            return cached[1]
        found = {name: p for name, _, _, p in self._entries() if p is not None}
        result = {}
        seen = set()
        for name in sorted(found):
            p = found[name]
            if id(p) not in seen:
                seen.add(id(p))
                result[name] = p
        object.__setattr__(self, "_params_cache", (version, result))
        return result

    def cleargrads(self) -> None:
        """Forget the gradient of every parameter."""
        for p in self._params().values():
            p.cleargrad()

    # ------------------------------------------------------------ state: out and in

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by nested name, sorted by name.

        A lazy layer that has not been called yet has no weights to give: that is a
        ``ValueError`` saying so.
        """
        return self._state("state_dict")

    def _state(self, what):
        not_made = [name for name, _, _, v in self._entries() if v is None]
        not_made += [name for name, _, _, v in self._buffer_entries() if v is None]
        if not_made:
            raise ValueError(
                f"{what}: {type(self).__name__} has parameters that are not made yet: "
                f"{sorted(not_made)}; a lazy layer makes them at its first call, so call it "
                f"once on an input (or give the input size) before saving its state")
        out = {name: p.data.copy() for name, p in self._params().items()}
        seen = {id(p) for p in self._params().values()}
        for name, _, _, array in self._buffer_entries():
            if id(array) not in seen:
                seen.add(id(array))
                out[name] = np.array(array, copy=True)
        return {name: out[name] for name in sorted(out)}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy the arrays of ``state`` (name -> array, as ``state_dict`` gives) into the
        parameters and buffers of those names; lazy parameters not made yet are made
        with the given shapes.

        Everything is checked before anything changes: names (with ``strict``, the
        names must be exactly this layer's), shapes and dtypes; a mismatch is a
        ``ValueError`` naming it, and the layer is left as it was.
        """
        self._load_state(state, strict, "load_state_dict", "the state dict", "the state dict")

    def _load_state(self, state, strict, what, source, where):
        if not isinstance(state, Mapping):
            raise TypeError(f"{what}: expected a mapping of names to arrays, "
                            f"got {type(state).__name__}")
        arrays = {}
        for name, value in state.items():
            if not isinstance(name, str):
                raise TypeError(f"{what}: names must be strings, got {name!r}")
            array = value.data if isinstance(value, Variable) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"{what}: {name} has dtype {array.dtype} in {where}, "
                                 f"not a number")
            arrays[name] = array
        spec = {name: (a.shape, a.dtype) for name, a in arrays.items()}
        plan = self._check_state(spec, strict, what, source, where)
        self._assign_state(arrays, plan)

    def _check_state(self, spec, strict, what, source, where, located=""):
        """Check ``spec`` (name -> (shape, dtype)) against this layer before reading any
        data; return the plan ``_assign_state`` follows. Raises ValueError on a mismatch,
        naming the entry after ``located`` (the file's path, for ``load``)."""
        known = {}
        for name, owner, attr, value in self._entries():
            known[name] = ("param", owner, attr, value)
        required = set(self._params())
        required.update(name for name, (_, _, _, v) in known.items() if v is None)
        for name, owner, attr, value in self._buffer_entries():
            known[name] = ("buffer", owner, attr, value)
            required.add(name)
        # names saved by version 0.1 ("linear0.w" for the seed's "linear[0].w") still load
        saved_as = {}
        for name in list(spec):
            new = _LEGACY_LINEAR.sub(r"\1linear[\2]", name)
            if name not in known and new in known and new not in spec:
                spec = {(new if k == name else k): v for k, v in spec.items()}
                saved_as[new] = name
        unknown = sorted(set(spec) - set(known))
        if unknown and strict:
            raise ValueError(f"{what}: {source} has entries this model does not: {unknown}")
        missing = sorted(required - set(spec))
        if missing and strict:
            raise ValueError(f"{what}: {source} lacks parameters of this model: {missing}")
        plan = []
        for name in sorted(set(spec) & set(known)):
            shape, dtype = tuple(spec[name][0]), np.dtype(spec[name][1])
            kind, owner, attr, current = known[name]
            if not dtype.isnative:
                raise ValueError(f"{what}: {located}{name} has dtype {dtype.str} in {where}, "
                                 f"not in this machine's byte order")
            if current is not None:
                if shape != current.shape:
                    raise ValueError(f"{what}: {located}{name} has shape {_shape_text(shape)} "
                                     f"in {where}, {_shape_text(current.shape)} in the model")
                if dtype != current.dtype:
                    raise ValueError(f"{what}: {located}{name} has dtype {dtype} in {where}, "
                                     f"{current.dtype} in the model")
            elif kind == "param":
                expected_shape, expected_dtype = owner._lazy.get(attr, (None, None))
                if expected_shape is not None and (
                        len(shape) != len(expected_shape)
                        or any(not isinstance(e, str) and e != s
                               for s, e in zip(shape, expected_shape))):
                    raise ValueError(f"{what}: {located}{name} has shape {_shape_text(shape)} "
                                     f"in {where}; the layer expects "
                                     f"{_shape_text(expected_shape)}")
                if dtype.kind != "f" or (expected_dtype is not None and dtype != expected_dtype):
                    raise ValueError(f"{what}: {located}{name} has dtype {dtype} in {where}, "
                                     f"{expected_dtype or 'a float'} in the model")
            plan.append((saved_as.get(name, name), kind, owner, attr))
        return plan

    @staticmethod
    def _assign_state(arrays, plan):
        with _lazy_lock:
            for name, kind, owner, attr in plan:
                array = arrays[name]
                current = getattr(owner, attr)
                if kind == "buffer":
                    if current is not None and current.shape == array.shape:
                        current[...] = array          # in place: whoever holds it sees it
                    else:
                        object.__setattr__(owner, attr, np.array(array, copy=True))
                elif current is not None:
                    current.data = np.array(array, copy=True)
                    current.cleargrad()
                else:
                    setattr(owner, attr, Parameter(np.array(array, copy=True), name=attr))
                    owner._on_made(attr)

    def save(self, path: Any, optimizer: Any = None) -> None:
        """Write the state to ``path`` (an ``.npz``), as ``autograd.models.Model.save``."""
        from autograd.models import Model     # the file format lives with the models
        Model.save(self, path, optimizer=optimizer)

    def load(self, path: Any, optimizer: Any = None) -> None:
        """Read the state saved by ``save``, as ``autograd.models.Model.load``."""
        from autograd.models import Model
        Model.load(self, path, optimizer=optimizer)


def _rng_check(rng, what):
    if rng is not None and not (hasattr(rng, "standard_normal") and hasattr(rng, "random")):
        raise TypeError(f"{what}: rng must be a numpy.random.Generator or an ag.random source, "
                        f"got {type(rng).__name__}")
    return rng


def _float_dtype(dtype, what):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{what}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _positive(n, what):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"{what} must be a positive int, got {type(n).__name__} {n!r}")
    if n <= 0:
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
        self.dtype = _float_dtype(dtype, "Linear")
        self.declare("w", shape=("in", self.out_size), dtype=self.dtype)
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

    def _make_w(self, in_size):
        with _lazy_lock:
            if self.w is None:           # another thread may have made it meanwhile
                if in_size == 0:
                    raise ValueError("Linear: the input has no features (shape (N, 0))")
                self.in_size = in_size
                self._init_w()
            return self.w

    def _on_made(self, name):
        if name == "w":
            self.in_size = self.w.shape[0]

    def forward(self, x):
        # An array input stays an array: F.linear treats it as a constant and computes
        # no gradient for it (wrap it in a Variable to get one).
        shape = x.shape if isinstance(x, Variable) else np.shape(x)
        if len(shape) < 2:
            raise ValueError(f"Linear: the input must have shape (N, in), got {shape}")
        w = self.w
        if w is None:
            w = self._make_w(shape[-1])
        if shape[-1] != w.shape[0]:
            raise ValueError(f"Linear: input of shape {shape} does not fit weights of shape "
                             f"{w.shape} (expected {w.shape[0]} features)")
        return F.linear(x, w, self.b)


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
