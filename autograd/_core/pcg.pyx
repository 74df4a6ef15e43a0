"""The seed's random source: Go's math/rand/v2 PCG with its Float64 and its
ziggurat NormFloat64, so that programs seeded with ``rand.Const()`` draw the
same numbers here (see ../shared/RANDOM.md)."""
cimport cython
cimport numpy as cnp
from libc.math cimport exp, log, sqrt, fabs
from libc.stdint cimport uint64_t, uint32_t, int32_t
import numpy as np

cnp.import_array()

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


cdef tuple _shape(object shape):
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    for s in shape:
        if s < 0:
            raise ValueError(f"shape {shape} has a negative size")
    return shape


cdef class PCGSource:
    """Go's ``rand.NewPCG(seed0, seed1)``: draws as Go's ``Uint64``, ``Float64``
    and ``NormFloat64``, one draw per element in row-major order."""
    cdef ag_pcg_state state

    def __init__(self, seed0=0, seed1=0):
        for name, s in (("seed0", seed0), ("seed1", seed1)):
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
                raise TypeError(f"const(): {name} must be an int, got {s!r}")
            if not 0 <= s < 2 ** 64:
                raise ValueError(f"const(): {name} must be in [0, 2**64), got {s}")
        self.state.hi = seed0
        self.state.lo = seed1

    def uint64(self):
        """One raw 64-bit draw, as Go's ``Uint64``."""
        return ag_pcg_next(&self.state)

    def random(self, shape=None):
        """Uniform floats in [0, 1) as Go's ``Float64``: a float, or an array of ``shape``."""
        cdef tuple sh = _shape(shape)
        if sh is None:
            return _float64(&self.state)
        return self._fill(sh, False)

    def standard_normal(self, shape=None):
        """Standard normal floats as Go's ``NormFloat64``: a float, or an array of ``shape``."""
        cdef tuple sh = _shape(shape)
        if sh is None:
            return _normal(&self.state)
        return self._fill(sh, True)

    cdef object _fill(self, tuple shape, bint normal):
        """An array of ``shape``, one draw per element in row-major order."""
        out = np.empty(shape, dtype=np.float64)
        cdef double[::1] o = out.reshape(-1)
        cdef Py_ssize_t k
        with nogil:
            for k in range(o.shape[0]):
                o[k] = _normal(&self.state) if normal else _float64(&self.state)
        return out

    def normal(self, loc=0.0, scale=1.0, size=None):
        """``loc + scale * standard_normal(size)``, as NumPy's ``Generator.normal``."""
        return loc + scale * self.standard_normal(size)

    def __repr__(self):
        return f"<PCGSource state=({self.state.hi}, {self.state.lo})>"
