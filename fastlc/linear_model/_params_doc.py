"""The parameter documentation the linear estimators share (kept in one place).

One template for classifiers and regressors; the few words that differ are
filled in from ``_CLASSIFIER`` / ``_REGRESSOR``.
"""
from string import Template

from ._base import ALIGN_MIN_EPOCHS

_PARAMETERS = """\
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}, default="adam"
        Update rule, each a fused kernel of :mod:`fastlc.kernels` with PyTorch's
        semantics: plain SGD, heavy-ball momentum, Nesterov momentum, Adagrad,
        RMSprop, Adam, and AdamW (Adam with the L2 part of the penalty applied
        as decoupled weight decay ``W <- W (1 - lr * alpha_l2)`` instead of
        through the gradient).
    learning_rate : float, default=0.01
        Initial step size (> 0).
    lr_schedule : {"constant", "step", "exponential", "invscaling"}, default="constant"
        How the learning rate changes from epoch to epoch (``e`` counts every
        epoch trained so far, including earlier ``partial_fit`` calls and warm
        starts): ``"constant"``; ``"step"``: ``learning_rate * lr_decay **
        (e // lr_step_size)``; ``"exponential"``: ``learning_rate * lr_decay ** e``;
        ``"invscaling"``: ``learning_rate / (e + 1) ** power_t``.
    lr_decay : float in (0, 1], default=0.95
        Decay factor of the ``"step"`` and ``"exponential"`` schedules.
    lr_step_size : int, default=10
        Epochs between two decays of the ``"step"`` schedule.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    momentum : float in [0, 1), default=0.9
        Momentum of ``"momentum"`` and ``"nesterov"``.
    beta_1 : float in [0, 1), default=0.9
        Decay of the running mean of gradients (``"adam"``, ``"adamw"``).
    beta_2 : float in [0, 1), default=0.999
        Decay of the running mean of squared gradients (``"adam"``, ``"adamw"``,
        and ``"rmsprop"``, where PyTorch calls it ``alpha``).
    epsilon : float, default=1e-8
        Added to the root of the squared-gradient average (``"adam"``,
        ``"adamw"``, ``"rmsprop"``, ``"adagrad"``) for numerical stability.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(256, n_samples)``.
    max_epochs : int, default=100
        Maximum number of passes over the training data in ``fit``.$align_note
    alpha : float, default=1e-4
        Strength of the penalty. The objective is the weighted *mean* loss
        per sample plus ``alpha * R(coef_)``, as in ``SGDClassifier``: alpha does
        not scale with the number of samples or the batch size. (scikit-learn's
        ``MLPClassifier`` divides its ``alpha`` by the batch size instead: its
        ``alpha=a`` matches ``alpha=a / batch_size`` here.)
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        ``R(W)`` is ``0.5 * ||W||_2^2`` (l2), ``||W||_1`` (l1), or
        ``l1_ratio * ||W||_1 + (1 - l1_ratio) * 0.5 * ||W||_2^2`` (elasticnet).
        The intercept is never penalised. The l1 part enters through its
        subgradient ``sign(W)``, so weights get small but not exactly zero.
    l1_ratio : float in [0, 1], default=0.15
        Share of l1 in the elasticnet penalty.
    fit_intercept : bool, default=True
        Learn an intercept per ${output}; if False, ``intercept_`` stays zero.
${class_weight}    tol : float, default=1e-4
        Stop when the training loss (or, with ``early_stopping``, the
        validation ${score}) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.
    n_iter_no_change : int, default=10
        See ``tol``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data${stratified},
        score ${score} on it after every epoch, stop as described under
        ``tol``, and keep the weights of the best epoch.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out when ``early_stopping=True``.
    shuffle : bool, default=True
        Draw the mini-batches in a new random order every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split. The same value gives the
        same model bit for bit, whatever ``n_threads``.
    warm_start : bool, default=False
        Let ``fit`` continue from the previous model and optimizer state
        (same ${outputs} required) instead of starting from zero weights.
    verbose : int, default=0
        If > 0, print one line per epoch: epoch, loss, validation score (with
        early stopping), learning rate and elapsed time.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
        Kernel implementation for the fused batch-gradient and optimizer kernels.
    n_threads : int or None, default=None
        Threads used by ``fit``. None: as many as the process is allowed,
        resolved once per ``fit`` (the CPU affinity and container quota,
        ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS``, ``threadpool_limits`` and
        ``fastlc.set_config`` / ``config_context`` all cap it, so fits inside
        ``GridSearchCV(n_jobs=...)`` share the cores). Each mini-batch is cut into
        fixed chunks of 64 rows that run in parallel inside the fused gradient
        kernel (scores, loss and weight gradient in one pass over each sample
        row); their gradients are summed in a fixed order, so the model does
        not depend on ``n_threads``, bit for bit. (BLAS, used only by the
        ``"numpy"`` backend, runs single-threaded during fit: its
        multi-threaded products are not bit-reproducible across thread counts.)
"""

_ATTRIBUTES = """\
${coef}    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names (e.g. a DataFrame).
    n_iter_ : int
        Epochs run (``fit`` restarts the count unless ``warm_start``;
        ``partial_fit`` adds one per call).
    loss_curve_ : list of float
        Training objective (weighted mean loss + penalty) after each epoch,
        averaged over the epoch's mini-batches.
    validation_scores_ : list of float
        ${Score} on the held-out set after each epoch (only with ``early_stopping``).
    t_ : int
        Optimizer steps (mini-batches) taken so far.
"""

_CLASSIFIER = dict(
    output="class", outputs="classes", score="accuracy", Score="Accuracy", stratified=" (stratified)",
    class_weight="""\
    class_weight : dict, "balanced" or None, default=None
        Weight of each class's samples, multiplied into ``sample_weight``.
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))`` (not
        available in ``partial_fit``).
""",
    coef="""\
    coef_ : ndarray of shape (n_classes, n_features)
        One weight row per class (also for two classes), in the training dtype.
    intercept_ : ndarray of shape (n_classes,)
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
""",
)
_REGRESSOR = dict(
    output="target", outputs="number of targets", score="R^2", Score="R^2 (weighted)", stratified="",
    class_weight="",
    coef="""\
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights, in the training dtype; 1-D when ``y`` was 1-D (as ``SGDRegressor``).
    intercept_ : ndarray of shape (1,) or (n_targets,)
""",
)

#: What the linear models' fit does with a misaligned dense X (fastlc._memory.aligned_for_training); the
#: multilayer perceptrons gather each batch into a fresh array and take the parameters without it.
_ALIGN_NOTE = f""" From
        {ALIGN_MIN_EPOCHS} epochs on, the Cython backend trains a dense X that does not start on
        a 64-byte cache line (NumPy's large arrays start 16 bytes past one)
        from an aligned copy made once, if its size fits in scikit-learn's
        ``working_memory`` (``sklearn.set_config``): the same model, without
        the per-batch copies of misaligned rows."""

SHARED_PARAMETERS = Template(_PARAMETERS).substitute(_CLASSIFIER, align_note=_ALIGN_NOTE)
SHARED_ATTRIBUTES = Template(_ATTRIBUTES).substitute(_CLASSIFIER)
REGRESSOR_PARAMETERS = Template(_PARAMETERS).substitute(_REGRESSOR, align_note=_ALIGN_NOTE)
#: The same for the multilayer perceptrons, without the note on aligned copies.
MLP_CLASSIFIER_PARAMETERS = Template(_PARAMETERS).substitute(_CLASSIFIER, align_note="")
MLP_REGRESSOR_PARAMETERS = Template(_PARAMETERS).substitute(_REGRESSOR, align_note="")
REGRESSOR_ATTRIBUTES = Template(_ATTRIBUTES).substitute(_REGRESSOR)
