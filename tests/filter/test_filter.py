"""End-to-end tests of ``ffmpeg -vf cvsr``: the real patched ffmpeg, tiny clips, a tiny untrained model."""
from __future__ import annotations

import importlib.util
import socket
import subprocess
import time

from pathlib import Path

import numpy as np
import pytest
from ffhelpers import FFMPEG, FFPROBE, decode_yuv, ffmpeg, probe_duration, probe_frames, run

NO_INFO = b"carry no codec info"


def cvsr(model, **options) -> str:
    opts = ":".join([f"model={model}"] + [f"{k}={v}" for k, v in options.items()])
    return f"cvsr={opts}"


def _help_options(text: str) -> dict[str, dict]:
    """``ffmpeg -h filter=cvsr`` -> {option: {"default": str or None, "values": [constants]}}."""
    import re

    options, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^   (\w+)\s+<(\w+)>.*?(?:\(default (.*)\))?$", line)
        if m:
            current = options[m[1]] = {"type": m[2], "default": m[3], "values": []}
            continue
        m = re.match(r"^     (\w+)\s+", line)
        if m and current is not None:
            current["values"].append(m[1])
    return options


def test_option_table_matches_python(have_filter):
    """The filter's AVOptions are cvsr.host.options.OPTIONS: same names, values and defaults (the model
    default is left to the package, DEFAULT_MODEL); Host and upscale take them with the same defaults."""
    import inspect

    from cvsr.host.host import Host
    from cvsr.host.options import OPTIONS
    from cvsr.host.upscale import upscale

    found = _help_options(run([FFMPEG, "-hide_banner", "-h", "filter=cvsr"]).stdout.decode())
    assert list(found) == [o.name for o in OPTIONS]
    for option in OPTIONS:
        c = found[option.name]
        if option.choices:
            assert tuple(c["values"]) == option.choices, option.name
            assert c["default"] == option.default, option.name
        elif isinstance(option.default, bool):
            assert c["default"] == str(option.default).lower(), option.name
        elif option.default is None:
            assert c["default"] is None, option.name   # no literal default in C
        else:
            assert c["default"] == str(option.default), option.name
        for fn in (Host, upscale):
            assert inspect.signature(fn).parameters[option.name].default == option.default, (fn, option.name)


KINDS = ["lowdelay", "randomaccess", "hevc_lowdelay", "hevc_randomaccess"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_output_per_input_same_pts_x4(make_clip, tiny_model, tmp_path, kind):
    src = make_clip(kind, size="96x64", frames=14)
    out = tmp_path / "out.mkv"
    r = ffmpeg("-v", "verbose", "-i", src, "-vf", cvsr(tiny_model, threads=1), "-c:v", "ffv1", out)
    assert NO_INFO not in r.stderr          # codec info was exported without any user flag
    # frames held back for decode order: none for low delay, the reorder depth (2) with B-frames
    latency = 0 if kind.endswith("lowdelay") else 2
    assert b"cvsr host: 14 frames (14 aligned)" in r.stderr
    assert f"latency at most {latency} frames".encode() in r.stderr
    fin, fout = probe_frames(src), probe_frames(out)
    assert len(fout) == len(fin) == 14
    # mp4 and mkv time bases differ: compare times (mkv rounds to 1 ms)
    assert np.allclose([float(f["pts_time"]) for f in fout], [float(f["pts_time"]) for f in fin], atol=1e-3)
    assert {(f["width"], f["height"]) for f in fout} == {(384, 256)}
    if kind.endswith("randomaccess"):
        assert "B" in {f["pict_type"] for f in fin}


@pytest.mark.parametrize("kind", ["randomaccess", "hevc_randomaccess"])
def test_timestamps_exact_in_nut(make_clip, tiny_model, tmp_path, kind):
    """Same time base (nut keeps the input's), so the pts must be equal, not just shifted."""
    src = make_clip(kind, size="64x48", frames=12, ext="nut")
    out = tmp_path / "out.nut"
    ffmpeg("-copyts", "-i", src, "-vf", cvsr(tiny_model), "-c:v", "rawvideo", "-enc_time_base", "demux",
           "-fps_mode", "passthrough", out)
    assert [f["pts"] for f in probe_frames(out)] == [f["pts"] for f in probe_frames(src)]


def test_audio_copied_untouched(make_clip, tiny_model, tmp_path):
    src = make_clip("lowdelay", size="64x48", frames=20, audio=True)
    out = tmp_path / "out.mp4"
    ffmpeg("-i", src, "-vf", cvsr(tiny_model), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", out)
    md5 = [run([FFMPEG, "-v", "error", "-i", p, "-map", "0:a", "-c", "copy", "-f", "md5", "-"]).stdout
           for p in (src, out)]
    assert md5[0] == md5[1]
    assert abs(probe_duration(out, "v:0") - probe_duration(out, "a:0")) < 0.1
    assert abs(probe_duration(out, "v:0") - probe_duration(src, "v:0")) < 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_ffmpeg_equals_python_api(make_clip, tiny_model, tmp_path, kind):
    """The filter and cvsr.upscale run the same host: bit-exact with the same torch threads."""
    from cvsr import upscale

    src = make_clip(kind, size="64x48", frames=10)
    via_ffmpeg, via_api = tmp_path / "ffmpeg.mkv", tmp_path / "api.mkv"
    ffmpeg("-i", src, "-vf", cvsr(tiny_model, threads=1), "-c:v", "ffv1", via_ffmpeg)
    result = upscale(src, via_api, model=str(tiny_model), threads=1, progress=False,
                          video_codec=("-c:v", "ffv1"))
    assert result.frames == 10 and result.frames_aligned == 10
    assert result.max_latency == (0 if kind.endswith("lowdelay") else 2)   # reorder depth in frames
    a, b = decode_yuv(via_ffmpeg, 256, 192), decode_yuv(via_api, 256, 192)
    assert a.shape == b.shape == (10, 256 * 192 * 3 // 2)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", ["randomaccess", "hevc_randomaccess"])
def test_codec_info_changes_the_output(make_clip, tiny_model, tmp_path, kind):
    """Export disabled by the user (-export_side_data -codec_info): a warning and unaligned frames."""
    src = make_clip(kind, size="64x48", frames=10)
    on, off = tmp_path / "on.mkv", tmp_path / "off.mkv"
    ffmpeg("-i", src, "-vf", cvsr(tiny_model, threads=1), "-c:v", "ffv1", on)
    r = ffmpeg("-export_side_data", "-codec_info", "-i", src, "-vf", cvsr(tiny_model, threads=1),
               "-c:v", "ffv1", off)
    assert r.stderr.count(NO_INFO) == 1
    a, b = decode_yuv(on, 256, 192), decode_yuv(off, 256, 192)
    assert a.shape == b.shape
    assert np.array_equal(a[0], b[0])          # the first frame has nothing to align with
    assert not np.array_equal(a[1:], b[1:])


def test_filter_complex_with_split(make_clip, tiny_model, tmp_path):
    src = make_clip("randomaccess", size="64x48", frames=10)
    out = tmp_path / "out.mkv"
    r = ffmpeg("-i", src, "-filter_complex",
               f"[0:v]split[a][b];[a]{cvsr(tiny_model)}[up];[b]scale=256:192:flags=bicubic[ref];[up][ref]hstack",
               "-c:v", "ffv1", out)
    assert NO_INFO not in r.stderr
    frames = probe_frames(out)
    assert len(frames) == 10 and (frames[0]["width"], frames[0]["height"]) == (512, 192)


@pytest.mark.parametrize("kind", ["randomaccess", "hevc_randomaccess"])
def test_pipes(make_clip, tiny_model, kind):
    src = make_clip(kind, size="64x48", frames=10, ext="ts")
    r = run([FFMPEG, "-hide_banner", "-v", "error", "-i", "pipe:0", "-vf", cvsr(tiny_model),
             "-c:v", "rawvideo", "-f", "nut", "pipe:1"], input=src.read_bytes())
    probe = run([FFPROBE, "-v", "error", "-show_entries", "frame=width,height",
                 "-of", "csv=p=0", "-i", "pipe:0"], input=r.stdout)
    assert probe.stdout.decode().split() == ["256,192"] * 10


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_udp_mpegts(have_filter, tiny_model, tmp_path):
    """A real sender streams mpegts over loopback UDP; the receiver runs cvsr and stops by itself."""
    port = _free_udp_port()
    out = tmp_path / "live.nut"
    receiver = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-nostdin", "-y", "-v", "error",
         "-i", f"udp://127.0.0.1:{port}?timeout=3000000&fifo_size=100000",   # 3 s of silence = end
         "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)   # let the receiver open its socket (the machine may be busy)
    ffmpeg("-re", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=2", "-c:v", "libx264", "-bf", "0",
           "-tune", "zerolatency", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316", timeout=30)
    try:
        _, err = receiver.communicate(timeout=60)
    finally:
        receiver.kill()
    assert receiver.returncode == 0 and out.exists(), err.decode(errors="replace")
    frames = probe_frames(out)
    assert len(frames) >= 10, err.decode(errors="replace")   # loopback UDP may drop the first packets
    assert (frames[0]["width"], frames[0]["height"]) == (256, 192)


# -- bad input ----------------------------------------------------------------------------------------------


def test_unknown_model(make_clip, tmp_path):
    src = make_clip("lowdelay", size="64x48", frames=4)
    r = ffmpeg("-i", src, "-vf", "cvsr=model=nosuchmodel", "-f", "null", "-", check=False)
    assert r.returncode != 0
    assert b"unknown model 'nosuchmodel'" in r.stderr and b"Invalid argument" in r.stderr


def test_user_error_is_one_line_traceback_at_verbose(make_clip):
    """An expected failure is one error line; its traceback only at -v verbose."""
    src = make_clip("lowdelay", size="64x48", frames=4)
    r = ffmpeg("-v", "error", "-i", src, "-vf", "cvsr=model=nosuchmodel", "-f", "null", "-", check=False)
    cvsr_lines = [l for l in r.stderr.decode().splitlines() if "cvsr" in l]
    assert r.returncode != 0 and b"Traceback" not in r.stderr
    assert len(cvsr_lines) == 2 and "loading the cvsr host: unknown model 'nosuchmodel'" in cvsr_lines[0], cvsr_lines
    r = ffmpeg("-v", "verbose", "-i", src, "-vf", "cvsr=model=nosuchmodel", "-f", "null", "-", check=False)
    assert r.returncode != 0 and b"Traceback (most recent call last)" in r.stderr


def test_missing_checkpoint(make_clip, tmp_path):
    src = make_clip("lowdelay", size="64x48", frames=4)
    r = ffmpeg("-i", src, "-vf", f"cvsr=model={tmp_path}/none.safetensors", "-f", "null", "-", check=False)
    assert r.returncode != 0 and b"does not exist" in r.stderr


@pytest.mark.parametrize("options, message", [
    ("device=gpu", b"Unable to parse option value"),
    ("threads=-1", b"out of range"),
    ("sparse=maybe", b"Unable to parse option value"),
    ("device=cpu:precision=fp16", b"precision=fp16 needs"),
    ("model=", b"model: a model name"),
])
def test_bad_option_values(make_clip, tiny_model, options, message):
    src = make_clip("lowdelay", size="64x48", frames=4)
    opts = options if options.startswith("model=") else f"model={tiny_model}:{options}"
    r = ffmpeg("-i", src, "-vf", f"cvsr={opts}", "-f", "null", "-", check=False)
    assert r.returncode != 0 and message in r.stderr, r.stderr[-2000:]


def test_corrupted_stream_recovers(make_clip, tiny_model, tmp_path):
    """Bytes overwritten mid-file: the decoder conceals or drops, the filter still gives one frame per decoded frame."""
    src = make_clip("randomaccess", size="96x64", frames=20, ext="h264")
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    start = len(data) // 2
    data[start:start + 200] = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.h264"
    bad.write_bytes(bytes(data))
    decoded = len(probe_frames(bad))
    out = tmp_path / "out.nut"
    ffmpeg("-i", bad, "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out)
    assert len(probe_frames(out)) == decoded > 0


def _drop_slices(data: bytes, every: int) -> bytes:
    """Every ``every``-th coded slice NAL unit left out (after the first IDR), as lost UDP packets would."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codec"))
    from h264_rewrite import split_annexb

    out, slices = [], 0
    for nal in split_annexb(data):
        if nal and nal[0] & 0x1F in (1, 5):
            slices += 1
            if slices > 1 and slices % every == 0:
                continue
        out.append(b"\x00\x00\x00\x01" + nal)
    return b"".join(out)


def _corrupt_spans(data: bytes, spans: int, length: int, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    data = bytearray(data)
    for start in np.linspace(len(data) // 5, len(data) - length - 1, spans).astype(int):
        data[start:start + length] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    return bytes(data)


@pytest.mark.parametrize("fault", ["truncated", "dropped_slices", "error_storm"])
def test_faulty_streams_give_one_frame_per_decoded_frame(make_clip, tiny_model, tmp_path, fault):
    """Truncated mid-frame, slices lost (missing references), many corrupted spans: the decoder conceals or
    drops; the filter outputs exactly the frames the decoder produced, in order, never crashing or hanging."""
    src = make_clip("randomaccess", size="96x64", frames=30, ext="h264").read_bytes()
    bad = tmp_path / f"{fault}.h264"
    bad.write_bytes({"truncated": lambda d: d[: int(len(d) * 0.6)],
                     "dropped_slices": lambda d: _drop_slices(d, 5),
                     "error_storm": lambda d: _corrupt_spans(d, 12, 40)}[fault](src))
    decoded = probe_frames(bad)
    out = tmp_path / "out.nut"
    r = ffmpeg("-i", bad, "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out, timeout=300)
    got = probe_frames(out)
    assert 0 < len(decoded) == len(got), (len(decoded), len(got), r.stderr[-1500:])
    # the fault is real: frames lost, or the decoder reported errors it concealed
    assert len(decoded) < 30 or b"error" in r.stderr.lower() or b"concealing" in r.stderr.lower(), r.stderr[-1500:]
    pts = [f["pts"] for f in got]
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    assert all(f["width"] == 384 and f["height"] == 256 for f in got)


def test_ten_bit_input_is_converted(have_filter, tiny_model, tmp_path):
    src = tmp_path / "ten.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=0.6", "-c:v", "libx264", "-pix_fmt", "yuv420p10le", src)
    out = tmp_path / "out.nut"
    r = ffmpeg("-i", src, "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out)
    assert r.stderr.count(NO_INFO) == 1        # the export covers 8-bit streams: documented fallback
    assert len(probe_frames(out)) == 6


@pytest.mark.parametrize("size, scaled", [("66x50", None), ("96x64", "65:49")])
def test_odd_sizes(make_clip, tiny_model, tmp_path, size, scaled):
    src = make_clip("randomaccess", size=size, frames=6)
    out = tmp_path / "out.nut"
    graph = cvsr(tiny_model) if scaled is None else f"scale={scaled},{cvsr(tiny_model)}"
    r = ffmpeg("-i", src, "-vf", graph, "-c:v", "rawvideo", out)
    w, h = (66, 50) if scaled is None else (65, 49)
    frames = probe_frames(out)
    assert len(frames) == 6 and (frames[0]["width"], frames[0]["height"]) == (4 * w, 4 * h)
    if scaled is None:
        assert NO_INFO not in r.stderr and b"not this" not in r.stderr   # cropped coded picture: aligned
    else:
        assert b"not this 65x49 frame" in r.stderr                       # scaled: side data ignored


def test_empty_input(have_filter, tiny_model, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    r = ffmpeg("-i", empty, "-vf", cvsr(tiny_model), "-f", "null", "-", check=False, timeout=60)
    assert r.returncode != 0 and empty.name.encode() in r.stderr


def test_no_frames(make_clip, tiny_model, tmp_path):
    """A stream cut to zero frames before the filter: no output frames, clean exit, no hang."""
    src = make_clip("lowdelay", size="64x48", frames=4)
    out = tmp_path / "out.nut"
    r = ffmpeg("-i", src, "-vf", f"trim=start_frame=100,{cvsr(tiny_model)}", "-c:v", "rawvideo", out,
               check=False, timeout=60)
    assert r.returncode == 0 or b"Output file is empty" in r.stderr


def test_hevc_hierarchical_b_runs_aligned(clips, tiny_model, tmp_path):
    """HEVC B-pyramid with 4 references and two GOPs: every frame aligned, one output per input, same pts,
    held back at most the stream's reorder depth."""
    src = clips.make("filter_hevc_pyramid.mp4", codec="libx265", size="96x64", frames=24, rate=10, bframes=4,
                     refs=4, gop=12, deblock=True, x264_params="b-pyramid=1")
    out = tmp_path / "out.mkv"
    r = ffmpeg("-v", "verbose", "-i", src, "-vf", cvsr(tiny_model, threads=1), "-c:v", "ffv1", out)
    assert b"cvsr host: 24 frames (24 aligned)" in r.stderr
    fin, fout = probe_frames(src), probe_frames(out)
    assert len(fout) == len(fin) == 24
    assert np.allclose([float(f["pts_time"]) for f in fout], [float(f["pts_time"]) for f in fin], atol=1e-3)


def test_hevc_ten_bit_runs_without_alignment(have_filter, tiny_model, clips, tmp_path):
    """The export is 8-bit only: 10-bit HEVC warns once and upscales every frame unaligned."""
    out = tmp_path / "out.nut"
    r = ffmpeg("-i", clips.get("hevc_ten_bit"), "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out)
    assert r.stderr.count(NO_INFO) == 1
    assert len(probe_frames(out)) == 6


def test_resolution_change_restarts_the_model(make_clip, tiny_model, tmp_path):
    """ffmpeg reconfigures the graph on a size change: the old host drains its B-frames, a new one starts."""
    joined = tmp_path / "ab.h264"
    joined.write_bytes(make_clip("randomaccess", size="64x48", frames=6, ext="h264").read_bytes()
                       + make_clip("randomaccess", size="96x64", frames=6, ext="h264").read_bytes())
    out = tmp_path / "out.nut"
    r = ffmpeg("-v", "verbose", "-i", joined, "-vf", cvsr(tiny_model), "-c:v", "rawvideo", out)
    stats = [line for line in r.stderr.decode().splitlines() if "cvsr host: 6 frames (6 aligned)" in line]
    assert len(stats) == 2
    assert len(probe_frames(out)) == 12


def test_backends_give_the_same_frames(make_clip, tiny_model, tmp_path):
    """backend=torch and backend=auto (OpenVINO on the CPU when installed): same frame count, pts and size;
    8-bit output within one level."""
    src = make_clip("randomaccess", size="64x48", frames=12, ext="nut")
    outs = {}
    for backend in ("torch", "auto"):
        out = tmp_path / f"{backend}.nut"
        r = ffmpeg("-v", "verbose", "-copyts", "-i", src, "-vf", cvsr(tiny_model, threads=1, backend=backend, precision="fp32"),
                   "-c:v", "rawvideo", "-enc_time_base", "demux", "-fps_mode", "passthrough", out)
        assert f"backend:{backend}".encode() in r.stderr
        if backend == "auto" and importlib.util.find_spec("openvino"):
            assert b"on cpu (openvino)" in r.stderr
        outs[backend] = (probe_frames(out), decode_yuv(out, 256, 192))
    (fa, ya), (fb, yb) = outs["torch"], outs["auto"]
    assert [f["pts"] for f in fa] == [f["pts"] for f in fb] == [f["pts"] for f in probe_frames(src)]
    assert {(f["width"], f["height"]) for f in fa + fb} == {(256, 192)}
    assert len(ya) == len(yb) == 12
    assert max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(ya, yb)) <= 1


def test_precision_int8_in_the_filter(make_clip, tmp_path):
    """precision=int8 (the OpenVINO backend, convolutions quantized with NNCF on the first run): one frame
    per frame, same pts, 4x the size, close to fp32's output."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    src = make_clip("randomaccess", size="64x48", frames=8, ext="nut")
    outs = {}
    for precision in ("fp32", "int8"):
        out = tmp_path / f"{precision}.nut"
        r = ffmpeg("-v", "verbose", "-copyts", "-i", src, "-vf",
                   cvsr("ciaf-lite", threads=1, backend="openvino", precision=precision),
                   "-c:v", "rawvideo", "-enc_time_base", "demux", "-fps_mode", "passthrough", out)
        assert f"cpu (openvino), {precision}".encode() in r.stderr
        outs[precision] = (probe_frames(out), decode_yuv(out, 256, 192))
    (fa, ya), (fb, yb) = outs["fp32"], outs["int8"]
    assert [f["pts"] for f in fa] == [f["pts"] for f in fb] == [f["pts"] for f in probe_frames(src)]
    assert len(ya) == len(yb) == 8
    assert max(float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(ya, yb)) < 1.0


def test_model_error_mid_run_ends_with_one_line_and_an_error(make_clip, tmp_path):
    """A Python failure inside the host during a run (here: out of memory on a frame far larger than the
    ones before, under an address-space limit) ends ffmpeg with a non-zero status and one actionable error
    line at -v error, no traceback; the frames before it were upscaled."""
    import resource

    small = make_clip("lowdelay", size="64x48", frames=6, ext="h264")
    huge = tmp_path / "huge.h264"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=2560x1440:rate=25", "-frames:v", "2", "-c:v", "libx264",
           "-preset", "ultrafast", "-bf", "0", huge)
    joined = tmp_path / "joined.h264"
    joined.write_bytes(small.read_bytes() + huge.read_bytes())
    out = tmp_path / "out.nut"

    def limit():  # 5 GiB of address space: torch and the small frames fit, the 10240x5760 output does not
        resource.setrlimit(resource.RLIMIT_AS, (5 << 30, 5 << 30))

    r = ffmpeg("-v", "error", "-i", joined, "-vf", "cvsr=model=ciaf-lite:backend=torch:threads=1", "-c:v", "rawvideo",
               out, check=False, preexec_fn=limit)
    err = r.stderr.decode()
    assert r.returncode != 0
    assert "Traceback" not in err
    cvsr_lines = [l for l in err.splitlines() if "cvsr" in l]
    assert cvsr_lines and "out of memory upscaling a 2560x1440 frame x4" in cvsr_lines[0], err
    assert "Cannot allocate memory" in err  # AVERROR(ENOMEM)
    # the file is not finished (no trailer): nut keeps the 6 frames readable, an mp4 has no index (moov)
    assert "left unfinished" in err
    assert len(probe_frames(out)) == 6
    mp4 = tmp_path / "out.mp4"
    r = ffmpeg("-v", "error", "-i", joined, "-vf", "cvsr=model=ciaf-lite:backend=torch:threads=1",
               "-c:v", "libx264", "-preset", "ultrafast", mp4, check=False, preexec_fn=limit)
    assert r.returncode != 0 and mp4.exists()
    probe = run([FFPROBE, "-v", "error", "-show_entries", "stream=nb_frames", str(mp4)], check=False)
    assert probe.returncode != 0 and b"moov atom not found" in probe.stderr
