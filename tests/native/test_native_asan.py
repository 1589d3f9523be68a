"""The C test program (native/tests/test_reader.c) under AddressSanitizer on good and bad inputs."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXE = REPO / "build" / "native" / "cvsr_test_asan"


def test_reader_under_asan(clips, tmp_path):
    if not EXE.exists():
        pytest.skip("cvsr_test_asan not built: the compiler has no AddressSanitizer runtime")
    cases = [
        ("ok", clips.get("low_delay")),
        ("ok", clips.get("random_access")),
        ("ok", clips.get("odd_size")),
        ("ok", clips.get("slices")),
        ("ok", clips.get("yuv422p")),
        ("ENOENT", tmp_path / "missing.mp4"),
        ("INVALIDDATA", clips.get("text")),
        ("INVALIDDATA", clips.get("empty")),
        ("INVALIDDATA", clips.get("truncated")),
        ("ENOSYS", clips.get("ten_bit")),
        ("ENOSYS", clips.get("interlaced")),
        ("any", clips.get("truncated_faststart")),
        ("any", clips.get("corrupt")),
        ("any", clips.get("garbage_h264")),
    ]
    cases += [("ok", clips.get("hevc")), ("ok-noinfo", clips.get("hevc_ten_bit"))]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1")
    proc = subprocess.run([str(EXE), *(f"{e}:{p}" for e, p in cases)], capture_output=True, text=True,
                          timeout=300, env=env)
    report = proc.stdout + proc.stderr[-4000:]
    if "LeakSanitizer has encountered a fatal error" in proc.stderr:
        env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
        proc = subprocess.run([str(EXE), *(f"{e}:{p}" for e, p in cases)], capture_output=True, text=True,
                              timeout=300, env=env)
        report = proc.stdout + proc.stderr[-4000:]
    assert proc.returncode == 0, report
    assert "ERROR: AddressSanitizer" not in proc.stderr, report
    assert proc.stdout.count("PASS") >= len(cases) + 1, report
