"""Accuracy of the float32 activations against float64, and next to PyTorch's float32 kernels.

    python benchmarks/nn_accuracy.py [--points 40001] [--out FILE]

Every exp-based activation, forward and backward (``grad_out`` of ones), on an even grid of
``--points`` values of [-20, 20] in float32. The reference is the numpy backend in float64 on the
same values (scipy's erf for the exact GELU, libm's exp, tanh and log1p): the errors are those of the
float32 approximations in the compiled kernels, not of the input rounding. Relative errors count only
where the reference exceeds 1e-3 in magnitude (below it the formulas' own float32 cancellations near
a derivative's zero dominate, in PyTorch's kernels as in ours). The PyTorch table is printed when torch
is installed (it is not a dependency of fastlc).
"""
import argparse
import datetime

import numpy as np

from fastlc import kernels as K

#: (row name, public function, keyword arguments, torch.nn.functional name)
ACTIVATIONS = (
    ("elu", "elu", {}, "elu"),
    ("gelu", "gelu", {}, "gelu"),
    ("gelu-tanh", "gelu", {"approximate": "tanh"}, "gelu"),
    ("sigmoid", "sigmoid", {}, "sigmoid"),
    ("tanh", "tanh", {}, "tanh"),
    ("softplus", "softplus", {}, "softplus"),
    ("silu", "silu", {}, "silu"),
)
BACKENDS = ("cython", "numba")


def evaluate(name, kwargs, x, backend, backward):
    """The activation (or its derivative times ones) of ``x`` in ``x``'s dtype on ``backend``."""
    if backward:
        return getattr(K, f"{name}_backward")(np.ones_like(x), x, backend=backend, **kwargs)
    return getattr(K, name)(x, backend=backend, **kwargs)


def errors(result, reference):
    """(max relative error where |reference| > 1e-3, max absolute error), against float64."""
    result = result.astype(np.float64)
    large = np.abs(reference) > 1e-3
    return np.max(np.abs(result[large] / reference[large] - 1)), np.max(np.abs(result - reference))


def torch_results(torch_name, kwargs, x):
    """PyTorch's float32 forward and backward (autograd, gradient of ones), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    t = torch.tensor(x, requires_grad=True)
    y = getattr(torch.nn.functional, torch_name)(t, **kwargs)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), t.grad.numpy()


def tables(points):
    x = np.linspace(-20, 20, points).astype(np.float32)
    x64 = x.astype(np.float64)
    ours, theirs = [], []
    for row, name, kwargs, torch_name in ACTIVATIONS:
        torch_pair = torch_results(torch_name, kwargs, x)
        for backward, direction, short in ((False, "forward", "fwd"), (True, "backward", "bwd")):
            reference = evaluate(name, kwargs, x64, "numpy", backward)
            results = {b: evaluate(name, kwargs, x, b, backward) for b in BACKENDS}
            errs = {b: errors(results[b], reference) for b in BACKENDS}
            ours.append(f"| {row} | {direction} | "
                        + " | ".join(f"{errs[b][0]:.2g} | {errs[b][1]:.2g}" for b in BACKENDS) + " |")
            if torch_pair is not None:
                torch_out = torch_pair[backward]
                diff = np.max(np.abs(results["cython"].astype(np.float64) - torch_out))
                theirs.append(f"| {row} | {short} | {errors(torch_out, reference)[1]:.2g} | "
                              + " | ".join(f"{errs[b][1]:.2g}" for b in BACKENDS) + f" | {diff:.2g} |")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"The activations end to end, float32 kernels against float64 on {points:,} points of [-20, 20] "
             f"({stamp}; `python benchmarks/nn_accuracy.py`):", "",
             "| activation | direction | cython max rel (abs(ref) > 1e-3) | cython max abs | numba max rel "
             "| numba max abs |",
             "|---|---|---:|---:|---:|---:|", *ours]
    if theirs:
        lines += ["", "Next to PyTorch's own float32 CPU kernels (same grid, errors against float64; last column: "
                  "our Cython result against PyTorch's):", "",
                  "| activation | dir | torch f32 max abs err | cython f32 max abs err | numba f32 max abs err "
                  "| max abs diff cython vs torch |",
                  "|---|---|---:|---:|---:|---:|", *theirs]
    else:
        lines += ["", "(torch is not installed: no PyTorch comparison.)"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=40001, help="grid points on [-20, 20] (default 40001)")
    parser.add_argument("--out", help="also write the Markdown tables here")
    args = parser.parse_args(argv)
    if args.points < 2:
        parser.error(f"--points must be at least 2, got {args.points}")
    text = tables(args.points)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
