"""The graph: node storage, function nodes, per-thread modes and the backward walk.

A Variable (``Node``) holds its creator; a Function holds its inputs; nothing holds
outputs, so there is no reference cycle and a graph is freed by reference counting
as soon as its last output goes. The walk finds each function's outputs on the way
down and keeps them only while that function waits in the queue.
"""
cimport cython
cimport numpy as cnp
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF, Py_REFCNT
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from cpython.pythread cimport PyThread_get_thread_ident
from autograd._core.kernels cimport (add_arrays, is_scalar64, n_elements, ones_like, recycle,
                                     scalar_like, scalar_of)
import gc
import os

import numpy as np

cnp.import_array()

cdef extern from *:
    """
    /* Modes live in C thread-local storage: one flag read per operation, per thread. */
    static __thread int ag_backprop_disabled = 0;
    static __thread int ag_test_mode = 0;
    static __thread int ag_in_walk = 0;     /* inside backward() or grad() */
    static PyObject *ag_empty_tuple = NULL;
    static PyObject *ag_new_instance(PyObject *t) {
        return ((PyTypeObject *)t)->tp_new((PyTypeObject *)t, ag_empty_tuple, NULL);
    }

    /* Free lists: the memory of dead objects of a few classes made once per operation
       (the Variable class, the elementwise Functions), kept for the next object of the
       same class instead of going back to the allocator. A class takes part through
       two of its slots: tp_free keeps the memory of a dead object (untracked, reference
       count 0) and tp_alloc hands it out again, zeroed and tracked as PyType_GenericAlloc
       would; the class's tp_new then initialises it as usual. Only objects of exactly
       a registered class enter a list. List 0 is the Variable class's. */
    #define AG_FREE_MAX 512
    typedef struct { PyTypeObject *type; int n; PyObject *items[AG_FREE_MAX]; } ag_free_list;
    static ag_free_list ag_lists[4];
    static int ag_nlists = 1;

    static inline ag_free_list *ag_list_of(PyTypeObject *t) {
        int i;
        for (i = 0; i < ag_nlists; i++)
            if (ag_lists[i].type == t)
                return &ag_lists[i];
        return NULL;
    }

    /* CPython counts the container objects allocated less those freed, and runs its
       cycle collector when the count passes a threshold (gc.get_threshold()[0]). The
       objects of the free lists bypass that count (their memory never goes back), so
       the lists keep their own: objects of their classes made less objects freed. When it
       passes the threshold, ag_collect (graph.pyx's _collect_young) runs the
       collection CPython would have run, before the object is handed out; otherwise
       cycles made only of such objects (gradients of create_graph=True, which refer
       back to their inputs) would pile up uncollected. */
    static Py_ssize_t ag_young = 0;
    static Py_ssize_t ag_young_limit = 700;
    static PyObject *ag_collect = NULL;

    static void ag_young_check(void) {
        PyObject *r;
        ag_young = 0;
        if (ag_collect == NULL || PyErr_Occurred())
            return;
        r = PyObject_CallNoArgs(ag_collect);   /* returns the new limit */
        if (r == NULL) {
            PyErr_WriteUnraisable(ag_collect);
            return;
        }
        ag_young_limit = PyLong_AsSsize_t(r);
        if (ag_young_limit <= 0) {
            PyErr_Clear();
            ag_young_limit = 700;
        }
        Py_DECREF(r);
    }

    static PyObject *ag_pooled_alloc(PyTypeObject *t, Py_ssize_t nitems) {
        ag_free_list *l = nitems == 0 ? ag_list_of(t) : NULL;
        /* past the threshold, and the collector on (a create_graph walk pauses it: the
           count then stays past the threshold until the walk is over) */
        if (++ag_young > ag_young_limit && PyGC_IsEnabled())
            ag_young_check();               /* may free objects into the lists */
        if (l != NULL && l->n > 0) {
            PyObject *o = l->items[--l->n];
            memset((char *)o + sizeof(PyObject), 0, (size_t)t->tp_basicsize - sizeof(PyObject));
            _Py_NewReference(o);
            if (t->tp_flags & Py_TPFLAGS_HEAPTYPE)
                Py_INCREF(t);           /* instances of a heap type own a reference to it */
            PyObject_GC_Track(o);
            return o;
        }
        return PyType_GenericAlloc(t, nitems);
    }

    static void ag_pooled_free(void *p) {
        PyObject *o = (PyObject *)p;
        ag_free_list *l = ag_list_of(Py_TYPE(o));
        if (ag_young > 0)
            ag_young--;
        /* not an object whose finalizer ran (a __del__ given to the class after import):
           CPython marks it finalized in its collector header, which a reused object would
           keep, and its finalizer would not run again */
        if (l != NULL && l->n < AG_FREE_MAX && Py_TYPE(o)->tp_finalize == NULL) {
            l->items[l->n++] = o;
            return;
        }
        PyObject_GC_Del(p);
    }

    static void ag_flush(ag_free_list *l) {
        while (l->n > 0)
            PyObject_GC_Del(l->items[--l->n]);
    }

    /* A static class of this module's (a Function) joins the free lists. */
    static int ag_use_free_list(PyObject *cls) {
        PyTypeObject *t = (PyTypeObject *)cls;
        if (ag_list_of(t) != NULL)
            return 0;
        if (ag_nlists == 4 || !(t->tp_flags & Py_TPFLAGS_HAVE_GC)
                || t->tp_alloc != PyType_GenericAlloc || t->tp_free != PyObject_GC_Del)
            return -1;
        ag_lists[ag_nlists].type = t;
        ag_lists[ag_nlists].n = 0;
        ag_nlists++;
        t->tp_alloc = ag_pooled_alloc;
        t->tp_free = ag_pooled_free;
        return 0;
    }

    /* The Variable class is a Python subclass of Node, so a heap type: CPython frees its
       objects through subtype_dealloc, a general path. A class that adds no storage of
       its own (no __dict__, no __weakref__, no slots, no __del__) needs no more than
       Node's deallocator plus what subtype_dealloc adds for it: the trashcan (deep
       chains) and the reference to the type. A subclass of it keeps subtype_dealloc,
       which calls this one as its base's. */
    static destructor ag_node_dealloc = NULL;

    static void ag_var_dealloc(PyObject *o) {
        PyTypeObject *t = Py_TYPE(o);
        PyObject_GC_UnTrack(o);
        Py_TRASHCAN_BEGIN(o, ag_var_dealloc)
        if (t->tp_finalize != NULL) {   /* a __del__ given to the class after import */
            PyObject_GC_Track(o);
            if (PyObject_CallFinalizerFromDealloc(o) < 0)
                goto done;              /* resurrected */
            PyObject_GC_UnTrack(o);
        }
        ag_node_dealloc(o);             /* clears the fields, then t->tp_free */
        Py_DECREF(t);
      done:;
        Py_TRASHCAN_END
    }

    /* Make `cls` the class of list 0 (NULL: no class). */
    static void ag_var_free_list_for(PyObject *cls, PyObject *node) {
        PyTypeObject *t = (PyTypeObject *)cls;
        ag_flush(&ag_lists[0]);
        ag_lists[0].type = t;
        if (t != NULL) {
            ag_node_dealloc = ((PyTypeObject *)node)->tp_dealloc;
            t->tp_dealloc = ag_var_dealloc;
            t->tp_free = ag_pooled_free;
            t->tp_alloc = ag_pooled_alloc;
        }
    }

    static int ag_free_count(PyObject *cls) {
        ag_free_list *l = ag_list_of((PyTypeObject *)cls);
        return l == NULL ? -1 : l->n;
    }
    """
    int ag_backprop_disabled
    int ag_test_mode
    int ag_in_walk
    PyObject *ag_empty_tuple
    object ag_new_instance(object t)
    void ag_var_free_list_for(PyObject *t, PyObject *node)
    int ag_use_free_list(PyObject *cls)
    int ag_free_count(PyObject *cls)
    PyObject *ag_collect

cdef extern from "Python.h":
    # the cyclic collector's switch (Python >= 3.10); each returns the previous state
    int PyGC_Enable()
    int PyGC_Disable()


cdef tuple _EMPTY = ()
ag_empty_tuple = <PyObject *>_EMPTY


def _collect_young():
    """Called by the free lists (ag_young_check) when they have handed out more objects
    than they took back, by the collector's first threshold: collect the generations
    CPython would collect at that point, then return the threshold to count to next."""
    thresholds = gc.get_threshold()
    if gc.isenabled() and thresholds[0] > 0:
        counts = gc.get_count()
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        gc.collect(generation)
    return thresholds[0] if thresholds[0] > 0 else 700


ag_collect = <PyObject *>_collect_young   # a module global keeps it alive


# ---------------------------------------------------------------------------- the C allocator
#
# A graph's arrays are freed together when its last output goes (after each backward
# walk of a training loop), and allocated again by the next forward pass. glibc's
# malloc returns the top of its heap to the system once more than M_TRIM_THRESHOLD
# (128 KiB at first) is free there, and serves blocks over M_MMAP_THRESHOLD (128 KiB)
# with their own mmap: every step then maps, faults in and zeroes its pages again (the
# seed LSTM's epoch 15.2 ms instead of 11.7). glibc raises both thresholds by itself
# once the program frees a large mmapped block (up to 32 MiB and 64 MiB), which
# importing PyTorch, for one, happens to do; autograd sets those same ceilings at
# import, unless the user chose the policy with glibc's own variables.

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int ag_keep_freed_memory(void) {
        return mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
            && mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    }
    #else
    static int ag_keep_freed_memory(void) { return 0; }
    #endif
    """
    int ag_keep_freed_memory()


cdef bint _user_malloc_policy():
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return "malloc" in tunables or any(
        name in os.environ
        for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                     "MALLOC_MMAP_MAX_"))


MALLOC_TUNED = False if _user_malloc_policy() else bool(ag_keep_freed_memory())

cdef object VarType = None      # the Python Variable class, registered by variable.py


# ---------------------------------------------------------------------------- modes

cdef bint grad_enabled() noexcept nogil:
    return ag_backprop_disabled == 0


cdef bint train_enabled() noexcept nogil:
    return ag_test_mode == 0


def set_enable_backprop(bint enabled):
    """Set this thread's backprop mode; return the previous value."""
    global ag_backprop_disabled
    cdef bint previous = ag_backprop_disabled == 0
    ag_backprop_disabled = 0 if enabled else 1
    return previous


def set_train(bint train):
    """Set this thread's training mode; return the previous value."""
    global ag_test_mode
    cdef bint previous = ag_test_mode == 0
    ag_test_mode = 0 if train else 1
    return previous


def is_backprop_enabled():
    return ag_backprop_disabled == 0


def is_train():
    return ag_test_mode == 0


def register_variable_class(cls):
    """Make ``cls`` (a subclass of Node) the type of every variable the core creates."""
    global VarType
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise TypeError(f"expected a subclass of Node, got {cls!r}")
    VarType = cls
    # The free list (see ag_var_alloc) for a direct subclass that adds no storage of its
    # own (no __dict__, no __weakref__, no slots, no __del__): its instances are exactly
    # Nodes, and Node's deallocator is all they need.
    plain = (cls.__base__ is Node and cls.__basicsize__ == Node.__basicsize__
             and cls.__dictoffset__ == 0 and cls.__weakrefoffset__ == 0
             and not hasattr(cls, "__del__"))
    ag_var_free_list_for(<PyObject *>cls if plain else NULL, <PyObject *>Node)
    if _class_hook != NULL and isinstance(cls, type) and cls.__flags__ & (1 << 9):  # heap type
        _class_hook(cls)


# What the operations module does to the registered class (its number slots); it
# registers this at import, as the differentiable addition below.
cdef class_hook _class_hook = NULL


cdef void register_class_hook(class_hook fn) noexcept:
    global _class_hook
    _class_hook = fn


cdef int use_free_list(type cls) except -1:
    """Keep the memory of dead objects of exactly ``cls`` (a compiled Function class of
    the library's, made once per operation) for the next ones."""
    if ag_use_free_list(<PyObject *>cls) < 0:
        raise SystemError(f"no free list for {cls.__name__}")
    return 0


def _free_count(cls):
    """Testing only: how many dead objects of ``cls`` its free list holds (-1: none)."""
    return ag_free_count(<PyObject *>cls)


# ---------------------------------------------------------------------------- conversions

cdef object as_array(object x, str what):
    """``x`` as a plain, native-byte-order float32 or float64 ndarray; ints and bools
    become float64. The one place where arrays enter the graph: subclasses are read as
    plain arrays (``np.matrix`` would make ``*`` a matrix product), other byte orders are
    converted (the compiled paths read native doubles), masked arrays are refused."""
    cdef int t
    if cnp.PyArray_CheckExact(x):
        t = cnp.PyArray_TYPE(<cnp.ndarray>x)
        if (t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT) and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x):
            return x
        kind = x.dtype.kind
        if kind == "f" and (t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT):
            return x.astype(x.dtype.newbyteorder("="))
        if kind in "biuf":
            return x.astype(np.float64)
        raise TypeError(f"{what}: expected a real numeric array, got an array of dtype {x.dtype}")
    if isinstance(x, Node):
        return (<Node>x)._data
    if isinstance(x, (float, int)):      # bool is an int
        try:
            return np.array(x, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{what}: the number {x} is too large for float64") from None
    if cnp.PyArray_Check(x):
        if isinstance(x, np.ma.MaskedArray):
            raise TypeError(f"{what}: masked arrays are not supported; use np.ma.filled(a, value) "
                            f"or a.data with an explicit mask")
        return as_array(np.asarray(x), what)
    if isinstance(x, np.generic):
        return as_array(np.asarray(x), what)
    if x is None:
        raise TypeError(f"{what}: expected a Variable, an array or a number, got None")
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except ValueError as e:
            raise ValueError(f"{what}: the nested sequence is not rectangular: {e}") from None
        except OverflowError:
            raise ValueError(f"{what}: a number in the sequence is too large for float64") from None
        if arr.dtype.kind in "biuf":
            return as_array(arr, what)
        raise TypeError(f"{what}: expected numbers, got a sequence of dtype {arr.dtype}")
    raise TypeError(f"{what}: expected a Variable, an array or a number, got {type(x).__name__}")


cdef Node new_var(object data):
    """A new Variable around ``data`` (already a float ndarray), made by the library.
    It requires no gradient until an operation links it into the graph as an output
    (``link*``): a result computed with no graph is a constant, never a leaf that
    backward would give a gradient to (and so never the start of a reference cycle)."""
    cdef Node v = <Node>ag_new_instance(VarType)
    v._data = data
    v._const = True
    # made outside a walk without being linked: under no_grad(), or from constants only;
    # backward() on it is an error. Made by a walk: a gradient, constant at this order.
    v._off = ag_in_walk == 0
    return v


cdef Node wrap_const(object arr):
    """A leaf Variable for an array operand: gradients are not kept for it."""
    cdef Node v = new_var(arr)
    v._const = True
    return v


cdef Node as_var(object x):
    if type(x) is VarType or isinstance(x, Node):
        return <Node>x
    return wrap_const(as_array(x, "operand"))


cdef inline void _behind(Node x):
    # the function that made x, now that x is used: see _release_behind
    if x._creator is not None and x._creator._spare & (SPARE_X0 | SPARE_X1):
        _release_behind(x._creator)


cdef Node link1(Function f, Node y, Node x0):
    """Record ``y = f(x0)`` in the graph."""
    _behind(x0)
    f._x0 = x0
    f._v0 = x0._version
    f._n_in = 1
    f._generation = x0._generation
    f._n_out = 1
    y._creator = f
    y._const = False
    y._generation = x0._generation + 1
    return y


cdef Node link2(Function f, Node y, Node x0, Node x1):
    """Record ``y = f(x0, x1)`` in the graph."""
    cdef Py_ssize_t gen = x0._generation
    if x1._generation > gen:
        gen = x1._generation
    _behind(x0)
    _behind(x1)
    f._x0 = x0
    f._x1 = x1
    f._v0 = x0._version
    f._v1 = x1._version
    f._n_in = 2
    f._generation = gen
    f._n_out = 1
    y._creator = f
    y._const = False
    y._generation = gen + 1
    return y


cdef Node link_all(Function f, Node y, tuple inputs):
    """Record ``y = f(*inputs)`` in the graph, any number of inputs."""
    _set_inputs(f, inputs)
    f._n_out = 1
    y._creator = f
    y._const = False
    y._generation = f._generation + 1
    return y


cdef int link_outputs(Function f, list ys, tuple inputs) except -1:
    """Record ``ys = f(*inputs)`` in the graph, for a function of several outputs."""
    cdef Node y
    cdef Py_ssize_t i
    _set_inputs(f, inputs)
    f._n_out = len(ys)
    for i in range(f._n_out):
        y = <Node>ys[i]
        y._creator = f
        y._const = False
        y._generation = f._generation + 1
        y._index = <int>i
    if f._n_out > 1:
        f._out_specs = [((<Node>y)._data.shape, (<Node>y)._data.dtype) for y in ys]
    return 0


cdef int _set_inputs(Function f, tuple inputs) except -1:
    cdef Py_ssize_t gen = 0
    cdef Node x
    for x in inputs:
        if x._generation > gen:
            gen = x._generation
        _behind(x)
    f._n_in = len(inputs)
    f._x0 = inputs[0] if f._n_in > 0 else None
    f._x1 = inputs[1] if f._n_in > 1 else None
    f._more = inputs[2:] if f._n_in > 2 else None
    f._v0 = f._x0._version if f._x0 is not None else 0
    f._v1 = f._x1._version if f._x1 is not None else 0
    f._vmore = tuple([x._version for x in f._more]) if f._more is not None else None
    f._generation = gen
    return 0


cdef inline Node _input(Function f, int i):
    if i == 0:
        return f._x0
    if i == 1:
        return f._x1
    return <Node>f._more[i - 2]


cdef tuple inputs_of(Function f):
    if f._n_in == 0:
        return ()
    if f._n_in == 1:
        return (f._x0,)
    if f._n_in == 2:
        return (f._x0, f._x1)
    return (f._x0, f._x1) + f._more


# ---------------------------------------------------------------------------- Node

# The trashcan turns deep deallocation (a chain of 200,000 operations) into a loop;
# on Node alone it bounds the depth, since every other level of a chain is a Node.
@cython.trashcan(True)
cdef class Node:
    """Storage of a graph node. Users see its subclass ``autograd.Variable``."""

    def __dealloc__(self):
        recycle(<PyObject *>self._data)

    def __copy__(self):
        # copy.copy of an operation's output would share its creator, whose record holds
        # one output: a walk through both would count one of them only (pickle and
        # deepcopy refuse it when they reach the creator's record)
        if self._creator is not None:
            raise TypeError(
                "a Variable made by an operation does not copy (the copy would share its "
                "place in the graph, and gradients through both would be wrong); copy its "
                "detach() or its data instead")
        make, args, state = self.__reduce_ex__(4)[:3]
        other = make(*args)
        other.__setstate__(state)
        return other

    def __init__(self, data, name=None, requires_grad=True):
        self._data = as_array(data, "Variable data")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Variable name: expected a str, got {type(name).__name__}")
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Variable requires_grad: expected a bool, got "
                            f"{type(requires_grad).__name__}")
        self._name = name
        self._user = True
        self._const = not requires_grad

    @property
    def requires_grad(self):
        """Whether backward gives this variable a gradient. A variable made by the user
        requires one unless made with ``requires_grad=False``; a result requires one when
        some input of its operation does; a constant or a result computed under
        ``no_grad()`` does not. Settable on leaves (variables without a creator)."""
        return not self._const

    @requires_grad.setter
    def requires_grad(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"requires_grad: expected a bool, got {type(value).__name__}")
        if self._creator is not None:
            raise RuntimeError("requires_grad can only be set on a leaf (a variable without a "
                               "creator); use detach() for a copy that requires no gradient")
        self._const = not value

    @property
    def is_leaf(self):
        """True for a variable without a creator."""
        return self._creator is None or self._creator._cut

    def detach(self):
        """A new leaf sharing ``data``, with no creator and ``requires_grad=False``."""
        cdef Node v = new_var(self._data)
        v._off = True
        return v

    @property
    def data(self):
        """The value, a NumPy array (float64, or float32 when given float32)."""
        return self._data

    @data.setter
    def data(self, value):
        self._data = as_array(value, "Variable.data")
        self._released = False
        self._version += 1          # a graph that used the old value can no longer backward

    @property
    def grad(self):
        """The gradient, a Variable, or None before backward and after ``cleargrad()``."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is None or isinstance(value, Node):
            self._grad = value
        else:
            self._grad = new_var(as_array(value, "Variable.grad"))

    @property
    def creator(self):
        """The Function that made this variable, None for a leaf (or once cut off)."""
        if self._creator is None or self._creator._cut:
            return None
        return self._creator

    @property
    def generation(self):
        """Depth in the graph: a leaf is 0, an output is one more than its creator's inputs."""
        return self._generation

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"Variable name: expected a str or None, got {type(value).__name__}")
        self._name = value

    def cleargrad(self):
        """Forget the gradient (set ``grad`` to None)."""
        self._grad = None

    def unchain(self):
        """Cut the link to the creator: backward stops at this variable."""
        self._creator = None

    def unchain_backward(self):
        """Cut every creator link behind this variable (the variable keeps its own)."""
        cdef list stack
        cdef Function f
        cdef Node x
        if self._creator is None:
            return
        stack = [self._creator]
        while stack:
            f = stack.pop()
            for x in inputs_of(f):
                if x._creator is not None:
                    # a function of several outputs may be reached again through
                    # another: marking it cut makes every one of its outputs a leaf
                    if not x._creator._cut:
                        x._creator._cut = True
                        stack.append(x._creator)
                    x._creator = None

    def backward(self, create_graph=False, retain_grad=False):
        """Fill ``.grad`` of every variable this one depends on.

        The output's own gradient starts as ones when it has none. Gradients
        accumulate by addition. Without ``retain_grad`` the gradients of
        intermediate variables are cleared once used; with ``create_graph`` the
        backward pass is itself recorded, so gradients can be differentiated again.
        """
        _backward(self, bool(create_graph), bool(retain_grad))


# ---------------------------------------------------------------------------- Function

cdef class Function:
    """A node of the graph that made some variables from others.

    Subclass it for an operation of your own: ``forward(self, *xs)`` takes and
    returns NumPy arrays, ``backward(self, *gys)`` takes and returns Variables,
    written with differentiable functions so that it can be differentiated again.
    ``self.inputs`` holds the input Variables; ``self.outputs`` the outputs while
    backward runs.
    """

    @property
    def inputs(self):
        """The input Variables, a tuple."""
        return inputs_of(self)

    @property
    def outputs(self):
        """The outputs, available while this function's backward runs (None otherwise)."""
        if self._outs is None:
            return None
        if self._n_out == 1:
            return (self._outs,)
        return tuple(self._outs)

    @property
    def generation(self):
        return self._generation

    @property
    def name(self):
        """The operation's name, as the graph exporter labels it."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} generation={self._generation}>"

    def __reduce__(self):
        # refused when pickled, not when loaded: a record of an operation holds arrays and
        # Variables by position, which a copy could not rejoin to its graph
        raise TypeError(
            f"a {self.name} record (an operation of a graph) does not pickle or copy; "
            "pickle the Variable's detach() or its data instead"
        )

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not written")

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__}.backward is not written")

    def __call__(self, *inputs):
        cdef tuple xs = tuple([as_var(x) for x in inputs])
        cdef Node x
        cdef bint record = grad_enabled()
        if record:
            record = False
            for x in xs:
                if not x._const:
                    record = True
                    break
        if record and self._n_in:
            raise RuntimeError(
                f"this {type(self).__name__} instance is already part of a graph; "
                f"create a new instance for each call")
        ys = self.forward(*[x._data for x in xs])
        if not isinstance(ys, tuple):
            ys = (ys,)
        cdef list outs = [new_var(as_array(a, f"{type(self).__name__}.forward result")) for a in ys]
        if record:
            link_outputs(self, outs, xs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    cdef object backward_vars(self, object gy):
        cdef tuple gys
        cdef tuple xs = inputs_of(self)
        if self._n_out == 1:
            gys = (gy,)
        else:
            gys = tuple(zero_grads(self, gy, True))
        gxs = self.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,) if not isinstance(gxs, list) else tuple(gxs)
        if len(gxs) != len(xs):
            raise ValueError(f"{self.name}.backward returned {len(gxs)} gradients "
                             f"for {len(xs)} inputs")
        cdef list out = []
        cdef Node x
        for gx, x in zip(gxs, xs):
            if gx is None:
                out.append(None)
                continue
            if not isinstance(gx, Node):     # an array: a constant of the new graph
                gx = wrap_const(as_array(gx, f"{self.name}.backward result"))
            if (<Node>gx)._data.shape != x._data.shape:
                raise ValueError(f"{self.name}.backward returned a gradient of shape "
                                 f"{(<Node>gx)._data.shape} for an input of shape {x._data.shape}")
            out.append(gx)
        return out[0] if len(out) == 1 else tuple(out)

    cdef object backward_batched(self, object gy):
        raise NotBatched(type(self).__name__)

    cdef bint release_output(self, Node y) except -1:
        return (self._spare & SPARE_Y) != 0

    cdef int backward_scalars(self, double gy, double *gxs) except -2:
        return -1

    cdef object backward_arrays(self, object gy):
        if self._n_out == 1:
            gv = new_var(gy)
        else:
            gv = [new_var(g) if g is not None else None for g in gy]
        gxs = self.backward_vars(gv)
        if self._n_in == 1:
            return None if gxs is None else (<Node>gxs)._data
        return tuple([None if g is None else (<Node>g)._data for g in gxs])


cdef list zero_grads(Function f, list gys, bint as_variables):
    """The output gradients of a multi-output function, zeros for outputs the walk did not reach."""
    cdef list out = []
    for g, (shape, dtype) in zip(gys, f._out_specs):
        if g is None:
            g = np.zeros(shape, dtype=dtype)
            if as_variables:
                g = new_var(g)
        out.append(g)
    return out


# ---------------------------------------------------------------------------- the walk

cdef struct Entry:
    Py_ssize_t gen
    Py_ssize_t seq
    PyObject *f


cdef inline bint _above(Entry *a, Entry *b) noexcept nogil:
    # Higher generation first; among equals, the one queued last (as the seed's walk).
    return a.gen > b.gen or (a.gen == b.gen and a.seq > b.seq)


DEF HEAP_FIRST = 16

cdef struct Heap:
    Entry *items                # `first` until the queue outgrows it, then the C heap's
    Py_ssize_t n
    Py_ssize_t cap
    Entry first[HEAP_FIRST]     # a short walk's queue, with no allocation


cdef inline void _heap_init(Heap *h) noexcept:
    h.items = h.first
    h.n = 0
    h.cap = HEAP_FIRST


cdef inline void _heap_free(Heap *h) noexcept:
    if h.items != h.first:
        free(h.items)


# Fault injection for the tests: the heap refuses to grow past this many entries,
# as if memory had run out (-1: no limit).
cdef Py_ssize_t _heap_limit = -1


def _set_heap_limit(Py_ssize_t n):
    """Testing only: make the backward queue fail to grow past ``n`` entries (-1: never)."""
    global _heap_limit
    _heap_limit = n


cdef int _push(Heap *h, Function f, Py_ssize_t seq) except -1:
    cdef Py_ssize_t i, parent, cap
    cdef Entry e, tmp
    cdef Entry *grown
    if h.n == h.cap:
        cap = h.cap * 2
        grown = NULL
        if _heap_limit < 0 or cap <= _heap_limit:
            if h.items == h.first:
                grown = <Entry *>malloc(cap * sizeof(Entry))
                if grown != NULL:
                    memcpy(grown, h.first, h.n * sizeof(Entry))
            else:
                grown = <Entry *>realloc(h.items, cap * sizeof(Entry))
        if grown == NULL:          # the old block is still valid and still owned by h
            raise MemoryError("backward: out of memory for the queue of functions")
        h.items = grown
        h.cap = cap
    Py_INCREF(f)
    e.gen = f._generation
    e.seq = seq
    e.f = <PyObject *>f
    i = h.n
    h.n += 1
    h.items[i] = e
    while i > 0:
        parent = (i - 1) >> 1
        if not _above(&h.items[i], &h.items[parent]):
            break
        tmp = h.items[i]; h.items[i] = h.items[parent]; h.items[parent] = tmp
        i = parent
    return 0


cdef PyObject *_pop(Heap *h) noexcept:
    """Remove the top entry; the caller owns the reference returned."""
    cdef PyObject *top = h.items[0].f
    cdef Py_ssize_t i = 0, child, n
    cdef Entry tmp
    h.n -= 1
    n = h.n
    h.items[0] = h.items[n]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _above(&h.items[child + 1], &h.items[child]):
            child += 1
        if not _above(&h.items[child], &h.items[i]):
            break
        tmp = h.items[i]; h.items[i] = h.items[child]; h.items[child] = tmp
        i = child
    return top


# ---------------------------------------------------------------------------- walks and threads
#
# A walk keeps its state on the nodes it visits (_g, _walk) and on the queued functions
# (_outs, _walk), which is what makes it cheap. Two walks must therefore never run
# interleaved: walks are serialised by one process-wide lock, re-entrant for the thread
# that holds it, so that a Function whose backward itself calls backward() works; such
# a nested walk saves the fields it overwrites and restores them when it ends, so the
# outer walk continues as if nothing had happened. Walks on independent graphs in
# different threads run one after another; the arithmetic inside them (NumPy, BLAS)
# still releases the GIL.

cdef extern from *:
    """
    #include <pthread.h>
    /* The walk lock: a plain mutex (CPython 3.11's own lock reads the clock on every
       acquisition, even one that does not wait). */
    static pthread_mutex_t ag_walk_lock = PTHREAD_MUTEX_INITIALIZER;
    static int ag_walk_trylock(void) { return pthread_mutex_trylock(&ag_walk_lock) == 0; }
    static void ag_walk_lock_wait(void) { pthread_mutex_lock(&ag_walk_lock); }
    static void ag_walk_unlock(void) { pthread_mutex_unlock(&ag_walk_lock); }
    static void ag_walk_lock_reset(void) {
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        ag_walk_lock = fresh;
    }
    """
    int ag_walk_trylock() noexcept nogil
    void ag_walk_lock_wait() noexcept nogil
    void ag_walk_unlock() noexcept nogil
    void ag_walk_lock_reset() noexcept nogil

cdef long _owner = 0            # thread holding the walk lock (valid while _depth > 0)
cdef int _depth = 0             # walks of that thread in progress (nesting)
cdef Py_ssize_t _walk_counter = 0


cdef int _enter() except -1:
    global _owner, _depth
    cdef long me = PyThread_get_thread_ident()
    if _depth > 0 and _owner == me:
        _depth += 1
        return 0
    if not ag_walk_trylock():
        with nogil:
            ag_walk_lock_wait()
    _owner = me
    _depth = 1
    return 0


cdef void _leave() noexcept:
    global _owner, _depth
    _depth -= 1
    if _depth == 0:
        _owner = 0
        ag_walk_unlock()


def _after_fork_in_child():
    # a fork taken while another thread walked would copy a held lock
    global _owner, _depth
    ag_walk_lock_reset()
    _owner = 0
    _depth = 0


os.register_at_fork(after_in_child=_after_fork_in_child)


cdef inline object _grad_in(Node o, Py_ssize_t walk):
    if o._walk != walk:
        return None
    if o._gd:
        _as_array(o)
    return o._g


# ---------------------------------------------------------------------------- One-element gradients as C doubles
#
# A backward walk without a graph, from a one-element float64 output, carries each
# gradient that stays one float64 element as a C double (Node._gs, flagged by _gd)
# instead of a one-element array: the elementwise operations give their inputs'
# gradients on doubles (Function.backward_scalars), and the sums are C additions. The
# arithmetic is that of their array forms' one-element path, so the gradients are the
# same to the last bit. A gradient becomes an array (_as_array) where something needs
# one: a function without that form, a sum with an array gathered before, a nested
# walk saving the node, and the leaves and retained outputs at the end.

cdef inline void _as_array(Node o):
    # of the shape the data had when the gradient was made: a backward that assigns
    # another .data meanwhile does not change it (as on the array walk)
    if is_scalar64(o._data) and cnp.PyArray_NDIM(<cnp.ndarray>o._data) == o._gnd:
        o._g = scalar_like(o._data, o._gs)
    else:
        o._g = np.full((1,) * o._gnd, o._gs)
    o._gd = False


cdef inline void _set_double(Node x, double g):
    x._g = None
    x._gs = g
    x._gd = True
    x._gnd = cnp.PyArray_NDIM(<cnp.ndarray>x._data)


cdef Py_ssize_t _accumulate_scalar(Node x, double g, Py_ssize_t walk, list leaves, Heap *heap,
                                   Py_ssize_t seq) except -1:
    """_accumulate for a gradient carried as a double (a walk with no ``saved``)."""
    if x._const:
        return seq
    cdef bint first = x._walk != walk
    if first:
        x._walk = walk
        _set_double(x, g)
    elif x._gd and cnp.PyArray_NDIM(<cnp.ndarray>x._data) == x._gnd:
        x._gs = x._gs + g
    else:                           # an array gathered before (or data of another shape since)
        if x._gd:
            _as_array(x)
        _add_into(x, scalar_like(x._data, g))
    return _queue_creator(x, first, walk, leaves, heap, seq, None)


cdef inline void _save_node(list saved, Node x):
    # nested walks only: remember what the outer walk keeps on x
    if x._gd:
        _as_array(x)
    saved.append((x, x._walk, x._g))


cdef inline void _save_function(list saved, Function f):
    saved.append((f, f._walk, f._outs))


cdef void _restore(list saved) noexcept:
    cdef Py_ssize_t i
    for i in range(len(saved) - 1, -1, -1):
        item = saved[i]
        owner = item[0]
        if len(<tuple>item) == 2:           # a grad() walk's mark on one of its inputs
            (<Node>owner)._target = item[1]
        elif len(<tuple>item) == 4:         # a grad() walk's mark on a function
            (<Function>owner)._mark = item[1]
            (<Function>owner)._leads = item[2]
        elif isinstance(owner, Node):
            (<Node>owner)._walk = item[1]
            (<Node>owner)._g = item[2]
        else:
            (<Function>owner)._walk = item[1]
            (<Function>owner)._outs = item[2]


cdef void _set_out(Function f, Node x, Py_ssize_t walk):
    """Remember, for the walk, that ``x`` is an output of ``f``."""
    if f._n_out == 1:
        f._outs = x
    else:
        if f._walk != walk or f._outs is None:
            f._outs = [None] * f._n_out
        f._outs[x._index] = x


cdef int _missing_outputs(Function f) except -1:
    raise RuntimeError(f"backward: the graph changed while it was walked ({f.name} lost "
                       f"its outputs); walk a graph from one place at a time")


cdef object _output_grads(Function f, Py_ssize_t walk):
    """What the walk has gathered for ``f``'s outputs: one gradient, or a list of them
    (None for an output the walk did not reach)."""
    if f._outs is None:
        _missing_outputs(f)
    if f._n_out == 1:
        return _grad_in(<Node>f._outs, walk)
    return [None if item is None else _grad_in(<Node>item, walk) for item in f._outs]


cdef _backward(Node y, bint create_graph, bint retain_grad):
    global ag_backprop_disabled, ag_in_walk
    cdef object seed = y._grad
    if seed is not None and (<Node>seed)._data.shape != y._data.shape:
        raise ValueError(f"backward: the gradient set on the output has shape "
                         f"{(<Node>seed)._data.shape}, the output has shape {y._data.shape}")
    if seed is not None and (<Node>seed)._data.dtype != y._data.dtype:
        # gradients keep their variable's dtype: a float32 seed for a float64 output
        seed = wrap_const((<Node>seed)._data.astype(y._data.dtype))
        y._grad = seed
    if y._creator is None or y._creator._cut:
        if y._const:
            if y._user:         # a leaf made with requires_grad=False: no gradient
                return
            if y._off:
                raise RuntimeError(
                    "backward: this variable has no graph to walk back: it was computed "
                    "under no_grad(), from inputs that all have requires_grad=False, or it "
                    "is a detach()ed copy, so nothing was recorded; compute it with backprop "
                    "enabled from variables that require grad")
            # else a gradient made by backward that depends on nothing (the derivative of
            # a linear function): as in the seed, its own gradient is the seed and nothing
            # else changes
        if seed is None:
            seed = new_var(ones_like(y._data))
            (<Node>seed)._off = False
            y._grad = seed
        return
    cdef int in_walk = ag_in_walk
    cdef int collector = 0
    if create_graph:
        # A create_graph walk makes a whole new graph, which holds no cycle: the cyclic
        # collector would only traverse it, again and again as it grows (on the graphs of
        # higher derivatives, most of the time). It is paused for the walk; the objects
        # made are looked at once, at the next collection after it.
        collector = PyGC_Disable()
    ag_in_walk = 1
    _enter()
    try:
        _walk(y, seed, create_graph, retain_grad, None if _depth == 1 else [])
    finally:
        _leave()
        ag_in_walk = in_walk
        if collector:
            PyGC_Enable()


cdef _walk(Node y, object seed, bint create_graph, bint retain_grad, list saved):
    """The walk itself, under the walk lock. ``saved`` is a list when this walk runs
    inside another one (it then restores what it overwrites), else None.

    Nothing a user can see changes before the walk has succeeded: gradients are
    gathered in the walk's own fields (_g) and written to ``.grad`` at the end."""
    global _walk_counter, ag_backprop_disabled
    cdef Heap heap
    cdef Function f
    cdef Node o
    cdef PyObject *raw
    cdef Py_ssize_t walk, i
    cdef Py_ssize_t seq = 0
    cdef list leaves = []           # leaves reached: their gradients are written at the end
    cdef list done = []             # finished outputs whose .grad changes at the end
    cdef int saved_mode = ag_backprop_disabled
    cdef bint ok = False
    cdef list spare = None          # inputs whose data their backward does not read
    cdef bint releasing = saved is None and not create_graph
    cdef double gs[2]               # a function's inputs' gradients as doubles
    cdef int wrote
    cdef bint doubles

    _walk_counter += 1
    walk = _walk_counter
    _heap_init(&heap)
    f = y._creator
    if saved is not None:
        _save_node(saved, y)
        _save_function(saved, f)
    y._walk = walk
    if seed is None and not create_graph and saved is None and is_scalar64(y._data):
        _set_double(y, 1.0)         # a one, carried as a double
    elif seed is None:
        # the seed sets the output's grad to ones; the ones are a constant of the library
        y._g = wrap_const(ones_like(y._data)) if create_graph else ones_like(y._data)
        y._gd = False
    else:
        y._g = seed if create_graph else (<Node>seed)._data
        y._gd = False
    # as PyTorch: a create_graph walk records its graph even under no_grad()
    ag_backprop_disabled = 0 if create_graph else 1
    try:
        _push(&heap, f, seq)
        f._walk = walk
        f._outs = None
        _set_out(f, y, walk)
        while heap.n > 0:
            raw = _pop(&heap)
            f = <Function>raw
            Py_DECREF(f)          # `f` holds its own reference now
            # its one output's gradient carried as a double?
            doubles = f._n_out == 1 and f._outs is not None and (<Node>f._outs)._gd
            wrote = -1
            if not doubles:
                gy = _output_grads(f, walk)
            try:
                _check_versions(f)
                if doubles:
                    wrote = (f.backward_scalars((<Node>f._outs)._gs, gs) if f._n_in <= 2
                             else -1)
                    if wrote < 0:
                        gy = _output_grads(f, walk)
                if wrote >= 0:
                    gxs = None
                    if wrote & 1:
                        seq = _accumulate_scalar(f._x0, gs[0], walk, leaves, &heap, seq)
                    if wrote & 2:
                        seq = _accumulate_scalar(f._x1, gs[1], walk, leaves, &heap, seq)
                else:
                    gxs = f.backward_vars(gy) if create_graph else f.backward_arrays(gy)
                    if f._n_in == 1:
                        if gxs is not None:
                            seq = _accumulate(f._x0, gxs, walk, create_graph, leaves, &heap,
                                              seq, saved)
                    else:
                        for i in range(f._n_in):
                            gx = (<tuple>gxs)[i]
                            if gx is not None:
                                seq = _accumulate(_input(f, i), gx, walk, create_graph, leaves,
                                                  &heap, seq, saved)
            except BaseException as e:
                _annotate(e, f)
                _drop_outputs(f)
                raise
            if releasing and wrote < 0 and f._spare & (SPARE_X0 | SPARE_X1):
                spare = _note_spare(f, spare)
            # the outputs' gradients are complete
            gy = gxs = None         # drop the walk's own references so the arrays can be reused
            if f._n_out == 1:
                _finish(<Node>f._outs, create_graph, retain_grad, done)
            else:
                for o in f._outs:
                    if o is not None:
                        _finish(o, create_graph, retain_grad, done)
            f._outs = None
        ok = True
    finally:
        ag_backprop_disabled = saved_mode
        if not ok:
            # release what the queue still holds; no gradient was written anywhere
            while heap.n > 0:
                raw = _pop(&heap)
                _drop_outputs(<Function>raw)
                Py_DECREF(<object>raw)
            for o in leaves:
                o._g = None
                o._gd = False
            for o in done:
                o._g = None
                o._gd = False
            y._g = None
            y._gd = False
        _heap_free(&heap)
        if saved is not None and not ok:
            _restore(saved)
    # success: write the gradients (accumulating into what is there)
    try:
        for o in done:
            if o._gd:
                _as_array(o)
            if retain_grad:
                if o is y or o._grad is None:
                    o._grad = o._g if create_graph else new_var(o._g)
                elif create_graph:
                    o._grad = _add_vars(o._grad, o._g)
                else:
                    o._grad = new_var(add_arrays((<Node>o._grad)._data, o._g))
            else:
                o._grad = None
            o._g = None
        for o in leaves:
            if o._gd:
                _as_array(o)
            if o._grad is None:
                o._grad = o._g if create_graph else new_var(o._g)
            elif create_graph:
                o._grad = _add_vars(o._grad, o._g)
            else:
                o._grad = new_var(add_arrays((<Node>o._grad)._data, o._g))
            o._g = None
    finally:
        if saved is not None:
            _restore(saved)
    if spare is not None:
        o = None                # the walk's own references would count as the user's
        done = None
        _release(spare)


# ---------------------------------------------------------------------------- Releasing data
#
# A graph keeps the data of every value it was built from, so that it can be walked again
# (gradients accumulate) and differentiated again. Some of that data no backward step
# reads: a convolution's output, whose gradient needs the convolution's input and weights,
# when the next operation is a ReLU, whose gradient reads its own output. Such data is
# released when nothing outside the graph refers to the value: the variable's data
# becomes a read-only NaN array of the same shape and dtype, and the memory goes back at
# once. A walk again, or a walk with create_graph, gives the same gradients, as no
# backward form reads it. Each operation says what its backward never reads
# (Function._spare); a creator whose backward reads its output may keep what it needs
# another way (release_output: ReLU keeps its output's sign).
#
# When: (1) at recording, as soon as a value's only reference is its one use (the
# function that took it): when an operation is recorded on the output of that use, the
# use's inputs are looked at (_release_behind). (2) After a walk (without create_graph;
# not one inside another): every function the walk reached notes each input whose data
# its backward does not read, once per use. A value noted k times is referred to by
# those k uses and the k notes; one more reference is the check's own. Any other
# reference (the user's name for it, a use the walk did not reach, a use whose backward
# reads it) makes the count higher, and the data is kept. Only values made by the graph
# (not leaves) and of at least RELEASE_MIN bytes are released: small ones are not worth
# the check.

DEF RELEASE_MIN = 16384


cdef inline bint _releasable(Node x):
    # (a result may hold a NumPy scalar: 0-d arithmetic gives those)
    return (x._creator is not None and not x._released and cnp.PyArray_Check(x._data)
            and (n_elements(<cnp.ndarray>x._data) * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x._data)
                 >= RELEASE_MIN)
            and cnp.PyArray_ISFLOAT(<cnp.ndarray>x._data))


cdef list _note_spare(Function f, list spare):
    """Note the inputs of ``f`` (walked) whose data its backward does not read, after ``f``
    itself: the list keeps ``f`` alive until the release, so that a use freed meanwhile
    (a backward that unchains) cannot leave its count to another reference."""
    cdef bint first = f._spare & SPARE_X0 and _releasable(f._x0)
    cdef bint second = f._n_in > 1 and f._spare & SPARE_X1 and _releasable(f._x1)
    if not (first or second):
        return spare
    if spare is None:
        spare = []
    spare.append(f)
    if first:
        spare.append(f._x0)
    if second:
        spare.append(f._x1)
    return spare


cdef dict _placeholders = {}        # (shape, dtype) -> a read-only NaN array


cdef object _placeholder(object a):
    key = (a.shape, a.dtype)
    p = _placeholders.get(key)
    if p is None:
        if len(_placeholders) >= 64:
            _placeholders.clear()
        nan = np.array(np.nan, dtype=a.dtype)
        nan.flags.writeable = False     # so no view of it can be made writeable
        p = np.broadcast_to(nan, a.shape)   # one element
        _placeholders[key] = p
    return p


cdef void _release(list spare) noexcept:
    """After a walk has written its gradients: release what the notes allow. Never
    needed, so a failure (out of memory) only keeps data."""
    cdef dict notes = {}
    cdef Node v
    cdef Py_ssize_t k
    try:
        for item in spare:
            if isinstance(item, Node):
                key = <Py_ssize_t><PyObject *>item
                notes[key] = notes.get(key, 0) + 1
        for item in spare:
            if not isinstance(item, Node):
                continue
            v = <Node>item
            k = notes.pop(<Py_ssize_t><PyObject *>v, 0)
            # k notes, k uses, `item` and `v`: no other reference
            if k != 0 and Py_REFCNT(v) == 2 * k + 2:
                _release_data(v)
    except Exception:
        pass


cdef void _release_data(Node v) noexcept:
    """Release ``v``'s data (no backward reads it, nothing else refers to it) if its creator
    agrees. Releasing is never needed: a failure (out of memory while ReLU keeps its
    output's sign) keeps the data."""
    cdef Function c = v._creator
    if v._released or c is None or c._cut or c._n_out != 1 or not cnp.PyArray_Check(v._data):
        return
    cdef PyObject *a = <PyObject *>v._data
    cdef PyObject *base = <PyObject *>cnp.PyArray_BASE(<cnp.ndarray>v._data)
    if a.ob_refcnt != 1 or (base != NULL and base.ob_refcnt != 1):
        return      # the memory is referred to elsewhere (a view of it, the user): no gain
    try:
        if c.release_output(v):
            v._data = _placeholder(v._data)
            v._released = True
    except Exception:
        pass


cdef void _release_behind(Function f) noexcept:
    """At recording: an input of ``f`` (already recorded) whose data ``f``'s backward does
    not read, which only ``f`` refers to now, is released: nothing can use it again."""
    cdef PyObject *x0 = <PyObject *>f._x0
    cdef PyObject *x1 = <PyObject *>f._x1
    if f._spare & SPARE_X0 and x0.ob_refcnt == 1 and _releasable(f._x0):
        _release_data(f._x0)
    if (f._n_in > 1 and f._spare & SPARE_X1 and x1 != x0 and x1.ob_refcnt == 1
            and _releasable(f._x1)):
        _release_data(f._x1)


cdef void _drop_outputs(Function f) noexcept:
    """Forget, after a failure, the gradients gathered for ``f``'s outputs."""
    outs = f._outs
    f._outs = None
    if outs is None:
        return
    if isinstance(outs, Node):
        (<Node>outs)._g = None
        (<Node>outs)._gd = False
    else:
        for item in outs:
            if item is not None:
                (<Node>item)._g = None
                (<Node>item)._gd = False


cdef inline int _check_versions(Function f) except -1:
    cdef Py_ssize_t i
    if f._x0 is not None and f._x0._version != f._v0:
        _stale(f, f._x0)
    if f._x1 is not None and f._x1._version != f._v1:
        _stale(f, f._x1)
    if f._more is not None:
        for i in range(len(f._more)):
            if (<Node>f._more[i])._version != <Py_ssize_t>f._vmore[i]:
                _stale(f, <Node>f._more[i])
    # A backward that reads its output (tanh, sigmoid, exp, ReLU, the recurrent steps)
    # reads it from the output Variable: an output is made with version 0, so a version
    # above 0 means its data was assigned since.
    if not f._spare & SPARE_Y:
        outs = f._outs
        if isinstance(outs, Node):
            if (<Node>outs)._version != 0:
                _stale_output(f)
        elif outs is not None:
            for o in outs:
                if o is not None and (<Node>o)._version != 0:
                    _stale_output(f)
    return 0


cdef int _stale_output(Function f) except -1:
    raise RuntimeError(
        f"the data of the output of {f.name} was assigned after {f.name} computed it, and "
        f"its backward reads that output, so its gradient would be wrong; assign .data "
        f"only after backward(), or compute the new value as an operation")


cdef int _stale(Function f, Node x) except -1:
    raise RuntimeError(
        f"the data of an input of {f.name} was assigned after {f.name} used it, so its "
        f"gradient would be wrong; assign .data only after backward() (an input "
        f"{'named ' + repr(x._name) if x._name else 'of shape ' + str(x._data.shape)})")


cdef inline void _add_into(Node x, object gx) except *:
    """``x._g += gx`` for a walk without a graph: into ``x._g`` itself where nothing else
    holds it (only ``x._g`` and this function refer to it: a gradient the walk was handed
    and passed on, or that a user or another node keeps, is never written), it is a
    plain array of its own memory, and the two have one dtype and shape; otherwise the
    sum is a new array, which later gradients are then added into. A weight that an RNN
    uses at each of its steps gets as many gradients: one array a walk for them instead
    of one a step; a one-element sum takes no new array either."""
    g = x._g
    if (Py_REFCNT(g) == 2 and cnp.PyArray_CheckExact(g) and cnp.PyArray_CheckExact(gx)
            and cnp.PyArray_BASE(<cnp.ndarray>g) == NULL
            and cnp.PyArray_CHKFLAGS(<cnp.ndarray>g, cnp.NPY_ARRAY_OWNDATA)
            and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>g)
            and cnp.PyArray_TYPE(<cnp.ndarray>g) == cnp.PyArray_TYPE(<cnp.ndarray>gx)
            and cnp.PyArray_SAMESHAPE(<cnp.ndarray>g, <cnp.ndarray>gx)):
        if is_scalar64(g):      # add_arrays's sum, on C doubles
            (<double *>cnp.PyArray_DATA(<cnp.ndarray>g))[0] = scalar_of(g) + scalar_of(gx)
        else:
            np.add(g, gx, out=g)
    else:
        x._g = add_arrays(g, gx)


cdef Py_ssize_t _accumulate(Node x, object gx, Py_ssize_t walk, bint create_graph,
                            list leaves, Heap *heap, Py_ssize_t seq, list saved) except -1:
    """Add ``gx`` to what this walk has gathered for ``x`` and queue ``x``'s creator.
    Only this walk's contributions are propagated; ``x.grad`` is added at the end."""
    if x._const:
        return seq
    cdef bint first = x._walk != walk
    if first:
        if saved is not None:
            _save_node(saved, x)
        x._walk = walk
        x._g = gx
        x._gd = False
    elif create_graph:
        x._g = _add_vars(x._g, gx)
    else:
        if x._gd:
            _as_array(x)
        _add_into(x, gx)
    return _queue_creator(x, first, walk, leaves, heap, seq, saved)


cdef Py_ssize_t _queue_creator(Node x, bint first, Py_ssize_t walk, list leaves, Heap *heap,
                               Py_ssize_t seq, list saved) except -1:
    """Queue the creator of ``x``, which has a gradient in this walk (or note ``x`` as a
    leaf the first time)."""
    cdef Function c = x._creator
    if c is not None and c._cut:
        c = None
    if c is None:
        if first:
            leaves.append(x)
    else:
        if c._walk != walk:
            if saved is not None:
                _save_function(saved, c)
            try:
                _push(heap, c, seq + 1)
            except BaseException:
                x._g = None         # x is in no list the cleanup walks: forget it here
                x._gd = False
                raise
            seq += 1
            c._walk = walk
            c._outs = None
        _set_out(c, x, walk)
    return seq


cdef inline void _finish(Node o, bint create_graph, bint retain_grad, list done):
    if retain_grad:
        done.append(o)              # keeps o._g until the walk has succeeded
    else:
        if o._grad is not None:
            done.append(o)          # cleared at the end, as the seed clears it
        if o._gd:
            o._gd = False
        elif not create_graph:
            recycle(<PyObject *>o._g)
        o._g = None


# The differentiable addition that create_graph walks accumulate with; the operations
# module registers it at import (the graph does not import the operations).
cdef binary_fn _add_fn = NULL


cdef void register_add_fn(binary_fn fn) noexcept:
    global _add_fn
    _add_fn = fn


cdef inline object _add_vars(object a, object b):
    return _add_fn(a, b)


cdef void _annotate(object e, Function f):
    note = f"raised in the backward pass of {f.name}"
    try:
        e.add_note(note)
    except AttributeError:      # Python 3.10: no add_note; the attribute 3.11 prints
        try:
            if not isinstance(getattr(e, "__notes__", None), list):
                e.__notes__ = []
            e.__notes__.append(note)
        except Exception:       # an exception without attributes: no note
            pass


# ---------------------------------------------------------------------------- grad()
#
# ``grad(outputs, inputs)`` is the same walk with three differences: it starts from
# several outputs with given seeds; it walks only the functions that lead to an input
# (a first pass marks them); and it never reads or writes ``.grad``: the gradient of
# each input is read from the walk's own field at the end (for an intermediate input,
# it is complete once its creator's turn has come, and nothing is added after that).


cdef inline void _save_mark(list saved, Function f):
    saved.append((f, f._mark, f._leads, None))


cdef struct MarkFrame:
    PyObject *f
    Py_ssize_t i


cdef int _mark_from(Function root, Py_ssize_t mark, list saved) except -1:
    """Mark every function behind ``root`` with whether some input of the grad() call
    (a node with ``_target == mark``) lies behind it (``_leads``), for this walk.
    Iterative, depth first, on a C stack: graphs may be deep. No Python code runs
    meanwhile, so the graph keeps every function alive and borrowed pointers suffice."""
    cdef MarkFrame *stack = NULL
    cdef MarkFrame *grown
    cdef Py_ssize_t n = 0, cap = 0, i
    cdef Function f, c
    cdef Node x
    cdef bint leads
    if root._mark == mark:
        return 0
    try:
        if saved is not None:
            _save_mark(saved, root)
        root._mark = mark
        root._leads = False
        cap = 64
        stack = <MarkFrame *>malloc(cap * sizeof(MarkFrame))
        if stack == NULL:
            raise MemoryError("grad: out of memory marking the graph")
        stack[0].f = <PyObject *>root
        stack[0].i = 0
        n = 1
        while n > 0:
            f = <Function>stack[n - 1].f
            i = stack[n - 1].i
            if i < f._n_in:
                stack[n - 1].i = i + 1
                x = _input(f, <int>i)
                c = x._creator
                if c is not None and not x._const and not c._cut and c._mark != mark:
                    if saved is not None:
                        _save_mark(saved, c)
                    c._mark = mark
                    c._leads = False
                    if n == cap:
                        grown = <MarkFrame *>realloc(stack, 2 * cap * sizeof(MarkFrame))
                        if grown == NULL:
                            raise MemoryError("grad: out of memory marking the graph")
                        stack = grown
                        cap *= 2
                    stack[n].f = <PyObject *>c
                    stack[n].i = 0
                    n += 1
                continue
            n -= 1
            leads = False
            for i in range(f._n_in):
                x = _input(f, <int>i)
                if x._const:
                    continue
                if x._target == mark or (x._creator is not None and not x._creator._cut
                                         and x._creator._leads):
                    leads = True
                    break
            f._leads = leads
    finally:
        free(stack)
    return 0


cdef Py_ssize_t _gather(Node x, object gx, Py_ssize_t walk, Py_ssize_t mark, bint create_graph,
                        list touched, Heap *heap, Py_ssize_t seq, list saved) except -1:
    """Add ``gx`` to what this grad() walk has gathered for ``x``; queue ``x``'s creator
    when an input lies behind it. A gradient that leads nowhere is dropped."""
    cdef Function c
    cdef bint lead
    if x._const:
        return seq
    c = x._creator
    lead = c is not None and not c._cut and c._mark == mark and c._leads
    if not lead and x._target != mark:
        return seq
    if x._walk != walk:
        if saved is not None:
            _save_node(saved, x)
        x._walk = walk
        x._g = gx
        x._gd = False
        touched.append(x)
    elif create_graph:
        x._g = _add_vars(x._g, gx)
    else:
        _add_into(x, gx)
    if lead:
        if c._walk != walk:
            if saved is not None:
                _save_function(saved, c)
            _push(heap, c, seq + 1)
            seq += 1
            c._walk = walk
            c._outs = None
        _set_out(c, x, walk)
    return seq


cdef str _describe(Node x, Py_ssize_t i):
    if x._name:
        return f"input {i} ({x._name!r}, shape {x._data.shape})"
    return f"input {i} (shape {x._data.shape})"


cdef object _seed_of(object g, Node o, Py_ssize_t k, bint create_graph):
    """The seed for output ``k``: ones when ``g`` is None, else ``g`` checked against ``o``."""
    if g is None:
        arr = ones_like(o._data)
        return wrap_const(arr) if create_graph else arr
    if isinstance(g, Node):
        if (<Node>g)._data.shape != o._data.shape:
            raise ValueError(f"grad: grad_outputs[{k}] has shape {(<Node>g)._data.shape}, "
                             f"output {k} has shape {o._data.shape}")
        if (<Node>g)._data.dtype == o._data.dtype:
            return g if create_graph else (<Node>g)._data
        g = (<Node>g)._data         # gradients keep their variable's dtype: cast the seed
    arr = as_array(g, f"grad: grad_outputs[{k}]")
    if arr.shape != o._data.shape:
        raise ValueError(f"grad: grad_outputs[{k}] has shape {arr.shape}, "
                         f"output {k} has shape {o._data.shape}")
    if arr.dtype != o._data.dtype:
        arr = arr.astype(o._data.dtype)
    return wrap_const(arr) if create_graph else arr


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    ``outputs`` and ``inputs`` are Variables or sequences of them; ``grad_outputs`` (one
    per output: a Variable, an array, a number or None) defaults to ones. Returns a
    Variable for one input, else a tuple. No ``.grad`` is read or written, and only the
    part of the graph between the outputs and the inputs is walked. An input the outputs
    do not depend on is a ValueError, unless ``allow_unused``: then its gradient is zeros.
    With ``create_graph`` the gradients are themselves differentiable.

    >>> import autograd as ag
    >>> x = ag.variable(3.0)
    >>> ag.grad(x ** 2.0, x)
    variable(6)
    """
    global ag_in_walk
    cdef tuple outs, ins, gos
    cdef bint single = isinstance(inputs, Node)
    cdef bint cg = bool(create_graph)
    cdef bint unused_ok = bool(allow_unused)
    cdef Py_ssize_t k
    if single:
        ins = (inputs,)
    else:
        if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
            raise TypeError(f"grad: inputs must be a Variable or a sequence of Variables, "
                            f"got {type(inputs).__name__}")
        ins = tuple(inputs)
        if not ins:
            raise ValueError("grad: inputs is empty")
    for k in range(len(ins)):
        if not isinstance(ins[k], Node):
            raise TypeError(f"grad: inputs[{k}] must be a Variable, got {type(ins[k]).__name__}")
    if isinstance(outputs, Node):
        outs = (outputs,)
        if grad_outputs is None or isinstance(grad_outputs, Node):
            gos = (grad_outputs,)
        elif isinstance(grad_outputs, (list, tuple)) and len(grad_outputs) == 1 \
                and (grad_outputs[0] is None or isinstance(grad_outputs[0], Node)):
            gos = tuple(grad_outputs)
        else:
            gos = (grad_outputs,)
    else:
        if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__iter__"):
            raise TypeError(f"grad: outputs must be a Variable or a sequence of Variables, "
                            f"got {type(outputs).__name__}")
        outs = tuple(outputs)
        if not outs:
            raise ValueError("grad: outputs is empty")
        if grad_outputs is None:
            gos = (None,) * len(outs)
        else:
            if isinstance(grad_outputs, Node) or not isinstance(grad_outputs, (list, tuple)):
                raise TypeError("grad: with a sequence of outputs, grad_outputs must be a "
                                "sequence of the same length (or None)")
            gos = tuple(grad_outputs)
            if len(gos) != len(outs):
                raise ValueError(f"grad: {len(outs)} outputs but {len(gos)} grad_outputs")
    for k in range(len(outs)):
        if not isinstance(outs[k], Node):
            raise TypeError(f"grad: outputs[{k}] must be a Variable, got {type(outs[k]).__name__}")
    seeds = [_seed_of(gos[k], <Node>outs[k], k, cg) for k in range(len(outs))]
    cdef int collector = PyGC_Disable() if cg else 0     # as in backward()
    cdef int in_walk = ag_in_walk
    ag_in_walk = 1
    _enter()
    try:
        result = _grad_walk(outs, seeds, ins, cg, unused_ok, None if _depth == 1 else [], 0)
    finally:
        _leave()
        ag_in_walk = in_walk
        if collector:
            PyGC_Enable()
    return result[0] if single else result


cdef tuple _grad_walk(tuple outs, list seeds, tuple ins, bint create_graph, bint allow_unused,
                      list saved, Py_ssize_t mark, Py_ssize_t batch=0):
    """One grad() walk. ``mark``: the id of an earlier walk whose marks hold for this
    graph and these inputs (0: mark now, with this walk's id). ``batch`` > 0: the seeds
    carry a leading axis of that length (independent rows, walked at once)."""
    global _walk_counter, ag_backprop_disabled
    cdef Heap heap
    cdef Function f
    cdef Node o, x
    cdef PyObject *raw
    cdef Py_ssize_t walk, i, k
    cdef Py_ssize_t seq = 0
    cdef list touched = []          # nodes whose _g this walk set
    cdef int saved_mode = ag_backprop_disabled
    cdef list results

    _walk_counter += 1
    walk = _walk_counter
    _heap_init(&heap)
    try:
        if mark == 0:
            mark = walk
            for k in range(len(ins)):
                x = <Node>ins[k]
                if saved is not None:
                    saved.append((x, x._target))
                x._target = mark
            for k in range(len(outs)):
                o = <Node>outs[k]
                if o._creator is not None and not o._const and not o._creator._cut:
                    _mark_from(o._creator, mark, saved)
        ag_backprop_disabled = 0 if create_graph else 1
        for k in range(len(outs)):
            seq = _gather(<Node>outs[k], seeds[k], walk, mark, create_graph, touched,
                          &heap, seq, saved)
        seeds = None
        while heap.n > 0:
            raw = _pop(&heap)
            f = <Function>raw
            Py_DECREF(f)
            gy = _output_grads(f, walk)
            try:
                _check_versions(f)
                if batch:
                    gxs = f.backward_batched(gy)
                elif create_graph:
                    gxs = f.backward_vars(gy)
                else:
                    gxs = f.backward_arrays(gy)
                if f._n_in == 1:
                    if gxs is not None:
                        seq = _gather(f._x0, gxs, walk, mark, create_graph, touched,
                                      &heap, seq, saved)
                else:
                    for i in range(f._n_in):
                        gx = (<tuple>gxs)[i]
                        if gx is not None:
                            seq = _gather(_input(f, <int>i), gx, walk, mark, create_graph,
                                          touched, &heap, seq, saved)
            except BaseException as e:
                _annotate(e, f)
                raise
            gy = gxs = None
            # the outputs' gradients are complete: keep only the inputs'
            if f._n_out == 1:
                o = <Node>f._outs
                if o._target != mark:
                    if not create_graph:
                        recycle(<PyObject *>o._g)
                    o._g = None
            else:
                for o in f._outs:
                    if o is not None and o._target != mark:
                        o._g = None
            f._outs = None
        results = []
        for k in range(len(ins)):
            x = <Node>ins[k]
            g = x._g if x._walk == walk else None
            if g is None:
                if not allow_unused:
                    if x._const:
                        why = "requires no gradient (requires_grad=False)"
                    else:
                        why = "is not used to compute the outputs"
                    raise ValueError(f"grad: {_describe(x, k)} {why}; pass allow_unused=True "
                                     f"to get zeros for it")
                if batch:
                    results.append(np.zeros((batch,) + x._data.shape, dtype=x._data.dtype))
                else:
                    results.append(new_var(np.zeros_like(x._data)))
            elif batch:
                results.append(g)
            elif create_graph:
                results.append(g)
            else:
                results.append(new_var(g))
        return tuple(results)
    finally:
        ag_backprop_disabled = saved_mode
        while heap.n > 0:
            raw = _pop(&heap)
            (<Function>raw)._outs = None
            Py_DECREF(<object>raw)
        _heap_free(&heap)
        for o in touched:
            o._g = None
        if saved is not None:
            _restore(saved)


def _basis(data):
    """The one-hot arrays of ``data``'s shape and dtype, in C order (the seeds of the rows
    of a Jacobian)."""
    cdef Py_ssize_t i, n = data.size
    out = []
    for i in range(n):
        e = np.zeros(data.shape, dtype=data.dtype)
        e.flat[i] = 1
        out.append(e)
    return out


class NotBatched(Exception):
    """An operation without a batched backward: walk the rows one by one."""


def _grad_batched(Node out, list inputs, object seeds):
    """The rows of a Jacobian in one walk: ``seeds`` is ``(B,) + out.shape``, the result
    a tuple with one ``(B,) + x.shape`` array per input. None when some operation between
    ``out`` and the inputs has no batched backward (walk the rows one by one then) or when
    called inside another walk."""
    global ag_in_walk
    cdef tuple ins = tuple(inputs)
    cdef int in_walk = ag_in_walk
    ag_in_walk = 1
    _enter()
    try:
        if _depth > 1:          # inside another walk: the caller walks row by row
            return None
        try:
            return _grad_walk((out,), [seeds], ins, False, True, None, 0, seeds.shape[0])
        except NotBatched:
            return None
    finally:
        _leave()
        ag_in_walk = in_walk


def _grad_rows(Node out, list inputs, list seeds, create_graph):
    """``grad(out, inputs, grad_outputs=seed, allow_unused=True)`` for each seed, as a
    list of tuples: the functions between ``out`` and the inputs are marked once."""
    global ag_in_walk
    cdef bint cg = bool(create_graph)
    cdef tuple ins = tuple(inputs)
    cdef tuple outs = (out,)
    cdef list rows = []
    cdef Py_ssize_t first
    if not seeds:
        return rows
    cdef int collector = PyGC_Disable() if cg else 0     # as in backward()
    cdef int in_walk = ag_in_walk
    ag_in_walk = 1
    _enter()
    try:
        if _depth > 1:          # inside another walk: each row saves and restores its own
            for seed in seeds:
                rows.append(_grad_walk(outs, [_seed_of(seed, out, 0, cg)], ins, cg, True, [],
                                       0))
            return rows
        first = _walk_counter + 1
        rows.append(_grad_walk(outs, [_seed_of(seeds[0], out, 0, cg)], ins, cg, True, None, 0))
        for k in range(1, len(seeds)):
            rows.append(_grad_walk(outs, [_seed_of(seeds[k], out, 0, cg)], ins, cg, True, None,
                                   first))
        return rows
    finally:
        _leave()
        ag_in_walk = in_walk
        if collector:
            PyGC_Enable()
