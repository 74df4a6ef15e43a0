# Included by ops.pyx: the seed LSTM's step as one operation. Shares the module namespace.
#
# The composed step (eight products, four sums, four gates, c and h: about twenty
# nodes) becomes one node with two outputs, h and c. Its forward computes the same
# arithmetic in the same order, so the seed's numbers are unchanged; its array
# backward runs the gates' derivative in one compiled pass; its differentiable
# backward is the composed form's, so create_graph differentiates through it.

from autograd._core.kernels import (lstm_gates, lstm_gates_backward, lstm_gates_cat,
                                    lstm_gates_cat_backward)


cdef class LSTMCell(Function):
    """One step of the seed's LSTM. Inputs: ``x``, the four input weights and biases
    (gates f, i, o, u), then, after the first step, the four hidden weights and ``h``,
    and ``c``. Outputs: ``h``, ``c``."""
    cdef bint has_h, has_c
    cdef tuple saved            # f, i, o, u, tanh(c)

    cdef tuple _parts(self):
        xs = inputs_of(self)
        x = xs[0]
        wx = xs[1:5]
        b = xs[5:9]
        wh = xs[9:13] if self.has_h else None
        h = xs[13] if self.has_h else None
        c = xs[-1] if self.has_c else None
        return x, wx, b, wh, h, c

    cdef object backward_arrays(self, object gys):
        x, wx, b, wh, h, c = self._parts()
        gh, gc = gys
        das, gc0 = lstm_gates_backward(self.saved, None if c is None else (<Node>c)._data, gh, gc)
        das = list(das)
        if not self.has_c:
            das[0] = None       # the first step has no c to forget: f is not used
        xd = (<Node>x)._data
        grads = [None if (<Node>x)._const else _sum_products(das, [(<Node>w)._data for w in wx])]
        grads += [None if da is None or (<Node>w)._const else matmul_arrays(xd.T, da)
                  for da, w in zip(das, wx)]
        grads += [None if da is None or (<Node>bk)._const else sum_to_array(da, (<Node>bk)._data.shape)
                  for da, bk in zip(das, b)]
        if self.has_h:
            hd = (<Node>h)._data
            grads += [None if da is None or (<Node>w)._const else matmul_arrays(hd.T, da)
                      for da, w in zip(das, wh)]
            grads.append(None if (<Node>h)._const
                         else _sum_products(das, [(<Node>w)._data for w in wh]))
        if self.has_c:
            grads.append(None if (<Node>c)._const else gc0)
        return tuple(grads)

    cdef object backward_vars(self, object gys):
        x, wx, b, wh, h, c = self._parts()
        gh, gc = gys
        # the composed step again, on the inputs, so every quantity below is differentiable
        a = []
        for k in range(4):
            ak = <Node>linear(x, wx[k], b[k])
            if self.has_h:
                ak = _binary(&B_ADD, ak, _matmul(<Node>h, <Node>wh[k]))
            a.append(ak)
        f = _unary(&U_SIGMOID, a[0], 0)
        i = _unary(&U_SIGMOID, a[1], 0)
        o = _unary(&U_SIGMOID, a[2], 0)
        u = _unary(&U_TANH, a[3], 0)
        cn = _binary(&B_MUL, i, u)
        if self.has_c:
            cn = _binary(&B_ADD, _binary(&B_MUL, f, <Node>c), cn)
        tc = _unary(&U_TANH, cn, 0)
        ghn = <Node>gh if gh is not None else wrap_const(np.zeros_like(tc._data))
        # dL/dc: from c itself and through h = o tanh(c)
        gct = _binary(&B_MUL, _binary(&B_MUL, ghn, o), _unary(&U_RSUBC, _binary(&B_MUL, tc, tc), 1.0))
        if gc is not None:
            gct = _binary(&B_ADD, <Node>gc, gct)
        das = [
            _binary(&B_MUL, _binary(&B_MUL, gct, <Node>c), _dsigmoid(f)) if self.has_c else None,
            _binary(&B_MUL, _binary(&B_MUL, gct, u), _dsigmoid(i)),
            _binary(&B_MUL, _binary(&B_MUL, ghn, tc), _dsigmoid(o)),
            _binary(&B_MUL, _binary(&B_MUL, gct, i), _unary(&U_RSUBC, _binary(&B_MUL, u, u), 1.0)),
        ]
        grads = [_sum_terms([_matmul(da, _transpose(<Node>w, None)) for da, w in zip(das, wx)
                             if da is not None], (<Node>x)._data)]
        grads += [None if da is None else _matmul(_transpose(<Node>x, None), da)
                  for da, w in zip(das, wx)]
        grads += [None if da is None else _sum_to(da, (<Node>bk)._data.shape)
                  for da, bk in zip(das, b)]
        if self.has_h:
            grads += [None if da is None else _matmul(_transpose(<Node>h, None), da)
                      for da, w in zip(das, wh)]
            grads.append(_sum_terms([_matmul(da, _transpose(<Node>w, None)) for da, w in zip(das, wh)
                                     if da is not None], (<Node>h)._data))
        if self.has_c:
            grads.append(_binary(&B_MUL, gct, f))
        return tuple(grads)


cdef object _sum_products(object das, object ws):
    """sum over the gates of da @ w.T (arrays; a gate whose da is None left out), added in
    gate order (the composed form's _sum_terms), into the first product."""
    total = None
    for da, w in zip(das, ws):
        if da is None:
            continue
        p = matmul_arrays(da, w.T)
        if total is None:
            total = p
        elif total.dtype == p.dtype and total.shape == p.shape and total.flags.writeable:
            np.add(total, p, out=total)
        else:
            total = total + p
    return total


cdef Node _dsigmoid(Node s):
    return _binary(&B_MUL, s, _unary(&U_RSUBC, s, 1.0))


cdef Node _sum_terms(list terms, object like):
    if not terms:
        return wrap_const(np.zeros_like(like))
    cdef Node total = <Node>terms[0]
    for t in terms[1:]:
        total = _binary(&B_ADD, total, <Node>t)
    return total


def lstm_cell(x, wx, b, wh=None, h=None, c=None):
    """One step of the seed's LSTM as one operation: ``wx``, ``b`` and ``wh`` are the
    four gates' (f, i, o, u) input weights, biases and hidden weights; returns
    ``(h, c)``. On the first step ``h`` and ``c`` are None (and ``wh`` unused).
    ``wx``, ``b`` and ``wh`` may also be single variables holding the four gates side by
    side, (in, 4H), (1, 4H) and (H, 4H): then a step is two products forward.

    >>> import numpy as np
    >>> ws = [variable(0.5).reshape(1, 1)] * 4
    >>> bs = [variable(0.0).reshape(1, 1)] * 4
    >>> h, c = lstm_cell(variable(1.0).reshape(1, 1), ws, bs)
    >>> round(h.item(), 6), round(c.item(), 6)
    (0.264301, 0.286127)
    """
    if isinstance(wx, (Node, np.ndarray)):
        return _lstm_cell_cat(x, wx, b, wh, h, c)
    cdef Node xv = as_var(x)
    wxs = [as_var(w) for w in wx]
    bs = [as_var(v) for v in b]
    if len(wxs) != 4 or len(bs) != 4:
        raise ValueError("lstm_cell: wx and b must hold the four gates' weights (f, i, o, u)")
    has_h = h is not None
    whs = [as_var(w) for w in wh] if has_h else []
    if has_h and len(whs) != 4:
        raise ValueError("lstm_cell: wh must hold the four gates' hidden weights (f, i, o, u)")
    cdef Node hv = as_var(h) if has_h else None
    cdef Node cv = as_var(c) if c is not None else None
    xs = xv._data.shape
    for k in range(4):
        ws = (<Node>wxs[k])._data.shape
        if len(xs) != 2 or len(ws) != 2 or ws[0] != xs[1]:
            raise ValueError(f"lstm_cell: x of shape {xs} does not fit the input weights of "
                             f"shape {ws}")
        if (<Node>bs[k])._data.shape not in ((ws[1],), (1, ws[1])):
            raise ValueError(f"lstm_cell: a bias of shape {(<Node>bs[k])._data.shape} does not "
                             f"fit {ws[1]} units (expected (1, {ws[1]}))")
        if has_h and (<Node>whs[k])._data.shape != (ws[1], ws[1]):
            raise ValueError(f"lstm_cell: hidden weights of shape {(<Node>whs[k])._data.shape}; "
                             f"expected ({ws[1]}, {ws[1]})")
    if has_h and hv._data.shape != (xs[0], (<Node>wxs[0])._data.shape[1]):
        raise ValueError(f"lstm_cell: h of shape {hv._data.shape} does not fit a batch of "
                         f"{xs[0]} and {(<Node>wxs[0])._data.shape[1]} units")
    # the pre-activations, computed as the composed step computes them
    a = []
    cdef Node ak
    for k in range(4):
        yd = matmul_arrays(xv._data, (<Node>wxs[k])._data)
        bd = (<Node>bs[k])._data
        if np.result_type(yd, bd) == yd.dtype:
            yd += bd
        else:
            yd = yd + bd
        if has_h:
            hw = matmul_arrays((<Node>hv)._data, (<Node>whs[k])._data)
            if yd.dtype == hw.dtype and yd.shape == hw.shape:
                np.add(yd, hw, out=yd)      # yd is this step's own array
            else:
                yd = yd + hw
        a.append(yd)
    shape = a[0].shape
    if cv is not None and cv._data.shape != shape:
        raise ValueError(f"lstm_cell: c of shape {cv._data.shape} does not match the gates' "
                         f"shape {shape}")
    hd, cd, saved = lstm_gates(a[0], a[1], a[2], a[3], None if cv is None else cv._data)
    cdef Node hn = new_var(hd)
    cdef Node cn = new_var(cd)
    cdef tuple ins = tuple([xv] + wxs + bs + whs + ([hv] if has_h else []) + ([cv] if cv is not None else []))
    cdef LSTMCell f
    if _record(ins):
        f = LSTMCell.__new__(LSTMCell)
        f.has_h = has_h
        f.has_c = cv is not None
        f.saved = saved
        link_outputs(f, [hn, cn], ins)
    return hn, cn


# ---------------------------------------------------------------------------- gates side by side
#
# The same step with the four gates' weights in one matrix per side: w (in, 4H),
# b (1, 4H), wh (H, 4H), the columns f | i | o | u, so that a caller can keep them
# joined and record one gradient per side instead of four. Each product is made gate by
# gate into one (B, 4H) or (in, 4H) array: the BLAS calls are the separate form's, so
# the numbers are its numbers to the last bit in every dtype and at any BLAS thread
# count (one (30, 100) @ (100, 400) product gives other last bits in float32, and
# OpenBLAS runs it on two threads where it runs a quarter of it on one, which on a busy
# two-core machine made a step several times slower); the input's gradient is summed
# gate by gate in the composed form's order. L.LSTM does not use this form (yet): see
# docs/performance.md ("Seed LSTM") for what it measured.


cdef object _gates_product(object a, object w):
    """a @ w for w (K, 4H), one gate's columns at a time, into one array."""
    n = w.shape[1] // 4
    out = np.empty((a.shape[0], w.shape[1]), dtype=np.result_type(a, w))
    for k in range(4):
        matmul_into(a, w[:, k * n:(k + 1) * n], out[:, k * n:(k + 1) * n])
    return out


cdef object _gates_t_product(object da, object w):
    """sum over the gates k of da[:, k] @ w[:, k].T, in the order f, i, o, u: the separate
    form's four products, added one after another."""
    n = w.shape[1] // 4
    return _sum_products([da[:, k * n:(k + 1) * n] for k in range(4)],
                         [w[:, k * n:(k + 1) * n] for k in range(4)])


cdef class LSTMCellCat(Function):
    """One step of the seed's LSTM with the gates side by side. Inputs: ``x``, ``w``,
    ``b``, then, after the first step, ``wh`` and ``h``, and ``c``. Outputs: ``h``, ``c``."""
    cdef bint has_h, has_c
    cdef tuple saved            # gates (B, 4H), tanh(c)

    cdef tuple _parts(self):
        xs = inputs_of(self)
        return (xs[0], xs[1], xs[2], xs[3] if self.has_h else None,
                xs[4] if self.has_h else None, xs[-1] if self.has_c else None)

    cdef object backward_arrays(self, object gys):
        x, w, b, wh, h, c = self._parts()
        gh, gc = gys
        da, gc0 = lstm_gates_cat_backward(self.saved, None if c is None else (<Node>c)._data,
                                          gh, gc)
        grads = [None if (<Node>x)._const else _gates_t_product(da, (<Node>w)._data),
                 None if (<Node>w)._const else _gates_product((<Node>x)._data.T, da),
                 None if (<Node>b)._const else sum_to_array(da, (<Node>b)._data.shape)]
        if self.has_h:
            grads.append(None if (<Node>wh)._const else _gates_product((<Node>h)._data.T, da))
            grads.append(None if (<Node>h)._const else _gates_t_product(da, (<Node>wh)._data))
        if self.has_c:
            grads.append(None if (<Node>c)._const else gc0)
        return tuple(grads)

    cdef object backward_vars(self, object gys):
        x, w, b, wh, h, c = self._parts()
        gh, gc = gys
        # the composed step again, on the inputs, so every quantity below is differentiable
        cdef Node a = <Node>linear(x, w, b)
        if self.has_h:
            a = _binary(&B_ADD, a, _matmul(<Node>h, <Node>wh))
        n = a._data.shape[1] // 4
        af, ai, ao, au = _split(a, [n, 2 * n, 3 * n], 1)
        f = _unary(&U_SIGMOID, <Node>af, 0)
        i = _unary(&U_SIGMOID, <Node>ai, 0)
        o = _unary(&U_SIGMOID, <Node>ao, 0)
        u = _unary(&U_TANH, <Node>au, 0)
        cn = _binary(&B_MUL, i, u)
        if self.has_c:
            cn = _binary(&B_ADD, _binary(&B_MUL, f, <Node>c), cn)
        tc = _unary(&U_TANH, cn, 0)
        ghn = <Node>gh if gh is not None else wrap_const(np.zeros_like(tc._data))
        gct = _binary(&B_MUL, _binary(&B_MUL, ghn, o), _unary(&U_RSUBC, _binary(&B_MUL, tc, tc), 1.0))
        if gc is not None:
            gct = _binary(&B_ADD, <Node>gc, gct)
        da = concat([
            _binary(&B_MUL, _binary(&B_MUL, gct, <Node>c), _dsigmoid(f)) if self.has_c
            else wrap_const(np.zeros_like(tc._data)),
            _binary(&B_MUL, _binary(&B_MUL, gct, u), _dsigmoid(i)),
            _binary(&B_MUL, _binary(&B_MUL, ghn, tc), _dsigmoid(o)),
            _binary(&B_MUL, _binary(&B_MUL, gct, i), _unary(&U_RSUBC, _binary(&B_MUL, u, u), 1.0)),
        ], 1)
        grads = [_matmul(<Node>da, _transpose(<Node>w, None)),
                 _matmul(_transpose(<Node>x, None), <Node>da),
                 _sum_to(<Node>da, (<Node>b)._data.shape)]
        if self.has_h:
            grads.append(_matmul(_transpose(<Node>h, None), <Node>da))
            grads.append(_matmul(<Node>da, _transpose(<Node>wh, None)))
        if self.has_c:
            grads.append(_binary(&B_MUL, gct, f))
        return tuple(grads)


cdef tuple _lstm_cell_cat(x, w, b, wh, h, c):
    cdef Node xv = as_var(x)
    cdef Node wv = as_var(w)
    cdef Node bv = as_var(b)
    has_h = h is not None
    if has_h and wh is None:
        raise ValueError("lstm_cell: h given without the hidden weights wh")
    cdef Node whv = as_var(wh) if has_h else None
    cdef Node hv = as_var(h) if has_h else None
    cdef Node cv = as_var(c) if c is not None else None
    xs = xv._data.shape
    ws = wv._data.shape
    if len(xs) != 2 or len(ws) != 2 or ws[0] != xs[1] or ws[1] % 4 or ws[1] == 0:
        raise ValueError(f"lstm_cell: x of shape {xs} does not fit input weights of shape {ws} "
                         f"(expected ({xs[-1] if xs else '?'}, 4H): the four gates side by side)")
    n = ws[1] // 4
    if bv._data.shape not in ((ws[1],), (1, ws[1])):
        raise ValueError(f"lstm_cell: a bias of shape {bv._data.shape} does not fit the gates' "
                         f"{ws[1]} columns (expected (1, {ws[1]}))")
    if has_h:
        if whv._data.shape != (n, ws[1]):
            raise ValueError(f"lstm_cell: hidden weights of shape {whv._data.shape}; expected "
                             f"({n}, {ws[1]})")
        if hv._data.shape != (xs[0], n):
            raise ValueError(f"lstm_cell: h of shape {hv._data.shape} does not fit a batch of "
                             f"{xs[0]} and {n} units")
    if cv is not None and cv._data.shape != (xs[0], n):
        raise ValueError(f"lstm_cell: c of shape {cv._data.shape} does not match the gates' "
                         f"shape {(xs[0], n)}")
    # the pre-activations, computed as the composed step computes them
    yd = _gates_product(xv._data, wv._data)
    bd = bv._data
    if np.result_type(yd, bd) == yd.dtype:
        yd += bd
    else:
        yd = yd + bd
    if has_h:
        yd = yd + _gates_product(hv._data, whv._data)
    hd, cd, saved = lstm_gates_cat(yd, None if cv is None else cv._data)
    cdef Node hn = new_var(hd)
    cdef Node cn = new_var(cd)
    cdef tuple ins = ((xv, wv, bv) + ((whv, hv) if has_h else ())
                      + ((cv,) if cv is not None else ()))
    cdef LSTMCellCat f
    if _record(ins):
        f = LSTMCellCat.__new__(LSTMCellCat)
        f.has_h = has_h
        f.has_c = cv is not None
        f.saved = saved
        link_outputs(f, [hn, cn], ins)
    return hn, cn
