"""Exceptions of the reader, and the one place that maps AVERROR codes to them.

Like PyAV's, each exception mixes a cvsr class with the builtin a caller would
catch (``FileNotFoundError``, ``ValueError``, ``NotImplementedError``) and
carries ``.errno`` (the positive error number, ``-AVERROR``), ``.averror`` (the
negative FFmpeg code), ``.strerror`` (FFmpeg's description) and ``.filename``.
"""
from __future__ import annotations

import builtins
import errno as _errno

from ._lib import constant, ffi, lib

__all__ = [
    "CodecError", "FileNotFoundError", "PermissionError", "IsADirectoryError", "InvalidDataError",
    "OptionError", "StreamNotFoundError", "DecoderNotFoundError", "DemuxerNotFoundError",
    "ProtocolNotFoundError", "UnsupportedError", "MemoryError", "OSError", "error_for", "check",
]


class CodecError(Exception):
    """Base class: a libcvsr call failed with a negative AVERROR code."""

    def __init__(self, averror: int, message: str, filename: str | None = None):
        self.averror = averror
        self.message = message
        if isinstance(self, builtins.OSError):
            builtins.OSError.__init__(self, -averror, strerror(averror))
        else:
            Exception.__init__(self, message)
        self.errno = -averror
        self.strerror = strerror(averror)
        self.filename = filename

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return type(self), (self.averror, self.message, self.filename)


class FileNotFoundError(CodecError, builtins.FileNotFoundError):
    pass


class PermissionError(CodecError, builtins.PermissionError):
    pass


class IsADirectoryError(CodecError, builtins.IsADirectoryError):
    pass


class OSError(CodecError, builtins.OSError):
    """Any other system error (EIO, ...)."""


class MemoryError(CodecError, builtins.MemoryError):
    pass


class InvalidDataError(CodecError, builtins.ValueError):
    """Not a media file, or corrupted beyond what the decoder conceals."""


class OptionError(CodecError, builtins.ValueError):
    """A bad reader or decoder option (EINVAL, unknown option)."""


class StreamNotFoundError(CodecError, builtins.ValueError):
    """The input has no video stream."""


class DecoderNotFoundError(CodecError, builtins.ValueError):
    """The video codec is not among the decoders of cvsr's FFmpeg build."""


class DemuxerNotFoundError(CodecError, builtins.ValueError):
    pass


class ProtocolNotFoundError(CodecError, builtins.ValueError):
    pass


class UnsupportedError(CodecError, builtins.NotImplementedError):
    """A valid input cvsr does not support (e.g. the export on 10-bit H.264)."""


def strerror(averror: int) -> str:
    buf = ffi.new("char[]", 256)
    lib.cvsr_strerror(averror, buf, 256)
    return ffi.string(buf).decode(errors="replace")


_ERRNO_CLASSES = {
    _errno.ENOENT: FileNotFoundError,
    _errno.EACCES: PermissionError,
    _errno.EPERM: PermissionError,
    _errno.EISDIR: IsADirectoryError,
    _errno.ENOMEM: MemoryError,
    _errno.EINVAL: OptionError,
    _errno.ENOSYS: UnsupportedError,
}
_TAG_CLASSES = {
    lib.cvsr_averror_invaliddata(): InvalidDataError,
    lib.cvsr_averror_stream_not_found(): StreamNotFoundError,
    lib.cvsr_averror_decoder_not_found(): DecoderNotFoundError,
    lib.cvsr_averror_demuxer_not_found(): DemuxerNotFoundError,
    lib.cvsr_averror_protocol_not_found(): ProtocolNotFoundError,
    lib.cvsr_averror_patchwelcome(): UnsupportedError,
    constant("AVERROR_OPTION_NOT_FOUND"): OptionError,
}


def error_for(averror: int, filename: str | None = None, message: str | None = None) -> CodecError:
    """The exception for a negative AVERROR code, with libcvsr's last message on this thread."""
    if message is None:
        message = ffi.string(lib.cvsr_last_error()).decode(errors="replace") or strerror(averror)
    cls = _TAG_CLASSES.get(averror) or _ERRNO_CLASSES.get(-averror)
    if cls is None:
        cls = OSError if 0 < -averror < 4096 else CodecError
    return cls(averror, message, filename)


def check(ret: int, filename: str | None = None) -> int:
    """Return ret if >= 0, else raise the matching exception."""
    if ret < 0:
        raise error_for(ret, filename)
    return ret
