"""Loops of the neural-network operations: im2col and col2im for convolution, max and
average pooling, the embedding's scatter-add, and fused layer and batch normalisation.

Each kernel is a ``noexcept nogil`` loop over typed memoryviews, float32 and float64
through ``cython.floating``, behind a thin Python wrapper that validates its arguments,
allocates the outputs and releases the GIL. Statistics (means, variances, sums for
gradients) accumulate in double whatever the data's dtype. Nothing here knows about
graphs: arrays in, arrays out. ``autograd._core.nn`` builds the operations on top.

Shapes, with the convolution's geometry ``(kh, kw)`` kernel, ``(sh, sw)`` stride and
``(ph, pw)`` zero padding, ``oh = (h + 2 ph - kh) // sh + 1`` (``ow`` alike):

* ``im2col(x (n, c, h, w)) -> col (c*kh*kw, n*oh*ow)``: one column per output pixel,
  so a convolution is one matrix product ``w.reshape(o, -1) @ col``;
* ``col2im`` is its adjoint (overlapping taps add up);
* pooling works on ``(m, h, w)`` planes (``m = n*c``).
"""
from cython cimport floating
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawFree
from libc.math cimport sqrt, INFINITY
import numpy as np


# ============================================================================ validation

cdef object _floats(object a, Py_ssize_t ndim, str what):
    """``a`` as a C-contiguous float32/float64 array of ``ndim`` dimensions (no copy if it is one)."""
    a = np.ascontiguousarray(a)
    if a.dtype != np.float64 and a.dtype != np.float32:
        raise TypeError(f"{what}: expected a float32 or float64 array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{what}: expected {ndim} dimensions, got shape {a.shape}")
    return a


cdef object _same_dtype(object a, object b, str what):
    b = np.ascontiguousarray(b)
    if b.dtype != a.dtype:
        raise TypeError(f"{what}: dtype {b.dtype} does not match {a.dtype}")
    return b


cdef tuple _ints2(object pair, str what, Py_ssize_t low):
    a, b = pair
    a = int(a)
    b = int(b)
    if a < low or b < low:
        raise ValueError(f"{what} must be >= {low}, got {pair!r}")
    return a, b


cdef tuple _out_size(Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                     Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, str what):
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"{what}: kernel {kh}x{kw} is larger than the padded input "
                         f"{h + 2 * ph}x{w + 2 * pw}")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


cdef inline Py_ssize_t _first(Py_ssize_t offset, Py_ssize_t stride) noexcept nogil:
    """The first output index q with q * stride + offset >= 0."""
    if offset >= 0:
        return 0
    return (-offset + stride - 1) // stride


cdef inline Py_ssize_t _end(Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t size,
                            Py_ssize_t n_out) noexcept nogil:
    """One past the last output index q < n_out with q * stride + offset < size."""
    cdef Py_ssize_t e
    if size - 1 - offset < 0:
        return 0
    e = (size - 1 - offset) // stride + 1
    return e if e < n_out else n_out


# ============================================================================ convolution

cdef extern from "conv.h" nogil:
    # the rearranging loops over raw rows (conv.h); -1: no memory for their scratch
    int ag_im2col_d(const double *x, double *col, Py_ssize_t n, Py_ssize_t c, Py_ssize_t h,
                    Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow)
    int ag_im2col_f(const float *x, float *col, Py_ssize_t n, Py_ssize_t c, Py_ssize_t h,
                    Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow)
    int ag_col2im_d(const double *col, double *x, Py_ssize_t n, Py_ssize_t c, Py_ssize_t h,
                    Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow)
    int ag_col2im_f(const float *col, float *x, Py_ssize_t n, Py_ssize_t c, Py_ssize_t h,
                    Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow)
    void ag_pool2x2_d(const double *x, double *y, Py_ssize_t *idx, unsigned char *pos,
                      int mode, Py_ssize_t m, Py_ssize_t h, Py_ssize_t w, Py_ssize_t oh,
                      Py_ssize_t ow)
    void ag_pool2x2_f(const float *x, float *y, Py_ssize_t *idx, unsigned char *pos,
                      int mode, Py_ssize_t m, Py_ssize_t h, Py_ssize_t w, Py_ssize_t oh,
                      Py_ssize_t ow)
    Py_ssize_t ag_pool2x2_grad_d(const unsigned char *pos, const double *gy, double *gx,
                                 Py_ssize_t rows, Py_ssize_t ow)
    Py_ssize_t ag_pool2x2_grad_f(const unsigned char *pos, const float *gy, float *gx,
                                 Py_ssize_t rows, Py_ssize_t ow)
    void ag_nchw_to_cn_d(const double *gy, double *gy2, double *gb, Py_ssize_t n,
                         Py_ssize_t outs, Py_ssize_t size)
    void ag_nchw_to_cn_f(const float *gy, float *gy2, double *gb, Py_ssize_t n,
                         Py_ssize_t outs, Py_ssize_t size)


# Where the stride is wider than the kernel or the padding as wide, conv.h's padded plane
# would be mostly never read (a 1x1 image padded by 2,000 with a stride of 4,000 is a
# 4,001 x 4,001 plane for 4 outputs): these loops test the border instead.

cdef inline bint _dense(Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw) noexcept nogil:
    """Whether conv.h's padded plane is read through: strides and paddings under the
    kernel's size."""
    return sh <= kh and sw <= kw and ph < kh and pw < kw


cdef void _im2col_direct(const floating[:, :, :, ::1] x,   # IN  (n, c, h, w)
                         floating[:, ::1] col,               # OUT (c*kh*kw, n*oh*ow)
                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                         Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh,
                         Py_ssize_t ow) noexcept nogil:
    cdef Py_ssize_t n_img = x.shape[0], chans = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c, i, j, n, p, q, r, h, p0, p1, q0, q1, base, w0
    for c in range(chans):
        for i in range(kh):
            p0 = _first(i - ph, sh)
            p1 = _end(i - ph, sh, height, oh)
            for j in range(kw):
                q0 = _first(j - pw, sw)
                q1 = _end(j - pw, sw, width, ow)
                r = (c * kh + i) * kw + j
                w0 = j - pw
                for n in range(n_img):
                    for p in range(oh):
                        base = (n * oh + p) * ow
                        if p < p0 or p >= p1 or q0 >= q1:
                            for q in range(ow):
                                col[r, base + q] = 0
                            continue
                        h = p * sh + i - ph
                        for q in range(q0):
                            col[r, base + q] = 0
                        for q in range(q0, q1):
                            col[r, base + q] = x[n, c, h, q * sw + w0]
                        for q in range(q1, ow):
                            col[r, base + q] = 0


cdef int _col2im_direct(const floating[:, ::1] col,        # IN  (c*kh*kw, n*oh*ow)
                        floating[:, :, :, ::1] x,            # OUT (n, c, h, w): added into
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow) noexcept nogil:
    # As conv.h's col2im: a plane's taps summed in a scratch plane (here the image's own
    # size, the border's taps dropped), which is then added into the image; -1: no memory
    cdef Py_ssize_t n_img = x.shape[0], chans = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c, i, j, n, p, q, r, h, p0, p1, q0, q1, base, w0, k
    cdef floating *plane = <floating *>PyMem_RawMalloc(
        (height * width if height * width > 0 else 1) * sizeof(floating))
    if plane == NULL:
        return -1
    for n in range(n_img):
        for c in range(chans):
            for k in range(height * width):
                plane[k] = 0
            for i in range(kh):
                p0 = _first(i - ph, sh)
                p1 = _end(i - ph, sh, height, oh)
                for j in range(kw):
                    q0 = _first(j - pw, sw)
                    q1 = _end(j - pw, sw, width, ow)
                    r = (c * kh + i) * kw + j
                    w0 = j - pw
                    for p in range(p0, p1):
                        h = p * sh + i - ph
                        base = (n * oh + p) * ow
                        for q in range(q0, q1):
                            plane[h * width + q * sw + w0] += col[r, base + q]
            for h in range(height):
                for q in range(width):
                    x[n, c, h, q] += plane[h * width + q]
    PyMem_RawFree(plane)
    return 0


cdef int _im2col_run(const floating[:, :, :, ::1] x, floating[:, ::1] col, Py_ssize_t kh,
                     Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                     Py_ssize_t oh, Py_ssize_t ow) except -1:
    cdef int done
    if x.shape[0] * x.shape[1] == 0 or col.shape[1] == 0:
        return 0
    with nogil:
        if not _dense(kh, kw, sh, sw, ph, pw):
            _im2col_direct(x, col, kh, kw, sh, sw, ph, pw, oh, ow)
            done = 0
        elif floating is double:
            done = ag_im2col_d(&x[0, 0, 0, 0], &col[0, 0], x.shape[0], x.shape[1], x.shape[2],
                               x.shape[3], kh, kw, sh, sw, ph, pw, oh, ow)
        else:
            done = ag_im2col_f(&x[0, 0, 0, 0], &col[0, 0], x.shape[0], x.shape[1], x.shape[2],
                               x.shape[3], kh, kw, sh, sw, ph, pw, oh, ow)
    if done < 0:
        raise MemoryError("im2col: no memory for a scratch image plane")
    return 0


cdef int _col2im_run(const floating[:, ::1] col, floating[:, :, :, ::1] x, Py_ssize_t kh,
                     Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                     Py_ssize_t oh, Py_ssize_t ow) except -1:
    cdef int done
    if x.shape[0] * x.shape[1] == 0 or col.shape[1] == 0:
        return 0
    with nogil:
        if not _dense(kh, kw, sh, sw, ph, pw):
            done = _col2im_direct(col, x, kh, kw, sh, sw, ph, pw, oh, ow)
        elif floating is double:
            done = ag_col2im_d(&col[0, 0], &x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2],
                               x.shape[3], kh, kw, sh, sw, ph, pw, oh, ow)
        else:
            done = ag_col2im_f(&col[0, 0], &x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2],
                               x.shape[3], kh, kw, sh, sw, ph, pw, oh, ow)
    if done < 0:
        raise MemoryError("col2im: no memory for a scratch image plane")
    return 0


def im2col(x, kernel, stride, pad):
    """The patches of ``x`` (n, c, h, w) as columns: shape (c*kh*kw, n*oh*ow).

    ``kernel``, ``stride`` and ``pad`` are (h, w) pairs; padding reads as zeros.
    """
    x = _floats(x, 4, "im2col: x")
    kh, kw = _ints2(kernel, "im2col: kernel", 1)
    sh, sw = _ints2(stride, "im2col: stride", 1)
    ph, pw = _ints2(pad, "im2col: pad", 0)
    n, c, h, w = x.shape
    oh, ow = _out_size(h, w, kh, kw, sh, sw, ph, pw, "im2col")
    col = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    if x.dtype == np.float64:
        _im2col_run[double](x, col, kh, kw, sh, sw, ph, pw, oh, ow)
    else:
        _im2col_run[float](x, col, kh, kw, sh, sw, ph, pw, oh, ow)
    return col


cdef object _out_array(object out, tuple shape, object dtype, str what):
    """``out`` checked as a C-contiguous writeable array of ``shape`` and ``dtype``."""
    if (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype
            or not out.flags.c_contiguous or not out.flags.writeable):
        raise ValueError(f"{what}: out must be a writeable C-contiguous {np.dtype(dtype)} array "
                         f"of shape {shape}")
    return out


def col2im(col, shape, kernel, stride, pad, out=None):
    """The adjoint of ``im2col``: columns (c*kh*kw, n*oh*ow) summed back into an image of
    ``shape`` (n, c, h, w): a new one, or added into ``out``."""
    n, c, h, w = [int(s) for s in shape]
    kh, kw = _ints2(kernel, "col2im: kernel", 1)
    sh, sw = _ints2(stride, "col2im: stride", 1)
    ph, pw = _ints2(pad, "col2im: pad", 0)
    if min(n, c, h, w) < 0:
        raise ValueError(f"col2im: shape must not be negative, got {tuple(shape)}")
    oh, ow = _out_size(h, w, kh, kw, sh, sw, ph, pw, "col2im")
    col = _floats(col, 2, "col2im: col")
    if col.shape != (c * kh * kw, n * oh * ow):
        raise ValueError(f"col2im: col has shape {col.shape}, expected {(c * kh * kw, n * oh * ow)} "
                         f"for an image of shape {(n, c, h, w)}")
    if out is None:
        x = np.zeros((n, c, h, w), dtype=col.dtype)
    else:
        x = _out_array(out, (n, c, h, w), col.dtype, "col2im")
    if col.dtype == np.float64:
        _col2im_run[double](col, x, kh, kw, sh, sw, ph, pw, oh, ow)
    else:
        _col2im_run[float](col, x, kh, kw, sh, sw, ph, pw, oh, ow)
    return x


cdef void _cn_to_nchw_loop(const floating[:, ::1] y2,       # IN  (o, n*l)
                           const floating[::1] b,            # IN  (o,)
                           floating[:, :, ::1] y) noexcept nogil:   # OUT (n, o, l)
    cdef Py_ssize_t n_img = y.shape[0], outs = y.shape[1], size = y.shape[2]
    cdef Py_ssize_t n, o, k, base
    cdef floating bo
    for n in range(n_img):
        base = n * size
        for o in range(outs):
            bo = b[o]
            for k in range(size):
                y[n, o, k] = y2[o, base + k] + bo


cdef int _cn_to_nchw_run(const floating[:, ::1] y2, const floating[::1] b,
                         floating[:, :, ::1] y) except -1:
    with nogil:
        _cn_to_nchw_loop(y2, b, y)
    return 0


cdef int _nchw_to_cn_run(const floating[:, :, ::1] gy, floating[:, ::1] gy2,
                         double[::1] gb) except -1:
    if gy.shape[0] * gy.shape[1] * gy.shape[2] == 0:
        return 0
    with nogil:
        if floating is double:
            ag_nchw_to_cn_d(&gy[0, 0, 0], &gy2[0, 0], &gb[0], gy.shape[0], gy.shape[1],
                            gy.shape[2])
        else:
            ag_nchw_to_cn_f(&gy[0, 0, 0], &gy2[0, 0], &gb[0], gy.shape[0], gy.shape[1],
                            gy.shape[2])
    return 0


def cn_to_nchw(y2, b, n, out=None):
    """``y2`` (o, n*l) rearranged to (n, o, l), plus the bias ``b`` (o,) (or None); written
    into ``out`` when given."""
    y2 = _floats(y2, 2, "cn_to_nchw: y2")
    n = int(n)
    outs, cols = y2.shape
    if n < 0 or (n > 0 and cols % n) or (n == 0 and cols != 0):
        raise ValueError(f"cn_to_nchw: {cols} columns do not split into {n} images")
    size = cols // n if n else 0
    b = np.zeros(outs, dtype=y2.dtype) if b is None else _same_dtype(y2, b, "cn_to_nchw: b")
    if b.shape != (outs,):
        raise ValueError(f"cn_to_nchw: b has shape {b.shape}, expected ({outs},)")
    if out is None:
        y = np.empty((n, outs, size), dtype=y2.dtype)
    else:
        y = _out_array(out, (n, outs, size), y2.dtype, "cn_to_nchw")
    if y2.dtype == np.float64:
        _cn_to_nchw_run[double](y2, b, y)
    else:
        _cn_to_nchw_run[float](y2, b, y)
    return y


def nchw_to_cn(gy):
    """``gy`` (n, o, l) rearranged to (o, n*l), with its sums over n and l (o,) in float64."""
    gy = _floats(gy, 3, "nchw_to_cn: gy")
    n, outs, size = gy.shape
    gy2 = np.empty((outs, n * size), dtype=gy.dtype)
    gb = np.zeros(outs, dtype=np.float64)
    if gy.dtype == np.float64:
        _nchw_to_cn_run[double](gy, gy2, gb)
    else:
        _nchw_to_cn_run[float](gy, gy2, gb)
    return gy2, gb


# ============================================================================ pooling

cdef void _max_pool_loop(const floating[:, :, ::1] x,        # IN  (m, h, w)
                         floating[:, :, ::1] y,               # OUT (m, oh, ow)
                         Py_ssize_t[:, :, ::1] idx,           # OUT (m, oh, ow): h*w + w index
                         unsigned char[:, :, ::1] pos,        # OUT (m, oh, ow): i*kw + j in window
                         int mode,                            # 1: idx, 2: pos, 0: neither
                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                         Py_ssize_t ph, Py_ssize_t pw) noexcept nogil:
    cdef Py_ssize_t planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t oh = y.shape[1], ow = y.shape[2]
    cdef Py_ssize_t m, p, q, h, w, h0, w0, hs, he, ws, we, bh, bw
    cdef floating v, best
    cdef bint take
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0:
        _max_pool_2x2(x, y, idx, pos, mode)
        return
    for m in range(planes):
        for p in range(oh):
            h0 = p * sh - ph
            hs = h0 if h0 > 0 else 0
            he = h0 + kh if h0 + kh < height else height
            for q in range(ow):
                w0 = q * sw - pw
                ws = w0 if w0 > 0 else 0
                we = w0 + kw if w0 + kw < width else width
                best = -INFINITY
                bh = hs
                bw = ws
                # the first maximum in scan order wins, and NaN propagates, as in PyTorch;
                # selects, not branches (on data, a branch is mispredicted half the time)
                for h in range(hs, he):
                    for w in range(ws, we):
                        v = x[m, h, w]
                        take = (v > best) | (v != v)
                        best = v if take else best
                        bh = h if take else bh
                        bw = w if take else bw
                y[m, p, q] = best
                if mode == 1:
                    idx[m, p, q] = bh * width + bw
                elif mode == 2:
                    pos[m, p, q] = <unsigned char>((bh - h0) * kw + bw - w0)


cdef void _max_pool_2x2(const floating[:, :, ::1] x, floating[:, :, ::1] y,
                        Py_ssize_t[:, :, ::1] idx, unsigned char[:, :, ::1] pos,
                        int mode) noexcept nogil:
    # The most common pooling (2x2, stride 2, no padding) as _max_pool_loop computes it
    # (conv.h: without a branch on the data)
    if y.shape[0] * y.shape[1] * y.shape[2] == 0:
        return
    if floating is double:
        ag_pool2x2_d(&x[0, 0, 0], &y[0, 0, 0], &idx[0, 0, 0], &pos[0, 0, 0], mode, x.shape[0],
                     x.shape[1], x.shape[2], y.shape[1], y.shape[2])
    else:
        ag_pool2x2_f(&x[0, 0, 0], &y[0, 0, 0], &idx[0, 0, 0], &pos[0, 0, 0], mode, x.shape[0],
                     x.shape[1], x.shape[2], y.shape[1], y.shape[2])


cdef Py_ssize_t _max_pool_grad_loop(const unsigned char[:, :, ::1] pos,  # IN  (m, oh, ow)
                                    const floating[:, :, ::1] gy,        # IN  (m, oh, ow)
                                    floating[:, :, ::1] gx,               # OUT (m, h, w), zeroed
                                    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                    Py_ssize_t ph, Py_ssize_t pw) noexcept nogil:
    # Each gradient added where its window's maximum was, from its position in the window:
    # one byte an output kept between the passes instead of an intp flat index.
    cdef Py_ssize_t planes = gx.shape[0], height = gx.shape[1], width = gx.shape[2]
    cdef Py_ssize_t oh = gy.shape[1], ow = gy.shape[2]
    cdef Py_ssize_t m, p, q, h, w, t, bad = 0
    cdef Py_ssize_t di[256]
    cdef Py_ssize_t dj[256]
    for t in range(256):  # a position's row and column in the window, without a division
        di[t] = t // kw if t < kh * kw else -height - kh  # outside: lands off the plane
        dj[t] = t % kw
    for m in range(planes):
        for p in range(oh):
            for q in range(ow):
                t = pos[m, p, q]
                h = p * sh - ph + di[t]
                w = q * sw - pw + dj[t]
                if h < 0 or h >= height or w < 0 or w >= width:
                    bad += 1
                    continue
                gx[m, h, w] += gy[m, p, q]
    return bad


cdef void _avg_pool_loop(const floating[:, :, ::1] x,        # IN  (m, h, w)
                         floating[:, :, ::1] y,               # OUT (m, oh, ow)
                         Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                         Py_ssize_t ph, Py_ssize_t pw) noexcept nogil:
    cdef Py_ssize_t planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t oh = y.shape[1], ow = y.shape[2]
    cdef Py_ssize_t m, p, q, h, w, h0, w0, hs, he, ws, we
    cdef double s, scale = 1.0 / (kh * kw)     # padded zeros count, as PyTorch's default
    for m in range(planes):
        for p in range(oh):
            h0 = p * sh - ph
            hs = h0 if h0 > 0 else 0
            he = h0 + kh if h0 + kh < height else height
            for q in range(ow):
                w0 = q * sw - pw
                ws = w0 if w0 > 0 else 0
                we = w0 + kw if w0 + kw < width else width
                s = 0
                for h in range(hs, he):
                    for w in range(ws, we):
                        s += x[m, h, w]
                y[m, p, q] = <floating>(s * scale)


cdef void _avg_pool_grad_loop(const floating[:, :, ::1] gy,  # IN  (m, oh, ow)
                              floating[:, :, ::1] gx,         # OUT (m, h, w), zeroed
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t ph, Py_ssize_t pw) noexcept nogil:
    cdef Py_ssize_t planes = gx.shape[0], height = gx.shape[1], width = gx.shape[2]
    cdef Py_ssize_t oh = gy.shape[1], ow = gy.shape[2]
    cdef Py_ssize_t m, p, q, h, w, h0, w0, hs, he, ws, we
    cdef floating g
    cdef double scale = 1.0 / (kh * kw)
    for m in range(planes):
        for p in range(oh):
            h0 = p * sh - ph
            hs = h0 if h0 > 0 else 0
            he = h0 + kh if h0 + kh < height else height
            for q in range(ow):
                w0 = q * sw - pw
                ws = w0 if w0 > 0 else 0
                we = w0 + kw if w0 + kw < width else width
                g = <floating>(gy[m, p, q] * scale)
                for h in range(hs, he):
                    for w in range(ws, we):
                        gx[m, h, w] += g


cdef Py_ssize_t _scatter_loop(const floating[:, ::1] g,      # IN  (m, k) values
                              const Py_ssize_t[:, ::1] idx,   # IN  (m, k) flat targets
                              floating[:, ::1] out) noexcept nogil:   # OUT (m, size), zeroed
    cdef Py_ssize_t planes = g.shape[0], count = g.shape[1], size = out.shape[1]
    cdef Py_ssize_t m, k, t, bad = 0
    for m in range(planes):
        for k in range(count):
            t = idx[m, k]
            if t < 0 or t >= size:
                bad += 1
                continue
            out[m, t] += g[m, k]
    return bad


cdef Py_ssize_t _gather_loop(const floating[:, ::1] src,     # IN  (m, size)
                             const Py_ssize_t[:, ::1] idx,    # IN  (m, k)
                             floating[:, ::1] out) noexcept nogil:   # OUT (m, k)
    cdef Py_ssize_t planes = out.shape[0], count = out.shape[1], size = src.shape[1]
    cdef Py_ssize_t m, k, t, bad = 0
    for m in range(planes):
        for k in range(count):
            t = idx[m, k]
            if t < 0 or t >= size:
                bad += 1
                out[m, k] = 0
                continue
            out[m, k] = src[m, t]
    return bad


cdef int _max_pool_run(const floating[:, :, ::1] x, floating[:, :, ::1] y,
                       Py_ssize_t[:, :, ::1] idx, unsigned char[:, :, ::1] pos, int mode,
                       Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                       Py_ssize_t pw) except -1:
    with nogil:
        _max_pool_loop(x, y, idx, pos, mode, kh, kw, sh, sw, ph, pw)
    return 0


cdef Py_ssize_t _max_pool_grad_run(const unsigned char[:, :, ::1] pos,
                                   const floating[:, :, ::1] gy, floating[:, :, ::1] gx,
                                   Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                                   Py_ssize_t ph, Py_ssize_t pw) except -1:
    cdef Py_ssize_t bad
    cdef bint windows = (kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0
                         and gx.shape[1] == 2 * gy.shape[1] and gx.shape[2] == 2 * gy.shape[2])
    if gy.shape[0] * gy.shape[1] * gy.shape[2] == 0:
        return 0
    with nogil:
        if not windows:
            bad = _max_pool_grad_loop(pos, gy, gx, kh, kw, sh, sw, ph, pw)
        elif floating is double:
            bad = ag_pool2x2_grad_d(&pos[0, 0, 0], &gy[0, 0, 0], &gx[0, 0, 0],
                                    gy.shape[0] * gy.shape[1], gy.shape[2])
        else:
            bad = ag_pool2x2_grad_f(&pos[0, 0, 0], &gy[0, 0, 0], &gx[0, 0, 0],
                                    gy.shape[0] * gy.shape[1], gy.shape[2])
    return bad


cdef int _avg_pool_run(const floating[:, :, ::1] x, floating[:, :, ::1] y, Py_ssize_t kh,
                       Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                       Py_ssize_t pw) except -1:
    with nogil:
        _avg_pool_loop(x, y, kh, kw, sh, sw, ph, pw)
    return 0


cdef int _avg_pool_grad_run(const floating[:, :, ::1] gy, floating[:, :, ::1] gx, Py_ssize_t kh,
                            Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,
                            Py_ssize_t pw) except -1:
    with nogil:
        _avg_pool_grad_loop(gy, gx, kh, kw, sh, sw, ph, pw)
    return 0


cdef Py_ssize_t _scatter_run(const floating[:, ::1] g, const Py_ssize_t[:, ::1] idx,
                             floating[:, ::1] out) except -1:
    cdef Py_ssize_t bad
    with nogil:
        bad = _scatter_loop(g, idx, out)
    return bad


cdef Py_ssize_t _gather_run(const floating[:, ::1] src, const Py_ssize_t[:, ::1] idx,
                            floating[:, ::1] out) except -1:
    cdef Py_ssize_t bad
    with nogil:
        bad = _gather_loop(src, idx, out)
    return bad


cdef tuple _pool_geometry(object x, object kernel, object stride, object pad, str what):
    kh, kw = _ints2(kernel, what + ": kernel", 1)
    sh, sw = _ints2(stride, what + ": stride", 1)
    ph, pw = _ints2(pad, what + ": pad", 0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"{what}: pad {(ph, pw)} must be at most half the kernel {(kh, kw)}")
    _m, h, w = x.shape
    oh, ow = _out_size(h, w, kh, kw, sh, sw, ph, pw, what)
    return kh, kw, sh, sw, ph, pw, oh, ow


def max_pool_forward(x, kernel, stride, pad, indices=True):
    """Max pooling of planes ``x`` (m, h, w): the maxima (m, oh, ow) and where each was
    found. ``indices`` True: flat indices ``row * w + col`` into its plane (intp);
    ``"window"``: the position ``i * kw + j`` within its window (uint8, kernels of at
    most 256 elements), what ``max_pool_backward`` takes; False: None. Padding never wins."""
    x = _floats(x, 3, "max_pool_forward: x")
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, pad, "max_pool_forward")
    cdef int mode
    if indices == "window":
        if kh * kw > 256:
            raise ValueError(f"max_pool_forward: window positions need a kernel of at most 256 "
                             f"elements, got {kh}x{kw}")
        mode = 2
    elif indices is True or indices is False:
        mode = 1 if indices else 0
    else:
        raise ValueError(f"max_pool_forward: indices must be True, False or 'window', "
                         f"got {indices!r}")
    shape = (x.shape[0], oh, ow)
    y = np.empty(shape, dtype=x.dtype)
    idx = np.empty(shape if mode == 1 else (1, 1, 1), dtype=np.intp)
    pos = np.empty(shape, dtype=np.uint8)  # also the 2x2 loop's scratch in the other modes
    if x.dtype == np.float64:
        _max_pool_run[double](x, y, idx, pos, mode, kh, kw, sh, sw, ph, pw)
    else:
        _max_pool_run[float](x, y, idx, pos, mode, kh, kw, sh, sw, ph, pw)
    return y, (idx if mode == 1 else pos if mode == 2 else None)


def max_pool_backward(pos, gy, shape, kernel, stride, pad):
    """The gradient of ``max_pool_forward`` for planes of ``shape`` (m, h, w): each of
    ``gy`` (m, oh, ow) added where its window's maximum was, from ``pos`` (m, oh, ow), the
    uint8 window positions ``max_pool_forward(..., indices="window")`` gives. A position
    outside its window or the plane is an IndexError."""
    gy = _floats(gy, 3, "max_pool_backward: gy")
    pos = np.asarray(pos)
    if pos.dtype != np.uint8:
        raise TypeError(f"max_pool_backward: pos must be uint8 window positions, got dtype "
                        f"{pos.dtype}")
    pos = np.ascontiguousarray(pos)
    m, h, w = [int(s) for s in shape]
    if min(m, h, w) < 0:
        raise ValueError(f"max_pool_backward: shape must not be negative, got {tuple(shape)}")
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(np.empty((0, h, w)), kernel, stride, pad,
                                                    "max_pool_backward")
    # 2x2 windows that cover the planes write every element: no zeros first
    covered = (kh, kw, sh, sw, ph, pw, h, w) == (2, 2, 2, 2, 0, 0, 2 * oh, 2 * ow)
    gx = (np.empty if covered else np.zeros)((m, h, w), dtype=gy.dtype)
    if gy.shape != (m, oh, ow) or pos.shape != (m, oh, ow):
        raise ValueError(f"max_pool_backward: gy of shape {gy.shape} and pos of shape "
                         f"{pos.shape} must both be {(m, oh, ow)}")
    if gy.dtype == np.float64:
        bad = _max_pool_grad_run[double](pos, gy, gx, kh, kw, sh, sw, ph, pw)
    else:
        bad = _max_pool_grad_run[float](pos, gy, gx, kh, kw, sh, sw, ph, pw)
    if bad:
        raise IndexError(f"max_pool_backward: {bad} positions are outside their windows or "
                         f"the plane")
    return gx


def avg_pool_forward(x, kernel, stride, pad):
    """Average pooling of planes ``x`` (m, h, w); padded zeros count in the mean."""
    x = _floats(x, 3, "avg_pool_forward: x")
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(x, kernel, stride, pad, "avg_pool_forward")
    y = np.empty((x.shape[0], oh, ow), dtype=x.dtype)
    if x.dtype == np.float64:
        _avg_pool_run[double](x, y, kh, kw, sh, sw, ph, pw)
    else:
        _avg_pool_run[float](x, y, kh, kw, sh, sw, ph, pw)
    return y


def avg_pool_backward(gy, shape, kernel, stride, pad):
    """The adjoint of ``avg_pool_forward``: ``gy`` (m, oh, ow) spread over planes of ``shape``."""
    gy = _floats(gy, 3, "avg_pool_backward: gy")
    m, h, w = [int(s) for s in shape]
    gx = np.zeros((m, h, w), dtype=gy.dtype)
    kh, kw, sh, sw, ph, pw, oh, ow = _pool_geometry(gx, kernel, stride, pad, "avg_pool_backward")
    if gy.shape != (m, oh, ow):
        raise ValueError(f"avg_pool_backward: gy has shape {gy.shape}, expected {(m, oh, ow)}")
    if gy.dtype == np.float64:
        _avg_pool_grad_run[double](gy, gx, kh, kw, sh, sw, ph, pw)
    else:
        _avg_pool_grad_run[float](gy, gx, kh, kw, sh, sw, ph, pw)
    return gx


def scatter_add(g, idx, size):
    """``out[m, idx[m, k]] += g[m, k]`` into zeros (m, size): the gradient of a gather
    (the max-pooling backward). Any index outside [0, size) is an IndexError."""
    g = np.ascontiguousarray(g)
    idx = np.asarray(idx)
    if g.shape != idx.shape or g.ndim < 1:
        raise ValueError(f"scatter_add: g of shape {g.shape} and idx of shape {idx.shape} differ")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"scatter_add: idx must be integers, got dtype {idx.dtype}")
    rows = g.shape[0]
    g2 = _floats(g.reshape(rows, -1), 2, "scatter_add: g")
    idx2 = np.ascontiguousarray(idx, dtype=np.intp).reshape(rows, -1)
    size = int(size)
    if size < 0:
        raise ValueError(f"scatter_add: size must not be negative, got {size}")
    out = np.zeros((rows, size), dtype=g2.dtype)
    if g2.dtype == np.float64:
        bad = _scatter_run[double](g2, idx2, out)
    else:
        bad = _scatter_run[float](g2, idx2, out)
    if bad:
        raise IndexError(f"scatter_add: {bad} indices are outside [0, {size})")
    return out


def gather(src, idx):
    """``out[m, k] = src[m, idx[m, k]]``, out shaped as ``idx``. Any index outside the
    rows of ``src`` is an IndexError."""
    src = _floats(src, 2, "gather: src")
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: idx must be integers, got dtype {idx.dtype}")
    if idx.ndim < 1 or idx.shape[0] != src.shape[0]:
        raise ValueError(f"gather: idx of shape {idx.shape} does not have {src.shape[0]} rows")
    rows = src.shape[0]
    idx2 = np.ascontiguousarray(idx, dtype=np.intp).reshape(rows, -1)
    out = np.empty(idx2.shape, dtype=src.dtype)
    if src.dtype == np.float64:
        bad = _gather_run[double](src, idx2, out)
    else:
        bad = _gather_run[float](src, idx2, out)
    if bad:
        raise IndexError(f"gather: {bad} indices are outside [0, {src.shape[1]})")
    return out.reshape(idx.shape)


# ============================================================================ embedding

cdef Py_ssize_t _embed_grad_loop(const Py_ssize_t[::1] ids,  # IN  (k,)
                                 const floating[:, ::1] gy,   # IN  (k, dim)
                                 floating[:, ::1] gw) noexcept nogil:   # OUT (num, dim), zeroed
    cdef Py_ssize_t count = ids.shape[0], dim = gy.shape[1], num = gw.shape[0]
    cdef Py_ssize_t k, d, r, bad = 0
    for k in range(count):
        r = ids[k]
        if r < 0 or r >= num:
            bad += 1
            continue
        for d in range(dim):
            gw[r, d] += gy[k, d]
    return bad


cdef Py_ssize_t _embed_grad_run(const Py_ssize_t[::1] ids, const floating[:, ::1] gy,
                                floating[:, ::1] gw) except -1:
    cdef Py_ssize_t bad
    with nogil:
        bad = _embed_grad_loop(ids, gy, gw)
    return bad


def embedding_backward(ids, gy, num):
    """Rows of ``gy`` (k, dim) added into zeros (num, dim) at rows ``ids`` (k,): repeated
    ids add up. An id outside [0, num) is an IndexError."""
    ids = np.ascontiguousarray(ids, dtype=np.intp).reshape(-1)
    gy = _floats(gy, 2, "embedding_backward: gy")
    if gy.shape[0] != ids.shape[0]:
        raise ValueError(f"embedding_backward: {ids.shape[0]} ids for {gy.shape[0]} rows of gy")
    num = int(num)
    if num < 0:
        raise ValueError(f"embedding_backward: num must not be negative, got {num}")
    gw = np.zeros((num, gy.shape[1]), dtype=gy.dtype)
    if gy.dtype == np.float64:
        bad = _embed_grad_run[double](ids, gy, gw)
    else:
        bad = _embed_grad_run[float](ids, gy, gw)
    if bad:
        raise IndexError(f"embedding_backward: {bad} ids are outside [0, {num})")
    return gw


# ============================================================================ layer norm

cdef void _layer_norm_loop(const floating[:, ::1] x,        # IN  (m, d)
                           const floating[::1] gamma,        # IN  (d,)
                           const floating[::1] beta,         # IN  (d,)
                           double eps,
                           floating[:, ::1] y,               # OUT (m, d)
                           double[::1] mean,                 # OUT (m,)
                           double[::1] rstd) noexcept nogil:  # OUT (m,)
    cdef Py_ssize_t rows = x.shape[0], dim = x.shape[1]
    cdef Py_ssize_t m, k
    cdef double s, mu, r, t
    for m in range(rows):
        s = 0
        for k in range(dim):
            s += x[m, k]
        mu = s / dim
        s = 0
        for k in range(dim):
            t = x[m, k] - mu
            s += t * t
        r = 1.0 / sqrt(s / dim + eps)
        mean[m] = mu
        rstd[m] = r
        for k in range(dim):
            y[m, k] = <floating>((x[m, k] - mu) * r * gamma[k] + beta[k])


cdef void _layer_norm_grad_loop(const floating[:, ::1] x,   # IN  (m, d)
                                const floating[::1] gamma,   # IN  (d,)
                                const double[::1] mean,      # IN  (m,)
                                const double[::1] rstd,      # IN  (m,)
                                const floating[:, ::1] gy,   # IN  (m, d)
                                floating[:, ::1] gx,         # OUT (m, d)
                                double[::1] ggamma,          # OUT (d,), zeroed
                                double[::1] gbeta) noexcept nogil:   # OUT (d,), zeroed
    cdef Py_ssize_t rows = x.shape[0], dim = x.shape[1]
    cdef Py_ssize_t m, k
    cdef double mu, r, xh, g, a, b
    for m in range(rows):
        mu = mean[m]
        r = rstd[m]
        a = 0
        b = 0
        for k in range(dim):
            xh = (x[m, k] - mu) * r
            g = gy[m, k] * gamma[k]
            a += g
            b += g * xh
            ggamma[k] += gy[m, k] * xh
            gbeta[k] += gy[m, k]
        a /= dim
        b /= dim
        for k in range(dim):
            xh = (x[m, k] - mu) * r
            gx[m, k] = <floating>(r * (gy[m, k] * gamma[k] - a - xh * b))


cdef int _layer_norm_run(const floating[:, ::1] x, const floating[::1] gamma,
                         const floating[::1] beta, double eps, floating[:, ::1] y,
                         double[::1] mean, double[::1] rstd) except -1:
    with nogil:
        _layer_norm_loop(x, gamma, beta, eps, y, mean, rstd)
    return 0


cdef int _layer_norm_grad_run(const floating[:, ::1] x, const floating[::1] gamma,
                              const double[::1] mean, const double[::1] rstd,
                              const floating[:, ::1] gy, floating[:, ::1] gx,
                              double[::1] ggamma, double[::1] gbeta) except -1:
    with nogil:
        _layer_norm_grad_loop(x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    return 0


def _positive_eps(eps, str what):
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"{what}: eps must be positive, got {eps}")
    return eps


def layer_norm_forward(x, gamma, beta, eps):
    """Each row of ``x`` (m, d) normalised to mean 0 and variance 1 (population), then
    scaled by ``gamma`` (d,) and shifted by ``beta`` (d,). Returns ``(y, mean, rstd)``,
    the row statistics in float64 (``rstd = 1 / sqrt(var + eps)``)."""
    x = _floats(x, 2, "layer_norm_forward: x")
    gamma = _same_dtype(x, gamma, "layer_norm_forward: gamma")
    beta = _same_dtype(x, beta, "layer_norm_forward: beta")
    if gamma.shape != (x.shape[1],) or beta.shape != (x.shape[1],):
        raise ValueError(f"layer_norm_forward: gamma {gamma.shape} and beta {beta.shape} must "
                         f"have shape ({x.shape[1]},)")
    eps = _positive_eps(eps, "layer_norm_forward")
    y = np.empty_like(x)
    mean = np.empty(x.shape[0], dtype=np.float64)
    rstd = np.empty(x.shape[0], dtype=np.float64)
    if x.dtype == np.float64:
        _layer_norm_run[double](x, gamma, beta, eps, y, mean, rstd)
    else:
        _layer_norm_run[float](x, gamma, beta, eps, y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(x, gamma, mean, rstd, gy):
    """Gradients of ``layer_norm_forward`` for ``x``, ``gamma`` and ``beta`` given the
    output gradient ``gy``; the gamma and beta gradients in x's dtype."""
    x = _floats(x, 2, "layer_norm_backward: x")
    gamma = _same_dtype(x, gamma, "layer_norm_backward: gamma")
    gy = _same_dtype(x, gy, "layer_norm_backward: gy")
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    rstd = np.ascontiguousarray(rstd, dtype=np.float64)
    rows, dim = x.shape
    if gy.shape != x.shape or gamma.shape != (dim,) or mean.shape != (rows,) or rstd.shape != (rows,):
        raise ValueError(f"layer_norm_backward: shapes do not agree: x {x.shape}, gy {gy.shape}, "
                         f"gamma {gamma.shape}, mean {mean.shape}, rstd {rstd.shape}")
    gx = np.empty_like(x)
    ggamma = np.zeros(dim, dtype=np.float64)
    gbeta = np.zeros(dim, dtype=np.float64)
    if x.dtype == np.float64:
        _layer_norm_grad_run[double](x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    else:
        _layer_norm_grad_run[float](x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    return gx, ggamma.astype(x.dtype, copy=False), gbeta.astype(x.dtype, copy=False)


# ============================================================================ batch norm

cdef void _channel_stats_loop(const floating[:, :, ::1] x,   # IN  (n, c, l)
                              double[::1] mean,               # OUT (c,)
                              double[::1] var) noexcept nogil:   # OUT (c,): population variance
    cdef Py_ssize_t n_img = x.shape[0], chans = x.shape[1], size = x.shape[2]
    cdef Py_ssize_t n, c, k
    cdef double s, mu, t, count = <double>(n_img * size)
    for c in range(chans):
        s = 0
        for n in range(n_img):
            for k in range(size):
                s += x[n, c, k]
        mu = s / count
        s = 0
        for n in range(n_img):
            for k in range(size):
                t = x[n, c, k] - mu
                s += t * t
        mean[c] = mu
        var[c] = s / count


cdef void _channel_affine_loop(const floating[:, :, ::1] x,  # IN  (n, c, l)
                               const double[::1] scale,       # IN  (c,)
                               const double[::1] shift,       # IN  (c,)
                               floating[:, :, ::1] y) noexcept nogil:   # OUT (n, c, l)
    cdef Py_ssize_t n_img = x.shape[0], chans = x.shape[1], size = x.shape[2]
    cdef Py_ssize_t n, c, k
    cdef double a, b
    for n in range(n_img):
        for c in range(chans):
            a = scale[c]
            b = shift[c]
            for k in range(size):
                y[n, c, k] = <floating>(x[n, c, k] * a + b)


cdef void _batch_norm_grad_loop(const floating[:, :, ::1] x,    # IN  (n, c, l)
                                const floating[::1] gamma,       # IN  (c,)
                                const double[::1] mean,          # IN  (c,)
                                const double[::1] rstd,          # IN  (c,)
                                const floating[:, :, ::1] gy,    # IN  (n, c, l)
                                floating[:, :, ::1] gx,          # OUT (n, c, l)
                                double[::1] ggamma,              # OUT (c,)
                                double[::1] gbeta) noexcept nogil:   # OUT (c,)
    cdef Py_ssize_t n_img = x.shape[0], chans = x.shape[1], size = x.shape[2]
    cdef Py_ssize_t n, c, k
    cdef double mu, r, sg, sgx, xh, a, b, scale, count = <double>(n_img * size)
    for c in range(chans):
        mu = mean[c]
        r = rstd[c]
        sg = 0
        sgx = 0
        for n in range(n_img):
            for k in range(size):
                sg += gy[n, c, k]
                sgx += gy[n, c, k] * (x[n, c, k] - mu)
        sgx *= r
        ggamma[c] = sgx
        gbeta[c] = sg
        scale = gamma[c] * r
        a = sg / count
        b = sgx / count
        for n in range(n_img):
            for k in range(size):
                xh = (x[n, c, k] - mu) * r
                gx[n, c, k] = <floating>(scale * (gy[n, c, k] - a - xh * b))


cdef int _channel_stats_run(const floating[:, :, ::1] x, double[::1] mean,
                            double[::1] var) except -1:
    with nogil:
        _channel_stats_loop(x, mean, var)
    return 0


cdef int _channel_affine_run(const floating[:, :, ::1] x, const double[::1] scale,
                             const double[::1] shift, floating[:, :, ::1] y) except -1:
    with nogil:
        _channel_affine_loop(x, scale, shift, y)
    return 0


cdef int _batch_norm_grad_run(const floating[:, :, ::1] x, const floating[::1] gamma,
                              const double[::1] mean, const double[::1] rstd,
                              const floating[:, :, ::1] gy, floating[:, :, ::1] gx,
                              double[::1] ggamma, double[::1] gbeta) except -1:
    with nogil:
        _batch_norm_grad_loop(x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    return 0


def channel_stats(x):
    """Mean and population variance of each channel of ``x`` (n, c, l), in float64."""
    x = _floats(x, 3, "channel_stats: x")
    mean = np.empty(x.shape[1], dtype=np.float64)
    var = np.empty(x.shape[1], dtype=np.float64)
    if x.shape[0] * x.shape[2] == 0:
        raise ValueError(f"channel_stats: no values per channel in shape {x.shape}")
    if x.dtype == np.float64:
        _channel_stats_run[double](x, mean, var)
    else:
        _channel_stats_run[float](x, mean, var)
    return mean, var


def channel_affine(x, scale, shift):
    """``x * scale[c] + shift[c]`` for each channel c of ``x`` (n, c, l), in x's dtype."""
    x = _floats(x, 3, "channel_affine: x")
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    shift = np.ascontiguousarray(shift, dtype=np.float64)
    if scale.shape != (x.shape[1],) or shift.shape != (x.shape[1],):
        raise ValueError(f"channel_affine: scale {scale.shape} and shift {shift.shape} must have "
                         f"shape ({x.shape[1]},)")
    y = np.empty_like(x)
    if x.dtype == np.float64:
        _channel_affine_run[double](x, scale, shift, y)
    else:
        _channel_affine_run[float](x, scale, shift, y)
    return y


def batch_norm_backward(x, gamma, mean, rstd, gy):
    """Gradients of batch normalisation with batch statistics (``mean``, ``rstd`` per
    channel) for ``x`` (n, c, l), ``gamma`` and ``beta``; gamma's and beta's in x's dtype."""
    x = _floats(x, 3, "batch_norm_backward: x")
    gamma = _same_dtype(x, gamma, "batch_norm_backward: gamma")
    gy = _same_dtype(x, gy, "batch_norm_backward: gy")
    mean = np.ascontiguousarray(mean, dtype=np.float64)
    rstd = np.ascontiguousarray(rstd, dtype=np.float64)
    chans = x.shape[1]
    if (gy.shape != x.shape or gamma.shape != (chans,) or mean.shape != (chans,)
            or rstd.shape != (chans,)):
        raise ValueError(f"batch_norm_backward: shapes do not agree: x {x.shape}, gy {gy.shape}, "
                         f"gamma {gamma.shape}, mean {mean.shape}, rstd {rstd.shape}")
    if x.shape[0] * x.shape[2] == 0:
        raise ValueError(f"batch_norm_backward: no values per channel in shape {x.shape}")
    gx = np.empty_like(x)
    ggamma = np.empty(chans, dtype=np.float64)
    gbeta = np.empty(chans, dtype=np.float64)
    if x.dtype == np.float64:
        _batch_norm_grad_run[double](x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    else:
        _batch_norm_grad_run[float](x, gamma, mean, rstd, gy, gx, ggamma, gbeta)
    return gx, ggamma.astype(x.dtype, copy=False), gbeta.astype(x.dtype, copy=False)
