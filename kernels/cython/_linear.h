/* Feature-length primitives of the fused linear-model gradient (kernels/cython/_linear.pyx).
 *
 * The kernel works on groups of 4 sample rows: the 4 rows (4 x D values) stay
 * in L1 between the score pass and the gradient pass, and each row of W / dW
 * is loaded once per group instead of once per row, which quarters the
 * traffic to the (L2-resident) weights. Rows a group lacks (the end of a chunk,
 * rows of weight 0) point to a row of zeros with coefficient 0, so one code
 * path serves every case and a skipped row adds exact zeros.
 *
 * Dot products keep 32 independent partial sums per row, combined in a fixed
 * order: that vectorizes without re-association (no fast-math), and the
 * result depends only on D, never on the thread count. NaN propagates.
 * Built for AVX-512, AVX2 and baseline SSE2 (target_clones), like _rowmath.h.
 */
#ifndef FASTLC_LINEAR_H
#define FASTLC_LINEAR_H

#include <stddef.h>

#include "_rowmath.h"

#define FASTLC_LINEAR_FUNCTIONS(T, SUFFIX)                                            \
/* out[r] = w . x_r for the 4 rows x0..x3 of length n. 32 partial sums per row   \
   (two AVX-512 registers: 8 independent FMA chains, enough to hide the FMA        \
   latency), then 16 for a remaining block of 16, a scalar tail, and a fixed      \
   pairwise tree 32 -> 16 -> ... -> 1 that also vectorizes. */                      \
FASTLC_CLONES static void fastlc_dot4_##SUFFIX(const T* w, const T* x0, const T* x1,  \
        const T* x2, const T* x3, ptrdiff_t n, T* out) {                              \
    T p0[32] = {0}, p1[32] = {0}, p2[32] = {0}, p3[32] = {0};                         \
    ptrdiff_t j = 0;                                                                  \
    for (; j + 32 <= n; j += 32)                                                      \
        for (int k = 0; k < 32; k++) {                                                \
            T wk = w[j + k];                                                          \
            p0[k] += wk * x0[j + k];                                                  \
            p1[k] += wk * x1[j + k];                                                  \
            p2[k] += wk * x2[j + k];                                                  \
            p3[k] += wk * x3[j + k];                                                  \
        }                                                                             \
    for (; j + 16 <= n; j += 16)                                                      \
        for (int k = 0; k < 16; k++) {                                                \
            T wk = w[j + k];                                                          \
            p0[k] += wk * x0[j + k];                                                  \
            p1[k] += wk * x1[j + k];                                                  \
            p2[k] += wk * x2[j + k];                                                  \
            p3[k] += wk * x3[j + k];                                                  \
        }                                                                             \
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                 \
    for (; j < n; j++) {                                                              \
        s0 += w[j] * x0[j];                                                           \
        s1 += w[j] * x1[j];                                                           \
        s2 += w[j] * x2[j];                                                           \
        s3 += w[j] * x3[j];                                                           \
    }                                                                                 \
    for (int width = 16; width >= 1; width /= 2)                                      \
        for (int k = 0; k < width; k++) {                                             \
            p0[k] += p0[k + width];                                                   \
            p1[k] += p1[k + width];                                                   \
            p2[k] += p2[k + width];                                                   \
            p3[k] += p3[k + width];                                                   \
        }                                                                             \
    out[0] = p0[0] + s0;                                                              \
    out[1] = p1[0] + s1;                                                              \
    out[2] = p2[0] + s2;                                                              \
    out[3] = p3[0] + s3;                                                              \
}                                                                                     \
/* y += a0 x0 + a1 x1 + a2 x2 + a3 x3, added one row after the other */               \
FASTLC_CLONES static void fastlc_axpy4_##SUFFIX(T* y, const T* x0, const T* x1,       \
        const T* x2, const T* x3, T a0, T a1, T a2, T a3, ptrdiff_t n) {              \
    for (ptrdiff_t j = 0; j < n; j++) {                                               \
        T acc = y[j];                                                                 \
        acc += a0 * x0[j];                                                            \
        acc += a1 * x1[j];                                                            \
        acc += a2 * x2[j];                                                            \
        acc += a3 * x3[j];                                                            \
        y[j] = acc;                                                                   \
    }                                                                                 \
}                                                                                     \
/* y += x */                                                                          \
FASTLC_CLONES static void fastlc_add_##SUFFIX(T* y, const T* x, ptrdiff_t n) {        \
    for (ptrdiff_t j = 0; j < n; j++) y[j] += x[j];                                   \
}

FASTLC_LINEAR_FUNCTIONS(float, f32)
FASTLC_LINEAR_FUNCTIONS(double, f64)

#endif
