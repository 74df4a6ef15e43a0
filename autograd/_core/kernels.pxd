# Array helpers shared by the graph and the operations. They take and return NumPy arrays.
cimport numpy as cnp
from libc.math cimport exp, fabs

cdef bint is_scalar64(object a) noexcept
cdef double scalar_of(object a) noexcept
cdef object scalar_like(object a, double v)
cdef object add_arrays(object a, object b)
cdef object ones_like(object a)
cdef object sum_to(object x, tuple shape)
cdef double go_pow(double x, double y) noexcept nogil
from cpython.ref cimport PyObject
cdef void recycle(PyObject *a) noexcept
cdef object tanh_array(object x)
cdef object sigmoid_array(object x)
cdef object tanh_grad(object y, object gy)
cdef object sigmoid_grad(object y, object gy)
cdef object relu_array(object x)
cdef object empty(int nd, cnp.npy_intp *dims, int typenum)
cdef object empty_like(object a, int typenum)
cdef object matmul_arrays(object a, object b)
cdef object relu_grad(object y, object gy)


cdef double go_log(double x) noexcept nogil
cdef object log_array(object x)


cdef inline double tanh_scalar(double x) noexcept nogil:
    # Go's math.Tanh (Cephes): a rational approximation below 0.625, 1 - 2/(e^2|x| + 1)
    # above; the same cost as libm's, and Go's digits (the seed's LSTM prints them).
    cdef double z = fabs(x)
    cdef double s
    if z > 44.014845965556525:          # 0.5 * log(2**127)
        return -1.0 if x < 0 else 1.0
    if z >= 0.625:
        s = exp(2.0 * z)
        z = 1.0 - 2.0 / (s + 1.0)
        return -z if x < 0 else z
    if x == 0:
        return x
    s = x * x
    return x + x * s * ((-9.64399179425052238628e-1 * s + -9.92877231001918586564e1) * s
                        + -1.61468768441708447952e3) / (
        ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s
        + 4.84406305325125486048e3)


cdef inline double sigmoid_scalar(double x) noexcept nogil:
    # Go's form, 0.5 + 0.5 tanh(x / 2): no overflow, and the seed's digits
    return 0.5 + 0.5 * tanh_scalar(0.5 * x)
