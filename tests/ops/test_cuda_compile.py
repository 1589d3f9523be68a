"""The CUDA kernel source compiles for the H100/H200 (sm_90) as CuPy would compile it, without a GPU.

CuPy compiles ``cvsr.ops._cuda._SOURCE`` at first use with NVRTC and ``-std=c++14``; nvcc with the same
standard, device code only (``--cubin``), every warning an error, checks the exact same text on any machine
that has a CUDA compiler, and the cubin's symbols prove every kernel the wrappers launch exists with C
linkage. Skips only where no nvcc is installed. (The kernels' arithmetic is tested on the CPU by
test_cuda_kernels_emulated.py; running them needs a GPU.)
"""
import re
import shutil
import subprocess

import pytest

from cvsr.ops import _cuda

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(NVCC is None, reason="no CUDA compiler (nvcc) installed")


def _compile(source: str, tmp_path) -> subprocess.CompletedProcess:
    src, out = tmp_path / "kernels.cu", tmp_path / "kernels.cubin"
    src.write_text(source)
    return subprocess.run([NVCC, "-arch=sm_90", "-std=c++14", "--cubin", "-Werror", "all-warnings",
                           "-o", str(out), str(src)], capture_output=True, text=True, timeout=300)


def _global_functions(cubin) -> set[str]:
    symbols = subprocess.run(["readelf", "-sW", str(cubin)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in symbols.splitlines() if re.search(r"\bFUNC\s+GLOBAL\b", line)}


def test_kernels_compile_for_sm90_and_every_launched_kernel_exists(tmp_path):
    r = _compile(_cuda._SOURCE, tmp_path)
    assert r.returncode == 0, r.stderr
    kernels = _global_functions(tmp_path / "kernels.cubin")
    wrappers = open(_cuda.__file__).read()
    launched = set(re.findall(r'_launch\("(\w+)"', wrappers))
    for stem in re.findall(r'_launch\(f"(\w+)_\{_suffix', wrappers):   # one instance per index width
        launched |= {f"{stem}_b16", f"{stem}_b32"}
    assert launched and launched <= kernels, (launched, kernels)


def test_a_compile_error_is_caught(tmp_path):
    """The check can fail: a typo in a kernel breaks the build."""
    broken = _cuda._SOURCE.replace("blockIdx.x", "blockIdx.z_typo", 1)
    assert broken != _cuda._SOURCE
    r = _compile(broken, tmp_path)
    assert r.returncode != 0 and "blockIdx" in r.stderr
