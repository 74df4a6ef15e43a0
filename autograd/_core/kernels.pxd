# Array helpers shared by the graph and the operations. They take and return NumPy arrays.
cimport numpy as cnp


# The scalar fast path's two tests, inline here so that the graph and the operations
# modules run them without a call through this module's function table (they run a few
# times an operation)

cdef inline bint is_scalar64(object a) noexcept:
    """True when ``a`` is a one-element float64 array (the scalar fast path): every
    dimension 1, read here rather than multiplied by NumPy's function for the size."""
    if not cnp.PyArray_Check(a) or cnp.PyArray_TYPE(<cnp.ndarray>a) != cnp.NPY_DOUBLE:
        return False
    cdef int k
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(<cnp.ndarray>a)
    for k in range(cnp.PyArray_NDIM(<cnp.ndarray>a)):
        if dims[k] != 1:
            return False
    return True


cdef inline cnp.npy_intp n_elements(cnp.ndarray a) noexcept:
    """``a.size``, without a call to NumPy's function for it."""
    cdef int k
    cdef cnp.npy_intp n = 1
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    for k in range(cnp.PyArray_NDIM(a)):
        n *= dims[k]
    return n


cdef inline double scalar_of(object a) noexcept:
    """The value of a one-element float64 array (checked by ``is_scalar64``)."""
    return (<double*>cnp.PyArray_DATA(<cnp.ndarray>a))[0]


cdef object scalar_like(object a, double v)
cdef object add_arrays(object a, object b)
cdef object ones_like(object a)
cdef object sum_to(object x, tuple shape)
cdef double go_pow(double x, double y) noexcept nogil
from cpython.ref cimport PyObject
cdef void recycle(PyObject *a) noexcept
cdef object tanh_array(object x)
cdef object sigmoid_array(object x)
cdef object exp_array(object x)
cdef object tanh_grad(object y, object gy)
cdef object sigmoid_grad(object y, object gy)
cdef object relu_array(object x)
cdef object empty(int nd, cnp.npy_intp *dims, int typenum)
cdef object empty_like(object a, int typenum)
cdef object matmul_arrays(object a, object b)
cdef object matmul_into(object a, object b, object out)
cdef object relu_grad(object y, object gy)


cdef double go_log(double x) noexcept nogil
cdef object log_array(object x)


cdef extern from "tanh.h" nogil:
    # Go's math.Tanh (Cephes) over libm's exp, and the sigmoid as Go writes it,
    # 0.5 + 0.5 tanh(x / 2): Go's digits (the seed's LSTM prints them), no overflow
    double tanh_scalar "ag_tanh"(double x)
    double sigmoid_scalar "ag_sigmoid"(double x)
