"""The ``cvsr`` command: a user's mistake is one line on stderr and a non-zero status, no traceback."""
import pytest

from cvsr.cli import main


def test_missing_input_is_one_line(tmp_path, capsys):
    assert main(["upscale", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cvsr: error: ") and "missing.mp4" in err[0]
    assert not (tmp_path / "out.mp4").exists()


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "upscale", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])


def test_unknown_model_is_one_line(tmp_path, capsys):
    assert main(["eval", "--models", "no-such-model", "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]
