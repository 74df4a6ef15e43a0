# Included by ops.pyx: shape operations, concat/split, indexing. Shares the module namespace (helpers, records, other families).

# ============================================================================ shapes

cdef class Reshape(Function):
    cdef tuple shape

    cdef object backward_arrays(self, object gy):
        return gy.reshape(self._x0._data.shape)

    cdef object backward_batched(self, object gy):
        return gy.reshape((gy.shape[0],) + self._x0._data.shape)

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
        f._spare = SPARE_X0 | SPARE_Y     # shapes only
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

    cdef object backward_batched(self, object gy):
        return np.transpose(gy, (0,) + tuple((np.argsort(self.axes) + 1).tolist()))

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
        return sum_to_array(gy, self._x0._data.shape)

    cdef object backward_batched(self, object gy):
        return sum_to_batched(gy, self._x0._data.shape)

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


cdef object sum_to_batched(object g, tuple shape):
    """A batch ``(B,) + broadcast shape`` summed down to ``(B,) + shape``: ``sum_to`` with
    the batch axis kept."""
    cdef tuple batched = (g.shape[0],) + shape
    cdef Py_ssize_t lead = g.ndim - len(batched)
    return sum_to_array(g, (g.shape[0],) + (1,) * lead + shape).reshape(batched)


cdef object _broadcast_batched(object gy, tuple shape):
    """A batch ``(B,) + s`` broadcast to ``(B,) + shape`` (``s`` aligned to the right)."""
    cdef Py_ssize_t missing = len(shape) - (gy.ndim - 1)
    if missing > 0:
        gy = gy.reshape((gy.shape[0],) + (1,) * missing + gy.shape[1:])
    return np.broadcast_to(gy, (gy.shape[0],) + shape)


cdef class SumTo(Function):
    cdef tuple shape

    cdef object backward_arrays(self, object gy):
        return np.broadcast_to(gy, self._x0._data.shape)

    cdef object backward_batched(self, object gy):
        return _broadcast_batched(gy, self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _broadcast_to(<Node>gy, self._x0._data.shape)


cdef Node _sum_to(Node x, tuple shape):
    xd = x._data
    if xd.shape == shape:
        return x
    cdef Node y = new_var(sum_to_array(xd, shape))
    cdef SumTo f
    if _record1(x):
        f = SumTo.__new__(SumTo)
        f.shape = shape
        link1(f, y, x)
    return y


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the inverse of ``broadcast_to``.

    >>> sum_to(variable(1, 2, 3, 4).reshape(2, 2), (1, 2))
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


cdef object _batch_index(object index):
    """``index`` behind a leading batch axis; NotBatched where NumPy would move the
    indexed axes to the front (advanced indices apart from each other)."""
    parts = index if isinstance(index, tuple) else (index,)
    cdef Py_ssize_t arrays = 0
    for i in parts:
        if isinstance(i, np.ndarray):
            arrays += 1
    if arrays > 1:
        raise NotBatched("GetItem")
    return (slice(None),) + parts


cdef class GetItem(Function):
    cdef object index

    cdef object backward_arrays(self, object gy):
        return _scatter(gy, self.index, self._x0._data.shape)

    cdef object backward_batched(self, object gy):
        return _scatter(gy, _batch_index(self.index), (gy.shape[0],) + self._x0._data.shape)

    cdef object backward_vars(self, object gy):
        return _get_item_grad(<Node>gy, self.index, self._x0._data.shape)


cdef class GetItemGrad(Function):
    cdef object index
    cdef tuple shape

    cdef object backward_arrays(self, object ggx):
        return ggx[self.index]

    cdef object backward_batched(self, object ggx):
        return ggx[_batch_index(self.index)]

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


# ---------------------------------------------------------------------------- stack / flatten

def stack(xs, axis=0):
    """Join variables of one shape along a new ``axis``.

    >>> stack([variable(1.0, 2.0), variable(3.0, 4.0)]).shape
    (2, 2)
    """
    if isinstance(xs, (Node, np.ndarray)) or not hasattr(xs, "__iter__"):
        raise TypeError("stack: expected a sequence of variables or arrays")
    cdef list vs = [as_var(x) for x in xs]
    if len(vs) == 0:
        raise ValueError("stack: expected at least one variable, got none")
    shapes = [(<Node>v)._data.shape for v in vs]
    if any([s != shapes[0] for s in shapes]):
        raise ValueError(f"stack: every variable must have one shape, got {shapes}")
    nd = len(shapes[0]) + 1
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"stack: axis must be an int, got {axis!r}")
    if axis < -nd or axis >= nd:
        raise ValueError(f"stack: axis {axis} is out of range for a result of {nd} dimensions")
    return concat([unsqueeze(v, axis) for v in vs], axis)


def flatten(x, start_axis=1):
    """Merge the dimensions from ``start_axis`` on into one (``x.flatten()`` gives 1-D).

    >>> flatten(variable(1, 2, 3, 4, 5, 6, 7, 8).reshape(2, 2, 2)).shape
    (2, 4)
    """
    cdef Node v = as_var(x)
    shape = v._data.shape
    if len(shape) == 0:
        return _reshape(v, (1,))
    ax = _one_axis(start_axis, len(shape), "flatten")
    n = 1
    for s in shape[ax:]:
        n *= s
    return _reshape(v, tuple(shape[:ax]) + (n,))


# ---------------------------------------------------------------------------- dtype

cdef class Cast(Function):
    cdef object backward_arrays(self, object gy):
        return gy.astype(self._x0._data.dtype)

    cdef object backward_vars(self, object gy):
        return astype(gy, self._x0._data.dtype)


def astype(x, dtype):
    """``x`` as float32 or float64; differentiable (the gradient is cast back).

    >>> astype(variable(1.5), "float32").dtype
    dtype('float32')
    """
    cdef Node v = as_var(x)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"astype: not a dtype: {dtype!r}") from None
    if dt != np.float32 and dt != np.float64:
        raise TypeError(f"astype: a Variable holds float32 or float64, not {dt}")
    if dt == v._data.dtype:
        return v
    cdef Node y = new_var(v._data.astype(dt))
    if _record1(v):
        link1(Cast.__new__(Cast), y, v)
    return y
