"""Recording the decodes render makes: how many, at what scale, of which frames, how strict."""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import pytest

# The package re-exports the function render() under the module's own name.
render_module = importlib.import_module("darkroom.imaging.render")


class Decode(NamedTuple):
    scale: float
    all_frames: bool
    strict: bool


def recorded_decodes(monkeypatch: pytest.MonkeyPatch) -> list[Decode]:
    """Each decode render makes from now on (the list grows as it does)."""
    decodes: list[Decode] = []
    real = render_module.open_source

    def recording(
        source: Any, header: Any, scale: float, all_frames: bool, keep: bool, *, strict: bool = True
    ) -> Any:
        decodes.append(Decode(scale, all_frames, strict))
        return real(source, header, scale, all_frames, keep, strict=strict)

    monkeypatch.setattr(render_module, "open_source", recording)
    return decodes
