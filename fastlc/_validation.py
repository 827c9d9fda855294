"""Input checks shared by the public kernel functions.

Every message names the argument and the offending value, shape or index, so
that a user can find the mistake without reading our code. The private kernels
do no checking at all (the Cython ones skip bounds checks), so everything that
could make them read or write out of bounds is caught here.
"""
import decimal
import functools
import math
import numbers
import operator

import numpy as np

from ._threads import effective_n_threads

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_array(value, name):
    """``value`` as an ndarray (itself if it is one); a bool, a list of bools or a bool array is a TypeError."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}") from exc
    if array.dtype.kind == "b":
        # True is 1 to NumPy, but a bool where a number is due is a mistake (a mask, a flag) more often than not
        got = (repr(value) if not array.ndim else "an array of bools" if value is array
               else f"a {type(value).__name__} of bools")
        raise TypeError(f"{name} must hold numbers, not bools; got {got}")
    if isinstance(value, (list, tuple)) and _holds_a_bool(value):
        # np.asarray([True, 1.0, 2]) is float64: one bool among numbers is as much a mistake as all bools
        raise TypeError(f"{name} must hold numbers, not bools; got a {type(value).__name__} holding a bool")
    return array


def _holds_a_bool(values):
    """Whether a (nested) list or tuple holds a bool, an np.bool_ or a bool array."""
    for item in values:
        if (isinstance(item, (bool, np.bool_)) or (isinstance(item, np.ndarray) and item.dtype.kind == "b")
                or (isinstance(item, (list, tuple)) and _holds_a_bool(item))):
            return True
    return False


def check_float_array(array, name, *, ndim=None, dtype=None):
    """Return ``array`` as a C-contiguous float32/float64 ndarray (for the main inputs: data, targets, gradients).

    The rule: an ndarray must already be float32 or float64 (nothing is upcast or cast down behind the
    user's back); a list or a scalar, which has no dtype of its own, becomes float64 when it holds ints
    or floats. Bools (True, np.bool_, a list or an array of them) are a TypeError in either form.
    Parameter arrays (weights, gamma, beta) follow ``check_parameter_array`` instead.

    Parameters
    ----------
    array : array_like
        The user's input. Lists of ints or floats are accepted and become float64.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Accepted number(s) of dimensions.
    dtype : numpy dtype, optional
        When given, the array must already have this dtype (used for arrays
        that must match another argument's dtype).

    Returns
    -------
    array : ndarray
        C-contiguous, of the input's shape (a 0-d input stays 0-d); a copy only
        when the input was not contiguous already. Read-only inputs stay
        read-only (kernels never write into inputs).
    """
    arr = _as_array(array, name)
    if arr is not array and arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must have dtype float32 or float64; got dtype {arr.dtype}"
            + (" (convert it with .astype(np.float32) or .astype(np.float64))" if arr.dtype.kind in "fiu" else "")
        )
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)} like the other inputs; got {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            wanted = " or ".join([", ".join(str(a) for a in allowed[:-1]), str(allowed[-1])] if len(allowed) > 2
                                 else [str(a) for a in allowed])
            raise ValueError(f"{name} must be a {wanted}-D array; got {arr.ndim}-D array of shape {arr.shape}")
    # not np.ascontiguousarray: it turns a 0-d array into shape (1,), and results take the input's shape
    return np.asarray(arr, order="C")


def check_labels(y, n_samples, n_classes, name="y", *, ignore_index=None):
    """Return integer class labels as a C-contiguous intp array of shape (n_samples,).

    Labels equal to ``ignore_index`` are allowed anywhere; they are replaced by 0
    in the returned copy (the kernels never read them: their row weight is 0)
    and reported in the returned mask.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype intp
    ignored : ndarray of shape (n_samples,), dtype bool, or None
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f":
            raise TypeError(
                f"{name} must hold integer class indices; got dtype {labels.dtype} "
                f"(use y.astype(np.int64) if the values are whole numbers)"
            )
        raise TypeError(f"{name} must hold integer class indices; got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of shape ({n_samples},); got shape {labels.shape}")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {labels.shape[0]} labels but the scores have {n_samples} rows (samples); they must match"
        )
    ignored = None
    if ignore_index is not None:
        ignored = labels == ignore_index
        if ignored.any():
            labels = np.where(ignored, 0, labels)
        else:
            ignored = None
    checked = np.ascontiguousarray(labels, dtype=np.intp)
    # One reduction without temporaries: seen as unsigned, a negative label (also
    # an unsigned one above the intp range, which wrapped around) is larger than
    # any class index. Locate the first bad label only on failure.
    if checked.size and checked.view(np.uintp).max() >= n_classes:
        index = int(np.flatnonzero((labels < 0) | (labels >= n_classes))[0])
        raise ValueError(
            f"{name}[{index}] = {labels[index]} is not a class index in [0, {n_classes})"
            + ("" if ignore_index is None else f" nor ignore_index={ignore_index}")
        )
    return checked, ignored


#: Longest array of unit weights kept for reuse (see ``_unit_weights``).
UNIT_WEIGHTS_CACHED_LENGTH = 1 << 16


@functools.lru_cache(maxsize=8)
def _unit_weights_cached(length, dtype):
    ones = np.ones(length, dtype=dtype)
    ones.flags.writeable = False  # shared between calls: nothing may write into it
    return ones


def _unit_weights(length, dtype):
    """Read-only ones of ``dtype``: for the batch sizes of a training loop filling a new
    array costs more than a small kernel's validation, so short ones are reused."""
    if length <= UNIT_WEIGHTS_CACHED_LENGTH:
        return _unit_weights_cached(length, np.dtype(dtype))
    return np.ones(length, dtype=dtype)


def check_parameter_array(value, name, dtype):
    """Return a parameter array (a weight, ``pos_weight``, ``class_weight``, ``gamma``, ``beta``) in ``dtype``,
    the input's float dtype, C-contiguous and of its own shape (a scalar stays 0-d).

    The rule: ints and floats of any dtype, as an ndarray, a list or a scalar, are cast to ``dtype``, as
    PyTorch takes them; a Python int beyond int64 (10**39) is taken as ``float(int)`` gives it. Bools (True,
    np.bool_, a list or an array of them, or one among numbers in a list) are a TypeError, as is anything
    that does not hold real numbers. A finite value that ``dtype`` cannot hold (1e300 or 10**39 in float32,
    np.longdouble('1e4000') or 10**400 in float64) is a ValueError naming it, not an inf; one that rounds
    to 0 there (1e-50) is 0.
    """
    array = _as_array(value, name)
    if array.dtype == object:
        array = _real_numbers(array, name)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    if array.dtype == dtype:
        return np.asarray(array, order="C")  # not np.ascontiguousarray: it turns a 0-d array into shape (1,)
    with np.errstate(over="ignore"):
        cast = array.astype(dtype, order="C")
    if array.dtype.kind == "f" and array.dtype.itemsize > np.dtype(dtype).itemsize:
        overflowed = np.isinf(cast) & np.isfinite(array)
        if overflowed.any():
            index = np.unravel_index(int(np.flatnonzero(overflowed.reshape(-1))[0]), array.shape)
            # str of the element, not float(): a long double beyond float64's range would show (and pass) as inf
            raise _does_not_fit(_element_name(name, index, array.ndim), str(array[index]), dtype)
    return cast


def _element_name(name, index, ndim):
    return f"{name}{[int(i) for i in index]}" if ndim else name


def _real_numbers(array, name):
    """An object array (NumPy's dtype for a Python int beyond int64, 10**39) as floats, each element
    converted as ``float()`` converts it; a TypeError if one is not a real number, a ValueError naming
    an int too large for float64."""
    converted = []
    for index, item in zip(np.ndindex(array.shape), array.reshape(-1)):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise TypeError(f"{name} must hold real numbers; got dtype object holding a {type(item).__name__}")
        if isinstance(item, np.floating):
            converted.append(item)  # a long double keeps its range, to be checked against the dtype
            continue
        try:
            converted.append(float(item))
        except OverflowError:
            shown = f"{decimal.Decimal(int(item)):.4e}" if isinstance(item, numbers.Integral) else repr(item)
            raise _does_not_fit(_element_name(name, index, array.ndim), shown, np.float64) from None
    return np.array(converted).reshape(array.shape)


def _does_not_fit(name, shown, dtype):
    info = np.finfo(dtype)
    return ValueError(f"{name}={shown} does not fit in {np.dtype(dtype).name}: its nonzero finite values "
                      f"range over +-[{float(info.tiny):.4g}, {float(info.max):.4g}]")


def check_weights(weights, length, name, dtype, what="samples"):
    """Return non-negative finite weights as a C-contiguous array of ``dtype``, or read-only ones.

    Ints and floats are cast to ``dtype``; bools are a TypeError (see ``check_parameter_array``)."""
    if weights is None:
        return _unit_weights(length, dtype)
    w = check_parameter_array(weights, name, dtype)
    if w.ndim != 1 or w.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), one weight per {what}; got shape {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{index}] = {w[index]} is not a finite non-negative weight")
    return w


def check_choice(value, name, choices):
    """Raise unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(repr(c) for c in choices)}")
    return value


def check_scalar(value, name, *, low=None, high=None, low_inclusive=True, high_inclusive=True, allow_inf=False):
    """Return ``value`` as a Python float after checking it is a finite real number in range.

    ``allow_inf=True`` accepts +-inf (still subject to the bounds), for thresholds
    where infinity means "never".
    """
    if type(value) is not float:  # the usual case skips the slower abstract-class check
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number; got {value!r}")
        value = float(value)
    # math, not np: called on every kernel call, and np.isnan costs a ufunc dispatch
    if math.isnan(value) or (not allow_inf and math.isinf(value)):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = f">= {low}" if low_inclusive else f"> {low}"
        raise ValueError(f"{name} must be {bound}; got {value!r}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        bound = f"<= {high}" if high_inclusive else f"< {high}"
        raise ValueError(f"{name} must be {bound}; got {value!r}")
    return value


def check_fits(value, name, dtype, *, allow_underflow=False):
    """Return ``value`` (a checked Python float) after checking that ``dtype`` holds it as a normal number
    (or 0 or +-inf, when it is that already): a parameter that a float32 kernel would see as inf, 0 or a
    subnormal (a slope of 1e300, a divisor of 1e-50) gives a ValueError naming it instead of a wrong result.
    ``allow_underflow=True`` checks the overflow only, for a parameter whose kernels take it subnormal or 0
    (smooth L1's beta: 0 is the L1 loss, its limit).
    """
    info = np.finfo(dtype)
    largest, smallest, magnitude = float(info.max), float(info.tiny), abs(value)  # compared as Python floats
    if (largest < magnitude < math.inf) or (not allow_underflow and 0 < magnitude < smallest):
        raise _does_not_fit(name, repr(value), dtype)
    return value


def check_n_threads(n_threads):
    """Return the number of threads to use: ``None`` means what the process is allowed (see fastlc._threads)."""
    return effective_n_threads(n_threads)


def check_out(out, shape, dtype, name="out", inputs=(), *, may_alias=False):
    """Return a writeable C-contiguous output array: ``out`` itself or a new one.

    ``out`` must not overlap any of ``inputs`` (a tuple of arrays, or a dict
    name -> array for the messages): the kernels read inputs while writing
    outputs. With ``may_alias=True`` it may *be* one of them (same memory, same
    strides) for element-wise kernels that read each element before writing it.
    """
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array; got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}; got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    named = inputs.items() if isinstance(inputs, dict) else ((None, array) for array in inputs)
    for input_name, other in named:
        if not np.may_share_memory(out, other):
            continue
        if may_alias and other.ctypes.data == out.ctypes.data and other.strides == out.strides:
            continue
        if may_alias:
            raise ValueError(f"{name} may be {input_name or 'an input'} itself but must not otherwise overlap it")
        raise ValueError(f"{name} must not share memory with the inputs")
    return out


def check_inplace_array(array, name, *, like=None, like_name="param", written=True):
    """Return ``array`` itself after checking that a kernel may update it in place.

    An array updated in place must be a float32/float64 ndarray that is
    C-contiguous and writeable: converting it would make the kernel update a
    copy and silently leave the caller's array unchanged, so nothing is converted.

    Parameters
    ----------
    array : ndarray
        The array to be written.
    name : str
        Argument name used in error messages.
    like : ndarray, optional
        When given, ``array`` must have its shape and dtype.
    like_name : str, default="param"
        Name of ``like`` in error messages.
    written : bool, default=True
        False when this call only reads the array (state that other calls update, such as
        ``batch_norm``'s running statistics in evaluation): it may then be read-only or
        non-contiguous, and the caller reads it through a contiguous copy.
    """
    if not isinstance(array, np.ndarray):
        role = "is updated in place" if written else "is state that other calls update in place"
        raise TypeError(f"{name} {role} and must be a NumPy array; got {type(array).__name__}")
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64; got dtype {array.dtype}")
    if like is not None:
        if array.dtype != like.dtype:
            raise TypeError(f"{name} must have dtype {like.dtype}, as {like_name}; got {array.dtype}")
        if array.shape != like.shape:
            raise ValueError(f"{name} must have shape {like.shape}, as {like_name}; got {array.shape}")
    if not written:
        return array
    if not array.flags.c_contiguous:
        raise ValueError(
            f"{name} is updated in place and must be C-contiguous (updating a contiguous copy would leave "
            f"the caller's array unchanged); pass np.ascontiguousarray({name}) and use that array"
        )
    if not array.flags.writeable:
        raise ValueError(f"{name} is updated in place and must be writeable; got a read-only array")
    return array


def check_no_overlap(arrays):
    """Raise if any two of ``arrays`` (a dict name -> ndarray) share memory."""
    items = list(arrays.items())
    for i, (name_a, a) in enumerate(items):
        for name_b, b in items[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name_a} and {name_b} must not share memory")


def check_int(value, name, *, low=None, high=None, allow_none=False):
    """Return ``value`` as a Python int in ``[low, high]`` (bools are not ints here).

    ``allow_none=True`` passes ``None`` through (for "not set" defaults).
    """
    if value is None and allow_none:
        return None
    kind = "an int or None" if allow_none else "an int"
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {kind}; got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {kind}; got {value!r}") from None
    if low is not None and value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}")
    return value


#: Largest step or epoch count the optimizer steps and the learning-rate schedules take: they compute in
#: float64, and a count beyond the int64 range (10**400) made gamma ** t or beta1 ** step an
#: OverflowError of Python's int-to-float conversion.
MAX_T = 2**63 - 1


def check_step(step, name="step"):
    """Return the optimizer step count ``step`` (1 to ``MAX_T``, the first step is 1) as a Python int."""
    return check_int(step, name, low=1, high=MAX_T)


def check_int_pair(value, name, *, low, high=None):
    """Return ``value`` (an int or a pair of ints, e.g. a 2-D kernel size) as a tuple of two ints in
    [``low``, ``high``] (no upper bound when ``high`` is None)."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints (height, width); got {value!r}")
    pair = []
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
        try:
            pair.append(operator.index(item))
        except TypeError:
            raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}") from None
    if min(pair) < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}")
    if high is not None and max(pair) > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")
    return tuple(pair)


def check_bool(value, name):
    """Return ``value`` as a bool, rejecting anything that is not a (NumPy) bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)
