# Included by ops.pyx: linear algebra. Shares the module namespace (helpers, records, other families).

# ============================================================================ linear algebra

cdef object _swap_last(object a):
    return np.swapaxes(a, -1, -2)


cdef class MatMul(Function):
    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = None
        if not x._const:
            gx = sum_to_array(matmul_arrays(gy, _swap_last(w._data)), x._data.shape)
        if not w._const:
            gw = sum_to_array(matmul_arrays(_swap_last(x._data), gy), w._data.shape)
        return (gx, gw)

    cdef object backward_batched(self, object gy):
        # the batch axis in front of gy broadcasts through matmul's leading dimensions
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = None
        if not x._const:
            gx = sum_to_batched(matmul_arrays(gy, _swap_last(w._data)), x._data.shape)
        if not w._const:
            gw = sum_to_batched(matmul_arrays(_swap_last(x._data), gy), w._data.shape)
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
        yd = matmul_arrays(xd, wd)
    except ValueError:
        raise ValueError(f"matmul: shapes {xd.shape} and {wd.shape} do not multiply "
                         f"({xd.shape[xd.ndim - 1]} != {wd.shape[wd.ndim - 2]})") from None
    cdef Node y = new_var(yd)
    cdef MatMul f
    if _record2(x, w):
        f = MatMul.__new__(MatMul)
        f._spare = SPARE_Y
        link2(f, y, x, w)
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
            gx = matmul_arrays(gy, w._data.T)
        if not w._const:
            gw = matmul_arrays(x._data.T, gy)
        if self._n_in == 3 and not (<Node>self._more[0])._const:
            gb = sum_to_array(gy, (<Node>self._more[0])._data.shape)
        return (gx, gw, gb)[:self._n_in]

    cdef object backward_batched(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        gx = gw = gb = None
        if not x._const:
            gx = matmul_arrays(gy, w._data.T)
        if not w._const:
            gw = matmul_arrays(x._data.T, gy)   # (B, in, out): x is 2-D here
        if self._n_in == 3 and not (<Node>self._more[0])._const:
            gb = sum_to_batched(gy, (<Node>self._more[0])._data.shape)
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
        return product if bv is None else _binary(&B_ADD, product, bv)
    if xd.shape[1] != wd.shape[0]:
        raise ValueError(f"linear: shapes {xd.shape} and {wd.shape} do not multiply "
                         f"({xd.shape[1]} != {wd.shape[0]})")
    yd = matmul_arrays(xd, wd)
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
    cdef Linear f
    if _record(ins):
        f = Linear.__new__(Linear)
        f._spare = SPARE_Y
        link_all(f, y, ins)
    return y


# ---------------------------------------------------------------------------- einsum

cdef str _LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


cdef tuple _einsum_parse(object subscripts, list shapes):
    """Explicit subscripts, one letter per dimension: ``...`` expanded (right-aligned, as
    NumPy broadcasts), the implicit output made explicit. Returns (terms, output)."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str, got {type(subscripts).__name__}")
    s = subscripts.replace(" ", "")
    if "->" in s:
        ins, out = s.split("->", 1)
    else:
        ins, out = s, None
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} operand subscripts for {len(shapes)} operands")
    for c in s:
        if not (c.isalpha() or c in ",.->"):
            raise ValueError(f"einsum: invalid character {c!r} in subscripts {subscripts!r}")
    free = [c for c in _LETTERS if c not in s]
    ell = 0
    for t, shape in zip(terms, shapes):
        if "..." in t:
            ell = builtins.max(ell, len(shape) - (len(t) - 3))
    ell_letters = free[:ell]
    expanded = []
    for t, shape in zip(terms, shapes):
        if "..." in t:
            n = len(shape) - (len(t) - 3)
            if n < 0:
                raise ValueError(f"einsum: subscripts {t!r} have more letters than operand "
                                 f"dimensions {shape}")
            t = t.replace("...", "".join(ell_letters[ell - n:]))
        if "." in t:
            raise ValueError(f"einsum: invalid ellipsis in {subscripts!r}")
        if len(t) != len(shape):
            raise ValueError(f"einsum: subscripts {t!r} do not match an operand of shape {shape}")
        expanded.append(t)
    if out is None:
        letters = "".join(terms).replace(".", "")
        out = "".join(ell_letters) + "".join(sorted([c for c in set(letters) if letters.count(c) == 1]))
    else:
        out = out.replace("...", "".join(ell_letters))
    return expanded, out


cdef class Einsum(Function):
    cdef list terms
    cdef str out

    cdef object backward_arrays(self, object gy):
        return self._grads(gy, False)

    cdef object backward_vars(self, object gy):
        return self._grads(gy, True)

    cdef object _grads(self, object gy, bint differentiable):
        xs = inputs_of(self)
        grads = []
        used = set("".join(self.terms) + self.out)
        free = [c for c in _LETTERS if c not in used]
        for k in range(len(xs)):
            xk = <Node>xs[k]
            if xk._const:
                grads.append(None)
                continue
            shape = xk._data.shape
            dtype = xk._data.dtype
            operands = [gy] + [(<Node>xs[j] if differentiable else (<Node>xs[j])._data)
                               for j in range(len(xs)) if j != k]
            subs = [self.out] + [self.terms[j] for j in range(len(xs)) if j != k]
            target = []
            seen = {}
            for pos, c in enumerate(self.terms[k]):
                if c in seen:           # a repeated letter: the gradient lies on a diagonal
                    r = free.pop(0)
                    target.append(r)
                    subs.append(c + r)
                    operands.append(np.eye(shape[pos], dtype=dtype))
                else:
                    seen[c] = pos
                    target.append(c)
            present = set("".join(subs))
            for c, pos in seen.items():
                if c not in present:    # summed away in this operand alone: broadcast back
                    subs.append(c)
                    operands.append(np.ones(shape[pos], dtype=dtype))
            spec = ",".join(subs) + "->" + "".join(target)
            if differentiable:
                g = _to_shape(<Node>einsum(spec, *operands), shape)
            else:
                g = np.einsum(spec, *operands, optimize=len(operands) > 2)
                g = _to_shape(wrap_const(np.asarray(g, dtype=dtype)), shape)._data
            grads.append(g)
        return grads[0] if len(xs) == 1 else tuple(grads)


cdef Node _to_shape(Node g, tuple shape):
    """``g`` made ``shape``, dimension by dimension: summed where an operand of size 1 was
    broadcast against a larger one, broadcast where it is the operand that is larger."""
    gshape = g._data.shape
    if gshape == shape:
        return g
    axes = tuple([k for k in range(len(shape)) if shape[k] == 1 and gshape[k] != 1])
    if axes:
        g = _sum(g, axes, True)
    if g._data.shape != shape:
        g = _broadcast_to(g, shape)
    return g


def einsum(subscripts, *operands):
    """Einstein summation, everything ``np.einsum`` accepts (ellipsis, implicit output,
    repeated letters); its backward is einsum again, so it differentiates at any order.

    >>> einsum("ij,j->i", variable(1, 2, 3, 4).reshape(2, 2), variable(1.0, 1.0))
    variable[2]([3 7])
    """
    if len(operands) == 0:
        raise ValueError("einsum: expected at least one operand")
    cdef tuple vs = tuple([as_var(x) for x in operands])
    terms, out = _einsum_parse(subscripts, [(<Node>v)._data.shape for v in vs])
    spec = ",".join(terms) + "->" + out
    try:
        yd = np.einsum(spec, *[(<Node>v)._data for v in vs], optimize=len(vs) > 2)
    except ValueError as e:
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes "
                         f"{[(<Node>v)._data.shape for v in vs]}: {e}") from None
    dtype = np.result_type(*[(<Node>v)._data for v in vs])
    cdef Node y = new_var(np.asarray(yd, dtype=dtype))
    cdef Einsum f
    if _record(vs):
        f = Einsum.__new__(Einsum)
        f.terms = terms
        f.out = out
        link_all(f, y, vs)
    return y
