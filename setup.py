"""cvsr: compressed-video super-resolution inside FFmpeg.

The native shim (libcvsr, built by CMake against the patched FFmpeg) must be
built first: run ./setup.sh, which does both.
"""
from setuptools import find_packages, setup

setup(
    name="cvsr",
    version="0.1.0",
    description="Compressed-video super-resolution that reuses the decoder's motion vectors and residuals",
    package_dir={"": "pyfilter"},
    packages=find_packages("pyfilter"),
    python_requires=">=3.11",
    install_requires=["torch", "numpy", "cffi", "safetensors", "tqdm", "pillow"],
    extras_require={"cuda": ["cupy-cuda12x"]},
    entry_points={"console_scripts": ["cvsr = cvsr.cli:main"]},
    include_package_data=True,
    zip_safe=False,
)
