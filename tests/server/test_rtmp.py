"""Live RTMP through a real nginx-rtmp (examples/nginx-rtmp.conf): publish, upscale with exec_push, play.

Real nginx (Debian's, with libnginx-mod-rtmp) started by the test on a free loopback port with the shipped
config rendered into tmp_path; real ffmpeg everywhere (publisher, the exec'd upscaler, player).  Skips only
when nginx or its rtmp module is not installed (setup.sh installs both).  See nginx_rtmp.py for how the
stream is paced and why it starts with a lead-in.
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

import nginx_rtmp
from cvsr.ffmpeg import find_ffmpeg

REASON = nginx_rtmp.missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

SIZE = (64, 48)
RATE = 25
LEAD_IN = 25      # 1 s: the first GOP, sent before the upscaler is known to be subscribed
MEASURED = 50     # 2 s, two GOPs (key frames at 25 and 50): every one of these must come out upscaled


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    try:
        path = find_ffmpeg()
    except FileNotFoundError as e:
        pytest.fail(str(e))
    if not nginx_rtmp.has_rtmp_protocol(path):
        pytest.fail(f"{path} has no rtmp protocol: rebuild the project's FFmpeg (setup.sh) with "
                    "--enable-protocol=...,rtmp (cmake/FFmpeg.cmake)")
    return path


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def test_publish_upscale_play(ffmpeg, tmp_path):
    w, h = SIZE
    clip = tmp_path / "clip.flv"
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size={w}x{h}:rate={RATE}", "-frames:v", str(LEAD_IN + MEASURED),
                    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(LEAD_IN),
                    "-pix_fmt", "yuv420p", clip], check=True, timeout=60)

    server = nginx_rtmp.Server(tmp_path / "nginx", ffmpeg)
    t0 = time.monotonic()
    with server:
        r = nginx_rtmp.stream(server, clip, "test", lead_in_frames=LEAD_IN, out_dir=tmp_path,
                              subscribe_timeout=15, drain_timeout=40)
        # the upscaler (nginx's only child) ends by itself once the publisher has stopped
        deadline = time.monotonic() + 15
        while _children(server.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = _children(server.proc.pid)
        logs = server.logs()
    elapsed = time.monotonic() - t0

    assert f"exec: starting managed child '{ffmpeg}'" in logs, logs
    assert r.publisher_rc == 0 and r.player_rc == 0, (r.publisher_rc, r.player_rc, logs)
    assert not leftover, f"the upscaler is still running after the stream ended: {leftover}\n{logs}"

    # Exactly the measured frames, in order, none lost or repeated: the upscaler and the player were
    # subscribed before the measured part began with a key frame, cvsr emits one frame per frame with
    # the same timestamp (-copyts end to end), and the publisher stopped only after the last one came
    # out.  The lead-in frames appear as well only if the upscaler subscribed before the publisher's
    # first frame reached nginx; if it joined during the lead-in, wait_key held it back to frame 25.
    got = [t.ts for t in r.received]
    assert r.measured == [round((LEAD_IN + i) * 1000 / RATE) for i in range(MEASURED)]
    assert got in (r.measured, r.lead_in + r.measured), (got, logs)

    # 4x the size, and every received frame decodes
    saved = tmp_path / "upscaled-test.flv"
    probe = subprocess.run([find_ffmpeg("ffprobe"), "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=width,height,nb_read_frames", "-of", "json", saved],
                           check=True, capture_output=True, timeout=60)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["width"], stream["height"]) == (4 * w, 4 * h)
    assert int(stream["nb_read_frames"]) == len(got)
    assert elapsed < 60, f"took {elapsed:.1f} s"
