"""Write clients/js/types.d.ts, TypeScript declarations of darkroom's OpenAPI schema: every
component schema, and the query parameters of the routes the client calls.

    .venv/bin/python clients/js/scripts/gen_types.py           # rewrite types.d.ts
    .venv/bin/python clients/js/scripts/gen_types.py --check   # exit 1 if it is stale

The schema is the one `darkroom serve` serves at /openapi.json with default settings (no
dialects). Only what that schema uses is translated: objects, arrays, enums, unions
(`anyOf`, `oneOf`, nullable as `| null`), `allOf`, `const` and `$ref`; anything else stops
the script, so a new construct is noticed rather than typed wrongly."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from unittest import mock

TYPES_FILE = Path(__file__).resolve().parent.parent / "types.d.ts"
HEADER = """\
// Generated from darkroom's OpenAPI schema (/openapi.json) by clients/js/scripts/gen_types.py.
// Do not edit: run `.venv/bin/python clients/js/scripts/gen_types.py` after the API changes.
"""
# The query parameters of the routes the client calls, as interfaces: name -> (method, path).
QUERIES = {
    "ListJobsQuery": ("get", "/v1/jobs"),
    "GetJobQuery": ("get", "/v1/jobs/{job_id}"),
    "OutputQuery": ("get", "/v1/jobs/{job_id}/outputs/{name}"),
}
# Keywords that say nothing about a value's type.
ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contentMediaType",
    "readOnly",
    "writeOnly",
    "deprecated",
}
# Keywords ts_type translates.
TRANSLATED = {
    "$ref",
    "anyOf",
    "oneOf",
    "allOf",
    "const",
    "enum",
    "type",
    "items",
    "properties",
    "required",
    "additionalProperties",
}
IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def openapi_schema() -> dict[str, Any]:
    """The schema of darkroom's app as `darkroom serve` makes it with default settings."""
    from darkroom.app import create_app
    from darkroom.config import Settings
    from darkroom.dialects.registry import enabled, with_seed_settings

    env = {"DARKROOM_DATA_DIR": str(Path(os.devnull) / "never-started")}
    with mock.patch.dict(os.environ, env, clear=True):
        config = Settings()
    dialects = enabled(config.dialects, env)
    app = create_app(with_seed_settings(config, dialects), dialects=dialects, consumers=False)
    return app.openapi()


def render(schema: dict[str, Any]) -> str:
    """types.d.ts for ``schema``."""
    blocks = [
        declaration(name, definition)
        for name, definition in sorted(schema["components"]["schemas"].items())
    ]
    for name, (method, path) in QUERIES.items():
        operation = schema["paths"][path][method]
        parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        blocks.append(
            doc(f"Query parameters of `{method.upper()} {path}`.")
            + interface(name, {p["name"]: p for p in parameters}, required_params(parameters))
        )
    return HEADER + "\n" + "\n\n".join(blocks) + "\n"


def required_params(parameters: list[dict[str, Any]]) -> set[str]:
    return {p["name"] for p in parameters if p.get("required")}


def declaration(name: str, definition: dict[str, Any]) -> str:
    comment = doc(definition.get("description"))
    if definition.get("type") == "object" and "properties" in definition:
        extra = definition.get("additionalProperties")
        if isinstance(extra, dict):
            raise ValueError(f"{name}: properties together with additionalProperties")
        return comment + interface(
            name, definition["properties"], set(definition.get("required", []))
        )
    return comment + f"export type {name} = {ts_type(definition)};"


def interface(name: str, properties: dict[str, Any], required: set[str]) -> str:
    if not properties:
        return f"export interface {name} {{}}"
    lines = [f"export interface {name} {{"]
    for field, prop in properties.items():
        described = doc(prop.get("description"), indent="  ")
        optional = "" if field in required else "?"
        key = field if IDENTIFIER.match(field) else json.dumps(field)
        lines.append(f"{described}  {key}{optional}: {ts_type(prop.get('schema', prop))};")
    lines.append("}")
    return "\n".join(lines)


def doc(text: str | None, indent: str = "") -> str:
    if not text:
        return ""
    lines = text.replace("*/", "*\\/").strip().splitlines()
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    body = "".join(f"{indent} *{' ' + line if line.strip() else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def ts_type(schema: dict[str, Any]) -> str:
    """The TypeScript type of one JSON Schema."""
    unknown = set(schema) - ANNOTATIONS - TRANSLATED
    if unknown:
        raise ValueError(f"cannot translate {sorted(unknown)} in {schema}")
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema or "oneOf" in schema:
        return union(ts_type(member) for member in schema.get("anyOf") or schema["oneOf"])
    if "allOf" in schema:
        return " & ".join(wrapped(ts_type(member)) for member in schema["allOf"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return union(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return union(ts_type({**schema, "type": one}) for one in kind)
    if kind == "array":
        return f"{wrapped(ts_type(schema.get('items', {})))}[]"
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        return object_type(schema)
    simple = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}
    if kind in simple:
        return simple[kind]
    if kind == "null":
        return "null"
    if kind is None:
        return "unknown"
    raise ValueError(f"cannot translate type {kind!r}")


def object_type(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    members = [
        f"{name if IDENTIFIER.match(name) else json.dumps(name)}"
        f"{'' if name in required else '?'}: {ts_type(prop)}"
        for name, prop in schema.get("properties", {}).items()
    ]
    extra = schema.get("additionalProperties", not members)
    if extra is True:
        members.append("[key: string]: unknown")
    elif isinstance(extra, dict):
        members.append(f"[key: string]: {ts_type(extra)}")
    return "{ " + "; ".join(members) + " }" if members else "Record<string, never>"


def union(types: Any) -> str:
    unique = list(dict.fromkeys(types))
    return " | ".join(unique) if unique else "never"


def wrapped(type_text: str) -> str:
    return f"({type_text})" if (" | " in type_text or " & " in type_text) else type_text


def main(argv: list[str]) -> int:
    text = render(openapi_schema())
    if "--check" in argv:
        current = TYPES_FILE.read_text() if TYPES_FILE.exists() else ""
        if current != text:
            print(f"{TYPES_FILE} is stale: run {Path(__file__).name} again", file=sys.stderr)
            return 1
        return 0
    TYPES_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
