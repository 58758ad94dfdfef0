"""Builds the native library with cargo and ships it inside the package.

The package stays pure ctypes: there is no Python extension module. `build_py` runs
`cargo build --release --lib --target <host>` on the crate at the repository root
(../../Cargo.toml) and copies
`libacscalling.so` next to the Python files, where `acscalling._ffi.find_library` looks for it.
The wheel is tagged `py3-none-<platform>` (any Python 3, this platform): run `auditwheel repair`
on it for a manylinux tag.

Environment:
  CARGO_TARGET_DIR            where cargo builds (default: the workspace's `target/`), for
                              the host triple, into `<target dir>/<host triple>/release` as
                              cargo-c's `cargo cinstall` does (scripts/install.sh). The two do
                              not share artifacts all the same: cargo-c embeds its own cargo,
                              whose artifact hashes differ, so each makes its release build.
  ACSCALLING_CARGO            the cargo binary (default: `cargo` on PATH)
  ACSCALLING_PREBUILT_LIB     copy this library instead of running cargo
  ACSCALLING_NO_STRIP=1       keep the debug info (release has `debug = 1`) in the copy
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Tuple

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 carries bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # older setuptools: the `wheel` package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
CRATE_MANIFEST = HERE.parent.parent / "Cargo.toml"

if sys.platform == "darwin":
    LIB_NAME = "libacscalling.dylib"
elif sys.platform == "win32":
    LIB_NAME = "acscalling.dll"
else:
    LIB_NAME = "libacscalling.so"


def _cargo() -> str:
    return os.environ.get("ACSCALLING_CARGO") or shutil.which("cargo") or "cargo"


def _target_dir() -> Path:
    """cargo's own answer (honours CARGO_TARGET_DIR and .cargo/config.toml)."""
    out = subprocess.run(
        [_cargo(), "metadata", "--format-version", "1", "--no-deps", "--manifest-path", str(CRATE_MANIFEST)],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return Path(json.loads(out)["target_directory"])


def _host_triple() -> str:
    """rustc's host triple (e.g. x86_64-unknown-linux-gnu)."""
    rustc = shutil.which("rustc") or "rustc"
    out = subprocess.run([rustc, "-vV"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("host: "):
            return line[len("host: "):].strip()
    raise SystemExit("rustc -vV printed no host triple")


def build_native_library() -> Path:
    """Builds (or reuses) the release library and returns its path."""
    prebuilt = os.environ.get("ACSCALLING_PREBUILT_LIB")
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise SystemExit(f"ACSCALLING_PREBUILT_LIB={prebuilt} does not exist")
        return path
    if not CRATE_MANIFEST.is_file():
        raise SystemExit(
            f"{CRATE_MANIFEST} not found: build the package from a checkout of libacscalling "
            "(the Rust crate is the repository root), or set ACSCALLING_PREBUILT_LIB"
        )
    host = _host_triple()
    cmd = [_cargo(), "build", "--release", "--lib", "--target", host, "--manifest-path", str(CRATE_MANIFEST)]
    print("running " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    path = _target_dir() / host / "release" / LIB_NAME
    if not path.is_file():
        raise SystemExit(f"cargo finished but {path} does not exist")
    return path


class BuildPyWithLibrary(build_py):
    """build_py, then the native library copied into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # type: ignore[attr-defined]
            return  # an editable install finds the library in the cargo target dir
        src = build_native_library()
        dest = Path(self.build_lib) / "acscalling" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.copyfile(src, tmp)
        strip = shutil.which("strip")
        if strip and sys.platform.startswith("linux") and not os.environ.get("ACSCALLING_NO_STRIP"):
            subprocess.run([strip, "--strip-debug", str(tmp)], check=True)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: the library is native, the Python code works on any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


CMDCLASS = {"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel}
setup(cmdclass=CMDCLASS, distclass=BinaryDistribution)
