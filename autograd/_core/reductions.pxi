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


