"""Cross-check of the pooling kernels against PyTorch (skipped when torch is not installed).

Forward outputs, max-pool indices (ties and NaN included) and the gradients
that autograd computes for F.max_pool2d / F.avg_pool2d.
"""
import numpy as np
import pytest

from fastlc.kernels import available_backends, avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (id, input shape, kernel_size, stride, padding, ceil_mode)
CASES = [
    ("k2s2", (2, 3, 8, 8), 2, None, 0, False),
    ("k3s2", (2, 3, 9, 9), 3, 2, 0, False),
    ("k3s2p1-ceil", (2, 3, 10, 7), 3, 2, 1, True),
    ("k3s1p1-overlap", (1, 2, 6, 5), 3, 1, 1, False),
    ("k2s3p1-ceil-drop", (1, 2, 4, 4), 2, 3, 1, True),
    ("rect", (2, 2, 7, 10), (3, 2), (2, 1), (1, 0), True),
    ("k5s3p2-ceil", (1, 3, 11, 9), 5, 3, 2, True),
    ("wide-kernel", (1, 2, 3, 12), (2, 7), (1, 2), (1, 3), True),
]


def _input(shape, dtype, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":
        return rng.integers(-1, 2, size=shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "nan":
        x[rng.random(shape) < 0.1] = np.nan
    elif kind == "inf":
        x[rng.random(shape) < 0.3] = -np.inf
    return x


@pytest.mark.parametrize("kind", ["random", "ties", "nan", "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("backend", available_backends())
def test_max_pool2d_equals_torch(backend, case, dtype, kind):
    _, shape, kernel, stride, padding, ceil_mode = case
    x = _input(shape, dtype, kind)
    out, indices = max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode, backend=backend)

    tx = torch.from_numpy(x).requires_grad_()
    t_out, t_indices = F.max_pool2d(tx, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    np.testing.assert_array_equal(indices, t_indices.numpy())

    grad_out = _input(out.shape, dtype, "random", seed=1)
    t_out.backward(torch.from_numpy(grad_out))
    grad = max_pool2d_backward(grad_out, indices, x.shape, backend=backend)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["count-pad", "no-count-pad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("backend", available_backends())
def test_avg_pool2d_equals_torch(backend, case, dtype, count_include_pad):
    _, shape, kernel, stride, padding, ceil_mode = case
    x = _input(shape, dtype, "random")
    options = dict(ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    out = avg_pool2d(x, kernel, stride, padding, **options, backend=backend)

    tx = torch.from_numpy(x).requires_grad_()
    t_out = F.avg_pool2d(tx, kernel, stride, padding, **options)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-6, atol=1e-6)

    grad_out = _input(out.shape, dtype, "random", seed=1)
    t_out.backward(torch.from_numpy(grad_out))
    grad = avg_pool2d_backward(grad_out, x.shape, kernel, stride, padding, **options, backend=backend)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)
