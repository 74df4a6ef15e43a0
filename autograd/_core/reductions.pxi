# Included by ops.pyx: reductions. Shares the module namespace (helpers, records, other families).

# ============================================================================ reductions

cdef class Sum(Function):
    cdef object axes
    cdef bint keepdims

    cdef object backward_arrays(self, object gy):
        shape = self._x0._data.shape
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(shape, self.axes))
        return np.broadcast_to(gy, shape)

    cdef object backward_batched(self, object gy):
        shape = self._x0._data.shape
        if not self.keepdims:
            gy = gy.reshape((gy.shape[0],) + _keep_shape(shape, self.axes))
        return np.broadcast_to(gy, (gy.shape[0],) + shape)

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
        f._spare = SPARE_X0 | SPARE_Y     # shapes only
        link1(f, y, x)
    return y


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all elements when None).

    >>> sum(variable(1, 2, 3, 4).reshape(2, 2), axis=0)
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
    return _unary(&U_DIVC, _sum(v, axes, keepdims), n)


def variance(x, axis=None, keepdims=False):
    """Population variance (dividing by N) over ``axis``.

    >>> variance(variable(1, 2, 3, 4))
    variable(1.25)
    """
    cdef Node v = as_var(x)
    d = _binary(&B_SUB, v, <Node>mean(v, axis, True))
    return mean(_unary(&U_SQUARE, d, 0), axis, keepdims)


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
        return _binary(&B_MUL, _broadcast_to(g, shape), wrap_const(self.weights))


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


def max(x, axis=None, keepdims=False):
    """Largest element over ``axis``; the gradient is shared equally among ties.

    >>> max(variable(1, 5, 3))
    variable(5)
    """
    return _maxmin(as_var(x), axis, keepdims, True)


def min(x, axis=None, keepdims=False):
    """Smallest element over ``axis``; the gradient is shared equally among ties.

    >>> min(variable(1, 5, 3))
    variable(1)
    """
    return _maxmin(as_var(x), axis, keepdims, False)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum so it never overflows;
    its gradient is the softmax.

    >>> logsumexp(variable(1000.0, 1000.0))
    variable(1000.6931471805599)
    """
    cdef Node v = as_var(x)
    xd = v._data
    axes = _norm_axis(axis, xd.ndim, "logsumexp")
    if xd.size == 0:
        raise ValueError(f"logsumexp: the variable is empty (shape {xd.shape})")
    m = xd.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(xd.dtype)     # rows of -inf stay -inf, not NaN
    mc = wrap_const(m)
    with np.errstate(divide="ignore"):
        y = _binary(&B_ADD, _unary(&U_LOG, _sum(_unary(&U_EXP, _binary(&B_SUB, v, mc), 0),
                                                axes, True), 0), mc)
    if keepdims:
        return y
    return _reshape(y, tuple([s for i, s in enumerate(xd.shape) if axes is not None and i not in axes]))


cdef class Norm(Function):
    cdef object axes
    cdef bint keepdims

    cdef object backward_arrays(self, object gy):
        xd = self._x0._data
        n = _out_data(self)
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(xd.shape, self.axes))
            n = n.reshape(gy.shape)
        safe = np.where(n == 0, 1, n)
        return xd * (gy / safe)

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        shape = x._data.shape
        g = <Node>gy
        n = _out_var(self)
        if not self.keepdims:
            g = _reshape(g, _keep_shape(shape, self.axes))
            n = _reshape(n, g._data.shape)
        # x / |x| with |x| replaced by 1 where it is 0: the gradient at the zero vector is 0
        safe = _binary(&B_ADD, n, _const_like(n, n._data == 0))
        return _binary(&B_MUL, x, _binary(&B_DIV, g, safe))


def norm(x, axis=None, keepdims=False):
    """Euclidean norm ``sqrt(sum(x**2))`` over ``axis``; its gradient ``x / |x|`` is 0 at
    the zero vector (not NaN).

    >>> norm(variable(3.0, 4.0))
    variable(5)
    """
    cdef Node v = as_var(x)
    xd = v._data
    axes = _norm_axis(axis, xd.ndim, "norm")
    cdef Node y = new_var(np.asarray(np.sqrt(np.square(xd).sum(axis=axes, keepdims=keepdims)),
                                     dtype=xd.dtype))
    cdef Norm f
    if _record1(v):
        f = Norm.__new__(Norm)
        f.axes = axes
        f.keepdims = keepdims
        link1(f, y, v)
    return y


cdef class CumSum(Function):
    cdef int axis
    cdef bint reverse       # sums from the end: the backward of a cumulative sum

    @property
    def name(self):
        return "CumSumReverse" if self.reverse else "CumSum"

    cdef object backward_arrays(self, object gy):
        return _cumsum_array(gy, self.axis, not self.reverse)

    cdef object backward_vars(self, object gy):
        return _cumsum(<Node>gy, self.axis, not self.reverse)


cdef object _cumsum_array(object x, int axis, bint reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    return np.cumsum(x, axis=axis)


cdef Node _cumsum(Node x, int axis, bint reverse):
    cdef Node y = new_var(np.asarray(_cumsum_array(x._data, axis, reverse), dtype=x._data.dtype))
    cdef CumSum f
    if _record1(x):
        f = CumSum.__new__(CumSum)
        f.axis = axis
        f.reverse = reverse
        link1(f, y, x)
    return y


def cumsum(x, axis):
    """Cumulative sum along ``axis``.

    >>> cumsum(variable(1.0, 2.0, 3.0), 0)
    variable[3]([1 3 6])
    """
    cdef Node v = as_var(x)
    if v._data.ndim == 0:
        raise ValueError("cumsum: the variable has no axis (0-d)")
    return _cumsum(v, _one_axis(axis, v._data.ndim, "cumsum"), False)
