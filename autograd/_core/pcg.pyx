"""The seed's random source: Go's math/rand/v2 PCG with its Float64 and its
ziggurat NormFloat64, so that programs seeded with ``rand.Const()`` draw the
same numbers here (see ../shared/RANDOM.md)."""
cimport cython
cimport numpy as cnp
from libc.math cimport exp, log, sqrt, fabs
from libc.stdint cimport uint64_t, uint32_t, int32_t
import operator
import sys
import numpy as np

cnp.import_array()

cdef object _MAXSIZE = sys.maxsize

cdef extern from *:
    """
    typedef struct { unsigned long long hi, lo; } ag_pcg_state;

    static inline unsigned long long ag_pcg_next(ag_pcg_state *s) {
        const unsigned __int128 mul =
            ((unsigned __int128)2549297995355413924ULL << 64) | 4865540595714422341ULL;
        const unsigned __int128 inc =
            ((unsigned __int128)6364136223846793005ULL << 64) | 1442695040888963407ULL;
        unsigned __int128 st = ((unsigned __int128)s->hi << 64) | s->lo;
        st = st * mul + inc;
        s->hi = (unsigned long long)(st >> 64);
        s->lo = (unsigned long long)st;
        unsigned long long h = s->hi;
        h ^= h >> 32;
        h *= 0xda942042e4dd58b5ULL;
        h ^= h >> 48;
        h *= (s->lo | 1);
        return h;
    }
    """
    ctypedef struct ag_pcg_state:
        unsigned long long hi
        unsigned long long lo
    unsigned long long ag_pcg_next(ag_pcg_state *s) nogil


cdef extern from *:
    """
    #include <sched.h>
    #include <time.h>

    /* A source's lock: one byte, taken with one atomic exchange when nobody holds it (a few
       ns, where PyThread_acquire_lock and release cost ~35 ns, as much again as a draw).
       A waiter, which never holds the GIL, yields and then sleeps in short steps: a holder
       keeps the lock for one draw or one fill, so waits are short and contention rare. */
    typedef struct { unsigned char busy; } ag_lock;

    static inline int ag_lock_try(ag_lock *l) {
        return !__atomic_test_and_set(&l->busy, __ATOMIC_ACQUIRE);
    }
    static void ag_lock_wait(ag_lock *l) {
        unsigned spins = 0;
        while (!ag_lock_try(l)) {
            if (++spins < 100) {
                sched_yield();
            } else {
                struct timespec ts = {0, 20000};
                nanosleep(&ts, NULL);
            }
        }
    }
    static inline void ag_lock_release(ag_lock *l) {
        __atomic_clear(&l->busy, __ATOMIC_RELEASE);
    }
    """
    ctypedef struct ag_lock:
        unsigned char busy
    bint ag_lock_try(ag_lock *l) nogil
    void ag_lock_wait(ag_lock *l) nogil
    void ag_lock_release(ag_lock *l) nogil

DEF R = 3.442619855899

cdef uint32_t kn[128]
cdef float wn[128]
cdef float fn[128]


cdef void _tables():
    # Marsaglia and Tsang's setup, in float64, wn and fn rounded to float32 at the end.
    cdef double m1 = 2147483648.0
    cdef double d = R, t = R, v = 9.91256303526217e-3
    cdef double q = v / exp(-d * d / 2)
    cdef double w64[128]
    cdef double f64[128]
    cdef int i
    kn[0] = <uint32_t>(d / q * m1)
    kn[1] = 0
    w64[0] = q / m1
    w64[127] = d / m1
    f64[0] = 1.0
    f64[127] = exp(-d * d / 2)
    for i in range(126, 0, -1):
        d = sqrt(-2 * log(v / d + exp(-d * d / 2)))
        kn[i + 1] = <uint32_t>(d / t * m1)
        t = d
        f64[i] = exp(-d * d / 2)
        w64[i] = d / m1
    for i in range(128):
        wn[i] = <float>w64[i]
        fn[i] = <float>f64[i]

_tables()


def ziggurat_tables():
    """The (kn, wn, fn) tables, for tests."""
    return (np.array([kn[i] for i in range(128)], dtype=np.uint32),
            np.array([wn[i] for i in range(128)], dtype=np.float32),
            np.array([fn[i] for i in range(128)], dtype=np.float32))


cdef inline double _float64(ag_pcg_state *s) noexcept nogil:
    return <double>(ag_pcg_next(s) & ((<uint64_t>1 << 53) - 1)) / 9007199254740992.0


cdef double _normal(ag_pcg_state *s) noexcept nogil:
    cdef uint64_t u
    cdef int32_t j
    cdef uint32_t aj
    cdef int i
    cdef double x, y
    while True:
        u = ag_pcg_next(s)
        j = <int32_t>(<uint32_t>u)
        i = <int>((u >> 32) & 0x7F)
        x = <double>j * <double>wn[i]
        aj = <uint32_t>(-j) if j < 0 else <uint32_t>j
        if aj < kn[i]:
            return x
        if i == 0:
            while True:
                x = -log(_float64(s)) * (1.0 / R)
                y = -log(_float64(s))
                if y + y >= x * x:
                    break
            if j > 0:
                return R + x
            return -R - x
        if fn[i] + <float>_float64(s) * (fn[i - 1] - fn[i]) < <float>exp(-0.5 * x * x):
            return x


cdef object _size(object s, object shape):
    # An int, a NumPy integer or anything else with __index__; never a bool, a float or a
    # string, which int() would quietly truncate or split ('12' became the shape (1, 2)).
    if type(s) is not int:
        if isinstance(s, (bool, np.bool_)):
            s = None
        try:
            s = operator.index(s)
        except TypeError:
            raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
    if s < 0:
        raise ValueError(f"shape {shape!r} has a negative size")
    if s > _MAXSIZE:
        raise ValueError(f"shape {shape!r}: size {s} is too large for an array")
    return s


cdef tuple _shape(object shape):
    """None, or ``shape`` as a tuple of non-negative ints, checked."""
    if shape is None:
        return None
    if type(shape) is int:
        return (_size(shape, shape),)
    if isinstance(shape, (str, bytes, bytearray)):
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}")
    if not hasattr(shape, "__iter__") or getattr(shape, "ndim", None) == 0:
        return (_size(shape, shape),)
    cdef list sizes = []
    cdef object n = 1
    for s in shape:                  # a loop, not a generator: no closure on the scalar path
        s = _size(s, shape)
        sizes.append(s)
        n *= s
    if n * 8 > _MAXSIZE:
        raise ValueError(f"shape {shape!r}: {n} elements are too many for an array")
    return tuple(sizes)


cdef class PCGSource:
    """Go's ``rand.NewPCG(seed0, seed1)``: draws as Go's ``Uint64``, ``Float64``
    and ``NormFloat64``, one draw per element in row-major order."""
    cdef ag_pcg_state st
    # One thread at a time advances a source's state: without it, threads sharing a source
    # read the same state and draw the same numbers. The fill loops hold it without the GIL.
    cdef ag_lock lock

    cdef inline void _acquire(self) noexcept:
        # Called with the GIL: wait for the lock without it, so that the thread holding the
        # lock (perhaps in a long fill) and every other thread keep running.
        if not ag_lock_try(&self.lock):
            with nogil:
                ag_lock_wait(&self.lock)

    def __init__(self, seed0=0, seed1=0):
        for name, s in (("seed0", seed0), ("seed1", seed1)):
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
                raise TypeError(f"const(): {name} must be an int, got {s!r}")
            if not 0 <= s < 2 ** 64:
                raise ValueError(f"const(): {name} must be in [0, 2**64), got {s}")
        self.st.hi = seed0
        self.st.lo = seed1

    def uint64(self):
        """One raw 64-bit draw, as Go's ``Uint64``."""
        cdef uint64_t u
        self._acquire()
        u = ag_pcg_next(&self.st)
        ag_lock_release(&self.lock)
        return u

    def random(self, shape=None):
        """Uniform floats in [0, 1) as Go's ``Float64``: a float, or an array of ``shape``."""
        cdef tuple sh = _shape(shape)
        cdef double x
        if sh is None:
            self._acquire()
            x = _float64(&self.st)
            ag_lock_release(&self.lock)
            return x
        return self._fill(sh, False)

    def standard_normal(self, shape=None):
        """Standard normal floats as Go's ``NormFloat64``: a float, or an array of ``shape``."""
        cdef tuple sh = _shape(shape)
        cdef double x
        if sh is None:
            self._acquire()
            x = _normal(&self.st)
            ag_lock_release(&self.lock)
            return x
        return self._fill(sh, True)

    cdef object _fill(self, tuple shape, bint normal):
        """An array of ``shape``, one draw per element in row-major order."""
        out = np.empty(shape, dtype=np.float64)
        cdef double[::1] o = out.reshape(-1)
        cdef Py_ssize_t k
        with nogil:
            if not ag_lock_try(&self.lock):
                ag_lock_wait(&self.lock)
            if normal:
                for k in range(o.shape[0]):
                    o[k] = _normal(&self.st)
            else:
                for k in range(o.shape[0]):
                    o[k] = _float64(&self.st)
            ag_lock_release(&self.lock)
        return out

    def normal(self, loc=0.0, scale=1.0, size=None):
        """``loc + scale * standard_normal(size)``, as NumPy's ``Generator.normal``;
        a negative ``scale`` is a ValueError, as there."""
        if np.any(np.less(scale, 0)):
            raise ValueError(f"normal(): scale must not be negative, got {scale!r}")
        return loc + scale * self.standard_normal(size)

    @property
    def state(self):
        """The 128-bit state as ``(hi, lo)``; ``PCGSource(*s.state)`` continues ``s``'s stream."""
        self._acquire()
        st = (self.st.hi, self.st.lo)
        ag_lock_release(&self.lock)
        return st

    def __reduce__(self):
        # copy, deepcopy and pickle: a new source (with its own lock) at the same state.
        return (type(self), self.state)

    def __repr__(self):
        hi, lo = self.state
        return f"<PCGSource state=({hi}, {lo})>"
