"""matplotlib is an optional dependency: import it only when a picture is drawn."""

INSTALL_HINT = 'pip install "fastlc[plot]"'


def require_pyplot(what):
    """Import and return ``matplotlib.pyplot``, or raise an ImportError that says how to get it.

    Parameters
    ----------
    what : str
        The function that needs matplotlib, named in the message.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} draws with matplotlib, which is not installed; install it with {INSTALL_HINT} "
            f"(or pip install matplotlib)"
        ) from exc
    return plt


def axes_or_new(ax, what):
    """``ax`` if given, else the axes of a new pyplot figure (scikit-learn's Display convention)."""
    plt = require_pyplot(what)
    if ax is None:
        _, ax = plt.subplots()
    else:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    return ax
