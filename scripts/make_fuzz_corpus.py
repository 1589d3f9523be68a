#!/usr/bin/env python3
"""Regenerate the fuzzing seed corpus tests/fuzz/corpus/h264/ (or, with --codec hevc, tests/fuzz/corpus/hevc/).

Tiny Annex-B H.264 streams encoded by the project's ffmpeg (libx264), or HEVC
streams (libx265), from synthetic frames (a textured picture panning, with a
moving square; fading for weighted prediction), each in the input format of
FFmpeg's tools/target_dec_fuzzer.c:

    access unit 0, "FUZZ-TAG", access unit 1, "FUZZ-TAG", ..., "FUZZ-TAG", trailer

The fuzzer sends what lies between the tags as one packet each, and reads its
flags from the last 1024 bytes (the trailer, which it then also sends as the
last packet: a packet without a start code, rejected at once).  The trailer
picks the threading (single, frame or slice threads), the parser, the
upstream motion vector export, C-only DSP, flushes, skip_frame; the codec
info export is on (the fuzzer turns it off only when flags64 has bits 0x20
and 0x40 both set).  x264's version SEI (~700 bytes) and x265's (~2,300
bytes) are dropped to keep the seeds small.

The h264 folder also holds inputs the fuzzer found (found-*.bin, kept by this
script): found-concealment.bin (error concealment of inter macroblocks) and
found-refmap.bin (slices of one picture with different reference lists),
paths the encoded seeds do not reach, so that the CI replay
(tests/native/test_fuzz_replay.py) exercises them (docs/fuzzing.md).

Usage: .venv/bin/python scripts/make_fuzz_corpus.py [--codec h264|hevc] [--ffmpeg .venv/bin/ffmpeg] [--out DIR]
"""
from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FUZZ_TAG = b"FUZZ-TAG"
MAX_SEED = 8192  # scripts/fuzz.sh runs libFuzzer with -max_len=8192

# flags64 bits of the fuzzer (tools/target_dec_fuzzer.c, patched)
F64_ENC_PARAMS = 0x8
F64_NO_CODEC_INFO = 0x60
F64_THREADS_2 = 0x80
F64_THREADS_3 = 0x180
F64_SLICE_THREADS = 0x200
# flags byte
F_PARSER = 0x1
F_CAREFUL = 0x4
F_EXPORT_MVS = 0x80
F_NO_SIMD = 0x40
# every encode runs under this (libx265 3.5 can hang on some parameters)
ENCODE_TIMEOUT = ["timeout", "-s", "KILL", "60"]

SINGLE = dict()
FRAME2 = dict(flags64=F64_THREADS_2)
FRAME3 = dict(flags64=F64_THREADS_3)
SLICE2 = dict(flags64=F64_THREADS_2 | F64_SLICE_THREADS)
SLICE3 = dict(flags64=F64_THREADS_3 | F64_SLICE_THREADS)


def trailer(flags=0, flags64=0, keyframes=0, flushpattern=(1 << 64) - 1, skip_frame=0):
    """The fuzzer's 1024-byte flag block (read in this order by target_dec_fuzzer.c)."""
    b = struct.pack("<IIqI", 0, 0, 0, 0)               # width, height, bit_rate, bits_per_coded_sample
    b += bytes([flags])
    b += struct.pack("<IIIII", 0, 0, 0, 0, 0)          # extradata_size, sample_rate, channels, block_align, codec_tag
    b += struct.pack("<QQ", keyframes, 0)              # keyframes, request_channel_layout
    b += bytes([0])                                    # idct_algo
    b += struct.pack("<Q", flushpattern)               # a flush before a packet whose 3 bits are 0
    b += bytes([(skip_frame + 254 - 48) & 0xFF])       # skip_frame = byte - 254 + AVDISCARD_ALL
    b += struct.pack("<Q", flags64)
    b += struct.pack("<I", 1)                          # workaround_bugs: FF_BUG_AUTODETECT
    return b + bytes(1024 - len(b))


def nal_units(stream: bytes):
    """Split Annex B into NAL units (without start codes)."""
    starts = []
    i = 0
    while True:
        i = stream.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        starts.append(i + 3)
        i += 3
    nals = []
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else len(stream)
        nal = stream[s:e]
        while nal.endswith(b"\x00"):
            nal = nal[:-1]
        nals.append(nal)
    return nals


def _h264_nal(nal: bytes) -> tuple[bool, bool, bool]:
    """(drop, vcl, starts an access unit after a picture) of an H.264 NAL unit."""
    t = nal[0] & 0x1F
    vcl = t in (1, 5)
    # SEI user_data_unregistered: x264's version string; first_mb_in_slice == 0 (ue(v) "1")
    return t == 6 and nal[1] == 5, vcl, t in (6, 7, 8, 9) or (vcl and bool(nal[1] & 0x80))


def _hevc_nal(nal: bytes) -> tuple[bool, bool, bool]:
    """(drop, vcl, starts an access unit after a picture) of an HEVC NAL unit."""
    t = nal[0] >> 1 & 0x3F
    vcl = t < 32
    # prefix SEI user_data_unregistered: x265's version and options.  A VPS, SPS, PPS, AUD or prefix SEI (or a
    # reserved type of these places), or first_slice_segment_in_pic_flag, after a picture starts the next one.
    starts = t in (32, 33, 34, 35, 39) or 41 <= t <= 44 or 48 <= t <= 55 or (vcl and bool(nal[2] & 0x80))
    return t == 39 and nal[2] == 5, vcl, starts


def access_units(stream: bytes, codec: str = "h264"):
    """Group NAL units into access units (Annex B, 4-byte start codes), drop the encoder's version SEI."""
    classify = _hevc_nal if codec == "hevc" else _h264_nal
    aus, cur, seen_vcl = [], [], False
    for nal in nal_units(stream):
        drop, vcl, starts = classify(nal)
        if drop:
            continue
        if seen_vcl and starts:
            aus.append(b"".join(b"\x00\x00\x00\x01" + n for n in cur))
            cur, seen_vcl = [], False
        cur.append(nal)
        seen_vcl = seen_vcl or vcl
    if cur:
        aus.append(b"".join(b"\x00\x00\x00\x01" + n for n in cur))
    return aus


def frames(w, h, n, fmt, fade=False, static=False, seed=1):
    """Planar 8-bit (or 10-bit) frames of a panning texture with a moving square."""
    rng = np.random.default_rng(seed)
    W, H = w + 64, h + 64
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    tex = 128 + 50 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 30 * np.sin((xx + yy) / 11.0)
    tex += rng.normal(0, 6, tex.shape)
    cu = 128 + 40 * np.cos(xx / 9.0)
    cv = 128 + 40 * np.sin(yy / 8.0)
    sub = {"yuv420p": (2, 2), "yuv420p10le": (2, 2), "yuv422p": (2, 1), "yuv444p": (1, 1), "gray": None}[fmt]
    out = bytearray()
    for t in range(n):
        dx, dy = (0, 0) if static else (int(3 * t) + 2, int(2 * t) + 1)
        gain = 1.0 - 0.12 * t if fade else 1.0
        planes = [tex[dy:dy + h, dx:dx + w] * gain]
        sq = 4 + 5 * t
        planes[0][sq % max(h - 8, 1):sq % max(h - 8, 1) + 8, (2 * sq) % max(w - 8, 1):(2 * sq) % max(w - 8, 1) + 8] = 235
        if sub:
            cw, ch = -(-w // sub[0]), -(-h // sub[1])
            for c in (cu, cv):
                planes.append(c[dy:dy + h:sub[1], dx:dx + w:sub[0]][:ch, :cw] * (0.5 + gain / 2))
        for p in planes:
            if fmt.endswith("10le"):
                out += np.clip(np.rint(p * 4), 0, 1023).astype("<u2").tobytes()
            else:
                out += np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes()
    return bytes(out)


# name, width, height, frames, pix_fmt, x264 options, content, trailers
STREAMS = [
    ("lowdelay", 48, 32, 5, "yuv420p", ["-bf", "0", "-refs", "2"], {}, [SINGLE, FRAME2]),
    ("bpyramid", 64, 48, 6, "yuv420p",
     ["-x264-params", "bframes=3:b-pyramid=normal:b-adapt=2:ref=3:direct=spatial"], {}, [SINGLE, FRAME3]),
    ("temporal", 48, 48, 5, "yuv420p", ["-x264-params", "bframes=2:b-pyramid=none:direct=temporal:ref=2"], {},
     [FRAME2, dict(flags=F_EXPORT_MVS, flags64=F64_ENC_PARAMS)]),
    ("slices", 64, 64, 4, "yuv420p", ["-x264-params", "slices=4:bframes=1:ref=2"], {}, [SLICE2, SLICE3, SINGLE]),
    ("cavlc", 48, 48, 4, "yuv420p", ["-x264-params", "cabac=0:bframes=2:slices=2:8x8dct=0"], {},
     [SINGLE, SLICE2]),
    ("dct8x8", 64, 48, 5, "yuv420p", ["-qp", "18", "-x264-params", "8x8dct=1:partitions=all:bframes=1"], {},
     [SINGLE, dict(flags=F_NO_SIMD)]),
    ("weighted", 48, 48, 6, "yuv420p", ["-x264-params", "weightp=2:weightb=1:bframes=2:ref=2"], dict(fade=True),
     [SINGLE, FRAME2]),
    ("lossless", 32, 32, 3, "yuv420p", ["-qp", "0"], {}, [SINGLE, dict(flags=F_NO_SIMD)]),
    ("yuv422", 48, 32, 4, "yuv422p", ["-x264-params", "bframes=1"], {}, [SINGLE]),
    ("yuv444", 32, 32, 4, "yuv444p", ["-x264-params", "bframes=1"], {}, [SINGLE, FRAME2]),
    ("lossless444", 32, 16, 3, "yuv444p", ["-qp", "0"], {}, [SINGLE]),
    ("odd", 66, 50, 4, "yuv420p", ["-x264-params", "bframes=1:slices=2"], {}, [SINGLE, SLICE2]),
    ("odd444", 33, 19, 3, "yuv444p", ["-bf", "0"], {}, [SINGLE]),
    ("gray", 32, 32, 3, "gray", ["-bf", "0"], {}, [SINGLE]),
    ("skip", 48, 48, 5, "yuv420p", ["-crf", "40", "-x264-params", "bframes=2"], dict(static=True), [FRAME2]),
    ("intrarefresh", 48, 48, 5, "yuv420p", ["-x264-params", "intra-refresh=1:keyint=3:bframes=0"], {}, [SINGLE]),
    ("parser", 48, 32, 4, "yuv420p", ["-x264-params", "bframes=1"], {}, [dict(flags=F_PARSER | F_CAREFUL)]),
    # flushes before packets 2 and 4 (3 bits per packet, 0 = flush), then none
    ("flush", 48, 32, 6, "yuv420p", ["-x264-params", "bframes=2"], {},
     [dict(flushpattern=((1 << 64) - 1) & ~(0o7 << 6) & ~(0o7 << 12)), dict(skip_frame=8, flags64=F64_THREADS_2)]),
    ("tenbit", 32, 32, 3, "yuv420p10le", ["-profile:v", "high10", "-bf", "0"], {}, [SINGLE]),
    ("mbaff", 32, 64, 3, "yuv420p", ["-x264-params", "interlaced=1:bframes=0"], {}, [SINGLE]),
]


# HEVC: name, width, height, frames, pix_fmt, x265 parameters, content, trailers.  x265's defaults
# otherwise (preset medium: CTU 64, WPP, deblocking, SAO, temporal MVP, merge, open GOP).  The pictures
# are one CTB row high at CTU 64, so slices=2 only with ctu=16 (x265 3.5 may hang when slices exceed
# about half the CTB rows); x265 3.5 also aborts ("free(): invalid next size") on pictures narrower
# than 64 with ctu=16 and on odd 4:4:4 sizes below 64 wide, hence 64x48 and 65x33.  Exported: 8-bit
# only, chroma residual for 4:2:0 only (luma only for 4:2:2, 4:4:4 and 4:0:0).  WPP rows are what
# slice threads decode in parallel.
HEVC_STREAMS = [
    ("lowdelay", 64, 48, 6, "yuv420p", "bframes=0:ref=2:wpp=0", {}, [SINGLE]),
    ("bpyramid", 64, 64, 9, "yuv420p", "bframes=3:b-adapt=0:b-pyramid=1:ref=3", {}, [SINGLE, FRAME3]),
    ("slices", 64, 64, 5, "yuv420p", "ctu=16:slices=2:bframes=1:ref=2", {}, [SINGLE, SLICE2]),
    ("ctu16", 64, 48, 5, "yuv420p", "ctu=16:bframes=2:ref=2", {}, [SLICE3, FRAME2]),
    ("mincu16", 64, 48, 5, "yuv420p", "ctu=32:min-cu-size=16:bframes=1", {}, [SINGLE]),
    ("amp", 64, 64, 5, "yuv420p", "ctu=32:rect=1:amp=1:bframes=1:ref=2", {}, [SINGLE]),
    ("tskip", 32, 32, 4, "yuv420p", "tskip=1:bframes=0", {}, [SINGLE]),
    ("lossless", 32, 32, 3, "yuv420p", "lossless=1:bframes=0", {}, [SINGLE, dict(flags=F_NO_SIMD)]),
    ("culossless", 48, 32, 4, "yuv420p", "cu-lossless=1:bframes=1", {}, [SINGLE]),
    ("weighted", 48, 48, 6, "yuv420p", "weightp=1:weightb=1:bframes=2:ref=2", dict(fade=True), [FRAME2]),
    ("skip", 48, 48, 5, "yuv420p", "crf=40:bframes=2", dict(static=True), [SINGLE]),
    ("yuv444", 32, 32, 4, "yuv444p", "bframes=1", {}, [FRAME2]),
    ("yuv422", 48, 32, 4, "yuv422p", "bframes=1", {}, [SINGLE]),
    ("gray", 32, 32, 3, "gray", "bframes=0", {}, [SINGLE]),
    ("odd", 66, 50, 4, "yuv420p", "bframes=1", {}, [SINGLE]),
    ("odd444", 65, 33, 3, "yuv444p", "bframes=0", {}, [SINGLE]),
    ("tenbit", 32, 32, 3, "yuv420p10le", "bframes=0", {}, [SINGLE]),
    ("parser", 48, 32, 4, "yuv420p", "bframes=1", {}, [dict(flags=F_PARSER | F_CAREFUL)]),
    # flushes before packets 2 and 4 (3 bits per packet, 0 = flush), then none
    ("flush", 48, 32, 6, "yuv420p", "bframes=2", {},
     [dict(flushpattern=((1 << 64) - 1) & ~(0o7 << 6) & ~(0o7 << 12)), dict(skip_frame=8, flags64=F64_THREADS_2)]),
]


def encode(ffmpeg, w, h, n, fmt, opts, content, codec="h264"):
    """Encode synthetic frames; opts: ffmpeg options for libx264, the -x265-params string for libx265."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "in.yuv", Path(tmp) / f"out.{codec}"
        raw.write_bytes(frames(w, h, n, fmt, **content))
        if codec == "hevc":
            enc = ["libx265", "-preset", "medium", "-threads", "1", "-pix_fmt", fmt,
                   "-x265-params", f"log-level=error:{opts}"]
        else:
            enc = ["libx264", "-preset", "medium", "-threads", "1", "-pix_fmt", fmt, *opts]
        cmd = [*ENCODE_TIMEOUT, ffmpeg, "-v", "error", "-f", "rawvideo", "-pix_fmt", fmt, "-s", f"{w}x{h}",
               "-r", "25", "-i", str(raw), "-c:v", *enc, "-f", codec, str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"make_fuzz_corpus: {' '.join(cmd)} (exit {proc.returncode})\n{proc.stderr}")
        return out.read_bytes()


def variant_name(t):
    if not t:
        return "single"
    f64, fl = t.get("flags64", 0), t.get("flags", 0)
    parts = []
    if f64 & 0x180:
        parts.append(("slice" if f64 & F64_SLICE_THREADS else "frame") + str(1 + bool(f64 & 0x80) + bool(f64 & 0x100)))
    if fl & F_PARSER:
        parts.append("parser")
    if fl & F_EXPORT_MVS:
        parts.append("mvs")
    if fl & F_NO_SIMD:
        parts.append("nosimd")
    if "flushpattern" in t:
        parts.append("flushes")
    if "skip_frame" in t:
        parts.append("skipnonref")
    return "-".join(parts) or "single"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", choices=("h264", "hevc"), default="h264")
    ap.add_argument("--ffmpeg", default=str(REPO / ".venv" / "bin" / "ffmpeg"))
    ap.add_argument("--out", help="default: tests/fuzz/corpus/CODEC")
    args = ap.parse_args()
    codec = args.codec
    out = Path(args.out or REPO / "tests" / "fuzz" / "corpus" / codec)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.fuzz"):
        old.unlink()
    total = 0
    for name, w, h, n, fmt, opts, content, trailers in HEVC_STREAMS if codec == "hevc" else STREAMS:
        aus = access_units(encode(args.ffmpeg, w, h, n, fmt, opts, content, codec), codec)
        body = b"".join(au + FUZZ_TAG for au in aus)
        for t in trailers:
            data = body + trailer(**t)
            if len(data) > MAX_SEED:
                sys.exit(f"make_fuzz_corpus: {name} is {len(data)} bytes, more than {MAX_SEED}")
            path = out / f"{name}-{variant_name(t)}.fuzz"
            path.write_bytes(data)
            total += len(data)
            print(f"{path.name:36s} {w}x{h} {fmt:12s} {len(aus)} AUs {len(data):5d} bytes")
    # two sequences back to back: a new SPS with another size (buffer pool reallocation)
    bf1 = "bframes=1" if codec == "hevc" else ["-bf", "1"]
    a = access_units(encode(args.ffmpeg, 32, 32, 3, "yuv420p", bf1, {}, codec), codec)
    b = access_units(encode(args.ffmpeg, 48, 64, 3, "yuv420p", bf1, dict(seed=2), codec), codec)
    for t in (SINGLE, FRAME2) if codec == "h264" else (FRAME2,):
        data = b"".join(au + FUZZ_TAG for au in a + b) + trailer(**t)
        if len(data) > MAX_SEED:
            sys.exit(f"make_fuzz_corpus: sizechange is {len(data)} bytes, more than {MAX_SEED}")
        path = out / f"sizechange-{variant_name(t)}.fuzz"
        path.write_bytes(data)
        total += len(data)
        print(f"{path.name:36s} 32x32 -> 48x64 {len(data):5d} bytes")
    print(f"make_fuzz_corpus: {len(list(out.glob('*.fuzz')))} seeds, {total} bytes in {out}")


if __name__ == "__main__":
    main()
