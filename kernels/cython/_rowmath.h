/* Row primitives for the Cython kernels: max, shifted exp + sum, scale.
 *
 * Why C: the softmax kernels spend their time in exp. libm's exp is a scalar
 * call the compiler cannot vectorize, so we use Cephes' polynomial (float) and
 * rational (double) approximations, accurate to about 1 ulp, written without
 * branches so that gcc and clang vectorize the loops. On x86-64 Linux each
 * function is built for AVX-512, AVX2 and baseline SSE2 (target_clones, see
 * _portable.h) and the loader picks the best one for the CPU, so a wheel built
 * anywhere runs at full width here.
 *
 * Domain: the kernels only exponentiate max-shifted values x <= 0 (or NaN);
 * there the error is below 1.4 ulp (float) and 3 ulp (double), measured
 * against libm. Above 88 (float) / 709 (double) the result saturates to inf;
 * below -87 / -708 it flushes to 0 (those values are below 2e-38 / 3e-308 and
 * vanish next to the row's largest term, which is 1).
 * NaN propagates: exp(NaN) is NaN. exp(x) below the smallest normal result
 * returns 0 (this includes x = -inf, so masked logits get probability 0).
 */
#ifndef FASTLC_ROWMATH_H
#define FASTLC_ROWMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_portable.h"

/* Row functions are built for AVX-512, AVX2 and baseline x86-64 where the
   compiler can (see _portable.h); elsewhere once, for the target. */
#define FASTLC_CLONES FASTLC_TARGET_CLONES("arch=x86-64-v4", "avx2", "default")

/* Rows per call of the short-row hinge: one AVX-512 vector of float32. */
#define FASTLC_HINGE_GROUP 16

/* Round-to-nearest by the 1.5 * 2^23 (float) / 1.5 * 2^52 (double) shifter:
   plain IEEE arithmetic, so it vectorizes on every ISA (floor would not on SSE2),
   and the integer n is read from the low bits of the shifted value. */
static inline float fastlc_expf(float x_in) {
    const float log2e = 1.44269504088896341f, shifter = 12582912.0f;
    const float c1 = 0.693359375f, c2 = -2.12194440e-4f;
    /* clamp (NaN becomes the low bound) so that 2^n stays a normal number */
    float x = x_in >= -87.0f ? x_in : -87.0f;
    x = x <= 88.0f ? x : 88.0f;
    float t = x * log2e + shifter;
    int32_t n_bits;
    memcpy(&n_bits, &t, sizeof n_bits);
    float n = t - shifter;
    float r = x - n * c1 - n * c2;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (n_bits - 0x4B400000 + 127) << 23;   /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x_in < -87.0f ? 0.0f : y;                       /* underflow (also -inf) */
    y = x_in > 88.0f ? (float)INFINITY : y;             /* saturates */
    return x_in != x_in ? x_in : y;                     /* NaN propagates */
}

static inline double fastlc_exp(double x_in) {
    const double log2e = 1.4426950408889634073599, shifter = 6755399441055744.0;
    const double c1 = 6.93145751953125e-1, c2 = 1.42860682030941723212e-6;
    double x = x_in >= -708.0 ? x_in : -708.0;
    x = x <= 709.0 ? x : 709.0;
    double t = x * log2e + shifter;
    int64_t n_bits;
    memcpy(&n_bits, &t, sizeof n_bits);
    double n = t - shifter;
    double r = x - n * c1 - n * c2;
    double rr = r * r;
    double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr
                     + 9.99999999999999999910e-1);
    double qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
                 + 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
    double p = 1.0 + 2.0 * px / (qx - px);
    int64_t bits = (n_bits - 0x4338000000000000LL + 1023) << 52;   /* 2^n */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    double y = p * scale;
    y = x_in < -708.0 ? 0.0 : y;                        /* underflow (also -inf) */
    y = x_in > 709.0 ? (double)INFINITY : y;            /* saturates */
    return x_in != x_in ? x_in : y;
}

/* Sums keep 16 independent partial sums, combined in a fixed order at the end:
   that vectorizes without re-association (no fast-math) and gives the same
   result for every thread count. */
#define FASTLC_ROW_FUNCTIONS(T, SUFFIX, EXP)                                          \
FASTLC_CLONES static T fastlc_row_max_##SUFFIX(const T* x, ptrdiff_t n) {             \
    T m = x[0];                                                                       \
    FASTLC_OMP_SIMD(reduction(max:m))                                                 \
    for (ptrdiff_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;                        \
    return m;                                                                         \
}                                                                                     \
FASTLC_CLONES static T fastlc_row_sum_##SUFFIX(const T* x, ptrdiff_t n) {             \
    T partial[16] = {0};                                                              \
    ptrdiff_t j = 0;                                                                  \
    for (; j + 16 <= n; j += 16)                                                      \
        for (int k = 0; k < 16; k++) partial[k] += x[j + k];                          \
    T total = 0;                                                                      \
    for (; j < n; j++) total += x[j];                                                 \
    for (int k = 0; k < 16; k++) total += partial[k];                                 \
    return total;                                                                     \
}                                                                                     \
/* out = x - shift */                                                                 \
FASTLC_CLONES static void fastlc_shift_##SUFFIX(const T* x, T* out, ptrdiff_t n,      \
                                                T shift) {                            \
    for (ptrdiff_t j = 0; j < n; j++) out[j] = x[j] - shift;                          \
}                                                                                     \
/* x = exp(x), over a whole block of rows at once so short rows vectorize too */      \
FASTLC_CLONES static void fastlc_exp_inplace_##SUFFIX(T* x, ptrdiff_t n) {            \
    for (ptrdiff_t j = 0; j < n; j++) x[j] = EXP(x[j]);                               \
}                                                                                     \
FASTLC_CLONES static void fastlc_scale_##SUFFIX(T* x, ptrdiff_t n, T a) {             \
    for (ptrdiff_t j = 0; j < n; j++) x[j] *= a;                                      \
}                                                                                     \
/* Weston-Watkins hinge of one row: writes the slopes dh/dz (0 for the correct     \
   class) to grad and returns (loss, sum of slopes) through the pointers. Simple    \
   branch-free passes over the (cache-resident) row, each of which vectorizes: the  \
   sign of z is random, so branches would be mispredicted half the time. The kink   \
   z == 0 gets slope 0; NaN z gives NaN loss and slope. */                          \
FASTLC_CLONES static void fastlc_hinge_row_##SUFFIX(const T* row, T* grad,            \
        ptrdiff_t n, ptrdiff_t correct, T margin, int squared,                        \
        T* loss_out, T* slope_sum_out) {                                              \
    T offset = margin - row[correct];                                                 \
    for (ptrdiff_t j = 0; j < n; j++) {                                               \
        T z = row[j] + offset;                                                        \
        grad[j] = z <= 0 ? (T)0 : z;                                                  \
    }                                                                                 \
    grad[correct] = 0;                                                                \
    T partial[16] = {0};                                                              \
    ptrdiff_t j = 0;                                                                  \
    if (squared) {                                                                    \
        for (; j + 16 <= n; j += 16)                                                  \
            for (int k = 0; k < 16; k++) partial[k] += grad[j + k] * grad[j + k];     \
        for (; j < n; j++) partial[0] += grad[j] * grad[j];                           \
        for (j = 0; j < n; j++) grad[j] *= 2;                                         \
    } else {                                                                          \
        for (; j + 16 <= n; j += 16)                                                  \
            for (int k = 0; k < 16; k++) partial[k] += grad[j + k];                   \
        for (; j < n; j++) partial[0] += grad[j];                                     \
        for (j = 0; j < n; j++) grad[j] = grad[j] != grad[j] ? grad[j] : (T)(grad[j] > 0); \
    }                                                                                 \
    T loss = 0;                                                                       \
    for (int k = 0; k < 16; k++) loss += partial[k];                                  \
    *loss_out = loss;                                                                 \
    *slope_sum_out = fastlc_row_sum_##SUFFIX(grad, n);                                \
} \
/* The same for a group of up to FASTLC_HINGE_GROUP short rows (a few classes     \
   each), including the correct class's slope, the scaling by the row weights and  \
   zero-weight rows. One row per vector lane: for 10 classes a row-wise loop is     \
   too short to vectorize and its sums are chains of dependent adds, while across  \
   rows every operation is independent (loads and stores become gathers and        \
   scatters, which still beat scalar code). Each lane sums its row in class order, \
   exactly as a scalar loop would, so a row's result does not depend on its lane   \
   or on the ISA's vector width. Branch-free: "0 > z ? 0 : z" is the max          \
   instruction (NaN z passes through) and the slope is 1 for h > 0 (also +inf),    \
   NaN for a NaN h and 0 otherwise; the kink z == 0 gets slope 0. The correct      \
   class is masked out, not taken back out afterwards: its z = s_y + (margin - s_y) \
   is not the margin when |s_y| is large, nor a number when s_y is infinite. */     \
FASTLC_CLONES static void fastlc_hinge_short_rows_##SUFFIX(                           \
        const T* scores, const ptrdiff_t* labels,                                     \
        const T* row_weight, T grad_scale, ptrdiff_t n_rows, ptrdiff_t n,             \
        T margin, int squared, T* loss_out, T* grad) {                                \
    T offset[FASTLC_HINGE_GROUP], coef[FASTLC_HINGE_GROUP];                           \
    T loss[FASTLC_HINGE_GROUP], slope_sum[FASTLC_HINGE_GROUP];                        \
    ptrdiff_t correct[FASTLC_HINGE_GROUP];                                            \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                                          \
        correct[r] = labels[r];                                                       \
        offset[r] = margin - scores[r * n + correct[r]];                              \
        coef[r] = row_weight[r] * grad_scale;                                         \
        loss[r] = 0;                                                                  \
        slope_sum[r] = 0;                                                             \
    }                                                                                 \
    for (ptrdiff_t j = 0; j < n; j++) {                                               \
        FASTLC_OMP_SIMD()                                                             \
        for (ptrdiff_t r = 0; r < n_rows; r++) {                                      \
            T z = scores[r * n + j] + offset[r];                                      \
            T h = ((0 > z) | (j == correct[r])) ? (T)0 : z;                           \
            T slope = squared ? 2 * h : h > 0 ? (T)1 : h;  /* h is 0 or NaN there */ \
            loss[r] += squared ? h * h : h;                                           \
            slope_sum[r] += slope;                                                    \
            grad[r * n + j] = coef[r] * slope;                                        \
        }                                                                             \
    }                                                                                 \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                                          \
        T* row_grad = grad + r * n;                                                   \
        if (row_weight[r] == 0) {                                                     \
            /* not a scaling by 0: the row may hold NaN */                            \
            for (ptrdiff_t j = 0; j < n; j++) row_grad[j] = 0;                        \
            loss_out[r] = 0;                                                          \
            continue;                                                                 \
        }                                                                             \
        row_grad[correct[r]] = -coef[r] * slope_sum[r];                               \
        loss_out[r] = row_weight[r] * loss[r];                                        \
    }                                                                                 \
}

FASTLC_ROW_FUNCTIONS(float, f32, fastlc_expf)
FASTLC_ROW_FUNCTIONS(double, f64, fastlc_exp)

#endif
