# Included by ops.pyx: masks, softmax family, losses, composites. Shares the module namespace (helpers, records, other families).

# ============================================================================ elementwise with masks

cdef class Clip(Function):
    cdef double lo, hi

    cdef object backward_arrays(self, object gy):
        xd = self._x0._data
        return gy * ((xd > self.lo) & (xd < self.hi))

    cdef object backward_vars(self, object gy):
        xd = self._x0._data
        m = ((xd > self.lo) & (xd < self.hi)).astype(xd.dtype)
        return _binary(&B_MUL, <Node>gy, wrap_const(m))


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
        return sum_to_array(np.where(self.mask, 0, gy).astype(gy.dtype, copy=False), shape)

    cdef object backward_vars(self, object gy):
        xd = self._x0._data
        keep = np.broadcast_to(~self.mask, gy.shape).astype(xd.dtype)
        return _sum_to(_binary(&B_MUL, <Node>gy, wrap_const(keep)), xd.shape)


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
        gx = _binary(&B_MUL, y, <Node>gy)
        return _binary(&B_SUB, gx, _binary(&B_MUL, y, _sum(gx, self.axis, True)))


cdef class LogSoftmax(Function):
    cdef int axis

    cdef object backward_arrays(self, object gy):
        y = _out_data(self)
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)

    cdef object backward_vars(self, object gy):
        y = _out_var(self)
        return _binary(&B_SUB, <Node>gy,
                       _binary(&B_MUL, _unary(&U_EXP, y, 0), _sum(<Node>gy, self.axis, True)))


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
        return (None if a._const else sum_to_array(g, a._data.shape),
                None if b._const else sum_to_array(np.negative(g), b._data.shape))

    cdef object backward_vars(self, object gy):
        cdef Node a = self._x0
        cdef Node b = self._x1
        diff = _binary(&B_SUB, a, b)
        g = _binary(&B_MUL, diff, _unary(&U_MULC, <Node>gy, 2.0 / diff._data.size))
        return (None if a._const else _sum_to(g, a._data.shape),
                None if b._const else _sum_to(_unary(&U_NEG, g, 0), b._data.shape))


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
        d = _binary(&B_MUL, _binary(&B_SUB, p, wrap_const(onehot)), wrap_const(scale))
        return _binary(&B_MUL, d, <Node>gy)


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
    inner = _unary(&U_MULC, _binary(&B_ADD, v, _unary(&U_MULC, _unary(&U_POW, v, 3.0), 0.044715)),
                   c_sqrt(2.0 / np.pi))
    return _binary(&B_MUL, _unary(&U_MULC, v, 0.5), _unary(&U_ADDC, _unary(&U_TANH, inner, 0), 1.0))


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
    return _binary(&B_MUL, v, wrap_const(mask))

