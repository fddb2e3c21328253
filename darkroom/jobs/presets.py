"""Presets: named output specs from a configuration file (DARKROOM_PRESETS), which a job's
output names with ``"preset": "card"`` and an output fetched on the fly with
``?preset=card``.

The file is TOML (``*.toml``) or JSON: one table (object) per preset, holding an output's
fields except ``name``, and optionally ``unsigned = true``, which lets ``?preset=NAME``
be asked for without a signature when variants must be signed (DARKROOM_URL_SIGNING_KEY).
Each preset is checked as an output when the file is read, so a mistake stops darkroom
at start, naming the preset and the field."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

UNSIGNED = "unsigned"
# Fields that say the same thing two ways: one given by the output drops the preset's other.
_ALTERNATIVES = {
    "format": frozenset({"formats"}),
    "formats": frozenset({"format"}),
    "gravity": frozenset({"focus"}),
    "focus": frozenset({"gravity"}),
}


class PresetError(ValueError):
    """The presets file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Preset:
    name: str
    fields: Mapping[str, Any]  # an output's fields, without ``name``
    unsigned: bool = False


def read_presets(path: Path) -> dict[str, Preset]:
    """The presets in the file at ``path``. Raises PresetError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError(f"DARKROOM_PRESETS: cannot read {path}: {exc.strerror}") from exc
    try:
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PresetError(f"DARKROOM_PRESETS: {path} is not valid: {exc}") from exc
    if not isinstance(raw, dict):
        raise PresetError(f"DARKROOM_PRESETS: {path} must hold one table per preset")
    return {name: _preset(name, fields) for name, fields in raw.items()}


def _preset(name: str, fields: Any) -> Preset:
    from darkroom.jobs.spec import NAME_PATTERN, OutputIn  # imported here: spec imports this

    if not isinstance(fields, dict):
        raise PresetError(f"DARKROOM_PRESETS: preset {name!r} must be a table of output fields")
    fields = dict(fields)
    unsigned = fields.pop(UNSIGNED, False)
    if not isinstance(unsigned, bool):
        raise PresetError(f"DARKROOM_PRESETS: preset {name!r}: unsigned must be true or false")
    for banned in ("name", "preset"):
        if banned in fields:
            raise PresetError(f"DARKROOM_PRESETS: preset {name!r} cannot set {banned!r}")
    try:
        OutputIn.model_validate({"name": "preset", **fields})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "its fields"
        raise PresetError(f"DARKROOM_PRESETS: preset {name!r}: {where}: {first['msg']}") from exc
    if not re.fullmatch(NAME_PATTERN, name):
        raise PresetError(f"DARKROOM_PRESETS: preset name {name!r} must match {NAME_PATTERN}")
    return Preset(name, fields, unsigned)


def with_preset(output: Mapping[str, Any], presets: Mapping[str, Preset]) -> dict[str, Any]:
    """An output's fields with its ``preset``'s filled in under those it gives itself.
    Raises ValueError naming the preset when there is no such one."""
    name = output.get("preset")
    if name is None:
        return dict(output)
    preset = presets.get(name) if isinstance(name, str) else None
    if preset is None:
        known = ", ".join(sorted(presets)) or "none are configured (DARKROOM_PRESETS)"
        raise ValueError(f"no preset named {name!r}; presets: {known}")
    own = set(output)
    kept = {
        field: value
        for field, value in preset.fields.items()
        if not (own & _ALTERNATIVES.get(field, frozenset()))
    }
    return {**kept, **output}
