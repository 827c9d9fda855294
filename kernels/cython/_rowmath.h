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

#include "_constants.h"
#include "_portable.h"

FASTLC_SHARED_HELPERS_BEGIN
/* Row functions are built for AVX-512, AVX2 and baseline x86-64 where the
   compiler can (see _portable.h); elsewhere once, for the target. */
#define FASTLC_CLONES FASTLC_TARGET_CLONES("arch=x86-64-v4", "avx2", "default")

/* Rows per call of the short-row hinge: one AVX-512 vector of float32. */
#define FASTLC_HINGE_GROUP 16
/* Rows of fewer classes than this take the short-row hinge (one row per vector
   lane); measured 1 thread, per row: C=40 2x faster than the row-wise path,
   C=64 ~15%, C=128 slower. */
#define FASTLC_HINGE_SHORT_ROW 64

/* Round-to-nearest by the 1.5 * 2^23 (float) / 1.5 * 2^52 (double) shifter:
   plain IEEE arithmetic, so it vectorizes on every ISA (floor would not on SSE2),
   and the integer n is read from the low bits of the shifted value. */
/* x = n ln 2 + r with n = round(x / ln 2), |r| <= ln 2 / 2 (ln 2 in two parts); returns r and
   sets *scale = 2^n, a normal number for x in [-87, 88]. */
static inline float fastlc_expf_reduce(float x, float* scale) {
    const float log2e = 1.44269504088896341f, shifter = 12582912.0f;
    const float c1 = 0.693359375f, c2 = -2.12194440e-4f;
    float t = x * log2e + shifter;
    int32_t n_bits;
    memcpy(&n_bits, &t, sizeof n_bits);
    float n = t - shifter;
    int32_t bits = (n_bits - 0x4B400000 + 127) << 23;   /* 2^n */
    memcpy(scale, &bits, sizeof bits);
    return x - n * c1 - n * c2;
}

/* e^r - 1 - r for |r| <= ln 2 / 2: r^2 P(r), Cephes' expf polynomial. */
static inline float fastlc_expf_tail(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r;
}

/* exp(x) for x in [-87, 88] (or NaN, which gives NaN): the range reduction and polynomial that
   fastlc_expf and fastlc_expf_upto88 (_nn_points.h) wrap in their clamps. */
static inline float fastlc_expf_in_range(float x) {
    float scale, r = fastlc_expf_reduce(x, &scale);
    return (fastlc_expf_tail(r) + r + 1.0f) * scale;
}

static inline float fastlc_expf(float x_in) {
    /* clamp (NaN becomes the low bound) so that 2^n stays a normal number */
    float x = x_in >= -87.0f ? x_in : -87.0f;
    x = x <= 88.0f ? x : 88.0f;
    float y = fastlc_expf_in_range(x);
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
#define FASTLC_ROW_FUNCTIONS(T, SUFFIX, EXP, LOG)                                     \
/* The Weston-Watkins term of one class, the one place of the hinge formula:       \
   h = max(z, 0), 0 for the correct class (masked), NaN z passes through ("0 > z" \
   is false for NaN; the max instruction when vectorized); its loss h or h^2; its  \
   slope dloss/dz: 2h, or 1 for h > 0 (also +inf), 0 at and below the kink z == 0 \
   and NaN for NaN h. The correct class is masked, not taken back out afterwards:  \
   its z = s_y + (margin - s_y) is not the margin when |s_y| is large, nor a       \
   number when s_y is infinite. squared is a constant where the callers inline     \
   these, or chosen outside the loops, so the compiler folds it. */                \
FASTLC_ALWAYS_INLINE T fastlc_hinge_h_##SUFFIX(T z, int masked) {                     \
    return ((0 > z) | masked) ? (T)0 : z;                                             \
}                                                                                     \
FASTLC_ALWAYS_INLINE T fastlc_hinge_loss_##SUFFIX(T h, int squared) {                 \
    return squared ? h * h : h;                                                       \
}                                                                                     \
FASTLC_ALWAYS_INLINE T fastlc_hinge_slope_##SUFFIX(T h, int squared) {                \
    return squared ? 2 * h : h > 0 ? (T)1 : h;                                        \
}                                                                                     \
/* The largest of x[0..n): NaN if x[0] is NaN, a later NaN is passed over (a NaN    \
   row gives NaN in the exp that follows either way). 16 running maxima, each       \
   started at x[0], so the loop is a lane-wise compare-and-select that gcc and      \
   clang vectorize (gcc every clone, clang most; clang would not vectorize the      \
   single running maximum: with NaN, x > m ? x : m is not an associative max).      \
   The scalar loop's value, except that a maximum of zero may come back as +0       \
   where it gave -0 (the callers subtract it: x - 0 and x + 0 give the same). */    \
FASTLC_CLONES static T fastlc_row_max_##SUFFIX(const T* x, ptrdiff_t n) {             \
    T m = x[0];                                                                       \
    ptrdiff_t j = 1;                                                                  \
    if (n >= 17) {                                                                    \
        T part[16];                                                                   \
        for (int k = 0; k < 16; k++) part[k] = m;                                     \
        for (; j + 16 <= n; j += 16) {                                                \
            FASTLC_OMP_SIMD()  /* gcc leaves the lanes scalar without it */           \
            for (int k = 0; k < 16; k++) part[k] = x[j + k] > part[k] ? x[j + k] : part[k]; \
        }                                                                             \
        for (int k = 0; k < 16; k++) m = part[k] > m ? part[k] : m;                   \
    }                                                                                 \
    for (; j < n; j++) m = x[j] > m ? x[j] : m;                                       \
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
/* Weston-Watkins hinge of one long row: writes the slopes dh/dz (0 for the      \
   correct class) to grad and returns (loss, sum of slopes) through the pointers. \
   Simple branch-free passes over the (cache-resident) row, each of which          \
   vectorizes: the sign of z is random, so branches would be mispredicted half    \
   the time. The variant is chosen outside the loops. */                           \
FASTLC_CLONES static void fastlc_hinge_row_##SUFFIX(const T* row, T* grad,            \
        ptrdiff_t n, ptrdiff_t correct, T margin, int squared,                        \
        T* loss_out, T* slope_sum_out) {                                              \
    T offset = margin - row[correct];                                                 \
    for (ptrdiff_t j = 0; j < n; j++)                                                 \
        grad[j] = fastlc_hinge_h_##SUFFIX(row[j] + offset, 0);                        \
    grad[correct] = 0;  /* the mask, outside the vectorized loop */                   \
    T partial[16] = {0};                                                              \
    ptrdiff_t j = 0;                                                                  \
    if (squared) {                                                                    \
        for (; j + 16 <= n; j += 16)                                                  \
            for (int k = 0; k < 16; k++)                                              \
                partial[k] += fastlc_hinge_loss_##SUFFIX(grad[j + k], 1);             \
        for (; j < n; j++) partial[0] += fastlc_hinge_loss_##SUFFIX(grad[j], 1);      \
        for (j = 0; j < n; j++) grad[j] = fastlc_hinge_slope_##SUFFIX(grad[j], 1);    \
    } else {                                                                          \
        for (; j + 16 <= n; j += 16)                                                  \
            for (int k = 0; k < 16; k++)                                              \
                partial[k] += fastlc_hinge_loss_##SUFFIX(grad[j + k], 0);             \
        for (; j < n; j++) partial[0] += fastlc_hinge_loss_##SUFFIX(grad[j], 0);      \
        for (j = 0; j < n; j++) grad[j] = fastlc_hinge_slope_##SUFFIX(grad[j], 0);    \
    }                                                                                 \
    T loss = 0;                                                                       \
    for (int k = 0; k < 16; k++) loss += partial[k];                                  \
    *loss_out = loss;                                                                 \
    *slope_sum_out = fastlc_row_sum_##SUFFIX(grad, n);                                \
}                                                                                     \
/* The same for a group of up to FASTLC_HINGE_GROUP short rows (a few classes     \
   each), including the correct class's slope, the scaling by the row weights and  \
   zero-weight rows. One row per vector lane: for 10 classes a row-wise loop is     \
   too short to vectorize and its sums are chains of dependent adds, while across  \
   rows every operation is independent (loads and stores become gathers and        \
   scatters, which still beat scalar code). Each lane sums its row in class order, \
   exactly as a scalar loop would, so a row's result does not depend on its lane   \
   or on the ISA's vector width. Branch-free (see fastlc_hinge_h). */              \
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
            T h = fastlc_hinge_h_##SUFFIX(z, j == correct[r]);                        \
            T slope = fastlc_hinge_slope_##SUFFIX(h, squared);                        \
            loss[r] += fastlc_hinge_loss_##SUFFIX(h, squared);                        \
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
}                                                                                     \
/* The hinge of n_rows rows, the one entry of the loss kernels (_losses.pyx) and      \
   the fused gradients (_linear.pyx): loss_out[r] = row_weight[r] * loss of row r,    \
   grad row r = row_weight[r] * grad_scale * dloss/ds, a row of weight 0 gives        \
   zeros (not a scaling by 0: the row may hold NaN). Short rows go FASTLC_HINGE_GROUP \
   at a time, one per vector lane; long rows one at a time. Either way a row's        \
   result depends only on the row, so both callers get the same bits. */              \
static void fastlc_hinge_rows_##SUFFIX(const T* scores, const ptrdiff_t* labels,      \
        const T* row_weight, T grad_scale, ptrdiff_t n_rows, ptrdiff_t n,             \
        T margin, int squared, T* loss_out, T* grad) {                                \
    if (n < FASTLC_HINGE_SHORT_ROW) {                                                 \
        for (ptrdiff_t first = 0; first < n_rows; first += FASTLC_HINGE_GROUP) {      \
            ptrdiff_t rows = n_rows - first < FASTLC_HINGE_GROUP ? n_rows - first : FASTLC_HINGE_GROUP; \
            fastlc_hinge_short_rows_##SUFFIX(scores + first * n, labels + first, row_weight + first, \
                                             grad_scale, rows, n, margin, squared, loss_out + first, \
                                             grad + first * n);                       \
        }                                                                             \
        return;                                                                       \
    }                                                                                 \
    for (ptrdiff_t r = 0; r < n_rows; r++) {                                          \
        T* row_grad = grad + r * n;                                                   \
        if (row_weight[r] == 0) {                                                     \
            for (ptrdiff_t j = 0; j < n; j++) row_grad[j] = 0;                        \
            loss_out[r] = 0;                                                          \
            continue;                                                                 \
        }                                                                             \
        T loss, slope_sum;                                                            \
        fastlc_hinge_row_##SUFFIX(scores + r * n, row_grad, n, labels[r], margin, squared, &loss, &slope_sum); \
        row_grad[labels[r]] = -slope_sum;                                             \
        fastlc_scale_##SUFFIX(row_grad, n, row_weight[r] * grad_scale);               \
        loss_out[r] = row_weight[r] * loss;                                           \
    }                                                                                 \
}                                                                                     \
/* Softmax cross-entropy of one row against a hard label, with class weights and      \
   label smoothing: the one copy for the loss kernel and the fused gradient. On       \
   entry grad holds exp(row - row_max) (the callers exponentiate a block of rows      \
   at once); on return coef * dL/ds. Returns the loss NOT yet times the row           \
   weight. With q_c = keep * w_y * [c == y] + smooth * w_c:                           \
   L = q_sum * log(total) - sum_c q_c (s_c - max). */                                 \
FASTLC_ALWAYS_INLINE T fastlc_cross_entropy_hard_row_##SUFFIX(const T* row, T* grad, ptrdiff_t n, \
        ptrdiff_t correct, T row_max, const T* class_weight, T weight_total, T label_smoothing, T coef) { \
    T smooth = label_smoothing / (T)n, keep = 1 - label_smoothing;                    \
    T total = fastlc_row_sum_##SUFFIX(grad, n);                                       \
    T w_correct = class_weight[correct];                                              \
    T q_sum = keep * w_correct + smooth * weight_total;                               \
    T loss = q_sum * LOG(total) - keep * w_correct * (row[correct] - row_max);        \
    T scale = coef * q_sum / total;                                                   \
    if (label_smoothing != 0) {                                                       \
        T weighted_shift = 0;                                                         \
        for (ptrdiff_t j = 0; j < n; j++) {                                           \
            if (class_weight[j] != 0)  /* 0 * -inf must not turn the loss into NaN */ \
                weighted_shift += class_weight[j] * (row[j] - row_max);               \
            grad[j] = scale * grad[j] - coef * smooth * class_weight[j];              \
        }                                                                             \
        loss -= smooth * weighted_shift;                                              \
    } else {                                                                          \
        fastlc_scale_##SUFFIX(grad, n, scale);                                        \
    }                                                                                 \
    grad[correct] -= coef * keep * w_correct;                                         \
    return loss;                                                                      \
}                                                                                     \
/* The same against a soft target row: q_c = w_c * (keep * t_c + smooth). */          \
FASTLC_ALWAYS_INLINE T fastlc_cross_entropy_soft_row_##SUFFIX(const T* row, T* grad, ptrdiff_t n, \
        const T* target, T row_max, const T* class_weight, T label_smoothing, T coef) { \
    T smooth = label_smoothing / (T)n, keep = 1 - label_smoothing;                    \
    T total = fastlc_row_sum_##SUFFIX(grad, n);                                       \
    T q_sum = 0, weighted_shift = 0;                                                  \
    for (ptrdiff_t j = 0; j < n; j++) {                                               \
        T q = class_weight[j] * (keep * target[j] + smooth);                          \
        q_sum += q;                                                                   \
        if (q != 0)  /* a class with no target weight adds nothing, even at logit -inf */ \
            weighted_shift += q * (row[j] - row_max);                                 \
    }                                                                                 \
    T scale = coef * q_sum / total;                                                   \
    for (ptrdiff_t j = 0; j < n; j++) {                                               \
        T q = class_weight[j] * (keep * target[j] + smooth);                          \
        grad[j] = scale * grad[j] - coef * q;                                         \
    }                                                                                 \
    return q_sum * LOG(total) - weighted_shift;                                       \
}

FASTLC_ROW_FUNCTIONS(float, f32, fastlc_expf, logf)
FASTLC_ROW_FUNCTIONS(double, f64, fastlc_exp, log)

FASTLC_SHARED_HELPERS_END

#endif
