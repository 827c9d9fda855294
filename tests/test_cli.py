"""``python -m fastlc``: bad options end in argparse's one-line error (exit 2) before any work."""
import pytest

from fastlc.__main__ import parse_args


@pytest.mark.parametrize("argv, message", [
    (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
    (["--threads", "two"], "argument --threads: expected an integer, got 'two'"),
    (["--n-samples", "10"], "argument --n-samples: must be at least 40, got 10"),
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["--repeats", "0"], "argument --repeats: must be at least 1, got 0"),
    (["--backend", "fortran"], "argument --backend: invalid choice: 'fortran'"),
])
def test_bad_options_exit_with_status_2_and_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m fastlc: error: " + message)


def test_good_options_parse():
    args = parse_args(["--threads", "1", "--n-samples", "40", "--epochs", "1", "--repeats", "1", "--quick"])
    assert (args.threads, args.n_samples, args.epochs, args.repeats, args.quick) == (1, 40, 1, 1, True)


def test_a_plots_directory_that_cannot_be_made_is_a_usage_error(tmp_path, capsys):
    # checked before any training: it used to end in a traceback after the whole comparison
    pytest.importorskip("matplotlib", reason="--plots draws with matplotlib")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for directory, message in ((str(a_file), "cannot make that directory"), ("", "needs a directory name")):
        with pytest.raises(SystemExit) as stop:
            parse_args(["--plots", directory])
        assert stop.value.code == 2
        assert message in capsys.readouterr().err
    assert parse_args(["--plots", str(tmp_path / "new")]).plots == str(tmp_path / "new")
    assert (tmp_path / "new").is_dir()


def _record_thread_counts(monkeypatch):
    """Make the process look allowed 8 threads and record the count every fastlc call resolves to."""
    import fastlc._threads
    import fastlc._validation

    monkeypatch.setattr(fastlc._threads, "cpu_affinity_count", lambda: 8)
    monkeypatch.setattr(fastlc._threads, "_container_cpu_limit", lambda: None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    resolved = []
    effective = fastlc._validation.effective_n_threads

    def spy(n_threads=None):
        n = effective(n_threads)
        resolved.append(n)
        return n

    monkeypatch.setattr(fastlc._validation, "effective_n_threads", spy)
    return resolved


def test_threads_option_reaches_every_fit_and_kernel_call(monkeypatch, capsys):
    # --threads went to the speed table only: the classifier comparison fitted on all the allowed threads
    pytest.importorskip("sklearn", reason="the comparison trains scikit-learn's models")
    from threadpoolctl import threadpool_info
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    from fastlc.__main__ import main

    resolved = _record_thread_counts(monkeypatch)
    blas_threads = []
    for Estimator in (SGDClassifier, MLPClassifier):
        fit = Estimator.fit

        def fit_and_record(self, *args, _fit=fit, **kwargs):
            blas_threads.extend(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
            return _fit(self, *args, **kwargs)

        monkeypatch.setattr(Estimator, "fit", fit_and_record)
    assert main(["--threads", "1", "--n-samples", "40", "--epochs", "1", "--no-speed-table"]) == 0
    assert "Worked example" in capsys.readouterr().out
    assert resolved and set(resolved) == {1}
    if any(info["user_api"] == "blas" for info in threadpool_info()):  # threadpoolctl found NumPy's BLAS
        assert blas_threads and set(blas_threads) == {1}


def test_threads_option_never_raises_a_users_blas_limit(monkeypatch, capsys):
    # threadpool_limits(limits=n) raised a limit of 1 that the user had set to --threads
    pytest.importorskip("sklearn", reason="the comparison trains scikit-learn's models")
    from threadpoolctl import threadpool_info, threadpool_limits
    from sklearn.linear_model import SGDClassifier

    from fastlc.__main__ import main

    if not any(info["user_api"] == "blas" for info in threadpool_info()):
        pytest.skip("threadpoolctl finds no BLAS library to limit in this process")
    blas_threads = []
    fit = SGDClassifier.fit

    def fit_and_record(self, *args, **kwargs):
        blas_threads.extend(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(SGDClassifier, "fit", fit_and_record)
    with threadpool_limits(limits=1, user_api="blas"):
        assert main(["--threads", "2", "--n-samples", "40", "--epochs", "1", "--no-speed-table"]) == 0
    capsys.readouterr()
    assert blas_threads and set(blas_threads) == {1}


def test_threads_option_bounds_the_plots_training(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--plots draws with matplotlib")
    import fastlc.plotting._demo
    from fastlc.__main__ import main

    resolved = _record_thread_counts(monkeypatch)
    save = fastlc.plotting._demo.save_demo_pictures
    plots_calls = []

    def save_and_mark(*args, **kwargs):
        plots_calls.append(len(resolved))
        return save(*args, **kwargs)

    monkeypatch.setattr(fastlc.plotting._demo, "save_demo_pictures", save_and_mark)
    assert main(["--threads", "1", "--n-samples", "40", "--epochs", "1", "--no-speed-table",
                 "--plots", str(tmp_path)]) == 0
    capsys.readouterr()
    assert plots_calls and len(resolved) > plots_calls[0]  # the plots made fastlc calls of their own
    assert set(resolved) == {1}


def test_compare_on_digits_validates_n_threads():
    from fastlc._compare import compare_on_digits

    with pytest.raises(ValueError, match="n_threads must be a positive int or None; got 0"):
        compare_on_digits(n_samples=40, max_epochs=1, n_threads=0)
