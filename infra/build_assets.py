"""Package the Lambda code and the dependency layer without Docker.

    python -m infra.build_assets

.build/code            the repo's `shared/` and `functions/` packages (one asset shared by every function)
.build/layer/python    the runtime dependencies from pyproject.toml, as cp313 manylinux aarch64 wheels,
                       without boto3/botocore/s3transfer (the Lambda runtime ships them)

Both steps are skipped when their inputs have not changed (a stamp file holds the hash of the inputs),
so calling `ensure_built()` on every synth is cheap. A file lock keeps parallel synths (pytest-xdist) apart.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / ".build"
CODE_DIR = BUILD_DIR / "code"
LAYER_DIR = BUILD_DIR / "layer"

CODE_PACKAGES = ("shared", "functions")
IGNORED_NAMES = ("__pycache__", "tests", ".pytest_cache", ".mypy_cache")
# Must match the function runtime and architecture in infra/constructs/app_function.py.
PIP_TARGET_ARGS = (
    "--platform", "manylinux2014_aarch64",
    "--implementation", "cp",
    "--python-version", "3.13",
    "--only-binary=:all:",
)  # fmt: skip
# Shipped by the Lambda runtime: stripping them keeps the layer small and the SDK the one AWS patches.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def requirements() -> list[str]:
    """The runtime dependencies declared in pyproject.toml (the single list the layer ships)."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def ensure_built() -> tuple[Path, Path]:
    """Build what is stale and return (code_dir, layer_dir) for Code.from_asset."""
    BUILD_DIR.mkdir(exist_ok=True)
    with _lock():
        _build_code()
        _build_layer()
    return CODE_DIR, LAYER_DIR


def _build_code() -> None:
    sources = [ROOT / name for name in CODE_PACKAGES if (ROOT / name).is_dir()]
    digest = hashlib.sha256()
    for package in sources:
        for path in sorted(_files(package)):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    if _stamp_matches(CODE_DIR, digest.hexdigest()):
        return
    shutil.rmtree(CODE_DIR, ignore_errors=True)
    CODE_DIR.mkdir()
    for package in sources:
        shutil.copytree(package, CODE_DIR / package.name, ignore=shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc"))
    _write_stamp(CODE_DIR, digest.hexdigest())


def _build_layer() -> None:
    reqs = requirements()
    digest = hashlib.sha256("\n".join([*PIP_TARGET_ARGS, *reqs]).encode()).hexdigest()
    if _stamp_matches(LAYER_DIR, digest):
        return
    shutil.rmtree(LAYER_DIR, ignore_errors=True)
    target = LAYER_DIR / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *PIP_TARGET_ARGS, "--target", str(target), *reqs],
        check=True,
    )  # fmt: skip
    for name in RUNTIME_PROVIDED:
        for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts are useless in a layer
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    _write_stamp(LAYER_DIR, digest)


def _files(package: Path) -> Iterator[Path]:
    for path in package.rglob("*"):
        ignored = set(path.relative_to(package).parts) & set(IGNORED_NAMES)
        if path.is_file() and path.suffix != ".pyc" and not ignored:
            yield path


# The stamp sits next to the built folder, not inside it, so it never ends up in the asset.
def _stamp_path(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.stamp")


def _stamp_matches(folder: Path, digest: str) -> bool:
    stamp = _stamp_path(folder)
    return folder.is_dir() and stamp.is_file() and stamp.read_text() == digest


def _write_stamp(folder: Path, digest: str) -> None:
    _stamp_path(folder).write_text(digest)


@contextmanager
def _lock() -> Iterator[None]:
    with (BUILD_DIR / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":
    code, layer = ensure_built()
    print(f"code:  {code.relative_to(ROOT)}\nlayer: {layer.relative_to(ROOT)}")
