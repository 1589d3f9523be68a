"""Replay the fuzzing seeds and the reproducers of fixed crashes through the sanitizer builds of FFmpeg's
tools/target_dec_fuzzer.c (H.264 and HEVC with the codec info export, ASan + UBSan; both built by setup.sh
through scripts/fuzz.sh 0, docs/fuzzing.md).  The fuzzer also checks the invariants of every exported
AV_FRAME_DATA_CODEC_INFO (offsets, residual index, ref_idx range, ...) and aborts on a violation."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CODECS = ("h264", "hevc")
REGRESSIONS = REPO / "tests" / "fuzz" / "regressions"
REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "AV_FRAME_DATA_CODEC_INFO:",
           "ERROR: libFuzzer", "deadly signal")
# inputs of the saved corpus (scripts/fuzz.sh merge) there must be at least
MIN_SAVED = {"h264": 1000, "hevc": 100}


def _fuzzer(codec):
    return REPO / "build" / "fuzz" / "obj" / "tools" / f"target_dec_{codec}_fuzzer"


def _seeds(codec):
    return REPO / "tests" / "fuzz" / "corpus" / codec


def _need_fuzzer(codec):
    if not _fuzzer(codec).exists():
        pytest.fail("the fuzzer is not built: run ./setup.sh (or scripts/fuzz.sh 0; needs clang and libclang-rt-14-dev)")


def _inputs(codec):
    """The codec's seeds, and every reproducer (each fuzzer replays all of them: an input of the other codec is
    just data the decoder rejects)."""
    files = sorted(_seeds(codec).iterdir())
    if REGRESSIONS.is_dir():
        files += sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.suffix != ".md")
    return files


def _replay(codec, files, leaks=True):
    env = dict(os.environ,
               ASAN_OPTIONS=f"detect_leaks={int(leaks)}:halt_on_error=1:allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    # -runs=2: every input twice (the threaded ones interleave differently)
    return subprocess.run([str(_fuzzer(codec)), "-runs=2", "-timeout=60", "-rss_limit_mb=2560", *map(str, files)],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize("codec", CODECS)
def test_seed_corpus_is_small(codec):
    seeds = list(_seeds(codec).iterdir())
    assert len(seeds) >= 20
    assert all(p.stat().st_size <= 8192 for p in seeds)  # scripts/fuzz.sh -max_len
    # the generated seeds (scripts/make_fuzz_corpus.py) carry the fuzzer's 1024-byte flag trailer
    assert all(p.stat().st_size > 1024 for p in seeds if p.suffix == ".fuzz")


@pytest.mark.parametrize("codec", CODECS)
def test_fuzzer_replays_seeds_and_regressions(codec):
    _need_fuzzer(codec)
    files = _inputs(codec)
    proc = _replay(codec, files)
    if "LeakSanitizer has encountered a fatal error" in proc.stderr:  # LSan cannot run under ptrace
        proc = _replay(codec, files, leaks=False)
    report = proc.stderr[-6000:]
    assert proc.returncode == 0, report
    for marker in REPORTS:
        assert marker not in proc.stderr, report
    for f in files:
        assert f"Executed {f} in" in proc.stderr, report


@pytest.mark.parametrize("codec", CODECS)
def test_fuzzer_replays_the_saved_corpus(codec, tmp_path):
    """What earlier fuzzing sessions found (tests/fuzz/corpus-CODEC.tar.xz, saved by scripts/fuzz.sh merge): every
    8th input (by name; H.264 ~550, all of them take ~90 s here, and every scripts/fuzz.sh run loads all of
    them), once each."""
    saved = REPO / "tests" / "fuzz" / f"corpus-{codec}.tar.xz"
    # both corpora are committed: a missing one is a packaging mistake, not a reason to skip
    assert saved.exists(), f"no saved corpus {saved.name} (FUZZ_CODEC={codec} scripts/fuzz.sh merge makes it)"
    _need_fuzzer(codec)
    subprocess.run(["tar", "-C", str(tmp_path), "-xJf", str(saved)], check=True, timeout=120)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    files = sorted(tmp_path.iterdir())
    assert len(files) > MIN_SAVED[codec]
    proc = subprocess.run([str(_fuzzer(codec)), "-runs=1", "-timeout=60", "-rss_limit_mb=2560",
                           *map(str, files[::8])], capture_output=True, text=True, timeout=900, env=env)
    report = proc.stderr[-6000:]
    assert proc.returncode == 0, report
    for marker in REPORTS:
        assert marker not in proc.stderr, report
