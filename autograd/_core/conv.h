/* The convolution's and pooling's rearranging loops over raw rows, float and double.
 *
 * The images of a small network are small (the digits CNN's are 8x8, then 4x4), so their
 * rows are a few elements long and what costs is the work done once a row, not once an
 * element: an index computed from four strides, a branch mispredicted on the data, a
 * boundary tested. These loops do the least possible a row and nothing data-dependent
 * that branches:
 *
 * - ag_im2col copies each image plane once into a padded scratch plane (zero borders),
 *   then every tap's rows are plain copies from it, with no test for the border;
 * - ag_col2im is its adjoint: each plane's taps are added into a padded scratch plane,
 *   whose inside is then added into the image;
 * - both are used where the strides are at most the kernel's size and the paddings
 *   under it (nn_kernels.pyx, _dense), so that the padded plane is read through; other
 *   geometries (a stride wider than the kernel skips most of it) test the border;
 * - ag_pool2x2 is the 2x2, stride-2 max pooling with the maxima as the C comparison
 *   b > a ? b : a (one maxss instruction on x86) and the positions as integer
 *   arithmetic on the comparisons; a row that holds a NaN is done again by the exact
 *   rule (the first maximum in scan order, or the last NaN); its gradient writes every
 *   cell of the windows, so that the planes need no zeros first;
 * - ag_nchw_to_cn rearranges the output gradient for the weights' product and sums the
 *   bias gradient, four partial sums a plane instead of one chain of additions.
 *
 * Scratch comes from PyMem_RawMalloc; a function that cannot get it (or whose plane's
 * size overflows) returns -1 and writes nothing. */
#ifndef AG_CONV_H
#define AG_CONV_H

#include <Python.h> /* Py_ssize_t, PyMem_RawMalloc */
#include <string.h>

/* A padded plane of hp x wp elements of `size` bytes, or NULL where there is no memory
 * for it or its size does not fit (a huge padding with a huge stride can ask for a
 * plane far larger than the output) */
static void *ag_plane_alloc(Py_ssize_t hp, Py_ssize_t wp, size_t size) {
    if (hp < 0 || wp < 0 || (hp > 0 && wp > PY_SSIZE_T_MAX / (Py_ssize_t)size / hp))
        return NULL;
    return PyMem_RawMalloc((size_t)(hp * wp > 0 ? hp * wp : 1) * size);
}

/* A row of a few elements is copied in the loop, not by a call to memcpy (which GCC makes
 * of a copying loop, at a call's cost a row); rows of AG_LONG_ROW and more by memcpy */
#define AG_LONG_ROW 16
#if defined(__GNUC__) && !defined(__clang__)
#define AG_ROWS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define AG_ROWS
#endif

/* restrict as every C compiler the extension is built with spells it (MSVC's C too) */
#define AG_RESTRICT __restrict

/* One walk over a padded plane's taps, for im2col and for its adjoint col2im, so that
 * the two visit the same elements: tap (i, j) of output pixel (p, q) is pad element
 * [p sh + i][q sw + j] and col element [(i kw + j) cols + p ow + q]. TAP(a, b) moves
 * one pad element a and one col element b; INSIDE(a, b) one element a of the padded
 * plane's inside and the image element b under it. PADC and COLC are `const` on the
 * side the taps read (im2col reads the plane, col2im the columns), and the inside moves
 * the other way (the plane is filled from the image, or read into it): its plane side
 * takes COLC, its image side PADC. Each walk is written for short rows (copied in the
 * loop) and for long ones (where GCC calls memcpy). */
#define AG_SET_B(a, b) ((b) = (a))
#define AG_SET_A(a, b) ((a) = (b))
#define AG_ADD_A(a, b) ((a) += (b))
#define AG_ADD_B(a, b) ((b) += (a))

#define AG_TAPS(NAME, T, ATTR, PADC, COLC, TAP, INSIDE)                                     \
    ATTR static void NAME(PADC T *AG_RESTRICT pad, COLC T *AG_RESTRICT col, Py_ssize_t cols, \
                          Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,       \
                          Py_ssize_t wp, Py_ssize_t oh, Py_ssize_t ow) {                    \
        for (Py_ssize_t i = 0; i < kh; i++) {                                               \
            for (Py_ssize_t j = 0; j < kw; j++, col += cols) {                              \
                PADC T *a = pad + i * wp + j;                                               \
                COLC T *b = col;                                                            \
                for (Py_ssize_t p = 0; p < oh; p++, a += sh * wp, b += ow) {                \
                    if (sw == 1) {                                                          \
                        for (Py_ssize_t q = 0; q < ow; q++)                                 \
                            TAP(a[q], b[q]);                                                \
                    } else {                                                                \
                        for (Py_ssize_t q = 0; q < ow; q++)                                 \
                            TAP(a[q * sw], b[q]);                                           \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
    ATTR static void NAME##_inside(COLC T *AG_RESTRICT pad, PADC T *AG_RESTRICT image,      \
                                   Py_ssize_t h, Py_ssize_t w, Py_ssize_t ph, Py_ssize_t pw, \
                                   Py_ssize_t wp) {                                         \
        for (Py_ssize_t r = 0; r < h; r++) {                                                \
            COLC T *a = pad + (r + ph) * wp + pw;                                           \
            for (Py_ssize_t q = 0; q < w; q++)                                              \
                INSIDE(a[q], image[r * w + q]);                                             \
        }                                                                                   \
    }

#define AG_CONV_BUILD(SUFFIX, T)                                                           \
    AG_TAPS(ag_im2col_short_##SUFFIX, T, AG_ROWS, const, , AG_SET_B, AG_SET_A)              \
    AG_TAPS(ag_im2col_long_##SUFFIX, T, , const, , AG_SET_B, AG_SET_A)                      \
    AG_TAPS(ag_col2im_short_##SUFFIX, T, AG_ROWS, , const, AG_ADD_A, AG_ADD_B)              \
    AG_TAPS(ag_col2im_long_##SUFFIX, T, , , const, AG_ADD_A, AG_ADD_B)                      \
                                                                                            \
    /* col (c*kh*kw, n*oh*ow) from x (n, c, h, w), both C-contiguous: each image plane    \
     * into a padded plane (its borders stay zero), then its taps into col */               \
    static int ag_im2col_##SUFFIX(const T *x, T *col, Py_ssize_t n, Py_ssize_t c,           \
                                  Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, \
                                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,              \
                                  Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow) {            \
        Py_ssize_t hp = h + 2 * ph, wp = w + 2 * pw, plane = oh * ow, cols = n * plane;     \
        int longer = w >= AG_LONG_ROW;                                                      \
        T *pad = (T *)ag_plane_alloc(hp, wp, sizeof(T));                                   \
        if (pad == NULL)                                                                    \
            return -1;                                                                      \
        memset(pad, 0, (size_t)(hp * wp) * sizeof(T));                                      \
        for (Py_ssize_t ni = 0; ni < n; ni++) {                                             \
            for (Py_ssize_t ci = 0; ci < c; ci++) {                                         \
                const T *image = x + (ni * c + ci) * h * w;                                 \
                T *dst = col + ci * kh * kw * cols + ni * plane;                            \
                if (longer) {                                                               \
                    ag_im2col_long_##SUFFIX##_inside(pad, image, h, w, ph, pw, wp);         \
                    ag_im2col_long_##SUFFIX(pad, dst, cols, kh, kw, sh, sw, wp, oh, ow);    \
                } else {                                                                    \
                    ag_im2col_short_##SUFFIX##_inside(pad, image, h, w, ph, pw, wp);        \
                    ag_im2col_short_##SUFFIX(pad, dst, cols, kh, kw, sh, sw, wp, oh, ow);   \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        PyMem_RawFree(pad);                                                                 \
        return 0;                                                                           \
    }                                                                                       \
                                                                                            \
    /* x (n, c, h, w) += the taps of col (c*kh*kw, n*oh*ow) where they were read from:     \
     * each plane's taps summed in a zeroed padded plane, whose inside is added into x */   \
    static int ag_col2im_##SUFFIX(const T *col, T *x, Py_ssize_t n, Py_ssize_t c,           \
                                  Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, \
                                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph,              \
                                  Py_ssize_t pw, Py_ssize_t oh, Py_ssize_t ow) {            \
        Py_ssize_t hp = h + 2 * ph, wp = w + 2 * pw, plane = oh * ow, cols = n * plane;     \
        int longer = w >= AG_LONG_ROW;                                                      \
        T *pad = (T *)ag_plane_alloc(hp, wp, sizeof(T));                                   \
        if (pad == NULL)                                                                    \
            return -1;                                                                      \
        for (Py_ssize_t ni = 0; ni < n; ni++) {                                             \
            for (Py_ssize_t ci = 0; ci < c; ci++) {                                         \
                memset(pad, 0, (size_t)(hp * wp) * sizeof(T));                              \
                const T *src = col + ci * kh * kw * cols + ni * plane;                      \
                T *image = x + (ni * c + ci) * h * w;                                       \
                if (longer) {                                                               \
                    ag_col2im_long_##SUFFIX(pad, src, cols, kh, kw, sh, sw, wp, oh, ow);    \
                    ag_col2im_long_##SUFFIX##_inside(pad, image, h, w, ph, pw, wp);         \
                } else {                                                                    \
                    ag_col2im_short_##SUFFIX(pad, src, cols, kh, kw, sh, sw, wp, oh, ow);   \
                    ag_col2im_short_##SUFFIX##_inside(pad, image, h, w, ph, pw, wp);        \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        PyMem_RawFree(pad);                                                                 \
        return 0;                                                                           \
    }                                                                                       \
                                                                                            \
    /* The first maximum of a window's four values in scan order, or its last NaN, and  \
     * its position 0-3: the rule written out, for rows that hold a NaN */                  \
    static inline unsigned char ag_max4_##SUFFIX(const T v[4], T *best) {                   \
        unsigned char t = 0;                                                                \
        for (int k = 1; k < 4; k++) {                                                       \
            if (v[k] > v[t] || v[k] != v[k])                                                \
                t = (unsigned char)k;                                                       \
        }                                                                                   \
        *best = v[t];                                                                       \
        return t;                                                                           \
    }                                                                                       \
                                                                                            \
    /* y (m, oh, ow): the maxima of x (m, h, w)'s 2x2 windows, stride 2, no padding;    \
     * mode 2: their positions in the window (pos), 1: in the plane (idx), 0: neither */   \
    static void ag_pool2x2_##SUFFIX(const T *AG_RESTRICT x, T *AG_RESTRICT y,                   \
                                    Py_ssize_t *AG_RESTRICT idx, unsigned char *AG_RESTRICT pos, \
                                    int mode, Py_ssize_t m, Py_ssize_t h, Py_ssize_t w,     \
                                    Py_ssize_t oh, Py_ssize_t ow) {                         \
        for (Py_ssize_t mi = 0; mi < m; mi++) {                                             \
            const T *r0 = x + mi * h * w;                                                   \
            for (Py_ssize_t p = 0; p < oh; p++, r0 += 2 * w, y += ow) {                     \
                const T *r1 = r0 + w;                                                       \
                int nan = 0;                                                                \
                /* without NaN: the first maximum of each pair, then of the pairs */        \
                for (Py_ssize_t q = 0; q < ow; q++) {                                       \
                    T a = r0[2 * q], b = r0[2 * q + 1], c = r1[2 * q], d = r1[2 * q + 1];   \
                    int top = b > a, bottom = d > c;                                        \
                    T ab = b > a ? b : a, cd = d > c ? d : c;                               \
                    int down = cd > ab;                                                     \
                    y[q] = cd > ab ? cd : ab;                                               \
                    /* the row's bit: bottom's if down, else top's */                       \
                    pos[q] = (unsigned char)(2 * down + (top ^ ((top ^ bottom) & -down)));  \
                    T s = (a + b) + (c + d); /* NaN where one is (or on inf - inf) */       \
                    nan |= s != s;                                                          \
                }                                                                           \
                if (nan) {                                                                  \
                    for (Py_ssize_t q = 0; q < ow; q++) {                                   \
                        T v[4] = {r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1]};      \
                        pos[q] = ag_max4_##SUFFIX(v, &y[q]);                                \
                    }                                                                       \
                }                                                                           \
                if (mode == 1) {                                                            \
                    for (Py_ssize_t q = 0; q < ow; q++)                                     \
                        idx[q] = (2 * p + (pos[q] >> 1)) * w + 2 * q + (pos[q] & 1);        \
                    idx += ow;                                                              \
                }                                                                           \
                pos += mode ? ow : 0;                                                       \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    /* The gradient of ag_pool2x2 over planes that its windows cover (h = 2 oh, w = 2 ow): \
     * each window's four cells written, its gradient where the maximum was (pos) and +0 \
     * elsewhere (0 + g, as the gradient added into zeros); the count of positions over 3 */ \
    static Py_ssize_t ag_pool2x2_grad_##SUFFIX(const unsigned char *AG_RESTRICT pos,          \
                                               const T *AG_RESTRICT gy, T *AG_RESTRICT gx,        \
                                               Py_ssize_t rows, Py_ssize_t ow) {            \
        Py_ssize_t bad = 0;                                                                 \
        for (Py_ssize_t r = 0; r < rows; r++, pos += ow, gy += ow, gx += 4 * ow) {          \
            T *r0 = gx, *r1 = gx + 2 * ow;                                                  \
            for (Py_ssize_t q = 0; q < ow; q++) {                                           \
                Py_ssize_t t = pos[q];                                                      \
                r0[2 * q] = r0[2 * q + 1] = r1[2 * q] = r1[2 * q + 1] = 0;                  \
                if (t > 3) {                                                                \
                    bad++;                                                                  \
                    continue;                                                               \
                }                                                                           \
                (t < 2 ? r0 : r1 - 2)[2 * q + t] = (T)0 + gy[q];                            \
            }                                                                               \
        }                                                                                   \
        return bad;                                                                         \
    }                                                                                       \
                                                                                            \
    /* gy (n, o, l) as gy2 (o, n*l), and gb[o] += its sums over n and l */                  \
    static void ag_nchw_to_cn_##SUFFIX(const T *AG_RESTRICT gy, T *AG_RESTRICT gy2,              \
                                       double *AG_RESTRICT gb, Py_ssize_t n, Py_ssize_t outs,  \
                                       Py_ssize_t size) {                                   \
        for (Py_ssize_t ni = 0; ni < n; ni++) {                                             \
            for (Py_ssize_t o = 0; o < outs; o++) {                                         \
                const T *s = gy + (ni * outs + o) * size;                                   \
                T *d = gy2 + o * n * size + ni * size;                                      \
                double a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* four sums, not one chain */       \
                Py_ssize_t k = 0;                                                           \
                for (; k + 4 <= size; k += 4) {                                             \
                    a0 += s[k];                                                             \
                    a1 += s[k + 1];                                                         \
                    a2 += s[k + 2];                                                         \
                    a3 += s[k + 3];                                                         \
                }                                                                           \
                for (; k < size; k++)                                                       \
                    a0 += s[k];                                                             \
                for (k = 0; k < size; k++)                                                  \
                    d[k] = s[k];                                                            \
                gb[o] += (a0 + a1) + (a2 + a3);                                             \
            }                                                                               \
        }                                                                                   \
    }

AG_CONV_BUILD(d, double)
AG_CONV_BUILD(f, float)

#endif
