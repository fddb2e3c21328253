"""Turning what a client sent into sources a job can keep."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from darkroom.jobs.errors import InvalidRequest, NotFound, PayloadTooLarge

_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w=.+-]+)*;base64,", re.IGNORECASE)
_URL_SAFE = str.maketrans("-_", "+/")


def decode_base64(text: str, *, max_bytes: int) -> bytes:
    """Decode standard or URL-safe base64, padded or not, optionally as a data: URI."""
    text = text.strip()
    prefix = _DATA_URI.match(text, 0, 200)
    if prefix:
        text = text[prefix.end() :]
    if any(space in text for space in ("\n", "\r", " ", "\t")):
        text = "".join(text.split())
    if len(text) * 3 // 4 > max_bytes + 3:
        raise PayloadTooLarge(f"inline image larger than {max_bytes} bytes")
    if "-" in text or "_" in text:
        text = text.translate(_URL_SAFE)
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("source base64 is not valid base64", code="invalid_base64") from exc
    if not data:
        raise InvalidRequest("source base64 decodes to nothing", code="invalid_base64")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"inline image larger than {max_bytes} bytes")
    return data


INVALID_PATH = "invalid_path"


def resolve_input_path(root: Path | None, relative: str) -> Path:
    """The file ``relative`` names inside ``root``; refuses anything outside it. The one
    check of a path source: at submission, in the worker, and in the dialects."""
    if root is None:
        raise InvalidRequest(
            "path sources are disabled; set DARKROOM_INPUT_ROOT to allow them",
            code="path_not_allowed",
            status_code=403,
        )
    base = root.resolve()
    try:
        candidate = (base / relative).resolve()
        inside = candidate.is_relative_to(base)
        found = inside and candidate.is_file()
    except (OSError, ValueError, RuntimeError) as exc:  # too long, a NUL, a symlink loop
        raise InvalidRequest(f"path is not a valid file name: {exc}", code=INVALID_PATH) from exc
    if not inside:
        raise InvalidRequest(
            "path is outside the allowed input folder", code="path_not_allowed", status_code=403
        )
    if not found:
        raise NotFound(f"no such file in the input folder: {relative}")
    return candidate


@dataclass(frozen=True)
class StagedUpload:
    """An upload written to a file as it arrived, measured and hashed on the way."""

    file: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class IncomingSource:
    """A source as submitted: image bytes (in memory, or staged in a file), a URL to
    fetch, or a path under the input root."""

    data: bytes | None = None
    url: str | None = None
    path: str | None = None
    filename: str | None = None
    staged: StagedUpload | None = None

    @property
    def uploaded(self) -> bytes | Path | None:
        """The uploaded image: its staged file, or its bytes; None for a URL or a path."""
        return self.staged.file if self.staged is not None else self.data

    @property
    def size(self) -> int | None:
        """Bytes uploaded; None for a URL or a path."""
        if self.staged is not None:
            return self.staged.size
        return len(self.data) if self.data is not None else None

    @cached_property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the uploaded bytes (computed once); None for a URL or a path."""
        if self.staged is not None:
            return self.staged.sha256
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None

    def digest(self) -> str:
        if self.sha256 is not None:
            return "sha256:" + self.sha256
        return f"url:{self.url}" if self.url is not None else f"path:{self.path}"
