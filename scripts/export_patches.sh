#!/usr/bin/env bash
# Write the commits made in the FFmpeg work tree (build/ffmpeg-src by default)
# on top of the upstream tag back into ffmpeg_patches/ as numbered
# git format-patch files plus the series file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$root/build/ffmpeg-src}
out=$root/ffmpeg_patches
rm -f "$out"/[0-9][0-9][0-9][0-9]-*.patch
git -C "$src" format-patch -q --no-signature --zero-commit --no-numbered -o "$out" cvsr-upstream..HEAD
(cd "$out" && ls [0-9][0-9][0-9][0-9]-*.patch > series 2>/dev/null || : > series)
series_hash=$(cd "$out" && cat series $(grep -v '^\s*#' series | grep -v '^\s*$') 2>/dev/null | sha256sum | cut -c1-16)
echo "$series_hash" > "$src/.git/cvsr-series-hash"
echo "export_patches: $(wc -l < "$out/series") patch(es) in $out"
