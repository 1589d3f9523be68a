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


def test_degrade_a_video(clips, tmp_path):
    """`cvsr degrade IN OUT [--crf C]`: the training degradation of a video, x4 smaller, every frame kept."""
    import av

    src = clips.get("low_delay")                                   # 320x192, 20 frames
    for crf, name in ((None, "lr.mkv"), (23, "lr_crf23.mkv")):
        args = ["degrade", str(src), str(tmp_path / name)] + ([] if crf is None else ["--crf", str(crf)])
        assert main(args) == 0
        with av.open(str(tmp_path / name)) as c:
            s = c.streams.video[0]
            frames = list(c.decode(s))
            assert (s.codec_context.name, s.width, s.height) == ("ffv1" if crf is None else "h264", 80, 48)
            assert len(frames) == 20
