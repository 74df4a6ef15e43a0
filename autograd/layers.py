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


# ---------------------------------------------------------------------------- neural-network layers

import threading

__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Embedding", "LayerNorm", "BatchNorm",
            "Dropout", "Sequential"]

# Lazy layers make their parameters at the first call; two threads making the first
# call together must not both draw them.
_lazy_lock = threading.RLock()


def _pair_of(value, what, low):
    """An int or an (h, w) pair of ints, each >= low, as a tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise TypeError(f"{what} must be an int or an (h, w) pair of ints, got {value!r}")
    if min(items) < low:
        raise ValueError(f"{what} must be {'positive' if low else 'non-negative'}, got {value!r}")
    return int(items[0]), int(items[1])


def _float_dtype(dtype, what):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{what}: dtype must be float32 or float64, got {dt}")
    return dt


def _number(value, what, lo, hi, hi_open=False):
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not (lo <= value and (value < hi if hi_open else value <= hi)):
        raise ValueError(f"{what} must be in [{lo}, {hi}{')' if hi_open else ']'}, got {value!r}")
    return float(value)


def _set_buffer(layer, name, array):
    """Keep ``array`` on ``layer`` as a buffer (state that is not learnt), registered
    when the Layer base knows buffers."""
    register = getattr(layer, "register_buffer", None)
    if register is not None:
        register(name, array)
    else:
        object.__setattr__(layer, name, array)


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

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, pad: Any = 0,
                 in_channels: Optional[int] = None, bias: bool = True, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.out_channels = _positive(out_channels, "Conv2d: out_channels")
        self.kernel_size = _pair_of(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = _pair_of(stride, "Conv2d: stride", 1)
        self.pad = _pair_of(pad, "Conv2d: pad", 0)
        self._in_channels = None if in_channels is None else _positive(in_channels,
                                                                       "Conv2d: in_channels")
        self.rng = _rng_check(rng, "Conv2d")
        self.dtype = _float_dtype(dtype, "Conv2d")
        self.declare("w")
        self.b = Parameter(np.zeros(self.out_channels, dtype=self.dtype), name="b") if bias else None
        if self._in_channels is not None:
            self._init_w(self._in_channels)

    @property
    def in_channels(self) -> Optional[int]:
        """Input channels: given, or learnt at the first call (None before it)."""
        return self.w.shape[1] if self.w is not None else self._in_channels

    def _init_w(self, in_channels):
        kh, kw = self.kernel_size
        fan_in = in_channels * kh * kw
        source = np.random if self.rng is None else self.rng
        w = np.asarray(source.standard_normal((self.out_channels, in_channels, kh, kw)),
                       dtype=np.float64) * math.sqrt(2.0 / fan_in)
        self.w = Parameter(w.astype(self.dtype, copy=False), name="w")

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) != 4:
            raise ValueError(f"Conv2d: the input must have shape (N, C, H, W), got {shape}")
        if self.w is None:
            with _lazy_lock:
                if self.w is None:
                    self._init_w(shape[1])
        if shape[1] != self.w.shape[1]:
            raise ValueError(f"Conv2d: the input has {shape[1]} channels, the layer expects "
                             f"in_channels={self.w.shape[1]}")
        return F.conv2d(x, self.w, self.b, self.stride, self.pad)


class MaxPool2d(Layer):
    """Max pooling, ``F.max_pool2d(x, kernel, stride, pad)``; ``stride`` defaults to the kernel."""

    def __init__(self, kernel: Any, stride: Any = None, pad: Any = 0) -> None:
        super().__init__()
        self.kernel = _pair_of(kernel, "MaxPool2d: kernel", 1)
        self.stride = self.kernel if stride is None else _pair_of(stride, "MaxPool2d: stride", 1)
        self.pad = _pair_of(pad, "MaxPool2d: pad", 0)
        if 2 * self.pad[0] > self.kernel[0] or 2 * self.pad[1] > self.kernel[1]:
            raise ValueError(f"MaxPool2d: pad {self.pad} must be at most half the kernel {self.kernel}")

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
            raise ValueError(f"AvgPool2d: pad {self.pad} must be at most half the kernel {self.kernel}")

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel, self.stride, self.pad)


class Flatten(Layer):
    """Keep the first ``start_axis`` dimensions and flatten the rest into one:
    (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        if not isinstance(start_axis, (int, np.integer)) or isinstance(start_axis, bool) \
                or start_axis < 0:
            raise ValueError(f"Flatten: start_axis must be a non-negative int, got {start_axis!r}")
        self.start_axis = int(start_axis)

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) < self.start_axis:
            raise ValueError(f"Flatten: the input of shape {shape} has fewer than "
                             f"start_axis={self.start_axis} dimensions")
        size = int(np.prod(shape[self.start_axis:], dtype=np.int64))
        return F.reshape(x, tuple(shape[:self.start_axis]) + (size,))


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
        if tuple(shape[len(shape) - k:]) != self.dim or len(shape) < k:
            raise ValueError(f"LayerNorm: the input of shape {shape} does not end with the "
                             f"normalised shape {self.dim}")
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

    def __init__(self, dim: Optional[int] = None, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.momentum = _number(momentum, "BatchNorm: momentum", 0.0, 1.0)
        if not (isinstance(eps, (int, float, np.floating)) and eps > 0):
            raise ValueError(f"BatchNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        self.dtype = _float_dtype(dtype, "BatchNorm")
        self.dim = None if dim is None else _positive(dim, "BatchNorm: dim")
        self.declare("gamma")
        self.declare("beta")
        if self.dim is not None:
            self._init(self.dim)
        else:
            object.__setattr__(self, "running_mean", None)
            object.__setattr__(self, "running_var", None)

    def _init(self, dim):
        self.dim = dim
        self.gamma = Parameter(np.ones(dim, dtype=self.dtype), name="gamma")
        self.beta = Parameter(np.zeros(dim, dtype=self.dtype), name="beta")
        _set_buffer(self, "running_mean", np.zeros(dim, dtype=self.dtype))
        _set_buffer(self, "running_var", np.ones(dim, dtype=self.dtype))

    def forward(self, x):
        shape = _shape_of(x)
        if len(shape) < 2:
            raise ValueError(f"BatchNorm: the input must have shape (N, C, ...), got {shape}")
        if self.gamma is None:
            with _lazy_lock:
                if self.gamma is None:
                    self._init(shape[1])
        if shape[1] != self.gamma.shape[0]:
            raise ValueError(f"BatchNorm: the input has {shape[1]} channels, the layer expects "
                             f"dim={self.gamma.shape[0]}")
        return F.batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var,
                            self.momentum, self.eps)


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
