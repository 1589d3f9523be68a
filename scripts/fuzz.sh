#!/usr/bin/env bash
# Coverage-guided fuzzing of the H.264 decoder with the codec info export:
# FFmpeg's tools/target_dec_fuzzer.c (libFuzzer), built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in build/fuzz.  docs/fuzzing.md.
#
# Usage: scripts/fuzz.sh SECONDS     build (incrementally), then fuzz for SECONDS
#        scripts/fuzz.sh 0           build only (setup.sh does this)
#        scripts/fuzz.sh merge       shrink build/fuzz/corpus to a minimal set with the same coverage and
#                                    save it as tests/fuzz/corpus-h264.tar.xz (commit it: the next session
#                                    starts from it)
#        scripts/fuzz.sh coverage    line coverage of the export (h264_codec_info.c) reached by the corpus,
#                                    with a source-based coverage build in build/fuzz/cov (llvm-cov)
#
# The FFmpeg source is build/ffmpeg-src (made by the CMake build: upstream +
# ffmpeg_patches/series); the series is re-applied here when it changed.
# configure runs only when a build folder has no configuration for the
# current configure script and flags; make rebuilds only what changed.
#
# Corpus: build/fuzz/corpus (the seeds of tests/fuzz/corpus/h264 + what the
# fuzzer finds); tests/fuzz/regressions is read as well.  Crash, leak,
# timeout and out-of-memory reproducers go to build/fuzz/crashes/, the run's
# log to build/fuzz/logs/.  Each run appends a line to docs/fuzzing_runs.tsv
# (the running total of executions).  Exits 1 if anything was found.
#
# Environment: FUZZ_JOBS (make jobs, default 2), FUZZ_NICE (default 10),
# FUZZ_MAX_LEN (default 8192), FUZZ_ARGS (more libFuzzer options),
# FUZZ_CORPUS (corpus folder, default build/fuzz/corpus), FUZZ_CRASHES
# (default build/fuzz/crashes); for experiments such as the mutation check
# (docs/fuzzing.md): FUZZ_SRC (an FFmpeg tree other than build/ffmpeg-src,
# used as it is), FUZZ_BUILD (default build/fuzz/obj), FUZZ_NO_LOG=1 (no line
# in docs/fuzzing_runs.tsv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: fuzz.sh SECONDS (0: build only) | merge | coverage}
case "$mode" in
    merge|coverage) ;;
    ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, or merge, or coverage" >&2; exit 2 ;;
esac

src=$(readlink -m "${FUZZ_SRC:-$root/build/ffmpeg-src}")
upstream=$root/build/ffmpeg-upstream
fuzz=$root/build/fuzz
obj=$(readlink -m "${FUZZ_BUILD:-$fuzz/obj}")
bin=$obj/tools/target_dec_h264_fuzzer
corpus=$(readlink -m "${FUZZ_CORPUS:-$fuzz/corpus}")
saved=$root/tests/fuzz/corpus-h264.tar.xz
crashes=$(readlink -m "${FUZZ_CRASHES:-$fuzz/crashes}")
nice_n=${FUZZ_NICE:-10}
jobs=${FUZZ_JOBS:-2}

if [ -z "${FUZZ_SRC:-}" ] && [ -d "$upstream" ]; then
    bash "$root/scripts/apply_patches.sh" "$upstream" "$src" "$root/ffmpeg_patches"
fi
if [ ! -f "$src/configure" ]; then
    echo "fuzz.sh: no FFmpeg source in $src; run setup.sh (or cmake --build build) first" >&2
    exit 1
fi

cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null; then
    echo "fuzz.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
libfuzzer=$("$cc" -print-file-name=libclang_rt.fuzzer-x86_64.a)
if [ ! -f "$libfuzzer" ]; then
    echo "fuzz.sh: libFuzzer not found (apt-get install libclang-rt-14-dev)" >&2
    exit 1
fi
llvm_bin=$(dirname "$(readlink -f "$(command -v "$cc")")")

# build DIR "CFLAGS" "LDFLAGS": configure (when needed) and make the fuzzer in DIR
build() {
    local dir=$1 cflags=$2 ldflags=$3 key old_flags t0
    local flags=(
        --cc="$cc" --cxx="${cc/clang/clang++}" --ld="$cc"
        --optflags=-O1
        --enable-ossfuzz --libfuzzer="$libfuzzer -lstdc++"
        --disable-debug --disable-stripping --disable-doc --disable-programs
        --disable-autodetect --enable-pthreads
        --disable-everything --disable-network
        --disable-avdevice --disable-avformat --disable-avfilter
        --disable-swscale --disable-swresample --disable-postproc
        --enable-decoder=h264 --enable-parser=h264
        # target_dec_fuzzer.c links ff_mjpeg_decoder for every decoder: its
        # "#if FFMPEG_DECODER == tiff" compares two undefined names (0 == 0)
        --enable-decoder=mjpeg
    )
    key=$({ "$cc" --version | head -1; echo "$cflags $ldflags"; printf '%s\n' "${flags[@]}"; sha256sum < "$src/configure"; } |
          sha256sum | cut -c1-16)
    t0=$(date +%s)
    mkdir -p "$dir"
    if [ ! -f "$dir/ffbuild/config.mak" ] || [ "$(cat "$dir/cvsr-fuzz-config" 2>/dev/null)" != "$key" ]; then
        echo "fuzz.sh: configuring $dir"
        rm -f "$dir/cvsr-fuzz-config"
        old_flags=$(grep -E '^(CC|CFLAGS|LDFLAGS|ASFLAGS)=' "$dir/ffbuild/config.mak" 2>/dev/null || true)
        # the instrumentation through the environment: configure starts from
        # it, and --enable-ossfuzz then adds no flags of its own (it would add
        # the old trace-pc-guard instrumentation, which this libFuzzer
        # rejects) and keeps the frame pointer
        if ! (cd "$dir" && CFLAGS="$cflags" LDFLAGS="$ldflags" \
              nice -n "$nice_n" "$src/configure" "${flags[@]}" > configure.out 2>&1); then
            tail -20 "$dir/configure.out" >&2
            echo "fuzz.sh: configure failed, see $dir/ffbuild/config.log" >&2
            exit 1
        fi
        # objects do not depend on the flags: start over when they changed
        if [ -n "$old_flags" ] && [ "$old_flags" != "$(grep -E '^(CC|CFLAGS|LDFLAGS|ASFLAGS)=' "$dir/ffbuild/config.mak")" ]; then
            make -s -C "$dir" clean > /dev/null
        fi
        mkdir -p "$dir/tools"
        echo "$key" > "$dir/cvsr-fuzz-config"
    fi
    if ! nice -n "$nice_n" make -s -C "$dir" -j"$jobs" tools/target_dec_h264_fuzzer > "$dir/make.out" 2>&1; then
        tail -30 "$dir/make.out" >&2
        echo "fuzz.sh: build failed, see $dir/make.out" >&2
        exit 1
    fi
    echo "fuzz.sh: $dir/tools/target_dec_h264_fuzzer up to date ($(( $(date +%s) - t0 )) s)"
}

if [ "$mode" = coverage ]; then
    # source-based coverage, no sanitizers: every line and branch, inlined
    # functions included
    cov=$fuzz/cov
    build "$cov" "-fprofile-instr-generate -fcoverage-mapping -gline-tables-only" \
          "-fprofile-instr-generate"
    [ -d "$corpus" ] || { echo "fuzz.sh: no corpus in $corpus" >&2; exit 1; }
    rm -f "$cov"/*.profraw
    echo "fuzz.sh: running $(ls "$corpus" | wc -l) corpus files and the regressions once"
    LLVM_PROFILE_FILE="$cov/corpus.profraw" nice -n "$nice_n" "$cov/tools/target_dec_h264_fuzzer" \
        -runs=0 -timeout=60 "$corpus" "$root/tests/fuzz/regressions" > "$cov/run.log" 2>&1 || true
    LLVM_PROFILE_FILE="$cov/seeds.profraw" nice -n "$nice_n" "$cov/tools/target_dec_h264_fuzzer" \
        -runs=0 -timeout=60 "$root/tests/fuzz/corpus/h264" > "$cov/seeds.log" 2>&1 || true
    for p in corpus seeds; do
        "$llvm_bin/llvm-profdata" merge -sparse "$cov/$p.profraw" -o "$cov/$p.profdata"
    done
    files=("$cov/src/libavcodec/h264_codec_info.c" "$cov/src/tools/target_dec_fuzzer.c")
    echo "fuzz.sh: seeds only (tests/fuzz/corpus/h264):"
    "$llvm_bin/llvm-cov" report "$cov/tools/target_dec_h264_fuzzer" -instr-profile="$cov/seeds.profdata" \
        "${files[0]}" | sed -n '/^Filename/p;/h264_codec_info/p'
    echo "fuzz.sh: corpus ($corpus) + regressions:"
    "$llvm_bin/llvm-cov" report "$cov/tools/target_dec_h264_fuzzer" -instr-profile="$cov/corpus.profdata" \
        "${files[@]}" | sed -n '/^Filename/p;/h264_codec_info\|target_dec_fuzzer/p'
    "$llvm_bin/llvm-cov" report "$cov/tools/target_dec_h264_fuzzer" -instr-profile="$cov/corpus.profdata" \
        -show-functions "${files[0]}" > "$cov/functions.txt"
    "$llvm_bin/llvm-cov" show "$cov/tools/target_dec_h264_fuzzer" -instr-profile="$cov/corpus.profdata" \
        -show-line-counts-or-regions "${files[@]}" > "$cov/lines.txt"
    echo "fuzz.sh: per function: $cov/functions.txt, per line: $cov/lines.txt"
    exit 0
fi

# UBSan as OSS-Fuzz runs it on FFmpeg (no alignment, pointer-overflow or
# float-cast-overflow checks), every report fatal.
sanitize="-fsanitize=address,undefined -fno-sanitize=alignment,pointer-overflow,float-cast-overflow -fno-sanitize-recover=all"
build "$obj" "$sanitize -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -gline-tables-only" "$sanitize"
[ "$mode" = 0 ] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$llvm_bin/llvm-symbolizer}

if [ "$mode" = merge ]; then
    [ -d "$corpus" ] || { echo "fuzz.sh: no corpus in $corpus" >&2; exit 1; }
    rm -rf "$corpus.merged"
    mkdir "$corpus.merged"
    nice -n "$nice_n" "$bin" -merge=1 -timeout=60 -max_len="${FUZZ_MAX_LEN:-8192}" \
        "$corpus.merged" "$corpus" > "$fuzz/merge.log" 2>&1
    echo "fuzz.sh: corpus merged: $(ls "$corpus" | wc -l) -> $(ls "$corpus.merged" | wc -l) files"
    rm -rf "$corpus"
    mv "$corpus.merged" "$corpus"
    # the state a next session continues from (committed; small: the inputs compress well)
    tar -C "$corpus" -cf - . | xz -6 > "$saved.tmp" && mv "$saved.tmp" "$saved"
    echo "fuzz.sh: saved the corpus as $saved ($(du -h "$saved" | cut -f1))"
    exit 0
fi

seconds=$mode
logs=$fuzz/logs
mkdir -p "$corpus" "$crashes" "$logs"
cp -n "$root"/tests/fuzz/corpus/h264/* "$corpus"/
# what earlier sessions found (scripts/fuzz.sh merge saves it)
[ -f "$saved" ] && tar -C "$corpus" --skip-old-files -xJf "$saved"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$logs/$stamp.log
before=$(ls "$crashes" | wc -l)
corpus_before=$(ls "$corpus" | wc -l)

echo "fuzz.sh: fuzzing for $seconds s (log: $log)"
t0=$(date +%s)
set +e
# the fuzzer prints a line per input ("pixels decoded: ..."): left out of the log
nice -n "$nice_n" "$bin" -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-8192}" \
    -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 -print_coverage=1 \
    -dict="$root/tests/fuzz/h264.dict" -artifact_prefix="$crashes/" \
    ${FUZZ_ARGS:-} "$corpus" "$root/tests/fuzz/regressions" 2>&1 | grep -v '^pixels decoded: ' > "$log"
rc=${PIPESTATUS[0]}
set -e
wall=$(( $(date +%s) - t0 ))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
if [ -z "$execs" ]; then
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
fi
execs=${execs:-0}
rate=${rate:-0}
found=$(( $(ls "$crashes" | wc -l) - before ))
[ "$rc" != 0 ] && [ "$found" = 0 ] && found=1
new_units=$(( $(ls "$corpus" | wc -l) - corpus_before ))

# functions of the export file that libFuzzer's coverage saw (those not
# inlined away); `fuzz.sh coverage` gives lines and branches
grep -E '^(UN)?COVERED_FUNC: .*h264_codec_info\.c' "$log" > "$fuzz/coverage_codec_info.txt" || true
cov_funcs=$(grep -c '^COVERED_FUNC' "$fuzz/coverage_codec_info.txt" || true)
all_funcs=$(wc -l < "$fuzz/coverage_codec_info.txt")

runs=$root/docs/fuzzing_runs.tsv
if [ -z "${FUZZ_NO_LOG:-}" ]; then
    if [ ! -f "$runs" ]; then
        printf 'date\twall_s\texecutions\texec_per_s\tcrashes\tnew_units\tseries\n' > "$runs"
    fi
    series=$(cat "$src/.git/cvsr-series-hash" 2>/dev/null || echo '?')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$wall" "$execs" "$rate" "$found" "$new_units" "$series" >> "$runs"
fi
total=$(awk -F'\t' 'NR > 1 { s += $3 } END { print s + 0 }' "$runs" 2>/dev/null || echo 0)

echo "fuzz.sh: $wall s, executions $execs, $rate exec/s, new corpus units $new_units (corpus: $(ls "$corpus" | wc -l) files)"
echo "fuzz.sh: export functions covered (h264_codec_info.c, not inlined): $cov_funcs/$all_funcs ($fuzz/coverage_codec_info.txt)"
echo "fuzz.sh: total executions over all runs: $total (docs/fuzzing_runs.tsv)"
if [ "$found" != 0 ]; then
    echo "fuzz.sh: $found crash(es) found (libFuzzer exit $rc), reproducers in $crashes:" >&2
    ls -t "$crashes" | head -n "$found" >&2
    grep -m1 -E 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error|AV_FRAME_DATA_CODEC_INFO:|ERROR: libFuzzer|SUMMARY' "$log" >&2 || true
    echo "fuzz.sh: reproduce with $bin CRASH_FILE" >&2
    exit 1
fi
echo "fuzz.sh: crashes: 0"
