"""``cvsr.open``: decode a video with the patched FFmpeg (through libcvsr) into numpy views.

Frames come in display order (as the decoder outputs them);
``Reader.in_decode_order()`` re-orders them into decoding order.

Memory: a frame's arrays (``y``/``u``/``v`` or ``rgb``, and every array of its
``codec_info``) are read-only, zero-copy views of the decoder's buffers.  They
stay valid for as long as they (or the frame) are referenced, also after the
next frame and after the reader is closed, because each view holds a reference
to the C frame.  Keeping many frames keeps their decoder buffers alive: use
``frame.copy()`` to keep a frame in compact, writable memory of its own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

import numpy as np

from ._lib import ffi, lib
from .decode_order import DecodeOrderScheduler
from .errors import check, error_for
from .info import NOPTS, CodecInfo, MOTION_VECTOR_DTYPE

__all__ = ["open", "Reader", "Frame", "StreamInfo", "THREAD_TYPES", "PIX_FMTS"]

THREAD_TYPES = {"auto": lib.CVSR_THREAD_AUTO, "frame": lib.CVSR_THREAD_FRAME, "slice": lib.CVSR_THREAD_SLICE}
PIX_FMTS = {"yuv420p": lib.CVSR_PIX_YUV420P, "rgb24": lib.CVSR_PIX_RGB24, "native": lib.CVSR_PIX_NATIVE}


class _View:
    """numpy base object for a C buffer: keeps the owning C frame alive."""

    __slots__ = ("__array_interface__", "_owner")

    def __init__(self, owner, ptr, shape, strides, typestr):
        self._owner = owner
        self.__array_interface__ = {
            "version": 3, "shape": shape, "typestr": typestr, "strides": strides,
            "data": (int(ffi.cast("uintptr_t", ptr)), True),
        }


def _c_view(owner, ptr, shape, strides=None, typestr="|u1") -> np.ndarray:
    return np.asarray(_View(owner, ptr, shape, strides, typestr))


def _ts(value: int) -> int | None:
    return None if value == NOPTS else int(value)


@dataclass(frozen=True)
class StreamInfo:
    """The decoded video stream."""

    width: int                  # display size
    height: int
    time_base: Fraction         # unit of pts/dts
    fps: Fraction | None        # average frame rate
    nb_frames: int              # according to the container, 0 if unknown
    duration: float | None      # seconds
    has_b_frames: int           # decoder reorder depth at open (may grow while decoding)
    bit_depth: int
    profile: int
    level: int
    codec_name: str             # "h264", "hevc", ...
    pix_fmt: str                # of the source
    out_pix_fmt: str            # handed out: "yuv420p" or "rgb24"
    stream_index: int


class Frame:
    """One decoded frame.

    Pixels: ``y`` (h, w), ``u``/``v`` (ceil(h/2), ceil(w/2)) uint8 views (with
    ``pix_fmt="native"``: the stream's chroma size, e.g. (h, ceil(w/2)) for
    4:2:2), or ``rgb`` (h, w, 3) with ``rgb=True``.  Codec info: ``codec_info`` (a
    :class:`CodecInfo`, or None for streams without the export (codecs other
    than H.264 and HEVC, 10-bit HEVC) or with ``export=False``); the shortcuts
    below return None without it.
    """

    __slots__ = ("_owner", "width", "height", "planes", "pts", "dts", "duration", "time_base",
                 "packet_index", "output_index", "key_frame", "corrupt", "_pict_char", "codec_info",
                 "motion_vectors")

    def __init__(self):
        self.motion_vectors = None

    @classmethod
    def _from_c(cls, cframe, time_base: Fraction) -> "Frame":
        f = cls()
        c = cframe
        f._owner = cframe
        f.width, f.height = c.width, c.height
        f.planes = tuple(
            _c_view(cframe, c.data[p], (c.plane_height[p], c.plane_width[p] // (3 if c.nb_planes == 1 else 1))
                    + ((3,) if c.nb_planes == 1 else ()),
                    (c.linesize[p], 3, 1) if c.nb_planes == 1 else (c.linesize[p], 1))
            for p in range(c.nb_planes))
        f.time_base = time_base
        f.duration = int(c.duration)
        f.packet_index = int(c.packet_index)
        f.output_index = int(c.output_index)
        f.key_frame = bool(c.key_frame)
        f.corrupt = bool(c.corrupt)
        f._pict_char = chr(c.pict_type)
        f.codec_info = None
        if c.codec_info != ffi.NULL:
            raw = _c_view(cframe, c.codec_info, (int(c.codec_info_size),))
            f.codec_info = CodecInfo(raw, f.width, f.height)
        if c.motion_vectors != ffi.NULL:
            n = int(c.motion_vectors_size) // MOTION_VECTOR_DTYPE.itemsize
            raw = _c_view(cframe, c.motion_vectors, (n * MOTION_VECTOR_DTYPE.itemsize,))
            f.motion_vectors = raw.view(MOTION_VECTOR_DTYPE)
        info = f.codec_info
        f.pts = _ts(c.pts)
        f.dts = _ts(info.dts) if info is not None else _ts(c.pkt_dts)
        return f

    # -- pixels --------------------------------------------------------------

    @property
    def y(self) -> np.ndarray:
        return self._plane(0, "y")

    @property
    def u(self) -> np.ndarray:
        return self._plane(1, "u")

    @property
    def v(self) -> np.ndarray:
        return self._plane(2, "v")

    @property
    def rgb(self) -> np.ndarray:
        """(h, w, 3) uint8 (only for readers opened with rgb=True)."""
        if len(self.planes) != 1:
            raise AttributeError("this frame is yuv420p: open the reader with rgb=True for .rgb")
        return self.planes[0]

    def _plane(self, i: int, name: str) -> np.ndarray:
        if len(self.planes) != 3:
            raise AttributeError(f"this frame is rgb24: .{name} needs a reader opened with rgb=False")
        return self.planes[i]

    # -- identity and timing -------------------------------------------------

    @property
    def frame_type(self) -> str:
        """'I', 'P' or 'B' (from the codec info when present, else the decoder's picture type)."""
        return self.codec_info.frame_type if self.codec_info is not None else self._pict_char

    @property
    def decode_index(self) -> int:
        """Position in decoding order: the codec info's decode_index, else the index of the frame's first packet."""
        return self.codec_info.decode_index if self.codec_info is not None else self.packet_index

    @property
    def poc(self) -> int | None:
        return self.codec_info.poc if self.codec_info is not None else None

    @property
    def time(self) -> float | None:
        """pts in seconds."""
        return None if self.pts is None else float(self.pts * self.time_base)

    # -- codec info shortcuts (cropped to the frame; see cvsr.codec.info) -------

    def mv_field(self, lst: int = 0) -> np.ndarray | None:
        """(h, w, 2) float32 pixels: pixel (x, y) is predicted from (x + mv_x, y + mv_y) of its list-``lst`` reference; 0 where unused."""
        return None if self.codec_info is None else self.codec_info.mv_field(lst)

    def mv_mask(self, lst: int = 0) -> np.ndarray | None:
        return None if self.codec_info is None else self.codec_info.mv_mask(lst)

    def ref_id_field(self, lst: int = 0) -> np.ndarray | None:
        return None if self.codec_info is None else self.codec_info.ref_id_field(lst)

    def residual(self, plane: int = 0) -> np.ndarray | None:
        """int16 residual of plane 0/1/2, cropped to the frame."""
        return None if self.codec_info is None else self.codec_info.residual_cropped(plane)

    def qp_field(self) -> np.ndarray | None:
        """(h, w) int8 QP of each pixel's macroblock."""
        return None if self.codec_info is None else self.codec_info.qp_field()

    @property
    def block_type(self) -> np.ndarray | None:
        """(blocks_h, blocks_w) grid of the coded picture."""
        return None if self.codec_info is None else self.codec_info.block_type

    @property
    def qp_map(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) per-macroblock QP grid of the coded picture."""
        return None if self.codec_info is None else self.codec_info.mb_qp

    # -- ownership ---------------------------------------------------------------

    def copy(self) -> "Frame":
        """A frame with private, writable copies of its arrays (releases nothing of the original)."""
        f = Frame()
        for name in Frame.__slots__:
            if name != "_owner":
                setattr(f, name, getattr(self, name))
        f._owner = None
        f.planes = tuple(np.array(p) for p in self.planes)
        f.codec_info = None if self.codec_info is None else self.codec_info.copy()
        f.motion_vectors = None if self.motion_vectors is None else self.motion_vectors.copy()
        return f

    def __repr__(self) -> str:
        return (f"<cvsr.Frame {self.frame_type} {self.width}x{self.height} pts={self.pts} "
                f"decode_index={self.decode_index}{' codec_info' if self.codec_info is not None else ''}>")


class Reader:
    """An open video: iterate for frames in display order; see :func:`open`."""

    def __init__(self, path, *, rgb: bool = False, threads: int = 0, thread_type: str = "auto",
                 export: bool = True, export_mvs: bool = False, strict: bool = False,
                 decoder_options: dict | None = None, pix_fmt: str | None = None):
        if pix_fmt is None:
            pix_fmt = "rgb24" if rgb else "yuv420p"
        elif rgb and pix_fmt != "rgb24":
            raise ValueError(f"rgb=True conflicts with pix_fmt={pix_fmt!r}")
        if pix_fmt not in PIX_FMTS:
            raise ValueError(f"pix_fmt must be one of {sorted(PIX_FMTS)}, got {pix_fmt!r}")
        if thread_type not in THREAD_TYPES:
            raise ValueError(f"thread_type must be one of {sorted(THREAD_TYPES)}, got {thread_type!r}")
        if not isinstance(threads, int) or not 0 <= threads <= 64:
            raise ValueError(f"threads must be an int from 0 (auto) to 64, got {threads!r}")
        self.path = os.fspath(path)
        opts = ffi.new("CvsrOptions *")
        lib.cvsr_options_default(opts)
        opts.threads = threads
        opts.thread_type = THREAD_TYPES[thread_type]
        opts.export_codec_info = bool(export)
        opts.export_mvs = bool(export_mvs)
        opts.pix_fmt = PIX_FMTS[pix_fmt]
        opts.strict = bool(strict)
        keep = None
        if decoder_options:
            keep = ffi.new("char[]", ":".join(f"{k}={v}" for k, v in decoder_options.items()).encode())
            opts.decoder_options = keep
        handle = ffi.new("CvsrReader **")
        check(lib.cvsr_open(handle, os.fsencode(self.path), opts), self.path)
        self._handle = handle
        info = ffi.new("CvsrStreamInfo *")
        check(lib.cvsr_stream_info(handle[0], info), self.path)
        self.stream = StreamInfo(
            width=info.width, height=info.height,
            time_base=Fraction(info.time_base_num, info.time_base_den),
            fps=Fraction(info.fps_num, info.fps_den) if info.fps_num > 0 else None,
            nb_frames=int(info.nb_frames),
            duration=(float(info.duration * Fraction(info.time_base_num, info.time_base_den))
                      if info.duration != NOPTS else None),
            has_b_frames=info.has_b_frames, bit_depth=info.bit_depth,
            profile=info.profile, level=info.level,
            codec_name=ffi.string(info.codec_name).decode(), pix_fmt=ffi.string(info.pix_fmt).decode(),
            out_pix_fmt=ffi.string(info.out_pix_fmt).decode(), stream_index=info.stream_index)

    # -- lifetime ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._handle is None or self._handle[0] == ffi.NULL

    def close(self) -> None:
        """Close the decoder; frames already read stay valid."""
        if getattr(self, "_handle", None) is not None:
            lib.cvsr_close(self._handle)
            self._handle = None

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be half torn down
            pass

    # -- reading -------------------------------------------------------------------

    def read(self) -> Frame | None:
        """The next frame in display order, None at the end of the stream."""
        if self.closed:
            raise ValueError(f"{self.path}: reading from a closed reader")
        out = ffi.new("CvsrFrame **")
        ret = lib.cvsr_read_frame(self._handle[0], out)
        if ret < 0:
            raise error_for(ret, self.path)
        if ret == 0:
            return None
        cframe = ffi.gc(out[0], lambda p: lib.cvsr_frame_free(ffi.new("CvsrFrame **", p)))
        return Frame._from_c(cframe, self.stream.time_base)

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        frame = self.read()
        if frame is None:
            raise StopIteration
        return frame

    def in_decode_order(self) -> Iterator[Frame]:
        """Iterate the remaining frames in decoding order (by ``Frame.decode_index``).

        Frames are buffered until every frame decoded before them was output:
        at most the stream's reorder depth (bounded by H.264's 16).  A gap in
        the indices (a frame the decoder dropped) delays frames by at most
        that bound, then they go on in order; a count that restarts (a new
        sequence) finishes the old one first (``cvsr.codec.decode_order``).
        """
        scheduler: DecodeOrderScheduler[Frame] = DecodeOrderScheduler()
        for frame in self:
            yield from scheduler.push(frame, frame.decode_index)
        yield from scheduler.flush()

    @property
    def reorder_depth(self) -> int:
        """The decoder's current output delay in frames (has_b_frames; may grow while decoding)."""
        if self.closed:
            return self.stream.has_b_frames
        info = ffi.new("CvsrStreamInfo *")
        check(lib.cvsr_stream_info(self._handle[0], info), self.path)
        return int(info.has_b_frames)

    @property
    def decode_errors(self) -> int:
        """Packets the decoder rejected so far (skipped unless strict=True)."""
        return 0 if self.closed else int(lib.cvsr_decode_errors(self._handle[0]))

    def __repr__(self) -> str:
        s = self.stream
        return f"<cvsr.Reader {self.path!r} {s.codec_name} {s.width}x{s.height} {s.pix_fmt}>"


def open(path, *, rgb: bool = False, threads: int = 0, thread_type: str = "auto", export: bool = True,
         export_mvs: bool = False, strict: bool = False, decoder_options: dict | None = None,
         pix_fmt: str | None = None) -> Reader:
    """Open a video file or URL for decoding with codec-info export.

    Args:
        path: file path or URL (file, pipe, tcp, udp protocols).
        rgb: hand out (h, w, 3) uint8 RGB (BT.601/709 per the stream's tags) instead of Y/U/V planes.
        threads: decoder threads, 0 = one per core, 1 = single-threaded.
        thread_type: "auto" (frame + slice), "frame" or "slice".
        export: ask the decoder for AV_FRAME_DATA_CODEC_INFO.  The patched
            H.264 and HEVC decoders provide it (8-bit); other codecs and 10-bit
            HEVC decode normally and their frames have ``codec_info is None``.
        export_mvs: also upstream's AV_FRAME_DATA_MOTION_VECTORS, as
            ``frame.motion_vectors`` (a MOTION_VECTOR_DTYPE record array).
        strict: raise on the first decoding error.  By default, packets the
            decoder rejects are skipped (counted in ``Reader.decode_errors``)
            and frames with concealed errors come with ``frame.corrupt``.
        decoder_options: extra AVCodecContext options, e.g. {"skip_loop_filter": "all"}.
        pix_fmt: "yuv420p" (default: 4:2:0 sources zero-copy, others converted), "rgb24"
            (same as rgb=True), or "native": the decoder's 8-bit planar YUV as is, zero-copy
            (4:2:0, 4:2:2, 4:4:4; so the chroma residual matches the chroma planes), other
            formats converted to yuv420p.

    Raises (all subclasses of cvsr.codec.CodecError, with .errno):
        FileNotFoundError: no such file.
        InvalidDataError (ValueError): not a media file (a text file, a truncated
            mp4 without its index, garbage).
        StreamNotFoundError (ValueError): no video stream.
        DecoderNotFoundError (ValueError): a codec this build does not decode.
        UnsupportedError (NotImplementedError): > 8-bit H.264 with export=True
            (the export covers 8-bit only; export=False decodes it, converted to 8 bit).
        OptionError (ValueError): a bad option.
    """
    return Reader(path, rgb=rgb, threads=threads, thread_type=thread_type, export=export,
                  export_mvs=export_mvs, strict=strict, decoder_options=decoder_options, pix_fmt=pix_fmt)
