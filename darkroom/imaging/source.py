"""Where a source's bytes come from: held in memory, or read from a file as needed.

A file is never read whole into Python: libvips (or Pillow) streams it from disk while
decoding, and the hash is computed over fixed-size chunks.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import pyvips

from darkroom.imaging.errors import SourceUnreadable

ImageInput: TypeAlias = bytes | Path

# Enough for every signature sniffed, an ISOBMFF ``ftyp`` box with its brands included.
HEAD_BYTES = 4096


def check_input(source: object) -> ImageInput:
    if isinstance(source, bytes | Path):
        return source
    raise TypeError(f"an image source is bytes or a pathlib.Path, not {type(source).__name__}")


def read_head(source: ImageInput, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes (fewer when the source is shorter)."""
    if isinstance(source, Path):
        with open_file(source) as file:
            return _read(source, file, size)
    return source[:size]


def size_and_sha256(source: ImageInput) -> tuple[int, str]:
    """Length in bytes and SHA-256 hex digest; a file is hashed chunk by chunk."""
    if not isinstance(source, Path):
        return len(source), hashlib.sha256(source).hexdigest()
    with open_file(source) as file:
        try:
            digest = hashlib.file_digest(file, "sha256")
            return file.tell(), digest.hexdigest()
        except OSError as exc:
            raise _unreadable(source, exc) from exc


def open_file(path: Path) -> io.BufferedReader:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def python_file(source: ImageInput) -> BinaryIO:
    """A binary file object over the source, for Pillow; close it after use."""
    return open_file(source) if isinstance(source, Path) else io.BytesIO(source)


def vips_source(source: ImageInput) -> Any:
    """A libvips source reading the file itself, or the Python bytes in place.

    (pyvips' ``*_buffer`` loaders would first copy bytes into a libvips blob.)
    """
    if not isinstance(source, Path):
        return pyvips.Source.new_from_memory(source)
    try:
        return pyvips.Source.new_from_file(os.fspath(source))
    except pyvips.Error as exc:
        detail = " ".join(str(exc.detail or exc.message).split())
        raise SourceUnreadable(f"cannot read {source}: {detail}"[:500]) from exc


def _read(path: Path, file: BinaryIO, size: int) -> bytes:
    try:
        return file.read(size)
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: OSError) -> SourceUnreadable:
    return SourceUnreadable(f"cannot read {path}: {exc.strerror or exc}"[:500])
