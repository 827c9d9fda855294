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

#include "_nn_points.h"  /* the point functions; FASTLC_PRAGMA comes from _portable.h */

FASTLC_SHARED_HELPERS_BEGIN
enum { FASTLC_MSE, FASTLC_L1, FASTLC_HUBER, FASTLC_SMOOTH_L1, FASTLC_BCE, FASTLC_BCE_LOGITS };

/* One chunk of an element-wise loss: returns the float64 sum of the weighted losses.
   w, pw and loss_out are NULL when absent; the common case gets a loop without them. */
#define FASTLC_LOSS_CHUNK(NAME, T, S)                                                        \
FASTLC_CLONES static double fastlc_##NAME##_chunk_##S(const T* x, const T* t, const T* w, const T* pw,     \
                                        T param, T scale, T* loss_out, T* grad, ptrdiff_t n) \
{                                                                                            \
    double total = 0;                                                                        \
    ptrdiff_t i;                                                                             \
    if (!w && !pw && !loss_out) {                                                            \
        FASTLC_OMP_SIMD(reduction(+:total))                                                  \
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

/* forward f(x, a, b) and backward g * f'(x) of each activation; a, b: its parameters.
   EXPLOW: exp for arguments bounded above (fastlc_expf_upto88), cheaper in float; EXPM1: expm1 for
   x <= 0 at least (ELU's negative side, its one use). The sigmoid takes exp(-|x|) from EXPLOW:
   measured in cache (1 thread, AVX-512, gcc 12), 0.32 ns per element against 0.40 for
   1 / (1 + exp(-x)) with the full exp (its overflow clamp and selects cost more than the
   multiply and select this adds). */
#define FASTLC_ACTIVATION_POINTS(T, S, EXP, EXPLOW, EXPM1, CDF, CDF_PARTS, TANH, TANH_PARTS, TIMES_HALF, BITS)             \
/* w = 2u = 2 beta (x + kappa x^3) of the tanh GELU as x (2 beta + 2 beta kappa x^2): one          \
   multiply-add on x^2 with the constants folded, two operations fewer than PyTorch's order (same  \
   value to rounding), and 2u rather than u, which TANH_PARTS takes: its exp(-2|u|) is then        \
   exp(-|w|), one multiply fewer (exactly 2u: scaling by 2 commutes with rounding, same bits) */  \
static inline T fastlc_gelu_tanh_arg2_##S(T x, T x2) {                                       \
    return x * ((T)(2.0 * FASTLC_GELU_TANH_BETA) + (T)(2.0 * FASTLC_GELU_TANH_BETA * FASTLC_GELU_TANH_KAPPA) * x2); \
}                                                                                            \
static inline T fastlc_sigmoid1_##S(T x) {  /* 1 / (1 + e) or e / (1 + e), e = exp(-|x|) <= 1 */ \
    /* -|x| is one sign-bit OR (x > 0 ? -x : x took a compare, a negation and a blend) */     \
    T e = EXPLOW(-FABS_##BITS(x)), r = (T)1 / ((T)1 + e);  /* NaN: e and r NaN */            \
    return x >= 0 ? r : e * r;                                                               \
}                                                                                            \
static inline T fastlc_relu_##S(T x, T a, T b) { return x <= 0 ? (T)0 : x; }                \
static inline T fastlc_relu_backward_##S(T g, T x, T a, T b) { return x <= 0 ? (T)0 : g; }  \
static inline T fastlc_leaky_relu_##S(T x, T a, T b) { return x > 0 ? x : x * a; }          \
static inline T fastlc_leaky_relu_backward_##S(T g, T x, T a, T b) { return x > 0 ? g : g * a; } \
static inline T fastlc_elu_##S(T x, T a, T b) { return x <= 0 ? a * EXPM1(x) : x; }          \
static inline T fastlc_elu_backward_##S(T g, T x, T a, T b) { return x <= 0 ? g * a * EXP(x) : g; } \
static inline T fastlc_gelu_##S(T x, T a, T b) { return x * CDF(x); }                      \
static inline T fastlc_gelu_backward_##S(T g, T x, T a, T b) {                               \
    T e, cdf = CDF_PARTS(x, &e);  /* e = exp(-x^2 / 2) */                                    \
    return g * (cdf + x * ((T)FASTLC_INV_SQRT_2PI * e));                                     \
}                                                                                            \
static inline T fastlc_gelu_tanh_##S(T x, T a, T b) {                                        \
    return TIMES_HALF(x, fastlc_gelu_tanh_arg2_##S(x, x * x));                                \
}                                                                                            \
static inline T fastlc_gelu_tanh_backward_##S(T g, T x, T a, T b) {                          \
    T x2 = x * x, half, omt2;                                                                \
    TANH_PARTS(fastlc_gelu_tanh_arg2_##S(x, x2), &half, &omt2);                              \
    /* u'(x) / 2 = beta (1 + 3 kappa x^2) / 2, constants folded */                            \
    T right = x * omt2 * ((T)(0.5 * FASTLC_GELU_TANH_BETA)                                    \
                          + (T)(1.5 * FASTLC_GELU_TANH_BETA * FASTLC_GELU_TANH_KAPPA) * x2);  \
    return g * (half + right);                                                               \
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
    return z > threshold ? x : FASTLC_SOFTPLUS_BODY(T, BITS, EXPLOW) * ((T)1 / beta);  /* 1 / beta: hoisted */ \
}                                                                                            \
static inline T fastlc_softplus_backward_##S(T g, T x, T beta, T threshold) {                \
    T z = x * beta;                                                                          \
    return z > threshold ? g : g * fastlc_sigmoid1_##S(z);                                   \
}                                                                                            \
/* beta = 1 (the default) as a constant: x * 1 and the times 1 / 1 fold away, two multiplies of  \
   about 23 in the float forward (same bits: both are exact) */                              \
static inline T fastlc_softplus_unit_##S(T x, T beta, T threshold) {                         \
    return fastlc_softplus_##S(x, (T)1, threshold);                                          \
}                                                                                            \
static inline T fastlc_softplus_unit_backward_##S(T g, T x, T beta, T threshold) {           \
    return fastlc_softplus_backward_##S(g, x, (T)1, threshold);                              \
}                                                                                            \
static inline T fastlc_silu_##S(T x, T a, T b) { return x * fastlc_sigmoid1_##S(x); }       \
static inline T fastlc_silu_backward_##S(T g, T x, T a, T b) {                               \
    T s = fastlc_sigmoid1_##S(x);                                                            \
    return g * s * ((T)1 + x * ((T)1 - s));                                                  \
}

/* The standard normal CDF Phi(x) of the exact GELU, x Phi(x), and e = exp(-x^2 / 2), from which
   the backward's density phi(x) = e / sqrt(2 pi) comes without a second exp.
   double: 0.5 (1 + erf(x / sqrt 2)) with libm's erf (a scalar call: float64 GELU does not
   vectorize, but keeps libm's accuracy, 1e-16), and e by exp.
   float: h = 0.5 erfc(|x| / sqrt 2) for x < 0, else 1 - h, so the lower tail keeps its relative
   accuracy instead of cancelling in 1 + erf. h = t q(t) e with t = 1 / (1 + z / 2), z = |x| / sqrt 2,
   and q of degree 8 fitted (iteratively reweighted least squares, for relative error) to
   erfcx(z) / (2 t) on t in [0.15, 1], i.e. |x| <= 13.3, beyond which h e < 1e-38 underflows:
   relative error of t q(t) 4.4e-8 in double, 3.8e-7 in float arithmetic (Numerical Recipes' erfc,
   t exp(P(t) - z^2), which this replaces: 4.0e-7). Branch-free (one exp, one division), so the
   loop vectorizes. The exp is e itself, shared with the backward's density, and its argument no
   longer waits for the polynomial (the old form's exp(P(t) - z^2) did, and the backward took a
   second exp): in cache, 1 thread, AVX-512, gcc 12, forward 0.71 -> 0.56 ns per element,
   backward 1.00 -> 0.62. Max relative error of x Phi(x) against double: 3.8e-7 for x >= 0,
   7.5e-7 on [-5, 0), 4.1e-6 on [-13, -5) (the rounding of x^2 in the exp's argument, about
   x^2 2^-25; the old form: 3.8e-7, 1.9e-6, 1.5e-5). NaN propagates; Phi(-inf) = 0, Phi(inf) = 1. */
static inline double fastlc_normal_cdf64(double x) { return 0.5 * (1.0 + erf(x * FASTLC_SQRT_HALF)); }
static inline double fastlc_normal_parts64(double x, double* e) {
    *e = fastlc_exp_upto709(-0.5 * x * x);
    return fastlc_normal_cdf64(x);
}
static inline float fastlc_normal_parts32(float x, float* e) {
    float t = 1.0f / (1.0f + (float)(0.5 * FASTLC_SQRT_HALF) * fabsf(x));
    float q = -0.029658474f;
    q = q * t + 0.14289257f;
    q = q * t - 0.24485298f;
    q = q * t + 0.14046706f;
    q = q * t - 0.014300091f;
    q = q * t + 0.10176092f;
    q = q * t + 0.12144648f;
    q = q * t + 0.14120212f;
    q = q * t + 0.14104238f;
    *e = fastlc_expf_upto88(-0.5f * x * x);
    float half_erfc = t * q * *e;
    return x < 0 ? half_erfc : 1.0f - half_erfc;
}
static inline float fastlc_normal_cdf32(float x) {
    float e;
    return fastlc_normal_parts32(x, &e);
}

/* (1 + tanh u) / 2 and 1 - tanh(u)^2, the two parts of the tanh GELU and its derivative, from
   w = 2u (fastlc_gelu_tanh_arg2).
   double: from tanh(w / 2) = tanh(u) exactly (as PyTorch computes them, which the float64 results
   match to 1e-12).
   float: sigmoid(w) and 4 e / (1 + e)^2 with e = exp(-|w|): both keep their relative
   accuracy in the tails, where 1 - t^2 from a rounded t would cancel (t rounds to 1 beyond
   |u| = 8.7, and the derivative's x^3 factor amplifies the error), one exp and one division. */
static inline void fastlc_tanh_parts64(double w, double* half, double* omt2) {
    double t = fastlc_tanh64(0.5 * w);
    *half = 0.5 * (1.0 + t);
    *omt2 = 1.0 - t * t;
}
static inline void fastlc_tanh_parts32(float w, float* half, float* omt2) {
    float e = fastlc_expf_upto88(-fabsf(w)), r = 1.0f / (1.0f + e);
    *half = w >= 0 ? r : e * r;  /* NaN: e * r, NaN */
    *omt2 = 4.0f * e * r * r;
}
/* x (1 + tanh(w / 2)) / 2, the tanh GELU's forward. double: x times the first of the parts above.
   float: x / (1 + e) or x e / (1 + e), e = exp(-|w|): the multiply by x moves before the division
   and takes the select's place, one operation fewer than x times sigmoid(w) (one rounding fewer
   too, for w >= 0); NaN: NaN. */
static inline double fastlc_times_half64(double x, double w) {
    double half, omt2;
    fastlc_tanh_parts64(w, &half, &omt2);
    return x * half;
}
static inline float fastlc_times_half32(float x, float w) {
    float e = fastlc_expf_upto88(-fabsf(w));
    return (w >= 0 ? x : x * e) / (1.0f + e);
}

FASTLC_ACTIVATION_POINTS(float, f32, fastlc_expf, fastlc_expf_upto88, fastlc_expm1_nonpositive32, fastlc_normal_cdf32,
                         fastlc_normal_parts32, fastlc_tanh32,
                         fastlc_tanh_parts32, fastlc_times_half32, 32)
FASTLC_ACTIVATION_POINTS(double, f64, fastlc_exp, fastlc_exp_upto709, fastlc_expm1_64, fastlc_normal_cdf64,
                         fastlc_normal_parts64, fastlc_tanh64,
                         fastlc_tanh_parts64, fastlc_times_half64, 64)

/* PREFETCH: 1 for the loops whose arithmetic is heavy enough to stall the hardware prefetcher
   (blocks with fastlc_prefetch_ahead, _portable.h), 0 for ReLU and leaky ReLU, copies in all
   but name: one plain loop (the hints and blocks cost them 5-10%: 10 M float32 ReLU 1.58-1.63 ms
   without, 1.64-1.83 with). */
#define FASTLC_ACTIVATION_LOOPS(NAME, T, S, PREFETCH, SIMD)                                   \
FASTLC_CLONES static void fastlc_##NAME##_loop_##S(const T* x, T a, T b, T* out, ptrdiff_t n) {            \
    const ptrdiff_t block = PREFETCH ? FASTLC_STREAM_BLOCK / (ptrdiff_t)sizeof(T) : n;      \
    for (ptrdiff_t lo = 0; lo < n; lo += block) {                                            \
        ptrdiff_t hi = n - lo < block ? n : lo + block;                                      \
        if (PREFETCH)                                                                        \
            fastlc_prefetch_ahead(x, lo * (ptrdiff_t)sizeof(T), hi * (ptrdiff_t)sizeof(T), n * (ptrdiff_t)sizeof(T)); \
        SIMD()                                                                               \
        for (ptrdiff_t i = lo; i < hi; i++) out[i] = fastlc_##NAME##_##S(x[i], a, b);        \
    }                                                                                        \
}                                                                                            \
FASTLC_CLONES static void fastlc_##NAME##_backward_loop_##S(const T* g, const T* x, T a, T b, T* out, ptrdiff_t n) { \
    const ptrdiff_t block = PREFETCH ? FASTLC_STREAM_BLOCK / (ptrdiff_t)sizeof(T) : n;      \
    for (ptrdiff_t lo = 0; lo < n; lo += block) {                                            \
        ptrdiff_t hi = n - lo < block ? n : lo + block;                                      \
        if (PREFETCH) {                                                                      \
            fastlc_prefetch_ahead(g, lo * (ptrdiff_t)sizeof(T), hi * (ptrdiff_t)sizeof(T), n * (ptrdiff_t)sizeof(T)); \
            fastlc_prefetch_ahead(x, lo * (ptrdiff_t)sizeof(T), hi * (ptrdiff_t)sizeof(T), n * (ptrdiff_t)sizeof(T)); \
        }                                                                                    \
        SIMD()                                                                               \
        for (ptrdiff_t i = lo; i < hi; i++) out[i] = fastlc_##NAME##_backward_##S(g[i], x[i], a, b); \
    }                                                                                        \
}

#define FASTLC_ACTIVATION_CALL(NAME, S)                                                      \
    if (g) fastlc_##NAME##_backward_loop_##S(g, x, a, b, out, n);                             \
    else fastlc_##NAME##_loop_##S(x, a, b, out, n);
#define FASTLC_ACTIVATION_CASE(OP, NAME, S)                                                  \
    case OP:                                                                                 \
        FASTLC_ACTIVATION_CALL(NAME, S)                                                      \
        break;

/* How a loop over x is compiled, the SIMD argument above: vectorized ("omp simd"), or
   left to the compiler where the point function makes a scalar call (float64's exact
   GELU calls libm's erf: asking clang to vectorize it only draws a warning). */
#define FASTLC_SIMD_LOOP() FASTLC_OMP_SIMD()
#define FASTLC_SCALAR_LOOP()
#define FASTLC_GELU_LOOP_f32 FASTLC_SIMD_LOOP
#define FASTLC_GELU_LOOP_f64 FASTLC_SCALAR_LOOP

/* One chunk of an activation: forward when g is NULL, else the backward. */
#define FASTLC_ACTIVATION_CHUNK(T, S)                                                        \
FASTLC_ACTIVATION_LOOPS(relu, T, S, 0, FASTLC_SIMD_LOOP)                                        \
FASTLC_ACTIVATION_LOOPS(leaky_relu, T, S, 0, FASTLC_SIMD_LOOP)                                  \
FASTLC_ACTIVATION_LOOPS(elu, T, S, 1, FASTLC_SIMD_LOOP)                                         \
FASTLC_ACTIVATION_LOOPS(gelu, T, S, 1, FASTLC_GELU_LOOP_##S)                                    \
FASTLC_ACTIVATION_LOOPS(gelu_tanh, T, S, 1, FASTLC_SIMD_LOOP)                                   \
FASTLC_ACTIVATION_LOOPS(sigmoid, T, S, 1, FASTLC_SIMD_LOOP)                                     \
FASTLC_ACTIVATION_LOOPS(tanh, T, S, 1, FASTLC_SIMD_LOOP)                                        \
FASTLC_ACTIVATION_LOOPS(softplus, T, S, 1, FASTLC_SIMD_LOOP)                                    \
FASTLC_ACTIVATION_LOOPS(softplus_unit, T, S, 1, FASTLC_SIMD_LOOP)                               \
FASTLC_ACTIVATION_LOOPS(silu, T, S, 1, FASTLC_SIMD_LOOP)                                        \
static inline void fastlc_activation_chunk_##S(int op, const T* g, const T* x, T a, T b, T* out, ptrdiff_t n) { \
    switch (op) {                                                                            \
    FASTLC_ACTIVATION_CASE(FASTLC_RELU, relu, S)                                             \
    FASTLC_ACTIVATION_CASE(FASTLC_LEAKY_RELU, leaky_relu, S)                                 \
    FASTLC_ACTIVATION_CASE(FASTLC_ELU, elu, S)                                               \
    FASTLC_ACTIVATION_CASE(FASTLC_GELU, gelu, S)                                             \
    FASTLC_ACTIVATION_CASE(FASTLC_GELU_TANH, gelu_tanh, S)                                   \
    FASTLC_ACTIVATION_CASE(FASTLC_SIGMOID, sigmoid, S)                                       \
    FASTLC_ACTIVATION_CASE(FASTLC_TANH, tanh, S)                                              \
    case FASTLC_SOFTPLUS:                                                                    \
        if (a == (T)1) {                                                                     \
            FASTLC_ACTIVATION_CALL(softplus_unit, S)                                         \
        } else {                                                                             \
            FASTLC_ACTIVATION_CALL(softplus, S)                                              \
        }                                                                                    \
        break;                                                                               \
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

/* AVX-512 forward ("wide"), gcc and clang on x86-64: the portable loops below vectorize, but
   gcc 12 turns the 32 x 32 -> 64-bit products of uint64 lanes into vpmullq (3 uops) or, on
   uint32 lanes, into even/odd multiplies and permutes: about 1 ns per element, more than the
   memory traffic. Here 16 blocks (64 elements) per step in the uint64 lanes of a zmm register,
   one vpmuludq per product (it reads the low 32 bits of each lane, so the high halves that the
   rounds leave there need no masking), the keep bits of the 4 words interleaved into the
   elements' order with pdep, and mask and output written in the same pass. Same words, same
   mask, same output bits as the portable loop (out = x * (keep ? scale : 0)). Run only when
   the CPU has AVX-512 F/BW/VL and BMI2 (fastlc_dropout_wide); returns the first group it left. */
#if FASTLC_X86_DISPATCH
#define FASTLC_DROPOUT_HAVE_WIDE 1
#include <immintrin.h>
#define FASTLC_DROPOUT_WIDE_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,bmi2")))
static int fastlc_dropout_wide(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2");
}
/* keep bits of elements 4g .. 4g + 63 for the 16 groups g .. g + 15 (bit i: element 4g + i), as two
   independent sets of 8 lanes (the rounds are a chain of dependent multiplies: two chains in flight) */
FASTLC_DROPOUT_WIDE_TARGET static inline uint64_t fastlc_philox_keep64(uint64_t g, const uint32_t* k0,
                                                                      const uint32_t* k1, __m512i threshold) {
    const __m512i m0 = _mm512_set1_epi64(0xD2511F53), m1 = _mm512_set1_epi64(0xCD9E8D57);
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
    __m512i c0[2], c1[2], c2[2], c3[2];
    for (int h = 0; h < 2; h++) {
        c0[h] = _mm512_add_epi64(_mm512_set1_epi64((long long)g + 8 * h), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
        c1[h] = _mm512_srli_epi64(c0[h], 32);
        c2[h] = c3[h] = _mm512_setzero_si512();
    }
    for (int round = 0; round < 10; round++) {
        __m512i key0 = _mm512_set1_epi64(k0[round]), key1 = _mm512_set1_epi64(k1[round]);
        for (int h = 0; h < 2; h++) {
            __m512i p0 = _mm512_mul_epu32(c0[h], m0), p1 = _mm512_mul_epu32(c2[h], m1);
            /* 0x96: a ^ b ^ c */
            c0[h] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[h], key0, 0x96);
            c2[h] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[h], key1, 0x96);
            c1[h] = p1;
            c3[h] = p0;
        }
    }
    uint64_t keep = 0;
    for (int h = 0; h < 2; h++) {
        uint32_t w0 = _mm512_cmpge_epu64_mask(_mm512_and_si512(c0[h], low), threshold);
        uint32_t w1 = _mm512_cmpge_epu64_mask(_mm512_and_si512(c1[h], low), threshold);
        uint32_t w2 = _mm512_cmpge_epu64_mask(_mm512_and_si512(c2[h], low), threshold);
        uint32_t w3 = _mm512_cmpge_epu64_mask(_mm512_and_si512(c3[h], low), threshold);
        keep |= (uint64_t)(_pdep_u32(w0, 0x11111111u) | _pdep_u32(w1, 0x22222222u) | _pdep_u32(w2, 0x44444444u)
                           | _pdep_u32(w3, 0x88888888u)) << (32 * h);
    }
    return keep;
}
#define FASTLC_DROPOUT_WIDE_BODY(T, S, APPLY)                                                \
FASTLC_DROPOUT_WIDE_TARGET static ptrdiff_t fastlc_dropout_wide_##S(const T* x, uint64_t threshold, T scale, \
        uint32_t key0, uint32_t key1, T* out, uint8_t* mask, ptrdiff_t first, ptrdiff_t stop, ptrdiff_t n) { \
    uint32_t k0[10], k1[10];                                                                 \
    for (int round = 0; round < 10; round++) {  /* the key schedule of fastlc_philox4x32_10_words */ \
        k0[round] = key0 + (uint32_t)round * 0x9E3779B9u;                                    \
        k1[round] = key1 + (uint32_t)round * 0xBB67AE85u;                                    \
    }                                                                                        \
    const __m512i t = _mm512_set1_epi64((long long)threshold);                               \
    const __m512i one = _mm512_set1_epi8(1);                                                 \
    ptrdiff_t g = first;                                                                     \
    for (; g + 16 <= stop && 4 * (g + 16) <= n; g += 16) {                                   \
        fastlc_prefetch_ahead(x, 4 * g * (ptrdiff_t)sizeof(T), 4 * (g + 16) * (ptrdiff_t)sizeof(T), \
                              n * (ptrdiff_t)sizeof(T));                                     \
        uint64_t keep = fastlc_philox_keep64((uint64_t)g, k0, k1, t);                        \
        _mm512_storeu_si512((void*)(mask + 4 * g), _mm512_maskz_mov_epi8(keep, one));        \
        APPLY                                                                                \
    }                                                                                        \
    return g;                                                                                \
}
/* out = x * (keep ? scale : 0): the scale vector with the dropped lanes zeroed */
FASTLC_DROPOUT_WIDE_BODY(float, f32,
    for (int h = 0; h < 4; h++) {
        const float* xs = x + 4 * g + 16 * h;
        __m512 s = _mm512_maskz_mov_ps((__mmask16)(keep >> (16 * h)), _mm512_set1_ps(scale));
        _mm512_storeu_ps(out + 4 * g + 16 * h, _mm512_mul_ps(_mm512_loadu_ps(xs), s));
    })
FASTLC_DROPOUT_WIDE_BODY(double, f64,
    for (int h = 0; h < 8; h++) {
        const double* xs = x + 4 * g + 8 * h;
        __m512d s = _mm512_maskz_mov_pd((__mmask8)(keep >> (8 * h)), _mm512_set1_pd(scale));
        _mm512_storeu_pd(out + 4 * g + 8 * h, _mm512_mul_pd(_mm512_loadu_pd(xs), s));
    })
#define FASTLC_DROPOUT_WIDE_FIRST(S)                                                         \
    if (fastlc_dropout_wide()) first = fastlc_dropout_wide_##S(x, threshold, scale, k0, k1, out, mask, first, stop, n);
#else
#define FASTLC_DROPOUT_WIDE_FIRST(S)
#endif

#define FASTLC_DROPOUT(T, S)                                                                 \
FASTLC_CLONES static void fastlc_dropout_portable_##S(const T* x, uint64_t threshold, T scale, uint32_t k0, \
                                                      uint32_t k1, T* out, uint8_t* mask, ptrdiff_t first, \
                                                      ptrdiff_t stop, ptrdiff_t n) {         \
    uint32_t words[4 * FASTLC_DROPOUT_RUN];                                                  \
    for (ptrdiff_t run = first; run < stop; run += FASTLC_DROPOUT_RUN) {                     \
        ptrdiff_t end = stop - run < FASTLC_DROPOUT_RUN ? stop : run + FASTLC_DROPOUT_RUN;   \
        fastlc_prefetch_ahead(x, 4 * run * (ptrdiff_t)sizeof(T), 4 * end * (ptrdiff_t)sizeof(T), \
                              n * (ptrdiff_t)sizeof(T));                                     \
        FASTLC_OMP_SIMD()                                                                    \
        for (ptrdiff_t g = run; g < end; g++) {                                              \
            uint32_t* w = words + 4 * (g - run);                                             \
            fastlc_philox4x32_10_words((uint32_t)g, (uint32_t)((uint64_t)g >> 32), 0, 0, k0, k1, \
                                       &w[0], &w[1], &w[2], &w[3]);                          \
        }                                                                                    \
        ptrdiff_t lo = 4 * run, hi = 4 * end < n ? 4 * end : n;                              \
        FASTLC_OMP_SIMD()                                                                    \
        for (ptrdiff_t i = lo; i < hi; i++) {                                                \
            int keep = (uint64_t)words[i - lo] >= threshold;                                 \
            mask[i] = (uint8_t)keep;                                                         \
            out[i] = x[i] * (keep ? scale : (T)0);                                           \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
static void fastlc_dropout_groups_##S(const T* x, uint64_t threshold, T scale, uint32_t k0, uint32_t k1, \
                                      T* out, uint8_t* mask, ptrdiff_t first, ptrdiff_t stop, ptrdiff_t n) { \
    FASTLC_DROPOUT_WIDE_FIRST(S)                                                             \
    if (first < stop) fastlc_dropout_portable_##S(x, threshold, scale, k0, k1, out, mask, first, stop, n); \
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
    FASTLC_OMP_SIMD(reduction(+:t))                                                          \
    for (ptrdiff_t i = 0; i < n; i++) t += x[i];                                             \
    return t;                                                                                \
}                                                                                            \
FASTLC_CLONES static double fastlc_squares_##S(const T* x, ptrdiff_t n, double m) {                 \
    double t = 0;                                                                            \
    FASTLC_OMP_SIMD(reduction(+:t))                                                          \
    for (ptrdiff_t i = 0; i < n; i++) { double d = x[i] - m; t += d * d; }                   \
    return t;                                                                                \
}                                                                                            \
FASTLC_CLONES static void fastlc_sum_dot_##S(const T* g, const T* x, ptrdiff_t n, double m,         \
                                      double* total, double* dot) {                          \
    double t = 0, p = 0;                                                                     \
    FASTLC_OMP_SIMD(reduction(+:t, p))                                                       \
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

FASTLC_SHARED_HELPERS_END

#endif
