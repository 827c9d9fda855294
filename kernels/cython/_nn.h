/* Point functions of the neural-network building blocks, and the chunk loops made from them.
 *
 * Each loss and activation is written once, as a static inline function of one
 * element, for float and double from one macro (FASTLC_NN_POINTS). The chunk
 * loops that the Cython modules hand to the thread pool are generated from the
 * point functions by macros too, one loop per function (so that each vectorizes
 * on its own), and a switch on an op code picks the loop once per chunk.
 *
 * Semantics are PyTorch's (aten/src/ATen/native/Loss.cpp, Activation.cpp);
 * comparisons are written so that a NaN falls through to the branch that
 * propagates it. Loss sums are float64 per chunk: "omp simd reduction" lets the
 * compiler keep several partial sums (it is a pragma, not fast-math: the order is
 * fixed by the code and the chunk, not by the thread that runs the chunk).
 */
#ifndef FASTLC_NN_H
#define FASTLC_NN_H

#include <math.h>
#include <stddef.h>
#include "_rowmath.h"

/* Branch-free tanh, expm1 and log1p for the activations, so that their loops vectorize
   (libm's are scalar calls, 10-40x slower). Computed in double; the float versions
   are float versions of the same forms (expm1 by its Taylor series). A few ulp.
   - tanh: Cephes' rational approximation for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1);
   - expm1: the Pade form of fastlc_exp for |x| <= 0.5 (Cephes' expm1), else exp(x) - 1;
   - log1p(u) for 0 <= u <= 1 (softplus): 2 atanh(s), s = u / (2 + u) <= 1/3, by its series. */
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
/* float: Cephes' tanhf polynomial below 0.625; expm1's Taylor series; log1p's series to (1/9)^8 < 2^-24 */
static inline float fastlc_tanh32(float x) {
    float z = x * x;
    float small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z
                    + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z * x + x;
    float large = copysignf(1.0f - 2.0f / (fastlc_expf(2.0f * fabsf(x)) + 1.0f), x);
    return fabsf(x) < 0.625f ? small : large;
}
static inline float fastlc_expm1_32(float x) {  /* Taylor to x^9 / 9! below |x| = 0.5 */
    float p = ((((((((2.75573192e-6f * x + 2.48015873e-5f) * x + 1.98412698e-4f) * x + 1.38888889e-3f) * x
                   + 8.33333333e-3f) * x + 4.16666667e-2f) * x + 1.66666667e-1f) * x + 0.5f) * x + 1.0f);
    return fabsf(x) <= 0.5f ? p * x : fastlc_expf(x) - 1.0f;
}
static inline float fastlc_log1p_unit32(float u) {
    float s = u / (2.0f + u), s2 = s * s;
    return 2.0f * s * ((((((((((1.0f / 19.0f) * s2 + 1.0f / 17.0f) * s2 + 1.0f / 15.0f) * s2 + 1.0f / 13.0f) * s2 + 1.0f / 11.0f) * s2 + 1.0f / 9.0f) * s2 + 1.0f / 7.0f) * s2 + 1.0f / 5.0f) * s2 + 1.0f / 3.0f) * s2 + 1.0f / 1.0f);
}
/* Branch-free log (BCE on probabilities; libm's is a scalar call): x = 2^e m with m in
   [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series
   to s^22; subnormals are scaled first. 0 -> -inf, negative -> NaN, inf -> inf, NaN stays NaN.
   log1p(u) for -1 <= u <= 1: the atanh series of fastlc_log1p_unit64 where |u / (2 + u)| <= 1/3,
   else log(1 + u) (exact 1 + u for u <= -1/2). Float versions round the double result. */
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
    return (x > 0) & (x < (double)INFINITY) ? r : special;
}
static inline double fastlc_log1p_small64(double u) {
    double series = fastlc_log1p_unit64(u), direct = fastlc_log64(1.0 + u);  /* both: a select vectorizes */
    return u > -0.5 ? series : direct;
}
static inline float fastlc_log32(float x) { return (float)fastlc_log64(x); }
static inline float fastlc_log1p_small32(float u) { return (float)fastlc_log1p_small64(u); }

/* log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), without overflow */
#define FASTLC_SOFTPLUS_BODY(T, S, EXP) ((z > 0 ? z : (T)0) + fastlc_log1p_unit##S(EXP(-FABS_##S(z))))
#define FABS_32 fabsf
#define FABS_64 fabs

enum { FASTLC_MSE, FASTLC_L1, FASTLC_HUBER, FASTLC_SMOOTH_L1, FASTLC_BCE, FASTLC_BCE_LOGITS };

#define FASTLC_PRAGMA(x) _Pragma(#x)

#define FASTLC_NN_POINTS(T, S, LOG, LOG1P, EXP, FABS)                                        \
static inline T fastlc_sign_##S(T d) { return d > 0 ? (T)1 : (d < 0 ? (T)-1 : d * (T)0); }  \
static inline T fastlc_clamp_below_##S(T v, T low) { return v < low ? low : v; }             \
                                                                                             \
static inline T fastlc_mse_##S(T x, T t, T pw, T param, T* slope) {                          \
    T d = x - t;                                                                             \
    *slope = d + d;                                                                          \
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
static inline T fastlc_smooth_l1_##S(T x, T t, T pw, T beta, T* slope) {                     \
    T d = x - t, a = FABS(d);                                                                \
    *slope = d <= -beta ? (T)-1 : (d >= beta ? (T)1 : d / beta);                             \
    return a < beta ? (T)0.5 * d * d / beta : a - (T)0.5 * beta;                             \
}                                                                                            \
static inline T fastlc_bce_##S(T p, T t, T pw, T param, T* slope) {                          \
    T log_p = fastlc_clamp_below_##S(LOG(p), (T)-100);                                       \
    T log_q = fastlc_clamp_below_##S(LOG1P(-p), (T)-100);                                    \
    *slope = (p - t) / fastlc_clamp_below_##S(((T)1 - p) * p, (T)1e-12f); /* float, as PyTorch */                     \
    return (t - (T)1) * log_q - t * log_p;                                                   \
}                                                                                            \
static inline T fastlc_bce_logits_##S(T x, T t, T pw, T param, T* slope) {                   \
    T log_weight = (T)1 + (pw - (T)1) * t;                                                   \
    T softplus_neg = (-x > 0 ? -x : (T)0) + LOG1P(EXP(-FABS(x)));  /* LOG1P on [0, 1] */                            \
    *slope = log_weight / ((T)1 + EXP(-x)) - pw * t;                                         \
    return ((T)1 - t) * x + log_weight * softplus_neg;                                       \
}

FASTLC_NN_POINTS(float, f32, fastlc_log32, fastlc_log1p_small32, fastlc_expf, fabsf)
FASTLC_NN_POINTS(double, f64, fastlc_log64, fastlc_log1p_small64, fastlc_exp, fabs)

/* One chunk of an element-wise loss: returns the float64 sum of the weighted losses.
   w, pw and loss_out are NULL when absent; the common case gets a loop without them. */
#define FASTLC_LOSS_CHUNK(NAME, T, S)                                                        \
FASTLC_CLONES static double fastlc_##NAME##_chunk_##S(const T* x, const T* t, const T* w, const T* pw,     \
                                        T param, T scale, T* loss_out, T* grad, ptrdiff_t n) \
{                                                                                            \
    double total = 0;                                                                        \
    ptrdiff_t i;                                                                             \
    if (!w && !pw && !loss_out) {                                                            \
        FASTLC_PRAGMA(omp simd reduction(+:total))                                           \
        for (i = 0; i < n; i++) {                                                            \
            T slope;                                                                         \
            T loss = fastlc_##NAME##_##S(x[i], t[i], (T)1, param, &slope);                   \
            total += loss;                                                                   \
            grad[i] = scale * slope;                                                         \
        }                                                                                    \
        return total;                                                                        \
    }                                                                                        \
    for (i = 0; i < n; i++) {                                                                \
        T slope, wi = w ? w[i] : (T)1;                                                       \
        T loss = wi * fastlc_##NAME##_##S(x[i], t[i], pw ? pw[i] : (T)1, param, &slope);     \
        total += loss;                                                                       \
        grad[i] = scale * wi * slope;                                                        \
        if (loss_out) loss_out[i] = loss;                                                    \
    }                                                                                        \
    return total;                                                                            \
}

#define FASTLC_LOSS_CHUNKS(T, S)                                                             \
FASTLC_LOSS_CHUNK(mse, T, S)                                                                 \
FASTLC_LOSS_CHUNK(l1, T, S)                                                                  \
FASTLC_LOSS_CHUNK(huber, T, S)                                                               \
FASTLC_LOSS_CHUNK(smooth_l1, T, S)                                                           \
FASTLC_LOSS_CHUNK(bce, T, S)                                                                 \
FASTLC_LOSS_CHUNK(bce_logits, T, S)                                                          \
static inline double fastlc_loss_chunk_##S(int op, const T* x, const T* t, const T* w, const T* pw, \
                                    T param, T scale, T* loss_out, T* grad, ptrdiff_t n)     \
{                                                                                            \
    switch (op) {                                                                            \
    case FASTLC_MSE: return fastlc_mse_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n); \
    case FASTLC_L1: return fastlc_l1_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n); \
    case FASTLC_HUBER: return fastlc_huber_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n); \
    case FASTLC_SMOOTH_L1:                                                                   \
        return fastlc_smooth_l1_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n);     \
    case FASTLC_BCE: return fastlc_bce_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n); \
    default: return fastlc_bce_logits_chunk_##S(x, t, w, pw, param, scale, loss_out, grad, n); \
    }                                                                                        \
}

FASTLC_LOSS_CHUNKS(float, f32)
FASTLC_LOSS_CHUNKS(double, f64)

/* ------------------------------------------------------------------ activations */

enum { FASTLC_RELU, FASTLC_LEAKY_RELU, FASTLC_ELU, FASTLC_GELU, FASTLC_GELU_TANH, FASTLC_SIGMOID, FASTLC_TANH,
       FASTLC_SOFTPLUS, FASTLC_SILU };

#define FASTLC_SQRT_HALF 0.70710678118654752440
#define FASTLC_INV_SQRT_2PI 0.39894228040143267794
#define FASTLC_GELU_TANH_BETA 0.79788456080286535588
#define FASTLC_GELU_TANH_KAPPA 0.044715

/* forward f(x, a, b) and backward g * f'(x) of each activation; a, b: its parameters */
#define FASTLC_ACTIVATION_POINTS(T, S, EXP, EXPM1, ERF, TANH, BITS)                         \
static inline T fastlc_sigmoid1_##S(T x) { return (T)1 / ((T)1 + EXP(-x)); }                \
static inline T fastlc_relu_##S(T x, T a, T b) { return x <= 0 ? (T)0 : x; }                \
static inline T fastlc_relu_backward_##S(T g, T x, T a, T b) { return x <= 0 ? (T)0 : g; }  \
static inline T fastlc_leaky_relu_##S(T x, T a, T b) { return x > 0 ? x : x * a; }          \
static inline T fastlc_leaky_relu_backward_##S(T g, T x, T a, T b) { return x > 0 ? g : g * a; } \
static inline T fastlc_elu_##S(T x, T a, T b) { return x <= 0 ? a * EXPM1(x) : x; }          \
static inline T fastlc_elu_backward_##S(T g, T x, T a, T b) { return x <= 0 ? g * a * EXP(x) : g; } \
static inline T fastlc_gelu_##S(T x, T a, T b) {                                             \
    return (T)0.5 * x * ((T)1 + ERF(x * (T)FASTLC_SQRT_HALF));                               \
}                                                                                            \
static inline T fastlc_gelu_backward_##S(T g, T x, T a, T b) {                               \
    T cdf = (T)0.5 * ((T)1 + ERF(x * (T)FASTLC_SQRT_HALF));                                  \
    T pdf = (T)FASTLC_INV_SQRT_2PI * EXP((T)-0.5 * x * x);                                   \
    return g * (cdf + x * pdf);                                                              \
}                                                                                            \
static inline T fastlc_gelu_tanh_##S(T x, T a, T b) {                                        \
    T inner = (T)FASTLC_GELU_TANH_BETA * (x + (T)FASTLC_GELU_TANH_KAPPA * x * x * x);        \
    return (T)0.5 * x * ((T)1 + TANH(inner));                                                \
}                                                                                            \
static inline T fastlc_gelu_tanh_backward_##S(T g, T x, T a, T b) {                          \
    const T beta = (T)FASTLC_GELU_TANH_BETA, kappa = (T)FASTLC_GELU_TANH_KAPPA;              \
    T t = TANH(beta * (x + kappa * x * x * x));                                              \
    T right = (T)0.5 * x * ((T)1 - t * t) * beta * ((T)1 + (T)3 * kappa * x * x);           \
    return g * ((T)0.5 * ((T)1 + t) + right);                                                \
}                                                                                            \
static inline T fastlc_sigmoid_##S(T x, T a, T b) { return fastlc_sigmoid1_##S(x); }        \
static inline T fastlc_sigmoid_backward_##S(T g, T x, T a, T b) {                            \
    T s = fastlc_sigmoid1_##S(x);                                                            \
    return g * s * ((T)1 - s);                                                               \
}                                                                                            \
static inline T fastlc_tanh_##S(T x, T a, T b) { return TANH(x); }                          \
static inline T fastlc_tanh_backward_##S(T g, T x, T a, T b) {                               \
    T t = TANH(x);                                                                           \
    return g * ((T)1 - t * t);                                                               \
}                                                                                            \
static inline T fastlc_softplus_##S(T x, T beta, T threshold) {                              \
    T z = x * beta;                                                                          \
    return z > threshold ? x : FASTLC_SOFTPLUS_BODY(T, BITS, EXP) / beta;                    \
}                                                                                            \
static inline T fastlc_softplus_backward_##S(T g, T x, T beta, T threshold) {                \
    T z = x * beta;                                                                          \
    return z > threshold ? g : g * fastlc_sigmoid1_##S(z);                                   \
}                                                                                            \
static inline T fastlc_silu_##S(T x, T a, T b) { return x * fastlc_sigmoid1_##S(x); }       \
static inline T fastlc_silu_backward_##S(T g, T x, T a, T b) {                               \
    T s = fastlc_sigmoid1_##S(x);                                                            \
    return g * s * ((T)1 + x * ((T)1 - s));                                                  \
}

FASTLC_ACTIVATION_POINTS(float, f32, fastlc_expf, fastlc_expm1_32, erff, fastlc_tanh32, 32)
FASTLC_ACTIVATION_POINTS(double, f64, fastlc_exp, fastlc_expm1_64, erf, fastlc_tanh64, 64)

#define FASTLC_ACTIVATION_LOOPS(NAME, T, S)                                                  \
FASTLC_CLONES static void fastlc_##NAME##_loop_##S(const T* x, T a, T b, T* out, ptrdiff_t n) {            \
    FASTLC_PRAGMA(omp simd)                                                                  \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = fastlc_##NAME##_##S(x[i], a, b);              \
}                                                                                            \
FASTLC_CLONES static void fastlc_##NAME##_backward_loop_##S(const T* g, const T* x, T a, T b, T* out, ptrdiff_t n) { \
    FASTLC_PRAGMA(omp simd)                                                                  \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = fastlc_##NAME##_backward_##S(g[i], x[i], a, b); \
}

#define FASTLC_ACTIVATION_CASE(OP, NAME, S)                                                  \
    case OP:                                                                                 \
        if (g) fastlc_##NAME##_backward_loop_##S(g, x, a, b, out, n);                         \
        else fastlc_##NAME##_loop_##S(x, a, b, out, n);                                      \
        break;

/* One chunk of an activation: forward when g is NULL, else the backward. */
#define FASTLC_ACTIVATION_CHUNK(T, S)                                                        \
FASTLC_ACTIVATION_LOOPS(relu, T, S)                                                          \
FASTLC_ACTIVATION_LOOPS(leaky_relu, T, S)                                                    \
FASTLC_ACTIVATION_LOOPS(elu, T, S)                                                           \
FASTLC_ACTIVATION_LOOPS(gelu, T, S)                                                          \
FASTLC_ACTIVATION_LOOPS(gelu_tanh, T, S)                                                     \
FASTLC_ACTIVATION_LOOPS(sigmoid, T, S)                                                       \
FASTLC_ACTIVATION_LOOPS(tanh, T, S)                                                          \
FASTLC_ACTIVATION_LOOPS(softplus, T, S)                                                      \
FASTLC_ACTIVATION_LOOPS(silu, T, S)                                                          \
static inline void fastlc_activation_chunk_##S(int op, const T* g, const T* x, T a, T b, T* out, ptrdiff_t n) { \
    switch (op) {                                                                            \
    FASTLC_ACTIVATION_CASE(FASTLC_RELU, relu, S)                                             \
    FASTLC_ACTIVATION_CASE(FASTLC_LEAKY_RELU, leaky_relu, S)                                 \
    FASTLC_ACTIVATION_CASE(FASTLC_ELU, elu, S)                                               \
    FASTLC_ACTIVATION_CASE(FASTLC_GELU, gelu, S)                                             \
    FASTLC_ACTIVATION_CASE(FASTLC_GELU_TANH, gelu_tanh, S)                                   \
    FASTLC_ACTIVATION_CASE(FASTLC_SIGMOID, sigmoid, S)                                       \
    FASTLC_ACTIVATION_CASE(FASTLC_TANH, tanh, S)                                              \
    FASTLC_ACTIVATION_CASE(FASTLC_SOFTPLUS, softplus, S)                                     \
    default: FASTLC_ACTIVATION_CASE(FASTLC_SILU, silu, S)                                    \
    }                                                                                        \
}

FASTLC_ACTIVATION_CHUNK(float, f32)
FASTLC_ACTIVATION_CHUNK(double, f64)

/* ------------------------------------------------------------------ dropout */

#include <stdint.h>

/* Philox4x32-10 (Random123's philox4x32, 10 rounds): one 128-bit block for a counter and key.
   Scalars in and out, so that a loop over counters vectorizes (one counter per lane). */
static inline void fastlc_philox4x32_10_words(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                              uint32_t k1, uint32_t* o0, uint32_t* o1, uint32_t* o2, uint32_t* o3) {
    for (int round = 0; round < 10; round++) {
        if (round) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
    }
    *o0 = c0; *o1 = c1; *o2 = c2; *o3 = c3;
}
static inline void fastlc_philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
    fastlc_philox4x32_10_words(c[0], c[1], c[2], c[3], k0, k1, &c[0], &c[1], &c[2], &c[3]);
}

/* Groups [first, stop) of 4 elements (n elements in all): element i keeps when word i % 4 of
   block i / 4 is >= threshold. Kept elements are scaled, dropped ones multiplied by 0. The
   blocks of a run of groups are computed first into a small buffer (one group per vector
   lane), then the elements read it in order: both loops vectorize. */
#define FASTLC_DROPOUT_RUN 256
#define FASTLC_DROPOUT(T, S)                                                                 \
FASTLC_CLONES static void fastlc_dropout_groups_##S(const T* x, uint64_t threshold, T scale, uint32_t k0, \
                                                    uint32_t k1, T* out, uint8_t* mask, ptrdiff_t first, \
                                                    ptrdiff_t stop, ptrdiff_t n) {           \
    uint32_t words[4 * FASTLC_DROPOUT_RUN];                                                  \
    for (ptrdiff_t run = first; run < stop; run += FASTLC_DROPOUT_RUN) {                     \
        ptrdiff_t end = stop - run < FASTLC_DROPOUT_RUN ? stop : run + FASTLC_DROPOUT_RUN;   \
        FASTLC_PRAGMA(omp simd)                                                              \
        for (ptrdiff_t g = run; g < end; g++) {                                              \
            uint32_t* w = words + 4 * (g - run);                                             \
            fastlc_philox4x32_10_words((uint32_t)g, (uint32_t)((uint64_t)g >> 32), 0, 0, k0, k1, \
                                       &w[0], &w[1], &w[2], &w[3]);                          \
        }                                                                                    \
        ptrdiff_t lo = 4 * run, hi = 4 * end < n ? 4 * end : n;                              \
        FASTLC_PRAGMA(omp simd)                                                              \
        for (ptrdiff_t i = lo; i < hi; i++) {                                                \
            int keep = (uint64_t)words[i - lo] >= threshold;                                 \
            mask[i] = (uint8_t)keep;                                                         \
            out[i] = x[i] * (keep ? scale : (T)0);                                           \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
FASTLC_CLONES static void fastlc_dropout_backward_##S(const T* g, const uint8_t* mask, T scale, T* out, ptrdiff_t n) { \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = g[i] * (mask[i] ? scale : (T)0);              \
}

FASTLC_DROPOUT(float, f32)
FASTLC_DROPOUT(double, f64)

/* ------------------------------------------------------------------ normalization */

/* Row helpers of batch and layer norm. Sums are float64; "omp simd reduction" keeps
   several partial sums in a fixed order (the same for every thread count). */
#define FASTLC_NORM_HELPERS(T, S)                                                            \
FASTLC_CLONES static double fastlc_sum_##S(const T* x, ptrdiff_t n) {                               \
    double t = 0;                                                                            \
    FASTLC_PRAGMA(omp simd reduction(+:t))                                                   \
    for (ptrdiff_t i = 0; i < n; i++) t += x[i];                                             \
    return t;                                                                                \
}                                                                                            \
FASTLC_CLONES static double fastlc_squares_##S(const T* x, ptrdiff_t n, double m) {                 \
    double t = 0;                                                                            \
    FASTLC_PRAGMA(omp simd reduction(+:t))                                                   \
    for (ptrdiff_t i = 0; i < n; i++) { double d = x[i] - m; t += d * d; }                   \
    return t;                                                                                \
}                                                                                            \
FASTLC_CLONES static void fastlc_sum_dot_##S(const T* g, const T* x, ptrdiff_t n, double m,         \
                                      double* total, double* dot) {                          \
    double t = 0, p = 0;                                                                     \
    FASTLC_PRAGMA(omp simd reduction(+:t, p))                                                \
    for (ptrdiff_t i = 0; i < n; i++) { t += g[i]; p += g[i] * (x[i] - m); }                 \
    *total += t;                                                                             \
    *dot += p;                                                                               \
}                                                                                            \
/* across the channels of one (N, C) row: partial[c] += row[c] or (row[c] - mean[c])^2 */     \
FASTLC_CLONES static void fastlc_add_row_##S(const T* row, const T* mean, ptrdiff_t n, double* partial) { \
    if (mean) { for (ptrdiff_t c = 0; c < n; c++) { double d = row[c] - (double)mean[c]; partial[c] += d * d; } } \
    else { for (ptrdiff_t c = 0; c < n; c++) partial[c] += row[c]; }                         \
}                                                                                            \
FASTLC_CLONES static void fastlc_add_row_dot_##S(const T* g, const T* x, const T* mean, ptrdiff_t n, \
                                          double* total, double* dot) {                      \
    for (ptrdiff_t c = 0; c < n; c++) { total[c] += g[c]; dot[c] += g[c] * (x[c] - (double)mean[c]); } \
}                                                                                            \
FASTLC_CLONES static void fastlc_affine_##S(const T* x, T a, T b, T* out, ptrdiff_t n) {            \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = x[i] * a + b;                                 \
}                                                                                            \
FASTLC_CLONES static void fastlc_affine_row_##S(const T* x, const T* a, const T* b, T* out, ptrdiff_t n) { \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = x[i] * a[i] + b[i];                           \
}                                                                                            \
/* batch-norm backward: out = (g - shift - (x - mean) k) scale */                            \
FASTLC_CLONES static void fastlc_bn_grad_##S(const T* g, const T* x, T mean, T k, T shift, T scale, T* out, ptrdiff_t n) { \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (g[i] - shift - (x[i] - mean) * k) * scale;  \
}                                                                                            \
FASTLC_CLONES static void fastlc_bn_grad_row_##S(const T* g, const T* x, const T* mean, const T* k, const T* shift, \
                                          const T* scale, T* out, ptrdiff_t n) {             \
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (g[i] - shift[i] - (x[i] - mean[i]) * k[i]) * scale[i]; \
}

FASTLC_NORM_HELPERS(float, f32)
FASTLC_NORM_HELPERS(double, f64)

#endif
