"""Sparse (text-like CSR) training speed: fastlc vs scikit-learn's SGDClassifier, ratios in one run.

The data is made here with NumPy (no download): documents of ~120 tokens drawn
from a Zipf vocabulary hashed into 2^18 features, a share of each document's
tokens from its class's own Zipf-ordered words (class-dependent frequencies),
counts -> log(1 + tf), rows scaled to unit L2 norm (as a HashingVectorizer +
TfidfTransformer pipeline gives), float32; 100 000 training rows (~100
non-zeros each), 20 classes, 20 000 test rows.

Cases (10 epochs each, fixed seeds, timed rounds interleaved, medians):

- ``LinearSVMClassifier`` vs ``SGDClassifier(loss="hinge")``,
- ``SoftmaxClassifier`` vs ``SGDClassifier(loss="log_loss")``,

both libraries given the same cores (fastlc's ``n_threads=None``, scikit-learn's
one-vs-rest ``n_jobs`` = the same count), with test accuracy, and the peak
extra memory of a fastlc fit (tracemalloc) against 2 x X's size + the model.

Run: ``python benchmarks/sparse_speed.py [--repeats 3] [--quick]``.
"""
import argparse
import platform
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier

from fastlc import LinearSVMClassifier, SoftmaxClassifier


def text_like(n_rows, n_features=1 << 18, n_classes=20, tokens=120, class_share=0.1, seed=0):
    """(X CSR float32, y): hashed bag-of-words documents, see the module docstring."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    n_tokens = n_rows * tokens
    row = np.repeat(np.arange(n_rows), tokens)
    # global vocabulary: Zipf ranks hashed to features by a fixed random permutation
    rank = (rng.zipf(1.1, n_tokens) - 1) % n_features
    feature = rng.permutation(n_features)[rank]
    # class words: each class has its own Zipf-ordered 5000 words
    own = rng.random(n_tokens) < class_share
    class_words = rng.integers(0, n_features, (n_classes, 5000))
    own_rank = (rng.zipf(1.05, int(own.sum())) - 1) % 5000
    feature[own] = class_words[y[row[own]], own_rank]
    X = sp.csr_matrix((np.ones(n_tokens, np.float32), (row, feature)), shape=(n_rows, n_features))
    X.sum_duplicates()
    np.log1p(X.data, out=X.data)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X.data /= np.repeat(norms, np.diff(X.indptr)).astype(np.float32)
    return X.astype(np.float32), y


def cases(n_threads, epochs):
    # plain SGD (the exact lazy step, the fast path) against scikit-learn's plain SGD, the same alpha; the
    # learning rates were the best of a few tried on this data (SVM 0.1-10, softmax 5-80; batch 8-256)
    common = dict(optimizer="sgd", max_epochs=epochs, tol=None, random_state=0, alpha=1e-6, batch_size=32)
    sgd = dict(max_iter=epochs, tol=None, random_state=0, alpha=1e-6, n_jobs=n_threads)
    return [
        ("LinearSVMClassifier vs SGDClassifier(hinge)",
         lambda: LinearSVMClassifier(learning_rate=0.5, **common),
         lambda: SGDClassifier(loss="hinge", **sgd)),
        ("SoftmaxClassifier vs SGDClassifier(log_loss)",
         lambda: SoftmaxClassifier(learning_rate=20.0, **common),
         lambda: SGDClassifier(loss="log_loss", **sgd)),
    ]


def timed_fit(make, X, y):
    model = make()
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model


def peak_fit_memory(make, X, y):
    """Peak bytes allocated (tracemalloc) during ``make().fit(X, y)``."""
    model = make()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, model


def run(repeats, quick):
    from fastlc._validation import check_n_threads

    n_threads = check_n_threads(None)
    n_train, n_test = (8000, 2000) if quick else (100_000, 20_000)
    X, y = text_like(n_train + n_test)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    x_bytes = X_train.data.nbytes + X_train.indices.nbytes + X_train.indptr.nbytes
    epochs = 2 if quick else 10
    rows = []
    for name, ours, theirs in cases(n_threads, epochs):
        timed_fit(ours, X_train[:2000], y_train[:2000])  # warm-up: Numba compile / load
        times = {"fastlc": [], "sklearn": []}
        models = {}
        for _ in range(repeats):  # interleaved rounds: a noisy neighbour hits both sides alike
            for side, make in (("fastlc", ours), ("sklearn", theirs)):
                seconds, models[side] = timed_fit(make, X_train, y_train)
                times[side].append(seconds)
        fast, slow = np.median(times["fastlc"]), np.median(times["sklearn"])
        accuracy = {side: models[side].score(X_test, y_test) for side in models}
        peak, model = peak_fit_memory(ours, X_train, y_train)
        model_bytes = model.coef_.nbytes + model.intercept_.nbytes
        rows.append((name, fast, slow, slow / fast, accuracy["fastlc"], accuracy["sklearn"], peak,
                     2 * x_bytes + model_bytes))
    lines = [
        "# Sparse input speed (benchmarks/sparse_speed.py)",
        "",
        f"CPU: {platform.processor() or platform.machine()}, {n_threads} thread(s) for both libraries; "
        f"X: {n_train} x {X.shape[1]} CSR float32, {X_train.nnz / n_train:.0f} non-zeros a row, "
        f"{len(np.unique(y))} classes, {epochs} epochs, median of {repeats} interleaved rounds.",
        "",
        "| case | fastlc s | scikit-learn s | speed-up | fastlc acc | sklearn acc | fit peak MB | limit MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, fast, slow, ratio, acc_ours, acc_theirs, peak, limit in rows:
        lines.append(f"| {name} | {fast:.2f} | {slow:.2f} | {ratio:.2f}x | {acc_ours:.4f} | {acc_theirs:.4f} | "
                     f"{peak / 1e6:.0f} | {limit / 1e6:.0f} |")
    return rows, "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per case (default 3)")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    rows, text = run(args.repeats, args.quick)
    print(text)
    return rows


if __name__ == "__main__":
    main()
