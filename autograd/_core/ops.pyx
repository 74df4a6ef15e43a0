"""The built-in differentiable operations.

Each operation is a Function subclass with three faces:

* forward, on C doubles when the operands are one-element float64 arrays (the
  scalar graphs of the seed's examples), on NumPy arrays otherwise;
* ``backward_arrays``: gradients as arrays, for the ordinary backward pass;
* ``backward_vars``: gradients written with the differentiable functions below,
  for ``create_graph=True``, so every operation can be differentiated again.

Python-number operands are stored on the operation (``x + 1.0`` is one node, not
two); array operands become constant leaves whose gradients are never computed.
"""
cimport numpy as cnp
from libc.math cimport (exp as c_exp, log as c_log, sin as c_sin, cos as c_cos, sqrt as c_sqrt,
                        fabs as c_fabs, log1p as c_log1p)
from autograd._core.graph cimport (Node, Function, grad_enabled, train_enabled, new_var,
                                   as_var, as_array, link1, link2, link_all, link_outputs, wrap_const,
                                   zero_grads, register_add_fn, inputs_of,
                                   use_free_list, register_class_hook, SPARE_X0, SPARE_X1,
                                   SPARE_Y)
from autograd._core.graph import NotBatched
from autograd._core.kernels cimport (is_scalar64, scalar_of, scalar_like,
                                     sum_to as sum_to_array, go_pow, go_log, log_array, tanh_scalar, sigmoid_scalar,
                                     tanh_array, sigmoid_array, exp_array, tanh_grad, sigmoid_grad,
                                     relu_array, relu_grad, matmul_arrays, matmul_into)
from autograd._core.kernels import pow_array
from cpython.float cimport PyFloat_CheckExact
from cpython.long cimport PyLong_CheckExact, PyLong_AsDouble
import builtins
from operator import index as operator_index
import numpy as np

cnp.import_array()

cdef extern from *:
    """
    /* Set one number slot of a heap class (see _number_slots). */
    static void ag_set_slot(PyObject *cls, int which, void *fn) {
        PyNumberMethods *nb = ((PyTypeObject *)cls)->tp_as_number;
        if (nb == NULL)
            return;
        switch (which) {
            case 0: nb->nb_add = (binaryfunc)fn; break;
            case 1: nb->nb_subtract = (binaryfunc)fn; break;
            case 2: nb->nb_multiply = (binaryfunc)fn; break;
            case 3: nb->nb_true_divide = (binaryfunc)fn; break;
            case 4: nb->nb_power = (ternaryfunc)fn; break;
            case 5: nb->nb_negative = (unaryfunc)fn; break;
        }
    }
    """
    void ag_set_slot(object cls, int which, void *fn)


# ============================================================================ helpers

cdef inline bint _same_scalars(object a, object b):
    return (is_scalar64(a) and is_scalar64(b)
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == cnp.PyArray_NDIM(<cnp.ndarray>b))


cdef inline bint _record1(Node x):
    """Record a node when backprop is on and the input is not a constant."""
    return grad_enabled() and not x._const


cdef inline bint _record2(Node a, Node b):
    return grad_enabled() and not (a._const and b._const)


cdef bint _record(tuple inputs):
    """Record a node when backprop is on and some input is not a constant."""
    cdef Node x
    if not grad_enabled():
        return False
    for x in inputs:
        if not x._const:
            return True
    return False


cdef inline object _out_data(Function f):
    return (<Node>f._outs)._data


cdef inline Node _out_var(Function f):
    return <Node>f._outs


cdef tuple _shape_arg(object shape, str what):
    """A shape given as a tuple, a list, or loose ints, as a tuple of ints."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        return tuple([int(operator_index(s)) for s in shape])
    except TypeError:
        raise TypeError(f"{what}: expected a shape of ints, got {shape!r}") from None


cdef object _norm_axis(object axis, Py_ssize_t ndim, str what):
    """None, or a tuple of non-negative axes checked against ``ndim``."""
    if axis is None:
        return None
    cdef tuple axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    cdef list out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{what}: axis must be an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if a < -ndim or a >= ndim:
            raise ValueError(f"{what}: axis {a} is out of range for {ndim} dimensions")
        a = a % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{what}: axis {a} is repeated in {axis!r}")
        out.append(a)
    return tuple(out)


cdef int _one_axis(object axis, Py_ssize_t ndim, str what) except? -1:
    """One axis, checked against ``ndim``, as a non-negative int."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{what}: axis must be an int, got {axis!r}")
    return _norm_axis(axis, ndim, what)[0]


cdef tuple _keep_shape(tuple shape, object axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple([1 if i in axes else shape[i] for i in range(len(shape))])


include "elementwise.pxi"
include "shape.pxi"
include "reductions.pxi"
include "linalg.pxi"
include "losses.pxi"
include "recurrent.pxi"
include "rnn.pxi"
include "interop.pxi"
