"""Inverted dropout in NumPy (same private signatures and generator as fastlc/_naive/_dropout.py)."""
import numpy as np

from fastlc._naive._dropout import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1

_M32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on arrays of counters (uint64 arrays holding 32-bit words)."""
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for round_ in range(10):
        if round_:
            k0 = (k0 + np.uint64(PHILOX_W0)) & _M32
            k1 = (k1 + np.uint64(PHILOX_W1)) & _M32
        product0 = np.uint64(PHILOX_M0) * c0
        product1 = np.uint64(PHILOX_M1) * c2
        c0, c1, c2, c3 = ((product1 >> np.uint64(32)) ^ c1 ^ k0, product1 & _M32,
                          (product0 >> np.uint64(32)) ^ c3 ^ k1, product0 & _M32)
    return c0, c1, c2, c3


def dropout(x, threshold, scale, key0, key1, out, mask, n_threads):
    n = x.shape[0]
    groups = np.arange((n + 3) // 4, dtype=np.uint64)
    zero = np.zeros_like(groups)
    words = np.stack(philox4x32_10(groups & _M32, groups >> np.uint64(32), zero, zero, key0, key1), axis=1)
    keep = words.reshape(-1)[:n] >= threshold
    mask[...] = keep
    np.multiply(x, np.where(keep, scale, x.dtype.type(0)), out=out)


def dropout_backward(grad_out, mask, scale, grad_in, n_threads):
    np.multiply(grad_out, np.where(mask != 0, scale, grad_out.dtype.type(0)), out=grad_in)
