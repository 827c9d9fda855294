"""Reference inverted dropout, with the counter-based generator written out in plain Python.

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
SC'11; Random123's philox4x32 with 10 rounds) keyed by the seed: element i takes
word ``i % 4`` of the block for counter ``(i // 4, 0, 0, 0)`` (64-bit index in the
first two words). An element is kept when that 32-bit word is >= ``threshold``
(``round(p * 2**32)``), so every backend, thread count and chunking draws the same
mask for a given (seed, size), with integer arithmetic only.

Private signatures shared by every backend::

    dropout(x, threshold, scale, key0, key1, out, mask, n_threads)
    dropout_backward(grad_out, mask, scale, grad_in, n_threads)

on flat arrays; ``mask`` is uint8 (a view of the public bool mask); kept elements
are multiplied by ``scale`` = 1 / (1 - p), dropped ones by 0 (so a NaN stays NaN, as
PyTorch's ``input * noise``).
"""
M32 = 0xFFFFFFFF
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85


def philox4x32_10(counter, key):
    """The four 32-bit output words of Philox4x32-10 for a counter (4 words) and key (2 words)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        if round_:
            k0 = (k0 + PHILOX_W0) & M32
            k1 = (k1 + PHILOX_W1) & M32
        product0 = PHILOX_M0 * c0
        product1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = (((product1 >> 32) ^ c1 ^ k0) & M32, product1 & M32,
                          ((product0 >> 32) ^ c3 ^ k1) & M32, product0 & M32)
    return c0, c1, c2, c3


def dropout(x, threshold, scale, key0, key1, out, mask, n_threads):
    words = None
    for i in range(x.shape[0]):
        if i % 4 == 0:
            group = i // 4
            words = philox4x32_10((group & M32, group >> 32, 0, 0), (key0, key1))
        keep = words[i % 4] >= threshold
        mask[i] = keep
        out[i] = float(x[i]) * (float(scale) if keep else 0.0)


def dropout_backward(grad_out, mask, scale, grad_in, n_threads):
    for i in range(grad_out.shape[0]):
        grad_in[i] = float(grad_out[i]) * (float(scale) if mask[i] else 0.0)
