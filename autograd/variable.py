"""``Variable``: a value that remembers the operations applied to it.

The storage (data, grad, creator, generation, name) and the backward walk are
compiled (``autograd._core.graph.Node``); this class adds the Python face:
operators, shape helpers, constructors and printing as the seed prints.
"""

import math
from typing import Any

import numpy as np

from autograd._core import graph as _graph
from autograd._core import ops as _ops

__all__ = [
    "Variable",
    "variable",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "rand",
    "randn",
    "normal",
    "go_format",
]


class Variable(_graph.Node):
    """A node of the graph: ``data`` (a NumPy array), ``grad``, ``creator``, ``name``.

    >>> import autograd as ag
    >>> x = ag.Variable(3.0, name="x")
    >>> y = x * x
    >>> y.backward()
    >>> x.grad
    variable(6)
    """

    __slots__ = ()
    # NumPy on Variables: np.exp(v), ndarray * v, np.sum(v, axis=0)... run the
    # differentiable function of the same name (autograd.functions)
    __array_ufunc__ = _ops.array_ufunc
    __array_function__ = _ops.array_function

    # The operators are the compiled functions themselves, not Python wrappers.
    __add__ = _ops.add
    __radd__ = _ops.radd
    __sub__ = _ops.sub
    __rsub__ = _ops.rsub
    __mul__ = _ops.mul
    __rmul__ = _ops.rmul
    __truediv__ = _ops.div
    __rtruediv__ = _ops.rdiv
    __pow__ = _ops.pow
    __rpow__ = _ops.rpow
    __matmul__ = _ops.matmul
    __rmatmul__ = _ops.rmatmul
    __neg__ = _ops.neg
    __getitem__ = _ops.get_item

    __abs__ = _ops.abs

    def __pos__(self):
        return self

    # Comparisons give NumPy bool arrays (not differentiable); == and != stay identity,
    # so Variables remain hashable and usable as dict keys.
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _plain(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _plain(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _plain(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _plain(other)

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __float__(self) -> float:
        return self.item()

    def __int__(self) -> int:
        return int(self.item())

    # ------------------------------------------------------------------ shape

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, a tuple."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of ``data`` (float64 or float32)."""
        return self.data.dtype

    def __bool__(self) -> bool:
        # as NumPy: the truth of one element; more than one is ambiguous
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a Variable of {self.data.size} elements is "
                f"ambiguous; use (v > 0).any() or .all() on the comparison"
            )
        return bool(self.data.flat[0])

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d variable; use .size or .item()")
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        if dtype is None or dtype == self.data.dtype:
            return self.data.copy() if copy else self.data
        return self.data.astype(dtype)

    def at(self, *index: int) -> float:
        """The element at ``index`` as a float; the first element when no index is given.

        >>> import autograd as ag
        >>> ag.variable(1, 2, 3, 4, 5, 6).reshape(2, 3).at(1, 2)
        6.0
        """
        data = self.data
        if not index:
            if data.size == 0:
                raise IndexError("at(): the variable is empty")
            return float(data.flat[0])
        if len(index) != data.ndim:
            raise IndexError(
                f"at(): got {len(index)} indices for a variable of {data.ndim} "
                f"dimensions (shape {data.shape})"
            )
        for i, (k, n) in enumerate(zip(index, data.shape)):
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
                raise TypeError(f"at(): index {i} must be an int, got {k!r}")
            if not -n <= k < n:
                raise IndexError(
                    f"at{index}: index {k} is out of range for dimension {i} of size {n}"
                )
        return float(data[index])

    def item(self) -> float:
        """The value of a one-element variable as a float."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): the variable has {self.data.size} elements, not one "
                f"(shape {self.data.shape})"
            )
        return float(self.data.flat[0])

    def requires_grad_(self, flag: bool = True) -> "Variable":
        """Set ``requires_grad`` (on a leaf) and return this variable."""
        self.requires_grad = flag
        return self

    # ------------------------------------------------------------------ differentiable methods

    def reshape(self, *shape: Any) -> "Variable":
        """A new Variable of ``shape`` (sizes as arguments or one tuple); differentiable."""
        return _ops.reshape(self, *shape)

    def transpose(self, *axes: Any) -> "Variable":
        """Permute dimensions (reversed when no axes are given); differentiable."""
        order = (
            axes[0]
            if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list)))
            else axes
        )
        return _ops.transpose(self, order or None)

    @property
    def T(self) -> "Variable":
        """The transpose (dimensions reversed)."""
        return _ops.transpose(self, None)

    def sum(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        """Sum over ``axis``; differentiable."""
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        """Mean over ``axis``; differentiable."""
        return _ops.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        """Largest element over ``axis``; differentiable."""
        return _ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Variable":
        """Smallest element over ``axis``; differentiable."""
        return _ops.min(self, axis, keepdims)

    def argmax(self, axis: Any = None) -> np.ndarray:
        """Index of the largest element (a NumPy array; not differentiable)."""
        return _ops.argmax(self, axis)

    def flatten(self) -> "Variable":
        """The elements as a 1-D Variable, as NumPy's ``flatten``; differentiable."""
        return _ops.flatten(self, 0)

    def squeeze(self, axis: Any = None) -> "Variable":
        """Remove dimensions of size one; differentiable."""
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> "Variable":
        """Insert a dimension of size one at ``axis``; differentiable."""
        return _ops.unsqueeze(self, axis)

    def astype(self, dtype: Any) -> "Variable":
        """Cast between float32 and float64; differentiable (the gradient is cast back)."""
        return _ops.astype(self, dtype)

    def numpy(self) -> np.ndarray:
        """The data, a NumPy array (not a copy)."""
        return self.data

    def tolist(self) -> Any:
        """The data as nested Python lists of floats."""
        return self.data.tolist()

    # ------------------------------------------------------------------ printing

    def __repr__(self) -> str:
        name = self.name or "variable"
        data = self.data
        bits32 = data.dtype == np.float32
        if all(s == 1 for s in data.shape):
            return f"{name}({go_format(data.flat[0], bits32)})"
        # data.flat[:n] reads only the n values printed: reshape(-1) would copy a whole
        # broadcast view (gigabytes) to print a thousand numbers
        values = " ".join(go_format(v, bits32) for v in data.flat[:_PRINT_LIMIT])
        if data.size > _PRINT_LIMIT:
            values += " ..."
        shape = " ".join(str(s) for s in data.shape)
        return f"{name}[{shape}]([{values}])"

    __str__ = __repr__


_PRINT_LIMIT = 1000


def _plain(x):
    return x.data if isinstance(x, Variable) else x


_graph.register_variable_class(Variable)


def go_format(value: Any, float32: bool = False) -> str:
    """Format a float as Go's ``%v`` does: shortest round-trip digits, exponent
    form below 1e-4 and from 1e+06 (``1e-05``, ``1.5e+06``), ``+Inf``, ``NaN``.

    >>> go_format(2.0), go_format(0.040000000000000036), go_format(1e-5), go_format(1e6)
    ('2', '0.040000000000000036', '1e-05', '1e+06')
    """
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    scalar = np.float32(value) if float32 else np.float64(v)
    mantissa, exponent = np.format_float_scientific(scalar, unique=True, trim="-").split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    exp = int(exponent)
    if exp < -4 or exp >= 6:
        head, tail = digits[0], digits[1:]
        return f"{sign}{head}{'.' + tail if tail else ''}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


# ---------------------------------------------------------------------- constructors


def variable(*values: float, name: str | None = None) -> Variable:
    """A float64 Variable of shape ``(len(values),)``, as Go's ``variable.New``.

    >>> import autograd as ag
    >>> ag.variable(1.0, 2.0, 3.0)
    variable[3]([1 2 3])
    >>> ag.variable(3.0).shape
    (1,)
    """
    for i, v in enumerate(values):
        if not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"variable(): value {i} must be a real number, got {type(v).__name__}")
    return Variable(np.array(values, dtype=np.float64), name=name)


def _shape_of(shape, what):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{what}: sizes must be ints, got {s!r}")
        if s < 0:
            raise ValueError(f"{what}: sizes must not be negative, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _float_dtype(dtype, what):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{what}: dtype must be float32 or float64, got {dt}")
    return dt


def zeros(*shape: Any, dtype: Any = np.float64) -> Variable:
    """A Variable of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Variable(np.zeros(_shape_of(shape, "zeros"), dtype=_float_dtype(dtype, "zeros")))


def ones(*shape: Any, dtype: Any = np.float64) -> Variable:
    """A Variable of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Variable(np.ones(_shape_of(shape, "ones"), dtype=_float_dtype(dtype, "ones")))


def zeros_like(a: Any) -> Variable:
    """Zeros of the shape and dtype of ``a`` (a Variable or an array)."""
    data = a.data if isinstance(a, Variable) else Variable(a).data
    return Variable(np.zeros_like(data))


def ones_like(a: Any) -> Variable:
    """Ones of the shape and dtype of ``a`` (a Variable or an array)."""
    data = a.data if isinstance(a, Variable) else Variable(a).data
    return Variable(np.ones_like(data))


def _draw(rng, method, shape, what):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = _shape_of(tuple(shape), what)
    source = np.random if rng is None else rng
    draw = getattr(source, method, None)
    if draw is None:
        raise TypeError(
            f"{what}: rng must be a numpy.random.Generator or an ag.random source, "
            f"got {type(rng).__name__}"
        )
    return np.asarray(draw(shape), dtype=np.float64).reshape(shape)


def rand(shape: Any, rng: Any = None) -> Variable:
    """Uniform draws in [0, 1) of ``shape``; ``rng`` a Generator or an ``ag.random`` source."""
    return Variable(_draw(rng, "random", shape, "rand"))


def randn(shape: Any, rng: Any = None) -> Variable:
    """Standard normal draws of ``shape``."""
    return Variable(_draw(rng, "standard_normal", shape, "randn"))


def normal(shape: Any, mean: float = 0.0, std: float = 1.0, rng: Any = None) -> Variable:
    """Normal draws of ``shape`` with the given mean and standard deviation."""
    if std < 0:
        raise ValueError(f"normal: std must not be negative, got {std}")
    return Variable(_draw(rng, "standard_normal", shape, "normal") * std + mean)
