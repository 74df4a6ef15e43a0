/* Matrix products in the seed's order, the same bits on every CPU.
 *
 * c[i][j] is the Go library's loop, p = p + a[i][k] * b[k][j] for k = 0, 1, ..., from
 * p = +0: each product rounded, then added (no fused multiply-add; the file must be
 * compiled with -ffp-contract=off). A BLAS library sums in an order of its own, which
 * depends on the CPU it picks kernels for (OpenBLAS's Haswell and SkylakeX kernels give
 * other last bits for the same 1x3 by 3x5 product), so the seed's printed digits could
 * not be kept with it on every machine.
 *
 * The loop keeps that order and still runs a vector's width of columns at once: a tile
 * of 4 rows by 2 vectors of columns is kept in registers over the whole depth, each
 * element of it its own sum in k's order. The vectors are SSE2's (the x86-64 baseline),
 * AVX2's or AVX-512's, the narrowest that cover the output's width up to what the CPU
 * has (checked at run time; a vector of adds is the same adds, so the bits are the
 * same on each): a tile is 4x4 to 4x16 doubles, 4x8 to 4x32 floats. The wider of the
 * output's dimensions runs along the vectors (where it has fewer columns than rows,
 * its transpose is computed: the same products, added in the same order). B is read a
 * panel of columns at a time, packed into scratch where it is not contiguous along its
 * rows or the panel is the last, partial one (padded with zeros, whose columns are
 * computed and dropped); the rows after the last whole tile are computed one at a
 * time. A NaN's sign bit may differ between the vector widths (which operand's NaN an
 * addition keeps is the instruction's choice). */
#ifndef AG_GEMM_H
#define AG_GEMM_H

#include <Python.h> /* Py_ssize_t, PyMem_RawMalloc */
#include <string.h>

#define AG_GEMM_MR 4 /* rows of a tile */

/* Vectors of 16, 32 and 64 bytes: SSE2 (the x86-64 baseline), AVX2 and AVX-512 */
#if defined(__GNUC__)
typedef double ag_vd2 __attribute__((vector_size(16)));
typedef float ag_vf4 __attribute__((vector_size(16)));
typedef double ag_vd4 __attribute__((vector_size(32)));
typedef float ag_vf8 __attribute__((vector_size(32)));
typedef double ag_vd8 __attribute__((vector_size(64)));
typedef float ag_vf16 __attribute__((vector_size(64)));
#define AG_INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__) && !defined(_WIN32)
#define AG_GEMM_X86 1
#endif
#else
/* no vector extensions: a "vector" of one element, the same sums */
typedef double ag_vd2;
typedef float ag_vf4;
#define AG_INLINE static inline
#endif

/* One tile: out[r][0 .. 2 lanes) = sum over k of a[r][k] * b[k][...], b's rows bk apart.
 * T the element type, V the vector type; a's rows are pointers, its elements ak apart. */
#define AG_GEMM_TILE(NAME, T, V)                                                         \
    AG_INLINE void NAME(Py_ssize_t depth, const T *const a[AG_GEMM_MR], Py_ssize_t ak,    \
                        const T *b, Py_ssize_t bk, T *out) {                              \
        enum { W = sizeof(V) / sizeof(T) };                                               \
        V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0};                                     \
        V c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};                                     \
        const T *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];                           \
        for (Py_ssize_t p = 0; p < depth; p++) {                                          \
            V b0, b1;                                                                     \
            memcpy(&b0, b + p * bk, sizeof b0);                                           \
            memcpy(&b1, b + p * bk + W, sizeof b1);                                       \
            T x0 = a0[p * ak], x1 = a1[p * ak], x2 = a2[p * ak], x3 = a3[p * ak];         \
            c00 = c00 + x0 * b0;                                                          \
            c01 = c01 + x0 * b1;                                                          \
            c10 = c10 + x1 * b0;                                                          \
            c11 = c11 + x1 * b1;                                                          \
            c20 = c20 + x2 * b0;                                                          \
            c21 = c21 + x2 * b1;                                                          \
            c30 = c30 + x3 * b0;                                                          \
            c31 = c31 + x3 * b1;                                                          \
        }                                                                                 \
        memcpy(out + 0 * W, &c00, sizeof c00);                                            \
        memcpy(out + 1 * W, &c01, sizeof c01);                                            \
        memcpy(out + 2 * W, &c10, sizeof c10);                                            \
        memcpy(out + 3 * W, &c11, sizeof c11);                                            \
        memcpy(out + 4 * W, &c20, sizeof c20);                                            \
        memcpy(out + 5 * W, &c21, sizeof c21);                                            \
        memcpy(out + 6 * W, &c30, sizeof c30);                                            \
        memcpy(out + 7 * W, &c31, sizeof c31);                                            \
    }

/* One row of a tile (for the rows after the last whole tile): out[0 .. 2 lanes) */
#define AG_GEMM_ROW(NAME, T, V)                                                          \
    AG_INLINE void NAME(Py_ssize_t depth, const T *a0, Py_ssize_t ak, const T *b,          \
                        Py_ssize_t bk, T *out) {                                          \
        enum { W = sizeof(V) / sizeof(T) };                                               \
        V c0 = {0}, c1 = {0};                                                             \
        for (Py_ssize_t p = 0; p < depth; p++) {                                          \
            V b0, b1;                                                                     \
            memcpy(&b0, b + p * bk, sizeof b0);                                           \
            memcpy(&b1, b + p * bk + W, sizeof b1);                                       \
            T x0 = a0[p * ak];                                                            \
            c0 = c0 + x0 * b0;                                                            \
            c1 = c1 + x0 * b1;                                                            \
        }                                                                                 \
        memcpy(out, &c0, sizeof c0);                                                      \
        memcpy(out + W, &c1, sizeof c1);                                                  \
    }

/* The product of an m x depth matrix a (element strides sa0, sa1) by a depth x n matrix
 * b (sb0, sb1) into c (sc0, sc1). panel: scratch of depth x 2 vectors' elements, used
 * where b's panel must be packed. */
#define AG_GEMM_LOOP(NAME, TILE, ROW, T, V)                                              \
    AG_INLINE void NAME(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const T *a,         \
                        Py_ssize_t sa0, Py_ssize_t sa1, const T *b, Py_ssize_t sb0,       \
                        Py_ssize_t sb1, T *c, Py_ssize_t sc0, Py_ssize_t sc1,             \
                        T *panel) {                                                       \
        enum { NR = 2 * (sizeof(V) / sizeof(T)) };                                        \
        T tile[AG_GEMM_MR * NR];                                                          \
        for (Py_ssize_t j0 = 0; j0 < n; j0 += NR) {                                       \
            Py_ssize_t cols = n - j0 < NR ? n - j0 : NR;                                  \
            const T *bp = b + j0 * sb1;                                                   \
            Py_ssize_t bk = sb0;                                                          \
            if (cols < NR || sb1 != 1) {                                                  \
                for (Py_ssize_t p = 0; p < depth; p++)                                    \
                    for (Py_ssize_t j = 0; j < NR; j++)                                   \
                        panel[p * NR + j] = j < cols ? bp[p * sb0 + j * sb1] : (T)0;      \
                bp = panel;                                                               \
                bk = NR;                                                                  \
            }                                                                             \
            for (Py_ssize_t i0 = 0; i0 < m; i0 += AG_GEMM_MR) {                           \
                Py_ssize_t rows = m - i0 < AG_GEMM_MR ? m - i0 : AG_GEMM_MR;              \
                if (rows == AG_GEMM_MR) {                                                 \
                    const T *ar[AG_GEMM_MR];                                              \
                    for (Py_ssize_t r = 0; r < AG_GEMM_MR; r++)                           \
                        ar[r] = a + (i0 + r) * sa0;                                       \
                    TILE(depth, ar, sa1, bp, bk, tile);                                   \
                } else {                                                                  \
                    for (Py_ssize_t r = 0; r < rows; r++)                                 \
                        ROW(depth, a + (i0 + r) * sa0, sa1, bp, bk, tile + r * NR);       \
                }                                                                         \
                for (Py_ssize_t r = 0; r < rows; r++) {                                   \
                    T *row = c + (i0 + r) * sc0 + j0 * sc1;                               \
                    if (sc1 == 1)                                                         \
                        memcpy(row, tile + r * NR, cols * sizeof(T));                     \
                    else                                                                  \
                        for (Py_ssize_t j = 0; j < cols; j++)                             \
                            row[j * sc1] = tile[r * NR + j];                              \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    }

/* The loops compiled for the baseline CPU, and for AVX2 and AVX-512 (the same
 * operations, so the same bits, on wider registers) */
#define AG_GEMM_ENTRY(NAME, LOOP, T, TARGET)                                             \
    TARGET static void NAME(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const T *a,     \
                            Py_ssize_t sa0, Py_ssize_t sa1, const T *b, Py_ssize_t sb0,   \
                            Py_ssize_t sb1, T *c, Py_ssize_t sc0, Py_ssize_t sc1,         \
                            T *panel) {                                                   \
        LOOP(m, n, depth, a, sa0, sa1, b, sb0, sb1, c, sc0, sc1, panel);                  \
    }

/* One vector width's build for one element type: its tile, row, loop and entry NAME */
#define AG_GEMM_BUILD(NAME, T, V, TARGET)                                               \
    AG_GEMM_TILE(NAME##_tile, T, V)                                                       \
    AG_GEMM_ROW(NAME##_row, T, V)                                                         \
    AG_GEMM_LOOP(NAME##_loop, NAME##_tile, NAME##_row, T, V)                              \
    AG_GEMM_ENTRY(NAME, NAME##_loop, T, TARGET)

AG_GEMM_BUILD(ag_gemm_d_base, double, ag_vd2, )
AG_GEMM_BUILD(ag_gemm_f_base, float, ag_vf4, )
#ifdef AG_GEMM_X86
AG_GEMM_BUILD(ag_gemm_d_avx2, double, ag_vd4, __attribute__((target("avx2"))))
AG_GEMM_BUILD(ag_gemm_f_avx2, float, ag_vf8, __attribute__((target("avx2"))))
AG_GEMM_BUILD(ag_gemm_d_avx512, double, ag_vd8, __attribute__((target("avx512f"))))
AG_GEMM_BUILD(ag_gemm_f_avx512, float, ag_vf16, __attribute__((target("avx512f"))))
#endif

/* The widest vectors the CPU has and ag_gemm_setup allows: 0 the baseline's, 1 AVX2's,
 * 2 AVX-512's (the results are the same on each) */
static int ag_gemm_level
#ifdef __GNUC__
    __attribute__((unused))
#endif
    = 0;

static inline int ag_gemm_setup(int most) {
    ag_gemm_level = 0;
#ifdef AG_GEMM_X86
    if (most >= 1 && __builtin_cpu_supports("avx2"))
        ag_gemm_level = 1;
    if (most >= 2 && __builtin_cpu_supports("avx512f"))
        ag_gemm_level = 2;
#else
    (void)most;
#endif
    return ag_gemm_level;
}

/* c = a @ b: a and b as AG_GEMM_LOOP's, c's rows ldc apart, its columns contiguous.
 *
 * The wider of the output's two dimensions runs along the vectors: where n < m, the
 * loop computes c's transpose, b.T @ a.T (the same products, added in the same order:
 * the same bits), so that a column (n = 1) is not a tile of mostly padding. The vectors
 * are the narrowest that cover that width, up to the CPU's widest: a tile wider than the
 * output would compute padding. A product with no element returns at once. Returns 0,
 * or -1 where the scratch could not be allocated. Runs without the GIL. */
#define AG_GEMM_CALL(NAME, T)                                                             \
    static inline int NAME(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const T *a,      \
                           Py_ssize_t sa0, Py_ssize_t sa1, const T *b, Py_ssize_t sb0,    \
                           Py_ssize_t sb1, T *c, Py_ssize_t ldc) {                         \
        Py_ssize_t sc0 = ldc, sc1 = 1, t;                                                 \
        if (m <= 0 || n <= 0)                                                             \
            return 0;                                                                     \
        if (n < m) {                                                                      \
            const T *swap = a;                                                            \
            a = b;                                                                        \
            b = swap;                                                                     \
            t = m, m = n, n = t;                                                          \
            t = sa0, sa0 = sb1, sb1 = t;                                                  \
            t = sa1, sa1 = sb0, sb0 = t;                                                  \
            sc0 = 1, sc1 = ldc;                                                           \
        }                                                                                 \
        /* columns per tile at each level: 2 vectors of 16, 32 or 64 bytes */            \
        Py_ssize_t width = 32 / sizeof(T);                                                \
        int level = 0;                                                                    \
        while (level < ag_gemm_level && n > width) {                                      \
            level++;                                                                      \
            width *= 2;                                                                   \
        }                                                                                 \
        T *panel = NULL;                                                                  \
        if (sb1 != 1 || n % width != 0) {                                                 \
            if (depth > PY_SSIZE_T_MAX / width / (Py_ssize_t)sizeof(T))                   \
                return -1;                                                                \
            panel = (T *)PyMem_RawMalloc((size_t)(depth > 0 ? depth : 1) * width * sizeof(T)); \
            if (panel == NULL)                                                            \
                return -1;                                                                \
        }                                                                                 \
        AG_GEMM_DISPATCH(NAME, level, m, n, depth, a, sa0, sa1, b, sb0, sb1, c, sc0, sc1, panel); \
        PyMem_RawFree(panel);                                                             \
        return 0;                                                                         \
    }

#ifdef AG_GEMM_X86
#define AG_GEMM_DISPATCH(NAME, LEVEL, ...)                                               \
    do {                                                                                  \
        if ((LEVEL) == 2)                                                                 \
            NAME##_avx512(__VA_ARGS__);                                                   \
        else if ((LEVEL) == 1)                                                            \
            NAME##_avx2(__VA_ARGS__);                                                     \
        else                                                                              \
            NAME##_base(__VA_ARGS__);                                                     \
    } while (0)
#else
#define AG_GEMM_DISPATCH(NAME, LEVEL, ...) NAME##_base(__VA_ARGS__)
#endif

AG_GEMM_CALL(ag_gemm_d, double)
AG_GEMM_CALL(ag_gemm_f, float)

#endif /* AG_GEMM_H */
