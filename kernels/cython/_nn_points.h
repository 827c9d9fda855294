/* Point functions of the losses (and the branch-free math they use): one element of
 * each loss and its slope, for float and double from one macro (FASTLC_NN_POINTS).
 * Used by the nn loss kernels' chunk loops (_nn.h) and by the fused regression
 * gradient (_linear.pyx): one formula in one place. All static inline, so a module
 * that includes this header without using every function compiles without warnings.
 */
#ifndef FASTLC_NN_POINTS_H
#define FASTLC_NN_POINTS_H

#include <math.h>
#include <stddef.h>
#include "_rowmath.h"

/* Branch-free tanh, expm1 and log1p for the activations, so that their loops vectorize
   (libm's are scalar calls, 10-40x slower). The double forms are below; the float ones
   are float versions of the same forms, except tanh (a rational form without exp, see
   fastlc_tanh32) and expm1 (one range reduction, see fastlc_expm1_nonpositive32). A few ulp.
   - tanh (double): Cephes' rational approximation for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1);
   - expm1 (double): the Pade form of fastlc_exp for |x| <= 0.5 (Cephes' expm1), else exp(x) - 1;
   - log1p(u) for -1/2 <= u <= 1 (softplus, BCE): 2 atanh(s), s = u / (2 + u), |s| <= 1/3, by its series. */
/* exp(x) for arguments that cannot exceed 88 (exp(-|u|), exp(-x^2 / 2), erfc's exp(P(t) - z^2)):
   fastlc_expf without its overflow clamp and select, and with the low clamp written so that a NaN
   passes through it (x < -87 is false for NaN) instead of needing a select of its own: 3 of its
   ~20 vector operations fewer, the same bits for every argument up to 88 (exp(x) underflows to 0
   below -87, NaN stays NaN). Measured in-cache on AVX-512 (1 thread): exact GELU forward 0.72 ->
   0.59 ns per element. */
static inline float fastlc_expf_upto88(float x_in) {
    float y = fastlc_expf_in_range(x_in < -87.0f ? -87.0f : x_in);  /* NaN: NaN */
    return x_in < -87.0f ? 0.0f : y;
}
static inline double fastlc_exp_upto709(double x) { return fastlc_exp(x); }

static inline double fastlc_tanh64(double x) {
    double z = x * x;
    double p = (-9.64399179425052238628E-1 * z - 9.92877231001918586564E1) * z - 1.61468768441708447952E3;
    double q = ((z + 1.12811678491632931402E2) * z + 2.23548839060100448583E3) * z + 4.84406305325125486048E3;
    double small = x + x * z * p / q;
    double large = copysign(1.0 - 2.0 / (fastlc_exp(2.0 * fabs(x)) + 1.0), x);  /* NaN stays NaN */
    return fabs(x) < 0.625 ? small : large;
}
static inline double fastlc_expm1_64(double x) {
    double xx = x * x;
    double px = x * ((1.26177193074810590878e-4 * xx + 3.02994407707441961300e-2) * xx + 9.99999999999999999910e-1);
    double qx = ((3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1) * xx
                + 2.0;
    double small = 2.0 * px / (qx - px);
    return fabs(x) <= 0.5 ? small : fastlc_exp(x) - 1.0;
}
static inline double fastlc_log1p_unit64(double u) {
    double s = u / (2.0 + u), s2 = s * s;
    return 2.0 * s * ((((((((((((((((((1.0 / 35.0) * s2 + 1.0 / 33.0) * s2 + 1.0 / 31.0) * s2 + 1.0 / 29.0) * s2 + 1.0 / 27.0) * s2 + 1.0 / 25.0) * s2 + 1.0 / 23.0) * s2 + 1.0 / 21.0) * s2 + 1.0 / 19.0) * s2 + 1.0 / 17.0) * s2 + 1.0 / 15.0) * s2 + 1.0 / 13.0) * s2 + 1.0 / 11.0) * s2 + 1.0 / 9.0) * s2 + 1.0 / 7.0) * s2 + 1.0 / 5.0) * s2 + 1.0 / 3.0) * s2 + 1.0 / 1.0);  /* written out: a loop here can stop the outer one vectorizing */
}
/* float tanh: Eigen's rational approximation (generic_fast_tanh_float: x P(x^2) / Q(x^2), odd
   degree 13 over even degree 6), one division and no exp; +-1 beyond |x| = 7.905 (where
   1 - tanh(x) < 3e-7). Measured against tanh in double over [-10, 10] (1e7 points, see
   benchmarks/results/nn.md): max relative and absolute error 2.9e-7 (about 4 ulp near 1). NaN propagates
   (the comparison is false for NaN, and NaN * P / Q is NaN). */
static inline float fastlc_tanh32(float x) {
    float z = x * x;
    float p = -2.76076847742355e-16f;
    p = p * z + 2.00018790482477e-13f;
    p = p * z - 8.60467152213735e-11f;
    p = p * z + 5.12229709037114e-08f;
    p = p * z + 1.48572235717979e-05f;
    p = p * z + 6.37261928875436e-04f;
    p = p * z + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * z + 1.18534705686654e-04f;
    q = q * z + 2.26843463243900e-03f;
    q = q * z + 4.89352518554385e-03f;
    float r = x * (p / q);  /* p / q first: x * p would lose subnormal x's bits; inf / inf beyond the cut is not taken */
    return fabsf(x) > 7.90531110763549805f ? copysignf(1.0f, x) : r;
}
/* float expm1 for x <= 0 (the ELU's negative side; NaN gives NaN; positive x are not its domain):
   one range reduction x = n ln 2 + r, then 2^n (e^r - 1) + (2^n - 1) in one multiply-add, with
   e^r - 1 = r + r^2 P(r) from fastlc_expf's polynomial. For |x| < ln 2 / 2, n = 0 and this is
   r + r^2 P(r), which keeps the relative accuracy of small x; beyond, the result is below -0.29
   and neither term exceeds 1, so the sum loses at most 2 bits. x below -87 (and -inf) are
   clamped to -87, where the result rounds to -1. Half the work of the Taylor series + exp - 1 it
   replaces (which computed both and selected). */
static inline float fastlc_expm1_nonpositive32(float x) {
    float scale, r = fastlc_expf_reduce(x < -87.0f ? -87.0f : x, &scale);  /* NaN: NaN */
    return scale * (fastlc_expf_tail(r) + r) + (scale - 1.0f);
}
static inline float fastlc_log1p_unit32(float u) {
    float s = u / (2.0f + u), s2 = s * s;
    /* to s^12 / 13: the next term is below (1/9)^7 / 15 = 1.4e-8 of the sum */
    return 2.0f * s * (((((((1.0f / 13.0f) * s2 + 1.0f / 11.0f) * s2 + 1.0f / 9.0f) * s2 + 1.0f / 7.0f) * s2 + 1.0f / 5.0f) * s2 + 1.0f / 3.0f) * s2 + 1.0f / 1.0f);
}
/* log1p(u) for 0 <= u <= 1 (softplus and BCE with logits, u = exp(-|z|)): in float, u q(u) with
   q a degree-8 polynomial fitted to log1p(u) / u for relative error (Lawson-weighted least squares);
   max relative error 2.1e-7 evaluated in float (1e7 points), no division (fastlc_log1p_unit32,
   the series it replaces here, divides; measured in cache, 1 thread, AVX-512, gcc 12: softplus 0.49 ->
   0.43 ns per element). In double, the series. */
static inline float fastlc_log1p01_32(float u) {
    float q = 0.005232705734670162f;
    q = q * u - 0.029505284503102303f;
    q = q * u + 0.07822602987289429f;
    q = q * u - 0.1366325169801712f;
    q = q * u + 0.19106009602546692f;
    q = q * u - 0.24842983484268188f;
    q = q * u + 0.3331909775733948f;
    q = q * u - 0.4999949336051941f;
    q = q * u + 0.9999999403953552f;
    return q * u;
}
static inline double fastlc_log1p01_64(double u) { return fastlc_log1p_unit64(u); }

/* Branch-free log (BCE on probabilities; libm's is a scalar call): x = 2^e m with m in
   [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series
   to s^22; subnormals are scaled first. 0 -> -inf, negative -> NaN, inf -> inf, NaN stays NaN.
   The float version is fastlc_logf. */
static inline double fastlc_log64(double x) {
    int sub = x < 2.2250738585072014e-308;
    double xs = sub ? x * 18014398509481984.0 : x;   /* 2^54 */
    int64_t bits;
    memcpy(&bits, &xs, sizeof bits);
    double e = (double)(((bits >> 52) & 0x7ff) - 1023) - (sub ? 54.0 : 0.0);
    int64_t mbits = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
    double m;
    memcpy(&m, &mbits, sizeof m);
    int big = m > 1.4142135623730951;
    m = big ? 0.5 * m : m;
    e = big ? e + 1.0 : e;
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double sum = ((((((((((((1.0 / 23.0) * s2 + 1.0 / 21.0) * s2 + 1.0 / 19.0) * s2 + 1.0 / 17.0) * s2 + 1.0 / 15.0) * s2 + 1.0 / 13.0) * s2 + 1.0 / 11.0) * s2 + 1.0 / 9.0) * s2 + 1.0 / 7.0) * s2 + 1.0 / 5.0) * s2 + 1.0 / 3.0) * s2 + 1.0 / 1.0);
    double r = e * 6.93147180369123816490e-01 + (2.0 * s * sum + e * 1.90821492927058770002e-10);
    double special = x == 0 ? -(double)INFINITY : (x < 0 ? (double)NAN : x);  /* x itself for inf and NaN */
    return ((x > 0) & (x < (double)INFINITY)) ? r : special;
}
/* float log, in float (BCE on float32; the double form above costs 4x as much): Cephes' logf,
   x = 2^e m, m in [sqrt(1/2), sqrt(2)), log m by a degree-9 polynomial in f = m - 1, ln 2 split in
   two; subnormals scaled by 2^25 first. Max relative error 1.2e-7 measured over [1e-38, 1e4]
   (against log in double). 0 -> -inf, negative -> NaN, inf -> inf, NaN stays NaN. */
static inline float fastlc_logf(float x) {
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 33554432.0f : x;
    int32_t bits;
    memcpy(&bits, &xs, sizeof bits);
    float e = (float)(((bits >> 23) & 0xff) - 126) - (sub ? 25.0f : 0.0f);
    int32_t mbits = (bits & 0x007fffff) | 0x3f000000;  /* m in [1/2, 1) */
    float m;
    memcpy(&m, &mbits, sizeof m);
    int low = m < 0.707106781186547524f;
    e = low ? e - 1.0f : e;
    float f = low ? m + m - 1.0f : m - 1.0f;
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z - 2.12194440e-4f * e - 0.5f * z;
    float r = f + y + 0.693359375f * e;
    float special = x == 0 ? -(float)INFINITY : (x < 0 ? (float)NAN : x);  /* x itself for inf and NaN */
    return ((x > 0) & (x < (float)INFINITY)) ? r : special;
}
/* log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), without overflow */
#define FASTLC_SOFTPLUS_BODY(T, S, EXP) ((z > 0 ? z : (T)0) + fastlc_log1p01_##S(EXP(-FABS_##S(z))))  /* EXP(-|z|): a bounded-above exp will do */
#define FABS_32 fabsf
#define FABS_64 fabs

/* log p and log1p(-p) for p in [0, 1] (BCE on probabilities) from one log and one atanh series:
   below 1/2, log p by LOG and log1p(-p) by the series; from 1/2 on, log p = log1p(p - 1) by the
   series and log1p(-p) = log(1 - p) by LOG. p - 1 and 1 - p are exact there (Sterbenz), and the
   series' argument stays in [-1/2, 0]. Two logs and a series cost a third more (Numba's BCE was
   2.9x numpy with them). NaN: both NaN. */
#define FASTLC_NN_POINTS(T, S, LOG, LOG1P_UNIT, LOG1P01, EXP, FABS)                          \
static inline T fastlc_sign_##S(T d) { return d > 0 ? (T)1 : (d < 0 ? (T)-1 : d * (T)0); }  \
static inline T fastlc_clamp_below_##S(T v, T low) { return v < low ? low : v; }             \
static inline void fastlc_bce_logs_##S(T p, T* log_p, T* log_q) {                            \
    int low = p < (T)0.5;                                                                    \
    T by_log = LOG(low ? p : (T)1 - p);                                                      \
    T by_series = LOG1P_UNIT(low ? -p : p - (T)1);                                           \
    *log_p = low ? by_log : by_series;                                                       \
    *log_q = low ? by_series : by_log;                                                       \
}                                                                                            \
                                                                                             \
static inline T fastlc_mse_##S(T x, T t, T pw, T param, T* slope) {                          \
    T d = x - t;                                                                             \
    *slope = d;  /* its factor 2 is in mse_loss's gradient scale (fastlc/kernels/_nn_losses.py) */ \
    return d * d;                                                                            \
}                                                                                            \
static inline T fastlc_l1_##S(T x, T t, T pw, T param, T* slope) {                           \
    T d = x - t;                                                                             \
    *slope = fastlc_sign_##S(d);                                                             \
    return FABS(d);                                                                          \
}                                                                                            \
static inline T fastlc_huber_##S(T x, T t, T pw, T delta, T* slope) {                        \
    T d = x - t, a = FABS(d);                                                                \
    *slope = d <= -delta ? -delta : (d >= delta ? delta : d);                                \
    return a < delta ? (T)0.5 * d * d : delta * (a - (T)0.5 * delta);                        \
}                                                                                            \
static inline T fastlc_epsilon_insensitive_##S(T x, T t, T pw, T epsilon, T* slope) {       \
    T d = x - t, a = FABS(d);                                                                \
    *slope = a > epsilon ? fastlc_sign_##S(d) : d * (T)0;  /* d * 0: NaN stays NaN */        \
    return a > epsilon ? a - epsilon : d * (T)0;                                             \
}                                                                                            \
static inline T fastlc_smooth_l1_##S(T x, T t, T pw, T beta, T* slope) {                     \
    T d = x - t, a = FABS(d);                                                                \
    *slope = d <= -beta ? (T)-1 : (d >= beta ? (T)1 : d / beta);                             \
    return a < beta ? (T)0.5 * d * d / beta : a - (T)0.5 * beta;                             \
}                                                                                            \
static inline T fastlc_bce_##S(T p, T t, T pw, T param, T* slope) {                          \
    T log_p, log_q;                                                                          \
    fastlc_bce_logs_##S(p, &log_p, &log_q);                                                  \
    log_p = fastlc_clamp_below_##S(log_p, (T)-100);                                          \
    log_q = fastlc_clamp_below_##S(log_q, (T)-100);                                          \
    *slope = (p - t) / fastlc_clamp_below_##S(((T)1 - p) * p, (T)1e-12f); /* float, as PyTorch */                     \
    return (t - (T)1) * log_q - t * log_p;                                                   \
}                                                                                            \
/* BCE with logits, (1 - t) x + lw softplus(-x), lw = 1 + (pw - 1) t, with its x terms gathered:      \
   coef x + lw log1p(e), e = exp(-|x|), coef = 1 - t for x >= 0 and -pw t for x < 0 ((1 - t) x - lw x).  \
   Nothing cancels, so a fused multiply-add cannot leave one product's rounding error where the       \
   loss is 0 (pw = 0, soft t, x = -1e30 gave +-1e22). The slope lw sigmoid(x) - pw t likewise:        \
   coef - lw q for x >= 0, coef + lw q for x < 0, with q = sigmoid(-|x|) = e / (1 + e).               \
   The same form in every backend (fastlc/_naive/_nn_losses.py). */                                    \
static inline T fastlc_bce_logits_##S(T x, T t, T pw, T param, T* slope) {                   \
    T log_weight = (T)1 + (pw - (T)1) * t;                                                   \
    T e = EXP(-FABS(x));  /* in [0, 1]; NaN for NaN */                                       \
    T weighted_q = log_weight * (e / ((T)1 + e));                                            \
    int positive = x >= 0;                                                                   \
    T coef = positive ? (T)1 - t : -pw * t;                                                  \
    *slope = coef + (positive ? -weighted_q : weighted_q);                                   \
    return coef * x + log_weight * LOG1P01(e);                                               \
}

FASTLC_NN_POINTS(float, f32, fastlc_logf, fastlc_log1p_unit32, fastlc_log1p01_32, fastlc_expf, fabsf)
FASTLC_NN_POINTS(double, f64, fastlc_log64, fastlc_log1p_unit64, fastlc_log1p01_64, fastlc_exp, fabs)

#endif
