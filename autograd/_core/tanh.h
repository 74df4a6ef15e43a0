/* Go's math.Tanh (Cephes: a rational approximation below 0.625, 1 - 2/(exp(2|x|) + 1)
 * above) over the C library's exp, and the sigmoid in Go's form: the seed programs print
 * Go's digits. One element; vmath.h has the array loops. */
#ifndef AG_TANH_H
#define AG_TANH_H

#include <math.h>

/* Cephes' constants, used here and by vmath.h's four-lane form */
#define AG_TANH_BIG 44.014845965556525 /* 0.5 * log(2**127): tanh is +-1 above */
#define AG_TANH_SMALL 0.625            /* the rational form below, exp's above */
#define AG_TANH_P0 -9.64399179425052238628e-1
#define AG_TANH_P1 -9.92877231001918586564e1
#define AG_TANH_P2 -1.61468768441708447952e3
#define AG_TANH_Q0 1.12811678491632931402e2
#define AG_TANH_Q1 2.23548839060100448583e3
#define AG_TANH_Q2 4.84406305325125486048e3

static inline double ag_tanh(double x) {
    double z = fabs(x), s;
    if (z > AG_TANH_BIG)
        return x < 0 ? -1.0 : 1.0;
    if (z >= AG_TANH_SMALL) {
        s = exp(2.0 * z);
        z = 1.0 - 2.0 / (s + 1.0);
        return x < 0 ? -z : z;
    }
    if (x == 0)
        return x;
    s = x * x;
    return x + x * s * ((AG_TANH_P0 * s + AG_TANH_P1) * s + AG_TANH_P2) /
               (((s + AG_TANH_Q0) * s + AG_TANH_Q1) * s + AG_TANH_Q2);
}

/* Go's form, 0.5 + 0.5 tanh(x / 2): no overflow, and the seed's digits */
static inline double ag_sigmoid(double x) { return 0.5 + 0.5 * ag_tanh(0.5 * x); }

#endif /* AG_TANH_H */
