"""Array kernels: the one-element fast path, broadcasting undone by ``sum_to``,
Go's ``math.Pow`` and fused elementwise loops.

Everything here takes and returns NumPy arrays; nothing here knows about graphs.
"""
cimport cython
cimport numpy as cnp
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.math cimport exp, log, sqrt, fabs, frexp, ldexp, modf, isnan, isinf, INFINITY, NAN
import numpy as np

cnp.import_array()


cdef bint is_scalar64(object a) noexcept:
    """True when ``a`` is a one-element float64 array (the scalar fast path)."""
    return (cnp.PyArray_Check(a)
            and cnp.PyArray_SIZE(<cnp.ndarray>a) == 1
            and cnp.PyArray_TYPE(<cnp.ndarray>a) == cnp.NPY_DOUBLE)


cdef double scalar_of(object a) noexcept:
    """The value of a one-element float64 array (checked by ``is_scalar64``)."""
    return (<double*>cnp.PyArray_DATA(<cnp.ndarray>a))[0]


# One-element float64 arrays of dead nodes, kept for reuse, by ndim (0 and 1).
# A scalar graph allocates and frees one such array per operation and per
# gradient; reusing them halves the cost of an operation.
DEF POOL = 256
cdef PyObject *_pool[2][POOL]
cdef int _pooled[2]
_pooled[0] = 0
_pooled[1] = 0


cdef void recycle(PyObject *p) noexcept:
    """Keep the array ``p`` for reuse if nothing but its dying owner refers to it."""
    cdef int nd
    cdef cnp.ndarray a
    if p.ob_refcnt != 1 or not cnp.PyArray_CheckExact(<object>p):
        return
    a = <cnp.ndarray>p
    nd = cnp.PyArray_NDIM(a)
    if nd > 1 or _pooled[nd] == POOL:
        return
    if (cnp.PyArray_TYPE(<cnp.ndarray>a) != cnp.NPY_DOUBLE
            or cnp.PyArray_SIZE(<cnp.ndarray>a) != 1
            or cnp.PyArray_BASE(<cnp.ndarray>a) != NULL
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a)
            or (cnp.PyArray_FLAGS(<cnp.ndarray>a) & _FRESH) != _FRESH):
        return
    Py_INCREF(a)
    _pool[nd][_pooled[nd]] = p
    _pooled[nd] += 1


cdef int _FRESH = cnp.NPY_ARRAY_OWNDATA | cnp.NPY_ARRAY_WRITEABLE | cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_ALIGNED


cdef object scalar_like(object a, double v):
    """A float64 array of ``a``'s shape (one element) holding ``v``."""
    cdef int nd = cnp.PyArray_NDIM(<cnp.ndarray>a)
    cdef cnp.ndarray out
    if nd <= 1 and _pooled[nd] > 0:
        _pooled[nd] -= 1
        out = <cnp.ndarray>_pool[nd][_pooled[nd]]
        Py_DECREF(out)              # the pool's reference; `out` holds its own
    else:
        out = cnp.PyArray_SimpleNew(nd, cnp.PyArray_DIMS(<cnp.ndarray>a), cnp.NPY_DOUBLE)
    (<double*>cnp.PyArray_DATA(out))[0] = v
    return out


cdef object add_arrays(object a, object b):
    """``a + b``, on C doubles when both are one-element float64 arrays of one shape."""
    if (is_scalar64(a) and is_scalar64(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == cnp.PyArray_NDIM(<cnp.ndarray>b)):
        return scalar_like(a, scalar_of(a) + scalar_of(b))
    return a + b


cdef object ones_like(object a):
    if is_scalar64(a):
        return scalar_like(a, 1.0)
    return np.ones(a.shape, dtype=a.dtype)


cdef object sum_to(object x, tuple shape):
    """Sum ``x`` down to ``shape``, undoing NumPy broadcasting; ``x`` itself when nothing changes."""
    cdef tuple xshape = x.shape
    if xshape == shape:
        return x
    cdef Py_ssize_t lead = len(xshape) - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {xshape} to the larger shape {shape}")
    cdef list axes = list(range(lead))
    cdef Py_ssize_t i
    for i in range(len(shape)):
        if shape[i] == 1 and xshape[i + lead] != 1:
            axes.append(i + lead)
        elif shape[i] != xshape[i + lead]:
            raise ValueError(f"sum_to: shape {xshape} does not broadcast from {shape}")
    y = x.sum(axis=tuple(axes), keepdims=True)
    if lead > 0:
        y = y.reshape(shape)
    return y


def sum_to_py(x, shape):
    """Python-visible ``sum_to`` for tests: ``x`` summed down to ``shape``."""
    return sum_to(np.asarray(x), tuple(shape))


cdef double go_pow(double x, double y) noexcept nogil:
    """Go's ``math.Pow``: integer powers by repeated squaring of the mantissa.

    The seed's printed trajectories depend on the last bit of ``x**4`` and ``x**3``,
    which C's correctly rounded ``pow`` does not always share with Go.
    """
    cdef double yi, yf, a1, x1, ay
    cdef int ae, xe
    cdef long long i
    if y == 0 or x == 1:
        return 1.0
    if y == 1:
        return x
    if isnan(x) or isnan(y):
        return NAN
    if x == 0:
        if y < 0:
            if _is_odd_int(y):
                return 1.0 / x   # signed infinity
            return INFINITY
        if y > 0:
            if _is_odd_int(y):
                return x
            return 0.0
    if isinf(y):
        if x == -1:
            return 1.0
        if (fabs(x) < 1) == (y > 0):
            return 0.0
        return INFINITY
    if isinf(x):
        if x < 0:
            return go_pow(1.0 / x, -y)
        if y < 0:
            return 0.0
        return INFINITY
    if y == 0.5:
        return sqrt(x)
    if y == -0.5:
        return 1.0 / sqrt(x)
    ay = fabs(y)
    yf = modf(ay, &yi)
    if yf != 0 and x < 0:
        return NAN
    if yi >= 9.223372036854775808e18:
        if x == -1:
            return 1.0
        if (fabs(x) < 1) == (y > 0):
            return 0.0
        return INFINITY
    a1 = 1.0
    ae = 0
    if yf != 0:
        if yf > 0.5:
            yf -= 1.0
            yi += 1.0
        a1 = exp(yf * log(x))
    x1 = frexp(x, &xe)
    i = <long long>yi
    while i != 0:
        if xe < -(1 << 12) or (1 << 12) < xe:
            ae += xe
            break
        if i & 1 == 1:
            a1 *= x1
            ae += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        a1 = 1.0 / a1
        ae = -ae
    return ldexp(a1, ae)


cdef double go_log(double x) noexcept nogil:
    """Go's ``math.Log`` (FreeBSD's e_log.c): differs from C's log in the last bit in a
    few per cent of arguments (log(3): Go 1.0986122886681096, C 1.0986122886681098);
    the seed prints Go's."""
    cdef double f1, f, k, s, s2, s4, t1, t2, r, hfsq
    cdef int ki
    if isnan(x) or (isinf(x) and x > 0):
        return x
    if x < 0:
        return NAN
    if x == 0:
        return -INFINITY
    f1 = frexp(x, &ki)
    if f1 < 0.7071067811865476:        # sqrt(2) / 2
        f1 *= 2
        ki -= 1
    f = f1 - 1
    k = <double>ki
    s = f / (2 + f)
    s2 = s * s
    s4 = s2 * s2
    t1 = s2 * (6.666666666666735130e-01 + s4 * (2.857142874366239149e-01
               + s4 * (1.818357216161805012e-01 + s4 * 1.479819860511658591e-01)))
    t2 = s4 * (3.999999999940941908e-01 + s4 * (2.222219843214978396e-01
               + s4 * 1.531383769920937332e-01))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + r) + k * 1.90821492927058770002e-10)) - f)


cdef void _log_loop(const double[::1] x,   # IN
                    double[::1] y          # OUT
                    ) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        y[i] = go_log(x[i])


cdef object log_array(object x):
    """Natural log, elementwise: Go's digits at float64, NumPy's log at float32."""
    if x.dtype != np.float64:
        return np.log(x)
    out = np.empty(x.shape, dtype=np.float64)
    cdef const double[::1] xv = np.ascontiguousarray(x).reshape(-1)
    cdef double[::1] ov = out.reshape(-1)
    if xv.shape[0] != ov.shape[0]:
        raise ValueError("log_array: input and output sizes differ")
    with nogil:
        _log_loop(xv, ov)
    return out


cdef inline bint _is_odd_int(double y) noexcept nogil:
    cdef double yi
    cdef double yf = modf(y, &yi)
    if yf != 0 or fabs(y) >= 9.007199254740992e15:
        return False
    return (<long long>yi) & 1 == 1


cdef void _pow_loop(const double[::1] x,  # IN
                    double[::1] y,        # OUT
                    double c) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        y[i] = go_pow(x[i], c)


def pow_array(x, double c):
    """``x ** c`` elementwise as Go computes it (float64); float32 goes through NumPy."""
    if x.dtype != np.float64:
        return np.power(x, x.dtype.type(c))
    out = np.empty(x.shape, dtype=np.float64)
    cdef const double[::1] xv = np.ascontiguousarray(x).reshape(-1)
    cdef double[::1] ov = out.reshape(-1)
    with nogil:
        _pow_loop(xv, ov, c)
    return out


# ---------------------------------------------------------------------------- fused elementwise loops
# Each takes any float array (strided or read-only arrays are copied to contiguous
# first), runs its loop without the GIL, and returns a new array.

cdef enum:
    TANH = 0
    SIGMOID = 1


cdef void _sigmoid_loop(const cython.floating[::1] x,   # IN
                        cython.floating[::1] y          # OUT
                        ) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        y[i] = <cython.floating>sigmoid_scalar(x[i])


cdef void _tanh_loop(const cython.floating[::1] x,   # IN
                     cython.floating[::1] y          # OUT
                     ) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        y[i] = <cython.floating>tanh_scalar(x[i])


cdef object tanh_array(object x):
    """tanh of a float array. NumPy's float64 tanh costs about 30 ns an element here;
    this loop about half."""
    return _map(x, TANH)


cdef object sigmoid_array(object x):
    """The logistic sigmoid of a float array, without overflow."""
    return _map(x, SIGMOID)


cdef object _map(object x, int code):
    """tanh or sigmoid of any float array (strided or read-only), in a loop without the GIL."""
    cdef const double[::1] xd
    cdef double[::1] od
    cdef const float[::1] xf
    cdef float[::1] of
    out = np.empty(x.shape, dtype=x.dtype)
    if x.dtype == np.float64:
        xd = np.ascontiguousarray(x).reshape(-1)
        od = out.reshape(-1)
        with nogil:
            if code == TANH:
                _tanh_loop[double](xd, od)
            else:
                _sigmoid_loop[double](xd, od)
    else:
        xf = np.ascontiguousarray(x).reshape(-1)
        of = out.reshape(-1)
        with nogil:
            if code == TANH:
                _tanh_loop[float](xf, of)
            else:
                _sigmoid_loop[float](xf, of)
    return out


cdef void _tanh_grad_loop(const cython.floating[::1] y,   # IN  tanh(x)
                          const cython.floating[::1] gy,  # IN
                          cython.floating[::1] gx         # OUT
                          ) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(y.shape[0]):
        gx[i] = gy[i] * (1 - y[i] * y[i])


cdef void _sigmoid_grad_loop(const cython.floating[::1] y,   # IN  sigmoid(x)
                             const cython.floating[::1] gy,  # IN
                             cython.floating[::1] gx         # OUT
                             ) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(y.shape[0]):
        gx[i] = gy[i] * (y[i] * (1 - y[i]))     # the seed's grouping: its last digits


cdef object tanh_grad(object y, object gy):
    """``gy * (1 - y*y)``, y = tanh(x), in one pass."""
    return _fused_grad(TANH, y, gy)


cdef object sigmoid_grad(object y, object gy):
    """``gy * (y * (1 - y))``, y = sigmoid(x), in one pass."""
    return _fused_grad(SIGMOID, y, gy)


cdef object _fused_grad(int code, object y, object gy):
    """tanh' or sigmoid' times gy in one pass without the GIL (arrays of one shape)."""
    cdef const double[::1] yd, gd
    cdef double[::1] od
    cdef const float[::1] yf, gf
    cdef float[::1] of
    dt = np.result_type(y, gy)
    if np.shape(gy) != np.shape(y):
        gy = np.broadcast_to(gy, np.shape(y))
    out = np.empty(y.shape, dtype=dt)
    if dt == np.float64:
        yd = np.ascontiguousarray(y, dtype=dt).reshape(-1)
        gd = np.ascontiguousarray(gy, dtype=dt).reshape(-1)
        od = out.reshape(-1)
        with nogil:
            if code == TANH:
                _tanh_grad_loop[double](yd, gd, od)
            else:
                _sigmoid_grad_loop[double](yd, gd, od)
    else:
        yf = np.ascontiguousarray(y, dtype=dt).reshape(-1)
        gf = np.ascontiguousarray(gy, dtype=dt).reshape(-1)
        of = out.reshape(-1)
        with nogil:
            if code == TANH:
                _tanh_grad_loop[float](yf, gf, of)
            else:
                _sigmoid_grad_loop[float](yf, gf, of)
    return out


# ---------------------------------------------------------------------------- optimizer updates

cdef void _axpy(cython.floating[::1] y,        # IN/OUT
                const cython.floating[::1] x,  # IN
                double alpha) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating a = <cython.floating>alpha
    for i in range(y.shape[0]):
        y[i] += a * x[i]


def axpy_fast(y, x, double alpha):
    """``axpy`` for the optimizers, which pass a writable C-contiguous ``y`` and an ``x``
    of its shape: the checks that cost more than the loop on small arrays are skipped."""
    cdef double[::1] yd
    cdef const double[::1] xd
    cdef float[::1] yf
    cdef const float[::1] xf
    # the loop trusts only what is checked here: both arrays, one dtype, native byte
    # order, contiguous, y writable, and the same number of elements
    if (cnp.PyArray_Check(x) and cnp.PyArray_Check(y)
            and cnp.PyArray_TYPE(<cnp.ndarray>x) == cnp.PyArray_TYPE(<cnp.ndarray>y)
            and cnp.PyArray_SIZE(<cnp.ndarray>x) == cnp.PyArray_SIZE(<cnp.ndarray>y)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>y)
            and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>y)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>y)):
        if cnp.PyArray_TYPE(<cnp.ndarray>y) == cnp.NPY_DOUBLE:
            yd = y.reshape(-1)
            xd = x.reshape(-1)
            with nogil:
                _axpy[double](yd, xd, alpha)
            return
        if cnp.PyArray_TYPE(<cnp.ndarray>y) == cnp.NPY_FLOAT:
            yf = y.reshape(-1)
            xf = x.reshape(-1)
            with nogil:
                _axpy[float](yf, xf, alpha)
            return
    axpy(y, x, alpha)


def axpy(y, x, double alpha):
    """``y += alpha * x`` in place, in one pass without a temporary or the GIL.

    ``y`` must be a writable C-contiguous float32 or float64 array; ``x`` any array
    of its shape (converted to ``y``'s dtype and layout when it differs).
    """
    if not (isinstance(y, np.ndarray) and y.dtype in (np.float32, np.float64)
            and y.flags.c_contiguous and y.flags.writeable):
        raise TypeError("axpy: y must be a writable C-contiguous float32 or float64 array")
    if not y.dtype.isnative:
        raise TypeError("axpy: y must be in native byte order")
    if np.shape(x) != y.shape:
        raise ValueError(f"axpy: x of shape {np.shape(x)} does not match y of shape {y.shape}")
    # x in y's dtype and layout: axpy_fast then takes its loop
    axpy_fast(y, np.ascontiguousarray(x, dtype=y.dtype), alpha)


# ---------------------------------------------------------------------------- the LSTM cell's gates
# One pass over the gate pre-activations for a step of the seed's LSTM, and one back.
# The arithmetic is the composed form's, operation for operation, so the fused cell
# computes the same bits: f, i, o = sigmoid(a), u = tanh(a), c = f * c0 + i * u (or
# i * u on the first step), h = o * tanh(c).

cdef void _lstm_fwd_loop(const cython.floating[::1] af, const cython.floating[::1] ai,   # IN
                         const cython.floating[::1] ao, const cython.floating[::1] au,   # IN
                         const cython.floating[::1] c0, bint has_c0,                     # IN
                         cython.floating[::1] f, cython.floating[::1] i,                 # OUT
                         cython.floating[::1] o, cython.floating[::1] u,                 # OUT
                         cython.floating[::1] c, cython.floating[::1] tc,                # OUT
                         cython.floating[::1] h) noexcept nogil:                         # OUT
    cdef Py_ssize_t k
    cdef cython.floating fk, ik, ok, uk, ck, tk
    for k in range(af.shape[0]):
        fk = <cython.floating>sigmoid_scalar(af[k])
        ik = <cython.floating>sigmoid_scalar(ai[k])
        ok = <cython.floating>sigmoid_scalar(ao[k])
        uk = <cython.floating>tanh_scalar(au[k])
        if has_c0:
            ck = fk * c0[k] + ik * uk
        else:
            ck = ik * uk
        tk = <cython.floating>tanh_scalar(ck)
        f[k] = fk; i[k] = ik; o[k] = ok; u[k] = uk; c[k] = ck; tc[k] = tk
        h[k] = ok * tk


cdef void _lstm_bwd_loop(const cython.floating[::1] f, const cython.floating[::1] i,     # IN
                         const cython.floating[::1] o, const cython.floating[::1] u,     # IN
                         const cython.floating[::1] tc, const cython.floating[::1] c0,   # IN
                         bint has_c0,
                         const cython.floating[::1] gh, bint has_gh,                     # IN
                         const cython.floating[::1] gc, bint has_gc,                     # IN
                         cython.floating[::1] daf, cython.floating[::1] dai,             # OUT
                         cython.floating[::1] dao, cython.floating[::1] dau,             # OUT
                         cython.floating[::1] gc0) noexcept nogil:                       # OUT
    cdef Py_ssize_t k
    cdef cython.floating g_h, g_c
    for k in range(f.shape[0]):
        g_h = gh[k] if has_gh else 0
        g_c = gc[k] if has_gc else 0
        g_c = g_c + (g_h * o[k]) * (1 - tc[k] * tc[k])
        dao[k] = (g_h * tc[k]) * (o[k] * (1 - o[k]))
        daf[k] = ((g_c * c0[k]) if has_c0 else 0) * (f[k] * (1 - f[k]))
        dai[k] = (g_c * u[k]) * (i[k] * (1 - i[k]))
        dau[k] = (g_c * i[k]) * (1 - u[k] * u[k])
        gc0[k] = g_c * f[k]


cdef void _lstm_fwd_cat_loop(const cython.floating[:, ::1] a,                            # IN
                             const cython.floating[:, ::1] c0, bint has_c0,              # IN
                             cython.floating[:, ::1] g, cython.floating[:, ::1] c,        # OUT
                             cython.floating[:, ::1] tc,                                 # OUT
                             cython.floating[:, ::1] h) noexcept nogil:                  # OUT
    # a and g are (B, 4H): the gates f, i, o, u side by side; the arithmetic is
    # _lstm_fwd_loop's, element for element
    cdef Py_ssize_t r, k, n = c.shape[1]
    cdef cython.floating fk, ik, ok, uk, ck, tk
    for r in range(c.shape[0]):
        for k in range(n):
            fk = <cython.floating>sigmoid_scalar(a[r, k])
            ik = <cython.floating>sigmoid_scalar(a[r, n + k])
            ok = <cython.floating>sigmoid_scalar(a[r, 2 * n + k])
            uk = <cython.floating>tanh_scalar(a[r, 3 * n + k])
            if has_c0:
                ck = fk * c0[r, k] + ik * uk
            else:
                ck = ik * uk
            tk = <cython.floating>tanh_scalar(ck)
            g[r, k] = fk; g[r, n + k] = ik; g[r, 2 * n + k] = ok; g[r, 3 * n + k] = uk
            c[r, k] = ck; tc[r, k] = tk
            h[r, k] = ok * tk


cdef void _lstm_bwd_cat_loop(const cython.floating[:, ::1] g,                            # IN
                             const cython.floating[:, ::1] tc,                           # IN
                             const cython.floating[:, ::1] c0, bint has_c0,              # IN
                             const cython.floating[:, ::1] gh, bint has_gh,              # IN
                             const cython.floating[:, ::1] gc, bint has_gc,              # IN
                             cython.floating[:, ::1] da,                                 # OUT
                             cython.floating[:, ::1] gc0) noexcept nogil:                # OUT
    # _lstm_bwd_loop's arithmetic on the gates side by side; da is (B, 4H)
    cdef Py_ssize_t r, k, n = tc.shape[1]
    cdef cython.floating g_h, g_c, fk, ik, ok, uk, tk
    for r in range(tc.shape[0]):
        for k in range(n):
            fk = g[r, k]; ik = g[r, n + k]; ok = g[r, 2 * n + k]; uk = g[r, 3 * n + k]
            tk = tc[r, k]
            g_h = gh[r, k] if has_gh else 0
            g_c = gc[r, k] if has_gc else 0
            g_c = g_c + (g_h * ok) * (1 - tk * tk)
            da[r, 2 * n + k] = (g_h * tk) * (ok * (1 - ok))
            da[r, k] = ((g_c * c0[r, k]) if has_c0 else 0) * (fk * (1 - fk))
            da[r, n + k] = (g_c * uk) * (ik * (1 - ik))
            da[r, 3 * n + k] = (g_c * ik) * (1 - uk * uk)
            gc0[r, k] = g_c * fk


cdef object _same_layout(object a, object like, str what):
    """``a`` as a C-contiguous array of ``like``'s dtype and shape (checked)."""
    a = np.ascontiguousarray(a, dtype=like.dtype)
    if a.shape != like.shape:
        raise ValueError(f"{what}: shape {a.shape} does not match {like.shape}")
    return a


def lstm_gates(af, ai, ao, au, c0):
    """The forward pass over the gates: returns (h, c, (f, i, o, u, tanh(c))).
    The pre-activations are float arrays of one shape; ``c0`` the previous cell or None."""
    af = np.ascontiguousarray(af)
    if af.dtype != np.float32 and af.dtype != np.float64:
        raise TypeError(f"lstm_gates: float32 or float64 expected, got {af.dtype}")
    ai = _same_layout(ai, af, "lstm_gates")
    ao = _same_layout(ao, af, "lstm_gates")
    au = _same_layout(au, af, "lstm_gates")
    has_c0 = c0 is not None
    c0 = _same_layout(c0, af, "lstm_gates") if has_c0 else af
    outs = [np.empty_like(af) for _ in range(7)]
    f, i, o, u, c, tc, h = outs
    if af.dtype == np.float64:
        _lstm_fwd_loop[double](af.reshape(-1), ai.reshape(-1), ao.reshape(-1), au.reshape(-1),
                               c0.reshape(-1), has_c0, f.reshape(-1), i.reshape(-1),
                               o.reshape(-1), u.reshape(-1), c.reshape(-1), tc.reshape(-1),
                               h.reshape(-1))
    else:
        _lstm_fwd_loop[float](af.reshape(-1), ai.reshape(-1), ao.reshape(-1), au.reshape(-1),
                              c0.reshape(-1), has_c0, f.reshape(-1), i.reshape(-1),
                              o.reshape(-1), u.reshape(-1), c.reshape(-1), tc.reshape(-1),
                              h.reshape(-1))
    return h, c, (f, i, o, u, tc)


def lstm_gates_backward(saved, c0, gh, gc):
    """The backward pass over the gates: the gradients of the four pre-activations and of
    the previous cell, from those of ``h`` and ``c`` (either may be None: zero)."""
    f, i, o, u, tc = saved
    has_c0 = c0 is not None
    has_gh = gh is not None
    has_gc = gc is not None
    c0 = _same_layout(c0, f, "lstm_gates_backward") if has_c0 else f
    gh = _same_layout(gh, f, "lstm_gates_backward") if has_gh else f
    gc = _same_layout(gc, f, "lstm_gates_backward") if has_gc else f
    for a in (i, o, u, tc):
        if a.shape != f.shape or a.dtype != f.dtype or not a.flags.c_contiguous:
            raise ValueError("lstm_gates_backward: saved gates of different layouts")
    outs = [np.empty_like(f) for _ in range(5)]
    daf, dai, dao, dau, gc0 = outs
    if f.dtype == np.float64:
        _lstm_bwd_loop[double](f.reshape(-1), i.reshape(-1), o.reshape(-1), u.reshape(-1),
                               tc.reshape(-1), c0.reshape(-1), has_c0, gh.reshape(-1), has_gh,
                               gc.reshape(-1), has_gc, daf.reshape(-1), dai.reshape(-1),
                               dao.reshape(-1), dau.reshape(-1), gc0.reshape(-1))
    else:
        _lstm_bwd_loop[float](f.reshape(-1), i.reshape(-1), o.reshape(-1), u.reshape(-1),
                              tc.reshape(-1), c0.reshape(-1), has_c0, gh.reshape(-1), has_gh,
                              gc.reshape(-1), has_gc, daf.reshape(-1), dai.reshape(-1),
                              dao.reshape(-1), dau.reshape(-1), gc0.reshape(-1))
    return (daf, dai, dao, dau), gc0


def lstm_gates_cat(a, c0):
    """The forward pass over the gates side by side: ``a`` is (B, 4H), the
    pre-activations of f, i, o, u; ``c0`` the previous cell (B, H) or None. Returns
    (h, c, (gates, tanh(c))), the gates (B, 4H) in ``a``'s order."""
    a = np.ascontiguousarray(a)
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"lstm_gates_cat: float32 or float64 expected, got {a.dtype}")
    if a.ndim != 2 or a.shape[1] % 4:
        raise ValueError(f"lstm_gates_cat: expected (B, 4H) pre-activations, got {a.shape}")
    n = a.shape[1] // 4
    g = np.empty_like(a)
    c, tc, h = [np.empty((a.shape[0], n), dtype=a.dtype) for _ in range(3)]
    has_c0 = c0 is not None
    c0 = _same_layout(c0, c, "lstm_gates_cat") if has_c0 else c
    if a.dtype == np.float64:
        _lstm_fwd_cat_loop[double](a, c0, has_c0, g, c, tc, h)
    else:
        _lstm_fwd_cat_loop[float](a, c0, has_c0, g, c, tc, h)
    return h, c, (g, tc)


def lstm_gates_cat_backward(saved, c0, gh, gc):
    """The backward pass of ``lstm_gates_cat``: the gradient of the (B, 4H)
    pre-activations (zero for f when there is no ``c0``) and of the previous cell, from
    those of ``h`` and ``c`` (either may be None: zero)."""
    g, tc = saved
    if g.ndim != 2 or tc.ndim != 2 or g.shape != (tc.shape[0], 4 * tc.shape[1]) \
            or g.dtype != tc.dtype or not (g.flags.c_contiguous and tc.flags.c_contiguous):
        raise ValueError("lstm_gates_cat_backward: saved gates of different layouts")
    has_c0 = c0 is not None
    has_gh = gh is not None
    has_gc = gc is not None
    c0 = _same_layout(c0, tc, "lstm_gates_cat_backward") if has_c0 else tc
    gh = _same_layout(gh, tc, "lstm_gates_cat_backward") if has_gh else tc
    gc = _same_layout(gc, tc, "lstm_gates_cat_backward") if has_gc else tc
    da = np.empty_like(g)
    gc0 = np.empty_like(tc)
    if g.dtype == np.float64:
        _lstm_bwd_cat_loop[double](g, tc, c0, has_c0, gh, has_gh, gc, has_gc, da, gc0)
    else:
        _lstm_bwd_cat_loop[float](g, tc, c0, has_c0, gh, has_gh, gc, has_gc, da, gc0)
    return da, gc0
