"""How the neural-network building blocks split their work: fixed chunks.

A chunk is a function of the problem size only, never of the thread count:
chunk ``c`` of ``n`` elements split into ``n_chunks`` covers
``[c * n // n_chunks, (c + 1) * n // n_chunks)``. Sums (a loss, batch-norm
statistics) are accumulated per chunk and the partial sums added in chunk order
afterwards, so results are bitwise the same for every thread count. Every
backend (and the Cython modules, which read CHUNK at import) uses this one constant.
"""

#: Elements per chunk: 256 KiB of float32, large next to the cost of handing a chunk out.
CHUNK = 1 << 16


def n_chunks(n_elements):
    """Number of chunks for ``n_elements`` elements (at least 1, so that an empty input has one empty chunk)."""
    return max(1, -(-n_elements // CHUNK))


def n_row_chunks(n_rows, row_length):
    """Number of chunks of whole rows (``n_rows`` rows of ``row_length`` values) holding about CHUNK values
    each: at least 1, at most one per row (a function of the shape only)."""
    return min(max(n_rows, 1), n_chunks(n_rows * row_length))
