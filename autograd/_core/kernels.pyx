"""Array kernels: the one-element fast path, broadcasting undone by ``sum_to``,
Go's ``math.Pow`` and fused elementwise loops.

Everything here takes and returns NumPy arrays; nothing here knows about graphs.
"""
cimport cython
cimport numpy as cnp
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_ND
from cpython.object cimport PyTypeObject
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.math cimport exp, log, sqrt, sqrtf, fabs, frexp, ldexp, modf, isnan, isinf, INFINITY, NAN
import operator
import os

import numpy as np

cnp.import_array()


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
            or n_elements(a) != 1
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


# ---------------------------------------------------------------------------- large buffers
# A training step makes arrays of the same sizes every time. Made by malloc, the large
# ones go back to the system when freed (glibc trims its heap or unmaps them) and come
# back as fresh pages, each faulted in again: on the 784-512-512-10 MLP, 1,850 page faults
# and about 20% of a step. The arrays the compiled core makes for itself (products of
# `linear`, ReLU and its gradient) take their memory from here instead: a freed buffer of
# at least CACHE_MIN bytes is kept, up to CACHE_BLOCKS of them and _cache_limit bytes in
# all (the oldest are freed first), and a request for exactly its size takes it back.
# Such an array does not own its memory: its base is the _Buffer that does. Everything
# here runs with the GIL held (array deallocation and these functions), which keeps the
# lists consistent between threads.

DEF CACHE_MIN = 262144
DEF CACHE_BLOCKS = 64

cdef extern from "stdlib.h":
    void *aligned_alloc(size_t alignment, size_t size) nogil
    void c_free "free"(void *p) nogil

cdef extern from "Python.h":
    int PyTraceMalloc_Track(unsigned int domain, size_t ptr, size_t size)
    int PyTraceMalloc_Untrack(unsigned int domain, size_t ptr)

# NumPy's tracemalloc domain: the buffers in use are counted as NumPy's own arrays are
DEF NPY_TRACE_DOMAIN = 389047

cdef extern from "numpy/arrayobject.h":
    # steals a reference to descr
    object PyArray_NewFromDescr(PyTypeObject *subtype, cnp.dtype descr, int nd,
                                cnp.npy_intp *dims, cnp.npy_intp *strides, void *data,
                                int flags, object obj)

cdef void *_blocks[CACHE_BLOCKS]
cdef size_t _block_sizes[CACHE_BLOCKS]
cdef int _n_blocks = 0
cdef size_t _cached_bytes = 0
cdef size_t _cache_limit = _default_limit()


cdef size_t _default_limit():
    """256 MiB, or a 64th of the machine's memory when that is less (64 MiB on 4 GiB)."""
    limit = 256 * 1024 * 1024
    try:
        limit = min(limit, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 64)
    except (AttributeError, ValueError, OSError):  # no sysconf: keep the bound
        pass
    return <size_t>max(limit, 0)


cdef void _drop_oldest() noexcept:
    global _n_blocks, _cached_bytes
    cdef int k
    c_free(_blocks[0])
    _cached_bytes -= _block_sizes[0]
    for k in range(1, _n_blocks):
        _blocks[k - 1] = _blocks[k]
        _block_sizes[k - 1] = _block_sizes[k]
    _n_blocks -= 1


cdef void _give_back(void *p, size_t size) noexcept:
    global _n_blocks, _cached_bytes
    if size > _cache_limit:
        c_free(p)
        return
    while _n_blocks > 0 and (_n_blocks == CACHE_BLOCKS or _cached_bytes + size > _cache_limit):
        _drop_oldest()
    _blocks[_n_blocks] = p
    _block_sizes[_n_blocks] = size
    _n_blocks += 1
    _cached_bytes += size


cdef void *_take(size_t size) noexcept:
    global _n_blocks, _cached_bytes
    cdef int k, j
    cdef void *p
    for k in range(_n_blocks - 1, -1, -1):     # the most recently freed first
        if _block_sizes[k] == size:
            p = _blocks[k]
            _cached_bytes -= size
            for j in range(k + 1, _n_blocks):
                _blocks[j - 1] = _blocks[j]
                _block_sizes[j - 1] = _block_sizes[j]
            _n_blocks -= 1
            return p
    # 64-byte aligned, as the vector loops and BLAS like; aligned_alloc wants a multiple
    p = aligned_alloc(64, (size + 63) & ~(<size_t>63))
    if p == NULL and _n_blocks > 0:
        while _n_blocks > 0:
            _drop_oldest()
        p = aligned_alloc(64, (size + 63) & ~(<size_t>63))
    return p


@cython.final
cdef class _Buffer:
    """The memory of an array made by ``empty``: given back to the cache when the last
    array using it goes."""
    cdef void *ptr
    cdef size_t size
    cdef Py_ssize_t length

    def __getbuffer__(self, Py_buffer *view, int flags):
        # Writable bytes: NumPy asks its base for them when an array over this memory
        # that was made read-only is made writable again (flags.writeable = True).
        self.length = <Py_ssize_t>self.size
        view.buf = self.ptr
        view.obj = self
        view.len = self.length
        view.readonly = 0
        view.itemsize = 1
        view.format = NULL
        if flags & PyBUF_FORMAT:
            view.format = "B"
        view.ndim = 1
        view.shape = NULL
        if flags & PyBUF_ND:
            view.shape = &self.length
        view.strides = NULL
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer *view):
        pass

    def __dealloc__(self):
        if self.ptr != NULL:
            PyTraceMalloc_Untrack(NPY_TRACE_DOMAIN, <size_t>self.ptr)
            _give_back(self.ptr, self.size)


cdef object empty(int nd, cnp.npy_intp *dims, int typenum):
    """An uninitialised C-ordered array; from the cache of large buffers when it is large."""
    cdef cnp.npy_intp n = 1
    cdef int k
    for k in range(nd):
        n *= dims[k]
    cdef cnp.dtype descr = cnp.PyArray_DescrFromType(typenum)
    cdef size_t size = <size_t>n * <size_t>descr.itemsize
    if size < CACHE_MIN or size > _cache_limit:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    cdef _Buffer buf = _Buffer.__new__(_Buffer)
    buf.ptr = _take(size)
    if buf.ptr == NULL:
        raise MemoryError(f"cannot allocate {size} bytes for an array")
    buf.size = size
    PyTraceMalloc_Track(NPY_TRACE_DOMAIN, <size_t>buf.ptr, size)
    Py_INCREF(descr)        # PyArray_NewFromDescr steals a reference to the descriptor
    cdef cnp.ndarray out = PyArray_NewFromDescr(<PyTypeObject *>np.ndarray, descr, nd, dims, NULL,
                                                buf.ptr, cnp.NPY_ARRAY_CARRAY, None)
    cnp.set_array_base(out, buf)
    return out


cdef object empty_like(object a, int typenum):
    return empty(cnp.PyArray_NDIM(<cnp.ndarray>a), cnp.PyArray_DIMS(<cnp.ndarray>a), typenum)


# ---------------------------------------------------------------------------- products
cdef extern from "gemm.h" nogil:
    # c = a @ b in the seed's order (gemm.h): the same bits on every CPU; element strides
    int ag_gemm_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const double *a,
                  Py_ssize_t sa0, Py_ssize_t sa1, const double *b, Py_ssize_t sb0,
                  Py_ssize_t sb1, double *c, Py_ssize_t ldc)
    int ag_gemm_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const float *a,
                  Py_ssize_t sa0, Py_ssize_t sa1, const float *b, Py_ssize_t sb0,
                  Py_ssize_t sb1, float *c, Py_ssize_t ldc)
    int ag_gemm_setup(int most)
    int ag_gemm_level


ag_gemm_setup(2)

# Products of at most this many multiply-adds are made by gemm.h in the seed's order;
# larger ones by NumPy's BLAS, whose order depends on the CPU
DEF SEED_ORDER_MAX = 1 << 15
cdef Py_ssize_t _seed_order_max = SEED_ORDER_MAX


def seed_order(limit=None, level=None):
    """``(limit, level)``: products of at most ``limit`` multiply-adds are summed in the
    seed's order (the same bits on every CPU), larger ones by BLAS; ``level`` the widest
    vectors that loop runs on (0 the baseline's, 1 AVX2's, 2 AVX-512's; the same bits on
    each, at most what the CPU has). Either can be set, for tests and benchmarks
    (``limit=0``: BLAS for every product)."""
    global _seed_order_max
    if limit is not None:
        if isinstance(limit, bool) or operator.index(limit) < 0:
            raise ValueError(f"seed_order: limit must be an int >= 0, got {limit!r}")
        limit = operator.index(limit)
    if level is not None:
        level = operator.index(level)
    if limit is not None:
        _seed_order_max = limit
    if level is not None:
        ag_gemm_setup(level)
    return _seed_order_max, ag_gemm_level


cdef inline bint _gemm_operand(cnp.ndarray a, int t) noexcept:
    """Whether gemm.h can read a: 2-D, of type t, native order, aligned, strides whole
    elements."""
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a)
    return (cnp.PyArray_NDIM(a) == 2 and cnp.PyArray_TYPE(a) == t
            and cnp.PyArray_ISNOTSWAPPED(a) and cnp.PyArray_ISALIGNED(a)
            and cnp.PyArray_STRIDE(a, 0) % size == 0 and cnp.PyArray_STRIDE(a, 1) % size == 0)


cdef inline object _aligned(object a, int t):
    """a, or an aligned copy of it where it is a 2-D native array of type t that is not
    aligned (a packed record's field, a buffer after a header): its product must not
    leave the seed's order for that. None where gemm.h cannot take it."""
    if not (cnp.PyArray_CheckExact(a) and cnp.PyArray_NDIM(<cnp.ndarray>a) == 2
            and cnp.PyArray_TYPE(<cnp.ndarray>a) == t and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a)):
        return None
    if not _gemm_operand(<cnp.ndarray>a, t):
        a = np.array(a, order="C")
    return a


cdef int _gemm(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c) except -1:
    """c = a @ b by gemm.h (c's columns contiguous)."""
    cdef Py_ssize_t m = cnp.PyArray_DIM(a, 0), depth = cnp.PyArray_DIM(a, 1)
    cdef Py_ssize_t n = cnp.PyArray_DIM(b, 1), size = cnp.PyArray_ITEMSIZE(a)
    cdef Py_ssize_t sa0 = cnp.PyArray_STRIDE(a, 0) // size, sa1 = cnp.PyArray_STRIDE(a, 1) // size
    cdef Py_ssize_t sb0 = cnp.PyArray_STRIDE(b, 0) // size, sb1 = cnp.PyArray_STRIDE(b, 1) // size
    cdef Py_ssize_t ldc = cnp.PyArray_STRIDE(c, 0) // size
    cdef int err
    if cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE:
        with nogil:
            err = ag_gemm_d(m, n, depth, <const double *>cnp.PyArray_DATA(a), sa0, sa1,
                            <const double *>cnp.PyArray_DATA(b), sb0, sb1,
                            <double *>cnp.PyArray_DATA(c), ldc)
    else:
        with nogil:
            err = ag_gemm_f(m, n, depth, <const float *>cnp.PyArray_DATA(a), sa0, sa1,
                            <const float *>cnp.PyArray_DATA(b), sb0, sb1,
                            <float *>cnp.PyArray_DATA(c), ldc)
    if err:
        raise MemoryError("matmul: cannot allocate the product's scratch")
    return 0


cdef inline tuple _seed_operands(object a, object b):
    """(a, b) ready for gemm.h (unaligned ones copied) where a @ b is made there: two 2-D
    float arrays of one type whose shapes multiply, with a product of at most
    _seed_order_max multiply-adds; else None."""
    if not (cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == 2 and cnp.PyArray_NDIM(<cnp.ndarray>b) == 2):
        return None
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if not ((t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT)
            and cnp.PyArray_DIM(<cnp.ndarray>a, 1) == cnp.PyArray_DIM(<cnp.ndarray>b, 0)
            and <double>cnp.PyArray_DIM(<cnp.ndarray>a, 0) * <double>cnp.PyArray_DIM(<cnp.ndarray>b, 1)
            * <double>cnp.PyArray_DIM(<cnp.ndarray>a, 1) <= <double>_seed_order_max):
        return None
    a = _aligned(a, t)
    b = _aligned(b, t)
    if a is None or b is None:
        return None
    return a, b


cdef object _matmul_stack(object a, object b):
    """a @ b for stacks of matrices (NumPy's broadcasting of the leading dimensions), each
    product by gemm.h, where the arrays are float arrays of one type and each product has
    at most _seed_order_max multiply-adds; else None."""
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if not ((t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT) and cnp.PyArray_TYPE(<cnp.ndarray>b) == t
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a) and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>b)):
        return None
    cdef int na = cnp.PyArray_NDIM(<cnp.ndarray>a), nb = cnp.PyArray_NDIM(<cnp.ndarray>b)
    cdef Py_ssize_t m = cnp.PyArray_DIM(<cnp.ndarray>a, na - 2)
    cdef Py_ssize_t depth = cnp.PyArray_DIM(<cnp.ndarray>a, na - 1)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>b, nb - 1)
    if (cnp.PyArray_DIM(<cnp.ndarray>b, nb - 2) != depth
            or <double>m * <double>n * <double>depth > <double>_seed_order_max):
        return None
    try:
        batch = np.broadcast_shapes(a.shape[:na - 2], b.shape[:nb - 2])
    except ValueError:
        return None                 # NumPy's error, from np.matmul
    if m == 0 or n == 0 or 0 in batch:
        return None                 # no element: NumPy's empty result
    # one stack of each, a view where the strides allow (a broadcast operand repeats)
    cdef Py_ssize_t count = 1
    for size in batch:
        count *= size
    stack_a = np.broadcast_to(a, batch + (m, depth)).reshape(count, m, depth)
    stack_b = np.broadcast_to(b, batch + (depth, n)).reshape(count, depth, n)
    if not (stack_a.flags.aligned and stack_b.flags.aligned):
        stack_a = np.ascontiguousarray(stack_a)
        stack_b = np.ascontiguousarray(stack_b)
    out = np.empty(batch + (m, n), dtype=a.dtype)
    _gemm_stack(stack_a, stack_b, out.reshape(count, m, n))
    return out


cdef int _gemm_stack(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c) except -1:
    """c[i] = a[i] @ b[i] by gemm.h for 3-D stacks (c C-ordered), in one loop without
    the GIL."""
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a), count = cnp.PyArray_DIM(a, 0), i
    cdef Py_ssize_t m = cnp.PyArray_DIM(a, 1), depth = cnp.PyArray_DIM(a, 2)
    cdef Py_ssize_t n = cnp.PyArray_DIM(b, 2)
    cdef Py_ssize_t sa[3]
    cdef Py_ssize_t sb[3]
    for i in range(3):
        sa[i] = cnp.PyArray_STRIDE(a, i) // size
        sb[i] = cnp.PyArray_STRIDE(b, i) // size
    cdef int err = 0
    cdef bint wide = cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE
    cdef char *pa = <char *>cnp.PyArray_DATA(a)
    cdef char *pb = <char *>cnp.PyArray_DATA(b)
    cdef char *pc = <char *>cnp.PyArray_DATA(c)
    with nogil:
        for i in range(count):
            if wide:
                err = ag_gemm_d(m, n, depth, <const double *>pa + i * sa[0], sa[1], sa[2],
                                <const double *>pb + i * sb[0], sb[1], sb[2],
                                <double *>pc + i * m * n, n)
            else:
                err = ag_gemm_f(m, n, depth, <const float *>pa + i * sa[0], sa[1], sa[2],
                                <const float *>pb + i * sb[0], sb[1], sb[2],
                                <float *>pc + i * m * n, n)
            if err:
                break
    if err:
        raise MemoryError("matmul: cannot allocate the product's scratch")
    return 0


cdef object matmul_arrays(object a, object b):
    """``np.matmul(a, b)``. Float arrays of one type: a product of at most
    _seed_order_max multiply-adds (each of a stack's) is summed in the seed's order
    (gemm.h); a larger one is NumPy's BLAS call, written into a buffer of the cache when
    large and 2-D."""
    cdef cnp.npy_intp dims[2]
    cdef int t
    if (cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) >= 2 and cnp.PyArray_NDIM(<cnp.ndarray>b) >= 2
            and (cnp.PyArray_NDIM(<cnp.ndarray>a) > 2 or cnp.PyArray_NDIM(<cnp.ndarray>b) > 2)):
        stacked = _matmul_stack(a, b)
        if stacked is not None:
            return stacked
        return np.matmul(a, b)
    seed = _seed_operands(a, b)
    if seed is not None:
        a, b = seed
        dims[0] = cnp.PyArray_DIM(<cnp.ndarray>a, 0)
        dims[1] = cnp.PyArray_DIM(<cnp.ndarray>b, 1)
        out = empty(2, dims, cnp.PyArray_TYPE(<cnp.ndarray>a))
        _gemm(<cnp.ndarray>a, <cnp.ndarray>b, <cnp.ndarray>out)
        return out
    if (cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == 2 and cnp.PyArray_NDIM(<cnp.ndarray>b) == 2):
        t = cnp.PyArray_TYPE(<cnp.ndarray>a)
        if ((t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT) and cnp.PyArray_TYPE(<cnp.ndarray>b) == t
                and cnp.PyArray_DIM(<cnp.ndarray>a, 1) == cnp.PyArray_DIM(<cnp.ndarray>b, 0)
                and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a)
                and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>b)):
            dims[0] = cnp.PyArray_DIM(<cnp.ndarray>a, 0)
            dims[1] = cnp.PyArray_DIM(<cnp.ndarray>b, 1)
            if <size_t>(dims[0] * dims[1]) * cnp.PyArray_ITEMSIZE(<cnp.ndarray>a) >= CACHE_MIN:
                return np.matmul(a, b, out=empty(2, dims, t))
    return np.matmul(a, b)


cdef object matmul_into(object a, object b, object out):
    """``np.matmul(a, b, out=out)`` for 2-D arrays, summed as matmul_arrays sums (in the
    seed's order straight into out where gemm.h can write it, else through a copy)."""
    seed = _seed_operands(a, b)
    if (seed is None or not cnp.PyArray_CheckExact(out)
            or cnp.PyArray_NDIM(<cnp.ndarray>out) != 2
            or cnp.PyArray_DIM(<cnp.ndarray>out, 0) != cnp.PyArray_DIM(<cnp.ndarray>a, 0)
            or cnp.PyArray_DIM(<cnp.ndarray>out, 1) != cnp.PyArray_DIM(<cnp.ndarray>b, 1)
            or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out)):
        return np.matmul(a, b, out=out)     # NumPy's product, or NumPy's error
    a, b = seed
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if (_gemm_operand(<cnp.ndarray>out, t)
            and cnp.PyArray_STRIDE(<cnp.ndarray>out, 1) == cnp.PyArray_ITEMSIZE(<cnp.ndarray>out)
            and not np.may_share_memory(out, a) and not np.may_share_memory(out, b)):
        _gemm(<cnp.ndarray>a, <cnp.ndarray>b, <cnp.ndarray>out)
    else:
        out[...] = matmul_arrays(a, b)
    return out


def matmul_into_py(a, b, out):
    """Python-visible ``matmul_into`` for tests."""
    return matmul_into(a, b, out)


def matmul_py(a, b):
    """Python-visible ``matmul_arrays`` for tests."""
    return matmul_arrays(a, b)


def empty_vector(n, dtype):
    """An uninitialised 1-D array of ``n`` elements of a native ``dtype``, from the cache of
    large buffers when it is large: for packed buffers that Python code fills each step."""
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"empty_vector: n must be an int, got {n!r}")
    cdef cnp.npy_intp count = operator.index(n)    # a TypeError for a float, as np.empty's
    cdef cnp.dtype descr = np.dtype(dtype)
    if count < 0:
        raise ValueError(f"empty_vector: n must be >= 0, got {count}")
    if descr.kind not in "biufc" or not descr.isnative:
        raise ValueError(f"empty_vector: dtype must be a native-order number type, got {descr}")
    return empty(1, &count, descr.type_num)


def buffer_cache(limit=None):
    """The cache of large buffers: ``(blocks, bytes, limit)``. ``limit`` (bytes) sets its
    bound first; 0 empties it and turns it off. Large arrays made by the compiled core
    (at least 256 KiB) are kept there when freed, for the next array of the same size."""
    global _cache_limit
    if limit is not None:
        try:
            count = operator.index(limit)           # an int, np.int64 ...
        except TypeError:
            count = -1
        if isinstance(limit, (bool, np.bool_)) or not 0 <= count < 2 ** 63:
            raise ValueError(f"buffer_cache: limit must be a number of bytes >= 0, got {limit!r}")
        _cache_limit = <size_t>count
        while _n_blocks > 0 and _cached_bytes > _cache_limit:
            _drop_oldest()
        if _cache_limit == 0:
            while _n_blocks > 0:
                _drop_oldest()
    return (_n_blocks, _cached_bytes, _cache_limit)


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

cdef extern from "vmath.h" nogil:
    # tanh.h's tanh, the sigmoid or the C library's exp over arrays: four doubles at a
    # time on CPUs with AVX2 and FMA, the same bits as one at a time (checked by
    # ag_simd_setup, at import); ag_simd_on says which path runs
    enum:
        TANH "AG_MAP_TANH"
        SIGMOID "AG_MAP_SIGMOID"
        EXP "AG_MAP_EXP"
    void ag_map_d(const double *x, double *y, Py_ssize_t n, int fn)
    void ag_map_f(const float *x, float *y, Py_ssize_t n, int fn)
    int ag_simd_setup(int want)
    int ag_simd_on


ag_simd_setup(1)


def simd(on=None):
    """Whether tanh and sigmoid run four elements at a time (AVX2 and FMA, checked at
    import to give the one-at-a-time bits); ``simd(False)``/``simd(True)`` turns that off
    or back on (if available) and returns the new state. For tests and benchmarks."""
    if on is not None:
        ag_simd_setup(1 if on else 0)
    return bool(ag_simd_on)


cdef inline void _map_n(const cython.floating *x,   # IN
                        cython.floating *y,         # OUT
                        Py_ssize_t n, int code) noexcept nogil:
    """tanh (code TANH), sigmoid (SIGMOID) or exp (EXP) of n elements."""
    if cython.floating is double:
        ag_map_d(x, y, n, code)
    else:
        ag_map_f(x, y, n, code)


cdef void _map_loop(const cython.floating[::1] x,   # IN
                    cython.floating[::1] y,         # OUT
                    int code) noexcept nogil:
    if x.shape[0]:
        _map_n(&x[0], &y[0], x.shape[0], code)


cdef object tanh_array(object x):
    """tanh of a float array (Go's digits). NumPy's float64 tanh costs about 15 ns an
    element here; this loop about 10 one at a time, 3.6 four at a time (vmath.h)."""
    return _map(x, TANH)


cdef object sigmoid_array(object x):
    """The logistic sigmoid of a float array, without overflow."""
    return _map(x, SIGMOID)


cdef object exp_array(object x):
    """exp of an array: the C library's, as the one-element exp (the seed's digits;
    NumPy's exp is its own, and picks its SIMD loop by CPU and version: NumPy 1.26's
    AVX-512 loop changed the last digit of the seed's softmax). float32 is computed in
    double and rounded once, as Go's float32(math.Exp(x)). Other types are NumPy's."""
    if ((cnp.PyArray_Check(x) or isinstance(x, (np.float64, np.float32)))
            and (x.dtype == np.float64 or x.dtype == np.float32) and x.dtype.isnative):
        return _map(x, EXP)
    return np.exp(x)


cdef object _map(object x, int code):
    """tanh, sigmoid or exp of any native float array (strided or read-only) or NumPy
    float scalar, in a loop without the GIL."""
    cdef const double[::1] xd
    cdef double[::1] od
    cdef const float[::1] xf
    cdef float[::1] of
    if cnp.PyArray_Check(x):
        out = empty_like(x, cnp.PyArray_TYPE(<cnp.ndarray>x))
    else:       # a NumPy scalar (0-d arithmetic gives those)
        out = np.empty(x.shape, dtype=x.dtype)
    if x.dtype == np.float64:
        xd = np.ascontiguousarray(x).reshape(-1)
        od = out.reshape(-1)
        with nogil:
            _map_loop[double](xd, od, code)
    else:
        xf = np.ascontiguousarray(x).reshape(-1)
        of = out.reshape(-1)
        with nogil:
            _map_loop[float](xf, of, code)
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


# ---------------------------------------------------------------------------- ReLU
# max(x, 0) and its gradient gy * (x > 0), one pass each over raw C arrays (no memoryview
# to acquire: on a few elements the call costs no more than NumPy's). Any other array
# (another dtype, strided, byte-swapped, a subclass) goes through the NumPy expressions
# these loops reproduce bit for bit.

cdef inline bint _plain(object a, int typenum) noexcept:
    """``a`` is an exact ndarray of ``typenum``, C-contiguous, aligned and in native byte order."""
    return (cnp.PyArray_CheckExact(a)
            and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a))


cdef inline void *_ptr(object a) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline int _float_type(object a) noexcept:
    """NPY_DOUBLE or NPY_FLOAT for a plain float64 or float32 array, else -1."""
    if _plain(a, cnp.NPY_DOUBLE):
        return cnp.NPY_DOUBLE
    if _plain(a, cnp.NPY_FLOAT):
        return cnp.NPY_FLOAT
    return -1


cdef inline bint _same_shape(object a, object b) noexcept:
    cdef int k, nd = cnp.PyArray_NDIM(<cnp.ndarray>a)
    if nd != cnp.PyArray_NDIM(<cnp.ndarray>b):
        return False
    for k in range(nd):
        if cnp.PyArray_DIM(<cnp.ndarray>a, k) != cnp.PyArray_DIM(<cnp.ndarray>b, k):
            return False
    return True


cdef void _relu_loop(const cython.floating *x,   # IN
                     cython.floating *y,         # OUT
                     Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating v
    for i in range(n):
        v = x[i]
        # np.maximum(x, 0): NaN kept (its payload and sign too), -0.0 becomes +0.0
        y[i] = v if (v > 0 or v != v) else 0


cdef void _relu_grad_loop(const cython.floating *y,    # IN  relu(x): y > 0 exactly where x > 0
                          const cython.floating *gy,   # IN
                          cython.floating *gx,         # OUT
                          Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        # a product, not a select: gy * 0 is -0.0 for gy < 0 and NaN for gy = inf or NaN,
        # as NumPy's gy * (x > 0)
        gx[i] = gy[i] * (<cython.floating>1 if y[i] > 0 else <cython.floating>0)


cdef void _mask_grad_loop(const unsigned char *m,     # IN  bool: where relu(x) > 0
                          const cython.floating *gy,  # IN
                          cython.floating *gx,        # OUT
                          Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        gx[i] = gy[i] * (<cython.floating>1 if m[i] else <cython.floating>0)


cdef object relu_array(object x):
    """``np.maximum(x, 0)``, the same bits, in one loop without the GIL."""
    cdef int t = _float_type(x)
    cdef Py_ssize_t n
    cdef cnp.ndarray out
    cdef void *xp
    cdef void *op
    if t < 0:
        return np.maximum(x, x.dtype.type(0))
    out = empty_like(x, t)
    n = cnp.PyArray_SIZE(out)
    xp = _ptr(x)
    op = _ptr(out)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            _relu_loop[double](<double*>xp, <double*>op, n)
    else:
        with nogil:
            _relu_loop[float](<float*>xp, <float*>op, n)
    return out


cdef object relu_grad(object y, object gy):
    """``gy * (y > 0)``, y = relu(x), in one pass: no boolean temporary, no mixed-type product.
    ``y`` may also be the sign ``y > 0`` itself (bool), which ReLU keeps once its output
    is released."""
    cdef int t = _float_type(y)
    cdef Py_ssize_t n
    cdef cnp.ndarray out
    cdef void *yp
    cdef void *gp
    cdef void *op
    cdef bint sign = t < 0 and _plain(y, cnp.NPY_BOOL)     # ReLU's kept sign
    if sign:
        t = _float_type(gy)
        if t < 0 or not _same_shape(y, gy):
            return gy * y
    elif t < 0 or _float_type(gy) != t or not _same_shape(y, gy):
        return gy * (y > 0)
    out = empty_like(y, t)
    n = cnp.PyArray_SIZE(out)
    yp = _ptr(y)
    gp = _ptr(gy)
    op = _ptr(out)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            if sign:
                _mask_grad_loop[double](<unsigned char*>yp, <double*>gp, <double*>op, n)
            else:
                _relu_grad_loop[double](<double*>yp, <double*>gp, <double*>op, n)
    else:
        with nogil:
            if sign:
                _mask_grad_loop[float](<unsigned char*>yp, <float*>gp, <float*>op, n)
            else:
                _relu_grad_loop[float](<float*>yp, <float*>gp, <float*>op, n)
    return out


def relu_py(x):
    """Python-visible ``relu_array`` for tests."""
    return relu_array(x)


def relu_grad_py(y, gy):
    """Python-visible ``relu_grad`` for tests."""
    return relu_grad(y, gy)


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


# ---------------------------------------------------------------------------- fused optimizer steps
# One pass per parameter: the parameter, its state and its gradient are each read once and
# written once. The arithmetic is the NumPy expressions' the optimizers used before, step
# for step and rounding for rounding (every constant cast to the array's dtype first, as
# NumPy casts a Python float), so the updates keep their bits at float32 and float64.

cdef inline cython.floating _sqrt(cython.floating x) noexcept nogil:
    if cython.floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef void _momentum_loop(cython.floating *p,          # IN/OUT
                         cython.floating *v,          # IN/OUT
                         const cython.floating *g,    # IN
                         Py_ssize_t n, double lr, double momentum) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating a = <cython.floating>lr
    cdef cython.floating mu = <cython.floating>momentum
    cdef cython.floating vi
    for i in range(n):
        vi = v[i] * mu                # v *= momentum
        vi = vi - a * g[i]            # v -= lr * g
        v[i] = vi
        p[i] = p[i] + vi              # p += v


cdef void _adam_loop(cython.floating *p,          # IN/OUT
                     cython.floating *m,          # IN/OUT
                     cython.floating *v,          # IN/OUT
                     const cython.floating *g,    # IN
                     Py_ssize_t n, double rate, double keep1, double keep2, double shrink,
                     bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating r = <cython.floating>rate
    cdef cython.floating c1 = <cython.floating>keep1
    cdef cython.floating c2 = <cython.floating>keep2
    cdef cython.floating eps = <cython.floating>1e-8
    cdef cython.floating k = <cython.floating>shrink
    cdef cython.floating gi, mi, vi, pi
    for i in range(n):
        gi = g[i]
        mi = m[i] + c1 * (gi - m[i])              # m += (1 - beta1)(g - m)
        vi = v[i] + c2 * (gi * gi - v[i])         # v += (1 - beta2)(g^2 - v)
        m[i] = mi
        v[i] = vi
        pi = p[i] - (r * mi) / (_sqrt(vi) + eps)  # p -= rate * m / (sqrt(v) + 1e-8)
        if decay:
            pi = pi * k                           # AdamW: p *= 1 - rate * weight_decay
        p[i] = pi


cdef void _rmsprop_loop(cython.floating *p,          # IN/OUT
                        cython.floating *v,          # IN/OUT
                        const cython.floating *g,    # IN
                        Py_ssize_t n, double lr, double alpha, double eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating a = <cython.floating>lr
    cdef cython.floating al = <cython.floating>alpha
    cdef cython.floating c = <cython.floating>(1.0 - alpha)
    cdef cython.floating e = <cython.floating>eps
    cdef cython.floating gi, vi
    for i in range(n):
        gi = g[i]
        vi = v[i] * al                      # v *= alpha
        vi = vi + c * (gi * gi)             # v += (1 - alpha) g^2
        v[i] = vi
        p[i] = p[i] - a * (gi / (_sqrt(vi) + e))


cdef void _adagrad_loop(cython.floating *p,          # IN/OUT
                        cython.floating *s,          # IN/OUT
                        const cython.floating *g,    # IN
                        Py_ssize_t n, double lr, double eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef cython.floating a = <cython.floating>lr
    cdef cython.floating e = <cython.floating>eps
    cdef cython.floating gi, si
    for i in range(n):
        gi = g[i]
        si = s[i] + gi * gi                 # s += g^2
        s[i] = si
        p[i] = p[i] - a * (gi / (_sqrt(si) + e))


cdef object _step_args(str what, object p, object s1, object s2, object g):
    """Check the parameter and its state arrays (writable, C-contiguous, one float dtype,
    one size: the loops trust this); return the gradient as such an array."""
    cdef int t = _float_type(p)
    cdef Py_ssize_t n
    if t < 0 or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>p):
        raise TypeError(f"{what}: the parameter must be a writable C-contiguous float32 or "
                        f"float64 array, got {type(p).__name__}"
                        + (f" of {p.dtype}" if isinstance(p, np.ndarray) else ""))
    n = cnp.PyArray_SIZE(<cnp.ndarray>p)
    for s in (s1, s2):
        if s is None:
            continue
        if (_float_type(s) != t or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>s)
                or cnp.PyArray_SIZE(<cnp.ndarray>s) != n):
            raise TypeError(f"{what}: the state arrays must be writable C-contiguous arrays "
                            f"of the parameter's dtype ({p.dtype}) and size ({n})")
    if _float_type(g) != t:
        g = np.ascontiguousarray(g, dtype=p.dtype)
    if cnp.PyArray_SIZE(<cnp.ndarray>g) != n:
        raise ValueError(f"{what}: the gradient has {g.size} elements, the parameter {n}")
    return g


def momentum_update(p, v, g, double lr, double momentum):
    """Momentum's step in one pass: ``v = momentum * v - lr * g; p += v`` (``p`` and ``v``
    in place)."""
    g = _step_args("momentum_update", p, v, None, g)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>p)
    cdef void *pp = _ptr(p)
    cdef void *vp = _ptr(v)
    cdef void *gp = _ptr(g)
    if cnp.PyArray_TYPE(<cnp.ndarray>p) == cnp.NPY_DOUBLE:
        with nogil:
            _momentum_loop[double](<double*>pp, <double*>vp, <double*>gp, n, lr, momentum)
    else:
        with nogil:
            _momentum_loop[float](<float*>pp, <float*>vp, <float*>gp, n, lr, momentum)


def adam_update(p, m, v, g, double rate, double beta1, double beta2, double shrink=1.0):
    """Adam's step in one pass, the bias correction folded into ``rate``:
    ``m += (1 - beta1)(g - m); v += (1 - beta2)(g^2 - v); p -= rate * m / (sqrt(v) + 1e-8)``,
    then ``p *= shrink`` unless it is 1 (AdamW's decoupled weight decay)."""
    g = _step_args("adam_update", p, m, v, g)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>p)
    cdef double keep1 = 1.0 - beta1, keep2 = 1.0 - beta2
    cdef bint decay = shrink != 1.0
    cdef void *pp = _ptr(p)
    cdef void *mp = _ptr(m)
    cdef void *vp = _ptr(v)
    cdef void *gp = _ptr(g)
    if cnp.PyArray_TYPE(<cnp.ndarray>p) == cnp.NPY_DOUBLE:
        with nogil:
            _adam_loop[double](<double*>pp, <double*>mp, <double*>vp, <double*>gp,
                               n, rate, keep1, keep2, shrink, decay)
    else:
        with nogil:
            _adam_loop[float](<float*>pp, <float*>mp, <float*>vp, <float*>gp,
                              n, rate, keep1, keep2, shrink, decay)


def rmsprop_update(p, v, g, double lr, double alpha, double eps):
    """RMSprop's step in one pass: ``v = alpha * v + (1 - alpha) g^2;
    p -= lr * g / (sqrt(v) + eps)``."""
    g = _step_args("rmsprop_update", p, v, None, g)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>p)
    cdef void *pp = _ptr(p)
    cdef void *vp = _ptr(v)
    cdef void *gp = _ptr(g)
    if cnp.PyArray_TYPE(<cnp.ndarray>p) == cnp.NPY_DOUBLE:
        with nogil:
            _rmsprop_loop[double](<double*>pp, <double*>vp, <double*>gp, n, lr, alpha, eps)
    else:
        with nogil:
            _rmsprop_loop[float](<float*>pp, <float*>vp, <float*>gp, n, lr, alpha, eps)


def adagrad_update(p, s, g, double lr, double eps):
    """Adagrad's step in one pass: ``s += g^2; p -= lr * g / (sqrt(s) + eps)``."""
    g = _step_args("adagrad_update", p, s, None, g)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>p)
    cdef void *pp = _ptr(p)
    cdef void *sp = _ptr(s)
    cdef void *gp = _ptr(g)
    if cnp.PyArray_TYPE(<cnp.ndarray>p) == cnp.NPY_DOUBLE:
        with nogil:
            _adagrad_loop[double](<double*>pp, <double*>sp, <double*>gp, n, lr, eps)
    else:
        with nogil:
            _adagrad_loop[float](<float*>pp, <float*>sp, <float*>gp, n, lr, eps)


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
    # the gates, then c, tanh(c) and h, each a pass over the step (the transcendental
    # passes run four at a time)
    cdef Py_ssize_t k, n = af.shape[0]
    if n == 0:
        return
    _map_n(&af[0], &f[0], n, SIGMOID)
    _map_n(&ai[0], &i[0], n, SIGMOID)
    _map_n(&ao[0], &o[0], n, SIGMOID)
    _map_n(&au[0], &u[0], n, TANH)
    for k in range(n):
        if has_c0:
            c[k] = f[k] * c0[k] + i[k] * u[k]
        else:
            c[k] = i[k] * u[k]
    _map_n(&c[0], &tc[0], n, TANH)
    for k in range(n):
        h[k] = o[k] * tc[k]


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
    if c.shape[0] == 0 or n == 0:
        return
    for r in range(c.shape[0]):
        _map_n(&a[r, 0], &g[r, 0], 3 * n, SIGMOID)
        _map_n(&a[r, 3 * n], &g[r, 3 * n], n, TANH)
        for k in range(n):
            if has_c0:
                c[r, k] = g[r, k] * c0[r, k] + g[r, n + k] * g[r, 3 * n + k]
            else:
                c[r, k] = g[r, n + k] * g[r, 3 * n + k]
    _map_n(&c[0, 0], &tc[0, 0], c.shape[0] * n, TANH)
    for r in range(c.shape[0]):
        for k in range(n):
            h[r, k] = g[r, 2 * n + k] * tc[r, k]


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
