"""``python -m fastlc``: show what fastlc does on this machine.

Trains both classifiers on scikit-learn's digits data next to scikit-learn's
SGDClassifier and MLPClassifier, demonstrates the kernels on the worked
example of the documentation, then prints a speed table of the backends.
"""
import argparse
import contextlib
import os
import platform
import sys

import numpy as np

from . import __version__, kernels
from ._compare import compare_on_digits, format_comparison
from ._threads import allowed_n_threads, config_context
from ._speed_table import BACKENDS, default_cases, format_table, speed_table


def int_at_least(minimum):
    """An argparse type: an int >= ``minimum``, else argparse's one-line error (exit 2) before any work."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m fastlc",
        description="Train fastlc's classifiers on the digits data next to scikit-learn's, "
                    "demonstrate the kernels and print a speed table of the backends.",
    )
    parser.add_argument("--n-samples", type=int_at_least(40), default=None,
                        help="digits images to use, at least 40 (default: all 1797)")
    parser.add_argument("--epochs", type=int_at_least(1), default=None,
                        help="epoch limit of every classifier (default: each model's own)")
    parser.add_argument("--backend", choices=("auto",) + BACKENDS, default="auto",
                        help="kernel backend of the fastlc classifiers and the only backend of the speed table "
                             "(default: auto for the classifiers, all available backends in the table)")
    parser.add_argument("--quick", action="store_true", help="smaller speed-table problems, one repeat (for CI)")
    parser.add_argument("--no-speed-table", action="store_true", help="skip the kernel speed table")
    parser.add_argument("--repeats", type=int_at_least(1), default=5, help="timed repeats per measurement (median shown)")
    parser.add_argument("--threads", type=int_at_least(1), default=None,
                        help="threads of every fit and kernel call: the classifier comparison (fastlc's "
                             "n_threads, and a BLAS limit for scikit-learn's models), the worked example, "
                             "the --plots training (at most THREADS there) and the speed table "
                             "(default: what the process is allowed)")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help='write loss_curve.png, optimizer_paths.png and loss_landscape.png into DIR '
                             '(needs matplotlib: pip install "fastlc[plot]")')
    args = parser.parse_args(argv)
    if args.plots is not None:
        _check_plots_directory(parser, args.plots)
    return args


def _check_plots_directory(parser, directory):
    """Before any training: --plots needs matplotlib and a directory it can write into (else exit 2)."""
    from .plotting._matplotlib import require_pyplot

    try:
        require_pyplot("--plots")
    except ImportError as error:
        parser.error(str(error))
    if not directory:
        parser.error("--plots needs a directory name; got ''")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        parser.error(f"--plots {directory!r}: cannot make that directory ({error.strerror or error})")
    if not os.access(directory, os.W_OK | os.X_OK):
        parser.error(f"--plots {directory!r}: the directory is not writable")


def demo(n_threads=None):
    """The CS231n worked example: three samples, three classes, on ``n_threads`` threads."""
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    per_sample, _ = kernels.multiclass_hinge(scores, y, reduction="none", n_threads=n_threads)
    mean_hinge, _ = kernels.multiclass_hinge(scores, y, n_threads=n_threads)
    mean_ce, grad = kernels.softmax_cross_entropy(scores, y, n_threads=n_threads)
    print("Worked example: scores", scores.tolist(), "labels", y.tolist())
    print(f"  multiclass hinge per sample {np.round(per_sample, 4).tolist()}, mean {mean_hinge:.4f}")
    print(f"  softmax cross-entropy mean {mean_ce:.4f}; gradient row 0 {np.round(grad[0], 4).tolist()}")
    prob = kernels.softmax(np.array([[3.0, 1.0, -3.0]]), n_threads=n_threads)[0]
    print(f"  softmax([3, 1, -3]) = {np.round(prob, 4).tolist()}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print(f"fastlc {__version__} on {platform.machine()} ({allowed_n_threads()} threads allowed), "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"backends available: {', '.join(kernels.available_backends())}\n")
    print("Digits (8x8 images, 10 classes), 75/25 split: test accuracy and fit time")
    rows = compare_on_digits(n_samples=args.n_samples, max_epochs=args.epochs, backend=args.backend,
                             n_threads=args.threads)
    print(format_comparison(rows) + "\n")
    demo(args.threads)
    if args.plots is not None:
        from .plotting._demo import save_demo_pictures
        # save_demo_pictures takes no n_threads: the bound of its calls made with n_threads=None
        with contextlib.nullcontext() if args.threads is None else config_context(n_threads=args.threads):
            save_demo_pictures(args.plots, n_samples=args.n_samples, max_epochs=args.epochs,
                               backend=args.backend)
    if args.no_speed_table:
        return 0
    print("\nKernel speed, median of repeats:")
    backends = BACKENDS if args.backend == "auto" else (args.backend,)
    rows = speed_table(default_cases(args.quick), backends=backends,
                       repeats=1 if args.quick else args.repeats, n_threads=args.threads)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
