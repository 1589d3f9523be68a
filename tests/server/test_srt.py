"""SRT ingest: the project's ffmpeg listens on srt://127.0.0.1:PORT, upscales what a caller sends, x4.

Real SRT (FFmpeg's libsrt protocol, Debian's libsrt) on loopback, a free UDP port chosen by the test; a second
ffmpeg sends an MPEG-TS stream at its real rate and hangs up, which ends the listener's input.
"""
from __future__ import annotations

import re
import socket
import subprocess
import time

import pytest

from cvsr.ffmpeg import find_ffmpeg

FRAMES = 25


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    path = find_ffmpeg()
    protocols = subprocess.run([path, "-hide_banner", "-protocols"], capture_output=True, text=True, timeout=30).stdout
    if "srt" not in protocols.split():
        pytest.fail(f"{path} has no SRT: rebuild the project's FFmpeg (setup.sh installs libsrt-openssl-dev, "
                    "cmake/FFmpeg.cmake enables libsrt)")
    return path


def test_srt_listener_upscales_what_a_caller_sends(ffmpeg, clips, tmp_path):
    src = clips.make("srt_source.ts", size="64x48", frames=FRAMES, rate=25, bframes=0, gop=25)
    port = _free_udp_port()
    out = tmp_path / "upscaled.nut"
    listener = subprocess.Popen(
        [ffmpeg, "-v", "verbose", "-nostdin", "-y", "-i", f"srt://127.0.0.1:{port}?mode=listener&latency=50000",
         "-vf", "cvsr=model=ciaf-lite:threads=1", "-c:v", "rawvideo", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # the listener binds its port before anything can be sent
        subprocess.run([ffmpeg, "-v", "error", "-nostdin", "-re", "-i", str(src), "-c", "copy", "-f", "mpegts",
                        f"srt://127.0.0.1:{port}?mode=caller&latency=50000&linger=2"], check=True, timeout=60)
        err = listener.communicate(timeout=120)[1].decode(errors="replace")
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert listener.returncode == 0, err[-3000:]
    probe = subprocess.run([find_ffmpeg("ffprobe"), "-v", "error", "-count_frames", "-show_entries",
                            "stream=width,height,nb_read_frames", "-of", "csv=p=0", str(out)],
                           capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    width, height, frames = probe.split(",")
    assert (int(width), int(height)) == (256, 192)
    # one upscaled frame per decoded frame; the decoder gets all but the last one or two: when the caller hangs
    # up, ffmpeg's SRT input reports an I/O error instead of EOF, so the MPEG-TS demuxer drops the PES packets
    # it was still assembling (a live stream's last frames; a file sent over SRT shows the same)
    decoded = int(re.search(r"(\d+) frames decoded", err)[1])
    assert f"cvsr host: {decoded} frames ({decoded} aligned)" in err
    assert int(frames) == decoded and FRAMES - 2 <= decoded <= FRAMES, err[-3000:]
