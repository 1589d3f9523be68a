"""A normal (non-editable) install: the wheel holds every subpackage, the native shim and the shipped weights,
and an installed copy imports them all and loads every packaged model without the source tree."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import importlib, pkgutil, sys
import cvsr
from cvsr import models
site = sys.argv[1]
assert cvsr.__file__.startswith(site), cvsr.__file__
# libcvsr.so sits beside the extension and looks like a module to pkgutil; it is the C library it links
names = [m.name for m in pkgutil.walk_packages(cvsr.__path__, "cvsr.") if m.name != "cvsr.libcvsr"]
for name in names:
    importlib.import_module(name)
shipped = sorted(p.stem for p in models.WEIGHTS_DIR.glob("*.safetensors"))
for name in shipped:
    models.load_model(name)
print(len(names), "modules;", "weights:", " ".join(shipped))
"""


def _source_copy(dest: Path) -> Path:
    """The files git knows (tracked, or new and not ignored): no stale setuptools build folder can leak in."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def test_wheel_installs_and_loads_everything(tmp_path):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    src = _source_copy(tmp_path / "src")
    env = dict(os.environ, CVSR_NATIVE_BUILD_DIR=str(ROOT / "build" / "native"))   # the shim setup.sh built
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, env=env)
    wheel = next((tmp_path / "dist").glob("cvsr-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = sorted(p.parent for p in (ROOT / "pyfilter" / "cvsr").rglob("*.py") if "__pycache__" not in p.parts)
    for folder in set(packages):
        rel = folder.relative_to(ROOT / "pyfilter").as_posix()
        assert f"{rel}/__init__.py" in names, f"{rel} is not a package in the wheel"
    assert "cvsr/libcvsr.so" in names and any(n.startswith("cvsr/_native") for n in names)
    for weights in (ROOT / "pyfilter" / "cvsr" / "models" / "weights").glob("*.safetensors"):
        assert f"cvsr/models/weights/{weights.name}" in names
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(site))
    r = subprocess.run([sys.executable, "-c", CHECK, str(site)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "weights: " in r.stdout and "ciaf-lite" in r.stdout
