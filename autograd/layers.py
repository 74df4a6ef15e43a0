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
from collections.abc import Mapping
from typing import Any

import numpy as np

import autograd.functions as F
from autograd._core import ops as _ops
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

    _slots: dict[str, bool]
    _buffers: dict[str, bool]
    _lazy: dict[str, Any]

    def __init__(self) -> None:
        object.__setattr__(self, "_slots", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_lazy", {})

    def __setattr__(self, name, value):
        slots = self.__dict__.get("_slots")
        if slots is None:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() "
                f"before setting attributes"
            )
        buffers = self._buffers
        if isinstance(value, (Parameter, Layer)):
            if self.__dict__.get("_frozen"):  # made after requires_grad_(False)
                if isinstance(value, Parameter):
                    value.requires_grad = False
                else:
                    value.requires_grad_(False)
            slots[name] = True
            buffers.pop(name, None)
            object.__setattr__(self, name, value)
            _changed()
        elif name in buffers:
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a buffer: assign a NumPy array "
                    f"(or None), got {type(value).__name__}"
                )
            object.__setattr__(self, name, value)
        elif name in slots:
            if value is not None:  # None keeps it registered: made later
                del slots[name]
            object.__setattr__(self, name, value)
            _changed()
        else:
            object.__setattr__(self, name, value)

    def declare(self, name: str, shape: tuple | None = None, dtype: Any = None) -> None:
        """Register ``name`` as a parameter that is made later (lazily); None until then.

        ``shape`` (a tuple whose unknown sizes are strings, e.g. ``("in", 4)``) and
        ``dtype`` say what ``load_state_dict`` accepts when it makes the parameter from
        saved values; after making it, it calls ``self._on_made(name)``.
        """
        self._slots[name] = True
        self._buffers.pop(name, None)
        self._lazy[name] = (
            None if shape is None else tuple(shape),
            None if dtype is None else np.dtype(dtype),
        )
        object.__setattr__(self, name, None)
        _changed()

    def register_buffer(self, name: str, array: np.ndarray | None) -> None:
        """Keep ``array`` (a NumPy array, or None until it is made) as the attribute
        ``name``: not learned, but saved and loaded with the parameters (running
        statistics, for example). ``load_state_dict`` writes into it in place."""
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"register_buffer: name must be an identifier, got {name!r}")
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(
                f"register_buffer: {name} must be a NumPy array or None, got {type(array).__name__}"
            )
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

    def params(self) -> dict[str, Parameter]:
        """Every Parameter made so far, by nested name, sorted by name (a new dict).
        A parameter shared by several layers appears once, under its first name."""
        return dict(self._params())

    def parameters(self) -> list[Parameter]:
        """The parameters as a list, in ``params()`` order (a shared one once)."""
        return list(self._params().values())

    def _params(self):
        cached = self.__dict__.get("_params_cache")
        version = _structure[0]  # read before the walk: a change during it rebuilds
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

    def requires_grad_(self, flag: bool = True) -> "Layer":
        """Freeze (``False``) or unfreeze (``True``) every parameter, those a lazy layer
        makes later included: a frozen parameter gets no gradient, and optimizers skip
        it. Returns the layer."""
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: expected a bool, got {type(flag).__name__}")
        object.__setattr__(self, "_frozen", not flag)
        for attr in self._slots:
            value = getattr(self, attr)
            if isinstance(value, Layer):
                value.requires_grad_(flag)
            elif value is not None:
                value.requires_grad = bool(flag)
        return self

    # ------------------------------------------------------------ state: out and in

    def state_dict(self) -> dict[str, np.ndarray]:
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
                f"once on an input (or give the input size) before saving its state"
            )
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
            raise TypeError(
                f"{what}: expected a mapping of names to arrays, got {type(state).__name__}"
            )
        arrays = {}
        for name, value in state.items():
            if not isinstance(name, str):
                raise TypeError(f"{what}: names must be strings, got {name!r}")
            array = value.data if isinstance(value, Variable) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"{what}: {name} has dtype {array.dtype} in {where}, not a number")
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
                raise ValueError(
                    f"{what}: {located}{name} has dtype {dtype.str} in {where}, "
                    f"not in this machine's byte order"
                )
            if current is not None:
                if shape != current.shape:
                    raise ValueError(
                        f"{what}: {located}{name} has shape {_shape_text(shape)} "
                        f"in {where}, {_shape_text(current.shape)} in the model"
                    )
                if dtype != current.dtype:
                    raise ValueError(
                        f"{what}: {located}{name} has dtype {dtype} in {where}, "
                        f"{current.dtype} in the model"
                    )
            elif kind == "param":
                expected_shape, expected_dtype = owner._lazy.get(attr, (None, None))
                if expected_shape is not None and (
                    len(shape) != len(expected_shape)
                    or any(not isinstance(e, str) and e != s for s, e in zip(shape, expected_shape))
                ):
                    raise ValueError(
                        f"{what}: {located}{name} has shape {_shape_text(shape)} "
                        f"in {where}; the layer expects "
                        f"{_shape_text(expected_shape)}"
                    )
                if dtype.kind != "f" or (expected_dtype is not None and dtype != expected_dtype):
                    raise ValueError(
                        f"{what}: {located}{name} has dtype {dtype} in {where}, "
                        f"{expected_dtype or 'a float'} in the model"
                    )
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
                        current[...] = array  # in place: whoever holds it sees it
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
        from autograd.models import Model  # the file format lives with the models

        Model.save(self, path, optimizer=optimizer)  # type: ignore[arg-type]  # needs only a Layer's state

    def load(self, path: Any, optimizer: Any = None) -> None:
        """Read the state saved by ``save``, as ``autograd.models.Model.load``."""
        from autograd.models import Model

        Model.load(self, path, optimizer=optimizer)  # type: ignore[arg-type]  # needs only a Layer's state


def _rng_check(rng, what):
    if rng is not None and not (hasattr(rng, "standard_normal") and hasattr(rng, "random")):
        raise TypeError(
            f"{what}: rng must be a numpy.random.Generator or an ag.random source, "
            f"got {type(rng).__name__}"
        )
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

    def __init__(
        self,
        out_size: int,
        in_size: int | None = None,
        bias: bool = True,
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.out_size = _positive(out_size, "Linear: out_size")
        self.in_size = None if in_size is None else _positive(in_size, "Linear: in_size")
        self.rng = _rng_check(rng, "Linear")
        self.dtype = _float_dtype(dtype, "Linear")
        self.declare("w", shape=("in", self.out_size), dtype=self.dtype)
        self.b = (
            Parameter(np.zeros((1, self.out_size), dtype=self.dtype), name="b") if bias else None
        )
        if self.in_size is not None:
            self._init_w()

    @property
    def W(self) -> Parameter | None:
        """The weight, as API.md spells it; the parameter is named ``w`` (``"linear0.w"``)."""
        return self.w

    def _init_w(self):
        source = np.random if self.rng is None else self.rng
        w = np.asarray(source.standard_normal((self.in_size, self.out_size)), dtype=np.float64)
        self.w = Parameter(
            (w * (1.0 / math.sqrt(self.in_size))).astype(self.dtype, copy=False), name="w"
        )

    def _make_w(self, in_size):
        with _lazy_lock:
            if self.w is None:  # another thread may have made it meanwhile
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
            raise ValueError(
                f"Linear: input of shape {shape} does not fit weights of shape "
                f"{w.shape} (expected {w.shape[0]} features)"
            )
        return F.linear(x, w, self.b)


class RNN(Layer):
    """Elman RNN: ``h = tanh(x2h(x) + h2h(h))``, keeping ``h`` between calls."""

    def __init__(
        self, hidden_size: int, in_size: int | None = None, rng: Any = None, dtype: Any = np.float64
    ) -> None:
        super().__init__()
        hidden_size = _positive(hidden_size, "RNN: hidden_size")
        self.x2h = Linear(hidden_size, in_size=in_size, rng=rng, dtype=dtype)
        self.h2h = Linear(hidden_size, in_size=hidden_size, bias=False, rng=rng, dtype=dtype)
        self.h = None

    def reset_state(self) -> None:
        """Forget the hidden state (start a new sequence)."""
        self.h = None

    def forward(self, x):
        h2h = self.h2h
        if self.h is None:
            h = F.tanh(self.x2h(x))
        elif type(h2h) is Linear and h2h.b is None and h2h.w is not None:
            # the hidden product, the sum and tanh as one operation (ops.rnn_cell: the
            # composed form's arithmetic, one graph node instead of three)
            h = _ops.rnn_cell(self.x2h(x), h2h.w, self.h)
        else:
            h = F.tanh(self.x2h(x) + h2h(self.h))
        self.h = h
        return h


class LSTM(Layer):
    """The seed's LSTM: gates from ``x2f, x2i, x2o, x2u`` (with bias) and
    ``h2f, h2i, h2o, h2u`` (without), keeping ``h`` and ``c`` between calls."""

    def __init__(
        self, hidden_size: int, in_size: int | None = None, rng: Any = None, dtype: Any = np.float64
    ) -> None:
        super().__init__()
        hidden_size = _positive(hidden_size, "LSTM: hidden_size")
        # The seed's order of random draws: h2* at construction, x2* at the first call.
        for gate in "fiou":
            setattr(self, f"x2{gate}", Linear(hidden_size, in_size=in_size, rng=rng, dtype=dtype))
        for gate in "fiou":
            setattr(
                self,
                f"h2{gate}",
                Linear(hidden_size, in_size=hidden_size, bias=False, rng=rng, dtype=dtype),
            )
        self.h = None
        self.c = None

    def reset_state(self) -> None:
        """Forget ``h`` and ``c`` (start a new sequence)."""
        self.h = None
        self.c = None

    def forward(self, x):
        # The seed's step, f = sigmoid(x2f(x) + h2f(h)), i, o alike, u = tanh(...),
        # c = f * c + i * u, h = o * tanh(c), computed as one operation (ops.lstm_cell:
        # the same arithmetic, one graph node, the gates in one compiled pass).
        shape = x.shape if isinstance(x, Variable) else np.shape(x)
        if len(shape) != 2:
            raise ValueError(f"LSTM: the input must have shape (N, in), got {shape}")
        inputs = [getattr(self, f"x2{gate}") for gate in "fiou"]
        wx = [layer.w if layer.w is not None else layer._make_w(shape[-1]) for layer in inputs]
        if shape[-1] != wx[0].shape[0]:
            raise ValueError(
                f"LSTM: input of shape {shape} does not fit weights of shape "
                f"{wx[0].shape} (expected {wx[0].shape[0]} features)"
            )
        b = [layer.b for layer in inputs]
        if self.h is not None and self.h.shape[0] != shape[0]:
            raise ValueError(
                f"LSTM: a batch of {shape[0]} after batches of {self.h.shape[0]}; "
                f"call reset_state() before changing the batch size"
            )
        if self.h is None:
            h, c = _ops.lstm_cell(x, wx, b)
        else:
            wh = [getattr(self, f"h2{gate}").w for gate in "fiou"]
            h, c = _ops.lstm_cell(x, wx, b, wh, self.h, self.c)
        self.h, self.c = h, c
        return h


# ---------------------------------------------------------------------------- neural-network layers

__all__ += [
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Embedding",
    "LayerNorm",
    "BatchNorm",
    "Dropout",
    "Sequential",
]


def _pair_of(value, what, low):
    """An int or an (h, w) pair of ints, each >= low, as a tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items
    ):
        raise TypeError(f"{what} must be an int or an (h, w) pair of ints, got {value!r}")
    if min(items) < low:
        raise ValueError(f"{what} must be {'positive' if low else 'non-negative'}, got {value!r}")
    return int(items[0]), int(items[1])


def _number(value, what, lo, hi, hi_open=False):
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not (lo <= value and (value < hi if hi_open else value <= hi)):
        raise ValueError(f"{what} must be in [{lo}, {hi}{')' if hi_open else ']'}, got {value!r}")
    return float(value)


def _shape_of(x):
    return x.shape if isinstance(x, Variable) else np.shape(x)


class Conv2d(Layer):
    """2-D convolution of (N, C, H, W) inputs, ``F.conv2d(x, w, b, stride, pad)``.

    ``w`` (out_channels, in_channels, kh, kw) is drawn as ``randn * sqrt(2 / fan_in)``
    (He's initialisation for ReLU networks, ``fan_in = in_channels * kh * kw``) at the
    first call, which learns ``in_channels`` from the input (or at once when
    ``in_channels`` is given); ``b`` (out_channels,) zeros.

    >>> import numpy as np
    >>> conv = Conv2d(4, 3, pad=1)
    >>> conv(np.ones((2, 3, 8, 8))).shape, conv.w.shape
    ((2, 4, 8, 8), (4, 3, 3, 3))
    """

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        pad: Any = 0,
        in_channels: int | None = None,
        bias: bool = True,
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.out_channels = _positive(out_channels, "Conv2d: out_channels")
        self.kernel_size = _pair_of(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = _pair_of(stride, "Conv2d: stride", 1)
        self.pad = _pair_of(pad, "Conv2d: pad", 0)
        self._in_channels = (
            None if in_channels is None else _positive(in_channels, "Conv2d: in_channels")
        )
        self.rng = _rng_check(rng, "Conv2d")
        self.dtype = _float_dtype(dtype, "Conv2d")
        kh, kw = self.kernel_size
        self.declare("w", shape=(self.out_channels, "in_channels", kh, kw), dtype=self.dtype)
        self.b = (
            Parameter(np.zeros(self.out_channels, dtype=self.dtype), name="b") if bias else None
        )
        if self._in_channels is not None:
            self._init_w(self._in_channels)

    @property
    def in_channels(self) -> int | None:
        """Input channels: given, or learnt at the first call (None before it)."""
        return self.w.shape[1] if self.w is not None else self._in_channels

    def _init_w(self, in_channels):
        kh, kw = self.kernel_size
        fan_in = in_channels * kh * kw
        source = np.random if self.rng is None else self.rng
        w = np.asarray(
            source.standard_normal((self.out_channels, in_channels, kh, kw)), dtype=np.float64
        ) * math.sqrt(2.0 / fan_in)
        self.w = Parameter(w.astype(self.dtype, copy=False), name="w")

    def _on_made(self, name):
        if name == "w":
            self._in_channels = self.w.shape[1]

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) != 4:
            raise ValueError(f"Conv2d: the input must have shape (N, C, H, W), got {shape}")
        if self.w is None:
            with _lazy_lock:
                if self.w is None:
                    self._init_w(shape[1])
        if shape[1] != self.w.shape[1]:
            raise ValueError(
                f"Conv2d: the input has {shape[1]} channels, the layer expects "
                f"in_channels={self.w.shape[1]}"
            )
        return F.conv2d(x, self.w, self.b, self.stride, self.pad)


class MaxPool2d(Layer):
    """Max pooling, ``F.max_pool2d(x, kernel, stride, pad)``; ``stride`` defaults to the kernel."""

    def __init__(self, kernel: Any, stride: Any = None, pad: Any = 0) -> None:
        super().__init__()
        self.kernel = _pair_of(kernel, "MaxPool2d: kernel", 1)
        self.stride = self.kernel if stride is None else _pair_of(stride, "MaxPool2d: stride", 1)
        self.pad = _pair_of(pad, "MaxPool2d: pad", 0)
        if 2 * self.pad[0] > self.kernel[0] or 2 * self.pad[1] > self.kernel[1]:
            raise ValueError(
                f"MaxPool2d: pad {self.pad} must be at most half the kernel {self.kernel}"
            )

    def forward(self, x):
        return F.max_pool2d(x, self.kernel, self.stride, self.pad)


class AvgPool2d(Layer):
    """Average pooling, ``F.avg_pool2d(x, kernel, stride, pad)`` (padded zeros count)."""

    def __init__(self, kernel: Any, stride: Any = None, pad: Any = 0) -> None:
        super().__init__()
        self.kernel = _pair_of(kernel, "AvgPool2d: kernel", 1)
        self.stride = self.kernel if stride is None else _pair_of(stride, "AvgPool2d: stride", 1)
        self.pad = _pair_of(pad, "AvgPool2d: pad", 0)
        if 2 * self.pad[0] > self.kernel[0] or 2 * self.pad[1] > self.kernel[1]:
            raise ValueError(
                f"AvgPool2d: pad {self.pad} must be at most half the kernel {self.kernel}"
            )

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel, self.stride, self.pad)


class Flatten(Layer):
    """Keep the first ``start_axis`` dimensions and flatten the rest into one:
    (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        if (
            not isinstance(start_axis, (int, np.integer))
            or isinstance(start_axis, bool)
            or start_axis < 0
        ):
            raise ValueError(f"Flatten: start_axis must be a non-negative int, got {start_axis!r}")
        self.start_axis = int(start_axis)

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) < self.start_axis:
            raise ValueError(
                f"Flatten: the input of shape {shape} has fewer than "
                f"start_axis={self.start_axis} dimensions"
            )
        size = int(np.prod(shape[self.start_axis :], dtype=np.int64))
        return F.reshape(x, tuple(shape[: self.start_axis]) + (size,))


class Embedding(Layer):
    """A table of ``num`` learnt vectors of size ``dim``, looked up by integer ids:
    ``F.embedding(ids, w)``; ``w`` (num, dim) drawn from the standard normal (as PyTorch).

    >>> emb = Embedding(10, 4)
    >>> emb([[1, 2, 3]]).shape
    (1, 3, 4)
    """

    def __init__(self, num: int, dim: int, rng: Any = None, dtype: Any = np.float64) -> None:
        super().__init__()
        self.num = _positive(num, "Embedding: num")
        self.dim = _positive(dim, "Embedding: dim")
        rng = _rng_check(rng, "Embedding")
        source = np.random if rng is None else rng
        w = np.asarray(source.standard_normal((self.num, self.dim)), dtype=np.float64)
        self.w = Parameter(w.astype(_float_dtype(dtype, "Embedding"), copy=False), name="w")

    def forward(self, ids):
        return F.embedding(ids, self.w)


class LayerNorm(Layer):
    """Normalise over the last dimension(s), ``F.layer_norm(x, gamma, beta, eps)``:
    ``dim`` an int or a shape (PyTorch's ``normalized_shape``); ``gamma`` ones, ``beta``
    zeros."""

    def __init__(self, dim: Any, eps: float = 1e-5, dtype: Any = np.float64) -> None:
        super().__init__()
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        if not dims:
            raise ValueError("LayerNorm: dim must name at least one dimension")
        self.dim = tuple(_positive(d, "LayerNorm: dim") for d in dims)
        if not (isinstance(eps, (int, float, np.floating)) and eps > 0):
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        dt = _float_dtype(dtype, "LayerNorm")
        self.gamma = Parameter(np.ones(self.dim, dtype=dt), name="gamma")
        self.beta = Parameter(np.zeros(self.dim, dtype=dt), name="beta")

    def forward(self, x):
        shape = _shape_of(x)
        k = len(self.dim)
        if tuple(shape[len(shape) - k :]) != self.dim or len(shape) < k:
            raise ValueError(
                f"LayerNorm: the input of shape {shape} does not end with the "
                f"normalised shape {self.dim}"
            )
        return F.layer_norm(x, self.gamma, self.beta, self.eps)


class BatchNorm(Layer):
    """Batch normalisation over axis 1 of (N, C) or (N, C, H, W) inputs,
    ``F.batch_norm``: ``gamma`` ones, ``beta`` zeros, and the running statistics
    ``running_mean`` (zeros) and ``running_var`` (ones), NumPy arrays kept as buffers,
    updated in place in training and used in test mode (``ag.test_mode()``).
    ``dim`` (the channels) is learnt at the first call when not given.

    >>> import numpy as np
    >>> bn = BatchNorm()
    >>> y = bn(np.array([[1.0, 0.0], [3.0, 0.0]]))
    >>> bn.running_mean.tolist()
    [0.2, 0.0]
    """

    def __init__(
        self,
        dim: int | None = None,
        momentum: float = 0.1,
        eps: float = 1e-5,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.momentum = _number(momentum, "BatchNorm: momentum", 0.0, 1.0)
        if not (isinstance(eps, (int, float, np.floating)) and eps > 0):
            raise ValueError(f"BatchNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        self.dtype = _float_dtype(dtype, "BatchNorm")
        self.dim = None if dim is None else _positive(dim, "BatchNorm: dim")
        self.declare("gamma", shape=("dim",), dtype=self.dtype)
        self.declare("beta", shape=("dim",), dtype=self.dtype)
        self.register_buffer("running_mean", None)
        self.register_buffer("running_var", None)
        if self.dim is not None:
            self._init(self.dim)

    def _init(self, dim):
        self.dim = dim
        self.gamma = Parameter(np.ones(dim, dtype=self.dtype), name="gamma")
        self.beta = Parameter(np.zeros(dim, dtype=self.dtype), name="beta")
        self.running_mean = np.zeros(dim, dtype=self.dtype)
        self.running_var = np.ones(dim, dtype=self.dtype)

    def _on_made(self, name):
        if name == "gamma":
            self.dim = self.gamma.shape[0]

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) < 2:
            raise ValueError(f"BatchNorm: the input must have shape (N, C, ...), got {shape}")
        if self.gamma is None:
            with _lazy_lock:
                if self.gamma is None:
                    self._init(shape[1])
        if shape[1] != self.gamma.shape[0]:
            raise ValueError(
                f"BatchNorm: the input has {shape[1]} channels, the layer expects "
                f"dim={self.gamma.shape[0]}"
            )
        return F.batch_norm(
            x, self.gamma, self.beta, self.running_mean, self.running_var, self.momentum, self.eps
        )


class Dropout(Layer):
    """``F.dropout(x, ratio, rng)``: zeroes elements in training, the identity in test mode."""

    def __init__(self, ratio: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        self.ratio = _number(ratio, "Dropout: ratio", 0.0, 1.0, hi_open=True)
        self.rng = _rng_check(rng, "Dropout")

    def forward(self, x):
        return F.dropout(x, self.ratio, self.rng)


class Sequential(Layer):
    """Layers applied one after the other; any callable (``F.relu``) may stand between.
    The layers are registered as ``"0"``, ``"1"``, ... by position, so parameters are
    named ``"0.w"``, ``"3.b"`` (as PyTorch's ``nn.Sequential``).

    >>> import numpy as np
    >>> import autograd.functions as F
    >>> net = Sequential(Linear(8), F.relu, Linear(2))
    >>> net(np.ones((4, 3))).shape, sorted(net.params())
    ((4, 2), ['0.b', '0.w', '2.b', '2.w'])
    """

    _steps: list[Any]

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_steps", [])
        for layer in layers:
            self.append(layer)

    def append(self, layer: Any) -> "Sequential":
        """Add ``layer`` (a Layer or any callable) at the end; returns self."""
        if not callable(layer):
            raise TypeError(f"Sequential: every step must be a Layer or a callable, got {layer!r}")
        index = len(self._steps)
        self._steps.append(layer)
        if isinstance(layer, Layer):
            setattr(self, str(index), layer)
        return self

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, index: int) -> Any:
        return self._steps[index]

    def __iter__(self):
        return iter(self._steps)

    def forward(self, x):
        for step in self._steps:
            x = step(x)
        return x
