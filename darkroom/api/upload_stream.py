"""A multipart upload read as it streams in: each ``file`` part is written once, to a file
staged where the blob store can move it into place (``BlobStore.staging_folder``), and
measured and hashed on the way; the other parts are kept as text. Nothing of an upload
is held whole in memory, copied or hashed twice (docs/performance.md, "Uploads against
path sources").

Starlette's ``request.form()`` spools each file to a temporary file through a thread
per chunk; the route then read it whole into memory, hashed it and wrote it again into
the store. The limits and messages here are that parser's, so an answer to a malformed
body is unchanged: 422 ``invalid_request`` ("the request body could not be read: …").
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from darkroom.blobs.base import STAGED_PREFIX
from darkroom.jobs.errors import InvalidRequest, PayloadTooLarge
from darkroom.jobs.sources import StagedUpload

FILE_PART = "file"
MAX_FIELD_BYTES = 1024 * 1024  # a part that is not a file, as Starlette's parser allows


@dataclass(frozen=True)
class UploadLimits:
    max_files: int
    max_fields: int
    max_file_bytes: int


@dataclass
class UploadedFile:
    filename: str
    staged: StagedUpload


@dataclass
class UploadForm:
    """What a multipart body held: its text parts by name (the last of a repeated name,
    as Starlette's form), its ``file`` parts in order, and whether a ``file`` part came
    as text instead of a file."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    file_sent_as_text: bool = False


class _StagingFile:
    """A file part being written: its bytes to a staged file, its size and digest."""

    def __init__(self, folder: Path | None) -> None:
        self.fd, name = tempfile.mkstemp(dir=folder, prefix=STAGED_PREFIX)
        self.path = Path(name)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: memoryview) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
        while chunk:  # unbuffered: the chunks come in hundreds of KiB
            chunk = chunk[os.write(self.fd, chunk) :]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def finish(self) -> StagedUpload:
        self.close()
        return StagedUpload(self.path, self.size, self.digest.hexdigest())


def _unreadable(why: str) -> InvalidRequest:
    return InvalidRequest(f"the request body could not be read: {why}")


def _text(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _FormReader:
    """python-multipart's callbacks: each part's headers, then its data, to its place."""

    def __init__(self, limits: UploadLimits, folder: Path | None, charset: str) -> None:
        self.limits = limits
        self.folder = folder
        self.charset = charset
        self.form = UploadForm()
        self.staged: list[Path] = []  # every file staged, kept or not: deleted on the way out
        self.ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._files = 0
        self._fields = 0
        self._name = ""
        self._filename: str | None = None
        self._text: bytearray | None = None
        self._file: _StagingFile | None = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._text = None
        self._file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise _unreadable('The Content-Disposition header field "name" must be provided.')
        self._name = _text(options[b"name"], self.charset)
        if b"filename" not in options:
            self._fields += 1
            if self._fields > self.limits.max_fields:
                raise _unreadable(
                    f"Too many fields. Maximum number of fields is {self.limits.max_fields}."
                )
            self._text = bytearray()
            return
        self._files += 1
        if self._files > self.limits.max_files:
            raise _unreadable(
                f"Too many files. Maximum number of files is {self.limits.max_files}."
            )
        if self._name != FILE_PART:
            return  # a file under another name: no source, its data not kept
        self._filename = _text(options[b"filename"], self.charset)
        self._file = _StagingFile(self.folder)
        self.staged.append(self._file.path)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(memoryview(data)[start:end])
            if self._file.size > self.limits.max_file_bytes:
                raise PayloadTooLarge(f"image larger than {self.limits.max_file_bytes} bytes")
        elif self._text is not None:
            if len(self._text) + end - start > MAX_FIELD_BYTES:
                raise _unreadable(f"Part exceeded maximum size of {MAX_FIELD_BYTES // 1024}KB.")
            self._text += memoryview(data)[start:end]

    def on_part_end(self) -> None:
        if self._file is not None:
            self.form.files.append(UploadedFile(self._filename or "", self._file.finish()))
            self._file = None
        elif self._text is not None:
            if self._name == FILE_PART:
                self.form.file_sent_as_text = True
            self.form.fields[self._name] = _text(bytes(self._text), self.charset)
            self._text = None

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        """Close the file part being written, if the body stopped inside one."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _boundary_and_charset(content_type: str) -> tuple[bytes, str]:
    _, params = parse_options_header(content_type)
    if b"boundary" not in params:
        raise _unreadable("Missing boundary in multipart.")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        return params[b"boundary"], codecs.lookup(charset).name
    except LookupError:
        return params[b"boundary"], "latin-1"


@asynccontextmanager
async def read_upload(
    request: Request, limits: UploadLimits, staging_folder: Path | None
) -> AsyncIterator[UploadForm]:
    """Read the request's multipart body; the form is valid inside the block. Every file
    staged and still there on leaving the block (not moved into the store, or the body
    refused halfway) is deleted."""
    boundary, charset = _boundary_and_charset(request.headers.get("content-type", ""))
    reader = _FormReader(limits, staging_folder, charset)
    try:
        try:
            parser = MultipartParser(boundary, reader.callbacks())
        except MultipartParseError as exc:  # a boundary over 70 characters
            raise _unreadable("Invalid multipart data.") from exc
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise _unreadable("Invalid multipart data.") from exc
        if not reader.ended:
            raise _unreadable("the multipart body ends before its closing boundary.")
        yield reader.form
    finally:
        reader.close()
        for path in reader.staged:
            path.unlink(missing_ok=True)  # gone already if moved into the store
