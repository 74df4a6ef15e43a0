/* tanh, the logistic sigmoid and exp over whole arrays (ag_map_d/_f, fn = AG_MAP_TANH,
 * AG_MAP_SIGMOID or AG_MAP_EXP), four doubles at a time where the CPU has AVX2 and FMA,
 * with tanh.h's numbers (Go's tanh over the C library's exp) and the C library's exp.
 *
 * The vector path computes exp(2|x|) with glibc's own algorithm (since
 * glibc 2.28, from Arm's optimized-routines: a 128-entry table of 2^(k/128) and a
 * degree-5 polynomial, with the fused multiply-adds of glibc's FMA build, which glibc
 * picks on such CPUs), so it gives the scalar path's bits. That is checked, not
 * assumed: ag_simd_setup compares the two exps on 61,440 arguments and the two tanhs
 * on 4,096, and keeps the vector path only if every result is the same double (another
 * C library, or a glibc without that exp, keeps the scalar path).
 *
 * The check is a sample: a C library whose exp differs from this one in one argument
 * in 1,400 (glibc's build without FMA) fails it; one differing in one in a hundred
 * million would pass it, and differ as rarely.
 *
 * Every lane computes both forms and keeps one, so the vector path raises floating-point
 * flags (invalid for an infinite argument, overflow for a huge one) that the scalar
 * path does not; nothing here or in NumPy reads them.
 *
 * Cost here: 10 ns an element scalar (the branches and exp's call), about 3.5 vector.
 * The file must be compiled without contraction (-ffp-contract=off): the Cephes and
 * sigmoid arithmetic is the scalar code's, operation for operation, and only the fused
 * multiply-adds written out below are fused. */
#ifndef AG_VMATH_H
#define AG_VMATH_H

#include <Python.h> /* Py_ssize_t */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "exp_table.h"
#include "tanh.h"

/* GCC and Clang on x86-64, not on Windows (MinGW's GCC does not align AVX spills) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(_WIN32)
#define AG_X86_SIMD 1
#include <immintrin.h>
#else
#define AG_X86_SIMD 0
#endif

#if AG_X86_SIMD

#define AG_SIMD __attribute__((target("avx2,fma")))
#define AG_SET(v) _mm256_set1_pd(v)

/* exp(x) for x in [0, 89], glibc's steps: x = k ln2/128 + r, exp(x) = 2^(k/128) e^r */
AG_SIMD static inline __m256d ag_exp4(__m256d x) {
    const __m256d shift = AG_SET(0x1.8p52);
    __m256d kd = _mm256_fmadd_pd(AG_SET(0x1.71547652b82fep0 * 128), x, shift);
    __m256i ki = _mm256_castpd_si256(kd); /* k in the low bits */
    kd = _mm256_sub_pd(kd, shift);
    __m256d r = _mm256_fmadd_pd(kd, AG_SET(-0x1.cf79abc9e3b3ap-47),
                                _mm256_fmadd_pd(kd, AG_SET(-0x1.62e42fefa0000p-8), x));
    __m256i idx = _mm256_slli_epi64(_mm256_and_si256(ki, _mm256_set1_epi64x(127)), 1);
    __m256d tail = _mm256_castsi256_pd(
        _mm256_i64gather_epi64((const long long *)AG_EXP_TAB, idx, 8));
    __m256i sbits = _mm256_add_epi64(
        _mm256_i64gather_epi64((const long long *)(AG_EXP_TAB + 1), idx, 8),
        _mm256_slli_epi64(ki, 45));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d p = _mm256_fmadd_pd(r, AG_SET(0x1.555555555543cp-3), AG_SET(0x1.ffffffffffdbdp-2));
    __m256d q = _mm256_fmadd_pd(r, AG_SET(0x1.1111167a4d017p-7), AG_SET(0x1.55555cf172b91p-5));
    __m256d tmp = _mm256_fmadd_pd(_mm256_mul_pd(r2, r2), q,
                                  _mm256_fmadd_pd(r2, p, _mm256_add_pd(tail, r)));
    __m256d scale = _mm256_castsi256_pd(sbits);
    return _mm256_fmadd_pd(scale, tmp, scale);
}

/* The functions ag_map_d/_f apply */
enum { AG_MAP_TANH = 0, AG_MAP_SIGMOID = 1, AG_MAP_EXP = 2 };

static inline double ag_map1(double x, int fn) {
    return fn == AG_MAP_EXP ? exp(x) : fn == AG_MAP_SIGMOID ? ag_sigmoid(x) : ag_tanh(x);
}

/* ag_tanh on four lanes: both forms computed where some lane needs them, then chosen */
AG_SIMD static inline __m256d ag_tanh4(__m256d x) {
    const __m256d one = AG_SET(1.0), sign_bit = AG_SET(-0.0);
    __m256d z = _mm256_andnot_pd(sign_bit, x);
    __m256d sign = _mm256_and_pd(sign_bit, x);
    __m256d is_large = _mm256_cmp_pd(z, AG_SET(AG_TANH_SMALL), _CMP_GE_OQ);
    int large = _mm256_movemask_pd(is_large);
    __m256d y = x;
    if (large != 0xF) {
        __m256d s = _mm256_mul_pd(x, x);
        /* ((P0 s + P1) s + P2) and (((s + Q0) s + Q1) s + Q2), as tanh.h groups them */
        __m256d num = _mm256_add_pd(
            _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(AG_SET(AG_TANH_P0), s), AG_SET(AG_TANH_P1)), s),
            AG_SET(AG_TANH_P2));
        __m256d den = _mm256_add_pd(
            _mm256_mul_pd(
                _mm256_add_pd(_mm256_mul_pd(_mm256_add_pd(s, AG_SET(AG_TANH_Q0)), s), AG_SET(AG_TANH_Q1)),
                s),
            AG_SET(AG_TANH_Q2));
        y = _mm256_add_pd(x, _mm256_div_pd(_mm256_mul_pd(_mm256_mul_pd(x, s), num), den));
        /* tanh(+-0) = +-0, which the formula loses for -0 */
        y = _mm256_blendv_pd(y, x, _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_EQ_OQ));
    }
    if (large) {
        __m256d e = ag_exp4(_mm256_min_pd(_mm256_add_pd(z, z), AG_SET(89.0)));
        __m256d t = _mm256_sub_pd(one, _mm256_div_pd(AG_SET(2.0), _mm256_add_pd(e, one)));
        y = _mm256_blendv_pd(y, _mm256_or_pd(t, sign), is_large);
        y = _mm256_blendv_pd(y, _mm256_or_pd(one, sign),
                             _mm256_cmp_pd(z, AG_SET(AG_TANH_BIG), _CMP_GT_OQ));
    }
    return y;
}

AG_SIMD static inline __m256d ag_sigmoid4(__m256d x) {
    const __m256d half = AG_SET(0.5);
    return _mm256_add_pd(half, _mm256_mul_pd(half, ag_tanh4(_mm256_mul_pd(half, x))));
}

/* exp over n (a multiple of 4) arguments in [0, 89]: for ag_simd_setup's check */
AG_SIMD static inline void ag_exp_d_simd(const double *x, double *y, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, ag_exp4(_mm256_loadu_pd(x + i)));
}

/* exp on four lanes, where glibc takes its main path (2^-54 <= |x| < 512: no tiny
 * argument, no overflow or subnormal result); else the C library's exp, lane by lane */
AG_SIMD static inline __m256d ag_expm4(__m256d x) {
    __m256d z = _mm256_andnot_pd(AG_SET(-0.0), x);
    __m256d main = _mm256_and_pd(_mm256_cmp_pd(z, AG_SET(0x1p-54), _CMP_GE_OQ),
                                 _mm256_cmp_pd(z, AG_SET(512.0), _CMP_LT_OQ));
    if (_mm256_movemask_pd(main) == 0xF)
        return ag_exp4(x);
    double lanes[4];
    _mm256_storeu_pd(lanes, x);
    for (int j = 0; j < 4; j++)
        lanes[j] = exp(lanes[j]);
    return _mm256_loadu_pd(lanes);
}

AG_SIMD static inline __m256d ag_map4(__m256d x, int fn) {
    return fn == AG_MAP_EXP ? ag_expm4(x) : fn == AG_MAP_SIGMOID ? ag_sigmoid4(x) : ag_tanh4(x);
}

AG_SIMD static inline void ag_map_d_simd(const double *x, double *y, Py_ssize_t n, int fn) {
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, ag_map4(_mm256_loadu_pd(x + i), fn));
    for (; i < n; i++)
        y[i] = ag_map1(x[i], fn);
}

AG_SIMD static inline void ag_map_f_simd(const float *x, float *y, Py_ssize_t n, int fn) {
    /* float32 as the scalar path computes it: in double, rounded once at the end */
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(y + i, _mm256_cvtpd_ps(ag_map4(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), fn)));
    for (; i < n; i++)
        y[i] = (float)ag_map1(x[i], fn);
}

#endif /* AG_X86_SIMD */

/* Whether the array functions take the vector path (set by ag_simd_setup). Only
 * kernels.pyx includes this file, so there is one flag; threads read it without a lock
 * (a lane of either path gives the same bits, so a toggle mid-loop changes nothing). */
static int ag_simd_on
#ifdef __GNUC__
    __attribute__((unused))
#endif
    = 0;

static inline void ag_map_d(const double *x, double *y, Py_ssize_t n, int fn) {
#if AG_X86_SIMD
    if (ag_simd_on) {
        ag_map_d_simd(x, y, n, fn);
        return;
    }
#endif
    for (Py_ssize_t i = 0; i < n; i++)
        y[i] = ag_map1(x[i], fn);
}

static inline void ag_map_f(const float *x, float *y, Py_ssize_t n, int fn) {
#if AG_X86_SIMD
    if (ag_simd_on) {
        ag_map_f_simd(x, y, n, fn);
        return;
    }
#endif
    for (Py_ssize_t i = 0; i < n; i++)
        y[i] = (float)ag_map1(x[i], fn);
}

/* Turn the vector path on (want = 1) if this CPU has it and it reproduces the scalar
 * path here, or off (want = 0). Returns whether it is on. */
static inline int ag_simd_setup(int want) {
    ag_simd_on = 0;
#if AG_X86_SIMD
    if (!want || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    /* exp, where the two paths can differ, on 40,960 arguments over the range tanh gives
     * it (a difference in exp's last bit seldom shows in tanh's) and 20,480 over exp's
     * own vector range, then tanh itself */
    double x[256], fast[256], slow;
    uint64_t state = 0x853c49e6748fea9bULL;
    for (int block = 0; block < 240; block++) {
        for (int i = 0; i < 256; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(state >> 11) * 0x1p-53; /* [0, 1) */
            /* [0, 89) for tanh, then [-512, 512) for exp itself */
            x[i] = block < 160 ? u * 89.0 : (u - 0.5) * 1024.0;
        }
        if (block == 160) {
            static const double exp_edges[] = {0x1p-54, -0x1p-54, 511.99999999999994,
                                               -511.99999999999994, 1e-10, -1e-10,
                                               0.5, -0.5, 1.0, -1.0, 2.0, -2.0};
            memcpy(x, exp_edges, sizeof exp_edges);
        }
        ag_exp_d_simd(x, fast, 256);
        for (int i = 0; i < 256; i++) {
            slow = exp(x[i]);
            if (memcmp(&slow, &fast[i], sizeof slow) != 0)
                return 0;
        }
    }
    static const double edges[] = {0.0, -0.0, 0.625, -0.625, 0.6249999999999999,
                                   44.014845965556525, 44.01484596555653, -44.01484596555653,
                                   1e-300, 5e-324, 88.0, 1e300, -1e300};
    for (int block = 0; block < 16; block++) {
        for (int i = 0; i < 256; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(state >> 11) * 0x1p-53; /* [0, 1) */
            x[i] = (i % 4 ? 0.625 + u * 43.4 : u * 0.625) * ((state >> 3) & 1 ? -1 : 1);
        }
        if (block == 0)
            memcpy(x, edges, sizeof edges);
        ag_map_d_simd(x, fast, 256, 0);
        for (int i = 0; i < 256; i++) {
            slow = ag_tanh(x[i]);
            if (memcmp(&slow, &fast[i], sizeof slow) != 0)
                return 0;
        }
    }
    ag_simd_on = 1;
#endif
    return ag_simd_on;
}

#endif /* AG_VMATH_H */
