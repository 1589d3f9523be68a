"""cffi builder of ``cvsr._native``: the bindings of libcvsr (native/include/cvsr/cvsr.h).

Out-of-line API mode: the C compiler sees the real header when it builds the
extension, so a declaration here that drifted from the header (a struct field,
a signature) fails the build instead of corrupting memory at run time, which
ABI mode (dlopen with a hand-copied cdef) would not catch.  The cdef is not a
copy either: it is the part of cvsr.h between the cffi-cdef markers.

The extension links libcvsr.so, which setup.py copies next to it (rpath
$ORIGIN).  Used by setup.py (``cffi_modules``); CVSR_NATIVE_BUILD_DIR names the
CMake build directory of libcvsr (default: build/native at the repo root).
"""
import os
import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "native" / "include" / "cvsr" / "cvsr.h"
LIB_DIR = Path(os.environ.get("CVSR_NATIVE_BUILD_DIR", ROOT / "build" / "native"))


def cdef_source(header: Path = HEADER) -> str:
    text = header.read_text()
    m = re.search(r"/\* cffi-cdef-begin.*?\*/\n(.*)/\* cffi-cdef-end \*/", text, re.S)
    if not m:
        raise RuntimeError(f"{header}: cffi-cdef markers not found")
    body = m.group(1).replace("CVSR_API ", "")
    # cffi's cdef parses comments but not other preprocessor lines than integer #defines.
    return "\n".join(line for line in body.splitlines()
                     if not line.startswith("#") or re.match(r"#define \w+ \d+$", line))


ffibuilder = FFI()
ffibuilder.cdef(cdef_source())
ffibuilder.set_source(
    "cvsr._native",
    '#include "cvsr/cvsr.h"',
    include_dirs=[str(HEADER.parents[1])],
    library_dirs=[str(LIB_DIR)],
    libraries=["cvsr"],
    extra_link_args=["-Wl,-rpath,$ORIGIN"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
