"""Give the later slices of P pictures their own reference list order (a test-stream rewriter).

libx264 uses one reference list for all slices of a picture; streams whose slices use different
lists (the export then maps each slice's ref_idx onto a per-picture table) are made here from an
x264 Annex B stream: in every P slice after the first of its picture, with at least two short-term
references, a ref_pic_list_modification puts the second-newest reference first (list [n-2, n-1]
instead of [n-1, n-2]).  The slice data is kept (CABAC data starts byte-aligned, so only the header
is rewritten); the pictures then decode to other samples than the encoder's, which is fine: the
tests compare the export with what the decoder produced.

Supports what x264 writes for 8-bit progressive High profile with CABAC, POC type 0 or 2, no
weighted prediction; anything else raises ValueError.
"""
from __future__ import annotations

import re


class BitReader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


class BitWriter:
    def __init__(self):
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> None:
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v: int) -> None:
        n = (v + 1).bit_length()
        self.u(n - 1, 0)
        self.u(n, v + 1)

    def copy(self, reader: BitReader, start: int, end: int) -> None:
        self.bits += [(reader.data[p >> 3] >> (7 - (p & 7))) & 1 for p in range(start, end)]

    def bytes(self) -> bytes:
        assert len(self.bits) % 8 == 0
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2) for i in range(0, len(self.bits), 8))


def unescape(ebsp: bytes) -> bytes:
    return re.sub(b"\x00\x00\x03(?=[\x00-\x03])", b"\x00\x00", ebsp)


def escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def split_annexb(stream: bytes) -> list[bytes]:
    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", stream)]
    nals = []
    for i, s in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(stream)
        nals.append(stream[s:end].rstrip(b"\x00") if i + 1 < len(starts) else stream[s:end])
    return nals


def parse_sps(rbsp: bytes) -> dict:
    r = BitReader(rbsp)
    profile = r.u(8)
    r.u(16)
    sps = {"id": r.ue()}
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if r.ue() == 3:
            raise ValueError("4:4:4 not supported")
        r.ue(), r.ue(), r.u(1)
        if r.u(1):
            raise ValueError("scaling matrices not supported")
    sps["log2_max_frame_num"] = r.ue() + 4
    sps["poc_type"] = r.ue()
    if sps["poc_type"] == 0:
        sps["log2_max_poc_lsb"] = r.ue() + 4
    elif sps["poc_type"] == 1:
        raise ValueError("POC type 1 not supported")
    r.ue(), r.u(1), r.ue(), r.ue()
    if not r.u(1):
        raise ValueError("interlaced streams not supported")
    return sps


def parse_pps(rbsp: bytes) -> dict:
    r = BitReader(rbsp)
    pps = {"id": r.ue(), "sps_id": r.ue(), "cabac": r.u(1), "bottom_field_poc": r.u(1)}
    if r.ue():
        raise ValueError("slice groups not supported")
    pps["num_ref_l0"] = r.ue() + 1
    r.ue()
    pps["weighted_pred"] = r.u(1)
    r.u(2), r.se(), r.se(), r.se()
    pps["deblocking_control"], _, pps["redundant_pic_cnt"] = r.u(1), r.u(1), r.u(1)
    return pps


def rewrite_slice(nal: bytes, sps_by_id: dict, pps_by_id: dict) -> bytes:
    """The slice NAL unit with its list 0 reordered, or unchanged when it does not qualify."""
    header, rbsp = nal[:1], unescape(nal[1:])
    nal_ref_idc, nal_type = header[0] >> 5 & 3, header[0] & 31
    r = BitReader(rbsp)
    first_mb, slice_type = r.ue(), r.ue() % 5
    pps = pps_by_id[r.ue()]
    sps = sps_by_id[pps["sps_id"]]
    if slice_type != 0 or first_mb == 0 or nal_type != 1:     # P slices after the first of a picture
        return nal
    if not pps["cabac"] or pps["weighted_pred"]:
        raise ValueError("only CABAC streams without weighted prediction")
    frame_num = r.u(sps["log2_max_frame_num"])
    if frame_num < 2:                                         # fewer than two references
        return nal
    if sps["poc_type"] == 0:
        r.u(sps["log2_max_poc_lsb"])
        if pps["bottom_field_poc"]:
            r.se()
    if pps["redundant_pic_cnt"]:
        r.ue()
    if r.u(1):                                                # num_ref_idx_active_override_flag
        r.ue()
    mod_at = r.pos
    if r.u(1):                                                # already modified: leave it
        return nal
    rest = r.pos
    if nal_ref_idc:                                           # dec_ref_pic_marking (non-IDR)
        if r.u(1):
            while (op := r.ue()) != 0:
                if op in (1, 3):
                    r.ue()
                if op in (2, 3, 6):
                    r.ue()
                if op == 4:
                    r.ue()
    r.ue()                                                    # cabac_init_idc
    r.se()                                                    # slice_qp_delta
    if pps["deblocking_control"] and r.ue() != 1:
        r.se(), r.se()
    header_end = r.pos
    data = (header_end + 7) // 8                              # cabac_alignment_one_bit, then the data

    w = BitWriter()
    w.copy(r, 0, mod_at)
    w.u(1, 1)                                                 # ref_pic_list_modification_flag_l0
    w.ue(0)                                                   # subtract from the predicted PicNum ...
    w.ue(1)                                                   # ... 2: frame_num - 2 goes first
    w.ue(3)                                                   # end of the list modification
    w.copy(r, rest, header_end)
    while len(w.bits) % 8:
        w.u(1, 1)
    return header + escape(w.bytes() + rbsp[data:])


def reorder_later_slices(stream: bytes) -> tuple[bytes, int]:
    """The Annex B stream with later P slices' list 0 reordered, and the number of slices rewritten."""
    sps_by_id, pps_by_id, out, changed = {}, {}, [], 0
    for nal in split_annexb(stream):
        nal_type = nal[0] & 31
        if nal_type == 7:
            sps = parse_sps(unescape(nal[1:]))
            sps_by_id[sps["id"]] = sps
        elif nal_type == 8:
            pps = parse_pps(unescape(nal[1:]))
            pps_by_id[pps["id"]] = pps
        elif nal_type in (1, 5):
            new = rewrite_slice(nal, sps_by_id, pps_by_id)
            changed += new != nal
            nal = new
        out.append(b"\x00\x00\x00\x01" + nal)
    return b"".join(out), changed
