/* An operation over a range of a flat vector, handed from one Cython kernel module to another.
 *
 * The epoch loops of the fused linear gradient (_linear.pyx) finish each batch by
 * applying its optimizer step (_optim.pyx) to each part of the gradient as soon as that part
 * is final: on the same threads, in the same parallel pass as the chunk sum,
 * while the part is still in cache, instead of in a separate call over memory.
 * The step is prepared by the optimizer module and handed over as a capsule
 * holding this struct, so neither module needs to know the other's types.
 *
 * run(ctx, flat, lo, hi): apply the operation to values [lo, hi) of the flat
 * vector that starts at ``flat`` (the gradient: the weights, then the
 * intercepts). Ranges of one call to the kernel do not overlap, and together
 * they cover the vector once; they may run on different threads at once.
 * Must not touch Python objects (runs without the GIL).
 *
 * The operations may come in groups, one per batch of an epoch loop:
 * select(ctx, g) makes run apply group g from then on (group 0 at first), and
 * n_groups(ctx) says how many groups there are.
 */
#ifndef FASTLC_RANGE_OP_H
#define FASTLC_RANGE_OP_H

#include <Python.h>

typedef void (*fastlc_range_fn)(void *ctx, const void *flat, Py_ssize_t lo, Py_ssize_t hi);

typedef void (*fastlc_range_select)(void *ctx, Py_ssize_t group);
typedef Py_ssize_t (*fastlc_range_groups)(void *ctx);

typedef struct fastlc_range_op {
    fastlc_range_fn run;
    fastlc_range_select select;
    fastlc_range_groups n_groups;
    void *ctx;
} fastlc_range_op;

#define FASTLC_RANGE_OP_CAPSULE "fastlc.range_op"

#endif
