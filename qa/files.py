"""Durable file writes and checksums, shared by the index and the model preparation."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entry to disk (a rename is durable only after this)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def scratch_dir(target: Path) -> Path:
    """A new, empty directory beside `target`, on the same file system, so that it can be
    renamed into its place (`replace_dir`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def replace_dir(new: Path, target: Path) -> None:
    """Put the complete directory `new` in place of `target` (a sibling), so that `target` is
    the old directory or the new one, never a partial one. (Directories cannot be swapped in
    one rename: a crash exactly between the two leaves no `target` and the old one as a hidden
    sibling.)"""
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
        try:
            new.rename(target)
        except OSError:
            old.rename(target)
            raise
    else:
        new.rename(target)
    fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def share_dir(path: Path) -> None:
    """Make the tree at `path` readable by every user: a model is no secret, and the Docker image
    runs the service as another user than the one that prepared it. (Libraries write some files
    through private temporary files: transformers saves `model.safetensors` as 0600.)"""
    for item in [path, *path.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)
