"""Zero-copy view of one AV_FRAME_DATA_CODEC_INFO side data buffer (AVCodecInfo).

The buffer layout is defined by libavutil/codec_info.h of the patched FFmpeg;
the record type is built from libcvsr's layout table (``_lib.struct_dtype``).

Coordinates and units (see codec_info.h for the full contract):

* Block grids (``block_type``, ``mv(L)``, ``ref_idx(L)``, ``ref_ids(L)``) are
  ``(blocks_h, blocks_w)`` arrays of 4x4 luma blocks covering the *coded*
  picture (``coded_width x coded_height``, a multiple of 16 for H.264, of 8
  for HEVC); ``mb_qp``, ``mb_type`` are the ``(mbs_h, mbs_w)`` macroblock grid
  (``mb_size`` 16 for H.264; 8 for HEVC, its smallest coding block);
  ``residual(p)`` planes are coded size.  The side data stores each property
  at the granularity the codec codes it (block mode per macroblock, ref_idx
  per 8x8 block for H.264, per 4x4 block for HEVC); the block grids repeat
  them per 4x4 block.  The residual is stored as non-zero 4x4 blocks with a
  per-macroblock mask (H.264: ``residual_blocks``) or as the coded transform
  blocks (HEVC: ``residual_tbs`` / ``residual_samples``); ``residual(p)``
  gives the same dense plane for both.
* A list the picture does not use (``nb_refs[L] == 0``: I pictures, list 1
  of P pictures) is not stored: ``mv(L)`` is then all 0 and ``ref_idx(L)``
  all -1 (read-only broadcast views), so callers need no special case.
* The output frame is the coded picture cropped: output sample (x, y) is coded
  sample (x + crop_left, y + crop_top).  The dense ``*_field`` methods rasterise
  a grid to pixels *and* crop it to the output frame (width x height, default:
  everything right/below the crop offset).
* ``mv(L)`` is int16 (mvx, mvy) in quarter luma samples.  ``mv_field(L)`` is
  float32 pixels with the convention of ``cvsr.ops.warp``: the current pixel
  (x, y) is predicted from (x + mv_x, y + mv_y) of the reference picture
  (a backward flow into the reference).  Where list L is unused (intra blocks,
  P blocks for list 1) the field is 0 and ``mv_mask(L)`` is False: never NaN,
  so the field can be fed to a warp directly.
* Reference identity: ``ref_ids(L)`` is the decode index of the picture each
  block is predicted from (-1 where list L is unused), resolved through the
  picture's ``ref_decode_index`` table.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ._lib import constant, struct_dtype, struct_version

__all__ = ["CodecInfo", "parse_codec_info", "pict_type_char", "CODEC_INFO_DTYPE", "MOTION_VECTOR_DTYPE",
           "TRANSFORM_BLOCK_DTYPE", "BLOCK_INTRA", "BLOCK_INTER", "BLOCK_SKIP", "BLOCK_LOST", "NOPTS"]

CODEC_INFO_DTYPE = struct_dtype("AVCodecInfo")
CODEC_INFO_VERSION = struct_version("AVCodecInfo")
MOTION_VECTOR_DTYPE = struct_dtype("AVMotionVector")
TRANSFORM_BLOCK_DTYPE = struct_dtype("AVCodecInfoTransformBlock")
BLOCK_INTRA = constant("AV_CODEC_INFO_BLOCK_INTRA")
BLOCK_INTER = constant("AV_CODEC_INFO_BLOCK_INTER")
BLOCK_SKIP = constant("AV_CODEC_INFO_BLOCK_SKIP")
BLOCK_LOST = constant("AV_CODEC_INFO_BLOCK_LOST")
FLAG_WEIGHTED_PRED = constant("AV_CODEC_INFO_FLAG_WEIGHTED_PRED")
FLAG_TRANSFORM_BYPASS = constant("AV_CODEC_INFO_FLAG_TRANSFORM_BYPASS")
NOPTS = constant("AV_NOPTS_VALUE")
_PICT_TYPE_CHARS = {constant(f"AV_PICTURE_TYPE_{c}"): c for c in ("I", "P", "B", "S")}
_PICT_TYPE_CHARS.update({constant("AV_PICTURE_TYPE_SI"): "i", constant("AV_PICTURE_TYPE_SP"): "p",
                         constant("AV_PICTURE_TYPE_BI"): "b"})


def pict_type_char(pict_type: int) -> str:
    """FFmpeg's character for an ``enum AVPictureType`` value (av_get_picture_type_char): "I", "P", "B", ...,
    "?" for none or unknown."""
    return _PICT_TYPE_CHARS.get(int(pict_type), "?")


# z-order (Morton) position of block j in a macroblock: x from the even bits, y from the odd ones
_MORTON_X = np.array([sum(((j >> (2 * b)) & 1) << b for b in range(16)) for j in range(32)], np.intp)
_MORTON_Y = np.array([sum(((j >> (2 * b + 1)) & 1) << b for b in range(16)) for j in range(32)], np.intp)


def rasterize(grid: np.ndarray, cell: int, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """Per-cell grid (gh, gw, ...) -> per-pixel (height, width, ...), starting at pixel (x0, y0).

    Pixel (x, y) takes the value of cell ((x + x0) // cell, (y + y0) // cell):
    each cell repeated cell x cell times by two ``np.repeat`` (block copies: 25x faster than a broadcast
    assignment, whose innermost loop is the short trailing axis), no per-block loop.
    The result is a view of the full-size array, cropped.
    """
    full = np.repeat(np.repeat(grid, cell, axis=1), cell, axis=0)
    return full[y0:y0 + height, x0:x0 + width]


class CodecInfo:
    """Read-only view of one AVCodecInfo buffer (``bytes``, ``memoryview`` or uint8 array).

    Header fields are attributes (``decode_index``, ``poc``, ``pict_type``,
    ``coded_width``, ``crop_left``, ``nb_refs``, ``ref_decode_index`` ...) with the
    names of codec_info.h; scalars are Python ints, arrays read-only numpy views.
    Arrays share memory with the buffer (which this object keeps alive).
    """

    __slots__ = ("_raw", "_fields", "width", "height", "_residual_planes", "_grids")

    def __init__(self, buffer, width: int | None = None, height: int | None = None):
        raw = np.frombuffer(buffer, np.uint8) if not isinstance(buffer, np.ndarray) else buffer
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raw = raw.reshape(-1).view(np.uint8)
        if raw.size < CODEC_INFO_DTYPE.itemsize:
            raise ValueError(f"codec info buffer of {raw.size} bytes is smaller than AVCodecInfo "
                             f"({CODEC_INFO_DTYPE.itemsize} bytes)")
        header = raw[:CODEC_INFO_DTYPE.itemsize].view(CODEC_INFO_DTYPE)
        # One conversion: attribute reads are dict lookups.  Small 1-D fields
        # (nb_refs, offsets) become tuples of ints, 2-D tables read-only arrays.
        fields = dict(zip(CODEC_INFO_DTYPE.names, header[0].item()))
        for name, value in fields.items():
            if isinstance(value, np.ndarray):
                if value.ndim == 1:
                    fields[name] = tuple(value.tolist())
                else:
                    value.flags.writeable = False
        self._raw = raw
        self._fields = fields
        self._residual_planes: dict[int, np.ndarray | None] = {}
        self._grids: dict[object, np.ndarray] = {}
        self._validate()
        self.width = self.coded_width - self.crop_left if width is None else int(width)
        self.height = self.coded_height - self.crop_top if height is None else int(height)
        if not (0 < self.width <= self.coded_width - self.crop_left
                and 0 < self.height <= self.coded_height - self.crop_top):
            raise ValueError(f"frame size {self.width}x{self.height} does not fit the codec info's coded "
                             f"{self.coded_width}x{self.coded_height} picture at crop "
                             f"({self.crop_left}, {self.crop_top})")

    def __getattr__(self, name: str):
        if not name.startswith("_"):
            try:
                return self._fields[name]
            except KeyError:
                pass
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def _validate(self) -> None:
        v = SimpleNamespace(**self._fields)
        header_size = CODEC_INFO_DTYPE.itemsize
        if v.version != CODEC_INFO_VERSION:
            raise ValueError(f"codec info version {v.version}, this cvsr reads version {CODEC_INFO_VERSION}")
        if not header_size <= v.size <= self._raw.size:
            raise ValueError(f"codec info says {v.size} bytes, the buffer has {self._raw.size}")
        bs, rbs, mb = v.block_size, v.ref_block_size, v.mb_size
        if (bs <= 0 or mb <= 0 or v.coded_width <= 0 or v.coded_height <= 0
                or v.blocks_w * bs != v.coded_width or v.blocks_h * bs != v.coded_height
                or v.mbs_w * mb != v.coded_width or v.mbs_h * mb != v.coded_height
                or rbs <= 0 or rbs % bs or mb % rbs):
            raise ValueError(f"inconsistent codec info geometry: coded {v.coded_width}x{v.coded_height}, "
                             f"{v.blocks_w}x{v.blocks_h} blocks of {bs}, ref_idx blocks of {rbs}, "
                             f"{v.mbs_w}x{v.mbs_h} MBs of {mb}")
        if not (0 <= v.crop_left < v.coded_width and 0 <= v.crop_top < v.coded_height):
            raise ValueError(f"codec info crop ({v.crop_left}, {v.crop_top}) outside the coded picture")
        max_refs = v.ref_poc.shape[1]
        if any(not 0 <= n <= max_refs for n in v.nb_refs):
            raise ValueError(f"codec info nb_refs {list(v.nb_refs)} out of range")
        nblocks, nmbs = v.blocks_w * v.blocks_h, v.mbs_w * v.mbs_h
        nrefs = nmbs * (mb // rbs) ** 2
        arrays = [(v.mb_type_offset, nmbs), (v.mb_qp_offset, nmbs)]
        for lst in range(2):
            if bool(v.nb_refs[lst]) != bool(v.mv_offset[lst]) or bool(v.mv_offset[lst]) != bool(v.ref_idx_offset[lst]):
                raise ValueError(f"codec info list {lst}: nb_refs {v.nb_refs[lst]} but arrays at "
                                 f"{v.mv_offset[lst]}, {v.ref_idx_offset[lst]}")
        arrays += [(o, nblocks * 4) for o in v.mv_offset] + [(o, nrefs) for o in v.ref_idx_offset]
        for p in range(3):
            h, w = v.residual_height[p], v.residual_width[p]
            if (h, w) == (0, 0):
                continue
            if (h <= 0 or w <= 0 or v.coded_width % w or v.coded_height % h
                    or p == 0 and (w, h) != (v.coded_width, v.coded_height)):
                raise ValueError(f"codec info residual plane {p}: {w}x{h} for a "
                                 f"{v.coded_width}x{v.coded_height} picture")
        if v.residual_blocks_offset and v.residual_tb_offset:
            raise ValueError("codec info residual stored both as 4x4 blocks and as transform blocks")
        if v.residual_tb_offset:
            if not v.residual_samples_offset:
                raise ValueError("codec info transform blocks without their samples")
            arrays += [(v.residual_tb_offset, v.nb_residual_tbs * TRANSFORM_BLOCK_DTYPE.itemsize),
                       (v.residual_samples_offset, v.nb_residual_samples * 2)]
        arrays += [(v.residual_index_offset, nmbs * 4), (v.residual_mask_offset, nmbs * 4)]
        if v.residual_blocks_offset:
            rb = v.residual_block_size
            nbits = 0
            for p in range(3):
                h, w = v.residual_height[p], v.residual_width[p]
                if (h, w) == (0, 0):
                    continue
                if rb <= 0 or (mb * w) % (v.coded_width * rb) or (mb * h) % (v.coded_height * rb):
                    raise ValueError(f"codec info residual plane {p}: {w}x{h} for a "
                                     f"{v.coded_width}x{v.coded_height} picture in blocks of {rb}")
                nbits += (mb * w // v.coded_width // rb) * (mb * h // v.coded_height // rb)
            if nbits > 32:
                raise ValueError(f"codec info residual of {nbits} blocks per macroblock does not fit its "
                                 f"32-bit mask")
            if not (v.residual_index_offset and v.residual_mask_offset):
                raise ValueError("codec info residual blocks without their index and mask")
            if v.nb_residual_blocks > nmbs * nbits:
                raise ValueError(f"codec info has {v.nb_residual_blocks} residual blocks for {nmbs} MBs")
            arrays += [(v.residual_blocks_offset, v.nb_residual_blocks * rb * rb * 2)]
        for offset, nbytes in arrays:
            if offset and not header_size <= offset <= v.size - nbytes:
                raise ValueError(f"codec info array at offset {offset} ({nbytes} bytes) outside the "
                                 f"{v.size}-byte buffer")

    def _array(self, offset: int, dtype, shape, strides=None) -> np.ndarray | None:
        if not offset:
            return None
        a = np.ndarray(shape, dtype, buffer=self._raw, offset=int(offset), strides=strides)
        a.flags.writeable = False
        return a

    # -- header helpers -----------------------------------------------------

    @property
    def frame_type(self) -> str:
        """'I', 'P', 'B' (pict_type as a character, '?' if unknown)."""
        return pict_type_char(self.pict_type)

    def refs(self, lst: int) -> np.ndarray:
        """Decode indices of list ``lst``'s entries, (nb_refs[lst],) int64."""
        return self.ref_decode_index[lst][: self.nb_refs[lst]]

    def buffer(self) -> np.ndarray:
        """The whole side data buffer, (size,) uint8."""
        return self._raw[: self.size]

    # -- block grids (coded picture) ------------------------------------------

    def _repeat(self, key, grid: np.ndarray, cell: int) -> np.ndarray:
        """``grid`` of ``cell``-sized luma blocks repeated onto the 4x4 block grid (cached, read-only)."""
        out = self._grids.get(key)
        if out is None:
            k = cell // self.block_size
            out = np.ascontiguousarray(rasterize(grid, k, 0, 0, self.blocks_w, self.blocks_h))
            out.flags.writeable = False
            self._grids[key] = out
        return out

    @property
    def mb_type(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) uint8 block type of each macroblock: BLOCK_INTRA, BLOCK_INTER, BLOCK_SKIP or BLOCK_LOST."""
        return self._array(self.mb_type_offset, np.uint8, (self.mbs_h, self.mbs_w))

    @property
    def block_type(self) -> np.ndarray | None:
        """(blocks_h, blocks_w) uint8: the block type of each 4x4 block (that of its macroblock)."""
        mbt = self.mb_type
        return None if mbt is None else self._repeat("block_type", mbt, self.mb_size)

    def mv(self, lst: int) -> np.ndarray:
        """(blocks_h, blocks_w, 2) int16 (mvx, mvy) of list ``lst`` in quarter luma samples; 0 where unused."""
        mv = self._array(self.mv_offset[lst], np.int16, (self.blocks_h, self.blocks_w, 2))
        return np.broadcast_to(np.int16(0), (self.blocks_h, self.blocks_w, 2)) if mv is None else mv

    def ref_idx_grid(self, lst: int) -> np.ndarray | None:
        """(coded_height / ref_block_size, coded_width / ref_block_size) int8 ref_idx of list ``lst``, one per
        reference index block (a view of the per-macroblock storage); None if the list is absent."""
        k = self.mb_size // self.ref_block_size
        a = self._array(self.ref_idx_offset[lst], np.int8, (self.mbs_h, self.mbs_w, k, k))
        if a is None:
            return None
        if a.size and (a.min() < -1 or a.max() >= int(self.nb_refs[lst])):
            raise ValueError(f"codec info: ref_idx of list {lst} outside [-1, {int(self.nb_refs[lst])}) "
                             f"(values {int(a.min())}..{int(a.max())})")
        return a.transpose(0, 2, 1, 3).reshape(self.mbs_h * k, self.mbs_w * k)

    def ref_idx(self, lst: int) -> np.ndarray:
        """(blocks_h, blocks_w) int8 index into list ``lst``, -1 where the list is unused."""
        grid = self.ref_idx_grid(lst)
        if grid is None:
            return np.broadcast_to(np.int8(-1), (self.blocks_h, self.blocks_w))
        return self._repeat(("ref_idx", lst), grid, self.ref_block_size)

    def ref_ids(self, lst: int) -> np.ndarray:
        """(blocks_h, blocks_w) int64 decode index of the picture each block uses in list ``lst``, -1 if none."""
        idx = self.ref_idx(lst)
        table = np.append(self.ref_decode_index[lst], -1)   # entry -1 -> -1
        return table[np.where(idx >= 0, idx, -1)]

    @property
    def mb_qp(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) int8 luma QP of each macroblock."""
        return self._array(self.mb_qp_offset, np.int8, (self.mbs_h, self.mbs_w))

    @property
    def residual_mask(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) uint32: bit k set where the macroblock's k-th residual block is stored (non-zero).

        Bits count the 4x4 blocks of the exported planes Y, U, V in turn, each plane's in z-order
        within the macroblock (H.264's luma4x4BlkIdx; 4:2:0: 0-15 luma, 16-19 U, 20-23 V; HEVC's 8x8
        "macroblocks": 0-3 luma, 4 U, 5 V).
        A clear bit: that block is 0.
        """
        return self._array(self.residual_mask_offset, np.uint32, (self.mbs_h, self.mbs_w))

    @property
    def mb_residual(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) uint8: bit 0 set where the macroblock has stored luma residual (a block that may be
        non-zero), bit 1 where it has stored chroma residual; a clear bit: that residual is 0."""
        mask = self.residual_mask
        if mask is not None:
            luma = (1 << self._plane_bits()[0][1]) - 1
            return ((mask & luma) != 0).astype(np.uint8) | ((mask & ~np.uint32(luma)) != 0).astype(np.uint8) << 1
        tbs = self.residual_tbs()
        if tbs is None:
            return None
        out = np.zeros((self.mbs_h, self.mbs_w), np.uint8)
        for p, tb in self._tbs_by_class():
            # luma extent of each block, in macroblocks (a 4x4 luma block lies in one)
            sx, sy = self._subsampling(p)
            size = 1 << int(tb["log2_size"][0])
            x0, y0 = tb["x"].astype(np.intp) * sx, tb["y"].astype(np.intp) * sy
            n = max(1, -(-size * sx // self.mb_size))
            for dy in range(n):
                for dx in range(n):
                    out[(y0 + dy * self.mb_size) // self.mb_size,
                        (x0 + dx * self.mb_size) // self.mb_size] |= 1 if p == 0 else 2
        return out

    @property
    def residual_index(self) -> np.ndarray | None:
        """(mbs_h, mbs_w) int32 index of each macroblock's first stored residual block, -1 if none."""
        return self._array(self.residual_index_offset, np.int32, (self.mbs_h, self.mbs_w))

    def residual_blocks(self) -> np.ndarray | None:
        """(nb_residual_blocks, 4, 4) int16: the stored residual blocks, in storage order."""
        if not self.residual_blocks_offset:
            return None
        rb = self.residual_block_size
        return self._array(self.residual_blocks_offset, np.int16, (self.nb_residual_blocks, rb, rb))

    def residual_tbs(self) -> np.ndarray | None:
        """(nb_residual_tbs,) TRANSFORM_BLOCK_DTYPE records (x, y, plane, log2_size, offset) of the stored
        transform blocks, in decoding order; None if the residual is not stored as transform blocks."""
        if not self.residual_tb_offset:
            return None
        return self._array(self.residual_tb_offset, TRANSFORM_BLOCK_DTYPE, (self.nb_residual_tbs,))

    def residual_samples(self) -> np.ndarray | None:
        """(nb_residual_samples,) int16: the transform blocks' samples, each block's row by row from its offset."""
        if not self.residual_tb_offset:
            return None
        return self._array(self.residual_samples_offset, np.int16, (self.nb_residual_samples,))

    def _subsampling(self, plane: int) -> tuple[int, int]:
        return self.coded_width // self.residual_width[plane], self.coded_height // self.residual_height[plane]

    def _tbs_by_class(self):
        """The transform blocks grouped by (plane, size): [(plane, records)], checked against the planes and the
        sample array (cached)."""
        key = "tbs_by_class"
        if key not in self._grids:
            tbs = self.residual_tbs()
            size = np.left_shift(1, tbs["log2_size"].astype(np.int64))
            plane = tbs["plane"]
            x, y, off = tbs["x"].astype(np.int64), tbs["y"].astype(np.int64), tbs["offset"].astype(np.int64)
            width = np.array(self.residual_width + (0,), np.int64)
            height = np.array(self.residual_height + (0,), np.int64)
            p = np.minimum(plane, 3)
            bad = ((plane > 2) | (width[p] == 0) | (tbs["log2_size"] < 2) | (tbs["log2_size"] > 5)
                   | ((x | y) & (size - 1) != 0) | (x + size > width[p]) | (y + size > height[p])
                   | (off + size * size > self.nb_residual_samples))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"codec info transform block {i} (plane {int(plane[i])}, {int(size[i])}x"
                                 f"{int(size[i])} at ({int(x[i])}, {int(y[i])}), samples from {int(off[i])}) "
                                 f"outside its plane or the {self.nb_residual_samples} samples")
            groups = []
            for pl in range(3):
                for log2 in range(2, 6):
                    sel = np.flatnonzero((plane == pl) & (tbs["log2_size"] == log2))
                    if sel.size:
                        groups.append((pl, tbs[sel]))
            self._grids[key] = groups
        return self._grids[key]

    def _plane_bits(self) -> list[tuple[int, int, int, int]]:
        """Per plane: (first bit, bits, blocks per MB row, blocks per MB column) of the residual mask."""
        out, first = [], 0
        for p in range(3):
            if not self.residual_width[p]:
                out.append((first, 0, 0, 0))
                continue
            bx = self.mb_size * self.residual_width[p] // self.coded_width // self.residual_block_size
            by = self.mb_size * self.residual_height[p] // self.coded_height // self.residual_block_size
            out.append((first, bx * by, bx, by))
            first += bx * by
        return out

    def _residual_layout(self):
        """(macroblock, bit) of every stored block in storage order, checked against the index (cached)."""
        key = "residual_layout"
        if key not in self._grids:
            mask, index = self.residual_mask.reshape(-1), self.residual_index.reshape(-1)
            nbits = sum(n for _, n, _, _ in self._plane_bits())
            coded = np.flatnonzero(mask)                    # raster order
            # bits of the coded macroblocks' masks, little end first: (n, 32)
            bits = np.unpackbits(mask[coded].astype("<u4").view(np.uint8).reshape(-1, 4), axis=1,
                                 bitorder="little")
            rows, ks = np.nonzero(bits)                     # MB order, then bit order: storage order
            counts = bits.sum(axis=1, dtype=np.int64)
            starts = np.cumsum(counts) - counts
            expect = np.full(index.shape, -1, np.int64)
            expect[coded] = starts
            if (ks.size != self.nb_residual_blocks or (ks.size and ks.max() >= nbits)
                    or not np.array_equal(expect, index)):
                raise ValueError(f"codec info residual index and mask do not match its "
                                 f"{self.nb_residual_blocks} blocks")
            self._grids[key] = (coded[rows], ks)
        return self._grids[key]

    def residual(self, plane: int = 0) -> np.ndarray | None:
        """int16 residual plane (0 Y, 1 U, 2 V) of the coded picture, None if not exported.

        Exactly what the decoder added to the prediction, before clipping and
        deblocking.  Chroma planes have the frame's chroma subsampling.  Built
        once (vectorised scatter of the stored 4x4 blocks, or of the transform
        blocks one size at a time) and cached, read-only.
        """
        if plane in self._residual_planes:
            return self._residual_planes[plane]
        res = None
        if self.residual_tb_offset and self.residual_width[plane]:
            h, w = self.residual_height[plane], self.residual_width[plane]
            # room for whole 32x32 blocks: a block of size s sits at a multiple of s
            res = np.zeros((-(-h // 32) * 32, -(-w // 32) * 32), np.int16)
            samples = self.residual_samples()
            for p, tb in self._tbs_by_class():
                if p != plane:
                    continue
                size = 1 << int(tb["log2_size"][0])
                blocks = samples[tb["offset"].astype(np.intp)[:, None] + np.arange(size * size)]
                grid = res.reshape(res.shape[0] // size, size, res.shape[1] // size, size)
                grid[tb["y"] // size, :, tb["x"] // size, :] = blocks.reshape(-1, size, size)
            res = res[:h, :w]
            res.flags.writeable = False
        elif self.residual_blocks_offset and self.residual_width[plane]:
            first, n, bx, by = self._plane_bits()[plane]
            rb = self.residual_block_size
            h, w = self.residual_height[plane], self.residual_width[plane]
            res = np.zeros((self.mbs_h, by, rb, self.mbs_w, bx, rb), np.int16)
            mbs, ks = self._residual_layout()
            sel = np.nonzero((ks >= first) & (ks < first + n))[0]
            if sel.size:
                # z-order: x from the even bits of j, y from the odd ones
                j = (ks[sel] - first).astype(np.intp)
                x, y = _MORTON_X[j], _MORTON_Y[j]
                if (x >= bx).any() or (y >= by).any():
                    raise ValueError(f"codec info residual block beyond its {bx}x{by} macroblock")
                mb_y, mb_x = np.divmod(mbs[sel], self.mbs_w)
                # (K, rb, rb) blocks land at [mb_y, y, :, mb_x, x, :]
                res[mb_y, y, :, mb_x, x, :] = self.residual_blocks()[sel]
            res = res.reshape(h, w)
            res.flags.writeable = False
        self._residual_planes[plane] = res
        return res

    # -- dense, cropped to the output frame -----------------------------------

    def _dense(self, grid: np.ndarray | None, cell: int) -> np.ndarray | None:
        if grid is None:
            return None
        return rasterize(grid, cell, self.crop_left, self.crop_top, self.width, self.height)

    def mv_field(self, lst: int) -> np.ndarray:
        """(height, width, 2) float32 backward flow of list ``lst`` in pixels, 0 where unused (see mv_mask)."""
        mv = self.mv(lst)
        return self._dense(mv.astype(np.float32) * np.float32(0.25), self.block_size)

    def mv_mask(self, lst: int) -> np.ndarray:
        """(height, width) bool: True where list ``lst`` predicts the pixel."""
        return self._dense(self.ref_idx(lst) >= 0, self.block_size)

    def ref_id_field(self, lst: int) -> np.ndarray:
        """(height, width) int64 decode index of the reference of each pixel in list ``lst``, -1 if none."""
        return self._dense(self.ref_ids(lst), self.block_size)

    def block_type_field(self) -> np.ndarray | None:
        """(height, width) uint8 block type of each pixel."""
        return self._dense(self.block_type, self.block_size)

    def qp_field(self) -> np.ndarray | None:
        """(height, width) int8 QP of each pixel's macroblock."""
        return self._dense(self.mb_qp, self.mb_size)

    def residual_cropped(self, plane: int = 0) -> np.ndarray | None:
        """The residual plane cropped to the output frame (a view)."""
        res = self.residual(plane)
        if res is None:
            return None
        if plane == 0:
            x0, y0, w, h = self.crop_left, self.crop_top, self.width, self.height
        else:
            sx = max(1, round(self.residual_width[0] / max(1, self.residual_width[plane])))
            sy = max(1, round(self.residual_height[0] / max(1, self.residual_height[plane])))
            x0, y0 = self.crop_left // sx, self.crop_top // sy
            w, h = -(-self.width // sx), -(-self.height // sy)
        return res[y0:y0 + h, x0:x0 + w]

    def copy(self) -> "CodecInfo":
        """A CodecInfo over a private copy of the buffer."""
        return CodecInfo(self.buffer().copy(), self.width, self.height)

    def __repr__(self) -> str:
        return (f"<CodecInfo {self.frame_type} decode_index={self.decode_index} poc={self.poc} "
                f"coded={self.coded_width}x{self.coded_height} refs={list(self.nb_refs)}>")


def parse_codec_info(buffer, width: int | None = None, height: int | None = None) -> CodecInfo:
    """View a codec-info side data buffer (bytes, memoryview, uint8 array) without copying.

    ``width``/``height`` are the output frame's size, for the dense fields'
    cropping (default: the coded size minus the crop offsets).  Raises
    ValueError if the buffer is not a consistent AVCodecInfo of the version
    this cvsr reads.
    """
    return CodecInfo(buffer, width, height)
