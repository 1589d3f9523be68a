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
# Codec: FUZZ_CODEC=h264 (default; as above) or hevc: the HEVC decoder with
# its export (libavcodec/hevc/codec_info.c), tools/target_dec_hevc_fuzzer,
# corpus build/fuzz/corpus-hevc (seeds tests/fuzz/corpus/hevc), saved as
# tests/fuzz/corpus-hevc.tar.xz, reproducers in build/fuzz/crashes-hevc/.
# Both fuzzers are built in the one build folder, whichever codec is chosen.
#
# Environment: FUZZ_JOBS (make jobs, default 2), FUZZ_NICE (default 10),
# FUZZ_MAX_LEN (default 8192), FUZZ_ARGS (more libFuzzer options),
# FUZZ_CORPUS (corpus folder, default build/fuzz/corpus, for hevc
# build/fuzz/corpus-hevc), FUZZ_CRASHES (default build/fuzz/crashes, for hevc
# build/fuzz/crashes-hevc); for experiments such as the mutation check
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

codec=${FUZZ_CODEC:-h264}
fuzz=$root/build/fuzz
case "$codec" in
    # export: the file of the codec info export (coverage); suffix: of the
    # folders and files of this codec in build/fuzz (none for h264, as before)
    h264) export_src=libavcodec/h264_codec_info.c suffix= ;;
    hevc) export_src=libavcodec/hevc/codec_info.c suffix=-hevc ;;
    *) echo "fuzz.sh: FUZZ_CODEC must be h264 or hevc" >&2; exit 2 ;;
esac
fuzzers=(tools/target_dec_h264_fuzzer tools/target_dec_hevc_fuzzer)

src=$(readlink -m "${FUZZ_SRC:-$root/build/ffmpeg-src}")
upstream=$root/build/ffmpeg-upstream
obj=$(readlink -m "${FUZZ_BUILD:-$fuzz/obj}")
bin=$obj/tools/target_dec_${codec}_fuzzer
corpus=$(readlink -m "${FUZZ_CORPUS:-$fuzz/corpus$suffix}")
seeds=$root/tests/fuzz/corpus/$codec
saved=$root/tests/fuzz/corpus-$codec.tar.xz
dict=$root/tests/fuzz/$codec.dict
crashes=$(readlink -m "${FUZZ_CRASHES:-$fuzz/crashes$suffix}")
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

# build DIR "CFLAGS" "LDFLAGS": configure (when needed) and make both fuzzers in DIR
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
        --enable-decoder=h264,hevc --enable-parser=h264,hevc
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
    if ! nice -n "$nice_n" make -s -C "$dir" -j"$jobs" "${fuzzers[@]}" > "$dir/make.out" 2>&1; then
        tail -30 "$dir/make.out" >&2
        echo "fuzz.sh: build failed, see $dir/make.out" >&2
        exit 1
    fi
    echo "fuzz.sh: $dir/tools/target_dec_{h264,hevc}_fuzzer up to date ($(( $(date +%s) - t0 )) s)"
}

if [ "$mode" = coverage ]; then
    # source-based coverage, no sanitizers: every line and branch, inlined
    # functions included
    cov=$fuzz/cov
    build "$cov" "-fprofile-instr-generate -fcoverage-mapping -gline-tables-only" \
          "-fprofile-instr-generate"
    [ -d "$corpus" ] || { echo "fuzz.sh: no corpus in $corpus" >&2; exit 1; }
    covbin=$cov/tools/target_dec_${codec}_fuzzer
    rm -f "$cov"/corpus$suffix.profraw "$cov"/seeds$suffix.profraw "$cov"/regression$suffix-*.profraw
    echo "fuzz.sh: running $(ls "$corpus" | wc -l) corpus files and the regressions once"
    LLVM_PROFILE_FILE="$cov/corpus$suffix.profraw" nice -n "$nice_n" "$covbin" \
        -runs=0 -timeout=60 "$corpus" > "$cov/run$suffix.log" 2>&1 || true
    # each regression in a process of its own: one that still crashes (not
    # fixed yet) writes no profile, and only its own is missing
    failed=0
    for r in "$root"/tests/fuzz/regressions/*; do
        [ -f "$r" ] && [ "${r%.md}" = "$r" ] || continue
        LLVM_PROFILE_FILE="$cov/regression$suffix-%p.profraw" nice -n "$nice_n" "$covbin" \
            -timeout=60 "$r" >> "$cov/run$suffix.log" 2>&1 || failed=$((failed + 1))
    done
    [ "$failed" = 0 ] || echo "fuzz.sh: $failed regression(s) crashed, their coverage is not counted ($cov/run$suffix.log)"
    LLVM_PROFILE_FILE="$cov/seeds$suffix.profraw" nice -n "$nice_n" "$covbin" \
        -runs=0 -timeout=60 "$seeds" > "$cov/seeds$suffix.log" 2>&1 || true
    shopt -s nullglob
    profiles=("$cov/corpus$suffix.profraw" "$cov"/regression$suffix-*.profraw)
    shopt -u nullglob
    "$llvm_bin/llvm-profdata" merge -sparse "${profiles[@]}" -o "$cov/corpus$suffix.profdata"
    "$llvm_bin/llvm-profdata" merge -sparse "$cov/seeds$suffix.profraw" -o "$cov/seeds$suffix.profdata"
    files=("$cov/src/$export_src" "$cov/src/tools/target_dec_fuzzer.c")
    pattern=${export_src#libavcodec/}
    echo "fuzz.sh: seeds only (tests/fuzz/corpus/$codec):"
    "$llvm_bin/llvm-cov" report "$covbin" -instr-profile="$cov/seeds$suffix.profdata" \
        "${files[0]}" | sed -n "/^Filename/p;\\|$pattern|p"
    echo "fuzz.sh: corpus ($corpus) + regressions:"
    "$llvm_bin/llvm-cov" report "$covbin" -instr-profile="$cov/corpus$suffix.profdata" \
        "${files[@]}" | sed -n "/^Filename/p;\\|$pattern|p;/target_dec_fuzzer/p"
    "$llvm_bin/llvm-cov" report "$covbin" -instr-profile="$cov/corpus$suffix.profdata" \
        -show-functions "${files[0]}" > "$cov/functions$suffix.txt"
    "$llvm_bin/llvm-cov" show "$covbin" -instr-profile="$cov/corpus$suffix.profdata" \
        -show-line-counts-or-regions "${files[@]}" > "$cov/lines$suffix.txt"
    echo "fuzz.sh: per function: $cov/functions$suffix.txt, per line: $cov/lines$suffix.txt"
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
        "$corpus.merged" "$corpus" > "$fuzz/merge$suffix.log" 2>&1
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
cp -n "$seeds"/* "$corpus"/
# what earlier sessions found (scripts/fuzz.sh merge saves it)
[ -f "$saved" ] && tar -C "$corpus" --skip-old-files -xJf "$saved"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$logs/$stamp$suffix.log
before=$(ls "$crashes" | wc -l)
corpus_before=$(ls "$corpus" | wc -l)

dict_arg=()
[ -f "$dict" ] && dict_arg=(-dict="$dict")

echo "fuzz.sh: fuzzing $codec for $seconds s (log: $log)"
t0=$(date +%s)
set +e
# the fuzzer prints a line per input ("pixels decoded: ..."): left out of the log
nice -n "$nice_n" "$bin" -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-8192}" \
    -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 -print_coverage=1 \
    ${dict_arg[@]+"${dict_arg[@]}"} -artifact_prefix="$crashes/" \
    ${FUZZ_ARGS:-} "$corpus" "$root/tests/fuzz/regressions" 2>&1 | grep -v '^pixels decoded: ' > "$log"
rc=${PIPESTATUS[0]}
set -e
wall=$(( $(date +%s) - t0 ))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
if [ -z "$execs" ]; then
    # no final statistics (FUZZ_ARGS=-fork=N prints none): the last status
    # line ("#N ..." / "#N: ..."), and the rate over the whole run
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
    rate=$(( ${execs:-0} / (wall > 0 ? wall : 1) ))
fi
execs=${execs:-0}
rate=${rate:-0}
found=$(( $(ls "$crashes" | wc -l) - before ))
[ "$rc" != 0 ] && [ "$found" = 0 ] && found=1
new_units=$(( $(ls "$corpus" | wc -l) - corpus_before ))

# functions of the export file that libFuzzer's coverage saw (those not
# inlined away); `fuzz.sh coverage` gives lines and branches
covered=$fuzz/coverage_codec_info$suffix.txt
grep -E "^(UN)?COVERED_FUNC: .*${export_src//./\\.}:" "$log" > "$covered" || true
cov_funcs=$(grep -c '^COVERED_FUNC' "$covered" || true)
all_funcs=$(wc -l < "$covered")

# one line per run; codec last (a line without it, from a fuzz.sh before the
# codec column, is h264 and gets it here)
runs=$root/docs/fuzzing_runs.tsv
if [ -z "${FUZZ_NO_LOG:-}" ]; then
    if [ ! -f "$runs" ]; then
        printf 'date\twall_s\texecutions\texec_per_s\tcrashes\tnew_units\tseries\tcodec\n' > "$runs"
    elif awk -F'\t' 'NR > 1 && NF == 7 { found = 1 } END { exit !found }' "$runs"; then
        awk -F'\t' -v OFS='\t' 'NR > 1 && NF == 7 { $8 = "h264" } 1' "$runs" > "$runs.tmp" && mv "$runs.tmp" "$runs"
    fi
    series=$(cat "$src/.git/cvsr-series-hash" 2>/dev/null || echo '?')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$wall" "$execs" "$rate" "$found" "$new_units" "$series" \
        "$codec" >> "$runs"
fi
totals=$(awk -F'\t' 'NR > 1 { c = $8 == "" ? "h264" : $8; s[c] += $3 }
                     END { for (c in s) printf "%s%s %d", n++ ? ", " : "", c, s[c] }' "$runs" 2>/dev/null || true)

echo "fuzz.sh: $wall s, executions $execs, $rate exec/s, new corpus units $new_units (corpus: $(ls "$corpus" | wc -l) files)"
if [ "$all_funcs" -gt 0 ]; then
    echo "fuzz.sh: export functions covered (${export_src#libavcodec/}, not inlined): $cov_funcs/$all_funcs ($covered)"
else
    echo "fuzz.sh: export functions covered: not reported by libFuzzer (-fork mode); see fuzz.sh coverage"
fi
echo "fuzz.sh: total executions over all runs, per codec: ${totals:-none} (docs/fuzzing_runs.tsv)"
if [ "$found" != 0 ]; then
    echo "fuzz.sh: $found crash(es) found (libFuzzer exit $rc), reproducers in $crashes:" >&2
    ls -t "$crashes" | head -n "$found" >&2
    grep -m1 -E 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error|AV_FRAME_DATA_CODEC_INFO:|ERROR: libFuzzer|SUMMARY' "$log" >&2 || true
    echo "fuzz.sh: reproduce with $bin CRASH_FILE" >&2
    exit 1
fi
echo "fuzz.sh: crashes: 0"
