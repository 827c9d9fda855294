/* The fused linear kernel's two tile passes (kernels/cython/_linear.h) alone, on rows in
 * cache and on rows scattered over a training set, against nothing but themselves.
 *
 *     gcc -O2 -fopenmp-simd -I kernels/cython benchmarks/linear_tiles.c -o /tmp/linear_tiles && /tmp/linear_tiles
 *
 * What it answers: is the fit's kernel (0.6 of one-thread GEMM in workflow_speed.py's
 * "fused gradient kernel" row) bound by its arithmetic or by fetching each batch's
 * rows? Each pass runs over groups of 4 rows of 784 features and 10 classes, the
 * features by the kernel's blocks (2 of 392 in float64, 1 in float32), on the AVX-512
 * tiles (x86-64 with AVX-512 only). "in cache": 64 rows (400 KB of float64, in L2)
 * visited again and again; "from memory": 3000 rows (18.8 MB) in a scattered order,
 * as a fit's batches take them (without the kernel's prefetch of the next group,
 * which the passes here do not run). Multiply-adds per second: compare with BLAS
 * GEMM on one thread (workflow_speed.py reports it in the same row).
 */
#include <stdio.h>
#include <time.h>

#include "_linear.h"

#if !FASTLC_LINEAR_HAVE_WIDE
int main(void) {
    puts("the AVX-512 tiles are not built here (x86-64 gcc / clang only)");
    return 0;
}
#else

enum { D = 784, C = 10, REPEAT_ROWS = 2000000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* G multiply-adds per second of one pass (0: scores, 1: gradient) over REPEAT_ROWS rows
   taken in groups of 4 from n_rows rows visited in a scattered order. */
#define PASS_RATE(T, SUFFIX)                                                                       \
static double pass_rate_##SUFFIX(int pass, long n_rows) {                                          \
    T* X = fastlc_aligned_malloc(sizeof(T) * n_rows * D);                                          \
    T* W = fastlc_aligned_malloc(sizeof(T) * C * D);                                               \
    T* dW = fastlc_aligned_malloc(sizeof(T) * C * D);                                              \
    long* order = malloc(sizeof(long) * n_rows);                                                   \
    T b[C] = {0}, scores[4 * C], g[4 * C];                                                         \
    ptrdiff_t active[C];                                                                           \
    for (long i = 0; i < n_rows * D; i++) X[i] = (T)((i % 97) * 0.01);                            \
    for (long i = 0; i < C * D; i++) { W[i] = (T)(0.001 * (i % 13)); dW[i] = 0; }                  \
    for (int c = 0; c < C; c++) active[c] = c;                                                     \
    for (int i = 0; i < 4 * C; i++) g[i] = (T)(0.01 * (i % 7) - 0.02);                             \
    for (long i = 0; i < n_rows; i++) order[i] = (i * 1237) % n_rows;  /* n_rows prime to 1237 */  \
    fastlc_ahead ahead = {{0}};                                                                    \
    ahead.r = 4;  /* no prefetch */                                                                \
    /* the blocks _chunk_gradient (_linear.pyx) takes at D = 784: 2 of 392 in float64, 1 in float32 */ \
    ptrdiff_t block = sizeof(T) == 8 ? 392 : D;                                                    \
    double start = now();                                                                          \
    for (long done = 0, i = 0; done < REPEAT_ROWS; done += 4, i = (i + 4) % (n_rows - 3)) {        \
        for (ptrdiff_t j0 = 0; j0 < D; j0 += block) {                                              \
            const T* x[4];                                                                         \
            for (int r = 0; r < 4; r++) x[r] = X + order[i + r] * D + j0;                          \
            ahead.r = 4;                                                                           \
            if (pass == 0)                                                                         \
                fastlc_scores4_##SUFFIX##_wide(W + j0, b, C, x, block, D, j0 == 0, scores, &ahead); \
            else                                                                                   \
                fastlc_grad4_##SUFFIX##_wide(dW + j0, C, x, block, D, g, active, C, &ahead);       \
        }                                                                                          \
    }                                                                                              \
    double rate = (double)REPEAT_ROWS * D * C / (now() - start) / 1e9;                             \
    if (scores[3] + dW[5] == 12345) puts("");  /* keep the results alive */                        \
    fastlc_aligned_free(X); fastlc_aligned_free(W); fastlc_aligned_free(dW); free(order);          \
    return rate;                                                                                   \
}
PASS_RATE(float, f32)
PASS_RATE(double, f64)

int main(void) {
    if (!fastlc_linear_wide()) {
        puts("this CPU has no AVX-512: the kernel runs its portable tiles, not timed here");
        return 0;
    }
    printf("G multiply-adds/s, one thread, %d features, %d classes\n", D, C);
    printf("%-8s %-12s %8s %8s\n", "dtype", "rows", "scores", "gradient");
    for (int repeat = 0; repeat < 3; repeat++) {
        printf("%-8s %-12s %8.1f %8.1f\n", "float64", "in cache", pass_rate_f64(0, 64), pass_rate_f64(1, 64));
        printf("%-8s %-12s %8.1f %8.1f\n", "float64", "from memory", pass_rate_f64(0, 3000),
               pass_rate_f64(1, 3000));
        printf("%-8s %-12s %8.1f %8.1f\n", "float32", "in cache", pass_rate_f32(0, 64), pass_rate_f32(1, 64));
        printf("%-8s %-12s %8.1f %8.1f\n", "float32", "from memory", pass_rate_f32(0, 3000),
               pass_rate_f32(1, 3000));
    }
    return 0;
}
#endif
