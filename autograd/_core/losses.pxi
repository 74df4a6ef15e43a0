# Included by ops.pyx: masks, softmax family, losses, composites. Shares the module namespace.

# ============================================================================ elementwise with masks

cdef class Clip(Function):
    cdef double lo, hi

    cdef object backward_arrays(self, object gy):
        xd = self._x0._data
        return gy * ((xd >= self.lo) & (xd <= self.hi))

    cdef object backward_vars(self, object gy):
        xd = self._x0._data
        m = ((xd >= self.lo) & (xd <= self.hi)).astype(xd.dtype)
        return _binary(&B_MUL, <Node>gy, wrap_const(m))


def clip(x, lo, hi):
    """Limit values to ``[lo, hi]``; the gradient passes where ``lo <= x <= hi`` (the seed
    library's rule, bounds included) and is 0 beyond.

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


cdef object _bool_mask(object cond, str what):
    """A private read-only boolean array: the graph keeps it for backward."""
    if isinstance(cond, Node):
        cond = (<Node>cond)._data
    cond = np.asarray(cond)
    if cond.dtype == np.bool_:
        cond = np.array(cond, copy=True)
    elif cond.dtype.kind in "iuf":
        cond = cond != 0
    else:
        raise TypeError(f"{what}: the condition must be boolean, got dtype {cond.dtype}")
    cond.flags.writeable = False
    return cond


cdef class Where(Function):
    cdef object cond

    cdef object backward_arrays(self, object gy):
        cdef Node a = self._x0
        cdef Node b = self._x1
        zero = gy.dtype.type(0)
        return (None if a._const else sum_to_array(np.where(self.cond, gy, zero), a._data.shape),
                None if b._const else sum_to_array(np.where(self.cond, zero, gy), b._data.shape))

    cdef object backward_vars(self, object gy):
        cdef Node a = self._x0
        cdef Node b = self._x1
        return (None if a._const else _sum_to(<Node>mask_fill(gy, ~self.cond, 0.0), a._data.shape),
                None if b._const else _sum_to(<Node>mask_fill(gy, self.cond, 0.0), b._data.shape))


def where(cond, a, b):
    """``a`` where ``cond`` is true, ``b`` elsewhere (all three broadcast); the gradient
    goes to the side chosen, so an inf or NaN on the other side never reaches it.

    >>> where([True, False], variable(1.0, 2.0), 0.0)
    variable[2]([1 0])
    """
    c = _bool_mask(cond, "where")
    cdef Node va = as_var(a) if not (_isnum(a) and isinstance(b, Node)) else _operand_like(a, b)
    cdef Node vb = _operand_like(b, va)
    try:
        yd = np.where(c, va._data, vb._data)
    except ValueError:
        raise ValueError(f"where: shapes {c.shape}, {va._data.shape} and {vb._data.shape} do "
                         f"not broadcast together") from None
    cdef Node y = new_var(yd)
    cdef Where f
    if _record2(va, vb):
        f = Where.__new__(Where)
        f.cond = c
        link2(f, y, va, vb)
    return y


# ============================================================================ softmax family

cdef object _softmax_array(object x, int axis):
    m = x.max(axis=axis, keepdims=True)
    e = exp_array(x - m)
    e /= e.sum(axis=axis, keepdims=True)
    return e


cdef object _log_softmax_array(object x, int axis):
    m = x.max(axis=axis, keepdims=True)
    s = x - m
    s -= np.log(exp_array(s).sum(axis=axis, keepdims=True))
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
        return gy - exp_array(y) * gy.sum(axis=self.axis, keepdims=True)

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

cdef int _same_shapes(Node y, Node t, bint number, str what) except -1:
    """Losses compare ``y`` with ``t`` element by element: their shapes must be equal (a
    silent broadcast of (4, 1) against (4,) would compare every pair)."""
    if not number and y._data.shape != t._data.shape:
        raise ValueError(f"{what}: the prediction has shape {y._data.shape} and the target "
                         f"{t._data.shape}; they must be equal")
    return 0


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
    _same_shapes(a, b, _isnum(y) or _isnum(t), "mean_squared_error")
    diff = a._data - b._data
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
    logz = m + log_array(exp_array(xd - m).sum(axis=1, keepdims=True))
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


cdef class BinaryCrossEntropy(Function):
    """``mean(-(t log p + (1 - t) log(1 - p)))``; the logs clamped at -100 as PyTorch."""

    cdef object backward_vars(self, object gy):
        cdef Node p = self._x0
        cdef Node t = self._x1
        # (p - t) / max(p (1 - p), 1e-12) * gy / N, PyTorch's form: finite at p = 0 and 1
        denom = _binary(&B_MAXIMUM, _binary(&B_MUL, p, _unary(&U_RSUBC, p, 1.0)),
                        _const_like(p, 1e-12))
        g = _binary(&B_DIV, _binary(&B_SUB, p, t), denom)
        return (_binary(&B_MUL, g, _unary(&U_DIVC, <Node>gy, p._data.size)), None)


def binary_cross_entropy(p, t):
    """Mean binary cross entropy of probabilities ``p`` against targets ``t`` (same shape,
    in [0, 1]); ``t`` gets no gradient. Logs are clamped at -100 as PyTorch clamps them.

    >>> round(binary_cross_entropy(variable(0.5, 0.5), [1.0, 0.0]).item(), 6)
    0.693147
    """
    cdef Node vp = as_var(p)
    cdef Node vt = _operand_like(t, vp)
    _same_shapes(vp, vt, _isnum(t), "binary_cross_entropy")
    pd = vp._data
    if pd.size == 0:
        raise ValueError("binary_cross_entropy: the inputs are empty")
    if np.any((pd < 0) | (pd > 1)):
        raise ValueError("binary_cross_entropy: probabilities must lie in [0, 1]")
    td = vt._data.astype(pd.dtype, copy=False)     # targets are constants of p's dtype
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(pd), -100)
        lq = np.maximum(np.log1p(-pd), -100)
    loss = -(td * lp + (1 - td) * lq).mean()
    cdef Node y = new_var(np.asarray(loss, dtype=pd.dtype))
    if _record1(vp):
        link2(BinaryCrossEntropy.__new__(BinaryCrossEntropy), y, vp, wrap_const(td))
    return y


def binary_cross_entropy_with_logits(x, t):
    """``binary_cross_entropy(sigmoid(x), t)`` computed from the logits ``x`` without
    overflow (``softplus(x) - x t``): exact at logits of +-1e4.

    >>> binary_cross_entropy_with_logits(variable(1e4, -1e4), [1.0, 0.0])
    variable(0)
    """
    cdef Node vx = as_var(x)
    cdef Node vt = _operand_like(t, vx)
    _same_shapes(vx, vt, _isnum(t), "binary_cross_entropy_with_logits")
    if vx._data.size == 0:
        raise ValueError("binary_cross_entropy_with_logits: the inputs are empty")
    vt = wrap_const(vt._data.astype(vx._data.dtype, copy=False))   # constants: no gradient
    return mean(_binary(&B_SUB, _unary(&U_SOFTPLUS, vx, 0), _binary(&B_MUL, vx, vt)))


def huber_loss(y, t, delta=1.0):
    """Mean Huber loss: ``0.5 d**2`` where ``|d| <= delta``, ``delta (|d| - delta/2)``
    beyond, ``d = y - t``; ``t`` gets no gradient.

    >>> huber_loss(variable(0.5, 3.0), [0.0, 0.0])
    variable(1.3125)
    """
    if not _isnum(delta) or not delta > 0:
        raise ValueError(f"huber_loss: delta must be a positive number, got {delta!r}")
    cdef Node vy = as_var(y)
    cdef Node vt = _operand_like(t, vy)
    _same_shapes(vy, vt, _isnum(t), "huber_loss")
    if vy._data.size == 0:
        raise ValueError("huber_loss: the inputs are empty")
    d = _binary(&B_SUB, vy, wrap_const(vt._data.astype(vy._data.dtype, copy=False)))
    quad = _unary(&U_MULC, _unary(&U_SQUARE, d, 0), 0.5)
    lin = _unary(&U_MULC, _unary(&U_SUBC, _unary(&U_ABS, d, 0), 0.5 * delta), delta)
    return mean(where(np.abs(d._data) < delta, quad, lin))     # the kink on the linear side, as PyTorch


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

cdef double _GELU_C = 0.044715
cdef double _SQRT_2_OVER_PI = 0.7978845608028654


cdef class GELU(Function):
    """GELU with the seed's backward, ``gy (a + b du)``: ``a = 0.5 + 0.5 t``,
    ``b = 0.5 x (1 - t**2)``, ``du = sqrt(2/pi) (1 + 3c x**2)``, ``t = tanh(u)``."""

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        x2 = _unary(&U_POW, x, 2.0)
        x3 = _unary(&U_POW, x, 3.0)
        t = _unary(&U_TANH, _unary(&U_MULC, _binary(&B_ADD, x, _unary(&U_MULC, x3, _GELU_C)),
                                   _SQRT_2_OVER_PI), 0)
        a = _unary(&U_ADDC, _unary(&U_MULC, t, 0.5), 0.5)
        b = _unary(&U_MULC, _binary(&B_MUL, x, _unary(&U_RSUBC, _unary(&U_POW, t, 2.0), 1.0)), 0.5)
        du = _unary(&U_MULC, _unary(&U_ADDC, _unary(&U_MULC, x2, 3.0 * _GELU_C), 1.0),
                    _SQRT_2_OVER_PI)
        return _binary(&B_MUL, <Node>gy, _binary(&B_ADD, a, _binary(&B_MUL, b, du)))


def gelu(x):
    """GELU, the tanh approximation: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> gelu(variable(0.0))
    variable(0)
    """
    cdef Node v = as_var(x)
    xd = v._data
    k = xd.dtype.type
    inner = (xd + pow_array(xd, 3.0) * k(_GELU_C)) * k(_SQRT_2_OVER_PI)
    cdef Node y = new_var(np.asarray((xd * k(0.5)) * (tanh_array(inner) + k(1.0)), dtype=xd.dtype))
    if _record1(v):
        link1(GELU.__new__(GELU), y, v)
    return y


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


# ============================================================================ not differentiable

def argmax(x, axis=None):
    """Index of the largest element (over ``axis``, or of the flattened array); a NumPy
    array, not differentiable.

    >>> argmax(variable(1.0, 5.0, 3.0))
    array(1)
    """
    xd = as_array(x, "argmax")
    if xd.size == 0:
        raise ValueError("argmax: the variable is empty")
    return np.asarray(xd.argmax(axis=None if axis is None else _one_axis(axis, xd.ndim, "argmax")))


def argmin(x, axis=None):
    """Index of the smallest element (over ``axis``, or of the flattened array); a NumPy
    array, not differentiable.

    >>> argmin(variable(1.0, 5.0, 3.0))
    array(0)
    """
    xd = as_array(x, "argmin")
    if xd.size == 0:
        raise ValueError("argmin: the variable is empty")
    return np.asarray(xd.argmin(axis=None if axis is None else _one_axis(axis, xd.ndim, "argmin")))


def one_hot(labels, num_classes, dtype=np.float64):
    """Rows of zeros with a one at each label: shape ``labels.shape + (num_classes,)``.

    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    if isinstance(labels, Node):
        labels = (<Node>labels)._data
    t = np.asarray(labels)
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("one_hot: labels must be integers")
    elif t.dtype.kind not in "iub":
        raise TypeError(f"one_hot: labels must be integers, got dtype {t.dtype}")
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    dt = np.dtype(dtype)
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise IndexError(f"one_hot: labels must lie in 0..{num_classes - 1}, got "
                         f"{t.min() if t.min() < 0 else t.max()}")
    return (t.astype(np.intp)[..., None] == np.arange(num_classes)).astype(dt)
