"""The patched decoder under valgrind memcheck, export on: no invalid access, no use of uninitialised memory.

The shim has its AddressSanitizer test (tests/native); this covers the FFmpeg side, where the export
shares memory with the decoder (its motion vector tables live in the side data buffers) and error
concealment reads what the decoder left unwritten; for HEVC, where the side data is cut to size when the
frame leaves the decoder.  valgrind comes with setup.sh.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from _clips import ffmpeg_path

CASES = [
    ("corrupt", "-threads 1"),                       # error concealment on pooled buffers
    ("corrupt", "-threads 3 -thread_type frame"),
    ("slices", "-threads 3 -thread_type slice"),     # 4 slices, B frames
    ("random_access", "-threads 3 -thread_type frame"),
    ("odd_size", "-threads 1"),                      # 322x182: cropped, partial macroblocks
    # HEVC: the side data is attached at picture start and cut when the frame leaves the decoder
    ("hevc_corrupt", "-threads 1"),                  # CTBs not decoded: lost blocks
    ("hevc_corrupt", "-threads 3 -thread_type frame"),
    ("hevc", "-threads 3 -thread_type slice"),       # wavefront rows in parallel
    ("hevc_odd_size", "-threads 3 -thread_type frame"),  # 322x182 in a 328x184 coded picture
]


@pytest.mark.parametrize("recipe,threads", CASES)
def test_decoder_memcheck(clips, recipe, threads):
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is missing: run ./setup.sh"
    ffmpeg = ffmpeg_path()
    assert ffmpeg, "the project's ffmpeg is not built: run ./setup.sh"
    path = clips.get(recipe)
    cmd = [valgrind, "-q", "--error-exitcode=99", ffmpeg, "-nostdin", "-v", "quiet", *threads.split(),
           "-export_side_data", "+codec_info", "-i", str(path), "-f", "null", "-"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode != 99, f"memcheck errors:\n{run.stderr[-4000:]}"
    assert "Invalid" not in run.stderr and "uninitialised" not in run.stderr, run.stderr[-4000:]
