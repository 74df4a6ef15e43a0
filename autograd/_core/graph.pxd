# Declarations other compiled modules cimport: the graph node, the function base, modes.

cdef class Node:
    cdef object _data            # numpy.ndarray, float32 or float64
    cdef object _grad            # Variable or None
    cdef Function _creator       # None for a leaf
    cdef Py_ssize_t _generation
    cdef object _name            # str or None
    cdef object _g               # gradient being accumulated during a walk
    cdef double _gs              # ... or, where _gd, its one float64 element (graph.pyx,
    cdef bint _gd                # "One-element gradients as C doubles"), for an array of
    cdef int _gnd                # _gnd dimensions of 1
    cdef Py_ssize_t _walk        # id of the walk that last touched _g
    cdef int _index              # which output of its creator this is
    cdef bint _const             # gets no gradient (requires_grad=False): a constant made by
                                 # the library, a result computed with no graph, or frozen
    cdef bint _user              # made by the user (the constructor), not by the library
    cdef Py_ssize_t _target      # id of the grad() marks for which this is an input
    cdef bint _off               # made by the library with recording off (no_grad, detach)
    cdef Py_ssize_t _version     # bumped whenever .data is assigned
    cdef bint _released          # its data was released after backward (graph.pyx)


# What a function's backward never reads, in every form (arrays, Variables, batched):
# the data of its first input, of its second, of its output. backward() releases such
# data once walked when nothing else needs it (see graph.pyx, "Releasing data").
cdef enum:
    SPARE_X0 = 1
    SPARE_X1 = 2
    SPARE_Y = 4


cdef class Function:
    cdef Node _x0, _x1           # the first two inputs (None when absent)
    cdef tuple _more             # the inputs after the second, or None
    cdef tuple _vmore            # their versions when recorded, or None
    cdef int _n_in
    cdef Py_ssize_t _v0, _v1     # the first two inputs' versions when recorded
    cdef Py_ssize_t _generation
    cdef bint _cut               # cut off by unchain_backward: its outputs are leaves now
    cdef Py_ssize_t _walk        # id of the walk that last queued this function
    cdef Py_ssize_t _seq         # queue order within a walk (ties: last queued first)
    cdef int _n_out
    cdef object _outs            # outputs while a walk runs: a Node (one output) or a list
    cdef list _out_specs         # (shape, dtype) of each output, for functions with several
    cdef Py_ssize_t _mark        # id of the grad() walk that last marked this function
    cdef bint _leads             # for that walk: some input of the grad() call lies behind it
    cdef unsigned char _spare    # SPARE_* bits: the data its backward never reads
    # Gradients for the inputs: the gradient itself when there is one input,
    # else a tuple with one entry per input (None where none is needed).
    cdef object backward_arrays(self, object gy)
    cdef object backward_vars(self, object gy)
    # The same for a batch of gradients (a leading axis over independent seeds, the rows
    # of a Jacobian): raises NotBatched where an operation has no batched backward.
    cdef object backward_batched(self, object gy)
    # The same for one-element float64 values, on C doubles (a backward walk without a
    # graph): writes the inputs' gradients to gxs[0], gxs[1] and returns which it wrote
    # (bit i for input i), or -1 where the function has no such form for these values.
    cdef int backward_scalars(self, double gy, double *gxs) except -2
    # Called by backward() before it releases the data of this function's output ``y``
    # (no backward step reads it and nothing outside the graph refers to it): whether it
    # may. A function whose backward reads its output may keep what it needs another way.
    cdef bint release_output(self, Node y) except -1


ctypedef object (*binary_fn)(object, object)
cdef void register_add_fn(binary_fn fn) noexcept
ctypedef void (*class_hook)(object cls) noexcept
cdef void register_class_hook(class_hook fn) noexcept

cdef bint grad_enabled() noexcept nogil
cdef bint train_enabled() noexcept nogil
cdef Node new_var(object data)
cdef Node as_var(object x)
cdef object as_array(object x, str what)
cdef Node link1(Function f, Node y, Node x0)
cdef Node link2(Function f, Node y, Node x0, Node x1)
cdef Node link_all(Function f, Node y, tuple inputs)
cdef int link_outputs(Function f, list ys, tuple inputs) except -1
cdef tuple inputs_of(Function f)
cdef Node wrap_const(object arr)
cdef int use_free_list(type cls) except -1
cdef list zero_grads(Function f, list gys, bint as_variables)
