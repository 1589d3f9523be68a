"""Bad input gives a clear exception (with .errno) or documented behaviour: no crash, no hang."""
from __future__ import annotations

import builtins
import errno

import numpy as np
import pytest

import cvsr.codec as codec
import cvsr  # noqa: E402
from cvsr.codec import errors  # noqa: E402


def test_missing_path(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(builtins.FileNotFoundError) as e:
        cvsr.open(path)
    assert isinstance(e.value, codec.CodecError)
    assert e.value.errno == errno.ENOENT and e.value.filename == str(path)
    assert str(path) in str(e.value) and "No such file" in str(e.value)


def test_directory(tmp_path):
    with pytest.raises(builtins.IsADirectoryError):
        cvsr.open(tmp_path)


@pytest.mark.parametrize("recipe", ["text", "empty", "truncated"])
def test_not_a_video(clips, recipe):
    with pytest.raises(ValueError) as e:
        cvsr.open(clips.get(recipe))
    assert isinstance(e.value, codec.InvalidDataError)
    assert e.value.averror == errors.lib.cvsr_averror_invaliddata() and e.value.errno > 0
    assert str(clips.get(recipe)) in str(e.value)


def test_no_video_stream(clips):
    with pytest.raises(codec.StreamNotFoundError) as e:
        cvsr.open(clips.get("audio_only"))
    assert isinstance(e.value, ValueError)


def test_codec_not_in_the_build(clips):
    pytest.importorskip("av")
    with pytest.raises(codec.DecoderNotFoundError, match="decoder") as e:
        cvsr.open(clips.get("mjpeg"))
    assert isinstance(e.value, ValueError)


def test_truncated_faststart_decodes_what_is_there(clips):
    """Documented: the frames before the cut, then the end (the failed read is counted, not raised)."""
    path = clips.get("truncated_faststart")
    with cvsr.open(path) as r:
        frames = list(r)
        assert 0 < len(frames) < 20 and r.decode_errors >= 1
    with cvsr.open(path, strict=True) as r, pytest.raises(codec.InvalidDataError):
        list(r)


def test_corrupted_h264(clips):
    """Documented: the decoder conceals errors; such frames come flagged ``corrupt``; strict=True raises."""
    path = clips.get("corrupt")
    with cvsr.open(path) as r:
        frames = list(r)
    assert frames and any(f.corrupt for f in frames)
    for f in frames:
        assert f.y.shape == (192, 320)
        if f.codec_info is not None:
            f.mv_field(0), f.residual(0)
    with cvsr.open(path, strict=True) as r, pytest.raises(codec.InvalidDataError, match="corrupt"):
        list(r)


def test_garbage_h264(clips):
    with pytest.raises(codec.InvalidDataError, match="no frame"):
        with cvsr.open(clips.get("garbage_h264")) as r:
            list(r)


def test_ten_bit(clips):
    """Supported for pixels (converted to 8 bit) with export off; a clear error with export on."""
    path = clips.get("ten_bit")
    with pytest.raises(NotImplementedError, match="10-bit") as e:
        cvsr.open(path)
    assert isinstance(e.value, codec.UnsupportedError) and e.value.errno == errno.ENOSYS
    with cvsr.open(path, export=False) as r:
        assert r.stream.bit_depth == 10
        frames = list(r)
    assert len(frames) == 6 and frames[0].y.dtype == np.uint8 and frames[0].codec_info is None


def test_interlaced(clips):
    path = clips.get("interlaced")
    with pytest.raises(codec.UnsupportedError, match="interlaced"):
        cvsr.open(path)
    with cvsr.open(path, export=False) as r:
        assert len(list(r)) == 6


@pytest.mark.parametrize("kwargs,match", [
    (dict(thread_type="fibers"), "thread_type"),
    (dict(threads=-1), "threads"),
    (dict(threads=1.5), "threads"),
])
def test_bad_options(clips, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cvsr.open(clips.get("low_delay"), **kwargs)


def test_unknown_decoder_option(clips):
    with pytest.raises(codec.OptionError, match="no_such_option"):
        cvsr.open(clips.get("low_delay"), decoder_options={"no_such_option": "1"})


def test_decoder_option_applies(clips):
    with cvsr.open(clips.get("low_delay"), decoder_options={"skip_frame": "nokey"}) as r:
        assert [f.frame_type for f in r] == ["I"]


def test_read_after_close(clips):
    r = cvsr.open(clips.get("low_delay"))
    r.close()
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.read()


def test_error_mapping_is_complete():
    assert isinstance(errors.error_for(-errno.EACCES), builtins.PermissionError)
    assert isinstance(errors.error_for(-errno.EIO), builtins.OSError)
    assert isinstance(errors.error_for(errors.lib.cvsr_averror_stream_not_found()), ValueError)
    assert isinstance(errors.error_for(errors.lib.cvsr_averror_decoder_not_found()), codec.DecoderNotFoundError)
    assert isinstance(errors.error_for(-errno.ENOMEM), builtins.MemoryError)
    e = errors.error_for(-errno.ENOENT, "x.mp4", "x.mp4: gone")
    assert (e.errno, e.filename, str(e)) == (errno.ENOENT, "x.mp4", "x.mp4: gone")
