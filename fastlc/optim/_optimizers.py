"""Stateful optimizers over a list of NumPy parameter arrays (``torch.optim`` semantics).

Each optimizer owns one set of state buffers per parameter array, a step
counter and a learning rate (a float or a schedule). ``step(grads)`` updates
every parameter in place with one fused kernel call per array.

Example
-------
>>> import numpy as np
>>> from fastlc.optim import Adam, ExponentialDecayLR
>>> W = np.zeros((3, 4), dtype=np.float32)
>>> opt = Adam([W], lr=ExponentialDecayLR(1e-2, gamma=0.99))
>>> opt.step([np.ones_like(W)])
>>> opt.step_count
1
"""
import bisect
import copy

import numpy as np

try:  # [low, high) of the bytes an array spans, strides and all
    from numpy.lib.array_utils import byte_bounds  # NumPy 2
except ImportError:
    from numpy import byte_bounds  # NumPy 1.x

from .. import kernels
from .._dispatch import resolve_backend
from .._validation import MAX_T, check_bool, check_inplace_array, check_int, check_n_threads, check_scalar
from ._clip import clip_grad_norm, clip_grad_value


def _check_params(params):
    if isinstance(params, np.ndarray):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of NumPy arrays; got {type(params).__name__}") from None
    if not params:
        raise ValueError("params is empty: give the optimizer at least one array to update")
    for i, p in enumerate(params):
        check_inplace_array(p, f"params[{i}]")
    for i in range(len(params)):
        for j in range(i + 1, len(params)):
            if np.may_share_memory(params[i], params[j]):
                raise ValueError(f"params[{i}] and params[{j}] share memory; each array must appear once")
    return params


def _check_lr(lr):
    if callable(lr):
        return lr
    return check_scalar(lr, "lr", low=0.0)


class Optimizer:
    """Base class: state handling, step counter, schedule and clipping.

    Subclasses define ``_state_names()`` (which buffers each parameter needs),
    ``_initial_value`` and ``_update(param, grad, state, lr, step)``.

    Parameters
    ----------
    params : ndarray or list of ndarray
        Arrays updated in place: float32/float64, C-contiguous, writeable, any shape.
    lr : float >= 0 or callable
        The learning rate, or a schedule ``lr(t)`` called with ``t = step - 1``
        (e.g. :class:`fastlc.optim.StepDecayLR`).
    clip_value : float >= 0, optional
        Clamp every gradient element to ``[-clip_value, clip_value]`` before the update.
    max_grad_norm : float >= 0, optional
        Rescale the gradients so that their global 2-norm is at most this (after
        ``clip_value``), as ``torch.nn.utils.clip_grad_norm_``.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled kernels; None: as many as the process is allowed.

    Attributes
    ----------
    params : list of ndarray
    state : list of dict
        Per parameter, the optimizer's buffers by name (same shape and dtype).
    step_count : int
        Number of steps taken (0 before the first).
    """

    _initial_value = 0.0

    def __init__(self, params, lr, *, clip_value=None, max_grad_norm=None, backend="auto", n_threads=None):
        self.params = _check_params(params)
        self.lr = _check_lr(lr)
        self.clip_value = None if clip_value is None else check_scalar(clip_value, "clip_value", low=0.0)
        self.max_grad_norm = None if max_grad_norm is None else check_scalar(max_grad_norm, "max_grad_norm", low=0.0)
        resolve_backend(backend, "adam_step")  # fail now rather than at the first step
        self.backend = backend
        self.n_threads = None if n_threads is None else check_n_threads(n_threads)
        self.step_count = 0
        self.state = [
            {name: np.full_like(p, self._initial_value) for name in self._state_names()} for p in self.params
        ]

    # -- what subclasses define ------------------------------------------------
    def _state_names(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, param, grad, state, lr, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def _hyperparams(self):
        """The constructor arguments that define the update (saved in ``state_dict``)."""
        return {"lr": self.lr, "clip_value": self.clip_value, "max_grad_norm": self.max_grad_norm}

    # -- public API --------------------------------------------------------------
    def get_lr(self):
        """The learning rate the next step will use.

        Returns
        -------
        lr : float
        """
        if callable(self.lr):
            lr = self.lr(self.step_count)
            try:
                return check_scalar(lr, "lr", low=0.0)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"the learning-rate schedule returned {lr!r} at t={self.step_count}; need a finite float >= 0"
                ) from error
        return self.lr

    def step(self, grads):
        """Take one optimization step: update every parameter in place.

        Parameters
        ----------
        grads : ndarray or list of ndarray
            One gradient per parameter, same shape and dtype. They are not
            modified unless clipping is on, which clips them in place.
        """
        if isinstance(grads, np.ndarray):
            grads = [grads]
        elif not isinstance(grads, (list, tuple)):
            raise TypeError(f"grads must be an array or a list of arrays, one per parameter; got "
                            f"{type(grads).__name__}")
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"got {len(grads)} gradients for {len(self.params)} parameter arrays")
        # check all before updating any, so that a bad gradient leaves every array unchanged
        ranges = sorted((*byte_bounds(p), j) for j, p in enumerate(self.params))
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if not isinstance(g, np.ndarray):
                raise TypeError(f"grads[{i}] must be a NumPy array; got {type(g).__name__}")
            if g.dtype != p.dtype:
                raise TypeError(f"grads[{i}] must have dtype {p.dtype} like params[{i}]; got {g.dtype}")
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] must have shape {p.shape} like params[{i}]; got {g.shape}")
            j = self._param_sharing_memory_with(g, ranges)
            if j is not None:
                # it would be read after that parameter's update (or, for its own parameter, be refused by
                # the kernel after the arrays before it were updated)
                raise ValueError(f"grads[{i}] shares memory with params[{j}]: pass a gradient of its own")
        lr = self.get_lr()
        if self.clip_value is not None:
            clip_grad_value(grads, self.clip_value)
        if self.max_grad_norm is not None:
            clip_grad_norm(grads, self.max_grad_norm)
        step = self.step_count + 1
        for p, g, s in zip(self.params, grads, self.state):
            self._update(p, g, s, lr, step)
        self.step_count = step

    def _param_sharing_memory_with(self, array, ranges):
        """Index of a parameter array whose memory ``array`` overlaps, or None. ``ranges``: the parameters'
        byte ranges (disjoint) as sorted (start, stop, index): a binary search, not a check of every one."""
        low, high = byte_bounds(array)
        at = bisect.bisect_left(ranges, (high,))  # the ranges that start below array's end
        for start, stop, j in reversed(ranges[:at]):
            if stop <= low:
                return None  # disjoint ranges sorted by start: every earlier one ends before this one starts
            if np.shares_memory(array, self.params[j]):
                return j
        return None

    def zero_state(self):
        """Forget the history: reset every buffer to its initial value and the step counter to 0."""
        for state in self.state:
            for buf in state.values():
                buf.fill(self._initial_value)
        self.step_count = 0

    def state_dict(self):
        """A snapshot of the optimizer: plain, picklable, independent of the live arrays.

        Returns
        -------
        state : dict
            ``{"optimizer": class name, "step_count": int, "hyperparams": dict,
            "state": [dict of ndarray copies, one per parameter]}``.
        """
        return {
            "optimizer": type(self).__name__,
            "step_count": self.step_count,
            "hyperparams": copy.deepcopy(self._hyperparams()),
            "state": [{name: buf.copy() for name, buf in s.items()} for s in self.state],
        }

    def load_state_dict(self, state_dict):
        """Restore a snapshot made by :meth:`state_dict` (exactly, bit for bit).

        The step counter is restored and the buffers are copied into this
        optimizer's arrays. The snapshot must come from the same optimizer class
        with the same buffers (e.g. the same ``amsgrad``) and parameter shapes
        and dtypes; everything is checked before anything is changed. The
        hyper-parameters stay this optimizer's own (the saved ones are
        informational), so a run can resume with, say, a new learning rate.
        """
        keys = {"optimizer", "step_count", "state", "hyperparams"}
        if not isinstance(state_dict, dict) or not keys <= set(state_dict):
            raise ValueError("state_dict must be a dict made by Optimizer.state_dict()")
        if state_dict["optimizer"] != type(self).__name__:
            raise ValueError(f"state_dict is from {state_dict['optimizer']}, not {type(self).__name__}")
        step_count = state_dict["step_count"]
        check_int(step_count, "state_dict['step_count']", low=0, high=MAX_T - 1)  # so that the next step is one check_step takes
        saved = state_dict["state"]
        if not isinstance(saved, (list, tuple)) or not all(isinstance(s, dict) for s in saved):
            raise ValueError(f"state_dict['state'] must be a list of dicts of arrays, one per parameter; got "
                             f"{type(saved).__name__}")
        if len(saved) != len(self.state):
            raise ValueError(f"state_dict holds state for {len(saved)} arrays; this optimizer has {len(self.state)}")
        for i, (mine, theirs) in enumerate(zip(self.state, saved)):
            if set(mine) != set(theirs):
                raise ValueError(f"state_dict['state'][{i}] has buffers {sorted(theirs)}; expected {sorted(mine)}")
            for name, buf in mine.items():
                other = np.asarray(theirs[name])
                if other.shape != buf.shape or other.dtype != buf.dtype:
                    raise ValueError(
                        f"state_dict['state'][{i}][{name!r}] has shape {other.shape} and dtype {other.dtype}; "
                        f"expected {buf.shape} and {buf.dtype}"
                    )
        for mine, theirs in zip(self.state, saved):
            for name, buf in mine.items():
                np.copyto(buf, theirs[name])
        self.step_count = int(step_count)

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self._hyperparams().items())
        return f"{type(self).__name__}({len(self.params)} arrays, {options}, step_count={self.step_count})"

    # helper for subclasses
    def _kernel_options(self):
        return {"backend": self.backend, "n_threads": self.n_threads}


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``); see :func:`fastlc.kernels.adam_step` for the formulas.

    Parameters
    ----------
    params : ndarray or list of ndarray
    lr : float >= 0 or schedule, default=1e-3
    betas : (float, float) in [0, 1), default=(0.9, 0.999)
    eps : float > 0, default=1e-8
    weight_decay : float >= 0, default=0.0
        L2 penalty added to the gradient (decoupled when ``decoupled_weight_decay``).
    amsgrad : bool, default=False
    maximize : bool, default=False
    decoupled_weight_decay : bool, default=False
        AdamW's decay theta <- theta (1 - lr wd).
    clip_value, max_grad_norm, backend, n_threads
        See :class:`Optimizer`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False, **options):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = tuple(check_scalar(beta, f"betas[{i}]", low=0.0, high=1.0, high_inclusive=False)
                           for i, beta in enumerate(betas))
        self.eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
        self.amsgrad = check_bool(amsgrad, "amsgrad")
        self.maximize = check_bool(maximize, "maximize")
        self.decoupled_weight_decay = check_bool(decoupled_weight_decay, "decoupled_weight_decay")
        super().__init__(params, lr, **options)

    def _state_names(self):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if self.amsgrad else ("exp_avg", "exp_avg_sq")

    def _hyperparams(self):
        return {**super()._hyperparams(), "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay,
                "amsgrad": self.amsgrad, "maximize": self.maximize,
                "decoupled_weight_decay": self.decoupled_weight_decay}

    def _update(self, param, grad, state, lr, step):
        kernels.adam_step(
            param, grad, state["exp_avg"], state["exp_avg_sq"], step=step, lr=lr,
            beta1=self.betas[0], beta2=self.betas[1], eps=self.eps, weight_decay=self.weight_decay,
            decoupled_weight_decay=self.decoupled_weight_decay, amsgrad=self.amsgrad,
            max_exp_avg_sq=state.get("max_exp_avg_sq"), maximize=self.maximize, **self._kernel_options(),
        )


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, **options):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, **options)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``); see :func:`fastlc.kernels.rmsprop_step` for the formulas.

    Parameters
    ----------
    params : ndarray or list of ndarray
    lr : float >= 0 or schedule, default=1e-2
    alpha : float in [0, 1], default=0.99
    eps : float > 0, default=1e-8
    weight_decay : float >= 0, default=0.0
    momentum : float >= 0, default=0.0
    centered : bool, default=False
    maximize : bool, default=False
    eps_inside_sqrt : bool, default=False
        ``sqrt(s + eps)`` (Keras, the d2l tutorials) instead of ``sqrt(s) + eps``.
    clip_value, max_grad_norm, backend, n_threads
        See :class:`Optimizer`.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False, eps_inside_sqrt=False, **options):
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)
        self.eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
        self.momentum = check_scalar(momentum, "momentum", low=0.0)
        self.centered = check_bool(centered, "centered")
        self.maximize = check_bool(maximize, "maximize")
        self.eps_inside_sqrt = check_bool(eps_inside_sqrt, "eps_inside_sqrt")
        super().__init__(params, lr, **options)

    def _state_names(self):
        names = ("square_avg",)
        if self.momentum > 0:
            names += ("momentum_buffer",)
        if self.centered:
            names += ("grad_avg",)
        return names

    def _hyperparams(self):
        return {**super()._hyperparams(), "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
                "momentum": self.momentum, "centered": self.centered, "maximize": self.maximize,
                "eps_inside_sqrt": self.eps_inside_sqrt}

    def _update(self, param, grad, state, lr, step):
        kernels.rmsprop_step(
            param, grad, state["square_avg"], lr=lr, alpha=self.alpha, eps=self.eps, weight_decay=self.weight_decay,
            momentum=self.momentum, momentum_buffer=state.get("momentum_buffer"), centered=self.centered,
            grad_avg=state.get("grad_avg"), maximize=self.maximize, eps_inside_sqrt=self.eps_inside_sqrt,
            **self._kernel_options(),
        )


class SGD(Optimizer):
    """SGD with optional (Nesterov) momentum (``torch.optim.SGD``); see :func:`fastlc.kernels.sgd_step`.

    The momentum buffer starts as a copy of the first gradient (PyTorch), also
    after :meth:`zero_state`.

    Parameters
    ----------
    params : ndarray or list of ndarray
    lr : float >= 0 or schedule, default=1e-3
    momentum : float >= 0, default=0.0
    dampening : float in [0, 1], default=0.0
    weight_decay : float >= 0, default=0.0
    nesterov : bool, default=False
    maximize : bool, default=False
    clip_value, max_grad_norm, backend, n_threads
        See :class:`Optimizer`.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False, **options):
        self.momentum = check_scalar(momentum, "momentum", low=0.0)
        self.dampening = check_scalar(dampening, "dampening", low=0.0, high=1.0)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
        self.maximize = check_bool(maximize, "maximize")
        super().__init__(params, lr, **options)

    def _state_names(self):
        return ("momentum_buffer",) if self.momentum != 0 else ()

    def _hyperparams(self):
        return {**super()._hyperparams(), "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov, "maximize": self.maximize}

    def _update(self, param, grad, state, lr, step):
        kernels.sgd_step(
            param, grad, lr=lr, momentum=self.momentum, dampening=self.dampening, nesterov=self.nesterov,
            weight_decay=self.weight_decay, momentum_buffer=state.get("momentum_buffer"), first_step=step == 1,
            maximize=self.maximize, **self._kernel_options(),
        )


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``); see :func:`fastlc.kernels.adagrad_step` for the formulas.

    Parameters
    ----------
    params : ndarray or list of ndarray
    lr : float >= 0 or schedule, default=1e-2
    lr_decay : float >= 0, default=0.0
    weight_decay : float >= 0, default=0.0
    initial_accumulator_value : float >= 0, default=0.0
        Start value of the sum of squared gradients.
    eps : float > 0, default=1e-10
    maximize : bool, default=False
    eps_inside_sqrt : bool, default=False
        ``sqrt(s + eps)`` (Keras, the d2l tutorials) instead of ``sqrt(s) + eps``.
    clip_value, max_grad_norm, backend, n_threads
        See :class:`Optimizer`.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False, eps_inside_sqrt=False, **options):
        self.lr_decay = check_scalar(lr_decay, "lr_decay", low=0.0)
        self.weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
        self.initial_accumulator_value = check_scalar(initial_accumulator_value, "initial_accumulator_value", low=0.0)
        self.eps = check_scalar(eps, "eps", low=0.0, low_inclusive=False)
        self.maximize = check_bool(maximize, "maximize")
        self.eps_inside_sqrt = check_bool(eps_inside_sqrt, "eps_inside_sqrt")
        super().__init__(params, lr, **options)

    @property
    def _initial_value(self):
        return self.initial_accumulator_value

    def _state_names(self):
        return ("sum_sq",)

    def _hyperparams(self):
        return {**super()._hyperparams(), "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps,
                "maximize": self.maximize, "eps_inside_sqrt": self.eps_inside_sqrt}

    def _update(self, param, grad, state, lr, step):
        kernels.adagrad_step(
            param, grad, state["sum_sq"], step=step, lr=lr, lr_decay=self.lr_decay, eps=self.eps,
            weight_decay=self.weight_decay, maximize=self.maximize, eps_inside_sqrt=self.eps_inside_sqrt,
            **self._kernel_options(),
        )
