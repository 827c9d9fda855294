/* Feature-length primitives of the fused linear-model gradient (kernels/cython/_linear.pyx).
 *
 * The kernel works on groups of 4 sample rows: the 4 rows (4 x D values) stay
 * in L1 between the score pass and the gradient pass, and W / dW are read once
 * per group instead of once per row. Where 4 rows exceed 16 KB (float64 and
 * D = 784: 25 KB, more than half a 32 KB L1), both passes take the features by
 * blocks (the caller's loop; the tiles take a block and the row stride ld).
 * Rows a group lacks (the end of a chunk, rows of weight 0) point to a row of
 * zeros with coefficient 0, so one code path serves every case and a skipped
 * row adds exact zeros.
 *
 * Both passes work on tiles of 4 rows x 2 classes held in registers: per step
 * of one vector (64 bytes) along the features they load 4 sample vectors and 2
 * weight vectors for 8 fused multiply-adds, so the loop is bound by the FMA
 * units, not by the loads (a 4 x 1 tile needs 5 loads for 4 FMAs). With the
 * 32 registers of AVX-512 the score pass takes 4 classes at a time (4 x 4
 * tiles, 16 accumulators: 15% faster in isolation, same bits). The
 * tiles are written once (FASTLC_TILE_FUNCTIONS) and built
 *   - portably, for every compiler: 32-byte vectors, GNU vector types where
 *     the compiler has them (lane-wise semantics on every ISA; target_clones
 *     for AVX2 and baseline SSE2 on x86-64 Linux), plain lane loops elsewhere;
 *   - for AVX-512 with gcc and clang on x86-64 ("wide", set apart at the end):
 *     64-byte vectors and a shuffle tree for the lane sums.
 * The kernel asks fastlc_linear_wide() which one the CPU runs.
 *
 * Determinism: every dot product is summed in a fixed order (per block of
 * features, one partial sum per vector lane, a scalar tail, then a fixed tree
 * of lane pairs; the blocks added in order), which depends on D, the dtype and
 * the build the CPU runs, never on the thread count or on where the arrays
 * start. No fast-math: NaN propagates.
 */
#ifndef FASTLC_LINEAR_H
#define FASTLC_LINEAR_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "_portable.h"
#include "_rowmath.h"

/* n bytes starting on a 64-byte boundary, released with fastlc_aligned_free
   (C11's aligned_alloc is missing from some C runtimes, MSVC's among them).
   The malloc'd block's own address is kept just below the aligned one. */
static void* fastlc_aligned_malloc(size_t n) {
    char* raw = (char*)malloc(n + 64 + sizeof(void*));
    if (raw == NULL) return NULL;
    char* aligned = raw + sizeof(void*);
    aligned += (64 - (size_t)aligned % 64) % 64;
    memcpy(aligned - sizeof(void*), &raw, sizeof(void*));
    return aligned;
}
static void fastlc_aligned_free(void* p) {
    if (p == NULL) return;
    void* raw;
    memcpy(&raw, (char*)p - sizeof(void*), sizeof(void*));
    free(raw);
}

/* Prefetch of the next group's rows, spread evenly over this group's tile
   loops. The rows of a batch are scattered over X, so the hardware prefetcher
   cannot guess them, and fetching 4 rows at once stalls the first tile: asking
   for the lines a few at a time keeps the memory busy while the FMA units work
   (about 10% faster per batch when X is far larger than the caches). Each
   vector step of a tile loop earns 2 of credit and a line is asked for per
   per_line of credit: with per_line = the number of class pairs and 64-byte
   vectors (one line a step), the 4 rows are spread over the 2 * per_line
   tiles (scores and gradient) of a group; the portable 32-byte tiles take two
   steps a line and ask for all of them in the score pass. The state carries
   from tile to tile and block to block (FASTLC_AHEAD_END), so each line is
   asked for once.
   The lines a tile loop earns are asked for before it starts
   (FASTLC_AHEAD_STEPS), not one by one inside it: the bookkeeping inside the
   loop cost more than it saved where X sits in the last-level cache (Zen 5,
   784 features, 10 classes, one process A/B: float64 rows from L3 2-6%
   faster a batch, from memory 6-9%; float32 from memory 5-7%). */
typedef struct {
    const char* row[4];   /* the next group's rows */
    ptrdiff_t r, off;     /* next line to ask for: row r, byte offset off */
    ptrdiff_t row_bytes;  /* bytes per row */
    ptrdiff_t credit, per_line;
} fastlc_ahead;
#define FASTLC_AHEAD_BEGIN(p)                                                         \
    const char* const* ah_row = (p)->row;                                             \
    ptrdiff_t ah_r = (p)->r, ah_off = (p)->off, ah_bytes = (p)->row_bytes;            \
    ptrdiff_t ah_credit = (p)->credit, ah_per_line = (p)->per_line;
/* the prefetches earned by k vector steps */
#define FASTLC_AHEAD_STEPS(k)                                                         \
    do {                                                                              \
        ah_credit += 2 * (k);                                                         \
        while (ah_credit >= ah_per_line && ah_r < 4) {                                \
            ah_credit -= ah_per_line;                                                 \
            FASTLC_PREFETCH(ah_row[ah_r] + ah_off);                                   \
            ah_off += 64;                                                             \
            if (ah_off >= ah_bytes) { ah_off = 0; ah_r++; }                           \
        }                                                                             \
    } while (0)
#define FASTLC_AHEAD_END(p) do { (p)->r = ah_r; (p)->off = ah_off; (p)->credit = ah_credit; } while (0)

/* ==== Portable tiles: every compiler ====================================== */

/* 32-byte tile vectors: GNU vector types where the compiler has them, else a
   struct of lanes that the lane loops below fill one by one (the compiler may
   vectorize those). The lanes and their order of additions are the same
   either way, so the plain-C build gives the bits of the baseline (SSE2)
   vector build. */
#if FASTLC_HAVE_VECTOR_EXT
FASTLC_VECTOR_TYPE(float, 32, fastlc_f32x8);
FASTLC_VECTOR_TYPE(double, 32, fastlc_f64x4);
/* acc += a * b and y += s * a, lane by lane (s a scalar) */
#define FASTLC_VMADD(acc, a, b) ((acc) += (a) * (b))
#define FASTLC_VSMADD(y, s, a) ((y) += (s) * (a))
#else
typedef struct { float lane[8]; } fastlc_f32x8;
typedef struct { double lane[4]; } fastlc_f64x4;
#define FASTLC_VMADD(acc, a, b)                                                       \
    do {                                                                              \
        for (int l_ = 0; l_ < L; l_++) (acc).lane[l_] += (a).lane[l_] * (b).lane[l_]; \
    } while (0)
#define FASTLC_VSMADD(y, s, a)                                                        \
    do {                                                                              \
        for (int l_ = 0; l_ < L; l_++) (y).lane[l_] += (s) * (a).lane[l_];            \
    } while (0)
#endif
#define FASTLC_PIN_NONE(v) ((void)0)

/* The 8 dot products of a 4 x 2 tile, dots[k] = sum of the lanes of acc[k]: a
   fixed tree over the lanes of each accumulator, in memory (it runs once per
   tile, after the long loop). */
#define FASTLC_REDUCE8_TREE(T, V, acc, dots)                                          \
    do {                                                                              \
        enum { L_ = sizeof(V) / sizeof(T) };                                          \
        T lanes_[8][L_];                                                              \
        memcpy(lanes_, (acc), sizeof(lanes_));                                        \
        for (int k_ = 0; k_ < 8; k_++) {                                              \
            for (int w_ = L_ / 2; w_ >= 1; w_ /= 2)                                   \
                for (int i_ = 0; i_ < w_; i_++) lanes_[k_][i_] += lanes_[k_][i_ + w_]; \
            (dots)[k_] = lanes_[k_][0];                                               \
        }                                                                             \
    } while (0)

/* The end of a 4 x 2 tile of classes (c, c1) whose vector loop stopped at j: the
   scalar tail of the dot products, the lane sums, plus the intercepts (first
   block of features) or the scores of the blocks before. */
#define FASTLC_SCORES_FINISH(T, V, REDUCE8, acc, w0, w1, c, c1, j)                    \
    do {                                                                              \
        T tail[8] = {0};                                                              \
        for (ptrdiff_t t_ = (j); t_ < n; t_++) {                                      \
            tail[0] += x0[t_] * (w0)[t_]; tail[1] += x0[t_] * (w1)[t_];               \
            tail[2] += x1[t_] * (w0)[t_]; tail[3] += x1[t_] * (w1)[t_];               \
            tail[4] += x2[t_] * (w0)[t_]; tail[5] += x2[t_] * (w1)[t_];               \
            tail[6] += x3[t_] * (w0)[t_]; tail[7] += x3[t_] * (w1)[t_];               \
        }                                                                             \
        T dots[8];                                                                    \
        REDUCE8(T, V, acc, dots);                                                     \
        for (int r = 0; r < 4; r++) {                                                 \
            T* s_ = scores + r * n_classes;                                           \
            T base0 = first ? b[c] : s_[c], base1 = first ? b[c1] : s_[c1];           \
            s_[c] = (dots[2 * r] + tail[2 * r]) + base0;                              \
            s_[c1] = (dots[2 * r + 1] + tail[2 * r + 1]) + base1;                     \
        }                                                                             \
    } while (0)

/* One feature j of a gradient row d beyond the vector loop: d[j] += s0 x0[j] + ...
   + s3 x3[j], added in that order (as the vector lanes are). */
#define FASTLC_GRAD_TAIL(T, d, s0, s1, s2, s3, j)                                     \
    do {                                                                              \
        T y_ = (d)[j];                                                                \
        y_ += (s0) * x0[j]; y_ += (s1) * x1[j]; y_ += (s2) * x2[j]; y_ += (s3) * x3[j]; \
        (d)[j] = y_;                                                                  \
    } while (0)

/* The two tile passes, written once for any vector type V of L lanes of T
   (L = sizeof(V) / sizeof(T)); VARIANT names the build, TARGET its function
   attributes, PIN(v) keeps v in a register, REDUCE8 sums the lanes, QUAD says
   whether the score pass may take classes by 4 (16 accumulators: 4 x 4 tiles
   need the 32 registers of AVX-512; they hide the FMA latency better and load
   each sample vector once per 4 classes). Every score is the same sum in the
   same order whatever the tile, so both give the same bits. */
#define FASTLC_TILE_FUNCTIONS(T, SUFFIX, VARIANT, TARGET, VTYPE, PIN, REDUCE8, QUAD)   \
/* scores[r * n_classes + c] = W[c] . x_r + b[c] for the 4 rows x[0..3] of length   \
   n and every class c (W row-major (n_classes, n), rows ld values apart). Classes  \
   go by 4 (QUAD), then in pairs; an odd last class is paired with itself. With     \
   first = 0, W and x are a later block of features: scores[...] += W[c] . x_r.    \
*/                                                                                  \
TARGET static void fastlc_scores4_##SUFFIX##_##VARIANT(const T* W, const T* b,            \
        ptrdiff_t n_classes, const T** x, ptrdiff_t n, ptrdiff_t ld, int first, T* scores, \
        fastlc_ahead* ahead) {                                                        \
    typedef VTYPE V;                                                                  \
    enum { L = sizeof(V) / sizeof(T) };                                               \
    const T *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];                           \
    ptrdiff_t c = 0;                                                                  \
    FASTLC_AHEAD_BEGIN(ahead)                                                         \
    for (; QUAD && c + 4 <= n_classes; c += 4) {                                      \
        const T *w0 = W + c * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;        \
        /* acc[2 r + k]: lane partial sums of x_r . w_k; hi[2 r + k] of x_r . w_(2 + k) */ \
        V acc[8] = {0}, hi[8] = {0};                                                  \
        ptrdiff_t j = 0;                                                              \
        FASTLC_AHEAD_STEPS(2 * (n / L));                                              \
        for (; j + L <= n; j += L) {                                                  \
            V a, b0, b1, b2, b3;                                                      \
            memcpy(&b0, w0 + j, sizeof(V)); memcpy(&b1, w1 + j, sizeof(V));           \
            memcpy(&b2, w2 + j, sizeof(V)); memcpy(&b3, w3 + j, sizeof(V));           \
            memcpy(&a, x0 + j, sizeof(V)); PIN(a);                                    \
            FASTLC_VMADD(acc[0], a, b0); FASTLC_VMADD(acc[1], a, b1);                 \
            FASTLC_VMADD(hi[0], a, b2); FASTLC_VMADD(hi[1], a, b3);                   \
            memcpy(&a, x1 + j, sizeof(V)); PIN(a);                                    \
            FASTLC_VMADD(acc[2], a, b0); FASTLC_VMADD(acc[3], a, b1);                 \
            FASTLC_VMADD(hi[2], a, b2); FASTLC_VMADD(hi[3], a, b3);                   \
            memcpy(&a, x2 + j, sizeof(V)); PIN(a);                                    \
            FASTLC_VMADD(acc[4], a, b0); FASTLC_VMADD(acc[5], a, b1);                 \
            FASTLC_VMADD(hi[4], a, b2); FASTLC_VMADD(hi[5], a, b3);                   \
            memcpy(&a, x3 + j, sizeof(V)); PIN(a);                                    \
            FASTLC_VMADD(acc[6], a, b0); FASTLC_VMADD(acc[7], a, b1);                 \
            FASTLC_VMADD(hi[6], a, b2); FASTLC_VMADD(hi[7], a, b3);                   \
        }                                                                             \
        FASTLC_SCORES_FINISH(T, V, REDUCE8, acc, w0, w1, c, c + 1, j);                \
        FASTLC_SCORES_FINISH(T, V, REDUCE8, hi, w2, w3, c + 2, c + 3, j);             \
    }                                                                                 \
    for (; c < n_classes; c += 2) {                                                   \
        ptrdiff_t c1 = c + 1 < n_classes ? c + 1 : c;                                 \
        const T *w0 = W + c * ld, *w1 = W + c1 * ld;                                  \
        /* acc[2 r + k]: lane partial sums of x_r . w_k */                            \
        V acc[8] = {0};                                                               \
        ptrdiff_t j = 0;                                                              \
        FASTLC_AHEAD_STEPS(n / L);                                                    \
        for (; j + L <= n; j += L) {                                                  \
            V a, b0, b1;                                                              \
            memcpy(&b0, w0 + j, sizeof(V));                                           \
            memcpy(&b1, w1 + j, sizeof(V));                                           \
            memcpy(&a, x0 + j, sizeof(V)); PIN(a); FASTLC_VMADD(acc[0], a, b0); FASTLC_VMADD(acc[1], a, b1); \
            memcpy(&a, x1 + j, sizeof(V)); PIN(a); FASTLC_VMADD(acc[2], a, b0); FASTLC_VMADD(acc[3], a, b1); \
            memcpy(&a, x2 + j, sizeof(V)); PIN(a); FASTLC_VMADD(acc[4], a, b0); FASTLC_VMADD(acc[5], a, b1); \
            memcpy(&a, x3 + j, sizeof(V)); PIN(a); FASTLC_VMADD(acc[6], a, b0); FASTLC_VMADD(acc[7], a, b1); \
        }                                                                             \
        FASTLC_SCORES_FINISH(T, V, REDUCE8, acc, w0, w1, c, c1, j);                   \
    }                                                                                 \
    FASTLC_AHEAD_END(ahead);                                                          \
}                                                                                     \
/* dW[c] += g[0 * n_classes + c] x_0 + ... + g[3 * n_classes + c] x_3 (added in     \
   that order) over n features, for the classes listed in active[0..n_active), in  \
   pairs; an odd last class runs alone. dW's rows are ld values apart: the caller  \
   may pass a block of the features of a wider dW (and x advanced to it).          \
   (Classes by 4 were no faster: the loop waits on dW.) */                         \
TARGET static void fastlc_grad4_##SUFFIX##_##VARIANT(T* dW, ptrdiff_t n_classes,           \
        const T** x, ptrdiff_t n, ptrdiff_t ld, const T* g, const ptrdiff_t* active,  \
        ptrdiff_t n_active, fastlc_ahead* ahead) {                                      \
    typedef VTYPE V;                                                                  \
    enum { L = sizeof(V) / sizeof(T) };                                               \
    const T *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];                           \
    ptrdiff_t i = 0;                                                                  \
    FASTLC_AHEAD_BEGIN(ahead)                                                         \
    for (; i < n_active; i += 2) {                                                    \
        ptrdiff_t c0 = active[i], c1 = active[i + 1 < n_active ? i + 1 : i];          \
        int pair = i + 1 < n_active;                                                  \
        T* d0 = dW + c0 * ld;                                                         \
        T* d1 = dW + c1 * ld;                                                         \
        T s00 = g[c0], s10 = g[n_classes + c0], s20 = g[2 * n_classes + c0],          \
          s30 = g[3 * n_classes + c0];                                                \
        T s01 = g[c1], s11 = g[n_classes + c1], s21 = g[2 * n_classes + c1],          \
          s31 = g[3 * n_classes + c1];                                                \
        ptrdiff_t j = 0;                                                              \
        FASTLC_AHEAD_STEPS(n / L);                                                    \
        if (pair) {                                                                   \
            for (; j + L <= n; j += L) {                                              \
                V a0, a1, a2, a3, y0, y1;                                             \
                memcpy(&a0, x0 + j, sizeof(V)); memcpy(&a1, x1 + j, sizeof(V));       \
                memcpy(&a2, x2 + j, sizeof(V)); memcpy(&a3, x3 + j, sizeof(V));       \
                PIN(a0); PIN(a1); PIN(a2); PIN(a3);                                   \
                memcpy(&y0, d0 + j, sizeof(V)); memcpy(&y1, d1 + j, sizeof(V));       \
                FASTLC_VSMADD(y0, s00, a0); FASTLC_VSMADD(y0, s10, a1);               \
                FASTLC_VSMADD(y0, s20, a2); FASTLC_VSMADD(y0, s30, a3);               \
                FASTLC_VSMADD(y1, s01, a0); FASTLC_VSMADD(y1, s11, a1);               \
                FASTLC_VSMADD(y1, s21, a2); FASTLC_VSMADD(y1, s31, a3);               \
                memcpy(d0 + j, &y0, sizeof(V)); memcpy(d1 + j, &y1, sizeof(V));       \
            }                                                                         \
        } else {                                                                      \
            for (; j + L <= n; j += L) {                                              \
                V a0, a1, a2, a3, y0;                                                 \
                memcpy(&a0, x0 + j, sizeof(V)); memcpy(&a1, x1 + j, sizeof(V));       \
                memcpy(&a2, x2 + j, sizeof(V)); memcpy(&a3, x3 + j, sizeof(V));       \
                PIN(a0); PIN(a1); PIN(a2); PIN(a3);                                   \
                memcpy(&y0, d0 + j, sizeof(V));                                       \
                FASTLC_VSMADD(y0, s00, a0); FASTLC_VSMADD(y0, s10, a1);               \
                FASTLC_VSMADD(y0, s20, a2); FASTLC_VSMADD(y0, s30, a3);               \
                memcpy(d0 + j, &y0, sizeof(V));                                       \
            }                                                                         \
        }                                                                             \
        for (; j < n; j++) {                                                          \
            FASTLC_GRAD_TAIL(T, d0, s00, s10, s20, s30, j);                              \
            if (pair) FASTLC_GRAD_TAIL(T, d1, s01, s11, s21, s31, j);                    \
        }                                                                             \
    }                                                                                 \
    FASTLC_AHEAD_END(ahead);                                                          \
}

/* Built for AVX2 and baseline x86-64 where the compiler can (_portable.h). */
#define FASTLC_PORTABLE_TARGET FASTLC_TARGET_CLONES("avx2", "default")
FASTLC_TILE_FUNCTIONS(float, f32, portable, FASTLC_PORTABLE_TARGET, fastlc_f32x8, FASTLC_PIN_NONE,
                      FASTLC_REDUCE8_TREE, 0)
FASTLC_TILE_FUNCTIONS(double, f64, portable, FASTLC_PORTABLE_TARGET, fastlc_f64x4, FASTLC_PIN_NONE,
                      FASTLC_REDUCE8_TREE, 0)

/* ==== x86-64 AVX-512 tiles ("wide"): gcc and clang ========================= */

/* 64-byte vectors, a function of their own built for x86-64-v4 (in the
   portable build a 64-byte vector would take two or four registers and the
   tile would spill), run only when the CPU has AVX-512 (fastlc_linear_wide). */
#if FASTLC_X86_DISPATCH && FASTLC_HAVE_VECTOR_EXT && FASTLC_HAVE_SHUFFLE
#define FASTLC_LINEAR_HAVE_WIDE 1
#define FASTLC_WIDE_TARGET __attribute__((target("arch=x86-64-v4")))
FASTLC_VECTOR_TYPE(float, 64, fastlc_f32x16);
FASTLC_VECTOR_TYPE(double, 64, fastlc_f64x8);
FASTLC_VECTOR_TYPE(int, 64, fastlc_i32x16);
FASTLC_VECTOR_TYPE(long long, 64, fastlc_i64x8);

/* The tiles want their sample vectors in registers: gcc otherwise folds each
   load into both FMAs that use it, which makes the loop bound by loads again.
   An empty asm pins a vector to a register (any of the 32 AVX-512 ones). */
#define FASTLC_PIN_WIDE(v) __asm__("" : "+v"(v))

static int fastlc_linear_wide(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/* The 8 dot products of a 4 x 2 tile, dots[k] = sum of the lanes of acc[k]: a
   fixed tree that halves the lanes of pairs of accumulators at each level,
   in registers. */
#define FASTLC_SHUF(a, b, ...) FASTLC_SHUFFLE(fastlc_i32x16, a, b, __VA_ARGS__)
FASTLC_ALWAYS_INLINE void fastlc_reduce8_f32(const fastlc_f32x16* acc, float* dots) {
    fastlc_f32x16 u[4], v[2], z;
    for (int i = 0; i < 4; i++)  /* lanes: 8 partials of acc[2i], 8 of acc[2i+1] */
        u[i] = FASTLC_SHUF(acc[2 * i], acc[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
             + FASTLC_SHUF(acc[2 * i], acc[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int i = 0; i < 2; i++)  /* 4 partials of each of 4 accumulators */
        v[i] = FASTLC_SHUF(u[2 * i], u[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
             + FASTLC_SHUF(u[2 * i], u[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    /* 2 partials of each of the 8 accumulators */
    z = FASTLC_SHUF(v[0], v[1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
      + FASTLC_SHUF(v[0], v[1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    z = FASTLC_SHUF(z, z, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14)
      + FASTLC_SHUF(z, z, 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
    memcpy(dots, &z, 8 * sizeof(float));
}
#undef FASTLC_SHUF
#define FASTLC_SHUF(a, b, ...) FASTLC_SHUFFLE(fastlc_i64x8, a, b, __VA_ARGS__)
FASTLC_ALWAYS_INLINE void fastlc_reduce8_f64(const fastlc_f64x8* acc, double* dots) {
    fastlc_f64x8 u[4], v[2];
    for (int i = 0; i < 4; i++)  /* lanes: 4 partials of acc[2i], 4 of acc[2i+1] */
        u[i] = FASTLC_SHUF(acc[2 * i], acc[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11)
             + FASTLC_SHUF(acc[2 * i], acc[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15);
    for (int i = 0; i < 2; i++)  /* 2 partials of each of 4 accumulators */
        v[i] = FASTLC_SHUF(u[2 * i], u[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13)
             + FASTLC_SHUF(u[2 * i], u[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15);
    v[0] = FASTLC_SHUF(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14)
         + FASTLC_SHUF(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15);
    memcpy(dots, &v[0], 8 * sizeof(double));
}
#undef FASTLC_SHUF
#define FASTLC_REDUCE8_WIDE_f32(T, V, acc, dots) fastlc_reduce8_f32((acc), (dots))
#define FASTLC_REDUCE8_WIDE_f64(T, V, acc, dots) fastlc_reduce8_f64((acc), (dots))

FASTLC_TILE_FUNCTIONS(float, f32, wide, FASTLC_WIDE_TARGET, fastlc_f32x16, FASTLC_PIN_WIDE, FASTLC_REDUCE8_WIDE_f32, 1)
FASTLC_TILE_FUNCTIONS(double, f64, wide, FASTLC_WIDE_TARGET, fastlc_f64x8, FASTLC_PIN_WIDE, FASTLC_REDUCE8_WIDE_f64, 1)

#else
#define FASTLC_LINEAR_HAVE_WIDE 0
static int fastlc_linear_wide(void) { return 0; }
#endif

/* ==== The entry points: the wide tiles when the CPU has them ================ */

/* fastlc_NAME_wide(...) where the wide tiles exist; elsewhere never reached */
#if FASTLC_LINEAR_HAVE_WIDE
#define FASTLC_LINEAR_WIDE_CALL(name, ...) name##_wide(__VA_ARGS__)
#else
#define FASTLC_LINEAR_WIDE_CALL(name, ...) ((void)0)
#endif
#define FASTLC_LINEAR_FUNCTIONS(T, SUFFIX)                                            \
static inline void fastlc_scores4_##SUFFIX(int wide, const T* W, const T* b,          \
        ptrdiff_t n_classes, const T** x, ptrdiff_t n, ptrdiff_t ld, int first, T* scores, \
        fastlc_ahead* ahead) {                                                        \
    if (FASTLC_LINEAR_HAVE_WIDE && wide)                                              \
        FASTLC_LINEAR_WIDE_CALL(fastlc_scores4_##SUFFIX, W, b, n_classes, x, n, ld, first, scores, ahead); \
    else fastlc_scores4_##SUFFIX##_portable(W, b, n_classes, x, n, ld, first, scores, ahead); \
}                                                                                     \
static inline void fastlc_grad4_##SUFFIX(int wide, T* dW, ptrdiff_t n_classes,        \
        const T** x, ptrdiff_t n, ptrdiff_t ld, const T* g, const ptrdiff_t* active,  \
        ptrdiff_t n_active, fastlc_ahead* ahead) {                                      \
    if (FASTLC_LINEAR_HAVE_WIDE && wide)                                              \
        FASTLC_LINEAR_WIDE_CALL(fastlc_grad4_##SUFFIX, dW, n_classes, x, n, ld, g, active, n_active, ahead); \
    else fastlc_grad4_##SUFFIX##_portable(dW, n_classes, x, n, ld, g, active, n_active, ahead); \
}                                                                                     \
/* Ask for the n values at x to be brought into the caches (the next rows of a   \
   batch are scattered over X, so the hardware prefetcher cannot guess them). */     \
static inline void fastlc_prefetch_##SUFFIX(const T* x, ptrdiff_t n) {                \
    for (ptrdiff_t j = 0; j < n; j += 64 / sizeof(T)) FASTLC_PREFETCH(x + j);         \
}                                                                                     \
/* y += x */                                                                          \
FASTLC_CLONES static void fastlc_add_##SUFFIX(T* y, const T* x, ptrdiff_t n) {        \
    for (ptrdiff_t j = 0; j < n; j++) y[j] += x[j];                                   \
}


FASTLC_LINEAR_FUNCTIONS(float, f32)
FASTLC_LINEAR_FUNCTIONS(double, f64)

#endif
