"""Print a digest of the Cython optimizer steps on fixed inputs, one line per case.

The optimizer steps are element-wise with no reduction and no fused
multiply-add (_optim.h), so every build (gcc, clang, plain C; any vector width)
must produce the same bits: .ci/builds runs this script against each installed
build and compares the outputs. NaNs are made canonical before hashing (which
NaN payload survives an operation is not part of IEEE arithmetic).

Usage: python optim_digest.py > digest.txt
"""
import hashlib

import numpy as np

import fastlc
from fastlc.kernels import adagrad_step, adam_step, rmsprop_step, sgd_step

# Odd sizes leave a scalar remainder after the vector loops; 70001 is over one
# parallel block (at most 16384 elements, MAX_BLOCK) of _optim.pyx.
SIZES = (1037, 70001)
STEPS = 3

CASES = {
    "adam": lambda s, t, o: adam_step(s["param"], s["grad"], s["a"], s["b"], step=t, lr=1e-2, **o),
    "adam-l2-maximize": lambda s, t, o: adam_step(
        s["param"], s["grad"], s["a"], s["b"], step=t, weight_decay=0.1, maximize=True, **o),
    "adamw-amsgrad": lambda s, t, o: adam_step(
        s["param"], s["grad"], s["a"], s["b"], step=t, weight_decay=0.01, decoupled_weight_decay=True,
        amsgrad=True, max_exp_avg_sq=s["c"], **o),
    "rmsprop": lambda s, t, o: rmsprop_step(s["param"], s["grad"], s["a"], alpha=0.9, **o),
    "rmsprop-centered-momentum-l2": lambda s, t, o: rmsprop_step(
        s["param"], s["grad"], s["a"], momentum=0.9, momentum_buffer=s["b"], centered=True,
        grad_avg=s["c"], weight_decay=0.1, **o),
    "sgd": lambda s, t, o: sgd_step(s["param"], s["grad"], lr=0.1, **o),
    "sgd-nesterov-l2": lambda s, t, o: sgd_step(
        s["param"], s["grad"], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1,
        momentum_buffer=s["a"], first_step=t == 1, **o),
    "sgd-dampening-maximize": lambda s, t, o: sgd_step(
        s["param"], s["grad"], lr=0.1, momentum=0.5, dampening=0.3, momentum_buffer=s["a"],
        first_step=t == 1, maximize=True, **o),
    "adagrad": lambda s, t, o: adagrad_step(s["param"], s["grad"], s["a"], step=t, lr_decay=0.01, **o),
    "adagrad-l2-inside": lambda s, t, o: adagrad_step(
        s["param"], s["grad"], s["a"], step=t, weight_decay=0.1, eps_inside_sqrt=True, **o),
}


def inputs(n, dtype, seed):
    rng = np.random.default_rng(seed)
    # magnitudes from 1e-30 to 1e3 and a few zeros, infinities and NaNs
    param = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 4, n)).astype(dtype)
    grad = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 4, n)).astype(dtype)
    grad[rng.integers(0, n, 8)] = 0
    grad[rng.integers(0, n, 2)] = np.inf
    grad[rng.integers(0, n, 2)] = np.nan
    return {"param": param, "grad": grad,
            **{name: np.zeros(n, dtype) for name in ("a", "b", "c")}}


def digest(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(np.where(np.isnan(a), np.array(np.nan, a.dtype), a).tobytes())
    return h.hexdigest()[:16]


def run(case, n, dtype, n_threads):
    state = inputs(n, dtype, seed=n)
    for t in range(1, STEPS + 1):
        state["grad"] = np.roll(state["grad"], t)  # a new gradient each step
        CASES[case](state, t, {"backend": "cython", "n_threads": n_threads})
    return digest(state)


def main():
    from fastlc._cython import build_info

    info = build_info()
    print(f"# {info.get('compiler')} flags={info.get('flags')} macros={info.get('macros')}")
    for case in CASES:
        for dtype in ("float32", "float64"):
            for n in SIZES:
                one, two = run(case, n, dtype, 1), run(case, n, dtype, 2)
                if one != two:
                    raise SystemExit(f"{case} {dtype} n={n}: n_threads=1 and 2 differ")
                print(f"{case} {dtype} n={n} {one}")


if __name__ == "__main__":
    assert "cython" in fastlc.available_backends(), fastlc.available_backends()
    main()
