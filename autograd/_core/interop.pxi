# Included by ops.pyx: NumPy's protocols. NumPy functions and ufuncs called on Variables
# run the differentiable function of the same name, so np.exp(v) is F.exp(v); the
# others are refused with the name of what to use instead.

cdef dict _UFUNCS = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
    np.negative: neg, np.positive: lambda x: x, np.square: square, np.exp: exp, np.log: log,
    np.sin: sin, np.cos: cos, np.tanh: tanh, np.sqrt: sqrt, np.absolute: abs,
    np.maximum: maximum, np.minimum: minimum, np.log1p: log1p, np.matmul: matmul,
}

# ufuncs whose result is not differentiable (booleans): computed on the data
cdef frozenset _PREDICATES = frozenset([
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_not, np.logical_and,
    np.logical_or, np.logical_xor,
])


cdef object _data_of(object x):
    return (<Node>x)._data if isinstance(x, Node) else x


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``Variable.__array_ufunc__``: ``np.exp(v)``, ``np.add(a, v)``, ``a * v`` with an
    ndarray ``a``... run the differentiable function; comparisons give bool arrays."""
    if method == "__call__" and not kwargs:
        f = _UFUNCS.get(ufunc)
        if f is not None:
            return f(*inputs)
    if "out" in kwargs:
        raise TypeError(
            f"np.{ufunc.__name__} with out= on a Variable: in-place NumPy arithmetic is not "
            f"recorded in the graph; for an update write x.data -= lr * x.grad.data "
            f"(the gradient's .data), or compute a new Variable")
    if method == "__call__" and ufunc in _PREDICATES:
        return ufunc(*[_data_of(x) for x in inputs], **kwargs)
    name = ufunc.__name__
    if method == "__call__" and ufunc in _UFUNCS:
        raise TypeError(f"np.{name} on a Variable takes no keyword arguments "
                        f"({', '.join(kwargs)}); call autograd.functions directly")
    raise TypeError(f"np.{name}{'' if method == '__call__' else '.' + method} has no "
                    f"differentiable counterpart in autograd.functions; apply it to v.data "
                    f"for a NumPy result")


def _np_reshape(a, *args, order="C", **kwargs):
    if order != "C":
        raise TypeError(f"np.reshape on a Variable: only order='C' (got order={order!r}); "
                        f"use autograd.functions.reshape, or v.data for a NumPy result")
    shape = kwargs.get("newshape", kwargs.get("shape", args[0] if args else None))
    return reshape(a, shape)


def _np_ravel(a, order="C"):
    if order != "C":
        raise TypeError(f"np.ravel on a Variable: only order='C' (got order={order!r})")
    return flatten(a, 0)


def _np_sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_extras("sum", dict(dtype=dtype, out=out, **kwargs))
    return sum(a, axis, keepdims)


def _np_mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    _no_extras("mean", dict(dtype=dtype, out=out, **kwargs))
    return mean(a, axis, keepdims)


def _np_max(a, axis=None, out=None, keepdims=False, **kwargs):
    _no_extras("max", dict(out=out, **kwargs))
    return max(a, axis, keepdims)


def _np_min(a, axis=None, out=None, keepdims=False, **kwargs):
    _no_extras("min", dict(out=out, **kwargs))
    return min(a, axis, keepdims)


def _np_var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    _no_extras("var", dict(dtype=dtype, out=out, **kwargs))
    if ddof != 0:
        raise TypeError("np.var on a Variable: only ddof=0 (autograd.functions.variance)")
    return variance(a, axis, keepdims)


def _np_concatenate(arrays, axis=0, out=None, **kwargs):
    _no_extras("concatenate", dict(out=out, **kwargs))
    return concat(arrays, axis)


def _np_stack(arrays, axis=0, out=None, **kwargs):
    _no_extras("stack", dict(out=out, **kwargs))
    return stack(arrays, axis)


def _np_cumsum(a, axis=None, dtype=None, out=None):
    _no_extras("cumsum", dict(dtype=dtype, out=out))
    if axis is None:
        return cumsum(flatten(a, 0), 0)
    return cumsum(a, axis)


def _np_clip(a, a_min=None, a_max=None, out=None, **kwargs):
    _no_extras("clip", dict(out=out, **kwargs))
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    return clip(a, lo, hi)


def _np_expand_dims(a, axis):
    return unsqueeze(a, axis)


def _np_norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "fro") or (ord == 2 and axis is None and np.ndim(_data_of(x)) > 1):
        raise TypeError("np.linalg.norm on a Variable: only the Euclidean (Frobenius) norm "
                        "(autograd.functions.norm)")
    return norm(x, axis, keepdims)


# the autograd.functions name of each NumPy function that has one under another name
cdef dict _OUR_NAMES = {"concatenate": "concat", "var": "variance", "expand_dims": "unsqueeze",
                        "ravel": "flatten", "amax": "max", "amin": "min"}


cdef int _no_extras(str name, dict kwargs) except -1:
    for key, value in kwargs.items():
        if value is not None:
            raise TypeError(f"np.{name} on a Variable does not take {key}=; call "
                            f"autograd.functions.{_OUR_NAMES.get(name, name)} or use v.data")
    return 0


cdef str _np_name(object func):
    """``np.exp``, ``np.linalg.inv``: how a NumPy user spells ``func``."""
    module = getattr(func, "__module__", None) or "numpy"
    module = module.replace("numpy._core", "numpy").replace("numpy.core", "numpy")
    prefix = "np" + module[len("numpy"):] if module.startswith("numpy") else module
    return f"{prefix}.{getattr(func, '__name__', repr(func))}"


def _shape_query(f):
    # questions about the data, not computations: answered on the data
    def run(*args, **kwargs):
        return f(*[_data_of(a) for a in args], **kwargs)
    return run


cdef dict _FUNCTIONS = {
    np.sum: _np_sum, np.mean: _np_mean, np.max: _np_max, np.min: _np_min, np.var: _np_var,
    np.reshape: _np_reshape, np.transpose: lambda a, axes=None: transpose(a, axes),
    np.concatenate: _np_concatenate, np.stack: _np_stack, np.where: lambda c, a, b: where(c, a, b),
    np.einsum: lambda subscripts, *ops, **kw: einsum(subscripts, *ops),
    np.squeeze: lambda a, axis=None: squeeze(a, axis), np.expand_dims: _np_expand_dims,
    np.broadcast_to: lambda a, shape, subok=False: broadcast_to(a, shape),
    np.cumsum: _np_cumsum, np.clip: _np_clip, np.linalg.norm: _np_norm,
    np.matmul: matmul, np.ravel: _np_ravel,
    np.shape: _shape_query(np.shape), np.ndim: _shape_query(np.ndim),
    np.size: _shape_query(np.size), np.argmax: _shape_query(np.argmax),
    np.argmin: _shape_query(np.argmin), np.allclose: _shape_query(np.allclose),
    np.isclose: _shape_query(np.isclose), np.array_equal: _shape_query(np.array_equal),
}
for _name in ("amax", "amin"):
    if hasattr(np, _name):
        _FUNCTIONS[getattr(np, _name)] = _FUNCTIONS[np.max if _name == "amax" else np.min]


def array_function(self, func, types, args, kwargs):
    """``Variable.__array_function__``: ``np.sum(v, axis=0)``, ``np.concatenate([a, v])``,
    ``np.where(c, v, 0)``, ``np.einsum(...)``... run the differentiable function."""
    f = _FUNCTIONS.get(func)
    if f is None:
        raise TypeError(f"{_np_name(func)} has no differentiable counterpart in "
                        f"autograd.functions; apply it to v.data for a NumPy result")
    return f(*args, **kwargs)
