from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from darkroom.imaging import ImageInput

AsInput = Callable[[bytes], ImageInput]


@pytest.fixture(params=["bytes", "path"])
def as_input(request: pytest.FixtureRequest, tmp_path: Path) -> AsInput:
    """Hands a test's source to imaging as bytes, or as a file holding those bytes."""
    if request.param == "bytes":
        return lambda data: data
    written: list[Path] = []

    def to_file(data: bytes) -> ImageInput:
        path = tmp_path / f"source-{len(written)}.img"
        path.write_bytes(data)
        written.append(path)
        return path

    return to_file
