# Included by ops.pyx: the Elman RNN's step as one operation. Shares the module namespace.

# ---------------------------------------------------------------------------- the RNN step
# An Elman step after the input's product, h = tanh(a + h0 @ wh), as one node instead of
# three (product, sum, tanh). ``a = x @ wx + b`` stays a Linear node of its own: its
# gradients then reach wx and b in the walk's order as before. Forward and backward
# compute the composed form's arithmetic in its order, so the values are the composed
# form's to the last bit, and so are the gradients while each state gets its gradient
# from two places at most (the walk may add three in another order); the differentiable
# backward is built of the composed form's operations, so create_graph works.


cdef class RNNCell(Function):
    """``tanh(a + h0 @ wh)``. Inputs: ``a``, ``wh``, ``h0`` (both 2-D)."""

    cdef object backward_arrays(self, object gy):
        cdef Node a = self._x0
        cdef Node wh = self._x1
        cdef Node h0 = <Node>self._more[0]
        hd = h0._data
        wd = wh._data
        ga = tanh_grad(_out_data(self), gy)                         # as Tanh's backward
        gp = sum_to_array(ga, (hd.shape[0], wd.shape[1]))           # as Add's
        return (None if a._const else sum_to_array(ga, a._data.shape),
                None if wh._const else matmul_arrays(hd.T, gp),     # as MatMul's
                None if h0._const else matmul_arrays(gp, wd.T))

    cdef object backward_vars(self, object gy):
        cdef Node a = self._x0
        cdef Node wh = self._x1
        cdef Node h0 = <Node>self._more[0]
        ga = _binary(&B_TANH_GRAD, <Node>gy, _out_var(self))
        gp = _sum_to(ga, (h0._data.shape[0], wh._data.shape[1]))
        return (None if a._const else _sum_to(ga, a._data.shape),
                None if wh._const else _matmul(_transpose(h0, None), gp),
                None if h0._const else _matmul(gp, _transpose(wh, None)))


def rnn_cell(a, wh, h):
    """One step of an Elman RNN after its input's product, ``tanh(a + h @ wh)``, as one
    operation (``a`` is ``x @ wx + b``, from ``linear``; ``h`` the previous state),
    computed as the composed form ``tanh(a + linear(h, wh))`` computes it.

    >>> h = rnn_cell(variable(0.5).reshape(1, 1), variable(2.0).reshape(1, 1),
    ...              variable(0.25).reshape(1, 1))
    >>> round(h.item(), 6)
    0.761594
    """
    cdef Node av = as_var(a)
    cdef Node wv = as_var(wh)
    cdef Node hv = as_var(h)
    hd = hv._data
    wd = wv._data
    if hd.ndim != 2 or wd.ndim != 2 or hd.shape[1] != wd.shape[0]:
        raise ValueError(f"rnn_cell: h of shape {hd.shape} does not fit hidden weights of "
                         f"shape {wd.shape} (expected (N, {wd.shape[0] if wd.ndim else '?'}) "
                         f"and (H, H) matrices)")
    pd = matmul_arrays(hd, wd)
    try:
        fits = np.broadcast_shapes(av._data.shape, pd.shape) == pd.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"rnn_cell: a of shape {av._data.shape} does not fit the hidden "
                         f"product's shape {pd.shape}")
    cdef Node y = new_var(tanh_array(av._data + pd))
    cdef tuple ins = (av, wv, hv)
    if _record(ins):
        link_all(RNNCell.__new__(RNNCell), y, ins)
    return y
