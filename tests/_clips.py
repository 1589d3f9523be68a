"""Tiny test clips encoded by the project's ffmpeg (libx264, libx265), made on demand and cached per session.

Use the session fixture ``clips`` (tests/conftest.py)::

    path = clips.get("random_access")           # a named recipe below
    path = clips.make("mine.mp4", bframes=0, refs=2, frames=10, size="160x96")

Recipes follow issue 2's reconstruction configs: deblocking off, low delay
(``-bf 0 -refs 1``) and random access (B-frames, ``-refs 3``, weighted
prediction off).  Everything stays small (320x192, 20 frames) for the 2-core CI.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def ffmpeg_path() -> str | None:
    """The project's patched ffmpeg (``cvsr.ffmpeg.find_ffmpeg``), None when it is not built."""
    from cvsr.ffmpeg import find_ffmpeg

    try:
        return find_ffmpeg()
    except FileNotFoundError:
        return None


def encode(out: Path, *, size: str = "320x192", frames: int = 20, rate: int = 25, bframes: int = 0,
           refs: int = 1, deblock: bool = False, weightp: bool = False, crf: int = 26,
           pix_fmt: str = "yuv420p", preset: str = "fast", gop: int | None = None,
           x264_params: str = "", source: str | None = None, audio: bool = False,
           extra: tuple[str, ...] = (), codec: str = "libx264") -> Path:
    """Encode testsrc2 (or ``source``, an ffmpeg input) with ``codec`` (libx264 or libx265) into ``out``
    (container from the suffix); ``audio`` adds a sine tone as AAC of the same duration.

    ``x264_params`` are the encoder's own options (``-x264-params`` / ``-x265-params``); ``deblock=False``
    also turns x265's SAO off, so that decoded pictures are the references as reconstructed."""
    if codec not in ("libx264", "libx265"):
        raise ValueError(f"codec must be libx264 or libx265, got {codec!r}")
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise FileNotFoundError("the project's ffmpeg is not built (.venv/bin/ffmpeg): run ./setup.sh")
    params = [f"ref={refs}", f"bframes={bframes}"]
    if codec == "libx265":
        params.append("log-level=error")
    if not deblock:
        params += ["no-deblock=1", "no-sao=1"] if codec == "libx265" else ["no-deblock=1"]
    if not weightp:
        params += ["weightp=0", "weightb=0"]
    if x264_params:
        params.append(x264_params)
        if codec == "libx265" and "slices=" in x264_params:
            # libx265 3.5 hangs or crashes in most encodes of several slices with wavefront rows
            # (its thread pool); without the pool (and so without wavefronts) it does not
            params.append("pools=none")
    src = ["-i", source] if source else ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        src += ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={frames / rate}"]
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *src, "-frames:v", str(frames),
           *(["-c:a", "aac"] if audio else ["-an"]), "-c:v", codec, "-preset", preset, "-crf", str(crf), "-pix_fmt", pix_fmt,
           f"-{codec[3:]}-params", ":".join(params)]
    if gop:
        cmd += ["-g", str(gop)]
    cmd += [*extra, str(out)]
    subprocess.run(cmd, check=True, timeout=120)
    return out


# name -> (file name, encode() arguments)
RECIPES: dict[str, tuple[str, dict]] = {
    "low_delay": ("low_delay.mp4", dict(bframes=0, refs=1)),
    "random_access": ("random_access.mp4", dict(bframes=3, refs=3, x264_params="b-pyramid=normal")),
    "deblocked": ("deblocked.mp4", dict(bframes=2, refs=2, deblock=True)),
    "odd_size": ("odd_322x182.mp4", dict(size="322x182", bframes=2, refs=2, frames=10)),
    "annexb": ("stream.h264", dict(bframes=2, refs=2, frames=12)),
    "ten_bit": ("ten_bit.mp4", dict(pix_fmt="yuv420p10le", frames=6)),
    "interlaced": ("interlaced.mp4", dict(frames=6, x264_params="interlaced=1")),
    "slices": ("slices.mp4", dict(bframes=2, refs=2, x264_params="slices=4")),
    "yuv422p": ("yuv422p.mp4", dict(bframes=2, refs=2, frames=8, pix_fmt="yuv422p", size="322x182")),
    # HEVC (libx265): B-pyramid, 3 references, the encoder's loop filters
    "hevc": ("hevc.mp4", dict(codec="libx265", bframes=3, refs=3, frames=10, deblock=True)),
    "hevc_ten_bit": ("hevc_ten_bit.mp4", dict(codec="libx265", pix_fmt="yuv420p10le", frames=6)),
    "hevc_annexb": ("stream.hevc", dict(codec="libx265", bframes=2, refs=2, frames=12)),
    "hevc_odd_size": ("hevc_odd_322x182.mp4", dict(codec="libx265", size="322x182", bframes=2, refs=2, frames=10)),
}


# the two stream structures of the filter tests (tests/filter: make_clip(kind, ...)), x264 defaults otherwise
FILTER_KINDS: dict[str, dict] = {
    # low delay: no B-frames, one reference (the decode order is the display order)
    "lowdelay": dict(bframes=0, refs=1, gop=30, deblock=True, weightp=True, crf=23, preset="medium"),
    # random access: B-frames (reorder depth 2), 3 references, a second I-frame
    "randomaccess": dict(bframes=2, refs=3, gop=8, deblock=True, crf=23, preset="medium",
                         x264_params="b-adapt=0:b-pyramid=none"),
    # the same structures in HEVC (libx265; its defaults otherwise: deblocking, SAO, open GOPs)
    "hevc_lowdelay": dict(codec="libx265", bframes=0, refs=1, gop=30, deblock=True, crf=23, preset="medium"),
    "hevc_randomaccess": dict(codec="libx265", bframes=2, refs=3, gop=8, deblock=True, crf=23, preset="medium",
                              x264_params="b-adapt=0:b-pyramid=0"),
}


class ClipFactory:
    """Makes clips under ``root`` once per session."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._made: dict[str, Path] = {}

    def make(self, name: str, **kwargs) -> Path:
        out = self.root / name
        if name not in self._made:
            encode(out, **kwargs)
            self._made[name] = out
        return self._made[name]

    def get(self, recipe: str) -> Path:
        """A named clip (RECIPES), or a ``_make_*`` input: "text", "empty", "truncated", "truncated_faststart",
        "corrupt", "garbage_h264", "audio_only", "mjpeg", "hevc_corrupt"."""
        if recipe in RECIPES:
            name, kwargs = RECIPES[recipe]
            return self.make(name, **kwargs)
        maker = getattr(self, f"_make_{recipe}", None)
        if maker is None:
            raise KeyError(f"no clip recipe {recipe!r}")
        if recipe not in self._made:
            self._made[recipe] = maker()
        return self._made[recipe]

    def _make_text(self) -> Path:
        p = self.root / "notes.mp4"     # a media suffix, text content
        p.write_text("this is not a video\n" * 20)
        return p

    def _make_empty(self) -> Path:
        p = self.root / "empty.mp4"
        p.write_bytes(b"")
        return p

    def _make_truncated(self) -> Path:
        """An mp4 cut in the middle (moov at the end: its index is lost)."""
        full = self.get("random_access").read_bytes()
        p = self.root / "truncated.mp4"
        p.write_bytes(full[: len(full) // 2])
        return p

    def _make_truncated_faststart(self) -> Path:
        """An mp4 with its index first (+faststart), cut in the middle: the index names missing samples."""
        full = self.make("faststart.mp4", bframes=2, refs=2, extra=("-movflags", "+faststart")).read_bytes()
        p = self.root / "truncated_faststart.mp4"
        p.write_bytes(full[: len(full) * 2 // 3])
        return p

    def _make_corrupt(self) -> Path:
        """An Annex B H.264 stream with bytes overwritten in the middle of its slices."""
        return _corrupt(self.get("annexb"), self.root / "corrupt.h264")

    def _make_hevc_corrupt(self) -> Path:
        """The same damage to an Annex B HEVC stream."""
        return _corrupt(self.get("hevc_annexb"), self.root / "corrupt.hevc")

    def _make_garbage_h264(self) -> Path:
        """Random bytes under an .h264 name (the raw demuxer probes it by extension)."""
        p = self.root / "garbage.h264"
        p.write_bytes(bytes((i * 7919 + 13) & 0xFF for i in range(20000)))
        return p

    def _make_audio_only(self) -> Path:
        p = self.root / "audio_only.wav"
        subprocess.run([ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", "sine=frequency=440:duration=0.2", str(p)], check=True, timeout=60)
        return p

    def _make_mjpeg(self) -> Path:
        """Motion JPEG in Matroska (PyAV): a video codec the project's FFmpeg build cannot decode."""
        import numpy as np
        images = [np.full((32, 64, 3), 40 * i, np.uint8) for i in range(3)]
        return pyav_clip(self.root / "mjpeg.mkv", "mjpeg", "yuvj420p", images)


def _corrupt(src: Path, out: Path) -> Path:
    """``src`` with bytes overwritten (a fixed pseudo-random sequence) from a fifth of the way in."""
    data = bytearray(src.read_bytes())
    rng_state = 12345
    for i in range(len(data) // 5, len(data), max(1, len(data) // 60)):
        rng_state = (rng_state * 1103515245 + 12345) & 0x7FFFFFFF
        data[i] = rng_state & 0xFF
    out.write_bytes(bytes(data))
    return out


def pyav_clip(path: Path, codec: str, pix_fmt: str, images, options: dict | None = None) -> Path:
    """Encode RGB images (h, w, 3) uint8 at 25 fps with PyAV's ``codec`` into ``path``."""
    av = __import__("av")
    h, w = images[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if options:
            stream.options = options
        for img in images:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path

def have_ffmpeg() -> bool:
    return ffmpeg_path() is not None

