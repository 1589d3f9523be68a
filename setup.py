"""cvsr: compressed-video super-resolution inside FFmpeg.

The native shim (libcvsr.so, built by CMake against the patched FFmpeg) must be
built first: run ./setup.sh, which does both.  The cffi extension cvsr._native
(native/bindings/build_cffi.py) links it; libcvsr.so is placed next to the
extension (a symlink into the CMake build tree for editable installs, so that
rebuilding the shim needs no reinstall).
"""
import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
NATIVE_BUILD_DIR = Path(os.environ.get("CVSR_NATIVE_BUILD_DIR", ROOT / "build" / "native"))
LIBCVSR = "libcvsr.so"


class BuildExtWithShim(build_ext):
    """Build the cffi extension, then put libcvsr.so beside it."""

    def run(self):
        lib = NATIVE_BUILD_DIR / LIBCVSR
        if not lib.exists():
            raise SystemExit(f"cvsr: {lib} not found: build the native shim first "
                             "(cmake -S . -B build && cmake --build build), or run ./setup.sh")
        # Always rebuild: the extension is small, and a stale one (compiled
        # against an older cvsr.h) would misread libcvsr's structs.
        self.force = True
        super().run()
        dest = Path(self.get_ext_fullpath("cvsr._native")).parent / LIBCVSR
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if self.inplace:
            dest.symlink_to(lib)
        else:
            shutil.copy2(lib, dest)


setup(
    name="cvsr",
    version="0.1.0",
    description="Compressed-video super-resolution that reuses the decoder's motion vectors and residuals",
    package_dir={"": "pyfilter"},
    packages=find_packages("pyfilter"),
    python_requires=">=3.11",
    install_requires=["torch", "numpy", "cffi", "safetensors", "tqdm", "pillow"],
    cffi_modules=["native/bindings/build_cffi.py:ffibuilder"],
    cmdclass={"build_ext": BuildExtWithShim},
    extras_require={"cuda": ["cupy-cuda12x"]},
    entry_points={"console_scripts": ["cvsr = cvsr.cli:main"]},
    include_package_data=True,
    package_data={"cvsr.models": ["weights/*.safetensors", "weights/*.md"]},
    zip_safe=False,
)
