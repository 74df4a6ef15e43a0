# Included by ops.pyx: elementwise operations and arithmetic. Shares the module namespace.
#
# Every elementwise operation is ONE record: its name, its forward on a C double (the
# one-element fast path) and on an array, and its differentiable backward written with
# the operations themselves. A faster backward on C doubles or on arrays is optional
# and only where a benchmark shows it pays; without one, the plain walk runs the
# differentiable backward on constants. Adding an operation means writing its
# functions, one `_unary_op(...)`/`_binary_op(...)` line, and its public function.

ctypedef double (*u_scalar_fn)(double x, double c) noexcept nogil
ctypedef double (*u_scalar_grad_fn)(double x, double y, double gy, double c) noexcept nogil
ctypedef object (*u_array_fn)(object x, double c)
ctypedef object (*u_array_grad_fn)(object x, object y, object gy, double c)
ctypedef Node (*u_grad_fn)(Node x, Node y, Node gy, double c)

cdef struct UnaryOp:
    const char *name
    u_scalar_fn scalar              # y = f(x, c) on a C double
    u_array_fn array                # y = f(x, c) on an array
    u_grad_fn grad                  # gx from Variables, differentiable
    u_scalar_grad_fn scalar_grad    # optional: gx on C doubles
    u_array_grad_fn array_grad      # optional: gx on arrays
    unsigned char spare             # SPARE_* bits: what no form of its backward reads

ctypedef double (*b_scalar_fn)(double a, double b) noexcept nogil
ctypedef void (*b_scalar_grad_fn)(double a, double b, double y, double gy,
                                  double *ga, double *gb) noexcept nogil
ctypedef object (*b_array_fn)(object a, object b)
ctypedef tuple (*b_array_grad_fn)(object a, object b, object y, object gy, bint need_a, bint need_b)
ctypedef tuple (*b_grad_fn)(Node a, Node b, Node y, Node gy, bint need_a, bint need_b)

cdef struct BinaryOp:
    const char *name
    b_scalar_fn scalar
    b_array_fn array
    b_grad_fn grad                  # (ga, gb) before broadcasting is undone, differentiable
    b_scalar_grad_fn scalar_grad    # optional
    b_array_grad_fn array_grad      # optional
    unsigned char spare             # SPARE_* bits: what no form of its backward reads


cdef int _unary_op(UnaryOp *op, const char *name, u_scalar_fn scalar, u_array_fn array,
                   u_grad_fn grad, u_scalar_grad_fn scalar_grad=NULL,
                   u_array_grad_fn array_grad=NULL) except -1:
    if scalar == NULL or array == NULL or grad == NULL:
        raise SystemError(f"elementwise operation {name!r}: forward and backward are required")
    op.name = name
    op.scalar = scalar
    op.array = array
    op.grad = grad
    op.scalar_grad = scalar_grad
    op.array_grad = array_grad
    return 0


cdef int _binary_op(BinaryOp *op, const char *name, b_scalar_fn scalar, b_array_fn array,
                    b_grad_fn grad, b_scalar_grad_fn scalar_grad=NULL,
                    b_array_grad_fn array_grad=NULL) except -1:
    if scalar == NULL or array == NULL or grad == NULL:
        raise SystemError(f"elementwise operation {name!r}: forward and backward are required")
    op.name = name
    op.scalar = scalar
    op.array = array
    op.grad = grad
    op.scalar_grad = scalar_grad
    op.array_grad = array_grad
    return 0


# ---------------------------------------------------------------------------- the Function nodes

cdef class Unary(Function):
    """An elementwise operation of one variable, optionally with a number ``c``."""
    cdef UnaryOp *op
    cdef double c
    cdef object kept                # ReLU: its output's sign, once the output is released

    @property
    def name(self):
        return self.op.name.decode()

    @property
    def constant(self):
        return self.c

    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        if x._const:
            return None
        xd = x._data
        yd = _out_data(self) if self.kept is None else self.kept
        if self.op.scalar_grad != NULL and _same_scalars(gy, xd):
            return scalar_like(gy, self.op.scalar_grad(scalar_of(xd), scalar_of(yd),
                                                       scalar_of(gy), self.c))
        if self.op.array_grad != NULL:
            return self.op.array_grad(xd, yd, gy, self.c)
        return self.op.grad(wrap_const(xd), wrap_const(yd), wrap_const(gy), self.c)._data

    cdef int backward_scalars(self, double gy, double *gxs) except -2:
        # backward_arrays's one-element path, on the double the walk carries
        cdef Node x = self._x0
        if x._const:
            return 0
        if self.op.scalar_grad == NULL or self.kept is not None:
            return -1
        xd = x._data
        yd = _out_data(self)
        if not _same_scalars(yd, xd):
            return -1
        gxs[0] = self.op.scalar_grad(scalar_of(xd), scalar_of(yd), gy, self.c)
        return 1

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        if x._const:
            return None
        return self.op.grad(x, _out_var(self) if self.kept is None else wrap_const(self.kept),
                            <Node>gy, self.c)

    cdef object backward_batched(self, object gy):
        # the differentiable backward on constants: elementwise, so the batch axis in
        # front of gy broadcasts against x and y
        cdef Node x = self._x0
        if x._const:
            return None
        yd = _out_data(self) if self.kept is None else self.kept
        return self.op.grad(wrap_const(x._data), wrap_const(yd), wrap_const(gy), self.c)._data

    cdef bint release_output(self, Node y) except -1:
        if self.op.spare & SPARE_Y:
            return True
        if self.op == &U_RELU:
            # ReLU's backward reads only where its output is positive: a byte an element
            self.kept = np.greater(y._data, 0)
            return True
        return False


cdef Node _unary(UnaryOp *op, Node x, double c):
    cdef object xd = x._data
    cdef object yd
    cdef Unary f
    if is_scalar64(xd):
        yd = scalar_like(xd, op.scalar(scalar_of(xd), c))
    else:
        yd = op.array(xd, c)
    cdef Node y = new_var(yd)
    if grad_enabled() and not x._const:
        f = Unary.__new__(Unary)
        f.op = op
        f.c = c
        f._spare = op.spare
        link1(f, y, x)
    return y


cdef class Binary(Function):
    """An elementwise operation of two variables, with NumPy broadcasting."""
    cdef BinaryOp *op

    @property
    def name(self):
        return self.op.name.decode()

    cdef object backward_arrays(self, object gy):
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        cdef bint need_a = not x0._const
        cdef bint need_b = not x1._const
        cdef double ga = 0, gb = 0
        a = x0._data
        b = x1._data
        if self.op.scalar_grad != NULL and _same_scalars(a, b) and _same_scalars(a, gy):
            self.op.scalar_grad(scalar_of(a), scalar_of(b), scalar_of(_out_data(self)),
                                scalar_of(gy), &ga, &gb)
            return (scalar_like(gy, ga) if need_a else None,
                    scalar_like(gy, gb) if need_b else None)
        if self.op.array_grad != NULL:
            gxs = self.op.array_grad(a, b, _out_data(self), gy, need_a, need_b)
        else:
            gxs = self.op.grad(wrap_const(a), wrap_const(b), wrap_const(_out_data(self)),
                               wrap_const(gy), need_a, need_b)
            gxs = tuple([None if g is None else (<Node>g)._data for g in gxs])
        return (sum_to_array(gxs[0], a.shape) if need_a and gxs[0] is not None else None,
                sum_to_array(gxs[1], b.shape) if need_b and gxs[1] is not None else None)

    cdef int backward_scalars(self, double gy, double *gxs) except -2:
        # backward_arrays's one-element path, on the double the walk carries
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        a = x0._data
        b = x1._data
        yd = _out_data(self)
        if self.op.scalar_grad == NULL or not (_same_scalars(a, b) and _same_scalars(a, yd)):
            return -1
        self.op.scalar_grad(scalar_of(a), scalar_of(b), scalar_of(yd), gy, &gxs[0], &gxs[1])
        return (0 if x0._const else 1) | (0 if x1._const else 2)

    cdef object backward_vars(self, object gy):
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        cdef bint need_a = not x0._const
        cdef bint need_b = not x1._const
        gxs = self.op.grad(x0, x1, _out_var(self), <Node>gy, need_a, need_b)
        return (_sum_to(<Node>gxs[0], x0._data.shape) if need_a and gxs[0] is not None else None,
                _sum_to(<Node>gxs[1], x1._data.shape) if need_b and gxs[1] is not None else None)

    cdef object backward_batched(self, object gy):
        cdef Node x0 = self._x0
        cdef Node x1 = self._x1
        cdef bint need_a = not x0._const
        cdef bint need_b = not x1._const
        gxs = self.op.grad(wrap_const(x0._data), wrap_const(x1._data),
                           wrap_const(_out_data(self)), wrap_const(gy), need_a, need_b)
        ga, gb = gxs
        return (sum_to_batched(_batch_of((<Node>ga)._data, gy), x0._data.shape)
                if need_a and ga is not None else None,
                sum_to_batched(_batch_of((<Node>gb)._data, gy), x1._data.shape)
                if need_b and gb is not None else None)


cdef object _batch_of(object g, object gy):
    """A gradient that does not depend on gy (Add's passes it through, but a backward may
    return a broadcast constant) given the batch axis gy has."""
    if g.ndim == gy.ndim and g.shape[0] == gy.shape[0]:
        return g
    return np.broadcast_to(g, np.broadcast_shapes(g.shape, gy.shape))


# one of each is made per recorded operation: their memory is reused
use_free_list(Unary)
use_free_list(Binary)


cdef Node _binary(BinaryOp *op, Node a, Node b):
    cdef object ad = a._data
    cdef object bd = b._data
    cdef object yd
    cdef Binary f
    if _same_scalars(ad, bd):
        yd = scalar_like(ad, op.scalar(scalar_of(ad), scalar_of(bd)))
    else:
        try:
            yd = op.array(ad, bd)
        except ValueError:
            raise ValueError(f"{op.name.decode().lower()}: shapes {ad.shape} and {bd.shape} "
                             f"do not broadcast together") from None
    cdef Node y = new_var(yd)
    if grad_enabled() and not (a._const and b._const):
        f = Binary.__new__(Binary)
        f.op = op
        f._spare = op.spare
        link2(f, y, a, b)
    return y


cdef inline object _num(object x, double c):
    # a constant in the array's dtype: NumPy 1.x would promote a 0-d float32 array
    # combined with a Python float to float64
    return x.dtype.type(c)


cdef inline Node _const_like(Node x, object arr):
    """A constant of ``x``'s dtype (masks, signs, slopes that backward multiplies by)."""
    return wrap_const(np.asarray(arr, dtype=x._data.dtype))


# ============================================================================ the unary records

cdef UnaryOp U_NEG, U_EXP, U_LOG, U_SIN, U_COS, U_TANH, U_SIGMOID, U_RELU, U_SQUARE, U_POW
cdef UnaryOp U_ADDC, U_SUBC, U_RSUBC, U_MULC, U_DIVC, U_RDIVC, U_RPOW
cdef UnaryOp U_ABS, U_SQRT, U_LEAKY_RELU, U_SOFTPLUS, U_LOG1P

# neg: -x
cdef double _neg_s(double x, double c) noexcept nogil: return -x
cdef object _neg_a(object x, double c): return np.negative(x)
cdef Node _neg_g(Node x, Node y, Node gy, double c): return _unary(&U_NEG, gy, 0)
cdef double _neg_sg(double x, double y, double gy, double c) noexcept nogil: return -gy
_unary_op(&U_NEG, "Neg", _neg_s, _neg_a, _neg_g, _neg_sg)

# exp: e ** x
cdef double _exp_s(double x, double c) noexcept nogil: return c_exp(x)
cdef object _exp_a(object x, double c): return exp_array(x)
cdef Node _exp_g(Node x, Node y, Node gy, double c): return _binary(&B_MUL, gy, y)
cdef double _exp_sg(double x, double y, double gy, double c) noexcept nogil: return gy * y
cdef object _exp_ag(object x, object y, object gy, double c): return gy * y
_unary_op(&U_EXP, "Exp", _exp_s, _exp_a, _exp_g, _exp_sg, _exp_ag)

# log: natural logarithm, Go's digits
cdef double _log_s(double x, double c) noexcept nogil: return go_log(x)
cdef object _log_a(object x, double c): return log_array(x)
cdef Node _log_g(Node x, Node y, Node gy, double c): return _binary(&B_DIV, gy, x)
cdef double _log_sg(double x, double y, double gy, double c) noexcept nogil: return gy / x
cdef object _log_ag(object x, object y, object gy, double c): return gy / x
_unary_op(&U_LOG, "Log", _log_s, _log_a, _log_g, _log_sg, _log_ag)

# sin
cdef double _sin_s(double x, double c) noexcept nogil: return c_sin(x)
cdef object _sin_a(object x, double c): return np.sin(x)
cdef Node _sin_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _unary(&U_COS, x, 0))
cdef double _sin_sg(double x, double y, double gy, double c) noexcept nogil: return gy * c_cos(x)
cdef object _sin_ag(object x, object y, object gy, double c): return gy * np.cos(x)
_unary_op(&U_SIN, "Sin", _sin_s, _sin_a, _sin_g, _sin_sg, _sin_ag)

# cos
cdef double _cos_s(double x, double c) noexcept nogil: return c_cos(x)
cdef object _cos_a(object x, double c): return np.cos(x)
cdef Node _cos_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _unary(&U_NEG, _unary(&U_SIN, x, 0), 0))
cdef double _cos_sg(double x, double y, double gy, double c) noexcept nogil: return gy * -c_sin(x)
cdef object _cos_ag(object x, object y, object gy, double c): return gy * -np.sin(x)
_unary_op(&U_COS, "Cos", _cos_s, _cos_a, _cos_g, _cos_sg, _cos_ag)

# tanh: Go's math.Tanh; its gradient 1 - y**2 fused in one pass
cdef double _tanh_s(double x, double c) noexcept nogil: return tanh_scalar(x)
cdef object _tanh_a(object x, double c): return tanh_array(x)
cdef Node _tanh_g(Node x, Node y, Node gy, double c): return _binary(&B_TANH_GRAD, gy, y)
cdef double _tanh_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy * (1.0 - y * y)
cdef object _tanh_ag(object x, object y, object gy, double c): return tanh_grad(y, gy)
_unary_op(&U_TANH, "Tanh", _tanh_s, _tanh_a, _tanh_g, _tanh_sg, _tanh_ag)

# sigmoid: 0.5 + 0.5 tanh(x / 2), and gy * (y * (1 - y)), grouped as the seed groups them
cdef double _sigmoid_s(double x, double c) noexcept nogil: return sigmoid_scalar(x)
cdef object _sigmoid_a(object x, double c): return sigmoid_array(x)
cdef Node _sigmoid_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _binary(&B_MUL, y, _unary(&U_RSUBC, y, 1.0)))
cdef double _sigmoid_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy * (y * (1.0 - y))
cdef object _sigmoid_ag(object x, object y, object gy, double c): return sigmoid_grad(y, gy)
_unary_op(&U_SIGMOID, "Sigmoid", _sigmoid_s, _sigmoid_a, _sigmoid_g, _sigmoid_sg, _sigmoid_ag)

# relu: max(x, 0); gradient 0 at 0 (PyTorch's). Both ways one compiled pass; the gradient
# reads the output (y > 0 exactly where x > 0), as PyTorch's threshold_backward
cdef double _relu_s(double x, double c) noexcept nogil: return x if x > 0 else (x if x != x else 0.0)
cdef object _relu_a(object x, double c): return relu_array(x)
cdef Node _relu_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _const_like(gy, y._data > 0))    # y: the output, or its sign
cdef double _relu_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy if y > 0 else 0.0
cdef object _relu_ag(object x, object y, object gy, double c): return relu_grad(y, gy)
_unary_op(&U_RELU, "ReLU", _relu_s, _relu_a, _relu_g, _relu_sg, _relu_ag)

# square: x * x; its backward 2 x**1 gy as the seed's x ** 2, so x stays in the graph
# at every order (the third derivative is a zero, not None)
cdef double _square_s(double x, double c) noexcept nogil: return x * x
cdef object _square_a(object x, double c): return np.square(x)
cdef Node _square_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _unary(&U_MULC, _unary(&U_POW, x, 1.0), 2.0))
cdef double _square_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy * (2.0 * x)
cdef object _square_ag(object x, object y, object gy, double c): return gy * (_num(x, 2) * x)
_unary_op(&U_SQUARE, "Square", _square_s, _square_a, _square_g, _square_sg, _square_ag)

# pow: x ** c, Go's math.Pow; d/dx x**0 = 0 everywhere (PyTorch's value at x = 0)
cdef double _pow_s(double x, double c) noexcept nogil: return go_pow(x, c)
cdef object _pow_a(object x, double c): return pow_array(x, c)
cdef Node _pow_g(Node x, Node y, Node gy, double c):
    if c == 0.0:
        return _unary(&U_MULC, gy, 0.0)
    return _binary(&B_MUL, gy, _unary(&U_MULC, _unary(&U_POW, x, c - 1.0), c))
cdef double _pow_sg(double x, double y, double gy, double c) noexcept nogil:
    return 0.0 if c == 0.0 else gy * (c * go_pow(x, c - 1.0))
cdef object _pow_ag(object x, object y, object gy, double c):
    if c == 0.0:
        return np.zeros_like(gy)
    return gy * (_num(x, c) * pow_array(x, c - 1.0))
_unary_op(&U_POW, "Pow", _pow_s, _pow_a, _pow_g, _pow_sg, _pow_ag)

# x + c, x - c, c - x, x * c, x / c, c / x: a Python number stored on the operation
cdef double _addc_s(double x, double c) noexcept nogil: return x + c
cdef object _addc_a(object x, double c): return x + _num(x, c)
cdef Node _pass_g(Node x, Node y, Node gy, double c): return gy
cdef double _pass_sg(double x, double y, double gy, double c) noexcept nogil: return gy
cdef object _pass_ag(object x, object y, object gy, double c): return gy
_unary_op(&U_ADDC, "AddC", _addc_s, _addc_a, _pass_g, _pass_sg, _pass_ag)

cdef double _subc_s(double x, double c) noexcept nogil: return x - c
cdef object _subc_a(object x, double c): return x - _num(x, c)
_unary_op(&U_SUBC, "SubC", _subc_s, _subc_a, _pass_g, _pass_sg, _pass_ag)

cdef double _rsubc_s(double x, double c) noexcept nogil: return c - x
cdef object _rsubc_a(object x, double c): return _num(x, c) - x
cdef object _neg_ag(object x, object y, object gy, double c): return np.negative(gy)
_unary_op(&U_RSUBC, "RSubC", _rsubc_s, _rsubc_a, _neg_g, _neg_sg, _neg_ag)

cdef double _mulc_s(double x, double c) noexcept nogil: return x * c
cdef object _mulc_a(object x, double c): return x * _num(x, c)
cdef Node _mulc_g(Node x, Node y, Node gy, double c): return _unary(&U_MULC, gy, c)
cdef double _mulc_sg(double x, double y, double gy, double c) noexcept nogil: return gy * c
cdef object _mulc_ag(object x, object y, object gy, double c): return gy * _num(gy, c)
_unary_op(&U_MULC, "MulC", _mulc_s, _mulc_a, _mulc_g, _mulc_sg, _mulc_ag)

cdef double _divc_s(double x, double c) noexcept nogil: return x / c
cdef object _divc_a(object x, double c): return x / _num(x, c)
cdef Node _divc_g(Node x, Node y, Node gy, double c): return _unary(&U_DIVC, gy, c)
cdef double _divc_sg(double x, double y, double gy, double c) noexcept nogil: return gy / c
cdef object _divc_ag(object x, object y, object gy, double c): return gy / _num(gy, c)
_unary_op(&U_DIVC, "DivC", _divc_s, _divc_a, _divc_g, _divc_sg, _divc_ag)

cdef double _rdivc_s(double x, double c) noexcept nogil: return c / x
cdef object _rdivc_a(object x, double c): return _num(x, c) / x
cdef Node _rdivc_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _unary(&U_RDIVC, _binary(&B_MUL, x, x), -c))
cdef double _rdivc_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy * (-c / (x * x))
cdef object _rdivc_ag(object x, object y, object gy, double c):
    return gy * ((-_num(x, c)) / (x * x))
_unary_op(&U_RDIVC, "RDivC", _rdivc_s, _rdivc_a, _rdivc_g, _rdivc_sg, _rdivc_ag)

# c ** x; at a zero base no gradient where x >= 0 (PyTorch's convention, never NaN)
cdef double _rpow_s(double x, double c) noexcept nogil: return go_pow(c, x)
cdef object _rpow_a(object x, double c): return np.power(_num(x, c), x)
cdef Node _rpow_g(Node x, Node y, Node gy, double c):
    g = _binary(&B_MUL, gy, _unary(&U_MULC, y, c_log(c)))
    return _where_zero(g, x._data >= 0) if c == 0.0 else g
cdef double _rpow_sg(double x, double y, double gy, double c) noexcept nogil:
    if c == 0.0 and x >= 0:
        return 0.0
    return gy * (y * c_log(c))
_unary_op(&U_RPOW, "RPow", _rpow_s, _rpow_a, _rpow_g, _rpow_sg)

# abs: |x|; gradient sign(x), 0 at 0 (PyTorch's)
cdef double _abs_s(double x, double c) noexcept nogil: return c_fabs(x)
cdef object _abs_a(object x, double c): return np.abs(x)
cdef Node _abs_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _const_like(x, np.sign(x._data)))
cdef double _abs_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy if x > 0 else (-gy if x < 0 else 0.0 * gy)
_unary_op(&U_ABS, "Abs", _abs_s, _abs_a, _abs_g, _abs_sg)

# sqrt; gradient 1 / (2 sqrt(x)), inf at 0 as NumPy says
cdef double _sqrt_s(double x, double c) noexcept nogil: return c_sqrt(x)
cdef object _sqrt_a(object x, double c): return np.sqrt(x)
cdef Node _sqrt_g(Node x, Node y, Node gy, double c):
    return _binary(&B_DIV, _unary(&U_MULC, gy, 0.5), y)
cdef double _sqrt_sg(double x, double y, double gy, double c) noexcept nogil:
    return (0.5 * gy) / y
_unary_op(&U_SQRT, "Sqrt", _sqrt_s, _sqrt_a, _sqrt_g, _sqrt_sg)

# leaky_relu: x where x > 0, slope * x elsewhere; at 0 the slope (PyTorch's)
cdef double _leaky_s(double x, double c) noexcept nogil: return x if x > 0 else x * c
cdef object _leaky_a(object x, double c): return np.where(x > 0, x, x * _num(x, c))
cdef Node _leaky_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _const_like(x, np.where(x._data > 0, 1.0, c)))
cdef double _leaky_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy if x > 0 else gy * c
_unary_op(&U_LEAKY_RELU, "LeakyReLU", _leaky_s, _leaky_a, _leaky_g, _leaky_sg)

# softplus: log(1 + e**x) = max(x, 0) + log1p(e**-|x|), without overflow; gradient sigmoid(x)
cdef double _softplus_s(double x, double c) noexcept nogil:
    return (x if x > 0 else 0.0) + c_log1p(c_exp(-c_fabs(x)))
cdef object _softplus_a(object x, double c):
    return np.maximum(x, _num(x, 0)) + np.log1p(exp_array(-np.abs(x)))
cdef Node _softplus_g(Node x, Node y, Node gy, double c):
    return _binary(&B_MUL, gy, _unary(&U_SIGMOID, x, 0))
cdef double _softplus_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy * sigmoid_scalar(x)
_unary_op(&U_SOFTPLUS, "Softplus", _softplus_s, _softplus_a, _softplus_g, _softplus_sg)

# log1p: log(1 + x), accurate near 0
cdef double _log1p_s(double x, double c) noexcept nogil: return c_log1p(x)
cdef object _log1p_a(object x, double c): return np.log1p(x)
cdef Node _log1p_g(Node x, Node y, Node gy, double c):
    return _binary(&B_DIV, gy, _unary(&U_ADDC, x, 1.0))
cdef double _log1p_sg(double x, double y, double gy, double c) noexcept nogil:
    return gy / (1.0 + x)
_unary_op(&U_LOG1P, "Log1p", _log1p_s, _log1p_a, _log1p_g, _log1p_sg)


# ============================================================================ the binary records

cdef BinaryOp B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM

# tanh's gradient gy * (1 - y*y) as one operation of (gy, y), as PyTorch's tanh_backward:
# each order of a higher derivative of tanh adds one node here rather than three
cdef BinaryOp B_TANH_GRAD
cdef double _tanh_grad_s(double gy, double y) noexcept nogil: return gy * (1.0 - y * y)
cdef object _tanh_grad_a(object gy, object y):
    if np.shape(gy) == np.shape(y):
        return tanh_grad(y, gy)
    return gy * (1 - y * y)
cdef tuple _tanh_grad_g(Node gy, Node y, Node out, Node g, bint need_a, bint need_b):
    return (_binary(&B_TANH_GRAD, g, y) if need_a else None,
            _unary(&U_MULC, _binary(&B_MUL, _binary(&B_MUL, g, gy), y), -2.0) if need_b else None)
cdef void _tanh_grad_sg(double gy, double y, double out, double g,
                        double *ga, double *gb) noexcept nogil:
    ga[0] = g * (1.0 - y * y)
    gb[0] = g * gy * y * -2.0
cdef tuple _tanh_grad_ag(object gy, object y, object out, object g, bint need_a, bint need_b):
    return (_tanh_grad_a(g, y) if need_a else None,
            g * gy * y * _num(y, -2.0) if need_b else None)
_binary_op(&B_TANH_GRAD, "TanhGrad", _tanh_grad_s, _tanh_grad_a, _tanh_grad_g, _tanh_grad_sg,
           _tanh_grad_ag)

# a + b
cdef double _add_s(double a, double b) noexcept nogil: return a + b
cdef object _add_a(object a, object b): return a + b
cdef tuple _add_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b): return (gy, gy)
cdef void _add_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy
    gb[0] = gy
cdef tuple _add_ag(object a, object b, object y, object gy, bint need_a, bint need_b):
    return (gy, gy)
_binary_op(&B_ADD, "Add", _add_s, _add_a, _add_g, _add_sg, _add_ag)

# a - b
cdef double _sub_s(double a, double b) noexcept nogil: return a - b
cdef object _sub_a(object a, object b): return a - b
cdef tuple _sub_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    return (gy, _unary(&U_NEG, gy, 0) if need_b else None)
cdef void _sub_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy
    gb[0] = -gy
cdef tuple _sub_ag(object a, object b, object y, object gy, bint need_a, bint need_b):
    return (gy, np.negative(gy) if need_b else None)
_binary_op(&B_SUB, "Sub", _sub_s, _sub_a, _sub_g, _sub_sg, _sub_ag)

# a * b
cdef double _mul_s(double a, double b) noexcept nogil: return a * b
cdef object _mul_a(object a, object b): return a * b
cdef tuple _mul_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    return (_binary(&B_MUL, gy, b) if need_a else None,
            _binary(&B_MUL, gy, a) if need_b else None)
cdef void _mul_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy * b
    gb[0] = gy * a
cdef tuple _mul_ag(object a, object b, object y, object gy, bint need_a, bint need_b):
    return (gy * b if need_a else None, gy * a if need_b else None)
_binary_op(&B_MUL, "Mul", _mul_s, _mul_a, _mul_g, _mul_sg, _mul_ag)

# a / b
cdef double _div_s(double a, double b) noexcept nogil: return a / b
cdef object _div_a(object a, object b): return a / b
cdef tuple _div_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    return (_binary(&B_DIV, gy, b) if need_a else None,
            _binary(&B_MUL, gy, _binary(&B_DIV, _unary(&U_NEG, a, 0), _binary(&B_MUL, b, b)))
            if need_b else None)
cdef void _div_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy / b
    gb[0] = gy * (-a / (b * b))
cdef tuple _div_ag(object a, object b, object y, object gy, bint need_a, bint need_b):
    return (gy / b if need_a else None, gy * (-a / (b * b)) if need_b else None)
_binary_op(&B_DIV, "Div", _div_s, _div_a, _div_g, _div_sg, _div_ag)

# a ** b; PyTorch's values at a zero base, never NaN: 0 for the base when the exponent
# is 0 too (0 * 0**-1), 0 for the exponent when it is not negative
cdef double _powb_s(double a, double b) noexcept nogil: return go_pow(a, b)
cdef object _powb_a(object a, object b): return np.power(a, b)
cdef tuple _powb_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if need_a:
            ga = _binary(&B_MUL, gy, _binary(&B_MUL, b, _binary(&B_POW, a, _unary(&U_SUBC, b, 1.0))))
            ga = _where_zero(ga, (b._data == 0) & (a._data == 0))
        if need_b:
            gb = _binary(&B_MUL, gy, _binary(&B_MUL, y, _unary(&U_LOG, a, 0)))
            gb = _where_zero(gb, (a._data == 0) & (b._data >= 0))
    return (ga, gb)
cdef tuple _powb_ag(object a, object b, object y, object gy, bint need_a, bint need_b):
    ga = gb = None
    zero = b.dtype.type(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if need_a:
            ga = np.where((b == 0) & (a == 0), zero, gy * (b * np.power(a, b - b.dtype.type(1))))
        if need_b:
            gb = np.where((a == 0) & (b >= 0), zero, gy * (y * np.log(a)))
    return (ga, gb)
_binary_op(&B_POW, "Pow", _powb_s, _powb_a, _powb_g, NULL, _powb_ag)

# maximum(a, b), minimum(a, b): the gradient goes to the chosen side, split evenly at a
# tie (PyTorch's)
cdef double _maximum_s(double a, double b) noexcept nogil:
    return a if (a >= b or a != a) else b
cdef object _maximum_a(object a, object b): return np.maximum(a, b)
cdef double _minimum_s(double a, double b) noexcept nogil:
    return a if (a <= b or a != a) else b
cdef object _minimum_a(object a, object b): return np.minimum(a, b)

cdef tuple _choose_g(Node a, Node b, Node gy, bint need_a, bint need_b, object share_a):
    return (_binary(&B_MUL, gy, _const_like(gy, share_a)) if need_a else None,
            _binary(&B_MUL, gy, _const_like(gy, 1.0 - share_a)) if need_b else None)
cdef tuple _maximum_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    share_a = np.where(a._data > b._data, 1.0, np.where(a._data == b._data, 0.5, 0.0))
    return _choose_g(a, b, gy, need_a, need_b, share_a)
cdef tuple _minimum_g(Node a, Node b, Node y, Node gy, bint need_a, bint need_b):
    share_a = np.where(a._data < b._data, 1.0, np.where(a._data == b._data, 0.5, 0.0))
    return _choose_g(a, b, gy, need_a, need_b, share_a)
cdef void _maximum_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy if a > b else (0.5 * gy if a == b else 0.0)
    gb[0] = gy - ga[0] if a >= b else gy
cdef void _minimum_sg(double a, double b, double y, double gy, double *ga, double *gb) noexcept nogil:
    ga[0] = gy if a < b else (0.5 * gy if a == b else 0.0)
    gb[0] = gy - ga[0] if a <= b else gy
_binary_op(&B_MAXIMUM, "Maximum", _maximum_s, _maximum_a, _maximum_g, _maximum_sg)
_binary_op(&B_MINIMUM, "Minimum", _minimum_s, _minimum_a, _minimum_g, _minimum_sg)


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
        if PyLong_CheckExact(c):       # without making a float object on the way
            return PyLong_AsDouble(c)
        return <double>c
    except OverflowError:
        raise ValueError(f"{what}: the number {c} is too large for float64") from None


# What no form of an operation's backward reads (the walk may release it: graph.pyx,
# "Releasing data"). Those that read their output keep it; ReLU keeps its sign instead
# when its output is released (Unary.release_output).
U_NEG.spare = SPARE_X0 | SPARE_Y
U_ADDC.spare = U_SUBC.spare = U_RSUBC.spare = SPARE_X0 | SPARE_Y
U_MULC.spare = U_DIVC.spare = SPARE_X0 | SPARE_Y
U_EXP.spare = U_TANH.spare = U_SIGMOID.spare = U_RELU.spare = SPARE_X0
B_ADD.spare = B_SUB.spare = SPARE_X0 | SPARE_X1 | SPARE_Y
B_MUL.spare = SPARE_Y


# ============================================================================ arithmetic

cdef object _var_type = None     # the Variable class (registered by variable.py)


cdef inline bint _is_node(object o):
    # isinstance(o, Node), at the cost of one comparison for the Variable class itself
    return type(o) is _var_type or isinstance(o, Node)


cdef inline bint _isnum(object c):
    # the exact types first: isinstance(2, float) asks the type's base classes
    return (PyFloat_CheckExact(c) or PyLong_CheckExact(c) or isinstance(c, float)
            or isinstance(c, int))


cdef inline object _arith(object a, object b, UnaryOp *number_right, UnaryOp *number_left,
                          BinaryOp *op):
    """``a (op) b``. A Python number on either side is stored on the operation (one node,
    ``number_right`` when it is ``b``, ``number_left`` when it is ``a``); otherwise both
    sides become Variables (arrays as constants) for the broadcasting ``op``."""
    if _is_node(a) and _isnum(b):
        return _unary(number_right, <Node>a, _number(b, "operand"))
    if _is_node(b) and _isnum(a):
        return _unary(number_left, <Node>b, _number(a, "operand"))
    return _binary(op, as_var(a), as_var(b))


def add(a, b):
    """``a + b`` with broadcasting.

    >>> add(variable(1.0, 2.0), 10.0)
    variable[2]([11 12])
    """
    return _arith(a, b, &U_ADDC, &U_ADDC, &B_ADD)


def radd(a, b):
    return _arith(b, a, &U_ADDC, &U_ADDC, &B_ADD)


def sub(a, b):
    """``a - b`` with broadcasting.

    >>> sub(variable(3.0), 1.0)
    variable(2)
    """
    return _arith(a, b, &U_SUBC, &U_RSUBC, &B_SUB)


def rsub(a, b):
    return _arith(b, a, &U_SUBC, &U_RSUBC, &B_SUB)


def mul(a, b):
    """``a * b`` with broadcasting.

    >>> mul(variable(1.0, 2.0), variable(3.0))
    variable[2]([3 6])
    """
    return _arith(a, b, &U_MULC, &U_MULC, &B_MUL)


def rmul(a, b):
    return _arith(b, a, &U_MULC, &U_MULC, &B_MUL)


def div(a, b):
    """``a / b`` with broadcasting.

    >>> div(variable(1.0), 4.0)
    variable(0.25)
    """
    return _arith(a, b, &U_DIVC, &U_RDIVC, &B_DIV)


def rdiv(a, b):
    return _arith(b, a, &U_DIVC, &U_RDIVC, &B_DIV)


def pow(x, c):
    """``x ** c``: ``c`` a number (Go's ``Pow(c)(x)``) or a Variable.

    >>> pow(variable(3.0), 2)
    variable(9)
    """
    return _pow(x, c)


cdef object _pow(object x, object c):
    if _isnum(c):
        return _unary(&U_POW, as_var(x), _number(c, "pow"))
    if c is None:
        raise TypeError("pow: the exponent is None; expected a number or a Variable")
    if _isnum(x):
        return _unary(&U_RPOW, as_var(c), _number(x, "pow"))
    return _binary(&B_POW, as_var(x), as_var(c))


def rpow(x, c):
    return _pow(c, x)


# The Variable class's number slots. Its operators are these functions (variable.py:
# ``__mul__ = _ops.mul``...), which CPython would reach through its generic slots (a
# lookup of ``__mul__`` or ``__rmul__`` by name, then a call). The slots are set to
# the compiled functions themselves, as for a compiled type; a slot receives the
# operands in the expression's order, whichever of them is the Variable.
cdef object _nb_add(object a, object b):
    return _arith(a, b, &U_ADDC, &U_ADDC, &B_ADD)


cdef object _nb_sub(object a, object b):
    return _arith(a, b, &U_SUBC, &U_RSUBC, &B_SUB)


cdef object _nb_mul(object a, object b):
    return _arith(a, b, &U_MULC, &U_MULC, &B_MUL)


cdef object _nb_div(object a, object b):
    return _arith(a, b, &U_DIVC, &U_RDIVC, &B_DIV)


cdef object _nb_pow(object a, object b, object modulus):
    if modulus is not None:
        raise TypeError("pow() with a modulus is not supported for Variables")
    return _pow(a, b)


cdef object _nb_neg(object a):
    return _unary(&U_NEG, <Node>a, 0)


cdef void _number_slots(object cls) noexcept:
    """Set ``cls``'s number slots to the compiled operators, each only where the class
    defines that operator as this module's function (both sides, for a binary one)."""
    global _var_type
    _var_type = cls
    d = cls.__dict__
    if d.get("__add__") is add and d.get("__radd__") is radd:
        ag_set_slot(cls, 0, <void *>_nb_add)
    if d.get("__sub__") is sub and d.get("__rsub__") is rsub:
        ag_set_slot(cls, 1, <void *>_nb_sub)
    if d.get("__mul__") is mul and d.get("__rmul__") is rmul:
        ag_set_slot(cls, 2, <void *>_nb_mul)
    if d.get("__truediv__") is div and d.get("__rtruediv__") is rdiv:
        ag_set_slot(cls, 3, <void *>_nb_div)
    if d.get("__pow__") is pow and d.get("__rpow__") is rpow:
        ag_set_slot(cls, 4, <void *>_nb_pow)
    if d.get("__neg__") is neg:
        ag_set_slot(cls, 5, <void *>_nb_neg)


register_class_hook(_number_slots)


def maximum(a, b):
    """The larger of ``a`` and ``b``, elementwise with broadcasting; at a tie the gradient
    is split evenly between them (PyTorch's convention).

    >>> maximum(variable(1.0, 5.0), 3.0)
    variable[2]([3 5])
    """
    return _binary(&B_MAXIMUM, as_var(a), _operand_like(b, a))


def minimum(a, b):
    """The smaller of ``a`` and ``b``, elementwise with broadcasting; at a tie the gradient
    is split evenly.

    >>> minimum(variable(1.0, 5.0), 3.0)
    variable[2]([1 3])
    """
    return _binary(&B_MINIMUM, as_var(a), _operand_like(b, a))


cdef Node _operand_like(object b, object a):
    """``b`` as a Variable; a Python number takes the dtype of ``a`` (float32 stays)."""
    if _isnum(b) and isinstance(a, Node):
        return wrap_const(np.asarray(_number(b, "operand"), dtype=(<Node>a)._data.dtype))
    return as_var(b)


def neg(x):
    """``-x``.

    >>> neg(variable(1.0, -2.0))
    variable[2]([-1 2])
    """
    return _unary(&U_NEG, as_var(x), 0)


def square(x):
    """``x * x``.

    >>> square(variable(3.0))
    variable(9)
    """
    return _unary(&U_SQUARE, as_var(x), 0)


def exp(x):
    """``e ** x``.

    >>> exp(variable(0.0))
    variable(1)
    """
    return _unary(&U_EXP, as_var(x), 0)


def log(x):
    """Natural logarithm (Go's ``math.Log`` digits at float64).

    >>> log(variable(1.0))
    variable(0)
    """
    return _unary(&U_LOG, as_var(x), 0)


def sin(x):
    """Sine.

    >>> sin(variable(0.0))
    variable(0)
    """
    return _unary(&U_SIN, as_var(x), 0)


def cos(x):
    """Cosine.

    >>> cos(variable(0.0))
    variable(1)
    """
    return _unary(&U_COS, as_var(x), 0)


def tanh(x):
    """Hyperbolic tangent (Go's ``math.Tanh``), without overflow.

    >>> tanh(variable(0.0, 1000.0))
    variable[2]([0 1])
    """
    return _unary(&U_TANH, as_var(x), 0)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed as ``0.5 + 0.5 tanh(x / 2)`` (the seed's form).

    >>> sigmoid(variable(0.0, -1000.0))
    variable[2]([0.5 0])
    """
    return _unary(&U_SIGMOID, as_var(x), 0)


def relu(x):
    """``max(x, 0)``; the gradient is 0 at 0.

    >>> relu(variable(-1.0, 2.0))
    variable[2]([0 2])
    """
    return _unary(&U_RELU, as_var(x), 0)


def abs(x):
    """``|x|``; the gradient is ``sign(x)``, 0 at 0.

    >>> abs(variable(-2.0, 3.0))
    variable[2]([2 3])
    """
    return _unary(&U_ABS, as_var(x), 0)


def sqrt(x):
    """Square root; the gradient ``1 / (2 sqrt(x))`` is inf at 0, as NumPy says.

    >>> sqrt(variable(4.0, 9.0))
    variable[2]([2 3])
    """
    return _unary(&U_SQRT, as_var(x), 0)


def leaky_relu(x, slope=0.01):
    """``x`` where ``x > 0``, ``slope * x`` elsewhere; the gradient at 0 is ``slope``.

    >>> leaky_relu(variable(-2.0, 3.0), 0.1)
    variable[2]([-0.2 3])
    """
    if not _isnum(slope):
        raise TypeError(f"leaky_relu: slope must be a number, got {slope!r}")
    return _unary(&U_LEAKY_RELU, as_var(x), _number(slope, "leaky_relu"))


def softplus(x):
    """``log(1 + e**x)``, without overflow; its gradient is ``sigmoid(x)``.

    >>> softplus(variable(0.0, 1000.0))
    variable[2]([0.6931471805599453 1000])
    """
    return _unary(&U_SOFTPLUS, as_var(x), 0)


def log1p(x):
    """``log(1 + x)``, accurate for small ``x``.

    >>> log1p(variable(0.0))
    variable(0)
    """
    return _unary(&U_LOG1P, as_var(x), 0)


cdef object _add_nodes(object a, object b):
    return _binary(&B_ADD, <Node>a, <Node>b)


register_add_fn(_add_nodes)
