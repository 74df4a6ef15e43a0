# Array helpers shared by the graph and the operations. They take and return NumPy arrays.
cimport numpy as cnp

cdef bint is_scalar64(object a) noexcept
cdef double scalar_of(object a) noexcept
cdef object scalar_like(object a, double v)
cdef object add_arrays(object a, object b)
cdef object ones_like(object a)
cdef object sum_to(object x, tuple shape)
cdef double go_pow(double x, double y) noexcept nogil
from cpython.ref cimport PyObject
cdef void recycle(PyObject *a) noexcept
