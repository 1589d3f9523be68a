"""Views of what the decoder knows: the reader (``open``) and the codec-info parser.

* ``open(path, ...)`` -> :class:`Reader`: frames in display order with zero-copy
  numpy planes and a :class:`CodecInfo` each (see reader.py for lifetimes).
* ``parse_codec_info(buffer)`` -> :class:`CodecInfo`: the same view over a
  side data buffer handed over by the ffmpeg filter.
* Errors: :class:`CodecError` and its subclasses (errors.py), with ``.errno``.
"""
from ._lib import LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_QUIET, LOG_VERBOSE, LOG_WARNING, set_log_level
from .errors import (CodecError, DecoderNotFoundError, FileNotFoundError, InvalidDataError, OptionError,
                     StreamNotFoundError, UnsupportedError)
from .info import (BLOCK_INTER, BLOCK_INTRA, BLOCK_LOST, BLOCK_SKIP, CODEC_INFO_DTYPE, MOTION_VECTOR_DTYPE,
                   TRANSFORM_BLOCK_DTYPE, CodecInfo, parse_codec_info)
from .reader import Frame, Reader, StreamInfo, open

__all__ = [
    "open", "Reader", "Frame", "StreamInfo", "CodecInfo", "parse_codec_info", "CODEC_INFO_DTYPE",
    "MOTION_VECTOR_DTYPE", "TRANSFORM_BLOCK_DTYPE", "BLOCK_INTRA", "BLOCK_INTER", "BLOCK_SKIP", "BLOCK_LOST",
    "CodecError", "FileNotFoundError", "InvalidDataError", "OptionError", "StreamNotFoundError",
    "DecoderNotFoundError", "UnsupportedError",
    "set_log_level", "LOG_QUIET", "LOG_ERROR", "LOG_WARNING", "LOG_INFO", "LOG_VERBOSE", "LOG_DEBUG",
]
