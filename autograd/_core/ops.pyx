"""The built-in differentiable operations.

Each operation is a Function subclass with three faces:

* forward, on C doubles when the operands are one-element float64 arrays (the
  scalar graphs of the seed's examples), on NumPy arrays otherwise;
* ``backward_arrays``: gradients as arrays, for the ordinary backward pass;
* ``backward_vars``: gradients written with the differentiable functions below,
  for ``create_graph=True``, so every operation can be differentiated again.

Python-number operands are stored on the operation (``x + 1.0`` is one node, not
two); array operands become constant leaves whose gradients are never computed.
"""
cimport cython
cimport numpy as cnp
from cpython.object cimport PyObject
from libc.math cimport exp, log, sin, cos, sqrt
from autograd._core.graph cimport (Node, Function, grad_enabled, train_enabled, new_var,
                                   as_var, as_array, link1, link2, link_all, link_outputs, wrap_const,
                                   zero_grads, register_add_fn)
from autograd._core.kernels cimport (is_scalar64, scalar_of, scalar_like, add_arrays,
                                     ones_like, sum_to, go_pow, go_log, log_array, tanh_scalar, sigmoid_scalar,
                                     tanh_array, sigmoid_array, tanh_grad, sigmoid_grad)
from autograd._core.kernels import pow_array
import builtins
from operator import index as operator_index
import numpy as np

cnp.import_array()


# ============================================================================ helpers

cdef inline bint _same_scalars(object a, object b):
    return (is_scalar64(a) and is_scalar64(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == cnp.PyArray_NDIM(<cnp.ndarray>b))


cdef inline bint _record1(Node x):
    """Record a node when backprop is on and the input is not a constant."""
    return grad_enabled() and not x._const


cdef inline bint _record2(Node a, Node b):
    return grad_enabled() and not (a._const and b._const)


cdef bint _record(tuple inputs):
    """Record a node when backprop is on and some input is not a constant."""
    cdef Node x
    if not grad_enabled():
        return False
    for x in inputs:
        if not x._const:
            return True
    return False


cdef inline object _out_data(Function f):
    return (<Node>f._outs)._data


cdef inline Node _out_var(Function f):
    return <Node>f._outs


cdef tuple _shape_arg(object shape, str what):
    """A shape given as a tuple, a list, or loose ints, as a tuple of ints."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        return tuple([int(operator_index(s)) for s in shape])
    except TypeError:
        raise TypeError(f"{what}: expected a shape of ints, got {shape!r}") from None



cdef object _norm_axis(object axis, Py_ssize_t ndim, str what):
    """None, or a tuple of non-negative axes checked against ``ndim``."""
    if axis is None:
        return None
    cdef tuple axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    cdef list out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{what}: axis must be an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if a < -ndim or a >= ndim:
            raise ValueError(f"{what}: axis {a} is out of range for {ndim} dimensions")
        a = a % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{what}: axis {a} is repeated in {axis!r}")
        out.append(a)
    return tuple(out)


cdef int _one_axis(object axis, Py_ssize_t ndim, str what) except? -1:
    """One axis, checked against ``ndim``, as a non-negative int."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    return _norm_axis(axis, ndim, what)[0]


cdef tuple _keep_shape(tuple shape, object axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple([1 if i in axes else shape[i] for i in range(len(shape))])


cdef Node _where_zero(Node g, object mask):
    """``g`` with zeros where ``mask`` (broadcast) is true; ``g`` itself when it is nowhere."""
    if not mask.any():
        return g
    return <Node>mask_fill(g, mask, 0.0)


cdef double _number(object c, str what) except? -1.0:
    """A Python number operand as a C double; one too large for float64 is a ValueError."""
    if isinstance(c, float):
        return <double>c
    try:
        return <double>c
    except OverflowError:
        raise ValueError(f"{what}: the number {c} is too large for float64") from None


# ============================================================================ unary elementwise

cdef enum:
    U_NEG = 0
    U_EXP
    U_LOG
    U_SIN
    U_COS
    U_TANH
    U_SIGMOID
    U_RELU
    U_SQUARE
    U_POW       # x ** c
    U_ADDC      # x + c
    U_SUBC      # x - c
    U_RSUBC     # c - x
    U_MULC      # x * c
    U_DIVC      # x / c
    U_RDIVC     # c / x
    U_RPOW      # c ** x

_UNARY_NAMES = ("Neg", "Exp", "Log", "Sin", "Cos", "Tanh", "Sigmoid", "ReLU", "Square",
                "Pow", "AddC", "SubC", "RSubC", "MulC", "DivC", "RDivC", "RPow")


cdef double _u_scalar(int code, double x, double c) noexcept nogil:
    if code == U_NEG: return -x
    if code == U_EXP: return exp(x)
    if code == U_LOG: return go_log(x)
    if code == U_SIN: return sin(x)
    if code == U_COS: return cos(x)
    if code == U_TANH: return tanh_scalar(x)
    if code == U_SIGMOID: return sigmoid_scalar(x)
    if code == U_RELU: return x if x > 0 else (x if x != x else 0.0)
    if code == U_SQUARE: return x * x
    if code == U_POW: return go_pow(x, c)
    if code == U_ADDC: return x + c
    if code == U_SUBC: return x - c
    if code == U_RSUBC: return c - x
    if code == U_MULC: return x * c
    if code == U_DIVC: return x / c
    if code == U_RDIVC: return c / x
    return go_pow(c, x)       # U_RPOW


cdef object _u_array(int code, object x, double c):
    # constants carry the array's dtype: NumPy 1.x would promote a 0-d float32 array
    # combined with a Python float to float64
    cdef object pc = x.dtype.type(c)
    if code == U_NEG: return np.negative(x)
    if code == U_EXP: return np.exp(x)
    if code == U_LOG: return log_array(x)
    if code == U_SIN: return np.sin(x)
    if code == U_COS: return np.cos(x)
    if code == U_TANH: return tanh_array(x)
    if code == U_SIGMOID: return sigmoid_array(x)
    if code == U_RELU: return np.maximum(x, x.dtype.type(0))
    if code == U_SQUARE: return np.square(x)
    if code == U_POW: return pow_array(x, c)
    if code == U_ADDC: return x + pc
    if code == U_SUBC: return x - pc
    if code == U_RSUBC: return pc - x
    if code == U_MULC: return x * pc
    if code == U_DIVC: return x / pc
    if code == U_RDIVC: return pc / x
    return np.power(x.dtype.type(c), x)


cdef double _u_grad_scalar(int code, double x, double y, double gy, double c) noexcept nogil:
    if code == U_NEG: return -gy
    if code == U_EXP: return gy * y
    if code == U_LOG: return gy / x
    if code == U_SIN: return gy * cos(x)
    if code == U_COS: return gy * -sin(x)
    if code == U_TANH: return gy * (1.0 - y * y)
    if code == U_SIGMOID: return gy * y * (1.0 - y)
    if code == U_RELU: return gy if x > 0 else 0.0
    if code == U_SQUARE: return gy * (2.0 * x)
    if code == U_POW: return 0.0 if c == 0.0 else gy * (c * go_pow(x, c - 1.0))
    if code == U_ADDC or code == U_SUBC: return gy
    if code == U_RSUBC: return -gy
    if code == U_MULC: return gy * c
    if code == U_DIVC: return gy / c
    if code == U_RDIVC: return gy * (-c / (x * x))
    if c == 0.0 and x >= 0: return 0.0     # U_RPOW at a zero base, as PyTorch
    return gy * (y * log(c))      # U_RPOW


cdef object _u_grad_array(int code, object x, object y, object gy, double c):
    cdef object pc = x.dtype.type(c)
    if code == U_NEG: return np.negative(gy)
    if code == U_EXP: return gy * y
    if code == U_LOG: return gy / x
    if code == U_SIN: return gy * np.cos(x)
    if code == U_COS: return gy * -np.sin(x)
    if code == U_TANH: return tanh_grad(y, gy)
    if code == U_SIGMOID: return sigmoid_grad(y, gy)
    if code == U_RELU: return gy * (x > 0)
    if code == U_SQUARE: return gy * (x.dtype.type(2) * x)
    if code == U_POW:
        if c == 0.0:        # d/dx x**0 = 0, also at x = 0 (PyTorch's convention)
            return np.zeros_like(gy)
        return gy * (pc * pow_array(x, c - 1.0))
    if code == U_ADDC or code == U_SUBC: return gy
    if code == U_RSUBC: return np.negative(gy)
    if code == U_MULC: return gy * pc
    if code == U_DIVC: return gy / pc
    if code == U_RDIVC: return gy * ((-pc) / (x * x))
    if c == 0.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x >= 0, x.dtype.type(0), gy * (y * np.log(x.dtype.type(c))))
    return gy * (y * np.log(x.dtype.type(c)))


cdef Node _u_grad_var(int code, Node x, Node y, Node gy, double c):
    if code == U_NEG: return _unary(U_NEG, gy, 0)
    if code == U_EXP: return _binary(B_MUL, gy, y)
    if code == U_LOG: return _binary(B_DIV, gy, x)
    if code == U_SIN: return _binary(B_MUL, gy, _unary(U_COS, x, 0))
    if code == U_COS: return _binary(B_MUL, gy, _unary(U_NEG, _unary(U_SIN, x, 0), 0))
    if code == U_TANH: return _binary(B_MUL, gy, _unary(U_RSUBC, _binary(B_MUL, y, y), 1.0))
    if code == U_SIGMOID:
        return _binary(B_MUL, _binary(B_MUL, gy, y), _unary(U_RSUBC, y, 1.0))
    if code == U_RELU:
        return _binary(B_MUL, gy, wrap_const((x._data > 0).astype(x._data.dtype)))
    if code == U_SQUARE:      # as the seed's x ** 2: x stays in the graph at every order
        return _binary(B_MUL, gy, _unary(U_MULC, _unary(U_POW, x, 1.0), 2.0))
    if code == U_POW:
        if c == 0.0:
            return _unary(U_MULC, gy, 0.0)
        return _binary(B_MUL, gy, _unary(U_MULC, _unary(U_POW, x, c - 1.0), c))
    if code == U_ADDC or code == U_SUBC: return gy
    if code == U_RSUBC: return _unary(U_NEG, gy, 0)
    if code == U_MULC: return _unary(U_MULC, gy, c)
    if code == U_DIVC: return _unary(U_DIVC, gy, c)
    if code == U_RDIVC:
        return _binary(B_MUL, gy, _unary(U_RDIVC, _binary(B_MUL, x, x), -c))
    if c == 0.0:        # at a zero base, no gradient where x >= 0 (PyTorch's convention)
        return _where_zero(_binary(B_MUL, gy, _unary(U_MULC, y, log(c))), x._data >= 0)
    return _binary(B_MUL, gy, _unary(U_MULC, y, log(c)))


cdef class Unary(Function):
    """An elementwise operation of one variable, optionally with a number ``c``."""
    cdef int code
    cdef double c

    @property
    def name(self):
        return _UNARY_NAMES[self.code]

    @property
    def constant(self):
        return self.c

    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        if x._const:
            return None
        xd = x._data
        yd = _out_data(self)
        if _same_scalars(gy, xd):
            return scalar_like(gy, _u_grad_scalar(self.code, scalar_of(xd), scalar_of(yd),
                                                  scalar_of(gy), self.c))
        return _u_grad_array(self.code, xd, yd, gy, self.c)

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        if x._const:
            return None
        return _u_grad_var(self.code, x, _out_var(self), <Node>gy, self.c)


cdef Node _unary(int code, Node x, double c):
    cdef object xd = x._data
    cdef object yd
    cdef Unary f
    if is_scalar64(xd):
        yd = scalar_like(xd, _u_scalar(code, scalar_of(xd), c))
    else:
        yd = _u_array(code, xd, c)
    cdef Node y = new_var(yd)
    if grad_enabled() and not x._const:
        f = Unary.__new__(Unary)
        f.code = code
        f.c = c
        link1(f, y, x)
    return y


# ============================================================================ binary elementwise

cdef enum:
    B_ADD = 0
    B_SUB
    B_MUL
    B_DIV
    B_POW

_BINARY_NAMES = ("Add", "Sub", "Mul", "Div", "Pow")
_BINARY_SYMBOLS = ("+", "-", "*", "/", "**")


cdef double _b_scalar(int code, double a, double b) noexcept nogil:
    if code == B_ADD: return a + b
    if code == B_SUB: return a - b
    if code == B_MUL: return a * b
    if code == B_DIV: return a / b
    return go_pow(a, b)


cdef object _b_array(int code, object a, object b):
    if code == B_ADD: return a + b
    if code == B_SUB: return a - b
    if code == B_MUL: return a * b
    if code == B_DIV: return a / b
    return np.power(a, b)


cdef class Binary(Function):
    """An elementwise operation of two variables, with NumPy broadcasting."""
    cdef int code

    @property
    def name(self):
        return _BINARY_NAMES[self.code]

    cdef object backward_arrays(self, object gy):
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        a = x0._data
        b = x1._data
        cdef double va, vb, g
        if _same_scalars(a, b) and _same_scalars(a, gy):
            va = scalar_of(a)
            vb = scalar_of(b)
            g = scalar_of(gy)
            if self.code == B_ADD:
                return (gy, gy)
            if self.code == B_SUB:
                return (gy, None if x1._const else scalar_like(gy, -g))
            if self.code == B_MUL:
                return (None if x0._const else scalar_like(gy, g * vb),
                        None if x1._const else scalar_like(gy, g * va))
            if self.code == B_DIV:
                return (None if x0._const else scalar_like(gy, g / vb),
                        None if x1._const else scalar_like(gy, g * (-va / (vb * vb))))
        gx0 = gx1 = None
        if self.code == B_ADD:
            gx0 = gx1 = gy
        elif self.code == B_SUB:
            gx0 = gy
            if not x1._const:
                gx1 = np.negative(gy)
        elif self.code == B_MUL:
            if not x0._const:
                gx0 = gy * b
            if not x1._const:
                gx1 = gy * a
        elif self.code == B_DIV:
            if not x0._const:
                gx0 = gy / b
            if not x1._const:
                gx1 = gy * (-a / (b * b))
        else:
            # PyTorch's values at a zero base, never NaN: 0 for the base when the exponent
            # is 0 too (0 * 0**-1), 0 for the exponent when it is not negative
            zero = b.dtype.type(0)
            with np.errstate(divide="ignore", invalid="ignore"):
                if not x0._const:
                    gx0 = np.where((b == 0) & (a == 0), zero,
                                   gy * (b * np.power(a, b - b.dtype.type(1))))
                if not x1._const:
                    gx1 = np.where((a == 0) & (b >= 0), zero, gy * (_out_data(self) * np.log(a)))
        return (None if gx0 is None or x0._const else sum_to(gx0, a.shape),
                None if gx1 is None or x1._const else sum_to(gx1, b.shape))

    cdef object backward_vars(self, object gy_):
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        cdef Node gy = <Node>gy_
        gx0 = gx1 = None
        if self.code == B_ADD:
            gx0 = gx1 = gy
        elif self.code == B_SUB:
            gx0 = gy
            gx1 = _unary(U_NEG, gy, 0)
        elif self.code == B_MUL:
            gx0 = _binary(B_MUL, gy, x1)
            gx1 = _binary(B_MUL, gy, x0)
        elif self.code == B_DIV:
            gx0 = _binary(B_DIV, gy, x1)
            gx1 = _binary(B_MUL, gy, _binary(B_DIV, _unary(U_NEG, x0, 0), _binary(B_MUL, x1, x1)))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                gx0 = _binary(B_MUL, gy, _binary(B_MUL, x1, _binary(B_POW, x0, _unary(U_SUBC, x1, 1.0))))
                gx0 = _where_zero(gx0, (x1._data == 0) & (x0._data == 0))
                gx1 = _binary(B_MUL, gy, _binary(B_MUL, _out_var(self), _unary(U_LOG, x0, 0)))
                gx1 = _where_zero(gx1, (x0._data == 0) & (x1._data >= 0))
        return (None if x0._const else _sum_to(<Node>gx0, x0._data.shape),
                None if x1._const else _sum_to(<Node>gx1, x1._data.shape))


cdef Node _binary(int code, Node a, Node b):
    cdef object ad = a._data
    cdef object bd = b._data
    cdef object yd
    cdef Binary f
    if _same_scalars(ad, bd):
        yd = scalar_like(ad, _b_scalar(code, scalar_of(ad), scalar_of(bd)))
    else:
        try:
            yd = _b_array(code, ad, bd)
        except ValueError:
            raise ValueError(f"{_BINARY_NAMES[code].lower()}: shapes {ad.shape} and {bd.shape} "
                             f"do not broadcast together") from None
    cdef Node y = new_var(yd)
    if grad_enabled() and not (a._const and b._const):
        f = Binary.__new__(Binary)
        f.code = code
        link2(f, y, a, b)
    return y


cdef inline bint _isnum(object c):
    return isinstance(c, float) or isinstance(c, int)


cdef inline object _arith(object a, object b, int number_right, int number_left, int code):
    """``a (op) b``. A Python number on either side is stored on the operation (one node,
    ``number_right`` when it is ``b``, ``number_left`` when it is ``a``); otherwise both
    sides become Variables (arrays as constants) for the broadcasting ``code``."""
    if isinstance(a, Node) and _isnum(b):
        return _unary(number_right, <Node>a, _number(b, "operand"))
    if isinstance(b, Node) and _isnum(a):
        return _unary(number_left, <Node>b, _number(a, "operand"))
    return _binary(code, as_var(a), as_var(b))


def add(a, b):
    """``a + b`` with broadcasting.

    >>> add(variable(1.0, 2.0), 10.0)
    variable[2]([11 12])
    """
    return _arith(a, b, U_ADDC, U_ADDC, B_ADD)


def radd(a, b):
    return add(b, a)


def sub(a, b):
    """``a - b`` with broadcasting.

    >>> sub(variable(3.0), 1.0)
    variable(2)
    """
    return _arith(a, b, U_SUBC, U_RSUBC, B_SUB)


def rsub(a, b):
    return sub(b, a)


def mul(a, b):
    """``a * b`` with broadcasting.

    >>> mul(variable(1.0, 2.0), variable(3.0))
    variable[2]([3 6])
    """
    return _arith(a, b, U_MULC, U_MULC, B_MUL)


def rmul(a, b):
    return mul(b, a)


def div(a, b):
    """``a / b`` with broadcasting.

    >>> div(variable(1.0), 4.0)
    variable(0.25)
    """
    return _arith(a, b, U_DIVC, U_RDIVC, B_DIV)


def rdiv(a, b):
    return div(b, a)


def pow_(x, c):
    """``x ** c``: ``c`` a number (Go's ``Pow(c)(x)``) or a Variable.

    >>> pow_(variable(3.0), 2)
    variable(9)
    """
    if _isnum(c):
        return _unary(U_POW, as_var(x), _number(c, "pow"))
    if c is None:
        raise TypeError("pow: the exponent is None; expected a number or a Variable")
    if _isnum(x):
        return _unary(U_RPOW, as_var(c), _number(x, "pow"))
    return _binary(B_POW, as_var(x), as_var(c))


def rpow(x, c):
    return pow_(c, x)


def neg(x):
    """``-x``.

    >>> neg(variable(1.0, -2.0))
    variable[2]([-1 2])
    """
    return _unary(U_NEG, as_var(x), 0)


def square(x):
    """``x * x``.

    >>> square(variable(3.0))
    variable(9)
    """
    return _unary(U_SQUARE, as_var(x), 0)


def exp_(x):
    """``e ** x``.

    >>> exp_(variable(0.0))
    variable(1)
    """
    return _unary(U_EXP, as_var(x), 0)


def log_(x):
    """Natural logarithm.

    >>> log_(variable(1.0))
    variable(0)
    """
    return _unary(U_LOG, as_var(x), 0)


def sin_(x):
    """Sine.

    >>> sin_(variable(0.0))
    variable(0)
    """
    return _unary(U_SIN, as_var(x), 0)


def cos_(x):
    """Cosine.

    >>> cos_(variable(0.0))
    variable(1)
    """
    return _unary(U_COS, as_var(x), 0)


def tanh_(x):
    """Hyperbolic tangent, without overflow.

    >>> tanh_(variable(0.0, 1000.0))
    variable[2]([0 1])
    """
    return _unary(U_TANH, as_var(x), 0)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed without overflow.

    >>> sigmoid(variable(0.0, -1000.0))
    variable[2]([0.5 0])
    """
    return _unary(U_SIGMOID, as_var(x), 0)


def relu(x):
    """``max(x, 0)``.

    >>> relu(variable(-1.0, 2.0))
    variable[2]([0 2])
    """
    return _unary(U_RELU, as_var(x), 0)


cdef object _add_nodes(object a, object b):
    return _binary(B_ADD, <Node>a, <Node>b)


register_add_fn(_add_nodes)


# ============================================================================ shapes

cdef class Reshape(Function):
    cdef tuple shape

    cdef object backward_arrays(self, object gy):
        return gy.reshape(self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _reshape(<Node>gy, self._x0._data.shape)


cdef Node _reshape(Node x, tuple shape):
    xd = x._data
    if xd.shape == shape:
        return x
    try:
        yd = xd.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape shape {xd.shape} ({xd.size} elements) "
                         f"to {shape}") from None
    cdef Node y = new_var(yd)
    cdef Reshape f
    if _record1(x):
        f = Reshape.__new__(Reshape)
        f.shape = shape
        link1(f, y, x)
    return y


def reshape(x, *shape):
    """``x`` with a new shape (a tuple, or the sizes as arguments); -1 infers one size.

    >>> reshape(variable(1, 2, 3, 4, 5, 6), 2, -1).shape
    (2, 3)
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    if len(shape) == 0:
        shape = ()
    return _reshape(as_var(x), _shape_arg(shape, "reshape"))


cdef class Transpose(Function):
    cdef tuple axes

    cdef object backward_arrays(self, object gy):
        return np.transpose(gy, np.argsort(self.axes))

    cdef object backward_vars(self, object gy):
        return _transpose(<Node>gy, tuple(np.argsort(self.axes).tolist()))


cdef Node _transpose(Node x, object axes):
    xd = x._data
    cdef Py_ssize_t nd = xd.ndim
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = _norm_axis(axes, nd, "transpose")
        if len(axes) != nd:
            raise ValueError(f"transpose: axes {axes} do not name each of the {nd} dimensions once")
    if axes == tuple(range(nd)):
        return x
    cdef Node y = new_var(np.transpose(xd, axes))
    cdef Transpose f
    if _record1(x):
        f = Transpose.__new__(Transpose)
        f.axes = axes
        link1(f, y, x)
    return y


def transpose(x, axes=None):
    """Permute the dimensions (reverse them when ``axes`` is None).

    >>> transpose(variable(1, 2, 3, 4, 5, 6).reshape(2, 3)).shape
    (3, 2)
    """
    return _transpose(as_var(x), axes)


cdef class BroadcastTo(Function):
    cdef tuple shape

    cdef object backward_arrays(self, object gy):
        return sum_to(gy, self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _sum_to(<Node>gy, self._x0._data.shape)


cdef Node _broadcast_to(Node x, tuple shape):
    xd = x._data
    if xd.shape == shape:
        return x
    try:
        yd = np.broadcast_to(xd, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: shape {xd.shape} cannot broadcast to {shape}") from None
    cdef Node y = new_var(yd)
    cdef BroadcastTo f
    if _record1(x):
        f = BroadcastTo.__new__(BroadcastTo)
        f.shape = shape
        link1(f, y, x)
    return y


def broadcast_to(x, shape):
    """``x`` repeated to ``shape`` by NumPy's broadcasting rules.

    >>> broadcast_to(variable(1.0, 2.0), (2, 2))
    variable[2 2]([1 2 1 2])
    """
    return _broadcast_to(as_var(x), _shape_arg(shape, "broadcast_to"))


cdef class SumTo(Function):
    cdef tuple shape

    cdef object backward_arrays(self, object gy):
        return np.broadcast_to(gy, self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _broadcast_to(<Node>gy, self._x0._data.shape)


cdef Node _sum_to(Node x, tuple shape):
    xd = x._data
    if xd.shape == shape:
        return x
    cdef Node y = new_var(sum_to(xd, shape))
    cdef SumTo f
    if _record1(x):
        f = SumTo.__new__(SumTo)
        f.shape = shape
        link1(f, y, x)
    return y


def sum_to_(x, shape):
    """Sum ``x`` down to ``shape``: the inverse of ``broadcast_to``.

    >>> sum_to_(variable(1, 2, 3, 4).reshape(2, 2), (1, 2))
    variable[1 2]([4 6])
    """
    return _sum_to(as_var(x), _shape_arg(shape, "sum_to"))


def squeeze(x, axis=None):
    """Remove dimensions of size one (all of them, or those named by ``axis``).

    >>> squeeze(variable(1.0, 2.0).reshape(1, 2)).shape
    (2,)
    """
    cdef Node v = as_var(x)
    shape = v._data.shape
    axes = _norm_axis(axis, len(shape), "squeeze")
    if axes is None:
        axes = tuple([i for i, s in enumerate(shape) if s == 1])
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: dimension {a} of shape {shape} has size {shape[a]}, not 1")
    return _reshape(v, tuple([s for i, s in enumerate(shape) if i not in axes]))


def unsqueeze(x, axis):
    """Insert a dimension of size one at ``axis``.

    >>> unsqueeze(variable(1.0, 2.0), 0).shape
    (1, 2)
    """
    cdef Node v = as_var(x)
    shape = list(v._data.shape)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"unsqueeze: axis must be an int, got {axis!r}")
    nd = len(shape) + 1
    if axis < -nd or axis >= nd:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result of {nd} dimensions")
    shape.insert(axis % nd, 1)
    return _reshape(v, tuple(shape))


# ---------------------------------------------------------------------------- concat / split

cdef list _bounds(list sizes):
    """Where pieces of these sizes start, after the first: the cut points of a split."""
    cdef list out = []
    cdef Py_ssize_t total = 0, k
    for k in range(len(sizes) - 1):
        total += sizes[k]
        out.append(total)
    return out


cdef class Concat(Function):
    cdef int axis
    cdef list bounds

    cdef object backward_arrays(self, object gy):
        parts = np.split(gy, self.bounds, axis=self.axis)
        return parts[0] if self._n_in == 1 else tuple(parts)

    cdef object backward_vars(self, object gy):
        parts = _split(<Node>gy, self.bounds, self.axis)
        return parts[0] if self._n_in == 1 else parts


def concat(xs, axis=0):
    """Join variables along ``axis``.

    >>> concat([variable(1.0), variable(2.0, 3.0)])
    variable[3]([1 2 3])
    """
    if isinstance(xs, (Node, np.ndarray)) or not hasattr(xs, "__iter__"):
        raise TypeError("concat: expected a sequence of variables or arrays")
    cdef tuple vs = tuple([as_var(x) for x in xs])
    if len(vs) == 0:
        raise ValueError("concat: expected at least one variable, got none")
    nd = (<Node>vs[0])._data.ndim
    ax = _one_axis(axis, nd, "concat")
    try:
        yd = np.concatenate([(<Node>v)._data for v in vs], axis=ax)
    except ValueError:
        raise ValueError(f"concat: shapes {[(<Node>v)._data.shape for v in vs]} do not join "
                         f"along axis {ax}") from None
    cdef Node y = new_var(yd)
    cdef Concat f
    if _record(vs):
        f = Concat.__new__(Concat)
        f.axis = ax
        f.bounds = _bounds([(<Node>v)._data.shape[ax] for v in vs])
        link_all(f, y, vs)
    return y


cdef class Split(Function):
    cdef int axis

    cdef object backward_arrays(self, object gy):
        return np.concatenate(zero_grads(self, gy, False), axis=self.axis)

    cdef object backward_vars(self, object gy):
        return concat(zero_grads(self, gy, True), self.axis)


cdef tuple _split(Node x, list bounds, int axis):
    parts = np.split(x._data, bounds, axis=axis)
    cdef list outs = [new_var(p) for p in parts]
    cdef Split f
    if _record1(x):
        f = Split.__new__(Split)
        f.axis = axis
        link_outputs(f, outs, (x,))
    return tuple(outs)


def split(x, sizes, axis=0):
    """Cut ``x`` along ``axis`` into pieces of the given sizes (or into ``sizes`` equal pieces).

    >>> [v.shape for v in split(variable(1, 2, 3), [1, 2])]
    [(1,), (2,)]
    """
    cdef Node v = as_var(x)
    shape = v._data.shape
    ax = _one_axis(axis, len(shape), "split")
    n = shape[ax]
    if isinstance(sizes, (int, np.integer)):
        if sizes <= 0 or n % sizes:
            raise ValueError(f"split: {n} elements along axis {ax} do not split into {sizes} equal parts")
        sizes = [n // sizes] * sizes
    try:
        sizes = [operator_index(s) for s in sizes]
    except TypeError:
        raise TypeError(f"split: sizes must be ints, got {sizes!r}") from None
    if any(s < 0 for s in sizes) or builtins.sum(sizes) != n:
        raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of axis {ax}")
    return _split(v, _bounds(sizes), ax)


# ---------------------------------------------------------------------------- indexing

cdef bint _basic_index(object index):
    if not isinstance(index, tuple):
        index = (index,)
    for i in index:
        if not (isinstance(i, (int, slice, np.integer)) or i is None or i is Ellipsis):
            return False
    return True


cdef object _private_index(object i):
    """One part of an index; arrays become private read-only copies, because the graph
    keeps the index for backward and the caller may reuse its buffer before then."""
    if isinstance(i, Node):
        i = (<Node>i)._data
    if isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray):
        if i.dtype.kind == "f":
            raise IndexError(f"get_item: index arrays must be integers or booleans, got {i.dtype}")
        i = np.array(i, copy=True)      # a plain ndarray, whatever subclass came in
        i.flags.writeable = False
    return i


cdef object _index_arg(object index):
    if isinstance(index, tuple):
        return tuple([_private_index(i) for i in <tuple>index])
    return _private_index(index)


cdef object _scatter(object gy, object index, tuple shape):
    gx = np.zeros(shape, dtype=gy.dtype)
    if _basic_index(index):
        gx[index] = gy
    else:
        np.add.at(gx, index, gy)
    return gx


cdef class GetItem(Function):
    cdef object index

    cdef object backward_arrays(self, object gy):
        return _scatter(gy, self.index, self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _get_item_grad(<Node>gy, self.index, self._x0._data.shape)


cdef class GetItemGrad(Function):
    cdef object index
    cdef tuple shape

    cdef object backward_arrays(self, object ggx):
        return ggx[self.index]

    cdef object backward_vars(self, object ggx):
        return _get_item(<Node>ggx, self.index)


cdef Node _get_item(Node x, object index):
    try:
        yd = x._data[index]
    except IndexError as e:
        raise IndexError(f"get_item: index {index!r} does not fit shape {x._data.shape}: {e}") from None
    if not isinstance(yd, np.ndarray):
        yd = np.asarray(yd)
    cdef Node y = new_var(yd)
    cdef GetItem f
    if _record1(x):
        f = GetItem.__new__(GetItem)
        f.index = index
        link1(f, y, x)
    return y


cdef Node _get_item_grad(Node gy, object index, tuple shape):
    cdef Node y = new_var(_scatter(gy._data, index, shape))
    cdef GetItemGrad f
    if _record1(gy):
        f = GetItemGrad.__new__(GetItemGrad)
        f.index = index
        f.shape = shape
        link1(f, y, gy)
    return y


def get_item(x, index):
    """``x[index]`` (NumPy indexing: ints, slices, integer or boolean arrays).

    >>> get_item(variable(1, 2, 3), [0, 2])
    variable[2]([1 3])
    """
    return _get_item(as_var(x), _index_arg(index))


# ============================================================================ reductions

cdef class Sum(Function):
    cdef object axes
    cdef bint keepdims

    cdef object backward_arrays(self, object gy):
        shape = self._x0._data.shape
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(shape, self.axes))
        return np.broadcast_to(gy, shape)

    cdef object backward_vars(self, object gy):
        shape = self._x0._data.shape
        g = <Node>gy
        if not self.keepdims:
            g = _reshape(g, _keep_shape(shape, self.axes))
        return _broadcast_to(g, shape)


cdef Node _sum(Node x, object axis, bint keepdims):
    xd = x._data
    axes = _norm_axis(axis, xd.ndim, "sum")
    cdef Node y = new_var(np.asarray(xd.sum(axis=axes, keepdims=keepdims)))
    cdef Sum f
    if _record1(x):
        f = Sum.__new__(Sum)
        f.axes = axes
        f.keepdims = keepdims
        link1(f, y, x)
    return y


def sum_(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all elements when None).

    >>> sum_(variable(1, 2, 3, 4).reshape(2, 2), axis=0)
    variable[2]([4 6])
    """
    return _sum(as_var(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (all elements when None).

    >>> mean(variable(1, 2, 3, 4))
    variable(2.5)
    """
    cdef Node v = as_var(x)
    shape = v._data.shape
    axes = _norm_axis(axis, len(shape), "mean")
    n = 1
    for a in (range(len(shape)) if axes is None else axes):
        n *= shape[a]
    return _unary(U_DIVC, _sum(v, axes, keepdims), n)


def variance(x, axis=None, keepdims=False):
    """Population variance (dividing by N) over ``axis``.

    >>> variance(variable(1, 2, 3, 4))
    variable(1.25)
    """
    cdef Node v = as_var(x)
    d = _binary(B_SUB, v, <Node>mean(v, axis, True))
    return mean(_unary(U_SQUARE, d, 0), axis, keepdims)


cdef class MaxMin(Function):
    cdef object axes
    cdef bint keepdims
    cdef bint is_max
    cdef object weights     # where the gradient goes: 1/count on the extreme elements

    @property
    def name(self):
        return "Max" if self.is_max else "Min"

    cdef object backward_arrays(self, object gy):
        shape = self._x0._data.shape
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(shape, self.axes))
        return gy * self.weights

    cdef object backward_vars(self, object gy):
        shape = self._x0._data.shape
        g = <Node>gy
        if not self.keepdims:
            g = _reshape(g, _keep_shape(shape, self.axes))
        return _binary(B_MUL, _broadcast_to(g, shape), wrap_const(self.weights))


cdef Node _maxmin(Node x, object axis, bint keepdims, bint is_max):
    xd = x._data
    what = "max" if is_max else "min"
    axes = _norm_axis(axis, xd.ndim, what)
    if xd.size == 0:
        raise ValueError(f"{what}: the variable is empty (shape {xd.shape})")
    ykd = xd.max(axis=axes, keepdims=True) if is_max else xd.min(axis=axes, keepdims=True)
    yd = ykd if keepdims else ykd.reshape(
        () if axes is None else tuple([s for i, s in enumerate(xd.shape) if i not in axes]))
    cdef Node y = new_var(np.asarray(yd))
    cdef MaxMin f
    if _record1(x):
        f = MaxMin.__new__(MaxMin)
        f.axes = axes
        f.keepdims = keepdims
        f.is_max = is_max
        mask = (xd == ykd).astype(xd.dtype)
        f.weights = mask / mask.sum(axis=axes, keepdims=True)
        link1(f, y, x)
    return y


def max_(x, axis=None, keepdims=False):
    """Largest element over ``axis``; the gradient is shared equally among ties.

    >>> max_(variable(1, 5, 3))
    variable(5)
    """
    return _maxmin(as_var(x), axis, keepdims, True)


def min_(x, axis=None, keepdims=False):
    """Smallest element over ``axis``; the gradient is shared equally among ties.

    >>> min_(variable(1, 5, 3))
    variable(1)
    """
    return _maxmin(as_var(x), axis, keepdims, False)


# ============================================================================ linear algebra

cdef object _swap_last(object a):
    return np.swapaxes(a, -1, -2)


cdef class MatMul(Function):
    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = None
        if not x._const:
            gx = sum_to(np.matmul(gy, _swap_last(w._data)), x._data.shape)
        if not w._const:
            gw = sum_to(np.matmul(_swap_last(x._data), gy), w._data.shape)
        return (gx, gw)

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = None
        if not x._const:
            gx = _sum_to(_matmul(<Node>gy, _swap_var(w)), x._data.shape)
        if not w._const:
            gw = _sum_to(_matmul(_swap_var(x), <Node>gy), w._data.shape)
        return (gx, gw)


cdef Node _swap_var(Node a):
    nd = a._data.ndim
    axes = list(range(nd))
    axes[nd - 1], axes[nd - 2] = nd - 2, nd - 1
    return _transpose(a, tuple(axes))


cdef Node _matmul(Node x, Node w):
    xd = x._data
    wd = w._data
    if xd.ndim == 0 or wd.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                         f"{xd.shape} and {wd.shape}")
    if xd.ndim == 1 or wd.ndim == 1:
        # lift 1-D operands to matrices as NumPy does, then drop the added dimension
        xv = _reshape(x, (1,) + xd.shape) if xd.ndim == 1 else x
        wv = _reshape(w, wd.shape + (1,)) if wd.ndim == 1 else w
        y2 = _matmul(xv, wv)
        shape = list(y2._data.shape)
        if wd.ndim == 1:
            del shape[len(shape) - 1]
        if xd.ndim == 1:
            del shape[len(shape) - 1 if wd.ndim == 1 else len(shape) - 2]
        return _reshape(y2, tuple(shape))
    try:
        yd = np.matmul(xd, wd)
    except ValueError:
        raise ValueError(f"matmul: shapes {xd.shape} and {wd.shape} do not multiply "
                         f"({xd.shape[xd.ndim - 1]} != {wd.shape[wd.ndim - 2]})") from None
    cdef Node y = new_var(yd)
    if _record2(x, w):
        link2(MatMul.__new__(MatMul), y, x, w)
    return y


def matmul(x, w):
    """Matrix product ``x @ w`` (batched over leading dimensions, as NumPy).

    >>> matmul(variable(1, 2).reshape(1, 2), variable(3, 4).reshape(2, 1))
    variable(11)
    """
    return _matmul(as_var(x), as_var(w))


def rmatmul(w, x):
    return matmul(x, w)


cdef class Linear(Function):
    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = gb = None
        if not x._const:
            gx = np.matmul(gy, w._data.T)
        if not w._const:
            gw = np.matmul(x._data.T, gy)
        if self._n_in == 3 and not (<Node>self._more[0])._const:
            gb = sum_to(gy, (<Node>self._more[0])._data.shape)
        return (gx, gw, gb)[:self._n_in]

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = _matmul(<Node>gy, _transpose(w, None))
        gw = _matmul(_transpose(x, None), <Node>gy)
        if self._n_in == 3:
            return (gx, gw, _sum_to(<Node>gy, (<Node>self._more[0])._data.shape))
        return (gx, gw)


def linear(x, w, b=None):
    """``x @ w + b``: one node, the bias added in place of a temporary.

    >>> linear(variable(1, 2).reshape(1, 2), variable(3, 4).reshape(2, 1), variable(0.5))
    variable(11.5)
    """
    cdef Node xv = as_var(x)
    cdef Node wv = as_var(w)
    cdef Node bv = None if b is None else as_var(b)
    xd = xv._data
    wd = wv._data
    if xd.ndim != 2 or wd.ndim != 2:
        product = _matmul(xv, wv)
        return product if bv is None else _binary(B_ADD, product, bv)
    if xd.shape[1] != wd.shape[0]:
        raise ValueError(f"linear: shapes {xd.shape} and {wd.shape} do not multiply "
                         f"({xd.shape[1]} != {wd.shape[0]})")
    yd = np.matmul(xd, wd)
    if bv is not None:
        bd = bv._data
        bshape = bd.shape
        if not (bshape == (wd.shape[1],) or bshape == (1, wd.shape[1]) or bshape == yd.shape
                or bshape == () or bshape == (1,) or bshape == (1, 1)):
            raise ValueError(f"linear: bias of shape {bd.shape} does not broadcast to the "
                             f"output shape {yd.shape}")
        if np.result_type(yd, bd) == yd.dtype:
            yd += bd
        else:
            yd = yd + bd
    cdef Node y = new_var(yd)
    cdef tuple ins = (xv, wv) if bv is None else (xv, wv, bv)
    if _record(ins):
        link_all(Linear.__new__(Linear), y, ins)
    return y


# ============================================================================ elementwise with masks

cdef class Clip(Function):
    cdef double lo, hi

    cdef object backward_arrays(self, object gy):
        xd = self._x0._data
        return gy * ((xd > self.lo) & (xd < self.hi))

    cdef object backward_vars(self, object gy):
        xd = self._x0._data
        m = ((xd > self.lo) & (xd < self.hi)).astype(xd.dtype)
        return _binary(B_MUL, <Node>gy, wrap_const(m))


def clip(x, lo, hi):
    """Limit values to ``[lo, hi]``; the gradient passes where ``x`` is strictly inside
    (``lo < x < hi``, as the seed library), and is 0 at the bounds and beyond.

    >>> clip(variable(-2, 0.5, 2), -1, 1)
    variable[3]([-1 0.5 1])
    """
    cdef Node v = as_var(x)
    if not (_isnum(lo) and _isnum(hi)):
        raise TypeError(f"clip: lo and hi must be numbers, got {lo!r} and {hi!r}")
    lo = _number(lo, "clip")
    hi = _number(hi, "clip")
    if lo > hi:
        raise ValueError(f"clip: lo ({lo}) is greater than hi ({hi})")
    xd = v._data
    cdef Node y = new_var(np.clip(xd, xd.dtype.type(lo), xd.dtype.type(hi)))
    cdef Clip f
    if _record1(v):
        f = Clip.__new__(Clip)
        f.lo = lo
        f.hi = hi
        link1(f, y, v)
    return y


cdef class MaskFill(Function):
    cdef object mask

    cdef object backward_arrays(self, object gy):
        shape = self._x0._data.shape
        return sum_to(np.where(self.mask, 0, gy).astype(gy.dtype, copy=False), shape)

    cdef object backward_vars(self, object gy):
        xd = self._x0._data
        keep = np.broadcast_to(~self.mask, gy.shape).astype(xd.dtype)
        return _sum_to(_binary(B_MUL, <Node>gy, wrap_const(keep)), xd.shape)


def mask_fill(x, mask, value):
    """``value`` where ``mask`` is true, ``x`` elsewhere (the mask broadcasts).

    >>> mask_fill(variable(1, 2, 3), [True, False, True], 0.0)
    variable[3]([0 2 0])
    """
    cdef Node v = as_var(x)
    if isinstance(mask, Node):
        mask = (<Node>mask)._data
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"mask_fill: the mask must be boolean, got dtype {mask.dtype}")
        mask = mask != 0
    else:
        mask = np.array(mask, copy=True)     # kept for backward: the caller may reuse its own
    mask.flags.writeable = False
    if not _isnum(value):
        raise TypeError(f"mask_fill: value must be a number, got {value!r}")
    value = _number(value, "mask_fill")
    xd = v._data
    try:
        yd = np.where(mask, xd.dtype.type(value), xd)
    except ValueError:
        raise ValueError(f"mask_fill: mask of shape {mask.shape} does not broadcast with "
                         f"shape {xd.shape}") from None
    cdef Node y = new_var(yd)
    cdef MaskFill f
    if _record1(v):
        f = MaskFill.__new__(MaskFill)
        f.mask = mask
        link1(f, y, v)
    return y


# ============================================================================ softmax family

cdef object _softmax_array(object x, int axis):
    m = x.max(axis=axis, keepdims=True)
    e = np.exp(x - m)
    e /= e.sum(axis=axis, keepdims=True)
    return e


cdef object _log_softmax_array(object x, int axis):
    m = x.max(axis=axis, keepdims=True)
    s = x - m
    s -= np.log(np.exp(s).sum(axis=axis, keepdims=True))
    return s


cdef class Softmax(Function):
    cdef int axis

    cdef object backward_arrays(self, object gy):
        y = _out_data(self)
        gx = y * gy
        gx -= y * gx.sum(axis=self.axis, keepdims=True)
        return gx

    cdef object backward_vars(self, object gy):
        y = _out_var(self)
        gx = _binary(B_MUL, y, <Node>gy)
        return _binary(B_SUB, gx, _binary(B_MUL, y, _sum(gx, self.axis, True)))


cdef class LogSoftmax(Function):
    cdef int axis

    cdef object backward_arrays(self, object gy):
        y = _out_data(self)
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)

    cdef object backward_vars(self, object gy):
        y = _out_var(self)
        return _binary(B_SUB, <Node>gy,
                       _binary(B_MUL, _unary(U_EXP, y, 0), _sum(<Node>gy, self.axis, True)))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum so it never overflows.

    >>> softmax(variable(0.0, 0.0))
    variable[2]([0.5 0.5])
    """
    cdef Node v = as_var(x)
    ax = _one_axis(axis, v._data.ndim, "softmax")
    cdef Node y = new_var(_softmax_array(v._data, ax))
    cdef Softmax f
    if _record1(v):
        f = Softmax.__new__(Softmax)
        f.axis = ax
        link1(f, y, v)
    return y


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed as ``x - logsumexp(x)``.

    >>> log_softmax(variable(0.0, 0.0)).data.round(6)
    array([-0.693147, -0.693147])
    """
    cdef Node v = as_var(x)
    ax = _one_axis(axis, v._data.ndim, "log_softmax")
    cdef Node y = new_var(_log_softmax_array(v._data, ax))
    cdef LogSoftmax f
    if _record1(v):
        f = LogSoftmax.__new__(LogSoftmax)
        f.axis = ax
        link1(f, y, v)
    return y


# ============================================================================ losses

cdef class MeanSquaredError(Function):
    cdef object backward_arrays(self, object gy):
        cdef Node a = self._x0
        cdef Node b = self._x1
        diff = a._data - b._data
        g = diff * (gy * diff.dtype.type(2.0 / diff.size))
        return (None if a._const else sum_to(g, a._data.shape),
                None if b._const else sum_to(np.negative(g), b._data.shape))

    cdef object backward_vars(self, object gy):
        cdef Node a = self._x0
        cdef Node b = self._x1
        diff = _binary(B_SUB, a, b)
        g = _binary(B_MUL, diff, _unary(U_MULC, <Node>gy, 2.0 / diff._data.size))
        return (None if a._const else _sum_to(g, a._data.shape),
                None if b._const else _sum_to(_unary(U_NEG, g, 0), b._data.shape))


def mean_squared_error(y, t):
    """``sum((y - t) ** 2) / N``, N the number of elements of ``y - t``.

    >>> mean_squared_error(variable(1.0, 2.0), variable(0.0, 0.0))
    variable(2.5)
    """
    cdef Node a = as_var(y)
    cdef Node b = as_var(t)
    # a Python number takes the other side's dtype: float32 stays float32
    if _isnum(t):
        b = wrap_const(b._data.astype(a._data.dtype))
    elif _isnum(y):
        a = wrap_const(a._data.astype(b._data.dtype))
    try:
        diff = a._data - b._data
    except ValueError:
        raise ValueError(f"mean_squared_error: shapes {a._data.shape} and {b._data.shape} "
                         f"do not broadcast together") from None
    if diff.size == 0:
        raise ValueError("mean_squared_error: the inputs are empty")
    cdef Node out = new_var(np.asarray((diff * diff).sum() / diff.size, dtype=diff.dtype))
    if _record2(a, b):
        link2(MeanSquaredError.__new__(MeanSquaredError), out, a, b)
    return out


cdef object _labels(object t, tuple xshape, str what):
    if isinstance(t, Node):
        t = (<Node>t)._data
    t = np.asarray(t)
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError(f"{what}: labels must be integers, got non-integer floats")
        if t.size and np.abs(t).max() > 2.0 ** 62:
            raise IndexError(f"{what}: label {t.flat[np.abs(t).argmax()]} is out of range for "
                             f"{xshape[1]} classes")
        t = t.astype(np.intp)
    elif t.dtype.kind == "u":
        if t.size and t.max() > np.iinfo(np.intp).max:     # would wrap to a negative label
            raise IndexError(f"{what}: label {t.max()} is out of range for {xshape[1]} classes")
    elif t.dtype.kind not in "ib":
        raise TypeError(f"{what}: labels must be integers, got dtype {t.dtype}")
    if t.shape != (xshape[0],):
        raise ValueError(f"{what}: labels of shape {t.shape} do not match {xshape[0]} rows "
                         f"(expected shape ({xshape[0]},))")
    t = t.astype(np.intp)       # always a private copy: the graph keeps the labels
    t.flags.writeable = False
    bad = (t != -100) & ((t < 0) | (t >= xshape[1]))
    if bad.any():
        raise IndexError(f"{what}: label {int(t[bad][0])} is out of range for {xshape[1]} classes "
                         f"(expected 0..{xshape[1] - 1}, or -100 to ignore)")
    return t


cdef class SoftmaxCrossEntropy(Function):
    cdef object t
    cdef object valid
    cdef Py_ssize_t count

    cdef tuple _onehot_scale(self, object dtype):
        x = self._x0._data
        onehot = np.zeros(x.shape, dtype=dtype)
        rows = np.nonzero(self.valid)[0]
        onehot[rows, self.t[rows]] = 1
        scale = (self.valid.astype(dtype) / (self.count if self.count else 1))[:, None]
        return onehot, scale

    cdef object backward_arrays(self, object gy):
        x = self._x0._data
        onehot, scale = self._onehot_scale(x.dtype)
        p = _softmax_array(x, 1)
        p -= onehot
        p *= scale
        p *= gy
        return p

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        onehot, scale = self._onehot_scale(x._data.dtype)
        p = <Node>softmax(x, 1)
        d = _binary(B_MUL, _binary(B_SUB, p, wrap_const(onehot)), wrap_const(scale))
        return _binary(B_MUL, d, <Node>gy)


def softmax_cross_entropy(x, t):
    """Mean cross entropy of logits ``x`` (N, C) against integer labels ``t`` (N,).

    Labels equal to -100 are ignored (they count neither in the sum nor in N); when
    every label is, the loss is 0, as in the seed library.

    >>> round(softmax_cross_entropy(variable(0.0, 0.0, 5.0, 5.0).reshape(2, 2), [0, -100]).item(), 6)
    0.693147
    """
    cdef Node v = as_var(x)
    xd = v._data
    if xd.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must have shape (N, C), got {xd.shape}")
    t = _labels(t, xd.shape, "softmax_cross_entropy")
    valid = t != -100
    count = int(valid.sum())
    # as the seed computes it: log z = max + log(sum(exp(x - max))), log p = x - log z,
    # loss = -1/N * sum(log p); N counts the rows not ignored, and with none the loss is 0
    m = xd.max(axis=1, keepdims=True)
    logz = m + log_array(np.exp(xd - m).sum(axis=1, keepdims=True))
    rows = np.nonzero(valid)[0]
    picked = xd[rows, t[rows]] - logz[rows, 0]
    loss = (-1.0 / count) * picked.sum() if count else 0.0
    cdef Node y = new_var(np.asarray(loss, dtype=xd.dtype))
    cdef SoftmaxCrossEntropy f
    if _record1(v):
        f = SoftmaxCrossEntropy.__new__(SoftmaxCrossEntropy)
        f.t = t
        f.valid = valid
        f.count = count
        link1(f, y, v)
    return y


def accuracy(y, t):
    """Fraction of rows whose largest score is at the label (not differentiable).

    Rows labelled -100 are ignored, as ``softmax_cross_entropy`` ignores them (0 when
    every row is).

    >>> accuracy(variable(0.1, 0.9, 0.8, 0.2).reshape(2, 2), [1, 1])
    variable(0.5)
    """
    yd = as_array(y, "accuracy")
    if yd.ndim != 2:
        raise ValueError(f"accuracy: scores must have shape (N, C), got {yd.shape}")
    labels = _labels(t, yd.shape, "accuracy")
    valid = labels != -100          # ignored, as softmax_cross_entropy ignores them
    count = int(valid.sum())
    correct = int((yd.argmax(axis=1)[valid] == labels[valid]).sum())
    return new_var(np.asarray(correct / count if count else 0.0, dtype=yd.dtype))


# ============================================================================ composites

def gelu(x):
    """GELU, the tanh approximation: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> gelu(variable(0.0))
    variable(0)
    """
    cdef Node v = as_var(x)
    inner = _unary(U_MULC, _binary(B_ADD, v, _unary(U_MULC, _unary(U_POW, v, 3.0), 0.044715)),
                   sqrt(2.0 / np.pi))
    return _binary(B_MUL, _unary(U_MULC, v, 0.5), _unary(U_ADDC, _unary(U_TANH, inner, 0), 1.0))


def dropout(x, ratio=0.5, rng=None):
    """Zero each element with probability ``ratio`` and scale the rest by ``1/(1-ratio)``
    in training; the identity in test mode.

    >>> import numpy as np
    >>> sorted(set(dropout(variable(1, 1, 1, 1), 0.5, rng=np.random.default_rng(0)).data.tolist()))
    [0.0, 2.0]
    """
    cdef Node v = as_var(x)
    if not _isnum(ratio) or not (0.0 <= ratio < 1.0):
        raise ValueError(f"dropout: ratio must be a number in [0, 1), got {ratio!r}")
    if not train_enabled() or ratio == 0.0:
        return v
    xd = v._data
    if rng is None:
        u = np.random.random(xd.shape)
    elif hasattr(rng, "random"):
        u = np.asarray(rng.random(xd.shape))
    else:
        raise TypeError(f"dropout: rng must be a numpy Generator or an ag.random source, got {rng!r}")
    mask = (u > ratio).astype(xd.dtype) * xd.dtype.type(1.0 / (1.0 - ratio))
    return _binary(B_MUL, v, wrap_const(mask))
