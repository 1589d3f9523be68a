"""``cvsr demo``: the main job, end to end on a sample the project makes itself.

For now: encode a sample clip with the project's ffmpeg (libx264, B-frames), decode it
through the codec-info reader and write a picture of what the decoder exported
(frame | motion field | |residual|) for a P and a B frame.  Later: run the upscaler too.
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
    return png
