"""``cvsr demo``: the main job, end to end on a sample the project makes itself.

For now: encode a sample clip with the project's ffmpeg (libx264, B-frames), decode it
through the codec-info reader and write a picture of what the decoder exported
(frame | motion field | |residual|) for a P and a B frame; then, when packaged weights
exist, upscale a small sample with ``ffmpeg -vf cvsr`` and write a side-by-side PNG.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

SHARED_CLIP = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel_sample_videos"
               / "one-by-one-person-detection.mp4")


def make_sample(out: Path, source: str | None = None, frames: int = 48, width: int = 640,
                height: int = 360, start: float = 30.0) -> Path:
    """Encode ``frames`` frames of ``source`` (a video path, or "testsrc2") to an H.264 mp4.

    Default source: a real camera clip from ../shared/data when present (from ``start``
    seconds in, where a person walks through), else testsrc2.
    """
    from cvsr.data.encode import find_ffmpeg

    if source is None:
        source = str(SHARED_CLIP) if SHARED_CLIP.exists() else "testsrc2"
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
    upscale_with_filter(out_dir, source, log=log)
    return png


def upscale_with_filter(out_dir: Path, source: str | None = None, frames: int = 24, log=print,
                        models: tuple[str, ...] = ("ciaf-lite", "ciaf")) -> Path | None:
    """Upscale a 320x180 sample with ``ffmpeg -vf cvsr`` (the product command) and write
    ``out_dir/side_by_side.png``: bicubic x4 | cvsr x4 of one frame.  Skipped (None) without packaged weights."""
    from cvsr.data.encode import find_ffmpeg
    from cvsr.models import weights_path

    model = next((m for m in models if weights_path(m).is_file()), None)
    if model is None:
        log(f"demo: no packaged weights for {' or '.join(models)} yet ({weights_path(models[0]).parent}); "
            "skipping the upscale")
        return None
    ffmpeg = find_ffmpeg()
    small = make_sample(out_dir / "sample_small.mp4", source, frames, width=320, height=180)
    upscaled = out_dir / "upscaled.mp4"
    log(f"demo: ffmpeg -i {small} -vf cvsr=model={model} {upscaled}")
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "warning", "-y", "-i", str(small),
                    "-vf", f"cvsr=model={model}", "-c:v", "libx264", "-preset", "fast", "-crf", "16",
                    str(upscaled)], check=True, timeout=1800)
    png = out_dir / "side_by_side.png"
    pick = frames // 2
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(small),
                    "-i", str(upscaled), "-filter_complex",
                    f"[0:v]scale=1280:720:flags=bicubic,trim=start_frame={pick}[a];"
                    f"[1:v]trim=start_frame={pick}[b];[a][b]hstack", "-frames:v", "1", str(png)],
                   check=True, timeout=300)
    log(f"demo: wrote {upscaled} and {png} (left: bicubic x4, right: cvsr {model} x4)")
    return png
