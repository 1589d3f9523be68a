"""LeakSanitizer over whole runs: ``ffmpeg -vf cvsr`` (the bridge and the embedded Python host) and
``cvsr.open`` (the shim) in a Python process.

Neither binary is instrumented: gcc's standalone LeakSanitizer runtime is preloaded, so it sees every
malloc of the process (FFmpeg, vf_cvsr, the bridge, the shim, CPython with ``PYTHONMALLOC=malloc`` so that
objects do not hide in pymalloc's arenas) and, at exit, reports blocks nothing points to any more.

Known leaks of third-party code are suppressed in ``lsan.supp`` next to this file, each with its reason;
anything else fails.  The model runs with ``backend=torch``: OpenVINO's bundled hwloc frees memory
through glibc that the preloaded runtime allocated (an abort at startup that has nothing to do with
cvsr); the bridge and the shim are the same code with either backend.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _clips import ffmpeg_path

HERE = Path(__file__).resolve().parent
SUPPRESSIONS = HERE / "lsan.supp"


def lsan_runtime() -> str | None:
    out = subprocess.run(["gcc", "-print-file-name=liblsan.so"], capture_output=True, text=True).stdout.strip()
    return out if out and os.path.isabs(out) and os.path.exists(out) else None


def run_under_lsan(cmd: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, str]:
    runtime = lsan_runtime()
    assert runtime, "gcc's LeakSanitizer runtime (liblsan, with gcc) is missing: run ./setup.sh"
    log = tmp_path / "lsan"
    env = dict(os.environ, LD_PRELOAD=runtime, PYTHONMALLOC="malloc",
               # the DWARF unwinder: the interpreter and extension modules have no frame pointers, and
               # ten frames name the code that allocated (the suppressions match on them)
               LSAN_OPTIONS=f"exitcode=23:fast_unwind_on_malloc=0:malloc_context_size=10:suppressions={SUPPRESSIONS}:print_suppressions=1:log_path={log}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    reports = "".join(p.read_text() for p in sorted(tmp_path.glob("lsan.*")))
    if "LeakSanitizer has encountered a fatal error" in reports + proc.stderr:
        pytest.skip("LeakSanitizer cannot run here (ptrace, e.g. under a debugger or strace)")
    return proc, reports


def suppressed_bytes(reports: str) -> int:
    """Bytes the suppressions matched (their table, printed with print_suppressions=1)."""
    return sum(int(n) for n in re.findall(r"^\s*\d+\s+(\d+)\s+leak:", reports, re.M))


@pytest.mark.parametrize("recipe", ["random_access", "hevc"])
def test_filter_run_is_leak_free(clips, tmp_path, recipe):
    """A whole ffmpeg -vf cvsr run: filter init, every frame through the bridge, flush, close."""
    ffmpeg = ffmpeg_path()
    assert ffmpeg, "the project's ffmpeg is not built: run ./setup.sh"
    clip = clips.get(recipe)
    proc, reports = run_under_lsan([ffmpeg, "-nostdin", "-v", "error", "-i", str(clip),
                                    "-vf", "cvsr=model=ciaf-lite:backend=torch:sparse=on",
                                    "-f", "framemd5", "-"], tmp_path)
    assert "ERROR: LeakSanitizer" not in reports, reports[-6000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("\n0,") >= 10, proc.stdout[-2000:]        # the frames went through
    # what the suppressions hide is a one-off at model load, not per frame
    assert suppressed_bytes(reports) < 4096, reports[-3000:]


def test_reader_run_is_leak_free(clips, tmp_path):
    """The shim (libcvsr) from Python: several files read to the end, one closed early, one failing to open."""
    paths = [clips.get(r) for r in ("random_access", "slices", "hevc", "corrupt")]
    # All in a function: CPython 3.11 keeps a reference to an exception handled at module level (or the
    # StopIteration ending a for loop there) in its frame's value stack, memory LeakSanitizer does not
    # scan, and reports the object (one, ~180 bytes, with any Python exception class).
    script = (
        "import sys, cvsr\n"
        "from cvsr.codec import CodecError\n"
        "def main():\n"
        "    n = 0\n"
        "    for p in sys.argv[2:]:\n"
        "        with cvsr.open(p, rgb=p.endswith('slices.mp4')) as r:\n"
        "            for f in r:\n"
        "                n += f.codec_info is not None\n"
        "    with cvsr.open(sys.argv[2]) as r:\n"
        "        next(iter(r))\n"
        "    try:\n"
        "        cvsr.open(sys.argv[1])\n"
        "    except CodecError:\n"
        "        pass\n"
        "    print('frames', n, flush=True)\n"
        "main()\n"
        # check now, with the interpreter whole: what its finalization frees half-way is not ours
        # (held in a global: the check's own call would be on the value stack too)
        "import ctypes\n"
        "check = ctypes.CDLL(None).__lsan_do_leak_check\n"
        "check()\n")
    proc, reports = run_under_lsan([sys.executable, "-c", script, str(tmp_path / "missing.mp4"),
                                    *map(str, paths)], tmp_path)
    assert "ERROR: LeakSanitizer" not in reports, reports[-6000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) >= 40, proc.stdout
