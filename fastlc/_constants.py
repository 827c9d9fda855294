"""Work-unit sizes shared by the kernels and the Python layers, stated once.

The Numba kernels and the Python layers import them from here; the Cython
kernels read the same numbers from kernels/cython/_constants.h (C cannot import
Python), and tests/test_constants.py checks that the two files agree.

Changing one changes results only in the last bits (the chunking fixes the
order of the sums), never their dependence on the thread count.
"""

#: Rows per chunk of a mini-batch in the fused linear-model gradients
#: (kernels/*/_linear.*): the unit of parallel work and of the fixed-order sum
#: of the chunks' gradients, so results depend on the batch size only. The
#: training loop's thread heuristic counts work in chunks too.
CHUNK_ROWS = 64

#: Batch rows the fused gradients handle together: W and the gradient rows are
#: streamed once per group of GROUP rows (the C tiles take exactly 4 rows).
GROUP = 4

#: Values per block of rows in the loss kernels (kernels/*/_losses.*): the
#: exps of a whole block run in one vectorized loop, and a block of float64
#: fits in L1 twice over.
BLOCK_ELEMENTS = 4096

#: Point losses of the fused regression gradient (``linear_regression_gradient``):
#: Huber with threshold ``param`` (``param = inf`` is half the squared error) and
#: epsilon-insensitive with margin ``param`` (``param = 0`` is the absolute error).
REGRESSION_HUBER = 0
REGRESSION_EPSILON_INSENSITIVE = 1

#: The lazy Adagrad step on sparse input (kernels/*/_sparse_linear.*): once a batch touched at least
#: 1 / SPARSE_SWEEP_FROM of the features, their rows are visited in feature order (a sweep, which the
#: hardware prefetchers follow) instead of from the touched list, in parallel blocks of SPARSE_SWEEP_ROWS.
SPARSE_SWEEP_FROM = 8
SPARSE_SWEEP_ROWS = 4096
