#!/usr/bin/env bash
# Make SRC a git work tree of the pristine FFmpeg source in UPSTREAM with the
# patches listed in PATCH_DIR/series applied (git am).  Re-applies only when the
# series changed, and only rewrites the files that differ, so that a patch change
# rebuilds just what it touches.
# Usage: apply_patches.sh UPSTREAM SRC PATCH_DIR
set -euo pipefail
upstream=${1:?usage: apply_patches.sh UPSTREAM SRC PATCH_DIR}
src=${2:?}
patches=${3:?}
tag=cvsr-upstream
git_q() { git -C "$src" -c user.name=cvsr -c user.email=cvsr@localhost -c commit.gpgsign=false "$@"; }

if [ ! -d "$src/.git" ]; then
    rm -rf "$src"
    cp -a "$upstream" "$src"
    git_q init -q
    git_q add -A
    git_q commit -q -m "FFmpeg upstream (Debian trixie orig tarball)"
    git_q tag "$tag"
fi

series_hash=$(cd "$patches" && cat series $(grep -v '^\s*#' series | grep -v '^\s*$') 2>/dev/null | sha256sum | cut -c1-16)
stamp="$src/.git/cvsr-series-hash"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$series_hash" ]; then
    exit 0
fi

if [ -n "$(git_q status --porcelain --untracked-files=no)" ]; then
    echo "apply_patches: $src has uncommitted changes; commit them and run scripts/export_patches.sh, or discard them" >&2
    exit 1
fi
git_q reset -q --hard "$tag"
while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    if [ ! -f "$patches/$p" ]; then
        echo "apply_patches: $patches/series names $p, which does not exist" >&2
        exit 1
    fi
    if ! git_q am -q --keep-cr "$patches/$p" >/dev/null 2>&1; then
        git_q am --abort >/dev/null 2>&1 || true
        echo "apply_patches: patch $p does not apply to FFmpeg $(cat "$src/VERSION" 2>/dev/null || echo '?'); rebase it on the $tag tag in $src" >&2
        exit 1
    fi
done < "$patches/series"
echo "$series_hash" > "$stamp"
echo "apply_patches: applied $(grep -cv '^\s*\(#\|$\)' "$patches/series" || true) patch(es)"
