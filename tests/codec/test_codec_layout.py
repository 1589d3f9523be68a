"""The numpy record types equal the C structs of the headers libcvsr was built with."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cvsr.codec as codec
from cvsr.codec._lib import ffi, lib  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "build" / "ffmpeg-install" / "include"
STRUCTS = {
    "AVCodecInfo": ("libavutil/codec_info.h", codec.CODEC_INFO_DTYPE),
    "AVMotionVector": ("libavutil/motion_vector.h", codec.MOTION_VECTOR_DTYPE),
    "AVCodecInfoTransformBlock": ("libavutil/codec_info.h", codec.TRANSFORM_BLOCK_DTYPE),
}


@pytest.mark.parametrize("name", STRUCTS)
def test_itemsize_is_sizeof(name):
    assert STRUCTS[name][1].itemsize == lib.cvsr_layout(name.encode()).size


@pytest.mark.parametrize("name", STRUCTS)
def test_fields_cover_the_struct(name):
    """Sorted by offset, fields leave no gap larger than alignment padding: none is missing from the table."""
    dtype = STRUCTS[name][1]
    fields = sorted((off, dt) for dt, off in dtype.fields.values())
    end = 0
    for off, dt in fields:
        align = dt.base.itemsize
        assert end <= off < end + align or off == end, f"{name}: hole before offset {off}"
        end = off + dt.itemsize
    assert dtype.itemsize - end < 8, f"{name}: {dtype.itemsize - end} unaccounted bytes at the end"


@pytest.mark.skipif(shutil.which("cc") is None or not INCLUDE.is_dir(), reason="no C compiler or FFmpeg headers")
@pytest.mark.parametrize("name", STRUCTS)
def test_offsets_match_an_independent_compile(name, tmp_path):
    """Compile the header alone and print sizeof/offsetof for every dtype field: all equal."""
    header, dtype = STRUCTS[name]
    lines = [f'#include <stdio.h>\n#include <stddef.h>\n#include <{header}>\nint main(void) {{',
             f'    printf("@sizeof %zu\\n", sizeof({name}));']
    for field in dtype.names:
        lines.append(f'    printf("{field} %zu %zu\\n", offsetof({name}, {field}), sizeof((({name} *)0)->{field}));')
    lines.append("    return 0;\n}\n")
    src = tmp_path / "probe.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "probe"
    subprocess.run(["cc", "-I", str(INCLUDE), str(src), "-o", str(exe)], check=True)
    out = dict(line.split(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                              check=True).stdout.splitlines())
    assert int(out.pop("@sizeof")) == dtype.itemsize
    for field, (dt, off) in ((f, dtype.fields[f][:2]) for f in dtype.names):
        c_off, c_size = map(int, out[field].split())
        assert (c_off, c_size) == (off, dt.itemsize), field


def test_constants():
    assert codec.BLOCK_INTRA != codec.BLOCK_INTER != codec.BLOCK_SKIP
    assert codec.CODEC_INFO_DTYPE["ref_decode_index"].shape == (2, 32)


def test_only_cvsr_symbols_exported():
    """FFmpeg inside libcvsr.so is hidden: it must not clash with another FFmpeg in the process."""
    lib_path = Path(codec.__file__).resolve().parents[1] / "libcvsr.so"
    assert lib_path.exists(), f"{lib_path} missing: run ./setup.sh"
    assert shutil.which("nm"), "nm (binutils, installed by setup.sh with build-essential) not found"
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib_path)], capture_output=True, text=True,
                         check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert names and all(n.startswith("cvsr_") for n in names), [n for n in names if not n.startswith("cvsr_")][:5]
