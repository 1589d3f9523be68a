#!/usr/bin/env bash
# Fetch FFmpeg 7.1 from Debian's trixie source package and unpack the pristine
# upstream tarball into DEST (Debian's own patches are not applied).
# Usage: fetch_ffmpeg.sh DEST_DIR
set -euo pipefail
dest=${1:?usage: fetch_ffmpeg.sh DEST_DIR}
if [ -f "$dest/configure" ]; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

list=/etc/apt/sources.list.d/cvsr-trixie-src.sources
if ! grep -rqs "trixie" /etc/apt/sources.list /etc/apt/sources.list.d/ \
   || ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ "$(id -u)" != 0 ]; then
        echo "fetch_ffmpeg: need a deb-src entry for trixie main (run as root once, or set FFMPEG_SOURCE_DIR)" >&2
        exit 1
    fi
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
    apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
fi
(cd "$work" && apt-get source --download-only -qq ffmpeg/trixie)
tarball=$(ls "$work"/ffmpeg_7.1*.orig.tar.xz 2>/dev/null | head -n1)
if [ -z "$tarball" ]; then
    echo "fetch_ffmpeg: no FFmpeg 7.1 orig tarball in trixie's source package" >&2
    ls "$work" >&2
    exit 1
fi
mkdir -p "$dest.tmp"
tar -xJf "$tarball" -C "$dest.tmp" --strip-components=1
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "fetch_ffmpeg: unpacked $(basename "$tarball") into $dest"
