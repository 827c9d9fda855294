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
