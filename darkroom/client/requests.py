"""The body of a job submission: which sources go as multipart file parts and which as
JSON, and the job's options beside them."""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PREFER_WAIT_MAX_S = 60  # the most the API holds an answer back (docs/api.md)


@dataclass(frozen=True)
class Upload:
    """Image bytes sent with the request: ``data``, or the file at ``path``. ``filename``
    defaults to the file's name."""

    data: bytes | None = None
    path: Path | None = None
    filename: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError("an Upload holds either data or a path")

    @property
    def name(self) -> str:
        if self.filename:
            return self.filename
        return self.path.name if self.path is not None else "image"

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        return Path(str(self.path)).read_bytes()


# What submit takes as a source: a local file (a path, or a str that is not an http(s)
# URL), bytes, an Upload, an http(s) URL the server fetches, or a source object as the API
# writes it: {"url": ...}, {"path": ...} (inside the server's DARKROOM_INPUT_ROOT),
# {"base64": ...}.
SourceArg = str | os.PathLike[str] | bytes | Upload | Mapping[str, Any]

# An output: an object as the API takes it ({"name": ..., "op": ..., "preset": ...}), or a
# preset's name, short for {"name": NAME, "preset": NAME}.
OutputArg = Mapping[str, Any] | str


def _source(source: SourceArg) -> Upload | dict[str, Any]:
    if isinstance(source, Upload):
        return source
    if isinstance(source, bytes):
        return Upload(data=source)
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        return {"url": source}
    return Upload(path=Path(source))


def _output(output: OutputArg) -> dict[str, Any]:
    return {"name": output, "preset": output} if isinstance(output, str) else dict(output)


@dataclass(frozen=True)
class Submission:
    """A job request. Sources that are all uploads go as multipart (no base64 inflation);
    any other mix goes as JSON, uploads inlined as base64."""

    sources: list[Upload | dict[str, Any]]
    options: dict[str, Any]

    @classmethod
    def of(
        cls,
        source: SourceArg | None,
        sources: Sequence[SourceArg] | None,
        outputs: Sequence[OutputArg] | None,
        options: Mapping[str, Any],
    ) -> Submission:
        if (source is None) == (not sources):
            raise ValueError("give either source or a non-empty sources list")
        given = [source] if source is not None else list(sources or [])
        chosen = {name: value for name, value in options.items() if value is not None}
        if outputs is not None:
            chosen["outputs"] = [_output(o) for o in outputs]
        return cls([_source(s) for s in given], chosen)

    @property
    def uploads(self) -> list[Upload] | None:
        """The sources when every one is an upload (sent as multipart), else None."""
        if all(isinstance(s, Upload) for s in self.sources):
            return [s for s in self.sources if isinstance(s, Upload)]
        return None

    def body(self, content: Callable[[Upload], bytes | IO[bytes]] = Upload.read) -> dict[str, Any]:
        """httpx's arguments for the body: ``json``, or multipart ``files`` and ``data``,
        each file part sending what ``content`` gives for its upload (by default its bytes,
        read now)."""
        uploads = self.uploads
        if uploads is None:
            return {"json": self.json_body()}
        parts = [("file", (u.name, content(u), u.content_type)) for u in uploads]
        return {"files": parts, "data": self.form_fields()}

    def form_fields(self) -> dict[str, str]:
        """The multipart body's ``spec`` part."""
        return {"spec": json.dumps(self.options)} if self.options else {}

    def json_body(self) -> dict[str, Any]:
        """The JSON body (reads the files of path uploads)."""
        items = [self._json_source(s) for s in self.sources]
        placed = {"source": items[0]} if len(items) == 1 else {"sources": items}
        return {**placed, **self.options}

    @staticmethod
    def _json_source(source: Upload | dict[str, Any]) -> dict[str, Any]:
        if not isinstance(source, Upload):
            return source
        return {"base64": base64.b64encode(source.read()).decode(), "filename": source.name}


def prefer_wait(seconds: float) -> str:
    """The Prefer header value asking the API to hold its answer up to ``seconds``."""
    return f"wait={wait_param(seconds)}"


def wait_param(seconds: float) -> int:
    """Whole seconds from 1 to the API's limit, rounded up."""
    return max(1, min(PREFER_WAIT_MAX_S, -int(-seconds // 1)))
