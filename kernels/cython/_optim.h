/* Element loops of the fused optimizer steps (kernels/cython/_optim.pyx).
 *
 * Why C: the loops are bound by sqrt, division and memory traffic, and a
 * Cython function is built for baseline x86-64 only (SSE2, 4 float lanes).
 * Here each loop is built for AVX-512, AVX2 and SSE2 where the compiler can
 * (target_clones, as in _rowmath.h) and the loader picks the best one for the
 * CPU: 16 float lanes on an AVX-512 machine.
 *
 * Exact IEEE arithmetic in the order of the naive backend (PyTorch's
 * single-tensor path): no fused multiply-add contraction, in any compiler
 * (FASTLC_NO_FP_CONTRACT_BEGIN), so the results are bitwise those of the SSE2
 * build, of every other build (gcc, clang, plain C; .ci/optim_digest.py checks
 * it) and of the numba kernels, and an element computes alike in the vector
 * body and in the scalar remainder.
 * Every combination of optional buffers gets its own loop that touches only
 * the arrays it uses, so gcc's runtime overlap checks never involve an absent
 * buffer.
 * The callers pass non-overlapping arrays of length n.
 */
#ifndef FASTLC_OPTIM_H
#define FASTLC_OPTIM_H

#include <math.h>
#include <stddef.h>

#include "_portable.h"
#include "_rowmath.h"

FASTLC_SHARED_HELPERS_BEGIN
/* every build rounds a * b + c twice, as written (see _portable.h; setup.py
   also compiles this module with -ffp-contract=off where accepted) */
FASTLC_NO_FP_CONTRACT_BEGIN

/* the gradient as the step uses it: sign flipped to maximize, plus the L2 term */
#define FASTLC_DIRECTION(g_in, p) \
    (weight_decay != 0 ? (maximize ? -(g_in) : (g_in)) + weight_decay * (p) : (maximize ? -(g_in) : (g_in)))

/* Adam, RMSprop and Adagrad (bound by sqrt and division as much as by memory) run in blocks
   [lo, hi) of FASTLC_STREAM_BLOCK bytes, each after prefetching its inputs further on, so that
   their arithmetic overlaps the loads (see fastlc_prefetch_ahead in _portable.h). */
#define FASTLC_BLOCKS_BEGIN(T)                                                        \
    for (ptrdiff_t lo = 0, hi; lo < n; lo = hi) {                                     \
        hi = n - lo < FASTLC_STREAM_BLOCK / (ptrdiff_t)sizeof(T) ? n : lo + FASTLC_STREAM_BLOCK / (ptrdiff_t)sizeof(T);
#define FASTLC_PREFETCH_BLOCK(T, array)                                               \
    fastlc_prefetch_ahead((array), lo * (ptrdiff_t)sizeof(T), hi * (ptrdiff_t)sizeof(T), n * (ptrdiff_t)sizeof(T))

/* One loop per combination of the optional buffers: AMSGRAD, CENTERED and
   MOMENTUM are literal 0/1 constants, so each expansion keeps only the code
   (and the arrays) of its variant and vectorizes on its own. */
#define FASTLC_ADAM_LOOP(T, SQRT, AMSGRAD)                                            \
    for (ptrdiff_t i = lo; i < hi; i++) {                                             \
        T p = param[i];                                                               \
        T g = FASTLC_DIRECTION(grad[i], p);                                           \
        T m = exp_avg[i];                                                             \
        m = m + one_minus_beta1 * (g - m);                                            \
        T v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;                        \
        T second = v;                                                                 \
        if (AMSGRAD) {                                                                \
            T v_max = max_exp_avg_sq[i];                                              \
            /* NaN propagates, as torch.maximum */                                   \
            second = (v > v_max || v != v) ? v : v_max;                               \
            max_exp_avg_sq[i] = second;                                               \
        }                                                                             \
        exp_avg[i] = m;                                                               \
        exp_avg_sq[i] = v;                                                            \
        /* param_scale: decoupled decay 1 - lr * wd (AdamW), else exactly 1 */        \
        param[i] = p * param_scale                                                    \
            - step_size * (m / (SQRT(second) * inv_bias_correction2_sqrt + eps));     \
    }

#define FASTLC_RMSPROP_LOOP(T, SQRT, CENTERED, MOMENTUM)                              \
    for (ptrdiff_t i = lo; i < hi; i++) {                                             \
        T p = param[i];                                                               \
        T g = FASTLC_DIRECTION(grad[i], p);                                           \
        T s = alpha * square_avg[i] + one_minus_alpha * g * g;                        \
        T variance = s;                                                               \
        if (CENTERED) {                                                               \
            T a = grad_avg[i];                                                        \
            a = a + one_minus_alpha * (g - a);                                        \
            grad_avg[i] = a;                                                          \
            variance = s - a * a;                                                     \
        }                                                                             \
        T avg = SQRT(variance + eps_inside) + eps_outside;                            \
        square_avg[i] = s;                                                            \
        if (MOMENTUM) {                                                               \
            T b = momentum * momentum_buffer[i] + g / avg;                            \
            momentum_buffer[i] = b;                                                   \
            param[i] = p - lr * b;                                                    \
        } else {                                                                      \
            param[i] = p - lr * (g / avg);                                            \
        }                                                                             \
    }

#define FASTLC_OPTIM_FUNCTIONS(T, SUFFIX, SQRT)                                       \
FASTLC_CLONES static void fastlc_adam_##SUFFIX(const T* grad, T* param, T* exp_avg,    \
        T* exp_avg_sq, T* max_exp_avg_sq, ptrdiff_t n, T step_size,                   \
        T inv_bias_correction2_sqrt, T one_minus_beta1, T beta2, T one_minus_beta2,   \
        T eps, T weight_decay, T param_scale, int maximize) {                         \
    FASTLC_BLOCKS_BEGIN(T)                                                            \
        FASTLC_PREFETCH_BLOCK(T, grad);                                               \
        FASTLC_PREFETCH_BLOCK(T, param);                                              \
        FASTLC_PREFETCH_BLOCK(T, exp_avg);                                            \
        FASTLC_PREFETCH_BLOCK(T, exp_avg_sq);                                         \
        /* AMSGrad: max_exp_avg_sq given */                                           \
        if (max_exp_avg_sq) {                                                         \
            FASTLC_PREFETCH_BLOCK(T, max_exp_avg_sq);                                 \
            FASTLC_ADAM_LOOP(T, SQRT, 1)                                              \
        } else {                                                                      \
            FASTLC_ADAM_LOOP(T, SQRT, 0)                                              \
        }                                                                             \
    }                                                                                 \
}                                                                                     \
FASTLC_CLONES static void fastlc_rmsprop_##SUFFIX(const T* grad, T* param,            \
        T* square_avg, T* momentum_buffer, T* grad_avg, ptrdiff_t n, T lr, T alpha,   \
        T one_minus_alpha, T eps_inside, T eps_outside, T weight_decay, T momentum,   \
        int maximize) {                                                               \
    FASTLC_BLOCKS_BEGIN(T)                                                            \
        FASTLC_PREFETCH_BLOCK(T, grad);                                               \
        FASTLC_PREFETCH_BLOCK(T, param);                                              \
        FASTLC_PREFETCH_BLOCK(T, square_avg);                                         \
        if (momentum_buffer) FASTLC_PREFETCH_BLOCK(T, momentum_buffer);               \
        if (grad_avg) FASTLC_PREFETCH_BLOCK(T, grad_avg);                             \
        /* centered: grad_avg given; momentum: momentum_buffer given */               \
        if (grad_avg && momentum_buffer) {                                            \
            FASTLC_RMSPROP_LOOP(T, SQRT, 1, 1)                                        \
        } else if (grad_avg) {                                                        \
            FASTLC_RMSPROP_LOOP(T, SQRT, 1, 0)                                        \
        } else if (momentum_buffer) {                                                 \
            FASTLC_RMSPROP_LOOP(T, SQRT, 0, 1)                                        \
        } else {                                                                      \
            FASTLC_RMSPROP_LOOP(T, SQRT, 0, 0)                                        \
        }                                                                             \
    }                                                                                 \
}                                                                                     \
FASTLC_CLONES static void fastlc_sgd_##SUFFIX(const T* grad, T* param,                \
        T* momentum_buffer, ptrdiff_t n, T lr, T momentum, T one_minus_dampening,     \
        T weight_decay, int nesterov, int first_step, int maximize) {                 \
    /* momentum: momentum_buffer given */                                             \
    if (momentum_buffer) {                                                            \
        for (ptrdiff_t i = 0; i < n; i++) {                                           \
            T p = param[i];                                                           \
            T g = FASTLC_DIRECTION(grad[i], p);                                       \
            /* PyTorch: buf = clone(grad) on the first step */                        \
            T b = first_step ? g : momentum * momentum_buffer[i] + one_minus_dampening * g; \
            momentum_buffer[i] = b;                                                   \
            g = nesterov ? g + momentum * b : b;                                      \
            param[i] = p - lr * g;                                                    \
        }                                                                             \
    } else {                                                                          \
        for (ptrdiff_t i = 0; i < n; i++) {                                           \
            T p = param[i];                                                           \
            param[i] = p - lr * FASTLC_DIRECTION(grad[i], p);                         \
        }                                                                             \
    }                                                                                 \
}                                                                                     \
FASTLC_CLONES static void fastlc_adagrad_##SUFFIX(const T* grad, T* param, T* sum_sq, \
        ptrdiff_t n, T clr, T eps_inside, T eps_outside, T weight_decay,              \
        int maximize) {                                                               \
    FASTLC_BLOCKS_BEGIN(T)                                                            \
        FASTLC_PREFETCH_BLOCK(T, grad);                                               \
        FASTLC_PREFETCH_BLOCK(T, param);                                              \
        FASTLC_PREFETCH_BLOCK(T, sum_sq);                                             \
        for (ptrdiff_t i = lo; i < hi; i++) {                                         \
            T p = param[i];                                                           \
            T g = FASTLC_DIRECTION(grad[i], p);                                       \
            T s = sum_sq[i] + g * g;                                                  \
            sum_sq[i] = s;                                                            \
            param[i] = p - clr * (g / (SQRT(s + eps_inside) + eps_outside));          \
        }                                                                             \
    }                                                                                 \
}

FASTLC_OPTIM_FUNCTIONS(float, f32, sqrtf)
FASTLC_OPTIM_FUNCTIONS(double, f64, sqrt)

#undef FASTLC_DIRECTION
#undef FASTLC_BLOCKS_BEGIN
#undef FASTLC_PREFETCH_BLOCK
#undef FASTLC_ADAM_LOOP
#undef FASTLC_RMSPROP_LOOP
FASTLC_NO_FP_CONTRACT_END

FASTLC_SHARED_HELPERS_END

#endif
