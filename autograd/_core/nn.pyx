"""The neural-network operations: convolution, pooling, embedding, layer and batch norm.

Each is a Function subclass written as those of ``ops.pyx``: a forward on arrays
through the compiled loops of ``nn_kernels`` (for the convolution, im2col and one
BLAS product per chunk of images), ``backward_arrays`` for the ordinary backward pass, and
``backward_vars``, written with differentiable functions, for ``create_graph=True``.

The backward passes of the linear operations are operations too, each with its own
backward, so derivatives of any order exist:

* ``conv2d(x, w)``: ``gx = conv_transpose2d(gy, w)`` and ``gw = conv2d_grad_w(x, gy)``,
  the adjoints of ``x -> conv2d(x, w)`` and ``w -> conv2d(x, w)``; the backward of
  each is ``conv2d`` or the other adjoint (as PyTorch does).
* pooling: max pooling scatters the gradient to the recorded argmax positions, and
  the scatter's backward gathers from them; average pooling's backward is its
  adjoint, whose backward is average pooling again.
* ``embedding``: a gather of rows whose backward is a scatter-add and back.
* the norms: fused loops forward and backward; the differentiable backward is the
  same formula written with F's functions.

Every array kept for backward (ids, argmax positions, statistics) is made
here and never handed out, so no caller can change a gradient through it.
"""
cimport numpy as cnp
from autograd._core.graph cimport (Node, Function, grad_enabled, train_enabled, new_var,
                                   as_var, link1, link2, link_all, wrap_const, SPARE_X0, SPARE_Y)
from autograd._core import nn_kernels as K
from autograd._core import ops as _ops
from operator import index as operator_index
import numpy as np

cnp.import_array()

# The differentiable functions the create_graph backward passes are written with.
_add = _ops.add
_sub = _ops.sub
_mul = _ops.mul
_square = _ops.square
_pow = _ops.pow
_mean = _ops.mean
_sum = _ops.sum
_sum_to = _ops.sum_to
_reshape = _ops.reshape


# ============================================================================ helpers

cdef bint _record(tuple inputs):
    """Record a node when backprop is on and some input is not a constant."""
    cdef Node x
    if not grad_enabled():
        return False
    for x in inputs:
        if not x._const:
            return True
    return False


cdef tuple _pair(object v, str what, Py_ssize_t low):
    """An int or a pair of ints as a checked pair."""
    cdef list out = []
    items = (v, v) if not isinstance(v, (tuple, list)) else v
    if len(items) != 2:
        raise TypeError(f"{what} must be an int or an (h, w) pair of ints, got {v!r}")
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{what} must be an int or an (h, w) pair of ints, got {v!r}")
        try:
            out.append(int(operator_index(item)))
        except TypeError:
            raise TypeError(f"{what} must be an int or an (h, w) pair of ints, got {v!r}") from None
    if out[0] < low or out[1] < low:
        raise ValueError(f"{what} must be {'positive' if low else 'non-negative'}, got {v!r}")
    return out[0], out[1]


cdef object _float_like(object a, object dtype):
    return a if a.dtype == dtype else a.astype(dtype)


cdef object _cast_grad(object g, Node x):
    """A gradient in its input's dtype (inputs of mixed dtypes compute in the wider one)."""
    if g is None:
        return None
    return g if g.dtype == x._data.dtype else g.astype(x._data.dtype)


cdef tuple _conv_out(tuple xshape, tuple kernel, tuple stride, tuple pad, str what):
    cdef Py_ssize_t h = xshape[2], w = xshape[3]
    kh, kw = kernel
    sh, sw = stride
    ph, pw = pad
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"{what}: kernel {kh}x{kw} is larger than the padded input "
                         f"{h + 2 * ph}x{w + 2 * pw} (input {h}x{w}, pad {pad})")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


# ============================================================================ convolution

# The patch matrix of a whole batch is kernel-size times the input; the batch is cut into
# chunks of images whose temporaries (the patches, the product before it is rearranged
# into the output, the rearranged output gradient) stay under this size each, so that a
# step's peak memory is its activations, not nine copies of them. 128 KiB: the digits
# CNN's temporaries stay under its activations at float32, and its products few enough
# (10 chunks at most a convolution) that the chunking costs no time; at 64 KiB the
# float64 step was 8% slower (22 chunks in the second convolution).
cdef Py_ssize_t CHUNK_BYTES = 1 << 17


cdef list _chunks(Py_ssize_t n, Py_ssize_t bytes_per_image):
    cdef Py_ssize_t per = CHUNK_BYTES // bytes_per_image if bytes_per_image > 0 else n
    if per < 1:
        per = 1
    return [(i, i + per if i + per < n else n) for i in range(0, n, per)]


cdef object _conv_arrays(object x, object w, object b, tuple stride, tuple pad):
    """conv2d on arrays (x and w of one dtype)."""
    n = x.shape[0]
    o, c, kh, kw = w.shape
    oh, ow = _conv_out(x.shape, (kh, kw), stride, pad, "conv2d")
    x = np.ascontiguousarray(x)
    w2 = w.reshape(o, c * kh * kw)
    y = np.empty((n, o, oh * ow), dtype=np.result_type(x, w))
    for n0, n1 in _chunks(n, max(c * kh * kw, o) * oh * ow * y.dtype.itemsize):
        col = K.im2col(x[n0:n1], (kh, kw), stride, pad)
        K.cn_to_nchw(np.matmul(w2, col), b, n1 - n0, out=y[n0:n1])
        col = None  # before the next chunk's is made: one chunk of patches alive at a time
    return y.reshape(n, o, oh, ow)


cdef tuple _conv_grads(object x, tuple xshape, object w, tuple wshape, object gy, tuple stride,
                       tuple pad):
    """``(gx, gw, gb)`` of conv2d for the output gradient ``gy``: gx when the weights ``w``
    are given, gw when the input ``x`` is given (else None), gb (out,) in float64.
    Computed in the widest dtype of the arrays given."""
    dtype = np.result_type(*[a for a in (x, w, gy) if a is not None])
    n = xshape[0]
    o, c, kh, kw = wshape
    oh, ow = gy.shape[2], gy.shape[3]
    gy = np.ascontiguousarray(_float_like(gy, dtype)).reshape(n, o, oh * ow)
    gx = gw = w2 = None
    if w is not None:
        w2 = _float_like(w, dtype).reshape(o, c * kh * kw)
        gx = np.zeros(xshape, dtype=dtype)
    if x is not None:
        x = np.ascontiguousarray(_float_like(x, dtype))
        gw = np.zeros((o, c * kh * kw), dtype=dtype)
    gb = np.zeros(o, dtype=np.float64)
    for n0, n1 in _chunks(n, max(c * kh * kw, o) * oh * ow * np.dtype(dtype).itemsize):
        gy2, gb_part = K.nchw_to_cn(gy[n0:n1])
        gb += gb_part
        if gw is not None:
            col = K.im2col(x[n0:n1], (kh, kw), stride, pad)
            gw += np.matmul(gy2, col.T)
            col = None
        if gx is not None:
            K.col2im(np.matmul(w2.T, gy2), (n1 - n0, c, xshape[2], xshape[3]), (kh, kw),
                     stride, pad, out=gx[n0:n1])
        gy2 = None
    return gx, None if gw is None else gw.reshape(wshape), gb


cdef object _conv_t_arrays(object gy, object w, tuple xshape, tuple stride, tuple pad):
    """The adjoint of x -> conv2d(x, w) applied to ``gy``: an image of ``xshape``."""
    return _conv_grads(None, xshape, w, w.shape, gy, stride, pad)[0]


cdef object _conv_w_arrays(object x, object gy, tuple kernel, tuple stride, tuple pad):
    """The adjoint of w -> conv2d(x, w) applied to ``gy``."""
    wshape = (gy.shape[1], x.shape[1]) + kernel
    return _conv_grads(x, x.shape, None, wshape, gy, stride, pad)[1]


cdef class Conv2d(Function):
    cdef tuple stride, pad

    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        cdef Node b = None if self._n_in < 3 else <Node>self._more[0]
        xd = x._data
        wd = w._data
        gx, gw, gbias = _conv_grads(None if w._const else xd, xd.shape,
                                    None if x._const else wd, wd.shape, gy, self.stride, self.pad)
        gx = _cast_grad(gx, x)
        gw = _cast_grad(gw, w)
        if b is None:
            return (gx, gw)
        return (gx, gw, None if b._const else gbias.astype(b._data.dtype))

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        cdef Node w = self._x1
        cdef Node g = <Node>gy
        kernel = tuple(w._data.shape[2:])
        gx = None if x._const else _conv_transpose(g, w, x._data.shape, self.stride, self.pad)
        gw = None if w._const else _conv_grad_w(x, g, kernel, self.stride, self.pad)
        if self._n_in < 3:
            return (gx, gw)
        gb = None if (<Node>self._more[0])._const else _sum(g, (0, 2, 3))
        return (gx, gw, gb)


cdef class ConvTranspose2d(Function):
    """``gy, w -> gx``: the gradient of conv2d for its input, linear in each argument."""
    cdef tuple xshape, stride, pad

    cdef object backward_arrays(self, object ggx):
        cdef Node gy = self._x0
        cdef Node w = self._x1
        wd = w._data
        g_gy = g_w = None
        if not gy._const:
            g_gy = _conv_arrays(ggx, wd, None, self.stride, self.pad)
        if not w._const:
            g_w = _conv_w_arrays(ggx, gy._data, tuple(wd.shape[2:]), self.stride, self.pad)
        return (g_gy, g_w)

    cdef object backward_vars(self, object ggx):
        cdef Node gy = self._x0
        cdef Node w = self._x1
        g_gy = None if gy._const else _conv2d(<Node>ggx, w, None, self.stride, self.pad)
        g_w = None if w._const else _conv_grad_w(<Node>ggx, gy, tuple(w._data.shape[2:]),
                                                 self.stride, self.pad)
        return (g_gy, g_w)


cdef class Conv2dGradW(Function):
    """``x, gy -> gw``: the gradient of conv2d for its weights, linear in each argument."""
    cdef tuple kernel, stride, pad

    cdef object backward_arrays(self, object ggw):
        cdef Node x = self._x0
        cdef Node gy = self._x1
        g_x = g_gy = None
        if not x._const:
            g_x = _conv_t_arrays(gy._data, ggw, x._data.shape, self.stride, self.pad)
        if not gy._const:
            g_gy = _conv_arrays(x._data, ggw, None, self.stride, self.pad)
        return (g_x, g_gy)

    cdef object backward_vars(self, object ggw):
        cdef Node x = self._x0
        cdef Node gy = self._x1
        g_x = None if x._const else _conv_transpose(gy, <Node>ggw, x._data.shape, self.stride,
                                                    self.pad)
        g_gy = None if gy._const else _conv2d(x, <Node>ggw, None, self.stride, self.pad)
        return (g_x, g_gy)


cdef Node _conv2d(Node x, Node w, Node b, tuple stride, tuple pad):
    xd = x._data
    wd = w._data
    dtype = np.result_type(xd, wd) if b is None else np.result_type(xd, wd, b._data)
    xd = _float_like(xd, dtype)
    y = _conv_arrays(xd, _float_like(wd, dtype),
                     None if b is None else _float_like(b._data, dtype), stride, pad)
    cdef Node out = new_var(y)
    cdef tuple ins = (x, w) if b is None else (x, w, b)
    cdef Conv2d f
    if _record(ins):
        f = Conv2d.__new__(Conv2d)
        f.stride = stride
        f.pad = pad
        f._spare = SPARE_Y             # its backward reads x and w
        link_all(f, out, ins)
    return out


cdef Node _conv_transpose(Node gy, Node w, tuple xshape, tuple stride, tuple pad):
    dtype = np.result_type(gy._data, w._data)
    gx = _conv_t_arrays(_float_like(gy._data, dtype), _float_like(w._data, dtype), xshape,
                        stride, pad)
    cdef Node out = new_var(gx)
    cdef ConvTranspose2d f
    if _record((gy, w)):
        f = ConvTranspose2d.__new__(ConvTranspose2d)
        f.xshape = xshape
        f.stride = stride
        f.pad = pad
        link2(f, out, gy, w)
    return out


cdef Node _conv_grad_w(Node x, Node gy, tuple kernel, tuple stride, tuple pad):
    dtype = np.result_type(x._data, gy._data)
    gw = _conv_w_arrays(_float_like(x._data, dtype), _float_like(gy._data, dtype), kernel,
                        stride, pad)
    cdef Node out = new_var(gw)
    cdef Conv2dGradW f
    if _record((x, gy)):
        f = Conv2dGradW.__new__(Conv2dGradW)
        f.kernel = kernel
        f.stride = stride
        f.pad = pad
        link2(f, out, x, gy)
    return out


def conv2d(x, w, b=None, stride=1, pad=0):
    """2-D convolution (cross-correlation, as PyTorch's ``conv2d``) of ``x`` (N, C, H, W)
    with weights ``w`` (out, C, kh, kw) plus the bias ``b`` (out,), zero padding ``pad``.

    ``stride`` and ``pad`` are an int or an (h, w) pair. The output has shape
    (N, out, (H + 2 pad - kh) // stride + 1, ...). Computed as a matrix product over the
    patches (im2col), one per chunk of images of at most 128 KiB of patches; differentiable
    to any order.

    >>> import numpy as np
    >>> y = conv2d(np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)), np.array([0.0, 1.0]))
    >>> y.shape, y.data[0, :, 0, 0].tolist()
    ((1, 2, 2, 2), [4.0, 5.0])
    """
    cdef Node xv = as_var(x)
    cdef Node wv = as_var(w)
    cdef Node bv = None if b is None else as_var(b)
    xs = xv._data.shape
    ws = wv._data.shape
    if len(xs) != 4:
        raise ValueError(f"conv2d: x must have shape (N, C, H, W), got {xs}")
    if len(ws) != 4:
        raise ValueError(f"conv2d: w must have shape (out_channels, in_channels, kh, kw), got {ws}")
    if min(ws) <= 0:
        raise ValueError(f"conv2d: w has an empty dimension: shape {ws}")
    if xs[1] != ws[1]:
        raise ValueError(f"conv2d: x has {xs[1]} channels but w expects in_channels={ws[1]} "
                         f"(x {xs}, w {ws})")
    if bv is not None and bv._data.shape != (ws[0],):
        raise ValueError(f"conv2d: b must have shape ({ws[0]},) (one per output channel), "
                         f"got {bv._data.shape}")
    st = _pair(stride, "conv2d: stride", 1)
    pd = _pair(pad, "conv2d: pad", 0)
    _conv_out(xs, (ws[2], ws[3]), st, pd, "conv2d")
    return _conv2d(xv, wv, bv, st, pd)


# ============================================================================ pooling

cdef tuple _pool_args(object kernel, object stride, object pad, str what):
    k = _pair(kernel, what + ": kernel", 1)
    s = k if stride is None else _pair(stride, what + ": stride", 1)
    p = _pair(pad, what + ": pad", 0)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(f"{what}: pad {p} must be at most half the kernel {k}")
    return k, s, p


cdef object _planes(Node x, str what):
    xs = x._data.shape
    if len(xs) != 4:
        raise ValueError(f"{what}: x must have shape (N, C, H, W), got {xs}")
    return x._data.reshape(xs[0] * xs[1], xs[2], xs[3])


cdef class PoolScatter(Function):
    """``g -> gx``: values added at flat positions ``idx`` of each plane (max pooling's
    backward); linear, its backward is the gather from the same positions."""
    cdef object idx          # (N*C, OH*OW) intp, private
    cdef tuple xshape

    cdef object backward_arrays(self, object ggx):
        xs = self.xshape
        src = np.ascontiguousarray(ggx).reshape(xs[0] * xs[1], xs[2] * xs[3])
        return K.gather(src, self.idx).reshape(self._x0._data.shape)

    cdef object backward_vars(self, object ggx):
        return _pool_gather(<Node>ggx, self.idx, self._x0._data.shape)


cdef class PoolGather(Function):
    """``gx -> g``: values read at flat positions ``idx`` of each plane; its backward is
    the scatter-add to them."""
    cdef object idx
    cdef tuple gshape

    cdef object backward_arrays(self, object gg):
        xs = self._x0._data.shape
        out = K.scatter_add(np.ascontiguousarray(gg).reshape(self.idx.shape), self.idx,
                            xs[2] * xs[3])
        return out.reshape(xs)

    cdef object backward_vars(self, object gg):
        return _pool_scatter(<Node>gg, self.idx, self._x0._data.shape)


cdef Node _pool_scatter(Node g, object idx, tuple xshape):
    gd = g._data
    out = K.scatter_add(np.ascontiguousarray(gd).reshape(idx.shape), idx,
                        xshape[2] * xshape[3]).reshape(xshape)
    cdef Node y = new_var(out)
    cdef PoolScatter f
    if _record((g,)):
        f = PoolScatter.__new__(PoolScatter)
        f.idx = idx
        f.xshape = xshape
        link1(f, y, g)
    return y


cdef Node _pool_gather(Node gx, object idx, tuple gshape):
    xs = gx._data.shape
    src = np.ascontiguousarray(gx._data).reshape(xs[0] * xs[1], xs[2] * xs[3])
    cdef Node y = new_var(K.gather(src, idx).reshape(gshape))
    cdef PoolGather f
    if _record((gx,)):
        f = PoolGather.__new__(PoolGather)
        f.idx = idx
        f.gshape = gshape
        link1(f, y, gx)
    return y


cdef class MaxPool2d(Function):
    # Where each maximum was, as its position in its window: one byte an output (uint8),
    # private. An intp index into the plane would cost twice a float32 output, kept as
    # long as the graph is; kernels of over 256 elements keep those (idx) instead.
    cdef object pos
    cdef object idx
    cdef tuple kernel, stride, pad

    cdef object backward_arrays(self, object gy):
        xs = self._x0._data.shape
        g = np.ascontiguousarray(gy)
        if self.pos is None:
            out = K.scatter_add(g.reshape(self.idx.shape), self.idx, xs[2] * xs[3])
            return out.reshape(xs)
        g = g.reshape(self.pos.shape)
        out = K.max_pool_backward(self.pos, g, (xs[0] * xs[1], xs[2], xs[3]), self.kernel,
                                  self.stride, self.pad)
        return out.reshape(xs)

    cdef object backward_vars(self, object gy):
        idx = self.idx
        if idx is None:  # higher orders: the flat positions, for the scatter that needs them
            idx = _plane_index(self.pos, self.kernel, self.stride, self.pad,
                               self._x0._data.shape[3])
            idx.flags.writeable = False
        return _pool_scatter(<Node>gy, idx, self._x0._data.shape)


cdef object _plane_index(object pos, tuple kernel, tuple stride, tuple pad, Py_ssize_t w):
    """Window positions ``i * kw + j`` (m, oh, ow) as flat indices ``row * w + col`` into
    their planes (m, oh * ow): the window at (r, c) starts at row r * sh - ph, column
    c * sw - pw."""
    m, oh, ow = pos.shape
    p = pos.astype(np.intp)
    rows = np.arange(oh, dtype=np.intp)[:, None] * stride[0] - pad[0] + p // kernel[1]
    cols = np.arange(ow, dtype=np.intp) * stride[1] - pad[1] + p % kernel[1]
    return (rows * w + cols).reshape(m, oh * ow)


def max_pool2d(x, kernel, stride=None, pad=0):
    """Max pooling of ``x`` (N, C, H, W) over ``kernel`` windows moved by ``stride``
    (the kernel when None); padding (at most half the kernel) never wins.

    The gradient goes to the first maximum of each window (scan order), as PyTorch.

    >>> import numpy as np
    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    cdef Node v = as_var(x)
    k, s, p = _pool_args(kernel, stride, pad, "max_pool2d")
    planes = _planes(v, "max_pool2d")
    xs = v._data.shape
    _conv_out(xs, k, s, p, "max_pool2d")
    cdef bint record = _record((v,))
    small = k[0] * k[1] <= 256
    yd, where = K.max_pool_forward(planes, k, s, p, ("window" if small else True) if record
                                   else False)
    cdef Node y = new_var(yd.reshape(xs[0], xs[1], yd.shape[1], yd.shape[2]))
    cdef MaxPool2d f
    if record:
        f = MaxPool2d.__new__(MaxPool2d)
        where.flags.writeable = False
        if small:
            f.pos = where
        else:
            f.idx = where.reshape(where.shape[0], -1)
        f.kernel = k
        f.stride = s
        f.pad = p
        f._spare = SPARE_X0 | SPARE_Y     # where the maxima were, and x's shape
        link1(f, y, v)
    return y


cdef class AvgPool2d(Function):
    cdef tuple kernel, stride, pad

    cdef object backward_arrays(self, object gy):
        xs = self._x0._data.shape
        gx = K.avg_pool_backward(gy.reshape(xs[0] * xs[1], gy.shape[2], gy.shape[3]),
                                 (xs[0] * xs[1], xs[2], xs[3]), self.kernel, self.stride, self.pad)
        return gx.reshape(xs)

    cdef object backward_vars(self, object gy):
        return _avg_pool_grad(<Node>gy, self._x0._data.shape, self.kernel, self.stride, self.pad)


cdef class AvgPool2dGrad(Function):
    """``gy -> gx``: the adjoint of average pooling; its backward is average pooling."""
    cdef tuple xshape, kernel, stride, pad

    cdef object backward_arrays(self, object ggx):
        xs = self.xshape
        y = K.avg_pool_forward(ggx.reshape(xs[0] * xs[1], xs[2], xs[3]), self.kernel,
                               self.stride, self.pad)
        return y.reshape(self._x0._data.shape)

    cdef object backward_vars(self, object ggx):
        return _avg_pool(<Node>ggx, self.kernel, self.stride, self.pad)


cdef Node _avg_pool(Node x, tuple k, tuple s, tuple p):
    xs = x._data.shape
    yd = K.avg_pool_forward(x._data.reshape(xs[0] * xs[1], xs[2], xs[3]), k, s, p)
    cdef Node y = new_var(yd.reshape(xs[0], xs[1], yd.shape[1], yd.shape[2]))
    cdef AvgPool2d f
    if _record((x,)):
        f = AvgPool2d.__new__(AvgPool2d)
        f.kernel = k
        f.stride = s
        f.pad = p
        link1(f, y, x)
    return y


cdef Node _avg_pool_grad(Node gy, tuple xshape, tuple k, tuple s, tuple p):
    gs = gy._data.shape
    m = xshape[0] * xshape[1]
    gx = K.avg_pool_backward(gy._data.reshape(m, gs[2], gs[3]), (m, xshape[2], xshape[3]),
                             k, s, p)
    cdef Node y = new_var(gx.reshape(xshape))
    cdef AvgPool2dGrad f
    if _record((gy,)):
        f = AvgPool2dGrad.__new__(AvgPool2dGrad)
        f.xshape = xshape
        f.kernel = k
        f.stride = s
        f.pad = p
        link1(f, y, gy)
    return y


def avg_pool2d(x, kernel, stride=None, pad=0):
    """Average pooling of ``x`` (N, C, H, W) over ``kernel`` windows moved by ``stride``
    (the kernel when None); padded zeros count in the mean (PyTorch's default).

    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data[0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    cdef Node v = as_var(x)
    k, s, p = _pool_args(kernel, stride, pad, "avg_pool2d")
    _planes(v, "avg_pool2d")
    _conv_out(v._data.shape, k, s, p, "avg_pool2d")
    return _avg_pool(v, k, s, p)


# ============================================================================ embedding

cdef class Embedding(Function):
    """``w -> w[ids]``: rows of the table; the backward adds gradients into the rows."""
    cdef object ids          # flat intp ids, private and read-only

    cdef object backward_arrays(self, object gy):
        wd = self._x0._data
        return K.embedding_backward(self.ids, np.reshape(gy, (self.ids.shape[0], wd.shape[1])),
                                    wd.shape[0])

    cdef object backward_vars(self, object gy):
        return _embedding_grad(<Node>gy, self.ids, self._x0._data.shape)


cdef class EmbeddingGrad(Function):
    """``gy -> gw``: the scatter-add of rows; its backward is the gather (embedding)."""
    cdef object ids
    cdef tuple wshape

    cdef object backward_arrays(self, object ggw):
        return ggw.take(self.ids, axis=0).reshape(self._x0._data.shape)

    cdef object backward_vars(self, object ggw):
        y = _embedding(<Node>ggw, self.ids)
        return _reshape(y, self._x0._data.shape)


cdef Node _embedding(Node w, object ids):
    cdef Node y = new_var(w._data.take(ids, axis=0))
    cdef Embedding f
    if _record((w,)):
        f = Embedding.__new__(Embedding)
        f.ids = ids
        link1(f, y, w)
    return y


cdef Node _embedding_grad(Node gy, object ids, tuple wshape):
    g2 = np.reshape(gy._data, (ids.shape[0], wshape[1]))
    cdef Node y = new_var(K.embedding_backward(ids, g2, wshape[0]))
    cdef EmbeddingGrad f
    if _record((gy,)):
        f = EmbeddingGrad.__new__(EmbeddingGrad)
        f.ids = ids
        f.wshape = wshape
        link1(f, y, gy)
    return y


def embedding(ids, w):
    """Rows of the table ``w`` (num, dim) at integer ``ids`` (any shape): shape
    ``ids.shape + (dim,)``. The gradient of a row used twice adds up.

    >>> import numpy as np
    >>> embedding([[0, 2]], np.arange(6.0).reshape(3, 2)).data.tolist()
    [[[0.0, 1.0], [4.0, 5.0]]]
    """
    cdef Node wv = as_var(w)
    wd = wv._data
    if wd.ndim != 2:
        raise ValueError(f"embedding: w must have shape (num_embeddings, dim), got {wd.shape}")
    if isinstance(ids, Node):
        ids = (<Node>ids)._data
    arr = np.asarray(ids)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError("embedding: ids must be integers, got non-integer floats")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got dtype {arr.dtype}")
    flat = np.array(arr, dtype=np.intp).reshape(-1)        # a private copy
    if flat.size:
        lo = int(flat.min())
        hi = int(flat.max())
        if lo < 0 or hi >= wd.shape[0]:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: id {bad} is out of range for {wd.shape[0]} rows "
                             f"(expected 0..{wd.shape[0] - 1})")
    flat.flags.writeable = False
    y = _embedding(wv, flat)
    shape = arr.shape + (wd.shape[1],)
    return y if y._data.shape == shape else _reshape(y, shape)


# ============================================================================ layer norm

cdef object _const_or_none(object v, tuple shape, object dtype, double fill):
    if v is None:
        return wrap_const(np.full(shape, fill, dtype=dtype))
    return as_var(v)


cdef class LayerNorm(Function):
    cdef object mean, rstd   # float64 row statistics, private
    cdef double eps
    cdef int naxes           # how many trailing axes are normalised together

    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node gamma = self._x1
        cdef Node beta = <Node>self._more[0]
        xd = x._data
        dtype = np.result_type(xd, gamma._data, beta._data)
        dim = gamma._data.size
        x2 = _float_like(xd, dtype).reshape(-1, dim)
        gx, ggamma, gbeta = K.layer_norm_backward(
            x2, _float_like(gamma._data, dtype).reshape(dim), self.mean, self.rstd,
            _float_like(gy, dtype).reshape(-1, dim))
        return (None if x._const else _cast_grad(gx.reshape(xd.shape), x),
                None if gamma._const else _cast_grad(ggamma.reshape(gamma._data.shape), gamma),
                None if beta._const else _cast_grad(gbeta.reshape(beta._data.shape), beta))

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        cdef Node gamma = self._x1
        cdef Node beta = <Node>self._more[0]
        nd = x._data.ndim
        axes = tuple(range(nd - self.naxes, nd))
        xhat, rstd = _normalized(x, axes, self.eps)
        return _norm_grads(<Node>gy, x, gamma, beta, xhat, rstd, axes, None)


cdef tuple _normalized(Node x, tuple axes, double eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, differentiably, and the 1/sqrt."""
    mu = _mean(x, axes, True)
    xc = _sub(x, mu)
    var = _mean(_square(xc), axes, True)
    rstd = _pow(_add(var, eps), -0.5)
    return _mul(xc, rstd), rstd


cdef tuple _norm_grads(Node gy, Node x, Node gamma, Node beta, object xhat, object rstd,
                       tuple axes, object pshape):
    """Gradients of ``xhat * gamma + beta`` (xhat normalised over ``axes``) for x, gamma
    and beta, written with differentiable functions; ``pshape`` is the shape gamma
    broadcasts as (None: it broadcasts as it is)."""
    g_gamma = gamma if pshape is None else _reshape(gamma, pshape)
    g = _mul(gy, g_gamma)
    gx = None
    if not x._const:
        inner = _sub(_sub(g, _mean(g, axes, True)),
                     _mul(xhat, _mean(_mul(g, xhat), axes, True)))
        gx = _mul(rstd, inner)
    gg = gb = None
    if not gamma._const:
        gg = _reshape(_sum_to(_mul(gy, xhat), _keep(x, pshape, gamma)),
                      gamma._data.shape)
    if not beta._const:
        gb = _reshape(_sum_to(gy, _keep(x, pshape, beta)), beta._data.shape)
    return (gx, gg, gb)


cdef tuple _keep(Node x, object pshape, Node p):
    return tuple(p._data.shape) if pshape is None else tuple(pshape)


def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise ``x`` over its last dimensions (those of ``gamma``'s shape, as PyTorch's
    ``normalized_shape``) to mean 0 and variance 1, then ``* gamma + beta``.

    The variance is the population one (dividing by the count); ``gamma`` and ``beta``
    may be None (ones and zeros, without gradient).

    >>> import numpy as np
    >>> y = layer_norm(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> y.data.round(4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    """
    cdef Node xv = as_var(x)
    xd = xv._data
    ref = gamma if gamma is not None else beta
    if ref is None:
        nshape = xd.shape[xd.ndim - 1:]
    else:
        nshape = as_var(ref)._data.shape
    cdef Node gv = _const_or_none(gamma, nshape, xd.dtype, 1.0)
    cdef Node bv = _const_or_none(beta, nshape, xd.dtype, 0.0)
    k = len(nshape)
    if k == 0 or k > xd.ndim or tuple(xd.shape[xd.ndim - k:]) != tuple(nshape):
        raise ValueError(f"layer_norm: gamma of shape {tuple(nshape)} does not match the last "
                         f"dimensions of x {xd.shape}")
    if bv._data.shape != gv._data.shape:
        raise ValueError(f"layer_norm: beta of shape {bv._data.shape} differs from gamma's "
                         f"{gv._data.shape}")
    if not isinstance(eps, (int, float, np.floating, np.integer)) or not eps > 0:
        raise ValueError(f"layer_norm: eps must be a positive number, got {eps!r}")
    dtype = np.result_type(xd, gv._data, bv._data)
    dim = gv._data.size
    if dim == 0:
        raise ValueError(f"layer_norm: nothing to normalise over (gamma shape {gv._data.shape})")
    yd, mean, rstd = K.layer_norm_forward(_float_like(xd, dtype).reshape(-1, dim),
                                          _float_like(gv._data, dtype).reshape(dim),
                                          _float_like(bv._data, dtype).reshape(dim), eps)
    cdef Node y = new_var(yd.reshape(xd.shape))
    cdef LayerNorm f
    cdef tuple ins = (xv, gv, bv)
    if _record(ins):
        f = LayerNorm.__new__(LayerNorm)
        f.mean = mean
        f.rstd = rstd
        f.eps = eps
        f.naxes = k
        link_all(f, y, ins)
    return y


# ============================================================================ batch norm

cdef class BatchNorm(Function):
    """Batch normalisation with the batch's statistics (training)."""
    cdef object mean, rstd   # float64 per channel, private
    cdef double eps

    cdef object backward_arrays(self, object gy):
        cdef Node x = self._x0
        cdef Node gamma = self._x1
        cdef Node beta = <Node>self._more[0]
        xd = x._data
        dtype = np.result_type(xd, gamma._data, beta._data)
        xs = xd.shape
        x3 = _float_like(xd, dtype).reshape(xs[0], xs[1], -1)
        gx, ggamma, gbeta = K.batch_norm_backward(
            x3, _float_like(gamma._data, dtype), self.mean, self.rstd,
            _float_like(gy, dtype).reshape(x3.shape))
        return (None if x._const else _cast_grad(gx.reshape(xs), x),
                None if gamma._const else _cast_grad(ggamma, gamma),
                None if beta._const else _cast_grad(gbeta, beta))

    cdef object backward_vars(self, object gy):
        cdef Node x = self._x0
        cdef Node gamma = self._x1
        cdef Node beta = <Node>self._more[0]
        nd = x._data.ndim
        axes = (0,) + tuple(range(2, nd))
        pshape = (1, x._data.shape[1]) + (1,) * (nd - 2)
        xhat, rstd = _normalized(x, axes, self.eps)
        return _norm_grads(<Node>gy, x, gamma, beta, xhat, rstd, axes, pshape)


cdef object _running(object a, Py_ssize_t c, str what):
    if a is None:
        return None
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        raise TypeError(f"batch_norm: {what} must be a float NumPy array (updated in place) or "
                        f"None, got {type(a).__name__}"
                        + (f" of dtype {a.dtype}" if isinstance(a, np.ndarray) else ""))
    if a.shape != (c,):
        raise ValueError(f"batch_norm: {what} must have shape ({c},), got {a.shape}")
    if not a.flags.writeable:
        raise ValueError(f"batch_norm: {what} is read-only; it is updated in place")
    return a


def batch_norm(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of ``x`` (N, C, ...) over the batch and the other
    axes, then ``* gamma + beta`` (each (C,)).

    In training, the batch's mean and (population) variance normalise, and the running
    statistics, NumPy arrays (C,), are updated in place:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased
    variance (PyTorch's convention). In test mode (``ag.test_mode()``) the running
    statistics normalise instead. ``running_mean``/``running_var`` may be None: no update,
    and the batch statistics are used in both modes.

    >>> import numpy as np
    >>> rm, rv = np.zeros(1), np.ones(1)
    >>> y = batch_norm(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), rm, rv)
    >>> y.data.round(4).ravel().tolist(), rm.tolist(), rv.round(4).tolist()
    ([-1.0, 1.0], [0.2], [1.1])
    """
    cdef Node xv = as_var(x)
    xd = xv._data
    if xd.ndim < 2:
        raise ValueError(f"batch_norm: x must have shape (N, C, ...), got {xd.shape}")
    c = xd.shape[1]
    cdef Node gv = _const_or_none(gamma, (c,), xd.dtype, 1.0)
    cdef Node bv = _const_or_none(beta, (c,), xd.dtype, 0.0)
    if gv._data.shape != (c,):
        raise ValueError(f"batch_norm: gamma must have shape ({c},) (one per channel of x "
                         f"{xd.shape}), got {gv._data.shape}")
    if bv._data.shape != (c,):
        raise ValueError(f"batch_norm: beta must have shape ({c},) (one per channel of x "
                         f"{xd.shape}), got {bv._data.shape}")
    rm = _running(running_mean, c, "running_mean")
    rv = _running(running_var, c, "running_var")
    if (rm is None) != (rv is None):
        raise ValueError("batch_norm: running_mean and running_var must both be arrays or both None")
    if not isinstance(momentum, (int, float, np.floating, np.integer)) or not 0 <= momentum <= 1:
        raise ValueError(f"batch_norm: momentum must be a number in [0, 1], got {momentum!r}")
    if not isinstance(eps, (int, float, np.floating, np.integer)) or not eps > 0:
        raise ValueError(f"batch_norm: eps must be a positive number, got {eps!r}")
    dtype = np.result_type(xd, gv._data, bv._data)
    x3 = _float_like(xd, dtype).reshape(xd.shape[0], c, -1)
    gd = _float_like(gv._data, dtype).astype(np.float64)
    bd = _float_like(bv._data, dtype).astype(np.float64)
    cdef Py_ssize_t count = x3.shape[0] * x3.shape[2]
    cdef Node y
    cdef BatchNorm f
    if not train_enabled() and rm is not None:
        # test mode: an affine map per channel with constants from the running statistics
        scale = 1.0 / np.sqrt(rv.astype(np.float64) + eps)
        pshape = (1, c) + (1,) * (xd.ndim - 2)
        if not _record((xv, gv, bv)):
            shift = bd - rm * scale * gd
            return new_var(K.channel_affine(x3, scale * gd, shift).reshape(xd.shape))
        s = _mul(gv, wrap_const(scale.astype(dtype)))
        t = _sub(bv, _mul(s, wrap_const(rm.astype(dtype))))
        return _add(_mul(xv, _reshape(s, pshape)), _reshape(t, pshape))
    if count <= 1:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got "
                         f"x of shape {xd.shape}")
    mean, var = K.channel_stats(x3)
    rstd = 1.0 / np.sqrt(var + eps)
    yd = K.channel_affine(x3, gd * rstd, bd - mean * rstd * gd).reshape(xd.shape)
    if rm is not None:
        m = float(momentum)
        rm *= 1.0 - m
        rm += m * mean
        rv *= 1.0 - m
        rv += m * var * (count / (count - 1.0))
    y = new_var(yd)
    cdef tuple ins = (xv, gv, bv)
    if _record(ins):
        f = BatchNorm.__new__(BatchNorm)
        f.mean = mean
        f.rstd = rstd
        f.eps = eps
        link_all(f, y, ins)
    return y
